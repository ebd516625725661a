"""The demo's sandbox: a person texts and calls as a customer; every step goes through the
real, signed webhook handlers, and the server's replies reach the sandbox's Twilio stand-in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.actions import add_user
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.demo import SANDBOX_NUMBER, demo_settings
from contactcenter.settings import Settings
from contactcenter.web.app import create_app
from tests.conftest import PASSWORD, free_port
from tests.live import eventually, login, state_is

CUSTOMER = "+14155550123"


async def test_text_and_call_as_a_customer(
    aiohttp_server: Callable[..., Awaitable[TestServer]], settings: Settings, core: Core,
    workspace_id: int,
) -> None:
    port = free_port()
    demo = demo_settings(settings, f"http://127.0.0.1:{port}")
    assert demo.env.database_url is not None
    assert demo.env.redis_url is not None
    server = await aiohttp_server(create_app(demo, demo.env.database_url, demo.env.redis_url),
                                  port=port)
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async def post(path: str, body: dict[str, Any]) -> Any:
            async with http.post(base + path, json=body) as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()

        assert (await http.get(base + "/sandbox")).status == 200
        sms = await post("/sandbox/api/sms", {"sender": CUSTOMER, "to": SANDBOX_NUMBER,
                                              "body": "Where is my order?"})
        assert sms["status"] == 200

        dial = await post("/sandbox/api/call", {"step": "dial", "sender": "+14155550124",
                                                "to": SANDBOX_NUMBER})
        assert "<Gather" in dial["answer"]
        caller = {"call_sid": dial["call_sid"], "sender": "+14155550124", "to": SANDBOX_NUMBER}
        chose = await post("/sandbox/api/call", {"step": "choose", "digits": "1", **caller})
        assert "<Record" in chose["answer"]  # nobody is signed in: a voicemail
        left = await post("/sandbox/api/call", {
            "step": "record", "speech": "Call me back please", "duration": 5,
            "action": "/channels/twilio/voice/voicemail?queue=sales", **caller})
        assert "<Hangup" in left["answer"]
        bodies = await core.pool.fetch(
            "SELECT m.body FROM messages m JOIN interactions i ON i.id = m.interaction_id "
            "WHERE i.channel = 'voicemail' ORDER BY m.id")
        assert [r["body"] for r in bodies] == ["Voicemail (0:05)",
                                               "Transcription: Call me back please"]

        # An agent answers the SMS; the reply reaches the sandbox's stand-in for Twilio.
        await add_user(core, workspace_id, NewUser("dev@example.com", "Dev", "agent", PASSWORD,
                                                   {"support": 5}))
        agent = TestClient(server)
        csrf = {"X-CSRF-Token": await login(agent, "dev@example.com", PASSWORD)}
        await agent.put("/api/me/presence", json={"presence": "available"}, headers=csrf)
        sms_iid: int = await core.pool.fetchval("SELECT id FROM interactions WHERE channel = 'sms'")
        await eventually(lambda: state_is(core, sms_iid, "offered"))
        await agent.post(f"/api/interactions/{sms_iid}/accept", headers=csrf)
        await eventually(lambda: state_is(core, sms_iid, "assigned"))
        await agent.post(f"/api/interactions/{sms_iid}/messages", json={"body": "On its way!"},
                         headers=csrf)

        async def replied() -> list[Any]:
            async with http.get(base + "/sandbox/api/outbox") as resp:
                return [o for o in await resp.json() if o["path"] == "Messages.json"]
        [told, sent] = await eventually(lambda: _at_least(2, replied))
        await agent.session.close()
        assert "in line" in told["form"]["Body"]  # the automatic answer came first
        assert (sent["form"]["To"], sent["form"]["From"], sent["form"]["Body"]) == (
            CUSTOMER, SANDBOX_NUMBER, "On its way!")

        # As Twilio does, the sandbox reports the reply delivered, through the signed webhook.
        async def delivered() -> bool:
            status: str | None = await core.pool.fetchval(
                "SELECT delivery_status FROM messages WHERE body = 'On its way!'")
            return status == "delivered"
        await eventually(delivered)


async def _at_least(count: int, read: Callable[[], Awaitable[list[Any]]]) -> list[Any] | None:
    items = await read()
    return items if len(items) >= count else None


async def test_no_sandbox_outside_the_demo(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/sandbox")).status == 404
    assert (await client.post("/sandbox/api/sms", json={})).status == 404
