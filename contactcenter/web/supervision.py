"""What supervisors ask of the API: the live board, interval reports (JSON or CSV), a what-if
staffing run of the simulator, and their actions on the floor (an agent's presence, a whisper
to an agent). Moving a waiting interaction is the ordinary transfer, which supervisors may do
to any interaction. All of it requires the supervisor or admin role."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BeforeValidator, Field

from contactcenter.actions import conversation, work
from contactcenter.errors import Busy, InputError, NotFound
from contactcenter.simulation import theory
from contactcenter.stats import history
from contactcenter.web.auth import require_supervisor
from contactcenter.web.bodies import NOT_BLANK, Number, RequestBody, json_integer
from contactcenter.web.errors import path_id, read_body
from contactcenter.web.keys import BOARD_HUB, CORE
from contactcenter.web.openapi import ApiRoutes, Query, Response
from routing.simulate import run, single_queue_scenario

routes = ApiRoutes(tag="supervision")

_OBJECT: dict[str, Any] = {"type": "object"}
_AUTH = {401: Response("not logged in"),
         403: Response("missing CSRF token, or not a supervisor or admin")}
# A what-if run simulates at most this many arrivals, so that it answers in seconds, and a node
# runs at most this many at once (each holds a core while it runs).
MAX_WHAT_IF_ARRIVALS = 50_000
MAX_WHAT_IF_RUNNING = 2
_what_ifs_running = 0


@routes.route("GET", "/api/stats/live",
              summary="The live board: per queue, channel and agent, today's figures, "
                      "staffing and alerts (the /supervisor socket pushes the same)",
              responses={200: Response("the board", _OBJECT), **_AUTH})
async def get_live(request: web.Request) -> web.Response:
    await require_supervisor(request)
    return web.json_response(await request.app[BOARD_HUB].read())


# A day of the workspace's calendar, or a time with its zone.
_WHEN: dict[str, Any] = {"anyOf": [{"type": "string", "format": "date"},
                                   {"type": "string", "format": "date-time"}]}


def _time(request: web.Request, name: str, timezone: str) -> datetime:
    """An ISO 8601 time with its zone, or a plain date: that day's midnight in the workspace's
    time zone (what a supervisor means by "from Monday")."""
    raw = request.query[name]  # required, a date or a time: checked as declared
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(), ZoneInfo(timezone))
        return datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise InputError(f"bad_{name}", f"{name} is neither a date nor an ISO 8601 time: "
                                        f"{raw!r}") from None


@routes.route("GET", "/api/reports",
              summary="Interval report: from, to (dates in the workspace's time zone, or ISO "
                      "times with a zone; to is exclusive), interval (15, 30, 60, day), by "
                      "(queue, channel, agent), format (json or csv). A long period comes in "
                      "pages (31 days in 15-minute intervals ... 400 in days): next_from, or "
                      "the CSV's Link header, starts the next",
              query={
                  "from": Query(_WHEN, "the first day or time", required=True),
                  "to": Query(_WHEN, "the day or time after the last", required=True),
                  "interval": Query({"enum": ["15", "30", "60", "day"]}),
                  "by": Query({"enum": ["queue", "channel", "agent"]}),
                  "format": Query({"enum": ["json", "csv"]})},
              responses={200: Response("rows in time order", _OBJECT, text_as=("text/csv",)),
                         400: Response("a bad or missing parameter"),
                         **_AUTH})
async def get_report(request: web.Request) -> web.Response:
    session = await require_supervisor(request)
    # The query was checked as declared before this runs (web/query_params.py).
    asked = request.query.get("by", "queue")
    by = next(g for g in history.GROUPINGS if g == asked)
    fmt = request.query.get("format", "json")
    core = request.app[CORE]
    zone = core.config.workspace.timezone
    period = history.check_period(_time(request, "from", zone), _time(request, "to", zone),
                                  request.query.get("interval", "60"))
    async with core.pool.acquire() as conn:
        rows = await history.report(conn, session.workspace_id, core.config, period, by)
    rest = None if period.rest_from is None else period.rest_from.isoformat()
    if fmt == "csv":
        name = f"report-{by}-{period.start.date()}-{period.interval}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if rest is not None:
            headers["Link"] = f'<{request.rel_url.update_query({"from": rest})}>; rel="next"'
        return web.Response(text=history.to_csv(rows), content_type="text/csv", headers=headers)
    return web.json_response({"from": period.start.isoformat(), "to": period.end.isoformat(),
                              "next_from": rest, "interval": period.interval, "by": by,
                              "timezone": zone, "rows": rows})


class WhatIf(RequestBody):
    agents: Annotated[int, Field(ge=1, le=2000), BeforeValidator(json_integer)]
    arrivals_per_hour: Number = Field(ge=0.01, le=100_000)
    aht_seconds: Number = Field(ge=1, le=86_400)
    threshold_seconds: Number = Field(default=20, ge=1, le=86_400)
    patience_seconds: Number | None = Field(default=None, ge=1, le=86_400,
                                           description="mean patience; none: nobody gives up")
    hours: Number = Field(default=8, ge=0.01, le=24, description="simulated time")
    seed: Annotated[int, Field(ge=0, le=2**63 - 1), BeforeValidator(json_integer)] = 1


@routes.route("POST", "/api/stats/what-if", body=WhatIf,
              summary="Run the routing engine's simulator on a staffing question, with what "
                      "Erlang C (or A, with patience) predicts beside it",
              responses={200: Response("simulated and predicted figures", _OBJECT),
                         400: Response("a bad value"),
                         429: Response("two runs already going on this server"), **_AUTH})
async def post_what_if(request: web.Request) -> web.Response:
    await require_supervisor(request)
    body = await read_body(request, WhatIf)
    rate = body.arrivals_per_hour / 3600
    # A busy center's steady state shows long before 50,000 arrivals: past that, simulate
    # less time rather than refuse (the answer says how long it simulated).
    hours = min(body.hours, MAX_WHAT_IF_ARRIVALS / (body.arrivals_per_hour * 1.1))
    scenario = single_queue_scenario(body.agents, rate, body.aht_seconds,
                                     body.threshold_seconds, hours * 3600,
                                     patience=body.patience_seconds, seed=body.seed)
    global _what_ifs_running
    if _what_ifs_running >= MAX_WHAT_IF_RUNNING:
        raise Busy("what_if_busy", "other what-if runs are going on this server: try again "
                                   "in a few seconds")
    _what_ifs_running += 1
    try:
        # The engine and Erlang A's chain are pure CPU: run them off the event loop so the
        # server keeps answering.
        result, predicted = await asyncio.to_thread(lambda: (run(scenario), theory(
            body.agents, rate, body.aht_seconds, body.threshold_seconds, body.patience_seconds)))
    finally:
        _what_ifs_running -= 1
    return web.json_response({"simulated": result, "hours_simulated": round(hours, 3),
                              "predicted": None if predicted is None else {
        "model": "Erlang A" if predicted.pop("model") else "Erlang C", **predicted}})


class AgentPresence(RequestBody):
    presence: Literal["available", "away", "offline"]
    reason: str = Field(default="", max_length=200)


@routes.route("PUT", "/api/agents/{agent_id}/presence", body=AgentPresence,
              summary="Set an agent's presence (their console follows)",
              responses={204: Response("set"), 400: Response("a bad value"), **_AUTH,
                         404: Response("no such agent")})
async def put_agent_presence(request: web.Request) -> web.Response:
    session = await require_supervisor(request)
    body = await read_body(request, AgentPresence)
    agent = path_id(request, "agent_id")
    core = request.app[CORE]
    if not await core.pool.fetchval(
            """SELECT true FROM users WHERE id = $1 AND workspace_id = $2 AND role = 'agent'
               AND disabled_at IS NULL""", agent, session.workspace_id):
        raise NotFound("no_such_agent", f"no agent {agent}")
    reason = body.reason or f"set by {session.display_name}"
    await work.set_presence(core, session.workspace_id, agent, body.presence, reason)
    return web.Response(status=204)


class Whisper(RequestBody):
    body: str = Field(max_length=conversation.MAX_REPLY_CHARS, pattern=NOT_BLANK)


@routes.route("POST", "/api/interactions/{interaction_id}/whisper", body=Whisper,
              summary="A private note to the agent handling this interaction (the customer "
                      "never sees it)",
              responses={201: Response("the note, as the agent sees it", _OBJECT),
                         400: Response("empty"), **_AUTH, 404: Response("no such interaction"),
                         409: Response("no agent is handling it")})
async def post_whisper(request: web.Request) -> web.Response:
    session = await require_supervisor(request)
    body = await read_body(request, Whisper)
    message = await conversation.send_message(
        request.app[CORE], session.workspace_id, session.user_id,
        path_id(request, "interaction_id"), body.body, internal=True, whisper=True)
    return web.json_response(message, status=201)

