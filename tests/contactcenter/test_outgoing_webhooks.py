"""Outgoing webhooks to a real HTTP server on loopback: signed as documented, each matching
event delivered once, a refusal retried until it lands."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contactcenter import events
from contactcenter.core import Core
from contactcenter.events import Event
from contactcenter.outgoing_webhooks import WebhookDispatcher, sign, verify
from contactcenter.settings import WebhookConfig

SECRET = "whsec-test-1234"


class Receiver:
    """An external CRM: answers 500 to the first delivery of `flaky` events, 204 otherwise."""

    def __init__(self, flaky: str) -> None:
        self.flaky = flaky
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        first = all(json.loads(b)["type"] != self.flaky for _, b in self.received)
        self.received.append((dict(request.headers), body))
        if json.loads(body)["type"] == self.flaky and first:
            return web.Response(status=500)
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    got = Receiver(flaky="case.opened")
    app = web.Application()
    app.router.add_post("/hooks", got.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield got, str(server.make_url("/hooks"))
    await server.close()


async def _event(core: Core, workspace_id: int, kind: str, data: dict[str, Any]) -> int:
    async with core.pool.acquire() as conn:
        logged = await events.record(conn, Event(kind, workspace_id, data))
    return logged.id


def test_signatures_are_checked_for_secret_and_freshness() -> None:
    body = b'{"id":1}'
    header = sign(SECRET, 1_800_000_000, body)
    assert verify(SECRET, header, body, now=1_800_000_100)
    assert not verify("other", header, body, now=1_800_000_100)
    assert not verify(SECRET, header, body + b" ", now=1_800_000_100)
    assert not verify(SECRET, header, body, now=1_800_001_000)  # replayed 1,000 s later
    assert not verify(SECRET, "v1=abc", body, now=1_800_000_000)


async def test_matching_events_are_signed_delivered_once_and_retried(
    core: Core, workspace_id: int, receiver: tuple[Receiver, str]
) -> None:
    got, url = receiver
    before = await _event(core, workspace_id, "case.opened", {"case_id": 99})
    hook = WebhookConfig(name="erp", url=url, secret_env="ERP_SECRET",
                         events=["case.*", "lead.created"])
    dispatcher = WebhookDispatcher(core, workspace_id, [hook], {"ERP_SECRET": SECRET})
    async with aiohttp.ClientSession() as session:
        dispatcher.session = session
        await dispatcher.step()  # the cursor starts at the newest event: `before` is history
        opened = await _event(core, workspace_id, "case.opened", {"case_id": 1})
        await _event(core, workspace_id, "message.sent", {"message_id": 5})  # not subscribed
        lead = await _event(core, workspace_id, "lead.created", {"lead_id": 7})
        await dispatcher.step()
        assert len(got.received) == 2  # the case event was refused (500), the lead's landed
        failed = await core.pool.fetchrow(
            "SELECT attempts, last_error, delivered_at FROM webhook_deliveries WHERE event_id = $1",
            opened)
        assert (failed["attempts"], failed["last_error"], failed["delivered_at"]) == (
            1, "HTTP 500", None)
        assert await dispatcher.step() is False  # the retry waits for its backoff (5 s)
        await core.pool.execute("UPDATE webhook_deliveries SET next_attempt_at = now()")
        await dispatcher.step()
        await dispatcher.step()
    delivered = await core.pool.fetch(
        "SELECT event_id FROM webhook_deliveries WHERE delivered_at IS NOT NULL ORDER BY event_id")
    assert [r["event_id"] for r in delivered] == [opened, lead]
    assert len(got.received) == 3
    bodies = [json.loads(body) for _, body in got.received]
    assert sorted({b["id"] for b in bodies}) == [opened, lead]
    assert before not in {b["id"] for b in bodies}
    for headers, body in got.received:
        assert verify(SECRET, headers["X-CC-Signature"], body, now=time.time())
        assert headers["Content-Type"] == "application/json"
    retried = [b for b in bodies if b["id"] == opened]
    assert len(retried) == 2
    assert retried[0]["type"] == "case.opened"
    assert retried[0]["data"]["case_id"] == 1
    assert retried[0]["workspace"] == core.config.workspace.slug
