"""Socket frames shared by the console and the chat widget: JSON objects with a "type",
validated against a union of pydantic models. A frame we cannot read is answered with an error
frame naming what is wrong, and the connection stays open."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from contactcenter.storable import unstorable

F = TypeVar("F")


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def frame(self, **extra: Any) -> dict[str, Any]:
        return {"type": "error", "error": self.code, "message": self.message, **extra}


def parse_frame(text: str, frames: TypeAdapter[F]) -> F:
    try:
        data = json.loads(text)
    except ValueError:
        raise ProtocolError("bad_json", "a frame must be a JSON object") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("bad_frame", 'a frame must be a JSON object with a "type"')
    try:
        frame = frames.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "union_tag_invalid":
            raise ProtocolError("unknown_frame", f"unknown frame type {data['type']!r}") from None
        where = ".".join(str(p) for p in first["loc"][1:]) or "type"
        raise ProtocolError("bad_frame", f"{where}: {first['msg']}") from None
    problem = unstorable(frame)
    if problem is not None:
        raise ProtocolError("bad_frame", problem)
    return frame
