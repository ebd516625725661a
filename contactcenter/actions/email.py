"""Email-specific state: which thread a message answers, bounces of what we sent, and where
reading each mailbox stands."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from contactcenter.actions.outbox import tell_agent
from contactcenter.actions.timeline import add_event
from contactcenter.core import Core

log = logging.getLogger(__name__)


async def thread_of(core: Core, workspace_id: int, sender: str, message_ids: tuple[str, ...],
                    case: int | None, case_key: str | None) -> int | None:
    """The interaction an email answers: the first of the Message-IDs it names (In-Reply-To,
    then References, newest first) that we sent or received, else the case token in its
    subject when it names one of our email interactions (with its key, when it has one); None
    for a new thread.

    Headers and subjects are claims anyone can copy: a thread is joined only when the sender
    is on the record of the customer it belongs to. Anyone else starts a thread of their own,
    so they neither read nor redirect another customer's conversation.
    """
    async with core.pool.acquire() as conn:
        if message_ids:
            found: int | None = await conn.fetchval(
                """SELECT interaction_id FROM messages
                   WHERE workspace_id = $1 AND channel = 'email'
                     AND provider_message_id = ANY($2::text[])
                   ORDER BY array_position($2::text[], provider_message_id) LIMIT 1""",
                workspace_id, list(message_ids))
            if found is not None:
                return await _if_sender_is_theirs(conn, workspace_id, found, sender)
        if case is None:
            return None
        named: int | None = await conn.fetchval(
            """SELECT id FROM interactions WHERE id = $1 AND workspace_id = $2 AND channel = 'email'
                 AND ($3::text IS NULL OR reply_key = $3)""",
            case, workspace_id, case_key)
        if named is None:
            return None
        return await _if_sender_is_theirs(conn, workspace_id, named, sender)


async def _if_sender_is_theirs(conn: asyncpg.Connection, workspace_id: int, interaction_id: int,
                               sender: str) -> int | None:
    theirs: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM interactions i JOIN customer_identities ci
                          ON ci.customer_id = i.customer_id
                          WHERE i.id = $1 AND i.workspace_id = $2 AND ci.kind = 'email'
                            AND ci.address = $3)""", interaction_id, workspace_id, sender)
    if not theirs:
        log.info("email from %s names interaction %d of another customer: a thread of its own",
                 sender, interaction_id)
    return interaction_id if theirs else None


async def bounced(core: Core, workspace_id: int, message_ids: tuple[str, ...], report: str) -> bool:
    """A delivery status notification: the replies it names failed. False when it names none
    of ours (it is then taken in like any other mail)."""
    async with core.pool.acquire() as conn:
        rows = await conn.fetch(
            """UPDATE messages SET delivery_status = 'failed', delivery_error = $3
               WHERE workspace_id = $1 AND channel = 'email' AND direction = 'outbound'
                 AND provider_message_id = ANY($2::text[])
               RETURNING interaction_id""", workspace_id, list(message_ids), report[:300])
    for row in rows:
        await add_event(core, workspace_id, row["interaction_id"], f"Email bounced: {report[:300]}")
    return bool(rows)


async def mailbox_position(core: Core, workspace_id: int, name: str, uidvalidity: int) -> int:
    """The last UID taken in from the mailbox; 0 when it is new or was renumbered."""
    async with core.pool.acquire() as conn:
        last: int = await conn.fetchval(
            """INSERT INTO email_mailboxes (workspace_id, name, uidvalidity) VALUES ($1, $2, $3)
               ON CONFLICT (workspace_id, name) DO UPDATE SET
                   last_uid = CASE WHEN email_mailboxes.uidvalidity = excluded.uidvalidity
                                   THEN email_mailboxes.last_uid ELSE 0 END,
                   uidvalidity = excluded.uidvalidity, updated_at = now()
               RETURNING last_uid""", workspace_id, name, uidvalidity)
    return last


async def taken_in_up_to(core: Core, workspace_id: int, name: str, uid: int) -> None:
    async with core.pool.acquire() as conn:
        await conn.execute(
            """UPDATE email_mailboxes SET last_uid = greatest(last_uid, $3), updated_at = now()
               WHERE workspace_id = $1 AND name = $2""", workspace_id, name, uid)


async def sent(core: Core, workspace_id: int, message: dict[str, Any]) -> None:
    """The SMTP server took the reply: for email that is as far as delivery can be seen
    (a bounce may still come back, and marks it failed)."""
    async with core.pool.acquire() as conn:
        await conn.execute(
            "UPDATE messages SET delivery_status = 'sent', delivery_error = NULL WHERE id = $1",
            message["id"])
    await tell_agent(core, workspace_id, message["agent_id"], message["interaction_id"],
                     message["id"], "sent", None)
