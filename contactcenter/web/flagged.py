"""Provider payloads nothing could be made of (an SMS webhook, an email without a sender),
kept whole and flagged: what a supervisor reviews, and marks done once handled by hand."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from contactcenter.errors import NotFound
from contactcenter.web.auth import require_supervisor
from contactcenter.web.errors import path_id
from contactcenter.web.keys import CORE
from contactcenter.web.openapi import ROW_ID, ApiRoutes, Query, Response

routes = ApiRoutes(tag="supervision")
PAGE = 50


class FlaggedPayload(BaseModel):
    id: int
    source: str
    problem: str
    received_at: str
    resolved_at: str | None
    payload: dict[str, Any]
    has_raw: bool  # its bytes are kept: GET /api/unreadable-payloads/{id}/raw


class FlaggedPage(BaseModel):
    payloads: list[FlaggedPayload]
    next_before: int | None  # pass as ?before= for the next (older) page


@routes.route(
    "GET", "/api/unreadable-payloads",
    summary="Payloads kept but not understood, newest first (?all=1 with the resolved ones; "
            "?before=ID for older)",
    query={"before": Query(ROW_ID, "a payload id: those before it"),
           "all": Query({"enum": ["0", "1"]}, "1: the resolved ones too")},
    responses={200: Response("a page of them", FlaggedPage), 401: Response("not logged in"),
               403: Response("not a supervisor or admin")},
)
async def list_flagged(request: web.Request) -> web.Response:
    workspace_id = (await require_supervisor(request)).workspace_id
    # Checked as declared before this runs (web/query_params.py): digits, 0 or 1.
    before = int(request.query["before"]) if "before" in request.query else None
    rows = await request.app[CORE].pool.fetch(
        """SELECT id, source, problem, received_at, resolved_at, payload, raw IS NOT NULL AS has_raw
           FROM unreadable_payloads
           WHERE workspace_id = $1 AND ($2 OR resolved_at IS NULL) AND ($3::bigint IS NULL OR id < $3)
           ORDER BY id DESC LIMIT $4""",
        workspace_id, request.query.get("all") == "1", before,
        PAGE + 1)
    page = [FlaggedPayload(id=r["id"], source=r["source"], problem=r["problem"],
                           received_at=r["received_at"].isoformat(),
                           resolved_at=r["resolved_at"].isoformat() if r["resolved_at"] else None,
                           payload=r["payload"], has_raw=r["has_raw"]) for r in rows[:PAGE]]
    more = len(rows) > PAGE
    return web.json_response(FlaggedPage(
        payloads=page, next_before=page[-1].id if more else None).model_dump())


@routes.route(
    "POST", "/api/unreadable-payloads/{payload_id}/resolve",
    summary="Mark a flagged payload handled",
    responses={204: Response("marked"), 401: Response("not logged in"),
               403: Response("missing CSRF token, or not a supervisor or admin"),
               404: Response("no such payload")},
)
async def resolve(request: web.Request) -> web.Response:
    workspace_id = (await require_supervisor(request)).workspace_id
    payload_id = path_id(request, "payload_id")
    done = await request.app[CORE].pool.fetchval(
        """UPDATE unreadable_payloads SET resolved_at = coalesce(resolved_at, now())
           WHERE id = $1 AND workspace_id = $2 RETURNING id""", payload_id, workspace_id)
    if done is None:
        raise NotFound("no_such_payload", f"no flagged payload {payload_id}")
    return web.Response(status=204)


@routes.route(
    "GET", "/api/unreadable-payloads/{payload_id}/raw",
    summary="The bytes a flagged payload came as, exactly (an email as message/rfc822, to open "
            "in a mail program)",
    responses={200: Response("the bytes", {"type": "string", "format": "binary"},
                             media_type="message/rfc822",
                             text_as=("application/octet-stream",)),
               401: Response("not logged in"), 403: Response("not a supervisor or admin"),
               404: Response("no such payload, or none kept as bytes")},
)
async def raw_payload(request: web.Request) -> web.Response:
    workspace_id = (await require_supervisor(request)).workspace_id
    payload_id = path_id(request, "payload_id")
    row = await request.app[CORE].pool.fetchrow(
        "SELECT source, raw FROM unreadable_payloads WHERE id = $1 AND workspace_id = $2",
        payload_id, workspace_id)
    if row is None or row["raw"] is None:
        raise NotFound("no_raw_payload", f"no bytes kept for flagged payload {payload_id}")
    is_email = row["source"] == "email"
    return web.Response(
        body=row["raw"], content_type="message/rfc822" if is_email else "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="flagged-{payload_id}'
                                        f'{".eml" if is_email else ".bin"}"'})
