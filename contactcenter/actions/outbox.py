"""Replies waiting to go out through a channel's sender (SMS, email): what every sender does
when its provider refuses or cannot be reached, and how the agent hears of it."""

from __future__ import annotations

from typing import Any

from contactcenter import feeds
from contactcenter.core import Core
from contactcenter.feeds import Notice, user_feed
from contactcenter.instruments import CHANNEL_ERRORS

MAX_SEND_ATTEMPTS = 6


def backoff(attempt: int, base_seconds: float, cap_seconds: float) -> float:
    """Seconds before the next attempt: doubling from `base_seconds`, at most `cap_seconds`."""
    return float(min(cap_seconds, base_seconds * 2 ** (attempt - 1)))


async def claim(core: Core, workspace_id: int, channel: str, limit: int = 10, *,
                message_id_domain: str | None = None) -> list[dict[str, Any]]:
    """The channel's replies due to be sent, claimed for this node (another node skips them),
    with what every sender needs: addresses, the author, and for threading the interaction's
    subject, the customer's latest message id and the thread's message ids. With
    `message_id_domain` each gets its own Message-ID before it is sent (email), so an answer
    to it threads even if the node dies right after sending."""
    rows = await core.pool.fetch(
        """UPDATE messages m SET delivery_status = 'sending', send_attempts = m.send_attempts + 1,
               provider_message_id = CASE WHEN $4::text IS NULL THEN m.provider_message_id
                   ELSE coalesce(m.provider_message_id, '<cc.' || m.id || '.'
                                 || left(replace(gen_random_uuid()::text, '-', ''), 16)
                                 || '@' || $4 || '>') END
           FROM (SELECT id FROM messages WHERE workspace_id = $1 AND channel = $3
                   AND direction = 'outbound' AND delivery_status = 'queued'
                   AND (send_after IS NULL OR send_after <= now())
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) due,
                interactions i
           WHERE m.id = due.id AND i.id = m.interaction_id
           RETURNING m.id, m.channel, m.body, m.send_attempts, m.interaction_id, m.provider_message_id,
                     i.agent_id, i.their_address, i.our_address, i.subject, i.reply_key,
                     (SELECT display_name FROM users WHERE id = m.author_user_id) AS author,
                     (SELECT r.provider_message_id FROM messages r
                      WHERE r.interaction_id = m.interaction_id AND r.direction = 'inbound'
                      ORDER BY r.id DESC LIMIT 1) AS in_reply_to,
                     ARRAY(SELECT t.provider_message_id FROM messages t
                           WHERE t.interaction_id = m.interaction_id AND t.id < m.id
                             AND t.channel = m.channel AND t.provider_message_id IS NOT NULL
                           ORDER BY t.id) AS thread""",
        workspace_id, limit, channel, message_id_domain)
    return [dict(r) for r in rows]


async def not_sent(core: Core, workspace_id: int, message: dict[str, Any], error: str,
                   retry_in: float | None) -> None:
    """The provider refused (or could not be reached). With `retry_in`, try again after it, up
    to MAX_SEND_ATTEMPTS; otherwise (or after the last attempt) the message has failed."""
    failed = retry_in is None or message["send_attempts"] >= MAX_SEND_ATTEMPTS
    CHANNEL_ERRORS.labels(message["channel"], "send_failed").inc()
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
