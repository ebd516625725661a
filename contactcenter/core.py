"""What every action needs: the database, Redis, and the configuration."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis

from contactcenter.settings import FileConfig


@dataclass(frozen=True)
class Core:
    pool: asyncpg.Pool
    redis: aioredis.Redis
    config: FileConfig


def connect_redis(url: str) -> aioredis.Redis:
    """Short timeouts: a Redis outage must show up in /healthz quickly, not hang requests."""
    client: aioredis.Redis = aioredis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15)
    return client
