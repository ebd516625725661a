"""Wakes the sockets of this node when their feed grows.

One Redis pub/sub connection per node listens to every feed's wake-up call, instead of one
blocking read per socket: a thousand open consoles then cost one Redis connection, not a
thousand. A wake-up lost while Redis reconnects costs only latency, because every socket also
looks at its feed every few seconds on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from contactcenter.feeds import FEED_PATTERN
from contactcenter.web.session_sockets import SESSIONS_ENDED

log = logging.getLogger(__name__)


class FeedHub:
    def __init__(self, redis: aioredis.Redis,
                 on_session_ended: Callable[[str], None] = lambda key: None) -> None:
        self.redis = redis
        self.on_session_ended = on_session_ended
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    @contextlib.contextmanager
    def watch(self, feed: str) -> Iterator[asyncio.Event]:
        """An event set whenever `feed` may have grown; clear it before reading the feed."""
        wake = asyncio.Event()
        self._waiters[feed].add(wake)
        try:
            yield wake
        finally:
            waiters = self._waiters[feed]
            waiters.discard(wake)
            if not waiters:
                del self._waiters[feed]

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after Redis failures."""
        while True:
            try:
                async for feed, data in self._messages():
                    if feed == SESSIONS_ENDED:
                        self.on_session_ended(data)
                    for wake in self._waiters.get(feed, ()):
                        wake.set()
            except (RedisError, OSError) as exc:
                log.warning("live feed wake-ups interrupted (%s); reconnecting", exc)
                self._wake_all()  # something may have been missed: let every socket look
                await asyncio.sleep(1)

    async def _messages(self) -> AsyncIterator[tuple[str, str]]:
        pubsub = self.redis.pubsub()
        try:
            await pubsub.psubscribe(FEED_PATTERN)
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message is not None:
                    data = message["data"]
                    yield message["channel"].decode(), (
                        data.decode() if isinstance(data, bytes) else str(data))
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for wake in waiters:
                wake.set()
