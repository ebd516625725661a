"""The agent console: the page at /console and its live socket at /console/ws.

The socket carries the agent's feed down (offers, messages, routing decisions, presence) and
tells the router the console is there: when an agent's last console closes, the router's
disconnect grace period starts (offers rescinded, offline unless a console returns).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Annotated, Any, Literal

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from redis.exceptions import RedisError

from agent_ui import page
from contactcenter import views
from contactcenter.actions import consoles
from contactcenter.actions.users import Session, find_session
from contactcenter.core import Core
from contactcenter.feeds import user_feed
from contactcenter.instruments import SOCKETS_OPEN
from contactcenter.web.auth import require_session
from contactcenter.web.frames import ProtocolError, parse_frame
from contactcenter.web.keys import CORE, FEED_HUB
from contactcenter.web.live_socket import (
    LiveSocket,
    follow_feed,
    guarded,
    open_page_socket,
    stop_tasks,
)
from contactcenter.web.session_sockets import CLOSE_LOGGED_OUT

log = logging.getLogger(__name__)

HELLO_TIMEOUT_SECONDS = 10.0
# How often an open console renews its claim to be open, and re-checks its session.
KEEPALIVE_SECONDS = 30.0
MAX_FRAME_BYTES = 16 * 1024
CLOSE_NO_HELLO = 4400


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hello(_Frame):
    type: Literal["hello"]
    last_event_id: str | None = Field(default=None, max_length=40)


class Ping(_Frame):
    type: Literal["ping"]


_FRAMES: TypeAdapter[Hello | Ping] = TypeAdapter(
    Annotated[Hello | Ping, Field(discriminator="type")])


async def console_socket(request: web.Request) -> web.StreamResponse:
    opened = await open_page_socket(request, "console", MAX_FRAME_BYTES, require_session)
    if isinstance(opened, web.Response):
        return opened
    ws, session = opened
    with SOCKETS_OPEN.labels("console").track_inprogress():
        await ConsoleSession(request.app, ws, session).run()
    return ws


class ConsoleSession:
    def __init__(self, app: web.Application, ws: web.WebSocketResponse, session: Session) -> None:
        self.app = app
        self.core: Core = app[CORE]
        self.ws = ws
        self.session = session
        self.sock = LiveSocket(ws)
        self.connection = secrets.token_hex(8)

    async def run(self) -> None:
        hello = await self._hello()
        if hello is None:
            return
        s = self.session
        try:
            await consoles.console_seen(self.core, s.workspace_id, s.user_id, self.connection)
        except (RedisError, OSError) as exc:
            log.warning("console of user %d: Redis is unreachable (%s); closing", s.user_id, exc)
            await self.sock.close_to_retry("live feed unavailable")
            return
        tasks = [
            asyncio.create_task(follow_feed(
                self.sock, self.app[FEED_HUB], self.core.redis,
                user_feed(s.workspace_id, s.user_id), hello.last_event_id, self._snapshot,
                self._delivered)),
            asyncio.create_task(guarded(self.sock, "console keep-alive", self._keepalive())),
        ]
        try:
            async for msg in self.ws:
                await self._handle(msg.data if msg.type == WSMsgType.TEXT else "")
        except Exception:
            log.exception("console socket of user %d failed", s.user_id)
        finally:
            # aiohttp cancels a handler whose client went away; the router must still hear
            # that this console closed, and the helper tasks must still stop.
            await asyncio.shield(self._close(tasks))

    async def _close(self, tasks: list[asyncio.Task[None]]) -> None:
        s = self.session
        for task in tasks:
            task.cancel()
        try:
            await consoles.console_closed(self.core, s.workspace_id, s.user_id, self.connection)
        except (RedisError, OSError) as exc:  # it stops counting by itself, unrenewed
            log.warning("console of user %d closed unrecorded: %s", s.user_id, exc)
        await self.ws.close()
        await stop_tasks(tasks)

    async def _hello(self) -> Hello | None:
        while True:
            try:
                msg = await self.ws.receive(timeout=HELLO_TIMEOUT_SECONDS)
            except TimeoutError:
                await self.ws.close(code=CLOSE_NO_HELLO, message=b"expected a hello frame")
                return None
            if msg.type != WSMsgType.TEXT:
                return None
            try:
                frame = parse_frame(msg.data, _FRAMES)
            except ProtocolError as exc:
                await self.sock.send(exc.frame())
                continue
            if isinstance(frame, Hello):
                return frame
            await self.sock.send({"type": "pong"})

    async def _handle(self, text: str) -> None:
        try:
            frame = parse_frame(text, _FRAMES)
        except ProtocolError as exc:
            await self.sock.send(exc.frame())
            return
        if isinstance(frame, Ping):
            await self.sock.send({"type": "pong"})
        else:
            await self.sock.send(ProtocolError("unexpected_frame", "hello was already sent").frame())

    async def _snapshot(self) -> dict[str, Any]:
        async with self.core.pool.acquire() as conn:
            return await views.agent_work(conn, self.core.config, self.session.workspace_id,
                                          self.session.user_id)

    async def _delivered(self, frame: dict[str, Any]) -> None:
        """Tell the router which offers this console was sent (only those can be missed)."""
        if frame["type"] == "snapshot":
            offers = [o["id"] for o in frame["state"]["offers"]]
        elif frame["type"] == "event" and frame["event"].get("kind") == "offer":
            offers = [frame["event"]["interaction_id"]]
        else:
            return
        s = self.session
        await consoles.offers_delivered(self.core, s.workspace_id, s.user_id, offers)

    async def _keepalive(self) -> None:
        s = self.session
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            async with self.core.pool.acquire() as conn:
                still = await find_session(conn, s.workspace_id, s.token)
            if still is None:
                await self.ws.close(code=CLOSE_LOGGED_OUT, message=b"logged out")
                return
            await consoles.console_seen(self.core, s.workspace_id, s.user_id, self.connection)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console", page("console.html"))
    # The opportunity board (the console links to it); its data comes from the API.
    app.router.add_get("/pipeline", page("pipeline.html"))
    app.router.add_get("/console/ws", console_socket)
