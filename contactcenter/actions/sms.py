"""SMS-specific state: consent (STOP/START), delivery reports, and the waiting customer's
automatic answer."""

from __future__ import annotations

from typing import Any

import asyncpg

from contactcenter import events
from contactcenter.actions import outbox
from contactcenter.actions.outbox import tell_agent
from contactcenter.core import Core
from contactcenter.events import Event
from contactcenter.identity import InvalidAddress, normalize_phone

# Callbacks can arrive out of order: a delivery status only ever moves up this ladder.
_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4, "undelivered": 5,
         "failed": 5}


def _phone(core: Core, raw: str) -> str:
    try:
        return normalize_phone(raw, core.config.workspace.default_region)
    except InvalidAddress:
        return raw.strip()


async def set_consent(core: Core, workspace_id: int, phone: str, opted_out: bool,
                      keyword: str) -> None:
    """STOP records an opt-out (nothing is sent to the number until START); START removes it."""
    number = _phone(core, phone)
    async with core.pool.acquire() as conn, conn.transaction():
        if opted_out:
            await conn.execute(
                """INSERT INTO sms_opt_outs (workspace_id, phone, keyword) VALUES ($1, $2, $3)
                   ON CONFLICT (workspace_id, phone) DO UPDATE SET keyword = excluded.keyword,
                       opted_out_at = now()""", workspace_id, number, keyword)
        else:
            await conn.execute(
                "DELETE FROM sms_opt_outs WHERE workspace_id = $1 AND phone = $2",
                workspace_id, number)
        logged = await events.record(conn, Event(
            "sms.opt_out" if opted_out else "sms.opt_in", workspace_id,
            {"phone": number, "keyword": keyword}))
    await events.publish(core.redis, [logged])


async def record_delivery(core: Core, workspace_id: int, message_sid: str, status: str,
                          error_code: str | None) -> bool:
    """A delivery report for a message we sent. False when no message has that id."""
    async with core.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT m.id, m.interaction_id, m.delivery_status, i.agent_id FROM messages m
               JOIN interactions i ON i.id = m.interaction_id
               WHERE m.workspace_id = $1 AND m.channel = 'sms' AND m.provider_message_id = $2
               FOR UPDATE OF m""", workspace_id, message_sid)
        if row is None:
            return False
        if _RANK.get(status, 0) <= _RANK.get(row["delivery_status"], 0):
            return True  # an older report arriving late changes nothing
        await conn.execute(
            "UPDATE messages SET delivery_status = $2, delivery_error = $3 WHERE id = $1",
            row["id"], status, error_code)
    await tell_agent(core, workspace_id, row["agent_id"], row["interaction_id"], row["id"],
                      status, error_code)
    return True


async def is_opted_out(conn: asyncpg.Connection, workspace_id: int, phone: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT 1 FROM sms_opt_outs WHERE workspace_id = $1 AND phone = $2", workspace_id, phone))


async def claim_outgoing(core: Core, workspace_id: int, limit: int = 10) -> list[dict[str, Any]]:
    """SMS replies due to be sent, claimed for this node. A reply to a number that opted out
    is failed here instead: nothing is ever sent to it."""
    claimed = []
    async with core.pool.acquire() as conn:
        for message in await outbox.claim(core, workspace_id, "sms", limit):
            if message["their_address"] and await is_opted_out(conn, workspace_id,
                                                                message["their_address"]):
                await conn.execute(
                    """UPDATE messages SET delivery_status = 'failed',
                           delivery_error = 'opted out (STOP)' WHERE id = $1""", message["id"])
                continue
            claimed.append(message)
    return claimed


async def sent(core: Core, workspace_id: int, message: dict[str, Any], sid: str) -> None:
    """Twilio took the message: from now on its delivery reports tell what happens."""
    async with core.pool.acquire() as conn:
        await conn.execute(
            """UPDATE messages SET provider_message_id = $2, delivery_error = NULL
               WHERE id = $1""", message["id"], sid)
