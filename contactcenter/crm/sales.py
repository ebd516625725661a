"""The sales workflow: leads from interactions, qualified and converted into opportunities
that move along the configured stage pipeline, and the weighted forecast."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from contactcenter import events
from contactcenter.core import Core
from contactcenter.crm.members import require_member
from contactcenter.errors import Conflict, InputError, NotFound
from contactcenter.events import Event, LoggedEvent
from contactcenter.identity import SHOWN_ADDRESS_SQL, shown_name
from contactcenter.settings import FileConfig, StageConfig

LEAD_STATUSES = ("new", "qualified", "disqualified", "converted")


def stage(config: FileConfig, name: str) -> StageConfig:
    for s in config.sales.stages:
        if s.name == name:
            return s
    raise InputError("bad_stage", f"stage must be one of: "
                     f"{', '.join(s.name for s in config.sales.stages)}")


def amount_of(value: str | float | int | Decimal) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InputError("bad_amount", f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise InputError("bad_amount", "an amount is a number from 0 to 999,999,999,999.99")
    return amount.quantize(Decimal("0.01"))


async def create_lead(conn: asyncpg.Connection, workspace_id: int, user_id: int | None,
                      customer_id: int, title: str, *, interaction_id: int | None = None,
                      source_channel: str | None = None, owner_user_id: int | None = None,
                      notes: str = "") -> tuple[int, LoggedEvent]:
    title = title.strip()[:200]
    if not title:
        raise InputError("empty_title", "a lead needs a title")
    await require_member(conn, workspace_id, owner_user_id, "bad_owner")
    lead_id: int = await conn.fetchval(
        """INSERT INTO leads (workspace_id, customer_id, interaction_id, source_channel, title,
               owner_user_id, notes) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        workspace_id, customer_id, interaction_id, source_channel, title, owner_user_id,
        notes.strip()[:5000])
    if interaction_id is not None:
        await conn.execute("UPDATE interactions SET lead_id = $2 WHERE id = $1",
                           interaction_id, lead_id)
    logged = await events.record(conn, Event(
        "lead.created", workspace_id, {"lead_id": lead_id, "title": title,
                                       "source_channel": source_channel},
        interaction_id=interaction_id, customer_id=customer_id, actor_user_id=user_id))
    return lead_id, logged


async def set_lead_status(core: Core, workspace_id: int, user_id: int, lead_id: int,
                          status: str, reason: str = "") -> None:
    if status not in ("new", "qualified", "disqualified"):
        raise InputError("bad_status", "status must be new, qualified or disqualified "
                         "(convert a lead with POST /api/leads/{id}/convert)")
    async with core.pool.acquire() as conn, conn.transaction():
        lead = await _lead(conn, workspace_id, lead_id)
        await conn.execute(
            """UPDATE leads SET status = $2, status_reason = $3, status_changed_at = now()
               WHERE id = $1""", lead_id, status, reason.strip())
        logged = await events.record(conn, Event(
            "lead.updated", workspace_id, {"lead_id": lead_id, "status": status,
                                           "reason": reason.strip()},
            customer_id=lead["customer_id"], actor_user_id=user_id))
    await events.publish(core.redis, [logged])


async def _lead(conn: asyncpg.Connection, workspace_id: int, lead_id: int) -> asyncpg.Record:
    lead = await conn.fetchrow(
        "SELECT * FROM leads WHERE id = $1 AND workspace_id = $2 FOR UPDATE",
        lead_id, workspace_id)
    if lead is None:
        raise NotFound("no_such_lead", f"no lead {lead_id}")
    if lead["status"] == "converted":
        raise Conflict("converted", f"lead {lead_id} was converted into an opportunity")
    return lead


async def convert(core: Core, workspace_id: int, user_id: int, lead_id: int, *, name: str,
                  amount: Decimal, currency: str | None, expected_close: date | None,
                  stage_name: str | None = None, owner_user_id: int | None = None) -> int:
    """The lead becomes an opportunity at the pipeline's first open stage (or the one given),
    with that stage's probability."""
    config = core.config
    first_open = next(s for s in config.sales.stages if s.outcome is None)
    chosen = stage(config, stage_name) if stage_name else first_open
    async with core.pool.acquire() as conn, conn.transaction():
        lead = await _lead(conn, workspace_id, lead_id)
        await require_member(conn, workspace_id, owner_user_id, "bad_owner")
        if lead["status"] == "disqualified":
            raise Conflict("disqualified", f"lead {lead_id} was disqualified")
        opportunity_id: int = await conn.fetchval(
            """INSERT INTO opportunities (workspace_id, customer_id, lead_id, name, stage, amount,
                   currency, expected_close, probability, owner_user_id, closed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                       CASE WHEN $11 THEN now() END) RETURNING id""",
            workspace_id, lead["customer_id"], lead_id, name.strip()[:200] or lead["title"],
            chosen.name, amount, currency or config.sales.currency, expected_close,
            chosen.probability, owner_user_id or lead["owner_user_id"] or user_id,
            chosen.outcome is not None)
        await conn.execute(
            "UPDATE leads SET status = 'converted', status_changed_at = now() WHERE id = $1",
            lead_id)
        logged = [await events.record(conn, Event(
            "lead.converted", workspace_id, {"lead_id": lead_id, "opportunity_id": opportunity_id},
            customer_id=lead["customer_id"], actor_user_id=user_id)),
            await events.record(conn, Event(
                "opportunity.created", workspace_id,
                {"opportunity_id": opportunity_id, "stage": chosen.name, "amount": str(amount)},
                customer_id=lead["customer_id"], actor_user_id=user_id))]
    await events.publish(core.redis, logged)
    return opportunity_id


async def update_opportunity(core: Core, workspace_id: int, user_id: int, opportunity_id: int,
                             changes: dict[str, Any]) -> asyncpg.Record:
    """Moving to a stage takes that stage's probability unless one is given; a closing stage
    (won or lost) closes the opportunity. Returns the opportunity as it now is."""
    fields: dict[str, Any] = {}
    if "stage" in changes:
        chosen = stage(core.config, changes["stage"])
        fields.update(stage=chosen.name, probability=chosen.probability)
        fields["closed"] = chosen.outcome is not None
    if changes.get("probability") is not None:
        fields["probability"] = int(changes["probability"])
    if changes.get("amount") is not None:
        fields["amount"] = amount_of(changes["amount"])
    for key in ("name", "expected_close", "owner_user_id", "currency"):
        if changes.get(key) is not None:
            fields[key] = changes[key]
    async with core.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM opportunities WHERE id = $1 AND workspace_id = $2 FOR UPDATE",
            opportunity_id, workspace_id)
        if row is None:
            raise NotFound("no_such_opportunity", f"no opportunity {opportunity_id}")
        await require_member(conn, workspace_id, fields.get("owner_user_id"), "bad_owner")
        if not fields:
            return row
        closed = fields.pop("closed", None)
        sets = [f"{column} = ${i + 2}" for i, column in enumerate(fields)]
        if "stage" in fields and fields["stage"] != row["stage"]:
            sets.append("stage_changed_at = now()")
        if closed is not None:
            sets.append("closed_at = CASE WHEN %s THEN coalesce(closed_at, now()) END"
                        % ("true" if closed else "false"))
        updated = await conn.fetchrow(
            f"UPDATE opportunities SET {', '.join(sets)} WHERE id = $1 RETURNING *",
            opportunity_id, *fields.values())
        logged = await events.record(conn, Event(
            "opportunity.updated", workspace_id,
            {"opportunity_id": opportunity_id,
             **{k: str(v) for k, v in fields.items() if k in ("stage", "amount", "probability")}},
            customer_id=row["customer_id"], actor_user_id=user_id))
    await events.publish(core.redis, [logged])
    return updated


def opportunity_view(r: asyncpg.Record) -> dict[str, Any]:
    return {"id": r["id"], "customer_id": r["customer_id"], "lead_id": r["lead_id"],
            "name": r["name"], "stage": r["stage"], "amount": str(r["amount"]),
            "currency": r["currency"].strip(),
            "expected_close": r["expected_close"] and r["expected_close"].isoformat(),
            "probability": r["probability"], "owner_user_id": r["owner_user_id"],
            "closed_at": r["closed_at"] and r["closed_at"].isoformat()}


async def board(conn: asyncpg.Connection, config: FileConfig,
                workspace_id: int) -> list[dict[str, Any]]:
    """The pipeline by stage, in the configured order: count, total and each opportunity."""
    rows = await conn.fetch(
        """SELECT o.*, c.display_name AS customer, """ + SHOWN_ADDRESS_SQL + """ AS address
           FROM opportunities o JOIN customers c ON c.id = o.customer_id
           WHERE o.workspace_id = $1 ORDER BY o.expected_close NULLS LAST, o.id""", workspace_id)
    columns = []
    for s in config.sales.stages:
        items = [{**opportunity_view(r), "customer": shown_name(r["customer"], r["address"])}
                 for r in rows
                 if r["stage"] == s.name]
        columns.append({"stage": s.name, "label": s.label or s.name.title(),
                        "outcome": s.outcome, "count": len(items),
                        "total": str(sum((Decimal(i["amount"]) for i in items), Decimal("0.00"))),
                        "opportunities": items})
    return columns


async def forecast(conn: asyncpg.Connection, workspace_id: int, period: str,
                   owner_user_id: int | None = None) -> list[dict[str, Any]]:
    """Open opportunities' amounts weighted by probability, per owner and period of expected
    close (`month` or `quarter`), per currency: what the team can expect to win, and when.
    Won ones are counted at 100 % in their period; lost ones not at all."""
    if period not in ("month", "quarter"):
        raise InputError("bad_period", "period must be month or quarter")
    rows = await conn.fetch(
        f"""SELECT o.owner_user_id, u.display_name AS owner, o.currency,
                   to_char(date_trunc('{period}', o.expected_close),
                           '{'YYYY-MM' if period == 'month' else 'YYYY-"Q"Q'}') AS period,
                   count(*) AS opportunities, sum(o.amount) AS pipeline,
                   sum(o.amount * o.probability / 100.0) AS weighted
            FROM opportunities o LEFT JOIN users u ON u.id = o.owner_user_id
            WHERE o.workspace_id = $1 AND o.expected_close IS NOT NULL
              AND o.probability > 0 AND ($2::bigint IS NULL OR o.owner_user_id = $2)
            GROUP BY 1, 2, 3, 4 ORDER BY 4, 2, 3""", workspace_id, owner_user_id)
    return [{"owner_user_id": r["owner_user_id"], "owner": r["owner"],
             "currency": r["currency"].strip(), "period": r["period"],
             "opportunities": r["opportunities"], "pipeline": str(r["pipeline"]),
             "weighted": str(Decimal(r["weighted"]).quantize(Decimal("0.01")))} for r in rows]
