"""Prometheus at GET /metrics: the process's instruments (contactcenter.instruments) and, read
at each scrape, what is true of the workspace now: queue depth, oldest wait, agents by state.

Left open like /healthz, as scrape targets usually are; put it behind the proxy's allow-list
if the queue names are not for everyone.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from contactcenter.instruments import REGISTRY, WEBHOOK_LATENCY
from contactcenter.web.keys import CORE, WORKSPACE_ID

_NOW = """
    SELECT q.name,
           count(i.id) AS waiting,
           coalesce(extract(epoch FROM now() - min(i.queued_at)), 0)::float8 AS oldest
    FROM queues q
    LEFT JOIN interactions i ON i.queue_id = q.id AND i.state IN ('queued', 'offered')
    WHERE q.workspace_id = $1 AND q.active
    GROUP BY q.name ORDER BY q.name"""

_AGENTS = """
    SELECT coalesce(p.presence, 'offline') AS presence, count(*) AS agents
    FROM users u LEFT JOIN agent_presence p ON p.user_id = u.id
    WHERE u.workspace_id = $1 AND u.role = 'agent' AND u.disabled_at IS NULL
    GROUP BY 1"""


class _Snapshot(Collector):
    """Figures read from PostgreSQL just before this scrape."""

    def __init__(self, queues: list[tuple[str, int, float]], agents: dict[str, int]) -> None:
        self.queues = queues
        self.agents = agents

    def collect(self) -> list[GaugeMetricFamily]:
        depth = GaugeMetricFamily("cc_queue_waiting", "Interactions waiting in the queue now",
                                  labels=["queue"])
        oldest = GaugeMetricFamily("cc_queue_oldest_wait_seconds",
                                   "How long the longest-waiting interaction has waited",
                                   labels=["queue"])
        for name, waiting, wait in self.queues:
            depth.add_metric([name], waiting)
            oldest.add_metric([name], wait)
        agents = GaugeMetricFamily("cc_agents", "Agents by chosen presence", labels=["presence"])
        for presence in ("available", "away", "offline"):
            agents.add_metric([presence], self.agents.get(presence, 0))
        return [depth, oldest, agents]


async def metrics(request: web.Request) -> web.Response:
    core = request.app[CORE]
    ws = request.app[WORKSPACE_ID]
    async with core.pool.acquire() as conn:
        queues = [(r["name"], r["waiting"], r["oldest"]) for r in await conn.fetch(_NOW, ws)]
        agents = {r["presence"]: r["agents"] for r in await conn.fetch(_AGENTS, ws)}
    now = CollectorRegistry(auto_describe=False)
    now.register(_Snapshot(queues, agents))
    body = generate_latest(REGISTRY) + generate_latest(now)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def time_webhooks(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Times the answers to providers' webhooks (/channels/...), errors included."""
    if not request.path.startswith("/channels/"):
        return await handler(request)
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        route = request.match_info.route.resource
        WEBHOOK_LATENCY.labels(route.canonical if route else "unmatched").observe(
            time.perf_counter() - started)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
