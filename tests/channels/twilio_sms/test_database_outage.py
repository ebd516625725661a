"""PostgreSQL refuses connections, then hangs, behind a TCP proxy while Twilio keeps posting:
every webhook is answered well inside Twilio's 15 s, kept in the node's spool, and taken in
exactly once, in arrival order, when PostgreSQL answers again. Callers hear "please hold"."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp.test_utils import TestServer

from channels.sandbox.twilio_api import TwilioStandIn
from contactcenter.core import Core
from contactcenter.settings import Settings
from contactcenter.web.app import create_app
from tests.channels.conftest import SID, TOKEN, Twilio, fixture, with_twilio
from tests.conftest import AiohttpClient
from tests.live import eventually
from tests.tcp_proxy import TcpProxy

TWILIO_WAITS_SECONDS = 15


@pytest.fixture
async def proxy(settings: Settings) -> AsyncIterator[TcpProxy]:
    assert settings.env.database_url is not None
    db = urlsplit(settings.env.database_url)
    assert db.hostname is not None
    assert db.port is not None
    running = TcpProxy(db.hostname, db.port)
    await running.start()
    yield running
    await running.close()


@pytest.fixture
async def twilio_via_proxy(
    aiohttp_client: AiohttpClient, aiohttp_server: Callable[..., Awaitable[TestServer]],
    settings: Settings, core: Core, proxy: TcpProxy,
) -> Twilio:
    """The server with Twilio on, its PostgreSQL reached through the proxy."""
    api = TwilioStandIn(SID, TOKEN)
    api_server = await aiohttp_server(api.app())
    twilio_settings = with_twilio(settings, str(api_server.make_url("")).rstrip("/"))
    assert twilio_settings.env.database_url is not None
    assert twilio_settings.env.redis_url is not None
    db = urlsplit(twilio_settings.env.database_url)
    proxied = urlunsplit(db._replace(netloc=f"{db.username}@127.0.0.1:{proxy.port}"))
    app = create_app(replace(twilio_settings, env=replace(twilio_settings.env,
                                                          database_url=proxied)),
                     proxied, twilio_settings.env.redis_url)
    return Twilio(await aiohttp_client(app), api, core)


async def _text(twilio: Twilio, n: int, body: str | None = None) -> tuple[int, float]:
    started = time.monotonic()
    form = fixture("sms_received.json", Body=body or f"message {n}",
                   MessageSid=f"SM{n:032d}", SmsSid=f"SM{n:032d}")
    resp = await twilio.post("/channels/twilio/sms", form)
    return resp.status, time.monotonic() - started


async def _stored(core: Core) -> list[Any]:
    rows = await core.pool.fetch(
        """SELECT provider_message_id FROM messages WHERE channel = 'sms'
           AND direction = 'inbound' ORDER BY id""")
    return [r["provider_message_id"] for r in rows]


async def test_texts_sent_while_postgresql_is_away_are_kept_and_taken_in_once_in_order(
    twilio_via_proxy: Twilio, proxy: TcpProxy, core: Core
) -> None:
    twilio = twilio_via_proxy
    assert (await _text(twilio, 0))[0] == 200
    await eventually(lambda: _has(core, 1))

    await proxy.refuse()
    refused = [await _text(twilio, n) for n in range(1, 11)]
    assert [status for status, _ in refused] == [200] * 10
    assert max(seconds for _, seconds in refused) < TWILIO_WAITS_SECONDS
    stop = await _text(twilio, 11, body="STOP")
    assert stop[0] == 200
    call = await twilio.post("/channels/twilio/voice/menu",
                             fixture("voice_incoming.json", Digits="1"))
    assert call.status == 200
    assert "<Redirect" in await call.text()  # the caller holds; Twilio asks again

    await proxy.restore()
    await eventually(lambda: _has(core, 11), within=30)
    stored = await _stored(core)
    assert stored == [f"SM{n:032d}" for n in range(11)]  # each once, in the order they came
    await eventually(lambda: core.pool.fetchval(  # the STOP sent meanwhile is obeyed
        "SELECT keyword = 'STOP' FROM sms_opt_outs WHERE phone = $1",
        fixture("sms_received.json")["From"]))

    proxy.stall()  # now PostgreSQL hangs: each webhook waits its deadline, then is spooled
    stalled = await asyncio.gather(*(_text(twilio, n) for n in range(12, 22)))
    assert [status for status, _ in stalled] == [200] * 10
    assert max(seconds for _, seconds in stalled) < TWILIO_WAITS_SECONDS
    await proxy.restore()
    await eventually(lambda: _has(core, 21), within=30)
    assert sorted(await _stored(core)) == [f"SM{n:032d}" for n in range(22) if n != 11]
    await twilio.taken_in()


async def _has(core: Core, count: int) -> bool:
    return len(await _stored(core)) >= count
