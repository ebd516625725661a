"""Web chat visitors: who is behind a browser, kept across reloads and visits.

The browser keeps a secret token; the server keeps its hash and the visitor's chat identity.
The same token later is the same customer. An email given in the pre-chat form that belongs to a
known customer links the visitor to that customer, so their history is one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

from contactcenter import events
from contactcenter.core import Core
from contactcenter.errors import InputError
from contactcenter.events import Event, LoggedEvent
from contactcenter.identity import InvalidAddress, normalize_email

MAX_NAME_CHARS = 100
MAX_TOKEN_CHARS = 100


@dataclass(frozen=True)
class Visitor:
    customer_id: int
    address: str
    name: str
    topic: str
    # Only when the visitor was just created: the secret the browser keeps.
    token: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def find_visitor(conn: asyncpg.Connection, workspace_id: int, token: str) -> Visitor | None:
    if not 0 < len(token) <= MAX_TOKEN_CHARS:
        return None
    row = await conn.fetchrow(
        """UPDATE chat_visitors v SET last_seen_at = now()
           FROM customers c WHERE v.token_hash = $1 AND v.workspace_id = $2
             AND c.id = v.customer_id
           RETURNING v.customer_id, v.address, v.topic, c.display_name""",
        _hash(token), workspace_id)
    if row is None:
        return None
    return Visitor(row["customer_id"], row["address"], row["display_name"], row["topic"])


def check_profile(name: str, email: str, topic: str, topics: dict[str, str]) -> tuple[str, str]:
    """The pre-chat form: a name, an optional email, a known topic or none (the chat's default
    queue). Returns (name, email)."""
    name = " ".join(name.split())
    if not name:
        raise InputError("name_required", "please tell us your name")
    if len(name) > MAX_NAME_CHARS:
        raise InputError("name_too_long", f"a name has at most {MAX_NAME_CHARS} characters")
    if topic and topic not in topics:
        raise InputError("bad_topic", f"topic must be one of: {', '.join(topics)}")
    email = email.strip()
    if email:
        try:
            email = normalize_email(email)
        except InvalidAddress:
            raise InputError("bad_email", f"{email!r} is not an email address") from None
    return name, email


async def start_visitor(core: Core, workspace_id: int, name: str, email: str, topic: str,
                        token: str | None = None) -> Visitor:
    """The pre-chat form was sent: the visitor it names, created or updated."""
    name, email = check_profile(name, email, topic, core.config.channels.webchat.topics)
    async with core.pool.acquire() as conn, conn.transaction():
        known = await find_visitor(conn, workspace_id, token) if token else None
        logged: list[LoggedEvent] = []
        if known is not None:
            visitor = known
            await conn.execute(
                """UPDATE chat_visitors SET topic = $2 WHERE workspace_id = $1 AND address = $3""",
                workspace_id, topic, known.address)
            await conn.execute(
                """UPDATE customers SET display_name = $2, updated_at = now()
                   WHERE id = $1 AND display_name = ''""", known.customer_id, name)
        else:
            visitor, logged = await _new_visitor(conn, workspace_id, name, email, topic)
        if email:
            logged += await _link_email(conn, workspace_id, visitor.customer_id, email)
    await events.publish(core.redis, logged)
    return Visitor(visitor.customer_id, visitor.address, visitor.name or name, topic,
                   visitor.token)


async def _new_visitor(conn: asyncpg.Connection, ws: int, name: str, email: str,
                       topic: str) -> tuple[Visitor, list[LoggedEvent]]:
    logged: list[LoggedEvent] = []
    customer_id = None
    if email:
        customer_id = await conn.fetchval(
            """SELECT customer_id FROM customer_identities
               WHERE workspace_id = $1 AND kind = 'email' AND address = $2""", ws, email)
    if customer_id is None:
        customer_id = await conn.fetchval(
            "INSERT INTO customers (workspace_id, display_name) VALUES ($1, $2) RETURNING id",
            ws, name)
        logged.append(await events.record(conn, Event(
            "customer.created", ws, {"kind": "chat"}, customer_id=customer_id)))
    else:  # a known customer we had no name for (an email without one): now we have it
        await conn.execute(
            """UPDATE customers SET display_name = $2, updated_at = now()
               WHERE id = $1 AND display_name = ''""", customer_id, name)
    address = f"visitor-{secrets.token_hex(12)}"
    token = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
           VALUES ($1, $2, 'chat', $3)""", ws, customer_id, address)
    await conn.execute(
        """INSERT INTO chat_visitors (token_hash, workspace_id, customer_id, address, topic)
           VALUES ($1, $2, $3, $4, $5)""", _hash(token), ws, customer_id, address, topic)
    shown = await conn.fetchval("SELECT display_name FROM customers WHERE id = $1", customer_id)
    return Visitor(customer_id, address, shown or name, topic, token), logged


async def _link_email(conn: asyncpg.Connection, ws: int, customer_id: int,
                      email: str) -> list[LoggedEvent]:
    """Add the email to the customer unless someone already has it (then nothing changes:
    merging two existing customers is a person's decision, not a form's)."""
    added = await conn.fetchval(
        """INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
           VALUES ($1, $2, 'email', $3) ON CONFLICT DO NOTHING RETURNING id""",
        ws, customer_id, email)
    if added is None:
        return []
    return [await events.record(conn, Event(
        "customer.identity_added", ws, {"kind": "email", "address": email},
        customer_id=customer_id))]
