"""One websocket following one live feed: the console and the chat widget both use this.

On connect the client says the last event id it saw. If that id is still in its feed it gets
exactly the events after it; otherwise (first visit, or too long away) it gets a snapshot of
the whole state with the feed position the snapshot was taken at, and the events after that.
The position is read before the state, so an event that lands in between is sent twice rather
than lost; events are written so that applying one twice changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from contactcenter import feeds
from contactcenter.actions.users import Session
from contactcenter.errors import InputError
from contactcenter.web.errors import json_error
from contactcenter.web.feed_hub import FeedHub
from contactcenter.web.keys import SOCKETS
from contactcenter.web.session_sockets import SESSION_SOCKETS

# The client treats a socket silent for three of these as dead and reconnects.
HEARTBEAT_SECONDS = 20.0
# Each socket also looks at its feed this often, in case a wake-up was lost.
POLL_SECONDS = 5.0

Snapshot = Callable[[], Awaitable[dict[str, Any]]]
# Told of each frame the feed sent to the client (the console confirms offers with it).
Delivered = Callable[[dict[str, Any]], Awaitable[None]]
# Close code of a socket whose server side failed (RFC 6455's "try again later"): the client
# reconnects and resumes, from a snapshot if its feed was lost.
CLOSE_TRY_AGAIN = 1013

log = logging.getLogger(__name__)


class LiveSocket:
    """Serialises sends from the feed and from the replies to the client's own frames."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()
        self.last_sent = time.monotonic()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.send_text(json.dumps(frame))

    async def close_to_retry(self, why: str) -> None:
        """Close because our side failed; the client reconnects and resumes."""
        with contextlib.suppress(Exception):
            await self.ws.close(code=CLOSE_TRY_AGAIN, message=why.encode()[:120])

    async def send_text(self, text: str) -> None:
        """A frame already serialised (one board sent to many pages is encoded once)."""
        async with self._lock:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionResetError):
                await self.ws.send_str(text)
            self.last_sent = time.monotonic()


async def open_page_socket(
    request: web.Request, kind: str, max_frame_bytes: int,
    who: Callable[[web.Request], Awaitable[Session]],
) -> tuple[web.WebSocketResponse, Session] | web.Response:
    """The socket of a signed-in page (console, supervisor view), or the JSON refusal to send
    instead: not logged in, not allowed (`who` decides), or opened from another site's page."""
    try:
        session = await who(request)
    except InputError as exc:
        return json_error(exc.status, exc.code, exc.message)
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/").lower() != f"{request.scheme}://{request.host}".lower():
        # The session cookie is SameSite=Lax, which already keeps it off cross-site sockets;
        # this is the second lock on the same door.
        return json_error(403, "origin_not_allowed", f"the {kind} socket is for this site only")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=max_frame_bytes)
    await ws.prepare(request)
    request.app[SOCKETS][ws] = kind
    request.app[SESSION_SOCKETS].track(session.token, ws)  # a logout closes it at once
    return ws, session


async def stop_tasks(tasks: list[asyncio.Task[None]], wait_seconds: float = 2.0) -> None:
    """Cancel a socket's helper tasks, waiting for them only briefly: a task cancelled in the
    middle of a Redis command may take the connection's own timeout to let go, and closing
    the socket must not wait on that."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=wait_seconds)


async def guarded(sock: LiveSocket, what: str, work: Awaitable[None]) -> None:
    """Run one of a socket's helpers (its feed, its keep-alive...). If it fails, the socket is
    closed: a socket whose feed died but which still answers pings is open and deaf, and
    neither the page nor the agent can tell; a closed one is reconnected by its client."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("%s failed (%s: %s); closing the socket so that its client reconnects",
                    what, type(exc).__name__, exc)
        await sock.close_to_retry(f"{what} interrupted")


async def follow_feed(
    sock: LiveSocket, hub: FeedHub, redis: aioredis.Redis, feed: str,
    last_event_id: str | None, snapshot: Snapshot, delivered: Delivered | None = None,
) -> None:
    """Deliver `feed` to the socket, from where the client left off, until cancelled; if Redis
    or the snapshot fails, the socket is closed (see `guarded`)."""
    await guarded(sock, "live feed", _follow(sock, hub, redis, feed, last_event_id, snapshot,
                                             delivered))


async def _follow(
    sock: LiveSocket, hub: FeedHub, redis: aioredis.Redis, feed: str,
    last_event_id: str | None, snapshot: Snapshot, delivered: Delivered | None,
) -> None:
    async def send(frame: dict[str, Any]) -> None:
        await sock.send(frame)
        if delivered is not None and not sock.ws.closed:
            await delivered(frame)

    with hub.watch(feed) as wake:
        cursor = await _resume(send, redis, feed, last_event_id, snapshot)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), POLL_SECONDS)
            wake.clear()
            entries = await feeds.since(redis, feed, cursor)
            if entries is None:  # fell behind the feed's retention while connected
                cursor = await _send_snapshot(send, redis, feed, snapshot)
            else:
                cursor = await _send_events(send, entries, cursor)
            if time.monotonic() - sock.last_sent >= HEARTBEAT_SECONDS:
                await sock.send({"type": "heartbeat"})


Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _resume(send: Send, redis: aioredis.Redis, feed: str, last_event_id: str | None,
                  snapshot: Snapshot) -> str:
    entries = None if last_event_id is None else await feeds.since(redis, feed, last_event_id)
    if entries is None:
        return await _send_snapshot(send, redis, feed, snapshot)
    assert last_event_id is not None
    await send({"type": "resumed", "last_event_id": last_event_id})
    return await _send_events(send, entries, last_event_id)


async def _send_snapshot(send: Send, redis: aioredis.Redis, feed: str, snapshot: Snapshot) -> str:
    cursor = await feeds.latest_id(redis, feed)
    await send({"type": "snapshot", "last_event_id": cursor, "state": await snapshot()})
    return cursor


async def _send_events(send: Send, entries: list[tuple[str, dict[str, Any]]], cursor: str) -> str:
    for entry_id, event in entries:
        await send({"type": "event", "id": entry_id, "event": event})
        cursor = entry_id
    return cursor
