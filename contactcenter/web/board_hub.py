"""The supervisors' live board of this node: computed once per change, sent to every open
supervisor page.

What can change the board reaches Redis one of three ways: an intake or agent request on the
workspace's event stream, a routing decision on the routing channel, an SLA alert on the
supervisors' feed. The hub listens to all three (only while someone watches), waits a moment so
that a burst of changes costs one computation, reads the board from PostgreSQL and sends it if
it differs from the last one. A slow page only ever gets the newest board, never a backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from contactcenter import feeds
from contactcenter.core import Core
from contactcenter.events import stream_key
from contactcenter.feeds import supervisors_feed
from contactcenter.stats import live
from routing.service import routing_channel

log = logging.getLogger(__name__)

# Changes closer together than this are shown together (the issue asks for under a second).
SETTLE_SECONDS = 0.15
# With nothing happening the board is still recomputed this often: waits grow, the day turns,
# the arrival window slides.
REFRESH_SECONDS = 10.0
STREAM_BLOCK_MS = 2000


class Mailbox:
    """Holds the newest board for one page; older unsent ones are simply replaced."""

    def __init__(self) -> None:
        self.board: str | None = None
        self.ready = asyncio.Event()

    def put(self, board: str) -> None:
        self.board = board
        self.ready.set()

    async def take(self) -> str:
        await self.ready.wait()
        self.ready.clear()
        assert self.board is not None
        return self.board


class BoardHub:
    def __init__(self, core: Core, workspace_id: int,
                 now: Callable[[], datetime] | None = None) -> None:
        self.core = core
        self.ws = workspace_id
        self._now = now
        self._watchers: set[Mailbox] = set()
        self._changed = asyncio.Event()
        self._watched = asyncio.Event()
        self._last: str | None = None

    @contextlib.contextmanager
    def watch(self) -> Iterator[Mailbox]:
        """A mailbox that gets the current board at once and every new one after."""
        box = Mailbox()
        self._watchers.add(box)
        self._watched.set()
        self._changed.set()  # a new page needs a board now, not at the next change
        try:
            yield box
        finally:
            self._watchers.discard(box)
            if not self._watchers:
                self._watched.clear()
                self._last = None

    def changed(self) -> None:
        """Something this node did changes the board (e.g. a supervisor's action)."""
        self._changed.set()

    async def run(self) -> None:
        """Until cancelled; a bug in one of the loops restarts all three, not the node."""
        while True:
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._compute())
                    group.create_task(self._follow_stream())
                    group.create_task(self._follow_channels())
            except Exception:
                log.exception("the supervisors' board stopped; restarting it")
                self._changed.set()
                await asyncio.sleep(1)

    async def _compute(self) -> None:
        while True:
            await self._watched.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), REFRESH_SECONDS)
            await asyncio.sleep(SETTLE_SECONDS)
            self._changed.clear()
            if not self._watchers:
                continue
            try:
                board = await self.read()
            except Exception:
                log.exception("the supervisors' board could not be computed")
                await asyncio.sleep(1)
                continue
            text = json.dumps(board)
            changed, self._last = text != self._last, text
            for box in self._watchers:
                if changed or box.board is None:  # a page that just opened needs one anyway
                    box.put(text)

    async def read(self) -> dict[str, object]:
        async with self.core.pool.acquire() as conn:
            now = self._now() if self._now else await conn.fetchval("SELECT now()")
            return await live.board(conn, self.ws, self.core.config, now)

    async def _follow_stream(self) -> None:
        last: str | None = None
        while True:
            await self._watched.wait()
            try:
                if last is None:
                    last = await feeds.latest_id(self.core.redis, stream_key(self.ws))
                batches: Any = await self.core.redis.xread({stream_key(self.ws): last}, count=500,
                                                      block=STREAM_BLOCK_MS)
            except (RedisError, OSError) as exc:
                log.warning("board: event stream unreachable (%s); retrying", exc)
                self._changed.set()
                await asyncio.sleep(1)
                continue
            for _, entries in batches or []:
                last = entries[-1][0].decode()
                self._changed.set()

    async def _follow_channels(self) -> None:
        while True:
            await self._watched.wait()
            try:
                async for _ in self._messages():
                    self._changed.set()
            except (RedisError, OSError) as exc:
                log.warning("board: routing channel unreachable (%s); retrying", exc)
                self._changed.set()
                await asyncio.sleep(1)

    async def _messages(self) -> AsyncIterator[object]:
        pubsub = self.core.redis.pubsub()
        try:
            await pubsub.subscribe(routing_channel(self.ws), supervisors_feed(self.ws))
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message is not None:
                    yield message
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
