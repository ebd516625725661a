"""Twilio's side of the tests: webhooks signed exactly as Twilio signs them (RequestValidator),
and a fake Twilio REST API on loopback for the real `twilio` library to call. The server runs
with SMS and voice enabled and points its Twilio client at the fake."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from channels.sandbox.twilio_api import TwilioStandIn
from channels.twilio_sms import sender as sms_sender
from contactcenter.core import Core
from contactcenter.settings import CalendarConfig, Settings
from contactcenter.web.app import create_app
from tests.conftest import AiohttpClient
from tests.live import eventually

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "twilio"
SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "0123456789abcdef0123456789abcdef"
# http, not https: the agent's session cookie would otherwise be Secure, and the test client
# talks plain HTTP.
PUBLIC_URL = "http://cc.example.com"
OUR_NUMBER = "+14155550199"
CUSTOMER = "+14155550100"


def fixture(name: str, **changes: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((FIXTURES / name).read_text())
    return {**data, **changes}


def signature(path: str, form: dict[str, str], url: str = PUBLIC_URL) -> str:
    return str(RequestValidator(TOKEN).compute_signature(url + path, form))


class Twilio:
    """Twilio's side of the conversation: signed webhooks to us, and its fake REST API."""

    def __init__(self, client: TestClient[Any, Any], api: TwilioStandIn, core: Core) -> None:
        self.client = client
        self.api = api
        self.core = core

    async def taken_in(self) -> None:
        """Wait until the server worked on every SMS webhook it kept (its intake is async)."""
        async def empty() -> bool:
            return bool(await self.core.pool.fetchval("SELECT count(*) = 0 FROM webhook_inbox"))
        await eventually(empty)

    def texts_sent(self) -> list[str]:
        """The bodies of the SMS the server sent through the REST API, oldest first."""
        return [r.form["Body"] for r in self.api.requests if r.path.endswith("/Messages.json")]

    async def post(self, path: str, form: dict[str, str], sign: bool = True) -> Any:
        headers = {"X-Twilio-Signature": signature(path, form)} if sign else {}
        return await self.client.post(path, data=form, headers=headers)

    async def text(self, body: str, sid_digit: str = "1", **changes: str) -> Any:
        """Send an SMS webhook and wait for its intake; return Twilio's answer."""
        form = fixture("sms_received.json", Body=body, MessageSid="SM" + sid_digit * 32,
                       SmsSid="SM" + sid_digit * 32, **changes)
        resp = await self.post("/channels/twilio/sms", form)
        await self.taken_in()
        return resp


@pytest.fixture
async def twilio(aiohttp_client: AiohttpClient, aiohttp_server: Callable[..., Awaitable[TestServer]],
                 settings: Settings, core: Core, monkeypatch: pytest.MonkeyPatch) -> Twilio:
    monkeypatch.setattr(sms_sender, "BACKOFF_BASE_SECONDS", 0.1)
    api = TwilioStandIn(SID, TOKEN)
    api_server = await aiohttp_server(api.app())
    twilio_settings = with_twilio(settings, str(api_server.make_url("")).rstrip("/"))
    env = twilio_settings.env
    assert env.database_url is not None
    assert env.redis_url is not None
    app: web.Application = create_app(twilio_settings, env.database_url, env.redis_url)
    return Twilio(await aiohttp_client(app), api, core)


def with_twilio(settings: Settings, api_url: str) -> Settings:
    """The tests' settings with SMS and voice enabled and Twilio's REST API at `api_url`."""
    voice = settings.file.channels.voice.model_copy(update={"enabled": True, "hold_music_url": ""})
    sms = settings.file.channels.sms.model_copy(update={
        "enabled": True, "numbers": {OUR_NUMBER: "support"},
        "queue_reply": "You are number {position} in line; expected wait {wait}.",
        "help_reply": "Reply to reach a person. STOP to stop.",
        "closed_reply": "We are closed; we will answer when we open."})
    channels = settings.file.channels.model_copy(update={"sms": sms, "voice": voice})
    # Billing is closed whatever the time the tests run at (a calendar open no day at all).
    queues = [q.model_copy(update={"calendar": "never"}) if q.name == "billing" else q
              for q in settings.file.queues]
    calendars = {**settings.file.calendars, "never": CalendarConfig(timezone="UTC")}
    env = replace(settings.env, twilio_account_sid=SID, twilio_auth_token=TOKEN,
                  public_url=PUBLIC_URL, twilio_api_url=api_url)
    return Settings(file=settings.file.model_copy(update={
        "channels": channels, "queues": queues, "calendars": calendars}), env=env)


