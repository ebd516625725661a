"""The open sockets of each login session, so that ending the session closes them at once.

A logout used to leave the session's console and supervisor sockets open until their next
keep-alive check (up to 30 s), still receiving customers' messages. Now the node that ends a
session closes its own sockets of it and tells every other node through Redis (on a channel
under the feed pattern that each node's FeedHub already listens to).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SESSIONS_ENDED = "cc:feed:-sessions-ended"
CLOSE_LOGGED_OUT = 4401  # the pages show the sign-in card on this code


def session_key(token: str) -> str:
    """What nodes tell each other: never the session's token itself."""
    return hashlib.sha256(b"socket:" + token.encode()).hexdigest()


class SessionSockets:
    def __init__(self) -> None:
        self._by_session: dict[str, weakref.WeakSet[web.WebSocketResponse]] = {}
        self._closing: set[asyncio.Task[bool]] = set()

    def track(self, token: str, ws: web.WebSocketResponse) -> None:
        key = session_key(token)
        self._by_session = {k: s for k, s in self._by_session.items() if len(s)}  # closed ones
        self._by_session.setdefault(key, weakref.WeakSet()).add(ws)

    def close(self, key: str) -> None:
        """Close this node's sockets of the session (`session_key`)."""
        for ws in list(self._by_session.pop(key, ())):
            if not ws.closed:
                task = asyncio.create_task(ws.close(code=CLOSE_LOGGED_OUT, message=b"logged out"))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)


async def end_everywhere(sockets: SessionSockets, redis: aioredis.Redis, token: str) -> None:
    """The session ended: close its sockets here, and on every other node."""
    key = session_key(token)
    sockets.close(key)
    try:
        await redis.publish(SESSIONS_ENDED, key)
    except (RedisError, OSError) as exc:  # other nodes' keep-alives close theirs within 30 s
        log.warning("could not tell other nodes that a session ended: %s", exc)


SESSION_SOCKETS = web.AppKey("session_sockets", SessionSockets)
