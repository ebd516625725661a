"""The customer record: search, edits, identities, duplicates, and the merge (audited, and
undone from the audit log)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from contactcenter import events
from contactcenter.core import Core
from contactcenter.crm.attributes import checked_attributes
from contactcenter.errors import Conflict, InputError, NotFound
from contactcenter.events import Event
from contactcenter.identity import IdentityKind, InvalidAddress, normalize_address, shown_name

MAX_PAGE = 200
# A merge moves every row of these tables that points at the merged customer.
_OWNED = ("customer_identities", "chat_visitors", "interactions", "cases", "leads",
          "opportunities", "tasks", "customer_notes", "event_log")


@dataclass(frozen=True)
class CustomerPatch:
    name: str | None = None
    attributes: dict[str, Any] | None = None
    tags: list[str] | None = None
    company: str | None = None  # a name; "" removes the company
    consent: dict[str, bool] | None = None  # channel -> opted out


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    addresses = dict(zip(row["identity_kinds"] or [], row["identity_addresses"] or [],
                         strict=True))
    return {"id": row["id"],
            "name": shown_name(row["display_name"], addresses.get("phone", addresses.get("email"))),
            "company": row["company"], "tags": list(row["tags"]),
            "attributes": dict(row["attributes"]),
            "identities": [{"kind": k, "address": a} for k, a in zip(
                row["identity_kinds"] or [], row["identity_addresses"] or [], strict=True)
                if k != "chat"],
            "created_at": row["created_at"].isoformat()}


async def search(conn: asyncpg.Connection, workspace_id: int, *, text: str = "",
                 tag: str | None = None, company: str | None = None,
                 attributes: dict[str, str] | None = None, after: int = 0,
                 limit: int = 50) -> dict[str, Any]:
    """Customers whose name, phone or email contains `text` (trigram indexes make the substring
    search fast), filtered by tag, company and attribute values; newest last, by id pages."""
    limit = max(1, min(limit, MAX_PAGE))
    where = ["c.workspace_id = $1", "c.merged_into IS NULL", "c.id > $2"]
    args: list[Any] = [workspace_id, after]
    source = "customers c"
    text = text.strip()
    if text:
        # The matches are gathered first, each side through its trigram index, then paged:
        # filtering the whole table in id order would read a million rows for a rare name.
        args.append(_like(text))
        digits = "".join(ch for ch in text if ch.isdigit())
        # "(415) 555-0100" finds +14155550100: match the digits of a phone-like query.
        args.append(_like(digits) if len(digits) >= 4 else args[-1])
        source = f"""(SELECT id FROM customers WHERE workspace_id = $1
                       AND display_name ILIKE ${len(args) - 1}
                     UNION
                     SELECT customer_id FROM customer_identities
                     WHERE workspace_id = $1 AND kind <> 'chat'
                       AND (address ILIKE ${len(args) - 1} OR address LIKE ${len(args)})) hit
                    JOIN customers c ON c.id = hit.id"""
    if tag:
        args.append([tag])
        where.append(f"c.tags @> ${len(args)}::text[]")
    if company:
        args.append(company)
        where.append(f"lower(co.name) = lower(${len(args)})")
    if attributes:
        args.append(attributes)
        where.append(f"c.attributes @> ${len(args)}::jsonb")
    order = "hit.id" if text else "c.id"
    rows = await conn.fetch(
        f"""SELECT c.id, c.display_name, c.tags, c.attributes, c.created_at, co.name AS company,
                   ARRAY(SELECT kind FROM customer_identities WHERE customer_id = c.id
                         ORDER BY id) AS identity_kinds,
                   ARRAY(SELECT address FROM customer_identities WHERE customer_id = c.id
                         ORDER BY id) AS identity_addresses
            FROM {source} LEFT JOIN companies co ON co.id = c.company_id
            WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {limit + 1}""", *args)
    page = [_summary(r) for r in rows[:limit]]
    return {"customers": page, "next_after": page[-1]["id"] if len(rows) > limit else None}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _live(conn: asyncpg.Connection, workspace_id: int, customer_id: int, *,
                lock: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""SELECT id, display_name, attributes, tags, consent, company_id, merged_into
            FROM customers WHERE id = $1 AND workspace_id = $2{' FOR UPDATE' if lock else ''}""",
        customer_id, workspace_id)
    if row is None:
        raise NotFound("no_such_customer", f"no customer {customer_id}")
    if row["merged_into"] is not None:
        raise Conflict("merged", f"customer {customer_id} was merged into customer "
                       f"{row['merged_into']}: use that record")
    return row


async def update(core: Core, workspace_id: int, user_id: int, customer_id: int,
                 patch: CustomerPatch) -> None:
    attributes = None if patch.attributes is None else checked_attributes(
        core.config.customer_attributes, patch.attributes)
    async with core.pool.acquire() as conn, conn.transaction():
        row = await _live(conn, workspace_id, customer_id, lock=True)
        changed: dict[str, Any] = {}
        if patch.name is not None:
            name = patch.name.strip()
            if not name:
                raise InputError("empty_name", "the name is empty")
            changed["display_name"] = name
        if attributes is not None:
            merged = {**dict(row["attributes"]), **attributes}
            changed["attributes"] = {k: v for k, v in merged.items() if v is not None}
        if patch.tags is not None:
            changed["tags"] = sorted({t.strip().lower() for t in patch.tags if t.strip()})
        if patch.company is not None:
            changed["company_id"] = await _company_id(conn, workspace_id, patch.company)
        if patch.consent is not None:
            consent = dict(row["consent"])
            for channel, opted_out in patch.consent.items():
                consent[channel] = {"opted_out": opted_out, "by": "agent", "user_id": user_id}
            changed["consent"] = consent
        if not changed:
            return
        sets = ", ".join(f"{column} = ${i + 2}" for i, column in enumerate(changed))
        await conn.execute(f"UPDATE customers SET {sets}, updated_at = now() WHERE id = $1",
                           customer_id, *changed.values())
        logged = await events.record(conn, Event(
            "customer.updated", workspace_id, {"fields": sorted(changed)},
            customer_id=customer_id, actor_user_id=user_id))
    await events.publish(core.redis, [logged])


async def _company_id(conn: asyncpg.Connection, workspace_id: int, name: str) -> int | None:
    name = name.strip()
    if not name:
        return None
    found: int | None = await conn.fetchval(
        "SELECT id FROM companies WHERE workspace_id = $1 AND lower(name) = lower($2)",
        workspace_id, name)
    if found is not None:
        return found
    created: int = await conn.fetchval(
        """INSERT INTO companies (workspace_id, name) VALUES ($1, $2)
           ON CONFLICT (workspace_id, lower(name)) DO UPDATE SET name = companies.name
           RETURNING id""", workspace_id, name)
    return created


async def add_identity(core: Core, workspace_id: int, user_id: int, customer_id: int,
                       kind: IdentityKind, address: str) -> dict[str, Any]:
    """A phone or email the customer gave: from now on their messages find this record. One
    that already belongs to another customer is refused, naming that customer, so the agent
    can merge the two."""
    try:
        normalized = normalize_address(kind, address, core.config.workspace.default_region)
    except InvalidAddress as exc:
        raise InputError("bad_address", str(exc)) from None
    async with core.pool.acquire() as conn, conn.transaction():
        await _live(conn, workspace_id, customer_id, lock=True)
        owner = await conn.fetchval(
            """SELECT customer_id FROM customer_identities
               WHERE workspace_id = $1 AND kind = $2 AND address = $3""",
            workspace_id, kind, normalized)
        if owner == customer_id:
            return {"kind": kind, "address": normalized}
        if owner is not None:
            raise IdentityTaken(normalized, owner)
        await conn.execute(
            """INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
               VALUES ($1, $2, $3, $4)""", workspace_id, customer_id, kind, normalized)
        logged = await events.record(conn, Event(
            "customer.identity_added", workspace_id, {"kind": kind, "address": normalized},
            customer_id=customer_id, actor_user_id=user_id))
    await events.publish(core.redis, [logged])
    return {"kind": kind, "address": normalized}


async def create(core: Core, workspace_id: int, user_id: int, name: str, company: str,
                 identities: list[tuple[IdentityKind, str]]) -> int:
    """A customer entered by hand, with the numbers and addresses they gave. One already on
    another record is refused, naming it (open that record, or merge, rather than make a
    second one); the page warns of likely duplicates by name before it asks."""
    if not name.strip():
        raise InputError("empty_name", "the name is empty")
    normalized: list[tuple[IdentityKind, str]] = []
    for kind, address in identities:
        try:
            normalized.append((kind, normalize_address(
                kind, address, core.config.workspace.default_region)))
        except InvalidAddress as exc:
            raise InputError("bad_address", str(exc)) from None
    try:
        return await _insert(core, workspace_id, user_id, name, company, normalized)
    except asyncpg.UniqueViolationError:  # given to someone else in the same instant
        raise Conflict("identity_taken", "that number or address was just given to another "
                       "customer: search for it") from None


async def _insert(core: Core, workspace_id: int, user_id: int, name: str, company: str,
                  normalized: list[tuple[IdentityKind, str]]) -> int:
    async with core.pool.acquire() as conn, conn.transaction():
        for kind, address in normalized:
            owner = await conn.fetchval(
                """SELECT customer_id FROM customer_identities
                   WHERE workspace_id = $1 AND kind = $2 AND address = $3""",
                workspace_id, kind, address)
            if owner is not None:
                raise IdentityTaken(address, owner)
        customer_id: int = await conn.fetchval(
            """INSERT INTO customers (workspace_id, display_name, company_id)
               VALUES ($1, $2, $3) RETURNING id""",
            workspace_id, name.strip()[:200], await _company_id(conn, workspace_id, company))
        await conn.executemany(
            """INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
               VALUES ($1, $2, $3, $4)""",
            [(workspace_id, customer_id, kind, address) for kind, address in dict.fromkeys(normalized)])
        logged = await events.record(conn, Event(
            "customer.created", workspace_id, {"by_hand": True}, customer_id=customer_id,
            actor_user_id=user_id))
    await events.publish(core.redis, [logged])
    return customer_id


class IdentityTaken(Conflict):
    def __init__(self, address: str, owner: int) -> None:
        super().__init__("identity_taken", f"{address} belongs to customer {owner}: merge the "
                         f"two records (POST /api/customers/{owner}/merge)")
        self.owner = owner


async def duplicates_of(conn: asyncpg.Connection, workspace_id: int, customer_id: int,
                        limit: int = 20) -> list[dict[str, Any]]:
    """Other live records that are probably the same person, best first, each with why: the
    same mailbox written another way (dots and +tags at Gmail, case), the email a chat visitor
    typed but did not prove (the agent decides whether it is them), or a similar name (trigram
    similarity when pg_trgm is installed, else the same name)."""
    me = await conn.fetchrow(
        "SELECT display_name FROM customers WHERE id = $1 AND workspace_id = $2",
        customer_id, workspace_id)
    if me is None:
        raise NotFound("no_such_customer", f"no customer {customer_id}")
    trigrams = await conn.fetchval("SELECT true FROM pg_extension WHERE extname = 'pg_trgm'")
    # `%` is the indexed form of "similar enough" (pg_trgm.similarity_threshold, 0.3).
    similar = "c.display_name % $3" if trigrams else "lower(c.display_name) = lower($3)"
    score = "similarity(c.display_name, $3)" if trigrams else "1.0"
    rows = await conn.fetch(
        f"""WITH mine AS (
                SELECT cc_canonical_email(address) AS mailbox FROM customer_identities
                WHERE customer_id = $2 AND kind = 'email'),
            claimed AS (
                SELECT cc_canonical_email(claimed_email) AS mailbox FROM chat_visitors
                WHERE customer_id = $2 AND claimed_email IS NOT NULL
                  AND email_verified_at IS NULL),
            claimed_by AS (
                SELECT DISTINCT ci.customer_id AS id FROM customer_identities ci
                WHERE ci.workspace_id = $1 AND ci.kind = 'email'
                  AND cc_canonical_email(ci.address) IN (SELECT mailbox FROM claimed)),
            same_mailbox AS (
                SELECT DISTINCT ci.customer_id AS id FROM customer_identities ci
                WHERE ci.workspace_id = $1 AND ci.kind = 'email'
                  AND cc_canonical_email(ci.address) IN (SELECT mailbox FROM mine)),
            similar_name AS (
                SELECT c.id, {score} AS score FROM customers c
                WHERE c.workspace_id = $1 AND $3 <> '' AND {similar})
            SELECT c.id, c.display_name, m.id IS NOT NULL AS same_mailbox,
                   k.id IS NOT NULL AS claimed, coalesce(n.score, 0) AS name_score
            FROM customers c
            LEFT JOIN same_mailbox m ON m.id = c.id
            LEFT JOIN claimed_by k ON k.id = c.id
            LEFT JOIN similar_name n ON n.id = c.id
            WHERE c.id IN (SELECT id FROM same_mailbox UNION SELECT id FROM claimed_by
                           UNION SELECT id FROM similar_name)
              AND c.id <> $2 AND c.merged_into IS NULL
              AND (m.id IS NOT NULL OR k.id IS NOT NULL OR n.score >= 0.5)
            ORDER BY same_mailbox DESC, claimed DESC, name_score DESC, c.id LIMIT $4""",
        workspace_id, customer_id, me["display_name"], limit)
    return [{"id": r["id"], "name": r["display_name"],
             "reasons": (["same mailbox"] if r["same_mailbox"] else [])
             + (["their email, as typed in chat (not verified)"] if r["claimed"] else [])
             + ([f"similar name ({r['name_score']:.2f})"] if r["name_score"] else [])}
            for r in rows]


async def merge(core: Core, workspace_id: int, user_id: int | None, survivor_id: int,
                merged_id: int) -> int:
    """Move everything of `merged_id` into `survivor_id`; the audit entry it returns lists what
    moved, so the merge can be undone. No user: the customer proved the records are theirs
    (a chat visitor entered the code mailed to the address they claimed)."""
    if survivor_id == merged_id:
        raise Conflict("same_customer", "a customer cannot be merged into itself")
    async with core.pool.acquire() as conn, conn.transaction():
        first, second = sorted((survivor_id, merged_id))  # lock in one order: no deadlock
        rows = {first: await _live(conn, workspace_id, first, lock=True),
                second: await _live(conn, workspace_id, second, lock=True)}
        survivor, merged = rows[survivor_id], rows[merged_id]
        moved: dict[str, list[int]] = {}
        for table in _OWNED:
            ids = await conn.fetch(
                f"UPDATE {table} SET customer_id = $1 WHERE customer_id = $2 RETURNING id",
                survivor_id, merged_id)
            moved[table] = [r["id"] for r in ids]
        before = {"display_name": survivor["display_name"],
                  "attributes": dict(survivor["attributes"]), "tags": list(survivor["tags"]),
                  "consent": dict(survivor["consent"]), "company_id": survivor["company_id"]}
        consent = {**dict(survivor["consent"])}
        for channel, state in dict(merged["consent"]).items():
            if state.get("opted_out") or channel not in consent:  # an opt-out always survives
                consent[channel] = state
        await conn.execute(
            """UPDATE customers SET display_name = $2, attributes = $3, tags = $4, consent = $5,
                   company_id = $6, updated_at = now() WHERE id = $1""",
            survivor_id, survivor["display_name"] or merged["display_name"],
            {**dict(merged["attributes"]), **dict(survivor["attributes"])},
            sorted(set(survivor["tags"]) | set(merged["tags"])), consent,
            survivor["company_id"] or merged["company_id"])
        await conn.execute("UPDATE customers SET merged_into = $2 WHERE id = $1",
                           merged_id, survivor_id)
        audit_id: int = await conn.fetchval(
            """INSERT INTO audit_log (workspace_id, actor_user_id, action, subject, details)
               VALUES ($1, $2, 'customer.merge', $3, $4) RETURNING id""",
            workspace_id, user_id, f"customer:{survivor_id}",
            {"survivor": survivor_id, "merged": merged_id, "moved": moved,
             "survivor_before": before})
        logged = await events.record(conn, Event(
            "customer.merged", workspace_id, {"merged": merged_id, "audit_id": audit_id},
            customer_id=survivor_id, actor_user_id=user_id))
    await events.publish(core.redis, [logged])
    return audit_id


async def undo_merge(core: Core, workspace_id: int, user_id: int, audit_id: int) -> None:
    """Put back what the merge moved and the survivor's own fields as they were. What happened
    to the survivor since (a new conversation, say) stays with it."""
    async with core.pool.acquire() as conn, conn.transaction():
        entry = await conn.fetchrow(
            """SELECT details, undone_at FROM audit_log WHERE id = $1 AND workspace_id = $2
               AND action = 'customer.merge' FOR UPDATE""", audit_id, workspace_id)
        if entry is None:
            raise NotFound("no_such_merge", f"no merge {audit_id} in the audit log")
        if entry["undone_at"] is not None:
            raise Conflict("already_undone", f"merge {audit_id} was already undone")
        details = dict(entry["details"])
        survivor, merged = details["survivor"], details["merged"]
        await _live(conn, workspace_id, survivor, lock=True)
        for table in _OWNED:
            await conn.execute(
                f"""UPDATE {table} SET customer_id = $1
                    WHERE id = ANY($3::bigint[]) AND customer_id = $2""",
                merged, survivor, details["moved"].get(table, []))
        before = details["survivor_before"]
        await conn.execute(
            """UPDATE customers SET display_name = $2, attributes = $3, tags = $4, consent = $5,
                   company_id = $6, updated_at = now() WHERE id = $1""",
            survivor, before["display_name"], before["attributes"], before["tags"],
            before["consent"], before["company_id"])
        await conn.execute("UPDATE customers SET merged_into = NULL WHERE id = $1", merged)
        await conn.execute(
            "UPDATE audit_log SET undone_at = now(), undone_by = $2 WHERE id = $1",
            audit_id, user_id)
        await conn.execute(
            """INSERT INTO audit_log (workspace_id, actor_user_id, action, subject, details)
               VALUES ($1, $2, 'customer.merge_undone', $3, $4)""",
            workspace_id, user_id, f"customer:{survivor}", {"merge": audit_id})
        logged = await events.record(conn, Event(
            "customer.unmerged", workspace_id, {"merged": merged, "audit_id": audit_id},
            customer_id=survivor, actor_user_id=user_id))
    await events.publish(core.redis, [logged])


async def add_note(core: Core, workspace_id: int, user_id: int, customer_id: int,
                   body: str) -> int:
    body = body.strip()
    if not body:
        raise InputError("empty_note", "the note is empty")
    async with core.pool.acquire() as conn, conn.transaction():
        await _live(conn, workspace_id, customer_id)
        note_id: int = await conn.fetchval(
            """INSERT INTO customer_notes (workspace_id, customer_id, author_user_id, body)
               VALUES ($1, $2, $3, $4) RETURNING id""", workspace_id, customer_id, user_id, body)
    return note_id


async def audit_trail(conn: asyncpg.Connection, workspace_id: int,
                      customer_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT a.id, a.at, a.action, a.details, a.undone_at, u.display_name AS actor
           FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id
           WHERE a.workspace_id = $1 AND a.subject = $2 ORDER BY a.id DESC LIMIT 100""",
        workspace_id, f"customer:{customer_id}")
    return [{"id": r["id"], "at": r["at"].isoformat(), "action": r["action"],
             "actor": r["actor"], "undone_at": r["undone_at"] and r["undone_at"].isoformat(),
             "details": {k: v for k, v in dict(r["details"]).items() if k != "survivor_before"}}
            for r in rows]
