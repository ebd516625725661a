"""Connections to PostgreSQL, the system of record."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def connect(url: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncpg.connect(url)
    await _init_connection(conn)
    return conn


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pooled connections carry no session state (no LISTEN, SET or advisory lock: migrations
    take their own connection), so a released one needs no reset query: that would be one
    more round trip after every request. An open transaction is still rolled back by asyncpg."""


async def create_pool(url: str, **kwargs: Any) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, init=_init_connection, min_size=1, max_size=kwargs.pop("max_size", 10),
        reset=_keep_session, **kwargs
    )
    return pool
