"""An agent's work over HTTP: presence, answers to offers, finishing, and why routing chose.

Answers to offers are requests (202): the routing leader decides, and its decision reaches the
agent's console. An accept after the offer timed out changes nothing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from contactcenter import access
from contactcenter.actions import calls, work
from contactcenter.actions.work import WorkRequest
from contactcenter.errors import NotFound
from contactcenter.web.auth import require_session, require_supervisor
from contactcenter.web.bodies import QueueName, RequestBody, RowRef, json_integer
from contactcenter.web.errors import path_id, read_body
from contactcenter.web.keys import CORE
from contactcenter.web.openapi import ApiRoutes, Handler, Response
from routing.model import Explanation

routes = ApiRoutes(tag="work")


class PresenceRequest(RequestBody):
    presence: Literal["available", "away", "offline"]
    reason: str = Field(default="", max_length=200)


class Requested(BaseModel):
    status: str = "requested"


class RoutingDecision(BaseModel):
    at: str
    kind: str
    agent_id: int | None
    agent_name: str | None
    outcome: str
    reason: str = Field(description="why, with agents named, e.g. 'offered to Ana Alvarez: "
                                    "longest idle of 2 eligible; Ben Brooks lacks spanish>=3'")
    deadline: str | None
    detail: dict[str, Any]


class RoutingHistory(BaseModel):
    interaction_id: int
    decisions: list[RoutingDecision]


@routes.route(
    "PUT", "/api/me/presence", summary="Set my presence", body=PresenceRequest,
    responses={204: Response("presence set"), 400: Response("unknown presence"),
               401: Response("not logged in"), 403: Response("missing CSRF token")},
)
async def set_presence(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, PresenceRequest)
    await work.set_presence(request.app[CORE], session.workspace_id, session.user_id,
                            body.presence, body.reason)
    return web.Response(status=204)


def _work_handler(kind: WorkRequest) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        session = await require_session(request)
        await work.request(request.app[CORE], session.workspace_id, session.user_id,
                           path_id(request, "interaction_id"), kind)
        return web.json_response(Requested().model_dump(), status=202)
    return handler


_WORK: tuple[tuple[str, WorkRequest, str], ...] = (
    ("accept", "offer.accept", "Accept the offer of this interaction"),
    ("reject", "offer.reject", "Reject the offer of this interaction"),
    ("complete", "interaction.completed", "Finish the conversation; wrap-up follows"),
    ("wrapup-done", "interaction.wrapup_done", "Finish wrap-up early"),
)
for _path, _kind, _summary in _WORK:
    routes.route(
        "POST", f"/api/interactions/{{interaction_id}}/{_path}", summary=_summary,
        responses={202: Response("handed to the router", Requested),
                   401: Response("not logged in"), 403: Response("missing CSRF token"),
                   404: Response("no such interaction"),
                   409: Response("not in a state that allows it, or not yours")},
    )(_work_handler(_kind))


class TransferRequest(RequestBody):
    # Exactly one of the two, said in the schema too.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": ["queue"], "properties": {"queue": {"type": "string"},
                                                "agent": {"type": "null"}}},
        {"required": ["agent"], "properties": {"agent": {"type": "integer"},
                                                "queue": {"type": "null"}}}]})
    queue: QueueName | None = Field(default=None, description="to this queue, or")
    agent: RowRef | None = Field(default=None, description="to this agent (user id)")
    priority_bump: Annotated[int, Field(ge=-100, le=100), BeforeValidator(json_integer)] = Field(
        default=0, description="added to the priority; arrival is kept")


@routes.route(
    "POST", "/api/interactions/{interaction_id}/transfer",
    summary="Transfer to a queue (arrival time kept) or to a named agent", body=TransferRequest,
    responses={202: Response("handed to the router", Requested),
               400: Response("neither or both of queue and agent"),
               401: Response("not logged in"),
               403: Response("missing CSRF token, or held by a colleague (only its agent or a "
                             "supervisor transfers it)"),
               404: Response("no such interaction, queue or agent"),
               409: Response("the interaction has ended")},
)
async def transfer(request: web.Request) -> web.Response:
    session = await require_session(request)
    body = await read_body(request, TransferRequest)
    core = request.app[CORE]
    iid = path_id(request, "interaction_id")
    holder = await core.pool.fetchrow(
        "SELECT agent_id, state FROM interactions WHERE id = $1 AND workspace_id = $2",
        iid, session.workspace_id)
    if holder is None:
        raise NotFound("no_such_interaction", f"no interaction {iid}")
    # An offer is not held yet: only its agent's answer (accept, reject) is theirs to give.
    held_by = holder["agent_id"] if holder["state"] in ("assigned", "wrapup") else None
    access.check_holds(session.role, session.user_id, held_by, f"interaction {iid}")
    await work.transfer(core, session.workspace_id, session.user_id, iid, to_queue=body.queue,
                        to_agent=body.agent, priority_bump=body.priority_bump)
    return web.json_response(Requested().model_dump(), status=202)


@routes.route(
    "GET", "/api/interactions/{interaction_id}/routing",
    summary="Every routing decision about this interaction, with its reason",
    responses={200: Response("the decisions, oldest first", RoutingHistory),
               401: Response("not logged in"), 404: Response("no such interaction")},
)
async def routing_history(request: web.Request) -> web.Response:
    session = await require_session(request)
    iid = path_id(request, "interaction_id")
    async with request.app[CORE].pool.acquire() as conn:
        exists = await conn.fetchval(
            "SELECT 1 FROM interactions WHERE id = $1 AND workspace_id = $2",
            iid, session.workspace_id)
        if exists is None:
            raise NotFound("no_such_interaction", f"no interaction {iid}")
        rows = await conn.fetch(
            """SELECT at, kind, agent_id, outcome, reason, deadline, detail
               FROM routing_decisions WHERE interaction_id = $1 ORDER BY id""", iid)
        names = dict(await conn.fetch(
            "SELECT id::text, display_name FROM users WHERE workspace_id = $1",
            session.workspace_id))
    history = RoutingHistory(interaction_id=iid, decisions=[
        RoutingDecision(at=r["at"].isoformat(), kind=r["kind"], agent_id=r["agent_id"],
                        agent_name=names.get(str(r["agent_id"])), outcome=r["outcome"],
                        reason=_named(r, names),
                        deadline=r["deadline"].isoformat() if r["deadline"] else None,
                        detail=r["detail"]) for r in rows])
    return web.json_response(history.model_dump())


@routes.route(
    "POST", "/api/interactions/{interaction_id}/listen",
    summary="A supervisor listens to a connected call (dialled in, muted)",
    responses={202: Response("the call bridger dials the supervisor's phone or Twilio Client "
                             "identity into the call's conference, muted", Requested),
               401: Response("not logged in"),
               403: Response("missing CSRF token, or not a supervisor or admin"),
               409: Response("not a connected call")},
)
async def listen(request: web.Request) -> web.Response:
    session = await require_supervisor(request)
    await calls.request_listen(request.app[CORE], session.workspace_id, session.user_id,
                               path_id(request, "interaction_id"))
    return web.json_response(Requested().model_dump(), status=202)


def _named(row: Any, names: dict[str, str]) -> str:
    """The engine knows agents by id; people know them by name."""
    detail = row["detail"]
    if row["kind"] != "Offered" or "eligible" not in detail:
        return str(row["reason"])
    return Explanation(
        chosen=str(row["agent_id"]), rule=detail["rule"], eligible=tuple(detail["eligible"]),
        not_eligible=detail["not_eligible"], eligible_count=detail.get("eligible_count", 0),
        more=detail.get("more", {}),
    ).text(names)
