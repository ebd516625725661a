"""A scratch database for a benchmark: created on the local PostgreSQL (CC_BENCH_ADMIN_URL,
default postgresql://postgres@127.0.0.1:5432/postgres), migrated, with one workspace, and
dropped afterwards whatever happens."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contactcenter.store.db import connect
from contactcenter.store.migrate import migrate

ADMIN_URL = os.environ.get("CC_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """(its URL, a connection to it) with workspace 1 ('bench') in it."""
    name = f"cc_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"CREATE DATABASE {name}")
    url = ADMIN_URL.rpartition("/")[0] + "/" + name
    try:
        conn = await connect(url)
        try:
            await migrate(conn)
            await conn.execute("INSERT INTO workspaces (slug, name) VALUES ('bench', 'Bench')")
            yield url, conn
        finally:
            await conn.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
