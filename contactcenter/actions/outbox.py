"""Replies waiting to go out through a channel's sender (SMS, email): what every sender does
when its provider refuses or cannot be reached, and how the agent hears of it."""

from __future__ import annotations

from typing import Any

from contactcenter import feeds
from contactcenter.core import Core
from contactcenter.feeds import Notice, user_feed

MAX_SEND_ATTEMPTS = 6


async def not_sent(core: Core, workspace_id: int, message: dict[str, Any], error: str,
                   retry_in: float | None) -> None:
    """The provider refused (or could not be reached). With `retry_in`, try again after it, up
    to MAX_SEND_ATTEMPTS; otherwise (or after the last attempt) the message has failed."""
    failed = retry_in is None or message["send_attempts"] >= MAX_SEND_ATTEMPTS
    async with core.pool.acquire() as conn:
        await conn.execute(
            """UPDATE messages SET delivery_status = $2, delivery_error = $3,
                   send_after = now() + make_interval(secs => $4) WHERE id = $1""",
            message["id"], "failed" if failed else "queued", error, retry_in or 0.0)
    if failed:
        await tell_agent(core, workspace_id, message["agent_id"], message["interaction_id"],
                         message["id"], "failed", error)


async def tell_agent(core: Core, workspace_id: int, agent_id: int | None, interaction_id: int,
                     message_id: int, status: str, error: str | None) -> None:
    """The agent holding the conversation sees the reply's delivery state in the console."""
    if agent_id is not None:
        await feeds.push(core.redis, [Notice(user_feed(workspace_id, agent_id), {
            "kind": "delivery", "interaction_id": interaction_id, "message_id": message_id,
            "status": status, "error": error})])


async def queue_automatic_reply(core: Core, workspace_id: int, interaction_id: int, channel: str,
                                body: str) -> None:
    """An automatic answer (SMS place in line, closed queue, email acknowledgement) kept in the
    conversation like any reply and sent by the channel's sender, so the agent who takes over
    sees what the customer was told."""
    await core.pool.execute(
        """INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
                                delivery_status)
           VALUES ($1, $2, $3, 'outbound', $4, 'queued')""",
        workspace_id, interaction_id, channel, body)
