"""What a JSON request body may hold, said once for every route.

Bodies are read strictly: `true` is not a number, `"4"` is not 4, a field nobody reads is a
typo to report rather than ignore. What the schema cannot know by itself (the workspace's
queues, stages, dispositions and custom attributes) it names by reference to a component the
served document fills in from the configuration (`vocabulary`), so a client or a fuzzer reading
/api/openapi.json knows exactly what the server takes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

from contactcenter.crm.attributes import json_schema
from contactcenter.identity import EMAIL_SHAPE, e164_pattern
from contactcenter.settings import FileConfig

# Text PostgreSQL can keep (no NUL) with one character at least that is no kind of space to any
# of the three regular-expression engines that read it (pydantic's, Python's `str.strip`,
# a client's JavaScript): so "blank" means the same to the document and to the server.
_SPACE = r"\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK = rf"^[^\u0000]*[^{_SPACE}][^\u0000]*$"
NO_NUL = r"^[^\u0000]*$"
MAX_ROW_ID = 10**18 - 1  # below PostgreSQL's bigint, so a too-large id is a 4xx, not an overflow


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


def json_integer(value: Any) -> Any:
    """A JSON integer: 4, or 4.0 (JSON Schema counts it), never `true` or "4"."""
    if isinstance(value, bool | str):
        raise ValueError("should be a whole number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _json_money(value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, str) and not _MONEY.fullmatch(value)):
        raise ValueError("should be an amount such as 1200 or \"1200.50\"")
    return value


_MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
_MONEY = re.compile(_MONEY_PATTERN)

# Constraints come before the validator: after it, pydantic writes them as "ge"/"le" in the
# schema instead of JSON Schema's words.
RowRef = Annotated[int, Field(ge=1, le=MAX_ROW_ID), BeforeValidator(json_integer)]
Percent = Annotated[int, Field(ge=0, le=100), BeforeValidator(json_integer)]
Money = Annotated[Decimal, Field(ge=0, lt=Decimal("1e12")), BeforeValidator(_json_money),
                  WithJsonSchema({"anyOf": [
                      {"type": "number", "minimum": 0, "exclusiveMaximum": 10**12},
                      {"type": "string", "pattern": _MONEY_PATTERN}]})]
Number = Annotated[float, Strict()]  # an int is a number too; "1.5" and `true` are not


VOCABULARY_KEY = "x-vocabulary"  # openapi.py turns it into a $ref to the component it names


def named(component: str) -> dict[str, Any]:
    """A schema that is the vocabulary component `component` (pydantic would try to resolve
    a $ref itself, so the reference is made when the document is put together)."""
    return {"type": "string", VOCABULARY_KEY: component}


def _named(component: str) -> Any:
    return WithJsonSchema(named(component))


QueueName = Annotated[str, Field(max_length=64), _named("QueueName")]
StageName = Annotated[str, Field(max_length=64), _named("StageName")]
DispositionName = Annotated[str, Field(max_length=64), _named("DispositionName")]
CustomerAttributes = Annotated[dict[str, Any], WithJsonSchema(
    {"type": "object", VOCABULARY_KEY: "CustomerAttributes"})]
EMAIL_PATTERN = rf"^[ \t\r\n]*{EMAIL_SHAPE}[ \t\r\n]*$"  # what normalize_email takes


def vocabulary(config: FileConfig) -> dict[str, dict[str, Any]]:
    """The components `_named` refers to, from this server's configuration."""
    def names(values: list[str], what: str) -> dict[str, Any]:
        return {"type": "string", "enum": values, "description": f"a {what} of this workspace"}

    return {
        "QueueName": names([q.name for q in config.queues], "queue"),
        "StageName": names([s.name for s in config.sales.stages], "sales stage"),
        "DispositionName": names(sorted(config.dispositions), "disposition"),
        "CustomerAttributes": json_schema(config.customer_attributes),
        "PhoneNumber": {"type": "string", "pattern": e164_pattern(), "description":
                        "E.164 (+, country code, number); the server also reads a number as "
                        "written in the workspace's region"},
    }
