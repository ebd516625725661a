"""Keeps the workflows' clocks: turns what the conversation changed into business-time SLA
deadlines, records breaches, raises the routing priority of a case's waiting interactions when
the case comes close to a breach (and alerts supervisors), and tells agents of overdue tasks.

Runs on every node; each batch of cases is claimed (FOR UPDATE SKIP LOCKED), so two nodes
never record the same breach or boost the same interaction twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from contactcenter import events
from contactcenter.core import Core
from contactcenter.crm import tasks
from contactcenter.crm.cases import sla_calendar, targets
from contactcenter.crm.sla import ResolutionClock, add_business_seconds
from contactcenter.events import Event, LoggedEvent
from contactcenter.feeds import Notice, supervisors_feed
from contactcenter.polling import PollingWorker, running
from contactcenter.web.keys import CORE, WORKSPACE_ID

BATCH = 200


class WorkflowKeeper(PollingWorker):
    poll_seconds = 5.0

    def __init__(self, core: Core, workspace_id: int) -> None:
        super().__init__()
        self.core = core
        self.ws = workspace_id

    async def step(self) -> bool:
        logged: list[LoggedEvent] = []
        notices: list[Notice] = []
        async with self.core.pool.acquire() as conn, conn.transaction():
            now: datetime = await conn.fetchval("SELECT now()")
            busy = await self._deadlines(conn, now)
            await self._link_new_interactions(conn, logged)
            await self._breaches(conn, logged, notices)
            await self._warnings(conn, now, logged, notices)
            notices += await tasks.overdue_notices(conn, self.ws)
        await events.publish(self.core.redis, logged, notices)
        return busy

    async def _deadlines(self, conn: Any, now: datetime) -> bool:
        """Cases the conversation moved: the customer wrote (next response due), or a pending
        or resolved case reopened (the resolution clock runs again from that moment)."""
        calendar = sla_calendar(self.core.config)
        rows = await conn.fetch(
            """SELECT * FROM cases WHERE workspace_id = $1 AND sla_dirty
               ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED""", self.ws, BATCH)
        for case in rows:
            goal = targets(self.core.config, case["priority"])
            next_due = case["next_response_due"]
            if (next_due is None and case["customer_waiting_since"] is not None
                    and case["first_response_at"] is not None):
                next_due = add_business_seconds(calendar, case["customer_waiting_since"],
                                                goal.next_response)
            clock = ResolutionClock(goal.resolution, case["resolution_used_seconds"],
                                    case["resolution_clock_from"])
            if case["status"] in ("new", "open"):
                clock = clock.resumed(case["status_changed_at"])
            await conn.execute(
                """UPDATE cases SET next_response_due = $2, resolution_clock_from = $3,
                       resolution_due = $4, sla_dirty = false WHERE id = $1""",
                case["id"], next_due, clock.running_since, clock.due(calendar))
        return len(rows) == BATCH

    async def _link_new_interactions(self, conn: Any, logged: list[LoggedEvent]) -> None:
        """The rule that links work to a case: a customer with exactly one unfinished case who
        gets in touch again is talking about it, so the new interaction joins it (and an
        at-risk case's priority boost reaches it while it waits). Any open interaction counts:
        one offered to an agent the moment it arrived is about the case just the same."""
        rows = await conn.fetch(
            """UPDATE interactions i SET case_id = sole.case_id
               FROM (SELECT i2.id, min(c.id) AS case_id,
                            bool_or(c.warned_at IS NOT NULL) AS at_risk
                     FROM interactions i2
                     JOIN cases c ON c.customer_id = i2.customer_id
                       AND c.status IN ('new', 'open', 'pending')
                     WHERE i2.workspace_id = $1 AND i2.case_id IS NULL
                       AND i2.state NOT IN ('closed', 'abandoned')
                     GROUP BY i2.id HAVING count(*) = 1) sole
               WHERE i.id = sole.id
               RETURNING i.id, i.customer_id, i.case_id, sole.at_risk""", self.ws)
        for r in rows:
            logged.append(await events.record(conn, Event(
                "case.updated", self.ws, {"case_id": r["case_id"], "linked_interaction": r["id"]},
                interaction_id=r["id"], customer_id=r["customer_id"])))
            if r["at_risk"]:
                logged += await self._boost(conn, r["case_id"], [r["id"]])

    async def _breaches(self, conn: Any, logged: list[LoggedEvent],
                        notices: list[Notice]) -> None:
        rows = await conn.fetch(
            """INSERT INTO sla_breaches (workspace_id, case_id, target, due_at)
               SELECT c.workspace_id, c.id, t.target, t.due FROM cases c, LATERAL (VALUES
                   ('first_response', CASE WHEN c.first_response_at IS NULL
                                           THEN c.first_response_due END),
                   ('next_response', c.next_response_due),
                   ('resolution', c.resolution_due)) t(target, due)
               WHERE c.workspace_id = $1 AND c.status NOT IN ('resolved', 'closed')
                 AND cc_case_deadline(c.first_response_at, c.first_response_due,
                                      c.next_response_due, c.resolution_due) <= now()
                 AND t.due IS NOT NULL AND t.due <= now()
               ON CONFLICT DO NOTHING
               RETURNING case_id, target, due_at,
                   (SELECT customer_id FROM cases WHERE id = case_id) AS customer_id""",
            self.ws)
        for r in rows:
            logged.append(await events.record(conn, Event(
                "case.sla_breached", self.ws, {"case_id": r["case_id"], "target": r["target"],
                                               "due_at": r["due_at"].isoformat()},
                customer_id=r["customer_id"])))
            notices.append(Notice(supervisors_feed(self.ws), {
                "kind": "sla_breached", "case_id": r["case_id"], "target": r["target"],
                "due_at": r["due_at"].isoformat()}))

    async def _warnings(self, conn: Any, now: datetime, logged: list[LoggedEvent],
                        notices: list[Notice]) -> None:
        warn = timedelta(minutes=self.core.config.sla.warn_before_minutes)
        rows = await conn.fetch(
            """UPDATE cases SET warned_at = now()
               WHERE id IN (SELECT id FROM cases
                            WHERE workspace_id = $1 AND warned_at IS NULL
                              AND status NOT IN ('resolved', 'closed') AND status <> 'pending'
                              AND cc_case_deadline(first_response_at, first_response_due,
                                                   next_response_due, resolution_due) <= $2
                            FOR UPDATE SKIP LOCKED)
               RETURNING id, customer_id,
                   cc_case_deadline(first_response_at, first_response_due, next_response_due,
                                    resolution_due) AS due""", self.ws, now + warn)
        for r in rows:
            waiting = await conn.fetch(
                "SELECT id FROM interactions WHERE case_id = $1 AND state = 'queued'", r["id"])
            logged += await self._boost(conn, r["id"], [w["id"] for w in waiting])
            logged.append(await events.record(conn, Event(
                "case.sla_warning", self.ws, {"case_id": r["id"], "due_at": r["due"].isoformat()},
                customer_id=r["customer_id"])))
            notices.append(Notice(supervisors_feed(self.ws), {
                "kind": "sla_warning", "case_id": r["id"], "due_at": r["due"].isoformat()}))

    async def _boost(self, conn: Any, case_id: int,
                     interaction_ids: list[int]) -> list[LoggedEvent]:
        """Raise the waiting interactions' priority; the routing leader moves them up."""
        boost = self.core.config.sla.boost_priority
        rows = await conn.fetch(
            """UPDATE interactions SET priority = priority + $2
               WHERE id = ANY($1::bigint[]) AND state = 'queued'
               RETURNING id, priority, customer_id""", interaction_ids, boost)
        return [await events.record(conn, Event(
            "interaction.priority", self.ws,
            {"priority": r["priority"], "reason": f"case {case_id} is close to an SLA breach"},
            interaction_id=r["id"], customer_id=r["customer_id"])) for r in rows]


async def keeper_context(app: web.Application) -> AsyncIterator[None]:
    keeper = WorkflowKeeper(app[CORE], app[WORKSPACE_ID])
    async with running(keeper):
        yield
