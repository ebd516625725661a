"""Events: written to the event log inside the transaction that caused them, and sent to the
workspace's Redis Stream only after that transaction commits, so no listener ever hears of a
change that was rolled back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from contactcenter import feeds
from contactcenter.feeds import Notice

log = logging.getLogger(__name__)

# Streams are for delivery, not history (that is the event log in PostgreSQL): keep them short.
STREAM_MAXLEN = 100_000


def stream_key(workspace_id: int) -> str:
    return f"cc:ws:{workspace_id}:events"


@dataclass(frozen=True)
class Event:
    kind: str
    workspace_id: int
    data: dict[str, Any] = field(default_factory=dict)
    interaction_id: int | None = None
    customer_id: int | None = None
    actor_user_id: int | None = None


@dataclass(frozen=True)
class LoggedEvent:
    id: int
    event: Event


async def record(conn: asyncpg.Connection, event: Event) -> LoggedEvent:
    """Append to the event log; call inside the mutating transaction."""
    event_id: int = await conn.fetchval(
        """INSERT INTO event_log (workspace_id, kind, actor_user_id, interaction_id, customer_id, data)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        event.workspace_id, event.kind, event.actor_user_id, event.interaction_id,
        event.customer_id, event.data,
    )
    return LoggedEvent(event_id, event)


async def publish(redis: aioredis.Redis, events: list[LoggedEvent],
                  notices: list[Notice] | None = None) -> None:
    """Send committed events to their workspace streams, and `notices` to their live feeds in
    the same round trip.

    A Redis outage must not fail an intake that PostgreSQL already made durable: the event stays
    in the event log, from which the routing leader rebuilds its state, and clients that miss a
    live notice resync from PostgreSQL.
    """
    if not events and not notices:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for logged in events:
                e = logged.event
                fields: dict[FieldT, EncodableT] = {
                    "id": logged.id,
                    "kind": e.kind,
                    "interaction_id": e.interaction_id or "",
                    "customer_id": e.customer_id or "",
                    "actor_user_id": e.actor_user_id or "",
                    "data": json.dumps(e.data),
                }
                pipe.xadd(stream_key(e.workspace_id), fields, maxlen=STREAM_MAXLEN, approximate=True)
            feeds.add_to(pipe, notices or [])
            await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("could not publish %d events to Redis (kept in the event log): %s",
                    len(events), exc)
