"""Custom customer attributes: values checked against the workspace's definitions. Pure."""

from __future__ import annotations

from datetime import date
from typing import Any

from contactcenter.errors import InputError
from contactcenter.settings import AttributeConfig

MAX_TEXT = 500
MAX_NUMBER = 2**53  # what a browser holds exactly


def checked_attributes(definitions: list[AttributeConfig],
                       given: dict[str, Any]) -> dict[str, Any]:
    """The values as stored (numbers as numbers, dates as ISO dates), or 400 naming the first
    bad one. None removes an attribute."""
    known = {d.name: d for d in definitions}
    out: dict[str, Any] = {}
    for name, value in given.items():
        definition = known.get(name)
        if definition is None:
            raise InputError("unknown_attribute", f"no customer attribute {name!r} (defined: "
                             f"{', '.join(sorted(known)) or 'none'})")
        out[name] = None if value is None else _checked(definition, value)
    return out


def _checked(definition: AttributeConfig, value: Any) -> Any:
    name = definition.name
    if definition.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError("bad_attribute", f"{name} must be a number")
        if abs(value) > MAX_NUMBER:
            raise InputError("bad_attribute", f"{name} is at most {MAX_NUMBER:,} either way")
        return value
    if not isinstance(value, str):
        raise InputError("bad_attribute", f"{name} must be a string")
    if definition.type == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise InputError("bad_attribute", f"{name} must be a date like 2026-11-24") from None
    if definition.type == "choice" and value not in definition.choices:
        raise InputError("bad_attribute",
                         f"{name} must be one of: {', '.join(definition.choices)}")
    if len(value) > MAX_TEXT:
        raise InputError("bad_attribute", f"{name} has at most {MAX_TEXT} characters")
    return value


def json_schema(definitions: list[AttributeConfig]) -> dict[str, Any]:
    """What `checked_attributes` takes, as JSON Schema: for the API's document."""
    def value(definition: AttributeConfig) -> dict[str, Any]:
        if definition.type == "number":
            return {"type": "number", "minimum": -MAX_NUMBER, "maximum": MAX_NUMBER}
        if definition.type == "date":
            return {"type": "string", "format": "date"}
        if definition.type == "choice":
            return {"enum": definition.choices}
        return {"type": "string", "maxLength": MAX_TEXT}
    return {"type": "object", "additionalProperties": False,
            "description": "the workspace's custom attributes; null removes one",
            "properties": {d.name: {"anyOf": [value(d), {"type": "null"}],
                                    **({"description": d.label} if d.label else {})}
                           for d in definitions}}
