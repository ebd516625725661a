"""GET /healthz: is this node able to serve? Load balancers and orchestrators ask it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from contactcenter.web.keys import CORE
from contactcenter.web.openapi import ApiRoutes, Response

routes = ApiRoutes(tag="operations")

CHECK_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    status: str
    checks: dict[str, str]


async def _check(probe: Awaitable[Any]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await probe
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # any failure of the dependency is reported, not raised
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


@routes.route(
    "GET", "/healthz", summary="Health of this node and of PostgreSQL and Redis",
    responses={200: Response("all dependencies answer", Health),
               503: Response("a dependency is down; `checks` says which", Health)},
)
async def healthz(request: web.Request) -> web.Response:
    core = request.app[CORE]
    postgres, redis = await asyncio.gather(
        _check(core.pool.fetchval("SELECT 1")), _check(core.redis.ping()))
    checks = {"postgres": postgres, "redis": redis}
    healthy = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if healthy else "unavailable", checks=checks)
    return web.json_response(body.model_dump(), status=200 if healthy else 503)
