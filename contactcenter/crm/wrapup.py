"""What a disposition does to the workflow when an agent wraps an interaction up: open a case,
add the interaction to the customer's case, create a lead, or nothing (per the config)."""

from __future__ import annotations

from typing import Any

import asyncpg

from contactcenter.crm import cases, sales
from contactcenter.errors import Conflict
from contactcenter.events import LoggedEvent
from contactcenter.settings import FileConfig


async def apply_disposition(conn: asyncpg.Connection, config: FileConfig, workspace_id: int,
                            user_id: int, interaction: asyncpg.Record, action: str, notes: str,
                            case_id: int | None) -> tuple[dict[str, Any], list[LoggedEvent]]:
    """Inside the wrap-up's transaction. Returns what was linked, for the agent to see."""
    if interaction["case_id"] is not None and action in ("open_case", "update_case"):
        return {"case_id": interaction["case_id"]}, []  # already linked: wrap-up again
    if interaction["lead_id"] is not None and action == "create_lead":
        return {"lead_id": interaction["lead_id"]}, []
    if action == "update_case":
        case_id = case_id or await conn.fetchval(
            """SELECT id FROM cases WHERE customer_id = $1 AND status <> 'closed'
               ORDER BY status_changed_at DESC LIMIT 1""", interaction["customer_id"])
        if case_id is not None:
            logged = await cases.link_interaction(conn, workspace_id, user_id, case_id,
                                                  interaction["id"])
            return {"case_id": case_id}, [logged]
        action = "open_case"  # nothing to update: the follow-up needs a case all the same
    elif case_id is not None:
        raise Conflict("case_not_expected", "only a disposition that updates a case takes "
                         "case_id")
    if action == "open_case":
        opened, logged = await cases.open_case(
            conn, config, workspace_id, user_id, interaction["customer_id"],
            _public_title(interaction),
            team=interaction["queue"], owner_user_id=user_id, interaction_id=interaction["id"])
        return {"case_id": opened}, [logged]
    if action == "create_lead":
        lead, logged = await sales.create_lead(
            conn, workspace_id, user_id, interaction["customer_id"], _title(interaction, notes),
            interaction_id=interaction["id"], source_channel=interaction["channel"],
            owner_user_id=user_id, notes=notes)
        return {"lead_id": lead}, [logged]
    return {}, []


def _title(interaction: asyncpg.Record, notes: str) -> str:
    """A lead's (seen by staff only): the email's subject, else the first line of the agent's
    notes, else what it was."""
    first_line = notes.strip().split("\n", 1)[0][:120]
    return interaction["subject"] or first_line or _public_title(interaction)


_CHANNELS = {"sms": "SMS", "chat": "Chat", "email": "Email", "voice": "Call",
             "voicemail": "Voicemail"}


def _public_title(interaction: asyncpg.Record) -> str:
    """A case's: the customer sees it on the status page, so never the agent's private notes
    (those stay on the interaction, linked to the case): the email's subject, else what it was
    and when. Staff can retitle the case."""
    kind = _CHANNELS.get(interaction["channel"], interaction["channel"])
    return interaction["subject"] or f"{kind} of {interaction['created_at']:%d %b %Y}"
