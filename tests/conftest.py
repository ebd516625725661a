"""Shared fixtures: every test gets its own PostgreSQL database and its own Redis server.

PostgreSQL is the machine's server (CC_TEST_ADMIN_URL, default postgres@127.0.0.1:5432);
each test's database is cloned from a template migrated once per session, which takes a few
milliseconds instead of running the migrations again. Redis is a private redis-server per test
on a free loopback port, so tests can also stop and restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactcenter.actions import add_user, sync_workspace
from contactcenter.actions.users import NewUser
from contactcenter.core import Core, connect_redis
from contactcenter.embedded import EmbeddedServer, start_redis
from contactcenter.settings import Settings, load_settings
from contactcenter.store.db import create_pool
from contactcenter.store.migrate import migrate
from contactcenter.web.app import create_app

ADMIN_URL = os.environ.get("CC_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def template_database() -> Iterator[str]:
    name = f"cc_template_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        await _admin(f"CREATE DATABASE {name}")
        conn = await asyncpg.connect(database_url(name))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(create())
    yield name
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@contextlib.contextmanager
def _temporary_database(template: str | None = None) -> Iterator[str]:
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")))
    try:
        yield database_url(name)
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """A database with nothing in it, not even the migrations."""
    with _temporary_database() as url:
        yield url


@pytest.fixture
def db_url(template_database: str) -> Iterator[str]:
    """A migrated database of this test's own."""
    with _temporary_database(template_database) as url:
        yield url


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = start_redis(tmp_path / "redis-data", port=free_port())
    yield server
    server.stop()


@pytest.fixture
def settings(db_url: str, redis_server: EmbeddedServer, tmp_path: Path) -> Settings:
    return load_settings({
        "CC_DATABASE_URL": db_url,
        "CC_REDIS_URL": redis_server.url,
        "CC_DATA_DIR": str(tmp_path / "data"),
    })


@pytest.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    assert settings.env.database_url is not None
    assert settings.env.redis_url is not None
    pool = await create_pool(settings.env.database_url, max_size=10)
    redis = connect_redis(settings.env.redis_url)
    async with pool.acquire() as conn:
        await sync_workspace(conn, settings.file)
    yield Core(pool=pool, redis=redis, config=settings.file)
    await redis.aclose()
    await pool.close()


@pytest.fixture
async def workspace_id(core: Core) -> int:
    value: int = await core.pool.fetchval(
        "SELECT workspace_id FROM workspaces WHERE slug = $1", core.config.workspace.slug)
    return value


AiohttpClient = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
PASSWORD = "correct horse battery"


@pytest.fixture
def app(settings: Settings, core: Core) -> web.Application:
    assert settings.env.database_url is not None
    assert settings.env.redis_url is not None
    return create_app(settings, settings.env.database_url, settings.env.redis_url)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, app: web.Application) -> TestClient[Any, Any]:
    return await aiohttp_client(app)


@pytest.fixture
async def agent(core: Core, workspace_id: int) -> str:
    await add_user(core, workspace_id, NewUser(
        "Ana@Example.com", "Ana Alvarez", "agent", PASSWORD, {"sales": 7, "spanish": 10}))
    return "ana@example.com"
