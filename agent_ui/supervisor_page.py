"""The supervisor view: the page at /supervisor and its live socket at /supervisor/ws.

The socket sends the whole board ({"type": "board", "board": {...}}) when the page connects and
again whenever it changes (docs/live-protocol.md); the page draws what it is sent. A board is a
few kilobytes per queue and agent, so sending the whole one keeps the page simple and a
reconnect needs no resume: the next board is the truth.
"""

from __future__ import annotations

import asyncio

from aiohttp import WSMsgType, web

from agent_ui import page
from contactcenter.instruments import SOCKETS_OPEN
from contactcenter.web.auth import require_supervisor
from contactcenter.web.board_hub import Mailbox
from contactcenter.web.keys import BOARD_HUB
from contactcenter.web.live_socket import (
    HEARTBEAT_SECONDS,
    LiveSocket,
    guarded,
    open_page_socket,
    stop_tasks,
)

MAX_FRAME_BYTES = 4 * 1024


async def supervisor_socket(request: web.Request) -> web.StreamResponse:
    opened = await open_page_socket(request, "supervisor", MAX_FRAME_BYTES, require_supervisor)
    if isinstance(opened, web.Response):
        return opened
    ws, _ = opened
    sock = LiveSocket(ws)
    with request.app[BOARD_HUB].watch() as box, \
            SOCKETS_OPEN.labels("supervisor").track_inprogress():
        sender = asyncio.create_task(guarded(sock, "board feed", _send_boards(sock, box)))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:  # the page's pings: any frame proves it is there
                    await sock.send({"type": "pong"})
        finally:
            await asyncio.shield(stop_tasks([sender]))
    return ws


async def _send_boards(sock: LiveSocket, box: Mailbox) -> None:
    while True:
        try:
            board = await asyncio.wait_for(box.take(), HEARTBEAT_SECONDS)
        except TimeoutError:
            await sock.send({"type": "heartbeat"})
            continue
        await sock.send_text('{"type": "board", "board": ' + board + "}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/supervisor", page("supervisor.html"))
    app.router.add_get("/supervisor/ws", supervisor_socket)
