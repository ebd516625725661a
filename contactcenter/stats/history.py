"""Interval reports from PostgreSQL: per queue, channel or agent, in 15, 30 or 60 minute or
one-day intervals of the workspace's local time. The live board's "today" figures are the same
queries over one interval, so a figure means the same thing in both places.

Queue and channel figures belong to the interval the interaction arrived in (its outcome,
however late, counts there); an agent's figures to the interval the offer, the end of the
work or the time at work fell in.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from contactcenter.errors import InputError
from contactcenter.settings import FileConfig
from contactcenter.stats.figures import Tally, figures, occupancy

Grouping = Literal["queue", "channel", "agent"]
GROUPINGS: tuple[Grouping, ...] = ("queue", "channel", "agent")
INTERVALS: dict[str, timedelta] = {"15": timedelta(minutes=15), "30": timedelta(minutes=30),
                                   "60": timedelta(hours=1), "day": timedelta(days=1)}
# At most this much time in one report (one page), so a request cannot ask for a million rows.
MAX_SPAN = {"15": timedelta(days=31), "30": timedelta(days=62), "60": timedelta(days=93),
            "day": timedelta(days=400)}

# The start of the local interval a time falls in ($4 the interval, $5 the time zone); the
# origin is a local midnight, so days start at midnight and hours on the hour.
_BUCKET = ("(date_bin($4::interval, {t} AT TIME ZONE $5, timestamp '2000-01-01') "
           "AT TIME ZONE $5)")

_INTERACTIONS = """
    SELECT {key} AS key, """ + _BUCKET.format(t="i.queued_at") + """ AS start,
           count(*) AS offered,
           count(*) FILTER (WHERE i.first_answered_at IS NOT NULL) AS answered,
           count(*) FILTER (WHERE i.first_answered_at - i.queued_at
                                  <= make_interval(secs => coalesce(t.secs, 20))) AS answered_within,
           count(*) FILTER (WHERE i.outcome = 'abandoned') AS abandoned,
           count(*) FILTER (WHERE i.outcome = 'abandoned'
                              AND i.ended_at - i.queued_at < make_interval(secs => $6))
               AS short_abandoned,
           count(*) FILTER (WHERE i.outcome = 'refused') AS refused,
           coalesce(sum(extract(epoch FROM i.first_answered_at - i.queued_at)), 0)::float8
               AS wait_seconds,
           count(*) FILTER (WHERE i.outcome = 'completed' AND i.first_answered_at IS NOT NULL)
               AS handled,
           coalesce(sum(extract(epoch FROM i.ended_at - i.first_answered_at))
                    FILTER (WHERE i.outcome = 'completed'), 0)::float8 AS handle_seconds
    FROM interactions i
    JOIN queues q ON q.id = i.queue_id
    LEFT JOIN unnest($7::text[], $8::int[]) AS t(name, secs) ON t.name = q.name
    WHERE i.workspace_id = $1 AND i.queued_at >= $2 AND i.queued_at < $3
    GROUP BY 1, 2"""

_OFFERS = """
    SELECT agent_id AS key, """ + _BUCKET.format(t="at") + """ AS start,
           count(*) FILTER (WHERE kind = 'Offered') AS offers,
           count(*) FILTER (WHERE kind = 'Assigned') AS accepted,
           count(*) FILTER (WHERE kind = 'OfferEnded' AND outcome = 'rejected') AS rejected,
           count(*) FILTER (WHERE kind = 'OfferEnded' AND outcome = 'timed_out') AS missed
    FROM routing_decisions
    WHERE workspace_id = $1 AND at >= $2 AND at < $3 AND agent_id IS NOT NULL
      AND kind IN ('Offered', 'Assigned', 'OfferEnded')
    GROUP BY 1, 2"""

# An agent's own handle time runs from their (last) answer to the end of wrap-up.
_HANDLED = """
    SELECT agent_id AS key, """ + _BUCKET.format(t="ended_at") + """ AS start,
           count(*) AS handled,
           sum(extract(epoch FROM ended_at - answered_at))::float8 AS handle_seconds
    FROM interactions
    WHERE workspace_id = $1 AND ended_at >= $2 AND ended_at < $3 AND outcome = 'completed'
      AND agent_id IS NOT NULL AND answered_at IS NOT NULL
    GROUP BY 1, 2"""

# SLA breaches of cases, by the queue the case is with (its team) or its owner.
_BREACHES = """
    SELECT {key} AS key, """ + _BUCKET.format(t="b.breached_at") + """ AS start,
           count(*) AS breaches
    FROM sla_breaches b JOIN cases c ON c.id = b.case_id
    WHERE b.workspace_id = $1 AND b.breached_at >= $2 AND b.breached_at < $3
      AND {key} IS NOT NULL
    GROUP BY 1, 2"""

# Busy: holding at least one interaction (answered, not yet finished). Idle: available and not
# busy. Presence comes from its changes in the event log, starting from each agent's last
# change before the report's start.
_OCCUPANCY = """
    WITH changes AS (
        SELECT u.id AS agent, $2::timestamptz AS at, last.id, last.presence
        FROM users u CROSS JOIN LATERAL (
            SELECT id, coalesce(data->>'presence', data->>'outcome') AS presence
            FROM event_log
            WHERE actor_user_id = u.id AND at < $2
              AND kind IN ('agent.presence', 'routing.AgentStateChanged')
            ORDER BY at DESC, id DESC LIMIT 1) last
        WHERE u.workspace_id = $1
        UNION ALL
        SELECT actor_user_id, at, id, coalesce(data->>'presence', data->>'outcome')
        FROM event_log
        WHERE workspace_id = $1 AND kind IN ('agent.presence', 'routing.AgentStateChanged')
          AND at >= $2 AND at < $3 AND actor_user_id IS NOT NULL
    ), spans AS (
        SELECT agent, presence, at,
               coalesce(lead(at) OVER (PARTITION BY agent ORDER BY at, id), $3) AS until
        FROM changes
    ), available AS (
        SELECT agent, range_agg(tstzrange(at, until)) AS spans
        FROM spans WHERE presence = 'available' AND until > at GROUP BY agent
    ), work AS (
        SELECT agent_id, answered_at, ended_at FROM interactions
        WHERE workspace_id = $1 AND ended_at > $2 AND outcome = 'completed'
          AND answered_at < $3 AND agent_id IS NOT NULL
        UNION ALL
        SELECT agent_id, answered_at, NULL FROM interactions
        WHERE workspace_id = $1 AND state IN ('assigned', 'wrapup') AND answered_at < $3
    ), busy AS (
        SELECT agent_id AS agent,
               range_agg(tstzrange(greatest(answered_at, $2), least(coalesce(ended_at, $3), $3)))
                   AS spans
        FROM work WHERE coalesce(ended_at, $3) > answered_at
        GROUP BY agent_id
    ), buckets AS (
        SELECT b AT TIME ZONE $5 AS start, (b + $4::interval) AT TIME ZONE $5 AS stop
        FROM generate_series(date_bin($4::interval, $2 AT TIME ZONE $5, timestamp '2000-01-01'),
                             $3 AT TIME ZONE $5 - interval '1 microsecond', $4::interval) AS b
    ), agents AS (SELECT agent FROM available UNION SELECT agent FROM busy)
    SELECT a.agent AS key, bk.start,
           cc_span_seconds(coalesce(b.spans, '{}') * w.span) AS busy_seconds,
           cc_span_seconds((coalesce(v.spans, '{}') - coalesce(b.spans, '{}')) * w.span)
               AS idle_seconds
    FROM agents a
    CROSS JOIN buckets bk
    CROSS JOIN LATERAL (SELECT tstzmultirange(tstzrange(greatest(bk.start, $2),
                                                        least(bk.stop, $3))) AS span) w
    LEFT JOIN available v ON v.agent = a.agent
    LEFT JOIN busy b ON b.agent = a.agent"""


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    interval: str  # a key of INTERVALS
    rest_from: datetime | None = None  # asked for more than one report holds: the next page

    @property
    def empty(self) -> bool:
        return self.end <= self.start


def check_period(start: datetime, end: datetime, interval: str) -> Period:
    """The period a report covers: as asked, or its first MAX_SPAN with where the rest starts
    (a long range is paged, not refused); `to` at or before `from` is an empty period."""
    if interval not in INTERVALS:
        raise InputError("bad_interval", f"interval must be one of {', '.join(INTERVALS)}")
    if start.tzinfo is None or end.tzinfo is None:
        raise InputError("bad_time", "from and to need a time zone, e.g. 2026-11-24T00:00:00Z")
    if end - start > MAX_SPAN[interval]:
        cut = start + MAX_SPAN[interval]
        return Period(start, cut, interval, rest_from=cut)
    return Period(start, end, interval)


def thresholds(config: FileConfig) -> tuple[list[str], list[int]]:
    """Each queue's service-level threshold, as the two arrays the queries join on."""
    return [q.name for q in config.queues], [q.service_level_seconds for q in config.queues]


async def interaction_tallies(
    conn: asyncpg.Connection, workspace_id: int, config: FileConfig, period: Period,
    by: Literal["queue", "channel"],
) -> dict[tuple[str, datetime], Tally]:
    key = "q.name" if by == "queue" else "i.channel"
    names, secs = thresholds(config)
    rows = await conn.fetch(
        _INTERACTIONS.format(key=key), workspace_id, period.start, period.end,
        INTERVALS[period.interval], config.workspace.timezone,
        float(config.reports.short_abandon_seconds), names, secs)
    return {(r["key"], r["start"]): Tally(
        offered=r["offered"], answered=r["answered"], answered_within=r["answered_within"],
        abandoned=r["abandoned"], short_abandoned=r["short_abandoned"], refused=r["refused"],
        wait_seconds=r["wait_seconds"], handled=r["handled"],
        handle_seconds=r["handle_seconds"]) for r in rows}


async def agent_figures(
    conn: asyncpg.Connection, workspace_id: int, config: FileConfig, period: Period,
) -> dict[tuple[int, datetime], dict[str, Any]]:
    """Offers and what became of them, work finished and its handle time, and occupancy, per
    agent and interval (only intervals in which the agent did or could do something)."""
    args = (workspace_id, period.start, period.end, INTERVALS[period.interval],
            config.workspace.timezone)
    out: dict[tuple[int, datetime], dict[str, Any]] = {}

    def row(key: tuple[int, datetime]) -> dict[str, Any]:
        return out.setdefault(key, {"offers": 0, "accepted": 0, "rejected": 0, "missed": 0,
                                    "handled": 0, "handle_seconds": 0.0, "busy_seconds": 0.0,
                                    "idle_seconds": 0.0, "sla_breaches": 0})
    for r in await conn.fetch(_OFFERS, *args):
        row((r["key"], r["start"])).update(offers=r["offers"], accepted=r["accepted"],
                                           rejected=r["rejected"], missed=r["missed"])
    for r in await conn.fetch(_HANDLED, *args):
        row((r["key"], r["start"])).update(handled=r["handled"],
                                           handle_seconds=r["handle_seconds"])
    for r in await conn.fetch(_BREACHES.format(key="c.owner_user_id"), *args):
        row((r["key"], r["start"]))["sla_breaches"] = r["breaches"]
    for r in await conn.fetch(_OCCUPANCY, *args):
        if r["busy_seconds"] or r["idle_seconds"] or (r["key"], r["start"]) in out:
            row((r["key"], r["start"])).update(busy_seconds=r["busy_seconds"],
                                               idle_seconds=r["idle_seconds"])
    for fig in out.values():
        fig["aht_seconds"] = fig["handle_seconds"] / fig["handled"] if fig["handled"] else None
        fig["occupancy"] = occupancy(fig["busy_seconds"], fig["idle_seconds"])
    return out


async def report(conn: asyncpg.Connection, workspace_id: int, config: FileConfig,
                 period: Period, by: Grouping) -> list[dict[str, Any]]:
    """Rows in time order, then by name: {start, key, name, ...figures}."""
    if period.empty:
        return []
    if by == "agent":
        names = dict(await conn.fetch(
            "SELECT id, display_name FROM users WHERE workspace_id = $1", workspace_id))
        found = await agent_figures(conn, workspace_id, config, period)
        rows = [{"start": start.isoformat(), "key": str(agent),
                 "name": names.get(agent, f"user {agent}"), **fig}
                for (agent, start), fig in found.items()]
    elif by == "queue":
        labels = {q.name: q.label or q.name for q in config.queues}
        tallies = await interaction_tallies(conn, workspace_id, config, period, by)
        breaches = {(r["key"], r["start"]): r["breaches"] for r in await conn.fetch(
            _BREACHES.format(key="c.team"), workspace_id, period.start, period.end,
            INTERVALS[period.interval], config.workspace.timezone)}
        rows = [{"start": start.isoformat(), "key": key, "name": labels.get(key, key),
                 **figures(tallies.get((key, start), Tally())),
                 "sla_breaches": breaches.get((key, start), 0)}
                for key, start in tallies.keys() | breaches.keys()]
    else:
        tallies = await interaction_tallies(conn, workspace_id, config, period, by)
        rows = [{"start": start.isoformat(), "key": key, "name": key, **figures(t)}
                for (key, start), t in tallies.items()]
    rows.sort(key=lambda r: (r["start"], r["name"]))
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One line per row, the columns of the first row; ratios as fractions (0.8), seconds with
    one decimal, empty where there was nothing to count."""
    if not rows:
        return "start,key,name\r\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else round(v, 4) if isinstance(v, float) else v
                         for k, v in r.items()})
    return out.getvalue()
