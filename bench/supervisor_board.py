"""Supervisor board and report benchmark (issue 8). Never part of the test run.

The live board is recomputed on every change a supervisor's page must see, so its cost bounds
how busy a workspace can be while the page stays within a second. This fills a scratch
database with a month of history (default: 100 agents, 20,000 interactions a day, three routing
decisions each, four presence changes per agent per day) and today's open work, then times the
board and the interval reports. Prints p50 / p99 and drops the database.

    .venv/bin/python bench/supervisor_board.py
    .venv/bin/python bench/supervisor_board.py --per-day 5000 --days 7
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_database
from contactcenter.settings import read_config_file
from contactcenter.stats import history, live

CONFIG = Path(__file__).resolve().parents[1] / "config" / "default.toml"

# Interactions spread over the past days, a seventh abandoned, most answered within a minute,
# handled in 2 to 10 minutes; three decisions each (offered, assigned, and a missed offer for
# every tenth); each agent available 08-12 and 13-17, away for lunch, offline at night.
FILL = """
    INSERT INTO queues (workspace_id, name, label)
    VALUES (1, 'sales', 'Sales'), (1, 'support', 'Support'), (1, 'billing', 'Billing');
    INSERT INTO skills (workspace_id, name) VALUES (1, 'sales'), (1, 'support'), (1, 'billing');
    INSERT INTO users (workspace_id, email, display_name, role, password_hash)
    SELECT 1, 'agent' || g || '@bench.test', 'Agent ' || g, 'agent', 'x'
    FROM generate_series(1, $1::int) g;
    INSERT INTO agent_skills (workspace_id, user_id, skill_id, level)
    SELECT 1, u.id, s.id, 5 FROM users u JOIN skills s ON s.id = 1 + u.id % 3;
    INSERT INTO agent_presence (user_id, workspace_id, presence, updated_at)
    SELECT id, 1, (ARRAY['available', 'available', 'away', 'offline'])[1 + id % 4], now()
    FROM users;
    INSERT INTO customers (workspace_id, display_name)
    SELECT 1, 'Customer ' || g FROM generate_series(1, 50000) g;
    INSERT INTO interactions (workspace_id, channel, state, queue_id, customer_id, agent_id,
                              created_at, queued_at, first_answered_at, answered_at, wrapup_at,
                              ended_at, outcome)
    SELECT 1, (ARRAY['voice', 'chat', 'sms', 'email'])[1 + g % 4],
           CASE WHEN g % 7 = 0 THEN 'abandoned' ELSE 'closed' END,
           1 + g % 3, 1 + g % 50000, CASE WHEN g % 7 <> 0 THEN 1 + g % $1::int END,
           t, t,
           CASE WHEN g % 7 <> 0 THEN t + make_interval(secs => g % 60) END,
           CASE WHEN g % 7 <> 0 THEN t + make_interval(secs => g % 60) END,
           CASE WHEN g % 7 <> 0 THEN t + make_interval(secs => 120 + g % 480) END,
           t + make_interval(secs => CASE WHEN g % 7 = 0 THEN g % 90 ELSE 150 + g % 480 END),
           CASE WHEN g % 7 = 0 THEN 'abandoned' ELSE 'completed' END
    FROM (SELECT g, now() - make_interval(days => $2::int)
                    + make_interval(secs => g::float8 * 86400 / $3::int) AS t
          FROM generate_series(1, $3::int * $2::int) g) s
    WHERE t < now() - interval '20 minutes';
    INSERT INTO routing_decisions (workspace_id, interaction_id, agent_id, kind, outcome, fence, at)
    SELECT 1, id, agent_id, k.kind, k.outcome, 1, queued_at
    FROM interactions, (VALUES ('Offered', ''), ('Assigned', '')) k(kind, outcome)
    WHERE agent_id IS NOT NULL;
    INSERT INTO routing_decisions (workspace_id, interaction_id, agent_id, kind, outcome, fence, at)
    SELECT 1, id, agent_id, 'OfferEnded', 'timed_out', 1, queued_at
    FROM interactions WHERE agent_id IS NOT NULL AND id % 10 = 0;
    INSERT INTO event_log (workspace_id, kind, actor_user_id, data, at)
    SELECT 1, 'agent.presence', u.id, jsonb_build_object('presence', p.presence, 'reason', ''),
           d + p.at
    FROM users u,
         generate_series(date_trunc('day', now()) - make_interval(days => $2::int),
                         date_trunc('day', now()), interval '1 day') d,
         (VALUES (interval '8 h', 'available'), (interval '12 h', 'away'),
                 (interval '13 h', 'available'), (interval '17 h', 'offline')) p(at, presence)
    WHERE d + p.at < now();
    INSERT INTO interactions (workspace_id, channel, state, queue_id, customer_id, agent_id,
                              created_at, queued_at, first_answered_at, answered_at)
    SELECT 1, 'chat', CASE WHEN g <= 150 THEN 'assigned' ELSE 'queued' END, 1 + g % 3,
           1 + g, CASE WHEN g <= 150 THEN 1 + g % $1::int END,
           now() - make_interval(secs => g), now() - make_interval(secs => g),
           CASE WHEN g <= 150 THEN now() END, CASE WHEN g <= 150 THEN now() END
    FROM generate_series(1, 350) g;
    ANALYZE;
"""


async def _time(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    config = read_config_file(CONFIG)
    async with scratch_database() as (_, conn):
        print(f"filling {args.days} days x {args.per_day:,} interactions, {args.agents} agents...",
              flush=True)
        start = time.perf_counter()
        # asyncpg runs a multi-statement script only without parameters: inline the three.
        script = (FILL.replace("$1::int", str(args.agents)).replace("$2::int", str(args.days))
                  .replace("$3::int", str(args.per_day)))
        await conn.execute(script)
        total = await conn.fetchval("SELECT count(*) FROM interactions")
        decisions = await conn.fetchval("SELECT count(*) FROM routing_decisions")
        print(f"  {time.perf_counter() - start:.0f} s: {total:,} interactions, "
              f"{decisions:,} routing decisions", flush=True)
        now = datetime.now(UTC)
        today = live.start_of_day(now, config.workspace.timezone)
        cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("live board (the socket's every change)",
             lambda: live.board(conn, 1, config, now)),
            ("today, 15-minute intervals, by queue",
             lambda: history.report(conn, 1, config, history.check_period(today, now, "15"),
                                    "queue")),
            ("today, 15-minute intervals, by agent",
             lambda: history.report(conn, 1, config, history.check_period(today, now, "15"),
                                    "agent")),
            (f"{args.days} days, daily, by channel",
             lambda: history.report(conn, 1, config, history.check_period(
                 today - timedelta(days=args.days), now, "day"), "channel")),
            (f"{args.days} days, daily, by agent",
             lambda: history.report(conn, 1, config, history.check_period(
                 today - timedelta(days=args.days), now, "day"), "agent")),
        ]
        print(f"\n{'query':44} {'p50 ms':>8} {'p99 ms':>8}")
        for label, call in cases:
            p50, p99 = await _time(args.runs, call)
            print(f"{label:44} {p50:8.1f} {p99:8.1f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
