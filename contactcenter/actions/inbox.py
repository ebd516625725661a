"""The webhook inbox: provider payloads made durable first, worked on afterwards.

`keep` is the webhook handler's one write. `claim` hands a worker the oldest kept payloads of a
source, locked for it alone (other nodes skip them), and on leaving removes the ones it took in
and records why the others failed; after `MAX_ATTEMPTS` a payload is moved to the unreadable
payloads a supervisor reviews, never dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contactcenter import events
from contactcenter.actions.intake import do_keep_unreadable
from contactcenter.core import Core
from contactcenter.events import LoggedEvent

MAX_ATTEMPTS = 5


async def keep(core: Core, workspace_id: int, source: str, payload: dict[str, Any],
               received_at: datetime | None = None, spool_id: str | None = None) -> None:
    """Keep a webhook for its intake. From the node's spool (it arrived while PostgreSQL was
    away) it keeps its arrival time, and its spool id makes a second hand-over a no-op."""
    await core.pool.execute(
        """INSERT INTO webhook_inbox (workspace_id, source, payload, received_at, spool_id)
           VALUES ($1, $2, $3, coalesce($4, now()), $5) ON CONFLICT (spool_id) DO NOTHING""",
        workspace_id, source, payload, received_at, spool_id)


@dataclass(frozen=True)
class Kept:
    id: int
    payload: dict[str, Any]
    received_at: datetime


@dataclass
class Batch:
    items: list[Kept]
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    async def attempt(self, item: Kept, work: Awaitable[None]) -> None:
        """Run one item's work; a failure is recorded for that item and the batch goes on."""
        try:
            await work
        except Exception as exc:
            self.failed[item.id] = f"{type(exc).__name__}: {exc}"[:500]
        else:
            self.done.append(item.id)


@asynccontextmanager
async def claim(core: Core, workspace_id: int, source: str, limit: int) -> AsyncIterator[Batch]:
    async with core.pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT id, payload, received_at FROM webhook_inbox
               WHERE workspace_id = $1 AND source = $2 ORDER BY id LIMIT $3
               FOR UPDATE SKIP LOCKED""", workspace_id, source, limit)
        batch = Batch([Kept(r["id"], r["payload"], r["received_at"]) for r in rows])
        yield batch
        if batch.done:
            await conn.execute("DELETE FROM webhook_inbox WHERE id = ANY($1::bigint[])", batch.done)
        logged: list[LoggedEvent] = []
        for item_id, error in batch.failed.items():
            given_up = await conn.fetchrow(
                """UPDATE webhook_inbox SET attempts = attempts + 1, last_error = $2
                   WHERE id = $1 RETURNING attempts >= $3 AS given_up, payload""",
                item_id, error, MAX_ATTEMPTS)
            if given_up["given_up"]:
                _, flagged = await do_keep_unreadable(conn, workspace_id, source, error,
                                                      given_up["payload"])
                await conn.execute("DELETE FROM webhook_inbox WHERE id = $1", item_id)
                logged.append(flagged)
    await events.publish(core.redis, logged)
