"""A route's query string checked against what its OpenAPI entry declares, before the handler
runs: a parameter the route does not take, one given twice, a value that is not the declared
digits, enum, date or time is refused with 400 naming it, rather than quietly ignored or defaulted (a
client that typed `?asignee=4` learns it at once, not from wrong results). Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from multidict import MultiMapping

from contactcenter.errors import InputError

# RFC 3339, as JSON Schema's "date-time"; a space stands for a "+" that was not URL-encoded.
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d{1,6})?([Zz]|[+\- ]\d\d:\d\d)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def check_query(query: MultiMapping[str], declared: Mapping[str, dict[str, Any]],
                required: frozenset[str], open_prefix: str | None = None) -> None:
    """`declared`: each parameter's JSON Schema; `open_prefix`: names starting with it are the
    route's own to read (`attr.NAME` on the customer search)."""
    for name in set(query):
        if name not in declared and not (open_prefix and name.startswith(open_prefix)):
            takes = ", ".join(sorted(declared)) or "no parameters"
            raise InputError("unknown_query", f"{name!r} is not a parameter of this path (it "
                                              f"takes: {takes})")
        if len(query.getall(name)) > 1:
            raise InputError("bad_query", f"{name} is given more than once")
        if name in declared and not _fits(query[name], declared[name]):
            raise InputError("bad_query", f"{name}={query[name]!r}: {_expected(declared[name])}")
    for name in sorted(required - set(query)):
        raise InputError(f"missing_{name}", f"give {name}=")


def _fits(value: str, schema: dict[str, Any]) -> bool:
    if "anyOf" in schema:
        return any(_fits(value, branch) for branch in schema["anyOf"])
    if "enum" in schema:
        return value in schema["enum"]
    if len(value) > schema.get("maxLength", len(value)):
        return False
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return False
    if schema.get("format") == "date-time":
        return _parses(_DATE_TIME, value, lambda v: datetime.fromisoformat(
            v[:19] + v[19:].replace(" ", "+")))
    if schema.get("format") == "date":
        return _parses(_DATE, value, date.fromisoformat)
    return True


def _parses(shape: re.Pattern[str], value: str, parse: Callable[[str], object]) -> bool:
    if not shape.fullmatch(value):
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _expected(schema: dict[str, Any]) -> str:
    if "description" in schema:
        return str(schema["description"])
    if "anyOf" in schema:
        return " or ".join(_expected(branch) for branch in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(schema["enum"])
    if "maxLength" in schema:
        return f"at most {schema['maxLength']} characters"
    return {"date-time": "an ISO 8601 time with its zone, e.g. 2026-11-24T08:00:00Z",
            "date": "a date, e.g. 2026-11-24"}.get(schema.get("format", ""), "text")
