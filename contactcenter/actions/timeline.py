"""The interaction's timeline: what happened to it, beside what was said (ringing, answered,
connected, transferred, ended, with durations), live in the console."""

from __future__ import annotations

from contactcenter import feeds, views
from contactcenter.core import Core
from contactcenter.notices import InteractionInfo, message_notices


async def add_event(core: Core, workspace_id: int, interaction_id: int, text: str) -> None:
    """A line in the interaction's timeline ("Call answered by Ana"), live in the console."""
    async with core.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
                   delivery_status)
               SELECT $1, $2, i.channel, 'event', $3, 'sent' FROM interactions i WHERE i.id = $2
               RETURNING id, channel, (SELECT customer_id FROM interactions WHERE id = $2) AS customer,
                         (SELECT agent_id FROM interactions WHERE id = $2) AS agent""",
            workspace_id, interaction_id, text)
        message = await views.message(conn, row["id"])
    await feeds.push(core.redis, message_notices(
        workspace_id, message, InteractionInfo(row["channel"], row["customer"], row["agent"], None)))
