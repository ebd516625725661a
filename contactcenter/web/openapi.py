"""Routes declared together with their OpenAPI description, so the document served at
/api/openapi.json cannot drift from what the server really answers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web
from pydantic import BaseModel

from contactcenter.errors import InputError
from contactcenter.web.bodies import NO_NUL, VOCABULARY_KEY
from contactcenter.web.query_params import check_query

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Authenticate = Callable[[web.Request], Awaitable[object]]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "stable machine-readable code"},
        "message": {"type": "string", "description": "what went wrong, for a person"},
    },
}


_FILE_FORM: dict[str, Any] = {
    "type": "object", "required": ["file"], "additionalProperties": False,
    "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
}


_SIGNED_FORM: dict[str, Any] = {
    "type": "object", "additionalProperties": {"type": "string"},
    "description": "the provider's fields as it sends them, signed in X-Twilio-Signature",
}


@dataclass(frozen=True)
class Response:
    description: str
    schema: type[BaseModel] | dict[str, Any] | None = None
    text_as: tuple[str, ...] = ()  # other media types the route sends as text (text/csv)
    media_type: str = "application/json"


@dataclass(frozen=True)
class Query:
    """A query parameter a route reads, declared so clients (and fuzzers) know what it takes."""

    schema: dict[str, Any]
    description: str = ""
    required: bool = False


# Numbers in a query are digits as typed: "1.0" or "1e3", which JSON Schema would call integers,
# are not ids here, so the document says digits.
ROW_ID: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{1,18}$",
                          "description": "a row id (digits)"}
PAGE_SIZE: dict[str, Any] = {"type": "string", "pattern": "^(200|1[0-9]{2}|[1-9][0-9]?)$",
                             "description": "how many, 1 to 200"}


# Reached without a session: everything else under /api answers 401 without one, and 403 to a
# change without the CSRF header.
PUBLIC_PATHS = frozenset({"/api/login", "/api/openapi.json"})


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    handler: Handler
    tag: str
    body: type[BaseModel] | None
    responses: dict[int, Response]
    file_upload: bool = False  # the body is multipart/form-data with one field `file`
    signed_form: bool = False  # the body is a provider's url-encoded form (Twilio's webhooks)
    query: dict[str, Query] = field(default_factory=dict)
    open_query_prefix: str | None = None  # names starting with it are the handler's to read

    def checked(self, authenticate: Authenticate) -> Handler:
        """The handler, behind the check of its query string against what is declared. A
        stranger is told 401 (as anywhere) rather than what is wrong with the query."""
        if self.signed_form:  # the provider's URL, query included, is covered by its signature
            return self.handler
        declared = {name: q.schema for name, q in self.query.items()}
        required = frozenset(name for name, q in self.query.items() if q.required)
        protected = self.path.startswith("/api/") and self.path not in PUBLIC_PATHS

        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                check_query(request.query, declared, required, self.open_query_prefix)
            except InputError:
                if protected:
                    await authenticate(request)
                raise
            return await self.handler(request)
        return handle


@dataclass
class ApiRoutes:
    """A module's JSON endpoints. `route` registers the handler and its description at once."""

    tag: str
    # Every route of the group takes a provider's signed, url-encoded form.
    signed_forms: bool = False
    operations: list[Operation] = field(default_factory=list)

    def route(
        self, method: str, path: str, *, summary: str, responses: dict[int, Response],
        body: type[BaseModel] | None = None, file_upload: bool = False,
        query: dict[str, Query] | None = None, open_query_prefix: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(Operation(method, path, summary, handler, self.tag, body,
                                             responses, file_upload, self.signed_forms,
                                             query or {}, open_query_prefix))
            return handler
        return register

    def add_to(self, app: web.Application, authenticate: Authenticate) -> None:
        """Row ids in paths only match digits, so `/api/opportunities/board` is the board's
        (whose other methods then answer 405 with Allow), never an opportunity named "board".
        `authenticate`: raises 401/403 for a request without a valid session."""
        for op in self.operations:
            app.router.add_route(op.method, re.sub(r"{(\w+_id)}", r"{\1:[0-9]+}", op.path),
                                 op.checked(authenticate))


def _schema(item: type[BaseModel] | dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, dict):
        return cast(dict[str, Any], _vocabulary_refs(item))
    schema = item.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = _vocabulary_refs(definition)
    components[item.__name__] = _vocabulary_refs(schema)
    return {"$ref": f"#/components/schemas/{item.__name__}"}


def _vocabulary_refs(schema: Any) -> Any:
    """Each place a body names a vocabulary component becomes a $ref to it; free text says it
    holds no NUL (PostgreSQL cannot keep one: such text is refused, contactcenter.storable)."""
    if isinstance(schema, dict):
        if VOCABULARY_KEY in schema:
            return {"$ref": f"#/components/schemas/{schema[VOCABULARY_KEY]}"}
        if schema.get("type") == "string" and not schema.keys() & {"pattern", "format", "enum",
                                                                  "const"}:
            schema = {**schema, "pattern": NO_NUL}
        return {key: _vocabulary_refs(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_vocabulary_refs(value) for value in schema]
    return schema


def _path_parameters(path: str) -> list[dict[str, Any]]:
    """Every `{name}` of the path: an `..._id` is a row id (`path_id` reads it), anything else
    text. Declared so that clients generated from the document can fill them in."""
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}
             if name.endswith("_id") else {"type": "string"}}
            for name in re.findall(r"{(\w+)}", path)]


def _answers_any_route_gives(op: Operation) -> dict[int, Response]:
    """What the middleware and the shared readers answer on any such route (each route's own
    list says more, and wins): so the document names every status the server sends."""
    answers = {400: Response("a malformed request: a query, path value or body it cannot take")}
    if op.body is not None or op.file_upload or op.signed_form:
        answers[413] = Response("a body over the server's size limit")
        answers[415] = Response("a body of another media type than the one documented")
    if "{" in op.path:
        answers[404] = Response("nothing with that id here")
    if op.path.startswith("/api/") and op.path not in PUBLIC_PATHS:
        answers[401] = Response("not logged in")
        answers[403] = Response("missing CSRF token, or not allowed (docs/access.md)")
    return answers


def openapi_document(groups: list[ApiRoutes], server_url: str,
                     vocabulary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`vocabulary`: the components that bodies name and this server's configuration fills
    in (its queues, stages, custom attributes: contactcenter.web.bodies)."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA, **vocabulary}
    paths: dict[str, Any] = {}
    for group in groups:
        for op in group.operations:
            entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "responses": {}}
            parameters = _path_parameters(op.path) + [
                {"name": name, "in": "query", "required": q.required, "schema": _vocabulary_refs(q.schema),
                 **({"description": q.description} if q.description else {})}
                for name, q in op.query.items()]
            if parameters:
                entry["parameters"] = parameters
            if op.body is not None:
                entry["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _schema(op.body, components)}},
                }
            if op.file_upload:
                entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                    "schema": _FILE_FORM}}}
            if op.signed_form:
                entry["requestBody"] = {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": _SIGNED_FORM}}}
            for status, resp in sorted({**_answers_any_route_gives(op), **op.responses}.items()):
                described: dict[str, Any] = {"description": resp.description}
                schema = resp.schema if resp.schema is not None else (
                    {"$ref": "#/components/schemas/Error"} if status >= 400 else None)
                if schema is not None:
                    described["content"] = {
                        resp.media_type: {"schema": _schema(schema, components)},
                        **{media: {"schema": {"type": "string"}} for media in resp.text_as}}
                entry["responses"][str(status)] = described
            paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Contact center API", "version": "0.1.0"},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "cc_session"},
            },
        },
    }
