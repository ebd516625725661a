"""Webhooks kept while PostgreSQL is unreachable or stalled.

Twilio waits at most 15 s for an answer and does not retry a 5xx: a webhook answered with an
error is a text or a call status lost. So each webhook is applied with a deadline
(DB_WAIT_SECONDS); when PostgreSQL refuses, breaks or does not answer in time, the signed form is
appended to the node's spool (contactcenter.spool: a file, fsync'd) and Twilio gets its usual
answer. The node's drainer applies spooled webhooks in arrival order once PostgreSQL answers
again, and while anything is spooled new webhooks queue behind it, so order is kept.

Exactly once: applying a webhook is idempotent by its provider id (an SMS's MessageSid, a call's
status, a recording's sid), and an SMS taken in from the spool carries its spool id, unique in
the webhook inbox. A webhook applied in full but answered late (PostgreSQL stalled after the
commit) and also spooled is applied twice, harmlessly.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from aiohttp import web

from contactcenter.actions.intake import keep_unreadable
from contactcenter.polling import PollingWorker, running
from contactcenter.spool import Spool
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID

log = logging.getLogger(__name__)

# Well inside Twilio's 15 s, with room for the spool's write.
DB_WAIT_SECONDS = 5.0
# What "PostgreSQL is not there" looks like: refused or dropped connections, a server shutting
# down or starting, no answer in time.
DB_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError)

T = TypeVar("T")
_stragglers: set[asyncio.Future[Any]] = set()


async def in_time(work: Awaitable[T]) -> T:
    """The work's result, or TimeoutError after DB_WAIT_SECONDS. Past the deadline the work is
    left to finish (or fail) on its own rather than cancelled: cancelling a query makes asyncpg
    talk to the server to cancel it, and against a hung server that waits as long as the query
    would have. What it may still write is idempotent (see above)."""
    task = asyncio.ensure_future(work)
    _stragglers.add(task)
    task.add_done_callback(_forget)
    return await asyncio.wait_for(asyncio.shield(task), DB_WAIT_SECONDS)


def _forget(task: asyncio.Future[Any]) -> None:
    _stragglers.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("work left past its deadline failed: %s", task.exception())


# Apply one webhook: the application, the signed form, when it arrived, and its spool id (None
# when applied as it arrives).
Applier = Callable[[web.Application, dict[str, str], datetime, str | None], Awaitable[None]]


class WebhookSpool(PollingWorker):
    poll_seconds = 1.0

    def __init__(self, app: web.Application, appliers: dict[str, Applier]) -> None:
        super().__init__()
        self.app = app
        self.appliers = appliers
        self.spool = Spool(app[SETTINGS].env.data_dir / "spool" / "webhooks.jsonl")
        self.waiting = len(self.spool.entries())

    async def keep(self, source: str, form: dict[str, str]) -> None:
        """Apply the webhook now, or spool it when PostgreSQL is not there (or when earlier
        ones are still spooled: they go first)."""
        received = datetime.now(UTC)
        if self.waiting == 0:
            try:
                await in_time(self.appliers[source](self.app, form, received, None))
                return
            except DB_UNAVAILABLE as exc:
                log.warning("PostgreSQL unavailable (%s: %s): %s webhook spooled to %s",
                            type(exc).__name__, exc, source, self.spool.path)
        entry = {"id": uuid.uuid4().hex, "source": source, "form": form,
                 "received_at": received.isoformat()}
        await asyncio.to_thread(self.spool.append, entry)
        self.waiting += 1
        self.wake()

    async def step(self) -> bool:
        """Hand over what is spooled, oldest first, until PostgreSQL fails again."""
        if self.waiting == 0:
            return False
        entries = await asyncio.to_thread(self.spool.entries)
        done: set[str] = set()
        try:
            for entry in entries[:200]:
                await self._apply(entry)
                done.add(entry["id"])
        except DB_UNAVAILABLE as exc:
            log.info("spooled webhooks wait for PostgreSQL (%s: %s)", type(exc).__name__, exc)
        if done:
            await asyncio.to_thread(self.spool.remove, done)
            log.info("%d spooled webhooks handed over", len(done))
        self.waiting = len(entries) - len(done)
        return bool(done) and self.waiting > 0

    async def _apply(self, entry: dict[str, Any]) -> None:
        """One spooled webhook. One that fails for another reason than PostgreSQL's absence is
        kept as an unreadable payload for a person, so it cannot hold up the ones behind it."""
        try:
            applier = self.appliers[entry["source"]]
            await in_time(applier(self.app, entry["form"],
                                  datetime.fromisoformat(entry["received_at"]), entry["id"]))
        except DB_UNAVAILABLE:
            raise
        except Exception as exc:
            log.exception("spooled %s webhook %s failed; kept as unreadable",
                          entry.get("source"), entry.get("id"))
            await keep_unreadable(self.app[CORE], self.app[WORKSPACE_ID],
                                  str(entry.get("source")), f"spooled webhook failed: {exc}",
                                  entry)


WEBHOOK_SPOOL = web.AppKey("webhook_spool", WebhookSpool)


def spool_context(
    appliers: dict[str, Applier],
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        spool = WebhookSpool(app, appliers)
        app[WEBHOOK_SPOOL] = spool
        async with running(spool):
            yield
    return lifecycle
