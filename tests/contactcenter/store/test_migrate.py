"""Migrations apply once, whoever runs them and however many run at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from contactcenter.store import migrate as migrate_module
from contactcenter.store.migrate import Migration, MigrationError, load_migrations, migrate


async def test_applying_twice_is_a_no_op(empty_database_url: str) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        first = await migrate(conn)
        assert first == [m.name for m in load_migrations()]
        tables_before = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'")
        assert await migrate(conn) == []
        tables_after = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'")
        assert tables_before == tables_after
    finally:
        await conn.close()


async def test_every_table_carries_workspace_id(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        missing = await conn.fetch(
            """SELECT t.tablename FROM pg_tables t WHERE t.schemaname = 'public'
               AND t.tablename <> 'schema_migrations'
               AND NOT EXISTS (SELECT 1 FROM information_schema.columns c
                               WHERE c.table_name = t.tablename AND c.column_name = 'workspace_id')""")
    finally:
        await conn.close()
    assert [r["tablename"] for r in missing] == []


def test_two_processes_migrating_at_once_apply_each_migration_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    env |= {"CC_DATABASE_URL": empty_database_url, "CC_REDIS_URL": "redis://127.0.0.1:1/0",
            "CC_DATA_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "contactcenter", "migrate"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    applied_lines = sum(err.count("applied migration") for _, err in outputs)
    assert applied_lines == len(load_migrations()), "each migration is applied by exactly one process"

    async def versions() -> list[int]:
        conn = await asyncpg.connect(empty_database_url)
        try:
            return [r["version"] for r in await conn.fetch(
                "SELECT version FROM schema_migrations ORDER BY version")]
        finally:
            await conn.close()

    assert asyncio.run(versions()) == [m.version for m in load_migrations()]


async def test_an_edited_applied_migration_is_refused(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        await migrate(conn)
        original = load_migrations()
        edited = [Migration(m.version, m.name, m.sql + "\n-- edited\n") for m in original]
        monkeypatch.setattr(migrate_module, "load_migrations", lambda: edited)
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await migrate(conn)
    finally:
        await conn.close()
