"""The routing leader's decisions, made durable: each one changes the interaction it concerns
and is kept with its reason. Written only under the leader's fencing token."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from contactcenter import events
from contactcenter.events import Event
from routing.model import (
    AgentStateChanged,
    Assigned,
    Decision,
    Ended,
    Escalated,
    Offered,
    OfferEnded,
    Requeued,
    WrapupStarted,
)


class FencedOut(Exception):
    """A newer routing leader exists; this one must stop writing and step down."""


async def take_lease(conn: asyncpg.Connection, workspace_id: int, leader: str) -> tuple[int, str]:
    """A new leader's fencing token and the stream position to resume from.

    The token is PostgreSQL's, one more than the last one issued for the workspace, taken under
    the row's lock: it is never issued twice, and it does not depend on anything Redis keeps
    (a flushed Redis used to restart its counter below PostgreSQL's, and each new leader was
    fenced out in turn until the counter climbed back, one lease at a time)."""
    row = await conn.fetchrow(
        """INSERT INTO routing_leases AS l (workspace_id, fence, leader) VALUES ($1, 1, $2)
           ON CONFLICT (workspace_id) DO UPDATE SET fence = l.fence + 1,
               leader = excluded.leader, updated_at = now()
           RETURNING fence, stream_position""", workspace_id, leader)
    return int(row["fence"]), str(row["stream_position"])


async def record_decisions(
    conn: asyncpg.Connection, workspace_id: int, fence: int, decisions: list[Decision],
    stream_position: str | None = None,
) -> None:
    """Apply decisions to the interactions and keep them, with the stream position they
    account for, in one fenced transaction: after a crash the next leader replays exactly
    the events whose effects were not written."""
    async with conn.transaction():
        current = await conn.fetchval(
            "SELECT fence FROM routing_leases WHERE workspace_id = $1 FOR UPDATE", workspace_id)
        if current != fence:
            raise FencedOut(f"token {fence} is no longer the leader's ({current})")
        for d in decisions:
            await _record(conn, workspace_id, fence, d)
        if stream_position is not None:
            await conn.execute(
                "UPDATE routing_leases SET stream_position = $2 WHERE workspace_id = $1",
                workspace_id, stream_position)


async def _record(conn: asyncpg.Connection, ws: int, fence: int, d: Decision) -> None:
    iid = int(d.interaction_id) if not isinstance(d, AgentStateChanged) else None
    agent = int(d.agent_id) if hasattr(d, "agent_id") else None
    outcome, reason, deadline, detail = "", getattr(d, "reason", ""), None, {}
    if isinstance(d, Offered):
        deadline = datetime.fromtimestamp(d.deadline, UTC)
        why = d.explanation
        if why is not None:
            reason = why.text()
            detail = {"eligible": list(why.eligible), "eligible_count": why.eligible_count,
                      "not_eligible": why.not_eligible, "more": why.more, "rule": why.rule}
        await conn.execute(
            """UPDATE interactions SET state = 'offered', agent_id = $2,
                   offered_at = coalesce(offered_at, now()) WHERE id = $1""", iid, agent)
    elif isinstance(d, OfferEnded):
        outcome = d.outcome
        await conn.execute(
            """UPDATE interactions SET state = 'queued', agent_id = NULL
               WHERE id = $1 AND state = 'offered' AND agent_id = $2""", iid, agent)
    elif isinstance(d, Assigned):
        await conn.execute(
            """UPDATE interactions SET state = 'assigned', agent_id = $2, answered_at = now(),
                   first_answered_at = coalesce(first_answered_at, now())
               WHERE id = $1""", iid, agent)
    elif isinstance(d, Requeued | Escalated):
        await conn.execute(
            """UPDATE interactions SET state = 'queued', agent_id = NULL,
                   queue_id = (SELECT id FROM queues WHERE workspace_id = $2 AND name = $3)
               WHERE id = $1 AND state NOT IN ('closed', 'abandoned')""", iid, ws, d.queue)
        detail = {"queue": d.queue}
    elif isinstance(d, WrapupStarted):
        deadline = datetime.fromtimestamp(d.deadline, UTC)
        await conn.execute(
            "UPDATE interactions SET state = 'wrapup', wrapup_at = now() WHERE id = $1", iid)
    elif isinstance(d, Ended):
        outcome = d.outcome
        detail = {"behaviour": d.behaviour} if d.behaviour else {}
        await conn.execute(
            """UPDATE interactions SET state = $2, ended_at = now(), outcome = $3
               WHERE id = $1""",
            iid, "abandoned" if d.outcome == "abandoned" else "closed", d.outcome)
    elif isinstance(d, AgentStateChanged):
        agent = int(d.agent_id)
        outcome = d.presence
        await conn.execute(
            """INSERT INTO agent_presence (user_id, workspace_id, presence, reason)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id) DO UPDATE SET presence = excluded.presence,
                   reason = excluded.reason, updated_at = now()""",
            agent, ws, d.presence, d.reason)
    kind = type(d).__name__
    await conn.execute(
        """INSERT INTO routing_decisions (workspace_id, interaction_id, agent_id, kind, outcome,
               reason, detail, deadline, fence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        ws, iid, agent, kind, outcome, reason, detail, deadline, fence)
    await events.record(conn, Event(f"routing.{kind}", ws, {"outcome": outcome, "reason": reason},
                                    interaction_id=iid, actor_user_id=agent))
