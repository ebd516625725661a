"""Customer search benchmark (issue 7). Never part of the test run.

Creates a scratch database on the local PostgreSQL (CC_BENCH_ADMIN_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it, fills it with N customers (a
name, an E.164 phone and an email each; a tenth tagged, a tenth with a plan attribute), then
times the API's search function for the questions agents ask: part of a name, a phone number
written any way, part of an email, a tag, an attribute. Prints p50 / p99 per kind and drops
the database.

    .venv/bin/python bench/customer_search.py                   # 1,000,000 customers
    .venv/bin/python bench/customer_search.py --customers 100000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_database
from contactcenter.crm.customers import search

FIRST = ["Jordan", "Maria", "Wei", "Aisha", "Lukas", "Sofia", "Kenji", "Olga", "Pedro", "Fatima",
         "Noah", "Emma", "Liam", "Chloé", "Mateo", "Ingrid", "Ravi", "Yuki", "Omar", "Zoe"]
LAST = ["Lee", "García", "Chen", "Khan", "Müller", "Rossi", "Tanaka", "Ivanova", "Silva",
        "Haddad", "Smith", "Dubois", "Novak", "Larsen", "Kowalski", "Okafor", "Nguyen", "Brown"]

FILL = """
    INSERT INTO customers (workspace_id, display_name, tags, attributes)
    SELECT 1, (ARRAY{first})[1 + (g * 7) % {nf}] || ' ' || (ARRAY{last})[1 + (g * 13) % {nl}]
              || ' ' || g,
           CASE WHEN g % 10 = 0 THEN ARRAY['vip'] ELSE '{{}}' END,
           CASE WHEN g % 10 = 3 THEN '{{"plan": "enterprise"}}'::jsonb ELSE '{{}}' END
    FROM generate_series(1, {n}) g;
    INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
    SELECT 1, id, 'phone', '+1' || (2012000000 + id * 37 % 7987000000)::text FROM customers;
    INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
    SELECT 1, id, 'email', 'user' || id || '@example' || (id % 500) || '.com' FROM customers;
    ANALYZE customers; ANALYZE customer_identities;
"""


def _pg_array(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


async def _time(conn: asyncpg.Connection, runs: int,
                make: Callable[[random.Random], dict[str, object]]) -> tuple[float, float, int]:
    rng = random.Random(7)
    times, found = [], 0
    for _ in range(runs):
        kwargs = make(rng)
        start = time.perf_counter()
        page = await search(conn, 1, **kwargs)  # type: ignore[arg-type]
        times.append((time.perf_counter() - start) * 1000)
        found += len(page["customers"])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    async with scratch_database() as (_, conn):
        print(f"filling {args.customers:,} customers with a phone and an email each...",
              flush=True)
        start = time.perf_counter()
        await conn.execute(FILL.format(first=_pg_array(FIRST), last=_pg_array(LAST),
                                       nf=len(FIRST), nl=len(LAST), n=args.customers))
        print(f"  {time.perf_counter() - start:.0f} s; trigram indexes: "
              f"{bool(await conn.fetchval('SELECT true FROM pg_extension WHERE extname = $1', 'pg_trgm'))}")
        n = args.customers
        kinds: list[tuple[str, Callable[[random.Random], dict[str, object]]]] = [
            ("part of a name ('garcía 4711')",
             lambda r: {"text": f"{r.choice(LAST)} {r.randrange(1, n)}"}),
            ("a last name alone, first page",
             lambda r: {"text": r.choice(LAST)}),
            ("a phone, as written ('(201) 2..')",
             lambda r: {"text": _phone_as_written(2012000000 + r.randrange(1, n) * 37 % 7987000000)}),
            ("part of an email ('user4711@')",
             lambda r: {"text": f"user{r.randrange(1, n)}@"}),
            ("a tag, first page", lambda r: {"tag": "vip"}),
            ("an attribute, first page", lambda r: {"attributes": {"plan": "enterprise"}}),
        ]
        print(f"\n{'query':42} {'p50 ms':>8} {'p99 ms':>8} {'found/query':>12}")
        for label, make in kinds:
            p50, p99, found = await _time(conn, args.runs, make)
            print(f"{label:42} {p50:8.2f} {p99:8.2f} {found / args.runs:12.1f}", flush=True)


def _phone_as_written(number: int) -> str:
    digits = str(number)
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


if __name__ == "__main__":
    asyncio.run(main())
