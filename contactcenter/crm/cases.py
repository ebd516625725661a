"""Cases: the service workflow. Opened from an interaction (at wrap-up or by hand), worked
through new, open, pending the customer, resolved and closed, with SLA deadlines in business
time that stop while the case waits for the customer."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, cast

import asyncpg

from contactcenter import events
from contactcenter.core import Core
from contactcenter.crm.members import require_member
from contactcenter.crm.sla import ResolutionClock, Targets, add_business_seconds
from contactcenter.errors import Conflict, InputError, NotFound
from contactcenter.events import Event, LoggedEvent
from contactcenter.settings import CASE_PRIORITIES, CasePriority, FileConfig
from routing.calendar import Calendar
from routing.config import calendar_of

STATUSES = ("new", "open", "pending", "resolved", "closed")
# Where a case may go from each status (closed is final: a new problem is a new case).
_NEXT = {"new": {"open", "pending", "resolved", "closed"},
         "open": {"pending", "resolved", "closed"},
         "pending": {"open", "resolved", "closed"},
         "resolved": {"open", "closed"},
         "closed": set()}


def sla_calendar(config: FileConfig) -> Calendar | None:
    name = config.sla.calendar
    return None if name is None else calendar_of(config.calendars[name])


def targets(config: FileConfig, priority: str) -> Targets:
    t = config.sla.targets[cast(CasePriority, priority)]  # checked on the way in
    return Targets(t.first_response_minutes * 60, t.next_response_minutes * 60,
                   t.resolution_minutes * 60)


async def open_case(conn: asyncpg.Connection, config: FileConfig, workspace_id: int,
                    user_id: int | None, customer_id: int, subject: str, *,
                    priority: str = "normal", category: str = "", team: str | None = None,
                    owner_user_id: int | None = None,
                    interaction_id: int | None = None) -> tuple[int, LoggedEvent]:
    """Inside the caller's transaction. The first-response and resolution clocks start now;
    the interaction it comes from, if any, is linked to it."""
    subject = subject.strip()[:200]
    if not subject:
        raise InputError("empty_subject", "a case needs a subject")
    if priority not in CASE_PRIORITIES:
        raise InputError("bad_priority", f"priority must be one of: {', '.join(CASE_PRIORITIES)}")
    if team is not None and team not in {q.name for q in config.queues}:
        raise InputError("bad_team", f"no queue {team!r} to own the case")
    await require_member(conn, workspace_id, owner_user_id, "bad_owner")
    now: datetime = await conn.fetchval("SELECT now()")
    goal, calendar = targets(config, priority), sla_calendar(config)
    clock = ResolutionClock(goal.resolution, 0.0, now)
    case_id: int = await conn.fetchval(
        """INSERT INTO cases (workspace_id, customer_id, subject, priority, category, team,
               owner_user_id, public_token, opened_at, status_changed_at, first_response_due,
               resolution_due, resolution_clock_from, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $9, $12) RETURNING id""",
        workspace_id, customer_id, subject, priority, category.strip()[:100], team,
        owner_user_id, secrets.token_urlsafe(24), now,
        add_business_seconds(calendar, now, goal.first_response), clock.due(calendar), user_id)
    if interaction_id is not None:
        await conn.execute("UPDATE interactions SET case_id = $2 WHERE id = $1",
                           interaction_id, case_id)
        # Opened after the conversation (at wrap-up): the agent has answered already.
        await conn.execute(
            """UPDATE cases SET first_response_at = (
                   SELECT min(created_at) FROM messages WHERE interaction_id = $2
                     AND direction = 'outbound' AND author_user_id IS NOT NULL)
               WHERE id = $1""", case_id, interaction_id)
    logged = await events.record(conn, Event(
        "case.opened", workspace_id, {"case_id": case_id, "priority": priority,
                                      "subject": subject},
        interaction_id=interaction_id, customer_id=customer_id, actor_user_id=user_id))
    return case_id, logged


async def link_interaction(conn: asyncpg.Connection, workspace_id: int, user_id: int | None,
                           case_id: int, interaction_id: int) -> LoggedEvent:
    row = await conn.fetchrow(
        "SELECT customer_id, status FROM cases WHERE id = $1 AND workspace_id = $2",
        case_id, workspace_id)
    if row is None:
        raise NotFound("no_such_case", f"no case {case_id}")
    if row["status"] == "closed":
        raise Conflict("case_closed", f"case {case_id} is closed: open a new one")
    customer = await conn.fetchval("SELECT customer_id FROM interactions WHERE id = $1",
                                   interaction_id)
    if customer != row["customer_id"]:
        raise Conflict("other_customer", f"case {case_id} belongs to another customer")
    await conn.execute("UPDATE interactions SET case_id = $2 WHERE id = $1",
                       interaction_id, case_id)
    return await events.record(conn, Event(
        "case.updated", workspace_id, {"case_id": case_id, "linked_interaction": interaction_id},
        interaction_id=interaction_id, customer_id=row["customer_id"], actor_user_id=user_id))


async def change(core: Core, workspace_id: int, user_id: int, case_id: int, *,
                 status: str | None = None, priority: str | None = None,
                 owner_user_id: int | None = None, category: str | None = None,
                 team: str | None = None, subject: str | None = None) -> None:
    """Status, priority, owner, category, team, subject (the title the customer sees on the
    status page). Pending stops the resolution clock; leaving pending (or reopening) starts
    it again; a new priority brings its own targets."""
    if subject is not None and not subject.strip():
        raise InputError("empty_subject", "a case needs a subject")
    if status is not None and status not in STATUSES:
        raise InputError("bad_status", f"status must be one of: {', '.join(STATUSES)}")
    if priority is not None and priority not in CASE_PRIORITIES:
        raise InputError("bad_priority", f"priority must be one of: {', '.join(CASE_PRIORITIES)}")
    if team is not None and team not in {q.name for q in core.config.queues}:
        raise InputError("bad_team", f"no queue {team!r} to own the case")
    calendar = sla_calendar(core.config)
    async with core.pool.acquire() as conn, conn.transaction():
        case = await conn.fetchrow(
            "SELECT * FROM cases WHERE id = $1 AND workspace_id = $2 FOR UPDATE",
            case_id, workspace_id)
        if case is None:
            raise NotFound("no_such_case", f"no case {case_id}")
        await require_member(conn, workspace_id, owner_user_id, "bad_owner")
        now: datetime = await conn.fetchval("SELECT now()")
        fields: dict[str, Any] = {}
        new_status = status if status is not None and status != case["status"] else None
        if new_status is not None and new_status not in _NEXT[case["status"]]:
            raise Conflict("bad_transition", f"a {case['status']} case cannot become {new_status}")
        goal = targets(core.config, priority or case["priority"])
        clock = ResolutionClock(goal.resolution, case["resolution_used_seconds"],
                                case["resolution_clock_from"])
        if new_status is not None:
            fields["status"], fields["status_changed_at"] = new_status, now
            if new_status in ("pending", "resolved", "closed"):
                clock = clock.paused(calendar, now)
                fields["next_response_due"] = None
                fields["customer_waiting_since"] = None
            else:
                clock = clock.resumed(now)
            if new_status == "resolved":
                fields["resolved_at"] = now
            elif new_status == "closed":
                fields["closed_at"] = now
            elif new_status == "open":
                fields["resolved_at"] = None
        if priority is not None and priority != case["priority"]:
            fields["priority"] = priority
            if case["first_response_at"] is None:
                fields["first_response_due"] = add_business_seconds(
                    calendar, case["opened_at"], goal.first_response)
            fields["warned_at"] = None  # the new deadlines are judged afresh
        if owner_user_id is not None:
            fields["owner_user_id"] = owner_user_id
        if category is not None:
            fields["category"] = category.strip()[:100]
        if team is not None:
            fields["team"] = team
        if subject is not None:
            fields["subject"] = subject.strip()[:200]
        if not fields:
            return
        fields["resolution_used_seconds"] = clock.used
        fields["resolution_clock_from"] = clock.running_since
        fields["resolution_due"] = clock.due(calendar)
        sets = ", ".join(f"{column} = ${i + 2}" for i, column in enumerate(fields))
        await conn.execute(f"UPDATE cases SET {sets} WHERE id = $1", case_id, *fields.values())
        logged = await events.record(conn, Event(
            "case.updated", workspace_id,
            {"case_id": case_id, **{k: v for k, v in fields.items()
                                    if k in ("status", "priority", "owner_user_id", "team")}},
            customer_id=case["customer_id"], actor_user_id=user_id))
    await events.publish(core.redis, [logged])


def case_view(row: asyncpg.Record, calendar: Calendar | None, now: datetime) -> dict[str, Any]:
    """A case as the console and the API show it, with each running SLA timer's time left."""
    def timer(target: str, due: datetime | None, met: datetime | None = None) -> dict[str, Any]:
        if met is not None:
            return {"target": target, "state": "met", "at": met.isoformat()}
        if due is None:
            return {"target": target, "state": "paused" if row["status"] == "pending" else "off"}
        return {"target": target, "state": "breached" if due <= now else "running",
                "due": due.isoformat(), "seconds_left": round((due - now).total_seconds())}

    return {
        "id": row["id"], "customer_id": row["customer_id"], "subject": row["subject"],
        "status": row["status"], "priority": row["priority"], "category": row["category"],
        "team": row["team"], "owner_user_id": row["owner_user_id"],
        "opened_at": row["opened_at"].isoformat(),
        "resolved_at": row["resolved_at"] and row["resolved_at"].isoformat(),
        "closed_at": row["closed_at"] and row["closed_at"].isoformat(),
        "sla": [timer("first_response", row["first_response_due"], row["first_response_at"]),
                timer("next_response", row["next_response_due"]),
                timer("resolution", row["resolution_due"],
                      row["resolved_at"] if row["status"] in ("resolved", "closed") else None)],
        "breaches": row["breaches"],
    }


CASES = """
    SELECT c.*, ARRAY(SELECT target FROM sla_breaches b WHERE b.case_id = c.id ORDER BY b.id)
               AS breaches
    FROM cases c"""


async def get(conn: asyncpg.Connection, config: FileConfig, workspace_id: int,
              case_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(CASES + " WHERE c.id = $1 AND c.workspace_id = $2",
                              case_id, workspace_id)
    if row is None:
        raise NotFound("no_such_case", f"no case {case_id}")
    view = case_view(row, sla_calendar(config), await conn.fetchval("SELECT now()"))
    interactions = await conn.fetch(
        """SELECT id, channel, state, created_at FROM interactions WHERE case_id = $1
           ORDER BY id""", case_id)
    view["interactions"] = [{"id": r["id"], "channel": r["channel"], "state": r["state"],
                             "created_at": r["created_at"].isoformat()} for r in interactions]
    view["public_url"] = f"/status/{row['public_token']}"
    return view
