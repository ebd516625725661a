"""What every action needs: the database, Redis, and the configuration."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from contactcenter.settings import FileConfig


@dataclass(frozen=True)
class Core:
    pool: asyncpg.Pool
    redis: aioredis.Redis
    config: FileConfig


def connect_redis(url: str) -> aioredis.Redis:
    """Short timeouts: a Redis outage must show up in /healthz quickly, not hang requests.

    The retry is explicit because from_url() gives connections none: after Redis restarts,
    the first command on each pooled connection would fail on its dead socket instead of
    reconnecting.
    """
    client: aioredis.Redis = aioredis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.25), retries=3))
    return client
