"""Intake: a customer's message, from any channel, becomes part of their interaction."""

from __future__ import annotations

from typing import Any

import asyncpg

from contactcenter import events, feeds, views
from contactcenter.core import Core
from contactcenter.errors import InputError
from contactcenter.events import Event, LoggedEvent
from contactcenter.feeds import Notice
from contactcenter.identity import (
    IdentityKind,
    InvalidAddress,
    identity_kind_for,
    normalize_address,
)
from contactcenter.models import ATTACHABLE_STATES, InboundMessage, InboundResult
from contactcenter.notices import InteractionInfo, message_notices
from contactcenter.settings import CHANNELS

MAX_BODY_CHARS = 200_000
MAX_PROVIDER_ID_CHARS = 998  # the longest header line RFC 5322 allows, so any Message-ID fits
_RETRIES = 3


def check_inbound(msg: InboundMessage, default_region: str) -> tuple[IdentityKind, str]:
    """Validate; return the sender's identity kind and normalized address."""
    if msg.channel not in CHANNELS:
        raise InputError("unknown_channel", f"unknown channel {msg.channel!r}")
    if len(msg.body) > MAX_BODY_CHARS:
        raise InputError("body_too_long", f"message body over {MAX_BODY_CHARS} characters")
    if msg.provider_message_id is not None and not (
        0 < len(msg.provider_message_id) <= MAX_PROVIDER_ID_CHARS
    ):
        raise InputError("bad_provider_id", "provider message id must be 1-998 characters")
    kind = identity_kind_for(msg.channel, msg.sender)
    try:
        return kind, normalize_address(kind, msg.sender, default_region)
    except InvalidAddress as exc:
        raise InputError("bad_sender", str(exc)) from None


async def receive_inbound(core: Core, msg: InboundMessage) -> InboundResult:
    """Resolve the customer, find or open their interaction, store the message: one transaction.

    Delivering the same provider message id again stores nothing and returns the first result.
    """
    kind, address = check_inbound(msg, core.config.workspace.default_region)
    for attempt in range(_RETRIES):
        try:
            async with core.pool.acquire() as conn, conn.transaction():
                result, logged, notices = await do_receive_inbound(conn, core, msg, kind, address)
            break
        except asyncpg.UniqueViolationError:
            # A concurrent delivery of the same message committed first; the retry sees it.
            if attempt == _RETRIES - 1:
                raise
    await events.publish(core.redis, logged)
    await feeds.push(core.redis, notices)
    return result


async def do_receive_inbound(
    conn: asyncpg.Connection, core: Core, msg: InboundMessage, kind: IdentityKind, address: str
) -> tuple[InboundResult, list[LoggedEvent], list[Notice]]:
    ws = msg.workspace_id
    if msg.provider_message_id is not None:
        seen = await conn.fetchrow(
            """SELECT m.id, m.interaction_id, i.customer_id FROM messages m
               JOIN interactions i ON i.id = m.interaction_id
               WHERE m.workspace_id = $1 AND m.channel = $2 AND m.provider_message_id = $3""",
            ws, msg.channel, msg.provider_message_id,
        )
        if seen is not None:
            return InboundResult(
                customer_id=seen["customer_id"], interaction_id=seen["interaction_id"],
                message_id=seen["id"], new_customer=False, new_interaction=False, duplicate=True,
            ), [], []

    logged: list[LoggedEvent] = []
    customer_id, new_customer = await _claim_identity(conn, ws, kind, address, msg.sender_name)
    if new_customer:
        logged.append(await events.record(conn, Event(
            "customer.created", ws, {"kind": kind, "address": address}, customer_id=customer_id)))
    # One intake at a time per customer, so two messages arriving together share one interaction.
    await conn.execute("SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", customer_id)

    open_row = await conn.fetchrow(
        """SELECT id, agent_id FROM interactions
           WHERE workspace_id = $1 AND customer_id = $2 AND channel = $3 AND state = ANY($4)
           ORDER BY id DESC LIMIT 1""",
        ws, customer_id, msg.channel, list(ATTACHABLE_STATES),
    )
    new_interaction = open_row is None
    agent_id = None if open_row is None else open_row["agent_id"]
    if open_row is not None:
        interaction_id = open_row["id"]
    else:
        interaction_id = await _open_interaction(conn, core, msg, customer_id)
        logged.append(await events.record(conn, Event(
            "interaction.queued", ws, {"channel": msg.channel},
            interaction_id=interaction_id, customer_id=customer_id)))

    # Returned in the shape the console shows, so the live notice costs no second read.
    stored = await conn.fetchrow(
        """INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
                                 provider_message_id, raw, created_at, client_id)
           VALUES ($1, $2, $3, 'inbound', $4, $5, $6, coalesce($7, now()), $8)
           RETURNING id, interaction_id, channel, direction, body, delivery_status,
                     delivery_error, client_id, created_at, '' AS author""",
        ws, interaction_id, msg.channel, msg.body, msg.provider_message_id, msg.raw,
        msg.received_at, msg.client_id,
    )
    message_id: int = stored["id"]
    await conn.execute(
        """UPDATE interactions SET last_message_at = now(), their_address = $3,
               our_address = coalesce($2, our_address) WHERE id = $1""",
        interaction_id, msg.our_address, address)
    for a in msg.attachments:
        await conn.execute(
            """INSERT INTO attachments (workspace_id, message_id, content_type, url, filename,
                   size_bytes, content) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            ws, message_id, a.content_type, a.url, a.filename,
            None if a.content is None else len(a.content), a.content)
    logged.append(await events.record(conn, Event(
        "message.received", ws, {"message_id": message_id, "channel": msg.channel},
        interaction_id=interaction_id, customer_id=customer_id)))
    info = InteractionInfo(msg.channel, customer_id, agent_id, None)
    message = {**views.message_view(stored), "attachments": [
        views.attachment_view(a.content_type, a.url, a.filename) for a in msg.attachments]}
    notices = message_notices(ws, message, info)
    return InboundResult(
        customer_id=customer_id, interaction_id=interaction_id, message_id=message_id,
        new_customer=new_customer, new_interaction=new_interaction, duplicate=False,
    ), logged, notices


async def _claim_identity(
    conn: asyncpg.Connection, ws: int, kind: IdentityKind, address: str, name: str
) -> tuple[int, bool]:
    """The customer behind an address, creating both if the address is new.

    The identity row is claimed before the customer row exists (its foreign key is deferred):
    when two first messages from one address race, the loser waits on the unique index and
    adopts the winner's customer instead of leaving an orphan customer behind.
    """
    query = """SELECT customer_id FROM customer_identities
               WHERE workspace_id = $1 AND kind = $2 AND address = $3"""
    existing = await conn.fetchval(query, ws, kind, address)
    if existing is not None:
        return existing, False
    new_id = await conn.fetchval("SELECT nextval(pg_get_serial_sequence('customers', 'id'))")
    claimed = await conn.fetchval(
        """INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING customer_id""",
        ws, new_id, kind, address,
    )
    if claimed is None:
        return await conn.fetchval(query, ws, kind, address), False
    await conn.execute(
        """INSERT INTO customers (id, workspace_id, display_name)
           OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3)""",
        new_id, ws, name.strip()[:200],
    )
    return new_id, True


async def _open_interaction(
    conn: asyncpg.Connection, core: Core, msg: InboundMessage, customer_id: int
) -> int:
    queue_name = msg.queue or core.config.default_queue(msg.channel)
    queue = await conn.fetchrow(
        "SELECT id, priority FROM queues WHERE workspace_id = $1 AND name = $2 AND active",
        msg.workspace_id, queue_name,
    )
    if queue is None:
        raise InputError("unknown_queue", f"no active queue named {queue_name!r}")
    interaction_id: int = await conn.fetchval(
        """INSERT INTO interactions (workspace_id, channel, state, queue_id, priority,
                                     customer_id, subject, queued_at)
           VALUES ($1, $2, 'queued', $3, $4, $5, $6, now()) RETURNING id""",
        msg.workspace_id, msg.channel, queue["id"], queue["priority"], customer_id,
        msg.subject[:500],
    )
    return interaction_id


async def keep_unreadable(core: Core, workspace_id: int, source: str, problem: str,
                          payload: dict[str, Any]) -> int:
    """Keep a provider payload we could not read, whole, flagged for a person."""
    async with core.pool.acquire() as conn, conn.transaction():
        payload_id: int = await conn.fetchval(
            """INSERT INTO unreadable_payloads (workspace_id, source, problem, payload)
               VALUES ($1, $2, $3, $4) RETURNING id""", workspace_id, source, problem, payload)
        logged = await events.record(conn, Event(
            "payload.unreadable", workspace_id, {"id": payload_id, "source": source,
                                                 "problem": problem}))
    await events.publish(core.redis, [logged])
    return payload_id
