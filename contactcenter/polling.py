"""A background loop that works while there is work and otherwise waits for a poll or a wake-up.

Workers that take their work from PostgreSQL (SMS sender, call bridger, webhook intake) run on
every node; what one node claims (FOR UPDATE SKIP LOCKED) the others skip. A node that has just
stored work for itself wakes its own worker instead of waiting for the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger(__name__)


class PollingWorker:
    poll_seconds = 0.5

    def __init__(self) -> None:
        self._stopping = asyncio.Event()
        self._woken = asyncio.Event()

    async def step(self) -> bool:
        """Do one batch of work; True when there may be more right away."""
        raise NotImplementedError

    def wake(self) -> None:
        self._woken.set()

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()

    async def run(self) -> None:
        """Until stopped. A failure is logged and tried again at the next poll, never fatal."""
        while not self._stopping.is_set():
            self._woken.clear()  # before the step: a wake-up during it is not lost
            busy = False
            try:
                busy = await self.step()
            except Exception:
                log.exception("%s failed; trying again shortly", type(self).__name__)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), self.poll_seconds)


class ClaimingWorker(PollingWorker):
    """Claims items (rows this node alone now works on) and handles each in turn."""

    async def claim(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def handle(self, item: dict[str, Any]) -> None:
        raise NotImplementedError

    async def step(self) -> bool:
        items = await self.claim()
        for item in items:
            await self.handle(item)
        return bool(items)


@contextlib.asynccontextmanager
async def running(worker: PollingWorker) -> AsyncIterator[None]:
    """The worker runs in the background for the block (a node's lifetime); then it is asked to
    stop and given 5 s to finish what it holds."""
    task = asyncio.create_task(worker.run(), name=type(worker).__name__)
    try:
        yield
    finally:
        worker.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, timeout=5)
