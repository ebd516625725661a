"""Web chat visitors: who is behind a browser, kept across reloads and visits.

The browser keeps a secret token; the server keeps its hash and the visitor's chat identity.
The same token later is the same customer.

An email typed in the pre-chat form is a claim, not an identity (DESIGN.md, principle 10):
anyone can type anyone's address. A new visitor is therefore always a new customer of their
own, who sees no earlier conversation; the address is kept beside the visitor as a claim. It
becomes an identity only by proof: the visitor enters the one-time code mailed to it (their
record is then merged with the customer who holds the address, audited and reversible like an
agent's merge), or an agent, who sees the claim among the record's likely duplicates, merges
the two records.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from contactcenter import events
from contactcenter.core import Core
from contactcenter.crm import customers
from contactcenter.errors import InputError
from contactcenter.events import Event, LoggedEvent
from contactcenter.identity import InvalidAddress, normalize_email

MAX_NAME_CHARS = 100
MAX_TOKEN_CHARS = 100
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=15)
CODE_MAX_TRIES = 5
# A visitor cannot make us mail someone more often than this (the code is mailed to an address
# the visitor merely typed: it must not become a way to flood a stranger's inbox).
CODE_RESEND_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Visitor:
    id: int
    customer_id: int
    address: str
    name: str
    topic: str
    # The email typed in the form while it is not proven; None once verified or when none.
    claimed_email: str | None = None
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
           RETURNING v.id, v.customer_id, v.address, v.topic, c.display_name,
                     CASE WHEN v.email_verified_at IS NULL THEN v.claimed_email END AS claim""",
        _hash(token), workspace_id)
    if row is None:
        return None
    return Visitor(row["id"], row["customer_id"], row["address"], row["display_name"],
                   row["topic"], row["claim"])


async def current_customer(conn: asyncpg.Connection, visitor_id: int) -> int:
    """The visitor's customer now (an agent may have merged their record since they came)."""
    customer_id: int = await conn.fetchval(
        "SELECT customer_id FROM chat_visitors WHERE id = $1", visitor_id)
    return customer_id


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


async def start_visitor(core: Core, workspace_id: int, name: str, email: str,
                        topic: str) -> Visitor:
    """The pre-chat form was sent: a new customer of the visitor's own, whatever address they
    typed (kept as their unproven claim)."""
    name, email = check_profile(name, email, topic, core.config.channels.webchat.topics)
    address = f"visitor-{secrets.token_hex(12)}"
    token = secrets.token_urlsafe(32)
    async with core.pool.acquire() as conn, conn.transaction():
        customer_id: int = await conn.fetchval(
            "INSERT INTO customers (workspace_id, display_name) VALUES ($1, $2) RETURNING id",
            workspace_id, name)
        logged = await events.record(conn, Event(
            "customer.created", workspace_id, {"kind": "chat"}, customer_id=customer_id))
        await conn.execute(
            """INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
               VALUES ($1, $2, 'chat', $3)""", workspace_id, customer_id, address)
        visitor_id: int = await conn.fetchval(
            """INSERT INTO chat_visitors (token_hash, workspace_id, customer_id, address, topic,
                                          claimed_email)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            _hash(token), workspace_id, customer_id, address, topic, email or None)
    await events.publish(core.redis, [logged])
    return Visitor(visitor_id, customer_id, address, name, topic, email or None, token)


def _code_hash(visitor_id: int, code: str) -> str:
    return hashlib.sha256(f"{visitor_id}:{code}".encode()).hexdigest()


async def new_email_code(core: Core, visitor: Visitor) -> str | None:
    """A fresh one-time code for the visitor's claimed email, to be mailed to it; None when
    there is no claim, or a code was sent less than CODE_RESEND_AFTER ago."""
    if visitor.claimed_email is None:
        return None
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    changed = await core.pool.fetchval(
        """UPDATE chat_visitors SET email_code_hash = $2, email_code_tries = 0,
               email_code_expires_at = now() + $3::interval, email_code_sent_at = now()
           WHERE id = $1 AND email_verified_at IS NULL AND claimed_email IS NOT NULL
             AND (email_code_sent_at IS NULL OR email_code_sent_at < now() - $4::interval)
           RETURNING id""",
        visitor.id, _code_hash(visitor.id, code), CODE_LIFETIME, CODE_RESEND_AFTER)
    return code if changed is not None else None


async def verify_email(core: Core, workspace_id: int, visitor: Visitor, code: str) -> int:
    """Check the code the visitor entered. Right: the claimed email becomes theirs, and their
    record is merged into the customer who already held it, if anyone did; returns the visitor's
    customer id from now on. Wrong, expired or tried too often: InputError."""
    code = code.strip()
    async with core.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT customer_id, claimed_email, email_code_hash, email_code_tries,
                      email_code_expires_at < now() AS expired, email_verified_at
               FROM chat_visitors WHERE id = $1 FOR UPDATE""", visitor.id)
        if row is None or row["claimed_email"] is None or row["email_verified_at"] is not None:
            raise InputError("nothing_to_verify", "there is no email waiting to be verified")
        if row["email_code_hash"] is None or row["expired"]:
            raise InputError("code_expired", "that code has expired: ask for a new one")
        if row["email_code_tries"] >= CODE_MAX_TRIES:
            raise InputError("too_many_tries", "too many wrong codes: ask for a new one")
        right = hmac.compare_digest(row["email_code_hash"], _code_hash(visitor.id, code))
        if not right:  # counted, so committed: the error is raised after the transaction
            await conn.execute(
                "UPDATE chat_visitors SET email_code_tries = email_code_tries + 1 WHERE id = $1",
                visitor.id)
    if not right:
        raise InputError("wrong_code", "that is not the code we sent")
    async with core.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """UPDATE chat_visitors SET email_verified_at = now(), email_code_hash = NULL
               WHERE id = $1 AND email_verified_at IS NULL AND email_code_hash = $2
               RETURNING customer_id, claimed_email""", visitor.id, _code_hash(visitor.id, code))
        if row is None:  # another socket of theirs proved it in between
            raise InputError("nothing_to_verify", "there is no email waiting to be verified")
        email: str = row["claimed_email"]
        mine: int = row["customer_id"]
        holder = await conn.fetchval(
            """SELECT customer_id FROM customer_identities
               WHERE workspace_id = $1 AND kind = 'email' AND address = $2""", workspace_id, email)
        logged: list[LoggedEvent] = []
        if holder is None:
            await conn.execute(
                """INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
                   VALUES ($1, $2, 'email', $3)""", workspace_id, mine, email)
            logged.append(await events.record(conn, Event(
                "customer.identity_added", workspace_id,
                {"kind": "email", "address": email, "verified": "chat code"},
                customer_id=mine)))
    await events.publish(core.redis, logged)
    if holder is None or holder == mine:
        return mine
    await customers.merge(core, workspace_id, None, holder, mine)
    return int(holder)
