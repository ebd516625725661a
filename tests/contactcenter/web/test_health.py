"""/healthz reports PostgreSQL and Redis, and follows Redis going down and coming back."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient

from contactcenter.embedded import EmbeddedServer, start_redis


async def test_healthy(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


async def test_503_while_redis_is_down_and_200_when_it_is_back(
    client: TestClient[Any, Any], redis_server: EmbeddedServer, tmp_path: Path
) -> None:
    assert (await client.get("/healthz")).status == 200
    redis_server.stop()

    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["postgres"] == "ok"
    assert body["checks"]["redis"] != "ok"

    port = urlsplit(redis_server.url).port
    assert port is not None
    restarted = start_redis(tmp_path / "redis-data", port=port)
    try:
        resp = await client.get("/healthz")
        assert resp.status == 200, await resp.text()
    finally:
        restarted.stop()
