"""What happens inside a conversation: replies and internal notes, read marks, typing, and
what the agent records at wrap-up."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

from contactcenter import events, feeds, views
from contactcenter.actions import uploads
from contactcenter.actions.sms import is_opted_out
from contactcenter.actions.work import request
from contactcenter.core import Core
from contactcenter.crm import wrapup
from contactcenter.errors import Conflict, Forbidden, InputError, NotFound
from contactcenter.events import Event
from contactcenter.notices import InteractionInfo, counterpart_notices, message_notices

MAX_REPLY_CHARS = 20_000
MAX_CLIENT_ID_CHARS = 64
MAX_NOTES_CHARS = 5_000
# Channels whose replies are delivered the moment they are stored (over the chat feed). Replies
# on the other channels wait as 'queued' for their channel's sender.
_LIVE_CHANNELS = ("chat",)
_FILE_CHANNELS = ("email",)  # SMS would need a public URL per file; chat shows none yet


@dataclass(frozen=True)
class Conversation:
    interaction_id: int
    state: str
    info: InteractionInfo
    their_address: str | None


async def _conversation(conn: asyncpg.Connection, workspace_id: int, interaction_id: int,
                        lock: bool = False) -> Conversation:
    row = await conn.fetchrow(
        """SELECT i.state, i.channel, i.customer_id, i.agent_id, u.display_name, i.their_address
           FROM interactions i LEFT JOIN users u ON u.id = i.agent_id
           WHERE i.id = $1 AND i.workspace_id = $2""" + (" FOR UPDATE OF i" if lock else ""),
        interaction_id, workspace_id)
    if row is None:
        raise NotFound("no_such_interaction", f"no interaction {interaction_id}")
    return Conversation(interaction_id, row["state"], InteractionInfo(
        row["channel"], row["customer_id"], row["agent_id"], row["display_name"]),
        row["their_address"])


def _sends(core: Core, channel: str) -> bool:
    """Whether this server can deliver a reply on the channel (a reply it cannot send would sit
    "queued" for ever)."""
    channels = core.config.channels
    return {"sms": channels.sms.enabled, "email": channels.email.enabled}.get(channel, True)


def check_client_id(client_id: str | None) -> None:
    if client_id is not None and not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS:
        raise InputError("bad_client_id", f"client_id must be 1-{MAX_CLIENT_ID_CHARS} characters")


async def send_message(
    core: Core, workspace_id: int, user_id: int, interaction_id: int, body: str, *,
    internal: bool = False, client_id: str | None = None, attachments: list[int] | None = None,
    whisper: bool = False,
) -> dict[str, object]:
    """An agent's reply through the interaction's own channel, or an internal note, with the
    files uploaded for it (email replies and notes carry files). A whisper is a supervisor's
    internal note on someone else's live conversation (the caller checks the role).

    Sending again with the same client_id returns the first message and sends nothing.
    """
    body = body.strip()
    attachments = attachments or []
    if not body and not attachments:
        raise InputError("empty_message", "the message is empty")
    if len(body) > MAX_REPLY_CHARS:
        raise InputError("message_too_long", f"a message has at most {MAX_REPLY_CHARS} characters")
    check_client_id(client_id)
    direction = "internal" if internal else "outbound"
    async with core.pool.acquire() as conn, conn.transaction():
        conv = await _conversation(conn, workspace_id, interaction_id, lock=True)
        if whisper and (not internal or conv.state not in ("assigned", "wrapup")):
            raise Conflict("no_agent", f"interaction {interaction_id} has no agent to whisper to")
        if not whisper and (conv.info.agent_id != user_id
                            or conv.state not in ("assigned", "wrapup")):
            raise Conflict("not_yours", f"interaction {interaction_id} is not assigned to you")
        if not internal and conv.info.channel == "voicemail":
            raise Conflict("cannot_reply", "a voicemail cannot be answered in place: call the "
                           "customer back, and keep notes here")
        if not internal and conv.state != "assigned":
            raise Conflict("conversation_ended",
                           "the conversation has ended; you can still add an internal note")
        if not internal and not _sends(core, conv.info.channel):
            raise Conflict("channel_not_enabled", f"{conv.info.channel} is not set up on this "
                           "server, so a reply cannot go: reach the customer another way, and "
                           "keep notes here")
        if attachments and not internal and conv.info.channel not in _FILE_CHANNELS:
            raise Conflict("files_not_sent_here", f"files cannot be sent by "
                           f"{conv.info.channel}; add them to an internal note for your team")
        if (not internal and conv.info.channel == "sms" and conv.their_address
                and await is_opted_out(conn, workspace_id, conv.their_address)):
            raise Conflict("opted_out", f"{conv.their_address} replied STOP: no SMS can be sent "
                           "to it until they reply START")
        if client_id is not None:
            seen = await conn.fetchval(
                """SELECT id FROM messages WHERE interaction_id = $1 AND direction = $2
                   AND client_id = $3""", interaction_id, direction, client_id)
            if seen is not None:
                return await views.message(conn, seen)
        status = "sent" if internal or conv.info.channel in _LIVE_CHANNELS else "queued"
        message_id: int = await conn.fetchval(
            """INSERT INTO messages (workspace_id, interaction_id, channel, direction,
                   author_user_id, body, delivery_status, client_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
            workspace_id, interaction_id, conv.info.channel, direction, user_id, body, status,
            client_id)
        if attachments:
            await uploads.join_message(conn, user_id, interaction_id, message_id, attachments)
        logged = await events.record(conn, Event(
            "message.note" if internal else "message.sent", workspace_id,
            {"message_id": message_id, "channel": conv.info.channel},
            interaction_id=interaction_id, customer_id=conv.info.customer_id,
            actor_user_id=user_id))
        message = await views.message(conn, message_id)
    await events.publish(core.redis, [logged])
    await feeds.push(core.redis, message_notices(workspace_id, message, conv.info))
    return message


Side = Literal["agent", "customer"]


async def mark_read(core: Core, workspace_id: int, interaction_id: int, side: Side,
                    up_to: int, user_id: int | None = None) -> None:
    """One side has read the other's messages up to a message id; the other side is told."""
    by_customer = side == "customer"
    async with core.pool.acquire() as conn, conn.transaction():
        conv = await _conversation(conn, workspace_id, interaction_id)
        if not by_customer and conv.info.agent_id != user_id:
            raise Forbidden("not_yours", f"interaction {interaction_id} is not yours")
        changed = await conn.fetchval(
            """WITH marked AS (
                 UPDATE messages SET delivery_status = 'read'
                 WHERE interaction_id = $1 AND id <= $2 AND direction = $3
                   AND delivery_status <> 'read' RETURNING id)
               SELECT max(id) FROM marked""",
            interaction_id, up_to, "outbound" if by_customer else "inbound")
    if changed is not None:
        await feeds.push(core.redis, counterpart_notices(workspace_id, conv.info, by_customer, {
            "kind": "receipt", "interaction_id": interaction_id, "up_to": changed,
            "status": "read"}))


async def typing(core: Core, workspace_id: int, interaction_id: int, side: Side,
                 user_id: int | None = None) -> None:
    """Shown on the other side for a few seconds. Nothing is stored: it is only a hint."""
    by_customer = side == "customer"
    async with core.pool.acquire() as conn:
        conv = await _conversation(conn, workspace_id, interaction_id)
    if not by_customer and conv.info.agent_id != user_id:
        raise Forbidden("not_yours", f"interaction {interaction_id} is not yours")
    await feeds.push(core.redis, counterpart_notices(workspace_id, conv.info, by_customer, {
        "kind": "typing", "interaction_id": interaction_id, "at": time.time(),
        "name": "" if by_customer else conv.info.agent_name}))


async def save_wrapup(core: Core, workspace_id: int, user_id: int, interaction_id: int,
                      disposition: str, notes: str,
                      case_id: int | None = None) -> dict[str, Any]:
    """Record the disposition and notes, do what the disposition says to the workflow (open or
    update a case, create a lead), and end wrap-up now rather than at its deadline.

    Accepted after the deadline too (the interaction has closed meanwhile): the agent was still
    typing, and what they typed is worth keeping.
    """
    notes = notes.strip()
    if len(notes) > MAX_NOTES_CHARS:
        raise InputError("notes_too_long", f"notes have at most {MAX_NOTES_CHARS} characters")
    async with core.pool.acquire() as conn, conn.transaction():
        conv = await _conversation(conn, workspace_id, interaction_id, lock=True)
        if conv.info.agent_id != user_id or conv.state not in ("assigned", "wrapup", "closed"):
            raise Conflict("not_yours", f"you are not wrapping up interaction {interaction_id}")
        view = await views.interaction(conn, core.config, workspace_id, interaction_id)
        assert view is not None
        allowed = [d["code"] for d in view["dispositions"]]
        if disposition not in allowed:
            raise Conflict("bad_disposition",
                             f"disposition must be one of: {', '.join(allowed)}")
        await conn.execute(
            "UPDATE interactions SET disposition = $2, wrapup_notes = $3 WHERE id = $1",
            interaction_id, disposition, notes)
        interaction = await conn.fetchrow(
            """SELECT i.id, i.customer_id, i.channel, i.subject, i.created_at, i.case_id,
                      i.lead_id, q.name AS queue
               FROM interactions i JOIN queues q ON q.id = i.queue_id WHERE i.id = $1""",
            interaction_id)
        linked, workflow = await wrapup.apply_disposition(
            conn, core.config, workspace_id, user_id, interaction,
            core.config.dispositions[disposition].action, notes, case_id)
        logged = await events.record(conn, Event(
            "interaction.disposition", workspace_id, {"disposition": disposition, **linked},
            interaction_id=interaction_id, customer_id=conv.info.customer_id,
            actor_user_id=user_id))
    await events.publish(core.redis, [logged, *workflow])
    if conv.state == "wrapup":
        with contextlib.suppress(Conflict):  # the wrap-up deadline passed meanwhile
            await request(core, workspace_id, user_id, interaction_id, "interaction.wrapup_done")
    return linked
