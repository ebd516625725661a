"""The supervisor's live board: where customers wait and who is free, per queue, channel and
agent, today's figures, staffing and alerts, read from PostgreSQL in one go.

An agent's state is one of: offline, away (with the reason), available (no work), busy (at
least one answered interaction open), wrapup (only wrap-up left). Staffed means logged in
(anything but offline). An agent counts for a queue when they have the queue's skills at its
minimum levels.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from contactcenter.identity import SHOWN_ADDRESS_SQL, shown_name
from contactcenter.settings import Channel, FileConfig, QueueConfig
from contactcenter.stats import history
from contactcenter.stats.figures import Tally, figures, occupancy, staffing

STATES = ("available", "busy", "wrapup", "away", "offline")
WAITING_SHOWN = 200
CHANNELS: tuple[Channel, ...] = ("voice", "chat", "sms", "email", "voicemail")

_AGENTS = """
    SELECT u.id, u.display_name, coalesce(p.presence, 'offline') AS presence,
           coalesce(p.reason, '') AS reason, p.updated_at,
           coalesce((SELECT jsonb_object_agg(s.name, a.level) FROM agent_skills a
                     JOIN skills s ON s.id = a.skill_id WHERE a.user_id = u.id), '{}') AS skills
    FROM users u LEFT JOIN agent_presence p ON p.user_id = u.id
    WHERE u.workspace_id = $1 AND u.role = 'agent' AND u.disabled_at IS NULL
    ORDER BY u.display_name, u.id"""

_OPEN = """
    SELECT i.id, i.channel, i.state, q.name AS queue, i.agent_id, i.queued_at, i.answered_at,
           i.wrapup_at, i.priority, c.display_name AS customer,
           """ + SHOWN_ADDRESS_SQL + """ AS customer_address
    FROM interactions i JOIN queues q ON q.id = i.queue_id
    JOIN customers c ON c.id = i.customer_id
    WHERE i.workspace_id = $1 AND i.state IN ('queued', 'offered', 'assigned', 'wrapup')
    ORDER BY i.queued_at, i.id"""

# When each agent last finished work today (an available agent has been idle since then).
_LAST_ENDED = """
    SELECT agent_id, max(ended_at) AS last_ended FROM interactions
    WHERE workspace_id = $1 AND ended_at >= $2 AND agent_id IS NOT NULL
    GROUP BY agent_id"""

# Arrivals per queue over the recent window, and each queue's handle time over what it
# finished in the last day (steadier than today's first few; the config's default before any).
_RATES = """
    SELECT q.name, coalesce(a.arrivals, 0) AS arrivals, h.aht
    FROM queues q
    LEFT JOIN (SELECT queue_id, count(*) AS arrivals FROM interactions
               WHERE workspace_id = $1 AND queued_at >= $2 GROUP BY queue_id) a
           ON a.queue_id = q.id
    LEFT JOIN (SELECT queue_id,
                      avg(extract(epoch FROM ended_at - first_answered_at))::float8 AS aht
               FROM interactions
               WHERE workspace_id = $1 AND ended_at >= $3 AND outcome = 'completed'
                 AND first_answered_at IS NOT NULL
               GROUP BY queue_id) h ON h.queue_id = q.id
    WHERE q.workspace_id = $1 AND q.active"""

_CASE_ALERTS = """
    SELECT 'sla_breached' AS kind, b.case_id, c.subject, b.target, b.due_at, b.breached_at AS at
    FROM sla_breaches b JOIN cases c ON c.id = b.case_id
    WHERE b.workspace_id = $1 AND b.breached_at >= $2
  UNION ALL
    SELECT 'sla_warning', c.id, c.subject, NULL,
           cc_case_deadline(c.first_response_at, c.first_response_due, c.next_response_due,
                            c.resolution_due), c.warned_at
    FROM cases c
    WHERE c.workspace_id = $1 AND c.warned_at IS NOT NULL
      AND c.status NOT IN ('resolved', 'closed', 'pending')
      AND cc_case_deadline(c.first_response_at, c.first_response_due, c.next_response_due,
                           c.resolution_due) > $3
    ORDER BY at DESC LIMIT 50"""


def start_of_day(now: datetime, timezone: str) -> datetime:
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date(), time(), zone)


def eligible(skills: dict[str, int], queue: QueueConfig) -> bool:
    return all(skills.get(name, 0) >= level for name, level in queue.skills.items())


def agent_state(presence: str, work: list[dict[str, Any]]) -> str:
    if presence == "offline":
        return "offline"
    if any(w["state"] == "assigned" for w in work):
        return "busy"
    if any(w["state"] == "wrapup" for w in work):
        return "wrapup"
    return "away" if presence == "away" else "available"


async def board(conn: asyncpg.Connection, workspace_id: int, config: FileConfig,
                now: datetime) -> dict[str, Any]:
    """Everything the live page shows, as of `now` (the database's clock, passed in so that a
    test can name the moment)."""
    today = start_of_day(now, config.workspace.timezone)
    agents_rows = await conn.fetch(_AGENTS, workspace_id)
    open_rows = await conn.fetch(_OPEN, workspace_id)
    last_ended = dict(await conn.fetch(_LAST_ENDED, workspace_id, today))
    window = timedelta(minutes=config.reports.arrival_window_minutes)
    rates = {r["name"]: r for r in await conn.fetch(_RATES, workspace_id, now - window,
                                                      now - timedelta(days=1))}
    period = history.Period(today, now + timedelta(microseconds=1), "day")
    by_queue = {k: t for (k, _), t in (await history.interaction_tallies(
        conn, workspace_id, config, period, "queue")).items()}
    by_channel = {k: t for (k, _), t in (await history.interaction_tallies(
        conn, workspace_id, config, period, "channel")).items()}
    agent_day = {k: f for (k, _), f in (await history.agent_figures(
        conn, workspace_id, config, period)).items()}
    alerts_rows = await conn.fetch(_CASE_ALERTS, workspace_id, today, now)

    work_of: dict[int, list[dict[str, Any]]] = {}
    waiting: list[dict[str, Any]] = []
    for r in open_rows:
        item = {"id": r["id"], "channel": r["channel"], "state": r["state"], "queue": r["queue"],
                "customer": shown_name(r["customer"], r["customer_address"]),
                "priority": r["priority"],
                "queued_at": r["queued_at"].isoformat(),
                "answered_at": r["answered_at"] and r["answered_at"].isoformat(),
                "wrapup_at": r["wrapup_at"] and r["wrapup_at"].isoformat(),
                "agent_id": r["agent_id"]}
        if r["state"] in ("queued", "offered"):
            waiting.append(item)
        if r["agent_id"] is not None and r["state"] in ("assigned", "wrapup"):
            work_of.setdefault(r["agent_id"], []).append(item)

    agents = []
    for a in agents_rows:
        work = work_of.get(a["id"], [])
        state = agent_state(a["presence"], work)
        day = agent_day.get(a["id"], {})
        agents.append({
            "id": a["id"], "name": a["display_name"], "state": state, "reason": a["reason"],
            "since": _state_since(state, a, work, last_ended.get(a["id"])),
            "skills": a["skills"],
            "interactions": work, "handled_today": day.get("handled", 0),
            "aht_seconds": day.get("aht_seconds"), "occupancy": day.get("occupancy"),
            "missed_offers": day.get("missed", 0),
        })

    queues = [_queue_row(q, waiting, agents, by_queue.get(q.name, Tally()), rates.get(q.name),
                         config, now) for q in config.queues]
    channels = [_channel_row(ch, waiting, agents, by_channel.get(ch, Tally()), config, now)
                for ch in CHANNELS if ch in by_channel or any(w["channel"] == ch for w in waiting)]
    return {
        "at": now.isoformat(), "day_start": today.isoformat(),
        "timezone": config.workspace.timezone,
        "queues": queues, "channels": channels, "agents": agents,
        # The longest waits, enough to act on; a queue of thousands of emails would otherwise
        # make every board megabytes.
        "waiting": waiting[:WAITING_SHOWN], "waiting_total": len(waiting),
        "alerts": _alerts(queues, alerts_rows, now),
    }


def _state_since(state: str, agent: Any, work: list[dict[str, Any]],
                 last_ended: datetime | None) -> str | None:
    """When the agent entered their current state, as near as the rows tell."""
    if state == "busy":
        return min((str(w["answered_at"]) for w in work
                    if w["state"] == "assigned" and w["answered_at"]), default=None)
    if state == "wrapup":
        return max((str(w["wrapup_at"]) for w in work if w["wrapup_at"]), default=None)
    changed = agent["updated_at"]
    if state == "available" and last_ended is not None and (changed is None or
                                                             last_ended > changed):
        changed = last_ended
    return changed.isoformat() if changed else None


def _counts(agents: list[dict[str, Any]]) -> dict[str, int]:
    counts = {s: 0 for s in STATES}
    for a in agents:
        counts[a["state"]] += 1
    counts["staffed"] = len(agents) - counts["offline"]
    return counts


def _queue_row(q: QueueConfig, waiting: list[dict[str, Any]], agents: list[dict[str, Any]],
               tally: Tally, rate: Any, config: FileConfig, now: datetime) -> dict[str, Any]:
    mine = [w for w in waiting if w["queue"] == q.name]
    members = [a for a in agents if eligible(a["skills"], q)]
    counts = _counts(members)
    working = counts["busy"] + counts["wrapup"]
    window = config.reports.arrival_window_minutes * 60
    aht = (rate["aht"] if rate is not None and rate["aht"] else
           float(config.reports.default_handle_seconds))
    plan = staffing((rate["arrivals"] if rate is not None else 0) / window, aht,
                    q.service_level_seconds, q.service_level_target,
                    counts["staffed"] - counts["away"])
    return {
        "name": q.name, "label": q.label or q.name,
        "threshold_seconds": q.service_level_seconds, "target": q.service_level_target,
        "waiting": len(mine), "oldest_since": mine[0]["queued_at"] if mine else None,
        "oldest_wait_seconds": _age(mine, now),
        "agents": counts, "occupancy": occupancy(working, counts["available"]),
        "staffing": asdict(plan), **figures(tally),
    }


def has_room(agent: dict[str, Any], channel: Channel, config: FileConfig) -> bool:
    """Whether an available agent could take one more interaction of `channel` by the capacity
    rules (one budget across channels, a maximum per channel, voice exclusive)."""
    if agent["state"] in ("away", "offline"):
        return False
    held = [w["channel"] for w in agent["interactions"]]
    rule = config.capacity[channel]
    if any(config.capacity[c].exclusive for c in held) or (rule.exclusive and held):
        return False
    used = sum(config.capacity[c].weight for c in held)
    return (used + rule.weight <= config.routing.capacity_budget
            and held.count(channel) < rule.max)


def _channel_row(channel: Channel, waiting: list[dict[str, Any]], agents: list[dict[str, Any]],
                 tally: Tally, config: FileConfig, now: datetime) -> dict[str, Any]:
    """Agents are shared by every channel: here *busy* means holding an answered interaction
    of this channel, *wrap-up* only wrapping one up, *available* able to take one more of it."""
    mine = [w for w in waiting if w["channel"] == channel]
    busy = wrapup = available = 0
    for a in agents:
        states = {w["state"] for w in a["interactions"] if w["channel"] == channel}
        if "assigned" in states:
            busy += 1
        elif states:
            wrapup += 1
        elif has_room(a, channel, config):
            available += 1
    staffed = sum(1 for a in agents if a["state"] != "offline")
    away = sum(1 for a in agents if a["state"] == "away")
    return {"name": channel, "waiting": len(mine),
            "oldest_since": mine[0]["queued_at"] if mine else None,
            "oldest_wait_seconds": _age(mine, now),
            "agents": {"staffed": staffed, "available": available, "busy": busy,
                       "wrapup": wrapup, "away": away},
            "occupancy": occupancy(busy + wrapup, available), **figures(tally)}


def _age(waiting: list[dict[str, Any]], now: datetime) -> float | None:
    if not waiting:
        return None
    return (now - datetime.fromisoformat(waiting[0]["queued_at"])).total_seconds()


def _agents(n: int) -> str:
    return f"{n} agent" if n == 1 else f"{n} agents"


def _alerts(queues: list[dict[str, Any]], cases: list[Any], now: datetime) -> list[dict[str, Any]]:
    """What a supervisor should look at now, worst first."""
    out: list[dict[str, Any]] = []
    for q in queues:
        oldest = q["oldest_wait_seconds"]
        if oldest is not None and oldest > q["threshold_seconds"]:
            out.append({"kind": "oldest_wait", "severity": "bad", "queue": q["name"],
                        "since": q["oldest_since"],
                        "text": f"{q['label']}: a customer has waited longer than "
                                f"{q['threshold_seconds']} s"})
        level = q["service_level"]
        if level is not None and level < q["target"]:
            out.append({"kind": "service_level", "severity": "warn", "queue": q["name"],
                        "text": f"{q['label']}: service level today {level:.0%} is under the "
                                f"target of {q['target']:.0%}"})
        plan = q["staffing"]
        available = q["agents"]["staffed"] - q["agents"]["away"]
        if plan["needed"] > available:
            out.append({"kind": "understaffed", "severity": "warn", "queue": q["name"],
                        "text": f"{q['label']}: {_agents(plan['needed'])} needed for the "
                                f"target, {available} at work"})
    for c in cases:
        what = "breached its " + str(c["target"]).replace("_", " ") + " target" \
            if c["kind"] == "sla_breached" else "is close to its SLA deadline"
        out.append({"kind": c["kind"], "severity": "bad" if c["kind"] == "sla_breached"
                    else "warn", "case_id": c["case_id"], "due_at": c["due_at"].isoformat(),
                    "text": f"Case #{c['case_id']} ({c['subject']}) {what}"})
    order = {"bad": 0, "warn": 1}
    out.sort(key=lambda a: order[a["severity"]])
    return out
