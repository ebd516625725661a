"""Outgoing webhooks: an external CRM or ERP follows interaction, case, lead and opportunity
events. Each subscription reads the event log from its own cursor, so every matching event is
queued for it exactly once, even across restarts; each delivery is POSTed as JSON, signed with
HMAC-SHA256, and retried with backoff until the receiver answers 2xx.

The signature header is `X-CC-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
so a receiver checks both who sent it and that it is fresh (a replay carries an old t).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from contactcenter.core import Core
from contactcenter.instruments import OUTGOING_WEBHOOK_LATENCY
from contactcenter.numbers import whole_number
from contactcenter.polling import PollingWorker, running
from contactcenter.settings import WebhookConfig
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0
TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "X-CC-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: float = 300) -> bool:
    """What a receiver does (our tests do it too): the signature matches and is fresh."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    timestamp = whole_number(parts.get("t", ""))
    if timestamp is None or "v1" not in parts:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, parts["v1"])


def wanted(patterns: list[str], kind: str) -> bool:
    return any(fnmatch.fnmatchcase(kind, p) for p in patterns)


def backoff(attempts: int) -> float:
    return float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)))


class WebhookDispatcher(PollingWorker):
    poll_seconds = 1.0

    def __init__(self, core: Core, workspace_id: int, hooks: list[WebhookConfig],
                 secrets: dict[str, str]) -> None:
        super().__init__()
        self.core = core
        self.ws = workspace_id
        self.hooks = {h.name: h for h in hooks}
        self.secrets = {h.name: secrets[h.secret_env] for h in hooks}
        self.session: aiohttp.ClientSession | None = None

    async def step(self) -> bool:
        for hook in self.hooks.values():
            await self._queue_new_events(hook)
        due = await self._claim()
        if due:
            await asyncio.gather(*(self._deliver(d) for d in due))
        return bool(due)

    async def _queue_new_events(self, hook: WebhookConfig) -> None:
        async with self.core.pool.acquire() as conn, conn.transaction():
            # A new subscription starts from now, not from the beginning of history.
            await conn.execute(
                """INSERT INTO webhook_cursors (workspace_id, subscription, last_event_id)
                   SELECT $1, $2, coalesce(max(id), 0) FROM event_log WHERE workspace_id = $1
                   ON CONFLICT DO NOTHING""", self.ws, hook.name)
            cursor = await conn.fetchval(
                """SELECT last_event_id FROM webhook_cursors
                   WHERE workspace_id = $1 AND subscription = $2 FOR UPDATE SKIP LOCKED""",
                self.ws, hook.name)
            if cursor is None:
                return  # another node is queueing for it right now
            rows = await conn.fetch(
                """SELECT id, kind FROM event_log WHERE workspace_id = $1 AND id > $2
                   ORDER BY id LIMIT 1000""", self.ws, cursor)
            if not rows:
                return
            chosen = [r["id"] for r in rows if wanted(hook.events, r["kind"])]
            await conn.execute(
                """INSERT INTO webhook_deliveries (workspace_id, subscription, event_id)
                   SELECT $1, $2, unnest($3::bigint[]) ON CONFLICT DO NOTHING""",
                self.ws, hook.name, chosen)
            await conn.execute(
                """UPDATE webhook_cursors SET last_event_id = $3
                   WHERE workspace_id = $1 AND subscription = $2""",
                self.ws, hook.name, rows[-1]["id"])

    async def _claim(self) -> list[dict[str, Any]]:
        """Due deliveries, leased to this node for a minute (a node that dies mid-delivery
        leaves them to be tried again)."""
        rows = await self.core.pool.fetch(
            """UPDATE webhook_deliveries d SET attempts = d.attempts + 1,
                   next_attempt_at = now() + interval '60 seconds'
               FROM (SELECT id FROM webhook_deliveries
                     WHERE workspace_id = $1 AND delivered_at IS NULL AND failed_at IS NULL
                       AND next_attempt_at <= now() AND subscription = ANY($2::text[])
                     ORDER BY event_id LIMIT 20 FOR UPDATE SKIP LOCKED) due, event_log e
               WHERE d.id = due.id AND e.id = d.event_id
               RETURNING d.id, d.subscription, d.attempts, e.id AS event_id, e.kind, e.at,
                         e.data, e.interaction_id, e.customer_id, e.actor_user_id""",
            self.ws, list(self.hooks))
        return [dict(r) for r in rows]

    async def _deliver(self, d: dict[str, Any]) -> None:
        hook = self.hooks[d["subscription"]]
        body = json.dumps({
            "id": d["event_id"], "type": d["kind"], "created_at": d["at"].isoformat(),
            "workspace": self.core.config.workspace.slug,
            "data": {**d["data"], "interaction_id": d["interaction_id"],
                     "customer_id": d["customer_id"], "actor_user_id": d["actor_user_id"]},
        }, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-CC-Event": d["kind"],
                   "X-CC-Delivery": str(d["id"]), "User-Agent": "contactcenter-webhooks/1",
                   SIGNATURE_HEADER: sign(self.secrets[hook.name], int(time.time()), body)}
        error = None
        started = time.monotonic()
        try:
            assert self.session is not None
            async with self.session.post(hook.url, data=body, headers=headers,
                                         allow_redirects=False) as resp:
                if not 200 <= resp.status < 300:
                    error = f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"unreachable: {exc}"[:300]
        OUTGOING_WEBHOOK_LATENCY.labels("delivered" if error is None else "failed").observe(
            time.monotonic() - started)
        if error is None:
            await self.core.pool.execute(
                "UPDATE webhook_deliveries SET delivered_at = now(), last_error = NULL "
                "WHERE id = $1", d["id"])
            return
        give_up = d["attempts"] >= MAX_ATTEMPTS
        log.warning("webhook %s, event %d: %s%s", hook.name, d["event_id"], error,
                    "; giving up" if give_up else "; retrying")
        await self.core.pool.execute(
            """UPDATE webhook_deliveries SET last_error = $2,
                   next_attempt_at = now() + make_interval(secs => $3),
                   failed_at = CASE WHEN $4 THEN now() END WHERE id = $1""",
            d["id"], error, backoff(d["attempts"]), give_up)

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self.session = session
            await super().run()


async def dispatcher_context(app: web.Application) -> AsyncIterator[None]:
    core = app[CORE]
    if not core.config.webhooks:
        yield
        return
    dispatcher = WebhookDispatcher(core, app[WORKSPACE_ID], core.config.webhooks,
                                   app[SETTINGS].env.webhook_secrets)
    async with running(dispatcher):
        yield
