"""Every error on a JSON path is JSON: {"error": code, "message": text}. Input problems are 4xx;
a 500 means a bug of ours, logged with its traceback, never shown to the caller."""

from __future__ import annotations

import logging
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from contactcenter.errors import Busy, InputError, UnsupportedMediaType
from contactcenter.numbers import whole_number
from contactcenter.storable import NUL_REFUSED, unstorable
from contactcenter.web.bodies import NOT_BLANK
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
        if request.path.startswith(JSON_PATH_PREFIXES):
            _refuse_nul_in_query(request)
        return await handler(request)
    except InputError as exc:
        answer = json_error(exc.status, exc.code, exc.message)
        if isinstance(exc, Busy):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith(JSON_PATH_PREFIXES):
            raise
        message = exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}" else exc.reason
        answer = json_error(exc.status, _code(exc.reason), message)
        if "Allow" in exc.headers:  # a 405 says which methods the path takes
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal_error", "the server failed; the error was logged")


def _refuse_nul_in_query(request: web.Request) -> None:
    """Query values reach PostgreSQL as text, which cannot hold a NUL: say so for all at once."""
    for key, value in request.query.items():
        if "\0" in key or "\0" in value:
            raise InputError("bad_query", f"{key!r}: a query may not contain a NUL character")


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
        said = first["msg"]
        if first["type"] == "string_pattern_mismatch" and (first.get("ctx") or {}).get(
                "pattern") == NOT_BLANK:
            said = NUL_REFUSED if unstorable(first["input"]) else "may not be blank"
        raise InputError(code, f"{where}: {said}") from None
    problem = unstorable(body)
    if problem is not None:
        raise InputError("invalid_body", problem)
    return body


def path_id(request: web.Request, name: str) -> int:
    """A numeric id from the URL path, or 400 (not 404: the request itself is malformed)."""
    text = request.match_info[name]
    number = whole_number(text)
    if number is None:
        raise InputError("bad_id", f"{text!r} is not a valid {name.replace('_', ' ')}")
    return number
