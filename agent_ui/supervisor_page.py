"""The supervisor view: the page at /supervisor and its live socket at /supervisor/ws.

The socket sends the whole board ({"type": "board", "board": {...}}) when the page connects and
again whenever it changes (docs/live-protocol.md); the page draws what it is sent. A board is a
few kilobytes per queue and agent, so sending the whole one keeps the page simple and a
reconnect needs no resume: the next board is the truth.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import WSMsgType, web

from contactcenter.errors import InputError
from contactcenter.instruments import SOCKETS_OPEN
from contactcenter.web.auth import require_supervisor
from contactcenter.web.board_hub import Mailbox
from contactcenter.web.errors import json_error
from contactcenter.web.keys import BOARD_HUB, SOCKETS
from contactcenter.web.live_socket import HEARTBEAT_SECONDS, LiveSocket, stop_tasks

STATIC = Path(__file__).parent / "static"
MAX_FRAME_BYTES = 4 * 1024


async def supervisor(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "supervisor.html", headers={"Cache-Control": "no-cache"})


async def supervisor_socket(request: web.Request) -> web.StreamResponse:
    try:
        await require_supervisor(request)
    except InputError as exc:
        return json_error(exc.status, exc.code, exc.message)
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/").lower() != f"{request.scheme}://{request.host}".lower():
        return json_error(403, "origin_not_allowed", "the supervisor socket is for this site only")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    request.app[SOCKETS][ws] = "supervisor"
    sock = LiveSocket(ws)
    with request.app[BOARD_HUB].watch() as box, \
            SOCKETS_OPEN.labels("supervisor").track_inprogress():
        sender = asyncio.create_task(_send_boards(sock, box))
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
    app.router.add_get("/supervisor", supervisor)
    app.router.add_get("/supervisor/ws", supervisor_socket)
