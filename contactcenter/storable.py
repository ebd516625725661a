"""What PostgreSQL cannot keep although JSON allows it.

Bodies and socket frames are checked here once, after validation, so that no handler fails on
such a value half way through its work (a 500, or a socket closed on the customer). What a
provider sent, which must be kept whatever it holds, is made keepable instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar, cast

from pydantic import BaseModel

_BIGINT = 2**63
NUL_REFUSED = "text may not contain a NUL character (\\u0000)"
J = TypeVar("J")


def keepable(value: J) -> J:
    """The value (text, or JSON-like dicts and lists of it) with each NUL character, which
    neither text nor jsonb columns hold, as U+FFFD."""
    if isinstance(value, str):
        return cast(J, value.replace("\0", "\ufffd"))
    if isinstance(value, dict):
        return cast(J, {keepable(k): keepable(v) for k, v in value.items()})
    if isinstance(value, list):
        return cast(J, [keepable(v) for v in value])
    return value


def unstorable(value: object, where: str = "") -> str | None:
    """Why, naming the field, or None: a NUL character in text or in a key (neither text nor
    jsonb columns hold one), a whole number beyond bigint, a float that is not finite."""
    name = where or "value"
    if isinstance(value, str):
        return f"{name}: {NUL_REFUSED}" if "\0" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -_BIGINT <= value < _BIGINT else f"{name}: {value} is out of range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{name}: must be a finite number"
    items: Iterable[tuple[object, object]]
    if isinstance(value, BaseModel):
        items = ((name, getattr(value, name)) for name in type(value).model_fields)
    elif isinstance(value, dict):
        items = value.items()
        for key in value:
            if isinstance(key, str) and "\0" in key:
                return f"{name}: a key may not contain a NUL character (\\u0000)"
    elif isinstance(value, list | tuple | set | frozenset):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        problem = unstorable(item, f"{where}.{key}" if where else str(key))
        if problem is not None:
            return problem
    return None
