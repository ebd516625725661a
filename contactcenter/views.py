"""Read-only views of the state, in the shapes the console and the chat widget show.

Every channel's conversation has the same shape here (a list of messages with a direction),
so the console renders chat, SMS, email and call events with one piece of code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from contactcenter.identity import SHOWN_ADDRESS_SQL, shown_name
from contactcenter.notices import InteractionInfo
from contactcenter.settings import FileConfig

MAX_MESSAGES = 500


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def message_view(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "interaction_id": row["interaction_id"],
        "channel": row["channel"],
        "direction": row["direction"],
        "author": row["author"],
        "body": row["body"],
        "status": row["delivery_status"],
        "error": row["delivery_error"],
        "client_id": row["client_id"],
        "created_at": iso(row["created_at"]),
        # An email's quoted history, kept apart from what the customer wrote this time.
        "quoted": row.get("quoted") or None,
        # An email's HTML, sanitised (nh3) when it came in; the console shows it sandboxed.
        "html": row.get("html") or None,
        # Sent by the server itself (place in line, acknowledgement), not by an agent.
        "automatic": bool(row.get("automatic")),
        # A supervisor's note on an agent's conversation: the console makes it stand out.
        "whisper": bool(row.get("whisper")),
    }


_MESSAGES = """
    SELECT m.id, m.interaction_id, m.channel, m.direction, m.body, m.delivery_status,
           m.delivery_error, m.client_id, m.created_at, coalesce(u.display_name, '') AS author,
           m.raw->>'quoted' AS quoted, m.raw->>'html' AS html,
           m.direction = 'outbound' AND m.author_user_id IS NULL AS automatic,
           m.direction = 'internal' AND m.author_user_id IS DISTINCT FROM i.agent_id AS whisper
    FROM messages m JOIN interactions i ON i.id = m.interaction_id
    LEFT JOIN users u ON u.id = m.author_user_id
    WHERE m.interaction_id = $1 {where}
    ORDER BY m.id DESC LIMIT {limit}"""


def attachment_view(content_type: str, url: str | None, filename: str,
                    attachment_id: int | None = None) -> dict[str, Any]:
    """Where the console finds it: at the provider (MMS, a recording), or, kept here (email),
    at `/api/attachments/{id}`."""
    if url is None and attachment_id is not None:
        url = f"/api/attachments/{attachment_id}"
    return {"content_type": content_type, "url": url, "filename": filename}


async def _with_attachments(conn: asyncpg.Connection,
                            views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MMS pictures, voicemail recordings...: where each is, for the console to show or play."""
    rows = await conn.fetch(
        """SELECT id, message_id, content_type, url, filename FROM attachments
           WHERE message_id = ANY($1::bigint[]) ORDER BY id""", [v["id"] for v in views])
    for view in views:
        view["attachments"] = [attachment_view(r["content_type"], r["url"], r["filename"], r["id"])
                                for r in rows if r["message_id"] == view["id"]]
    return views


async def messages(
    conn: asyncpg.Connection, interaction_id: int, *, include_internal: bool = True
) -> list[dict[str, Any]]:
    """The conversation, oldest first (the latest MAX_MESSAGES of it)."""
    where = "" if include_internal else "AND m.direction <> 'internal'"
    rows = await conn.fetch(_MESSAGES.format(where=where, limit=MAX_MESSAGES), interaction_id)
    return await _with_attachments(conn, [message_view(r) for r in reversed(rows)])


async def message(conn: asyncpg.Connection, message_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        _MESSAGES.replace("m.interaction_id = $1", "m.id = $1").format(where="", limit=1),
        message_id)
    return (await _with_attachments(conn, [message_view(row)]))[0]


_INTERACTION = """
    SELECT i.id, i.channel, i.state, i.priority, i.subject, i.customer_id, i.agent_id,
           i.created_at, i.queued_at, i.offered_at, i.answered_at, i.ended_at, i.disposition,
           i.wrapup_notes, q.name AS queue, q.label AS queue_label, c.display_name AS customer_name,
           """ + SHOWN_ADDRESS_SQL + """ AS customer_address,
           u.display_name AS agent_name,
           (SELECT d.deadline FROM routing_decisions d WHERE d.interaction_id = i.id
            AND d.kind = 'Offered' ORDER BY d.id DESC LIMIT 1) AS offer_deadline,
           (SELECT d.deadline FROM routing_decisions d WHERE d.interaction_id = i.id
            AND d.kind = 'WrapupStarted' ORDER BY d.id DESC LIMIT 1) AS wrapup_deadline
    FROM interactions i
    JOIN queues q ON q.id = i.queue_id
    JOIN customers c ON c.id = i.customer_id
    LEFT JOIN users u ON u.id = i.agent_id
    WHERE i.workspace_id = $1"""


def _interaction_summary(row: asyncpg.Record, config: FileConfig) -> dict[str, Any]:
    queue = next((q for q in config.queues if q.name == row["queue"]), None)
    codes = queue.dispositions if queue is not None and queue.dispositions else list(
        config.dispositions)
    return {
        "id": row["id"],
        "channel": row["channel"],
        "state": row["state"],
        "priority": row["priority"],
        "subject": row["subject"],
        "queue": {"name": row["queue"], "label": row["queue_label"] or row["queue"]},
        "customer": {"id": row["customer_id"],
                     "name": shown_name(row["customer_name"], row["customer_address"])},
        "agent": None if row["agent_id"] is None else {"id": row["agent_id"],
                                                       "name": row["agent_name"]},
        "created_at": iso(row["created_at"]),
        "queued_at": iso(row["queued_at"]),
        "offered_at": iso(row["offered_at"]),
        "answered_at": iso(row["answered_at"]),
        "ended_at": iso(row["ended_at"]),
        "offer_deadline": iso(row["offer_deadline"]) if row["state"] == "offered" else None,
        "wrapup_deadline": iso(row["wrapup_deadline"]) if row["state"] == "wrapup" else None,
        "disposition": row["disposition"],
        "wrapup_notes": row["wrapup_notes"],
        "dispositions": [{"code": c, "label": config.dispositions[c].label}
                         for c in codes if c in config.dispositions],
    }


async def interaction(
    conn: asyncpg.Connection, config: FileConfig, workspace_id: int, interaction_id: int
) -> dict[str, Any] | None:
    row = await conn.fetchrow(_INTERACTION + " AND i.id = $2", workspace_id, interaction_id)
    if row is None:
        return None
    return {**_interaction_summary(row, config),
            "messages": await messages(conn, interaction_id)}


async def customer(
    conn: asyncpg.Connection, workspace_id: int, customer_id: int
) -> dict[str, Any] | None:
    """The customer panel: who they are, how to reach them, and everything they did with us."""
    row = await conn.fetchrow(
        """SELECT c.id, c.display_name, c.created_at, c.attributes, c.tags, c.consent,
                  c.merged_into, co.name AS company
           FROM customers c LEFT JOIN companies co ON co.id = c.company_id
           WHERE c.id = $1 AND c.workspace_id = $2""", customer_id, workspace_id)
    if row is None:
        return None
    open_work = await conn.fetch(
        """SELECT 'case' AS kind, id, subject AS title, status, priority AS detail,
                  cc_case_deadline(first_response_at, first_response_due, next_response_due,
                                   resolution_due) AS due
           FROM cases WHERE customer_id = $1 AND status NOT IN ('closed')
           UNION ALL
           SELECT 'lead', id, title, status, coalesce(source_channel, ''), NULL
           FROM leads WHERE customer_id = $1 AND status IN ('new', 'qualified')
           UNION ALL
           SELECT 'opportunity', id, name, stage, amount || ' ' || currency, NULL
           FROM opportunities WHERE customer_id = $1 AND closed_at IS NULL
           ORDER BY 1, 2 DESC""", customer_id)
    identities = await conn.fetch(
        """SELECT kind, address FROM customer_identities WHERE customer_id = $1
           ORDER BY kind, id""", customer_id)
    history = await conn.fetch(
        """SELECT i.id, i.channel, i.state, i.created_at, i.ended_at, i.disposition,
                  q.label AS queue, u.display_name AS agent,
                  (SELECT left(m.body, 140) FROM messages m WHERE m.interaction_id = i.id
                   AND m.direction <> 'internal' ORDER BY m.id DESC LIMIT 1) AS last_message
           FROM interactions i JOIN queues q ON q.id = i.queue_id
           LEFT JOIN users u ON u.id = i.agent_id
           WHERE i.customer_id = $1 ORDER BY i.id DESC LIMIT 100""", customer_id)
    return {
        "id": row["id"],
        "name": shown_name(row["display_name"], next(
            (i["address"] for kind in ("phone", "email") for i in identities
             if i["kind"] == kind), None)),
        "created_at": iso(row["created_at"]),
        "company": row["company"],
        "tags": list(row["tags"]),
        "attributes": dict(row["attributes"]),
        "consent": dict(row["consent"]),
        "merged_into": row["merged_into"],
        # Unfinished cases (with the nearest SLA deadline), leads and opportunities.
        "workflow": [{"kind": r["kind"], "id": r["id"], "title": r["title"],
                      "status": r["status"], "detail": r["detail"], "due": iso(r["due"])}
                     for r in open_work],
        # A chat address is a random visitor id: it means nothing to a person.
        "identities": [{"kind": r["kind"],
                        "address": "web chat visitor" if r["kind"] == "chat" else r["address"]}
                       for r in identities],
        "interactions": [{
            "id": r["id"], "channel": r["channel"], "state": r["state"], "queue": r["queue"],
            "agent": r["agent"], "created_at": iso(r["created_at"]), "ended_at": iso(r["ended_at"]),
            "disposition": r["disposition"], "last_message": r["last_message"] or "",
        } for r in history],
    }


async def agent_work(
    conn: asyncpg.Connection, config: FileConfig, workspace_id: int, user_id: int
) -> dict[str, Any]:
    """Everything the console shows at start: the agent, their offers and open work, and the
    lists a transfer or a wrap-up chooses from."""
    me = await conn.fetchrow(
        """SELECT u.id, u.display_name, u.email, u.role,
                  coalesce(p.presence, 'offline') AS presence, coalesce(p.reason, '') AS reason
           FROM users u LEFT JOIN agent_presence p ON p.user_id = u.id
           WHERE u.id = $1 AND u.workspace_id = $2""", user_id, workspace_id)
    rows = await conn.fetch(
        _INTERACTION + " AND i.agent_id = $2 AND i.state IN ('offered', 'assigned', 'wrapup')"
        " ORDER BY i.id", workspace_id, user_id)
    work = []
    for row in rows:
        view = _interaction_summary(row, config)
        if row["state"] != "offered":
            view["messages"] = await messages(conn, row["id"])
        work.append(view)
    agents = await conn.fetch(
        """SELECT u.id, u.display_name, coalesce(p.presence, 'offline') AS presence
           FROM users u LEFT JOIN agent_presence p ON p.user_id = u.id
           WHERE u.workspace_id = $1 AND u.role = 'agent' AND u.disabled_at IS NULL
           ORDER BY u.display_name""", workspace_id)
    return {
        "me": {"id": me["id"], "name": me["display_name"], "email": me["email"],
               "role": me["role"], "presence": me["presence"], "reason": me["reason"]},
        "offers": [w for w in work if w["state"] == "offered"],
        "interactions": [w for w in work if w["state"] != "offered"],
        "queues": [{"name": q.name, "label": q.label or q.name} for q in config.queues],
        "agents": [{"id": a["id"], "name": a["display_name"], "presence": a["presence"]}
                   for a in agents if a["id"] != user_id],
        "canned_responses": [c.model_dump() for c in config.canned_responses],
        "away_reasons": list(AWAY_REASONS),
    }


AWAY_REASONS = ("Break", "Lunch", "Meeting", "Training", "Other work")


async def interaction_infos(
    conn: asyncpg.Connection, interaction_ids: list[int]
) -> dict[int, InteractionInfo]:
    rows = await conn.fetch(
        """SELECT i.id, i.channel, i.customer_id, i.agent_id, u.display_name AS agent_name
           FROM interactions i LEFT JOIN users u ON u.id = i.agent_id
           WHERE i.id = ANY($1::bigint[])""", interaction_ids)
    return {r["id"]: InteractionInfo(r["channel"], r["customer_id"], r["agent_id"],
                                     r["agent_name"]) for r in rows}


async def latest_chat(conn: asyncpg.Connection, workspace_id: int,
                      customer_id: int) -> asyncpg.Record | None:
    """The customer's most recent chat conversation, open or not."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT i.id, i.state, u.display_name AS agent_name,
                  EXISTS (SELECT 1 FROM event_log e WHERE e.interaction_id = i.id
                          AND e.kind = 'customer.left') AS customer_left
           FROM interactions i LEFT JOIN users u ON u.id = i.agent_id
           WHERE i.workspace_id = $1 AND i.customer_id = $2 AND i.channel = 'chat'
           ORDER BY i.id DESC LIMIT 1""", workspace_id, customer_id)
    return row


async def visitor_state(conn: asyncpg.Connection, workspace_id: int,
                        customer_id: int) -> dict[str, Any]:
    """What the chat widget shows: the latest conversation, without internal notes."""
    name = await conn.fetchval("SELECT display_name FROM customers WHERE id = $1", customer_id)
    chat = await latest_chat(conn, workspace_id, customer_id)
    conversation = None
    if chat is not None:
        conversation = {
            "interaction_id": chat["id"],
            # The customer who ended the chat sees it ended, though the agent may still write
            # up the conversation.
            "state": "closed" if chat["customer_left"] else _customer_state(chat["state"]),
            "agent": chat["agent_name"] if chat["state"] in ("assigned", "wrapup", "closed")
            else None,
            "messages": await messages(conn, chat["id"], include_internal=False),
        }
    return {"name": name, "conversation": conversation}


def _customer_state(state: str) -> str:
    """The customer's view: waiting, talking to someone, or over (an offer is still waiting)."""
    return {"queued": "waiting", "offered": "waiting", "assigned": "active"}.get(state, "closed")


async def queue_position(conn: asyncpg.Connection, workspace_id: int,
                         interaction_id: int) -> dict[str, Any] | None:
    """Place in the queue and an estimated wait, for a waiting interaction (else None).

    Defined once, in SQL (`cc_queue_position`, migration 0006), because intake computes it in
    the same round trip as the message it stores. An estimate, said as such to the customer.
    """
    place: dict[str, Any] | None = await conn.fetchval(
        "SELECT cc_queue_position($1, $2)", workspace_id, interaction_id)
    return place


async def staffed_agents(conn: asyncpg.Connection, workspace_id: int,
                         skills: dict[str, int]) -> int:
    """Agents signed in (available or away) with every skill a queue needs, at its level."""
    count: int = await conn.fetchval(
        """SELECT count(*) FROM users u JOIN agent_presence p ON p.user_id = u.id
           WHERE u.workspace_id = $1 AND u.disabled_at IS NULL
             AND p.presence IN ('available', 'away')
             AND NOT EXISTS (
               SELECT 1 FROM jsonb_each_text($2::jsonb) need(skill, level)
               WHERE NOT EXISTS (
                 SELECT 1 FROM agent_skills a JOIN skills s ON s.id = a.skill_id
                 WHERE a.user_id = u.id AND s.name = need.skill
                   AND a.level >= need.level::int))""", workspace_id, skills)
    return count
