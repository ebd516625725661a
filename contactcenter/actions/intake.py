"""Intake: a customer's message, from any channel, becomes part of their interaction."""

from __future__ import annotations

from typing import Any

import asyncpg

from contactcenter import events, views
from contactcenter.core import Core
from contactcenter.errors import InputError
from contactcenter.events import Event, LoggedEvent
from contactcenter.identity import (
    IdentityKind,
    InvalidAddress,
    identity_kind_for,
    normalize_address,
)
from contactcenter.instruments import CHANNEL_ERRORS
from contactcenter.models import InboundMessage, InboundResult
from contactcenter.notices import InteractionInfo, message_notices
from contactcenter.settings import CHANNELS
from contactcenter.storable import keepable

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


async def receive_inbound(core: Core, msg: InboundMessage, *,
                          queue_reply_every: int | None = None,
                          acknowledge: str | None = None) -> InboundResult:
    """Resolve the customer, find or open their interaction, store the message: one transaction,
    one round trip to PostgreSQL (`cc_receive_inbound`), plus one to Redis after the commit.

    Delivering the same provider message id again stores nothing and returns the first result.
    With `queue_reply_every` (seconds), the result carries the customer's place in line when
    they were not told it within that time (claimed in the same transaction, so two messages
    arriving together answer once). With `acknowledge`, a conversation the message opens is
    answered with that text (`{case}`: its number), queued for the channel's sender in the same
    transaction.
    """
    kind, address = check_inbound(msg, core.config.workspace.default_region)
    args = (msg.workspace_id, msg.channel, kind, address, msg.sender_name,
            msg.provider_message_id, msg.body, msg.raw, msg.received_at, msg.client_id,
            msg.queue or core.config.default_queue(msg.channel), msg.subject,
            msg.our_address, queue_reply_every, msg.threaded, msg.thread, acknowledge)
    for attempt in range(_RETRIES):
        try:
            attachment_ids: list[int] = []
            async with core.pool.acquire() as conn:
                if msg.attachments:
                    async with conn.transaction():
                        row = await conn.fetchrow(_RECEIVE, *args)
                        if not row["duplicate"]:
                            attachment_ids = await _store_attachments(conn, msg, row["message_id"])
                else:
                    row = await conn.fetchrow(_RECEIVE, *args)
            break
        except asyncpg.UniqueViolationError:
            # A concurrent delivery of the same message committed first; the retry sees it.
            if attempt == _RETRIES - 1:
                raise
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == _UNKNOWN_QUEUE:
                raise InputError("unknown_queue", str(exc)) from None
            raise
    result = InboundResult(
        customer_id=row["customer_id"], interaction_id=row["interaction_id"],
        message_id=row["message_id"], new_customer=row["new_customer"],
        new_interaction=row["new_interaction"], duplicate=row["duplicate"], place=row["place"])
    if not result.duplicate:
        await events.publish(
            core.redis, [_logged(msg.workspace_id, e) for e in row["events"]],
            message_notices(msg.workspace_id, _message(msg, row, attachment_ids), InteractionInfo(
                msg.channel, result.customer_id, row["agent_id"], None)))
    return result


_RECEIVE = ("SELECT * FROM cc_receive_inbound($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
            "$13, $14, $15, $16, $17)")
_UNKNOWN_QUEUE = "CC404"


def _logged(workspace_id: int, e: dict[str, Any]) -> LoggedEvent:
    return LoggedEvent(e["id"], Event(e["kind"], workspace_id, e["data"],
                                      interaction_id=e.get("interaction_id"),
                                      customer_id=e.get("customer_id")))


def _message(msg: InboundMessage, row: asyncpg.Record, attachment_ids: list[int]) -> dict[str, Any]:
    """The stored message in the shape the console shows, built without reading it back."""
    return {**views.message_view({
        "id": row["message_id"], "interaction_id": row["interaction_id"],
        "channel": msg.channel, "direction": "inbound", "author": "", "body": msg.body,
        "delivery_status": "received", "delivery_error": None, "client_id": msg.client_id,
        "created_at": row["created_at"], "quoted": (msg.raw or {}).get("quoted"),
        "html": (msg.raw or {}).get("html")}), "attachments": [
        views.attachment_view(a.content_type, a.url, a.filename, attachment_id)
        for a, attachment_id in zip(msg.attachments, attachment_ids, strict=True)]}


async def _store_attachments(conn: asyncpg.Connection, msg: InboundMessage,
                             message_id: int) -> list[int]:
    rows = await conn.fetch(
        """INSERT INTO attachments (workspace_id, message_id, content_type, url, filename,
               size_bytes, content)
           SELECT $1, $2, a.content_type, a.url, a.filename, length(a.content), a.content
           FROM unnest($3::text[], $4::text[], $5::text[], $6::bytea[])
                WITH ORDINALITY a(content_type, url, filename, content, n)
           ORDER BY a.n RETURNING id""",
        msg.workspace_id, message_id, [a.content_type for a in msg.attachments],
        [a.url for a in msg.attachments], [a.filename for a in msg.attachments],
        [a.content for a in msg.attachments])
    return sorted(r["id"] for r in rows)


async def keep_unreadable(core: Core, workspace_id: int, source: str, problem: str,
                          payload: dict[str, Any], raw: bytes | None = None) -> int:
    """Keep a provider payload we could not read, whole, flagged for a person; `raw`: the
    bytes it came as, kept exactly (downloadable from /api/unreadable-payloads/{id}/raw)."""
    async with core.pool.acquire() as conn, conn.transaction():
        payload_id, logged = await do_keep_unreadable(conn, workspace_id, source, problem,
                                                      payload, raw)
    await events.publish(core.redis, [logged])
    return payload_id


async def do_keep_unreadable(conn: asyncpg.Connection, workspace_id: int, source: str,
                             problem: str, payload: dict[str, Any], raw: bytes | None = None,
                             ) -> tuple[int, LoggedEvent]:
    CHANNEL_ERRORS.labels(source, "unreadable").inc()
    payload_id: int = await conn.fetchval(
        """INSERT INTO unreadable_payloads (workspace_id, source, problem, payload, raw)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""", workspace_id, source,
        keepable(problem), keepable(payload), raw)
    logged = await events.record(conn, Event(
        "payload.unreadable", workspace_id, {"id": payload_id, "source": source,
                                             "problem": problem}))
    return payload_id, logged
