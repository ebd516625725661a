"""Every error on a JSON path is JSON: {"error": code, "message": text}. Input problems are 4xx;
a 500 means a bug of ours, logged with its traceback, never shown to the caller."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from contactcenter.errors import InputError, UnsupportedMediaType
from contactcenter.numbers import whole_number
from contactcenter.web.openapi import Handler

log = logging.getLogger(__name__)

JSON_PATH_PREFIXES = ("/api", "/channels", "/healthz")


def json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def _code(reason: str) -> str:
    return reason.lower().replace(" ", "_")


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InputError as exc:
        return json_error(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith(JSON_PATH_PREFIXES):
            raise
        message = exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}" else exc.reason
        return json_error(exc.status, _code(exc.reason), message)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal_error", "the server failed; the error was logged")


M = TypeVar("M", bound=BaseModel)


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body, or answer 400/415 saying exactly what is wrong."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("unsupported_media_type", "send the body as application/json")
    raw = await request.read()
    try:
        body = model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        code = "bad_json" if first["type"] == "json_invalid" else "invalid_body"
        raise InputError(code, f"{where}: {first['msg']}") from None
    problem = unstorable(body)
    if problem is not None:
        raise InputError("invalid_body", problem)
    return body


_BIGINT = 2**63


def unstorable(value: object, where: str = "body") -> str | None:
    """Why PostgreSQL could not keep a value valid JSON allows, or None: a NUL character in
    text (neither text nor jsonb columns hold one), a whole number beyond bigint, a float that
    is not finite. Checked once here so that no handler fails on it half way."""
    if isinstance(value, str):
        return f"{where}: text may not contain a NUL character (\\u0000)" if "\0" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -_BIGINT <= value < _BIGINT else f"{where}: {value} is out of range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: must be a finite number"
    items: Iterable[tuple[object, object]]
    if isinstance(value, BaseModel):
        items = ((name, getattr(value, name)) for name in type(value).model_fields)
    elif isinstance(value, dict):
        items = value.items()
        for key in value:
            if isinstance(key, str) and "\0" in key:
                return f"{where}: a key may not contain a NUL character (\\u0000)"
    elif isinstance(value, list | tuple | set | frozenset):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        problem = unstorable(item, f"{where}.{key}" if where != "body" else str(key))
        if problem is not None:
            return problem
    return None


def path_id(request: web.Request, name: str) -> int:
    """A numeric id from the URL path, or 400 (not 404: the request itself is malformed)."""
    text = request.match_info[name]
    number = whole_number(text)
    if number is None:
        raise InputError("bad_id", f"{text!r} is not a valid {name.replace('_', ' ')}")
    return number
