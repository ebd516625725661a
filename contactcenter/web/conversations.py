"""The console's JSON API: an agent's work, conversations, replies, notes, read marks, typing,
wrap-up, and the customer panel. Live changes reach the console over its socket; these
endpoints are how it reads state and how it acts."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BeforeValidator, ConfigDict, Field, StrictBool

from contactcenter import access, views
from contactcenter.actions import conversation, uploads
from contactcenter.errors import InputError, NotFound, UnsupportedMediaType
from contactcenter.web.auth import require_session
from contactcenter.web.bodies import (
    MAX_ROW_ID,
    NOT_BLANK,
    DispositionName,
    RequestBody,
    RowRef,
    json_integer,
)
from contactcenter.web.errors import path_id, read_body
from contactcenter.web.keys import CORE
from contactcenter.web.openapi import ApiRoutes, Response

routes = ApiRoutes(tag="conversations")

_OBJECT: dict[str, Any] = {"type": "object"}


class NewMessage(RequestBody):
    # Words, files, or both: never nothing.
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["body"], "properties": {"body": {"pattern": NOT_BLANK}}},
        {"required": ["attachments"], "properties": {"attachments": {"minItems": 1}}}]})
    body: str = Field(default="", max_length=conversation.MAX_REPLY_CHARS,
                      description="may be empty when files are attached")
    internal: StrictBool = Field(default=False, description="an internal note, never sent to the customer")
    client_id: str | None = Field(default=None, min_length=1, max_length=64,
                                  description="your id for it: sending again with it sends nothing")
    attachments: list[RowRef] = Field(
        default_factory=list, max_length=uploads.MAX_FILES_PER_REPLY,
        description="ids of files uploaded to /api/interactions/{id}/attachments for this reply "
                    "(email replies and internal notes)")


class ReadUpTo(RequestBody):
    up_to: Annotated[int, Field(ge=0, le=MAX_ROW_ID), BeforeValidator(json_integer)] = Field(
        description="the id of the last message read")


class Wrapup(RequestBody):
    disposition: DispositionName
    notes: str = Field(default="", max_length=conversation.MAX_NOTES_CHARS)
    case_id: RowRef | None = Field(default=None, description=(
        "for a disposition that updates a case: which one (default: the customer's most "
        "recently active case)"))


@routes.route(
    "GET", "/api/me/work", summary="My presence, offers and open interactions, and the lists "
    "a transfer or wrap-up chooses from (what the console shows at start)",
    responses={200: Response("the agent's state", _OBJECT), 401: Response("not logged in")},
)
async def my_work(request: web.Request) -> web.Response:
    session = await require_session(request)
    core = request.app[CORE]
    async with core.pool.acquire() as conn:
        state = await views.agent_work(conn, core.config, session.workspace_id, session.user_id)
    return web.json_response(state)


@routes.route(
    "GET", "/api/interactions/{interaction_id}", summary="An interaction and its conversation",
    responses={200: Response("the interaction, messages oldest first", _OBJECT),
               401: Response("not logged in"), 404: Response("no such interaction")},
)
async def get_interaction(request: web.Request) -> web.Response:
    session = await require_session(request)
    core = request.app[CORE]
    iid = path_id(request, "interaction_id")
    async with core.pool.acquire() as conn:
        view = await views.interaction(conn, core.config, session.workspace_id, iid)
    if view is None:
        raise NotFound("no_such_interaction", f"no interaction {iid}")
    return web.json_response(view)


@routes.route(
    "POST", "/api/interactions/{interaction_id}/messages",
    summary="Reply through the interaction's own channel, or add an internal note",
    body=NewMessage,
    responses={201: Response("stored (and, on chat, delivered)", _OBJECT),
               400: Response("empty or too long"), 401: Response("not logged in"),
               403: Response("missing CSRF token"), 404: Response("no such interaction"),
               409: Response("not assigned to you, the conversation has ended, a file "
                             "named is not waiting to be sent on it, or the channel is not "
                             "set up on this server")},
)
async def post_message(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, NewMessage)
    message = await conversation.send_message(
        request.app[CORE], session.workspace_id, session.user_id, path_id(request, "interaction_id"),
        body.body, internal=body.internal, client_id=body.client_id,
        attachments=body.attachments)
    return web.json_response(message, status=201)


@routes.route(
    "POST", "/api/interactions/{interaction_id}/read",
    summary="I have read the customer's messages up to this one", body=ReadUpTo,
    responses={204: Response("marked; the customer sees it"), 401: Response("not logged in"),
               403: Response("not yours, or missing CSRF token"),
               404: Response("no such interaction")},
)
async def post_read(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, ReadUpTo)
    await conversation.mark_read(request.app[CORE], session.workspace_id,
                                 path_id(request, "interaction_id"), "agent", body.up_to, session.user_id)
    return web.Response(status=204)


@routes.route(
    "POST", "/api/interactions/{interaction_id}/typing",
    summary="I am typing (shown to a chat customer for a few seconds)",
    responses={204: Response("passed on"), 401: Response("not logged in"),
               403: Response("not yours, or missing CSRF token"),
               404: Response("no such interaction")},
)
async def post_typing(request: web.Request) -> web.Response:
    session = await require_session(request)
    await conversation.typing(request.app[CORE], session.workspace_id,
                              path_id(request, "interaction_id"), "agent", session.user_id)
    return web.Response(status=204)


@routes.route(
    "POST", "/api/interactions/{interaction_id}/wrapup",
    summary="Record the disposition and notes, and end wrap-up", body=Wrapup,
    responses={202: Response("recorded (with the case_id or lead_id the disposition linked); "
                             "the router ends wrap-up", _OBJECT),
               401: Response("not logged in"), 403: Response("missing CSRF token"),
               404: Response("no such interaction"),
               409: Response("you are not wrapping this interaction up, its queue does not "
                             "offer that disposition, or a case was named for a disposition "
                             "that takes none")},
)
async def post_wrapup(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, Wrapup)
    linked = await conversation.save_wrapup(
        request.app[CORE], session.workspace_id, session.user_id,
        path_id(request, "interaction_id"), body.disposition, body.notes, body.case_id)
    return web.json_response({"status": "recorded", **linked}, status=202)


@routes.route(
    "GET", "/api/customers/{customer_id}",
    summary="A customer: identities and every past interaction on every channel",
    responses={200: Response("the customer", _OBJECT), 401: Response("not logged in"),
               404: Response("no such customer")},
)
async def get_customer(request: web.Request) -> web.Response:
    session = await require_session(request)
    cid = path_id(request, "customer_id")
    async with request.app[CORE].pool.acquire() as conn:
        view = await views.customer(conn, session.workspace_id, cid)
    if view is None:
        raise NotFound("no_such_customer", f"no customer {cid}")
    return web.json_response(view)


@routes.route(
    "POST", "/api/interactions/{interaction_id}/attachments",
    summary="Upload a file for my next reply (or note) on this interaction; send its id with it",
    file_upload=True,
    responses={201: Response("kept until sent (a day at most)", _OBJECT),
               400: Response("no file field, an empty file or no usable name"),
               401: Response("not logged in"), 403: Response("missing CSRF token"),
               404: Response("no such interaction"),
               409: Response("not assigned to you"),
               413: Response(f"over {uploads.MAX_FILE_BYTES // (1024 * 1024)} MB"),
               415: Response("not multipart/form-data")},
)
async def post_attachment(request: web.Request) -> web.Response:
    session = await require_session(request)
    iid = path_id(request, "interaction_id")
    filename, declared_type, content = await _read_file_field(request)
    view = await uploads.store_draft(
        request.app[CORE], session.workspace_id, session.user_id, iid, filename,
        uploads.content_type_of(declared_type, filename), content)
    return web.json_response(view, status=201)


async def _read_file_field(request: web.Request) -> tuple[str, str | None, bytes]:
    """The form's `file` field, read in pieces so that an oversized upload is refused as soon as
    it passes the limit rather than held in memory whole."""
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType("unsupported_media_type",
                                   "send the file as multipart/form-data in a field named file")
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != "file":
                continue
            content = bytearray()
            while chunk := await part.read_chunk(256 * 1024):
                content += chunk
                if len(content) > uploads.MAX_FILE_BYTES:
                    raise uploads.TooLarge(
                        "file_too_large",
                        f"a file has at most {uploads.MAX_FILE_BYTES // (1024 * 1024)} MB")
            name = uploads.clean_filename(part.filename or "")
            return name, part.headers.get("Content-Type"), bytes(content)
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError) as exc:  # bad MIME
        raise InputError("bad_multipart", f"the form could not be read: {exc}") from None
    raise InputError("no_file", "the form has no field named file")


@routes.route(
    "GET", "/api/attachments/{attachment_id}",
    summary="Download an attachment kept here (an email's files and inline images)",
    responses={200: Response("the file, with its content type",
                             {"type": "string", "format": "binary"}),
               401: Response("not logged in"),
               403: Response("a file of a colleague's reply not sent yet"),
               404: Response("no such attachment")},
)
async def attachment(request: web.Request) -> web.Response:
    session = await require_session(request)
    async with request.app[CORE].pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT content_type, filename, content, message_id, uploaded_by FROM attachments
               WHERE id = $1 AND workspace_id = $2 AND content IS NOT NULL""",
            path_id(request, "attachment_id"), session.workspace_id)
    if row is None:
        raise NotFound("no_such_attachment", f"no attachment {request.match_info['attachment_id']}")
    if row["message_id"] is None:  # a draft: not part of any conversation yet
        access.check_sees_draft(session.role, session.user_id, row["uploaded_by"])
    # Shown inline only when it cannot carry script; anything else is a download.
    inline = row["content_type"].startswith(("image/png", "image/jpeg", "image/gif", "audio/",
                                              "application/pdf"))
    name = row["filename"].replace('"', "").replace("\r", "").replace("\n", "") or "attachment"
    return web.Response(body=row["content"], content_type=row["content_type"], headers={
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; "
                               f"filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff"})
