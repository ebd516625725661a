"""What agents (and channels) tell the router: presence, answers to offers, work finished.

These record the request and hand it to the routing leader through the workspace's stream;
the leader decides (an accept that arrives after the offer timed out changes nothing) and its
decision is what changes the interaction. So there is one writer of routing state.
"""

from __future__ import annotations

from typing import Any, Literal

import asyncpg

from contactcenter import events, feeds
from contactcenter.actions.timeline import add_event
from contactcenter.core import Core
from contactcenter.errors import Conflict, InputError, NotFound
from contactcenter.events import Event
from contactcenter.feeds import Notice, customer_feed, user_feed

PRESENCES = ("available", "away", "offline")
WorkRequest = Literal["offer.accept", "offer.reject", "interaction.completed",
                      "interaction.wrapup_done"]
MAX_REASON_CHARS = 200


async def _interaction(conn: asyncpg.Connection, workspace_id: int, interaction_id: int) -> Any:
    """The interaction's state and agent, locked for this transaction; 404 if not ours."""
    row = await conn.fetchrow(
        """SELECT state, agent_id, channel, customer_id FROM interactions
           WHERE id = $1 AND workspace_id = $2
           FOR UPDATE""", interaction_id, workspace_id)
    if row is None:
        raise NotFound("no_such_interaction", f"no interaction {interaction_id}")
    return row


async def set_presence(core: Core, workspace_id: int, user_id: int, presence: str,
                       reason: str = "") -> None:
    if presence not in PRESENCES:
        raise InputError("bad_presence", f"presence must be one of {', '.join(PRESENCES)}")
    reason = reason.strip()[:MAX_REASON_CHARS]
    async with core.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO agent_presence (user_id, workspace_id, presence, reason)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id) DO UPDATE SET presence = excluded.presence,
                   reason = excluded.reason, updated_at = now()""",
            user_id, workspace_id, presence, reason)
        logged = await events.record(conn, Event(
            "agent.presence", workspace_id, {"presence": presence, "reason": reason},
            actor_user_id=user_id))
    await events.publish(core.redis, [logged])
    # Every open console of this agent shows the same presence.
    await feeds.push(core.redis, [Notice(user_feed(workspace_id, user_id), {
        "kind": "presence", "presence": presence, "reason": reason})])


async def request(core: Core, workspace_id: int, user_id: int, interaction_id: int,
                  kind: WorkRequest) -> None:
    """An agent's answer to an offer, or the end of their work on an interaction."""
    async with core.pool.acquire() as conn, conn.transaction():
        row = await _interaction(conn, workspace_id, interaction_id)
        needed = {"offer.accept": ("offered",), "offer.reject": ("offered",),
                  "interaction.completed": ("assigned",),
                  "interaction.wrapup_done": ("wrapup",)}[kind]
        if row["state"] not in needed or row["agent_id"] != user_id:
            raise Conflict("not_yours", f"interaction {interaction_id} is not {needed[0]} to you")
        logged = await events.record(conn, Event(
            kind, workspace_id, interaction_id=interaction_id, actor_user_id=user_id))
    await events.publish(core.redis, [logged])


async def customer_left(core: Core, workspace_id: int, interaction_id: int) -> None:
    """The customer hung up or closed the chat (told by a channel adapter)."""
    async with core.pool.acquire() as conn, conn.transaction():
        row = await _interaction(conn, workspace_id, interaction_id)
        logged = await events.record(conn, Event(
            "customer.left", workspace_id, interaction_id=interaction_id))
    await events.publish(core.redis, [logged])
    told = [Notice(customer_feed(workspace_id, row["customer_id"]), {
        "kind": "closed", "interaction_id": interaction_id})] if row["channel"] == "chat" else []
    if row["agent_id"] is not None and row["state"] in ("assigned", "wrapup"):
        told.append(Notice(user_feed(workspace_id, row["agent_id"]), {
            "kind": "customer_left", "interaction_id": interaction_id}))
    await feeds.push(core.redis, told)


async def transfer(core: Core, workspace_id: int, user_id: int, interaction_id: int, *,
                   to_queue: str | None, to_agent: int | None, priority_bump: int = 0) -> None:
    """Hand an interaction to another queue (its arrival time kept) or a named agent."""
    if (to_queue is None) == (to_agent is None):
        raise InputError("bad_transfer", "give exactly one of queue or agent")
    if not -100 <= priority_bump <= 100:
        raise InputError("bad_priority", "priority_bump must be between -100 and 100")
    async with core.pool.acquire() as conn, conn.transaction():
        row = await _interaction(conn, workspace_id, interaction_id)
        if row["state"] not in ("queued", "offered", "assigned"):
            raise Conflict("not_transferable", f"interaction {interaction_id} is {row['state']}")
        if to_queue is not None and not await conn.fetchval(
                "SELECT 1 FROM queues WHERE workspace_id = $1 AND name = $2 AND active",
                workspace_id, to_queue):
            raise NotFound("no_such_queue", f"no active queue named {to_queue!r}")
        if to_agent is not None and not await conn.fetchval(
                """SELECT 1 FROM users WHERE workspace_id = $1 AND id = $2 AND role = 'agent'
                   AND disabled_at IS NULL""", workspace_id, to_agent):
            raise NotFound("no_such_agent", f"no agent {to_agent}")
        # A connected call: the caller waits on hold in a room of their own and the agent's
        # leg is dropped (by the call bridger); whoever accepts next is dialled into that room.
        on_hold = row["channel"] == "voice" and await conn.fetchval(
            """UPDATE calls SET hold_requested_at = now(), bridged_at = NULL,
                   transfers = transfers + 1
               WHERE interaction_id = $1 AND leg = 'customer' AND ended_at IS NULL
                 AND conference IS NOT NULL RETURNING 1""", interaction_id)
        logged = await events.record(conn, Event(
            "interaction.transfer", workspace_id,
            {"queue": to_queue, "agent": to_agent, "priority_bump": priority_bump},
            interaction_id=interaction_id, actor_user_id=user_id))
    await events.publish(core.redis, [logged])
    if row["channel"] == "voice":
        target = f"queue {to_queue}" if to_queue is not None else "another agent"
        held = "; the caller is on hold" if on_hold else ""
        await add_event(core, workspace_id, interaction_id, f"Transferred to {target}{held}")
    if row["agent_id"] is not None:
        # The agent who had it (every open console of theirs) lets it go now.
        await feeds.push(core.redis, [Notice(user_feed(workspace_id, row["agent_id"]), {
            "kind": "transferred", "interaction_id": interaction_id})])
