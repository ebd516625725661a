"""Live feeds: what each console and chat widget must hear, kept long enough to resume.

A feed is a Redis Stream per audience (one agent, one chat customer). Entry ids only grow, so a
client that reconnects says the last id it saw and gets exactly what it missed. Every socket of
the same audience reads the same feed with its own cursor, so two tabs of one agent, or a
reconnect that lands on another node, see the same events in the same order.

Feeds are for delivery, not history: PostgreSQL holds the conversations. A client whose last id
is no longer in its feed (trimmed, expired, or Redis was flushed) is told to resync from a
snapshot instead of being handed a stream with a hole in it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

FEED_MAXLEN = 2000
FEED_TTL_SECONDS = 7 * 24 * 3600
FEED_PATTERN = "cc:feed:*"
START = "0-0"


def user_feed(workspace_id: int, user_id: int | str) -> str:
    return f"cc:feed:{workspace_id}:user:{user_id}"


def customer_feed(workspace_id: int, customer_id: int | str) -> str:
    return f"cc:feed:{workspace_id}:customer:{customer_id}"


def supervisors_feed(workspace_id: int) -> str:
    """Alerts every supervisor's view hears (SLA warnings and breaches)."""
    return f"ws:{workspace_id}:supervisors"


@dataclass(frozen=True)
class Notice:
    """One event for one feed. `event` is JSON-able and carries its own "kind"."""

    feed: str
    event: dict[str, Any]


async def push(redis: aioredis.Redis, notices: list[Notice]) -> None:
    """Append to the feeds and wake their readers on every node.

    Called after the commit. A Redis outage does not fail the action that PostgreSQL already
    made durable: the clients miss the live event and resync from PostgreSQL when they return.
    """
    if not notices:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            add_to(pipe, notices)
            await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("could not push %d live events (clients will resync): %s", len(notices), exc)


def add_to(pipe: Pipeline, notices: list[Notice]) -> None:
    """Queue the notices' commands on a pipeline another write shares (one round trip)."""
    for n in notices:
        pipe.xadd(n.feed, {"e": json.dumps(n.event)}, maxlen=FEED_MAXLEN, approximate=True)
        pipe.expire(n.feed, FEED_TTL_SECONDS)
        pipe.publish(n.feed, "1")


async def latest_id(redis: aioredis.Redis, feed: str) -> str:
    """The cursor of a client that has seen everything up to now."""
    last: Any = await redis.xrevrange(feed, count=1)
    return str(last[0][0].decode()) if last else START


async def since(
    redis: aioredis.Redis, feed: str, cursor: str, limit: int = 500
) -> list[tuple[str, dict[str, Any]]] | None:
    """The entries after `cursor`, oldest first; None when the cursor is too old to resume from.

    The cursor must still be in the feed (or be the start of a feed that was never trimmed):
    otherwise something between it and the oldest kept entry may be gone.
    """
    if cursor != START:
        present: Any = await redis.xrange(feed, min=cursor, max=cursor, count=1)
        if not present:
            return None
    elif await redis.xlen(feed) >= FEED_MAXLEN:
        return None
    entries: Any = await redis.xrange(feed, min=f"({cursor}" if cursor != START else "-",
                                      max="+", count=limit)
    return [(entry_id.decode(), json.loads(fields[b"e"])) for entry_id, fields in entries]
