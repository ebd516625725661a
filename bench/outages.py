"""What the server guarantees when its dependencies fail, measured (docs/operations.md).

Runs the real application in this process on a scratch database (reached through a TCP proxy
that can refuse or stall) and a private Redis, then:

1. PostgreSQL refuses connections for 10 s, then 2. hangs for 10 s, while Twilio posts 10 SMS
   webhooks a second: how long each webhook waited for its answer, and how long after
   PostgreSQL returned every message was stored (once each).
3. Redis stops for 20 s and comes back empty, with an agent's console socket open: how long
   after Redis returned the console (reconnecting as the page does) was live again.
4. The routing leader stops renewing its lease (a crashed node): how long until another node
   leads, and how long after a flushed Redis routing resumes.

    .venv/bin/python bench/outages.py
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_database
from bench.sms_webhooks import free_port, wait_healthy
from contactcenter.actions import add_user, sync_workspace
from contactcenter.actions.users import NewUser
from contactcenter.core import Core, connect_redis
from contactcenter.embedded import start_redis
from contactcenter.settings import load_settings
from contactcenter.store.db import create_pool
from contactcenter.web.app import create_app
from routing.service import RoutingService
from tests.tcp_proxy import TcpProxy

SID, TOKEN, PUBLIC = "AC" + "0" * 32, "bench-token", "http://bench.example.com"
PASSWORD = "bench password"
RATE = 10  # webhooks a second during an outage
OUTAGE_SECONDS = {"refused": 10, "stalled": 10}


def sms_form(n: int) -> dict[str, str]:
    return {"MessageSid": f"SM{n:032d}", "SmsSid": f"SM{n:032d}", "AccountSid": SID,
            "From": f"+1415555{n % 50:04d}", "To": "+14155550199", "Body": f"message {n}",
            "NumMedia": "0"}


async def post_sms(session: aiohttp.ClientSession, base: str, n: int) -> float:
    form = sms_form(n)
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/channels/twilio/sms", form)
    started = time.monotonic()
    async with session.post(base + "/channels/twilio/sms", data=form,
                            headers={"X-Twilio-Signature": signature}) as resp:
        assert resp.status == 200, await resp.text()
    return time.monotonic() - started


async def database_outage(kind: str, proxy: TcpProxy, session: aiohttp.ClientSession,
                          base: str, core: Core, first: int) -> None:
    count = RATE * OUTAGE_SECONDS[kind]
    await (proxy.refuse() if kind == "refused" else asyncio.sleep(0))
    if kind == "stalled":
        proxy.stall()
    sends = []
    for n in range(first, first + count):
        sends.append(asyncio.create_task(post_sms(session, base, n)))
        await asyncio.sleep(1 / RATE)
    waits = sorted(await asyncio.gather(*sends))
    await proxy.restore()
    back = time.monotonic()
    async def all_stored() -> bool:
        stored: int = await core.pool.fetchval(
            """SELECT count(DISTINCT provider_message_id) FROM messages
               WHERE channel = 'sms' AND direction = 'inbound'""")
        return stored >= first + count
    await until(all_stored)
    stored_after = time.monotonic() - back
    twice = await core.pool.fetchval(
        """SELECT count(*) - count(DISTINCT provider_message_id) FROM messages
           WHERE channel = 'sms' AND direction = 'inbound'""")
    print(f"PostgreSQL {kind} {OUTAGE_SECONDS[kind]} s, {count} SMS webhooks at {RATE}/s: "
          f"answered in p50 {statistics.median(waits) * 1000:.0f} ms, "
          f"max {waits[-1] * 1000:.0f} ms (Twilio waits 15 s); all stored "
          f"{stored_after:.1f} s after it returned; stored twice: {twice}")


async def console_live(session: aiohttp.ClientSession, base: str) -> None:
    """Connect as the console page does and wait for its snapshot; retry every 0.5 s."""
    while True:
        try:
            async with session.ws_connect(base.replace("http", "ws") + "/console/ws") as ws:
                await ws.send_json({"type": "hello"})
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT and '"snapshot"' in msg.data:
                        return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)


async def redis_outage(redis_dir: Path, redis_port: int, stop_redis: object,
                       session: aiohttp.ClientSession, base: str) -> None:
    await console_live(session, base)
    ws = await session.ws_connect(base.replace("http", "ws") + "/console/ws")
    await ws.send_json({"type": "hello"})
    stop_redis.stop()  # type: ignore[attr-defined]
    stopped = time.monotonic()
    async for msg in ws:  # the socket must be closed, not left deaf
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
    closed_after = time.monotonic() - stopped
    await asyncio.sleep(max(0.0, 20 - (time.monotonic() - stopped)))
    restarted = start_redis(redis_dir, port=redis_port)
    back = time.monotonic()
    await console_live(session, base)
    print(f"Redis stopped 20 s, back empty: the console socket closed {closed_after:.1f} s "
          f"after Redis stopped; live again {time.monotonic() - back:.1f} s after it returned "
          f"(the page waits up to 5 s between tries; this client 0.5 s)")
    return restarted  # type: ignore[return-value]


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll every 50 ms, as a person watching would (the bench measures, it does not wait)."""
    for _ in itertools.count():
        if await check():
            return
        await asyncio.sleep(0.05)


async def leads(service: RoutingService) -> bool:
    return service.leading


async def leader_loss(core: Core, workspace_id: int) -> None:
    first = RoutingService(core, workspace_id, "bench-a", lease_seconds=3.0)
    second = RoutingService(core, workspace_id, "bench-b", lease_seconds=3.0)
    task_a = asyncio.create_task(first.run())
    await until(lambda: leads(first))
    task_b = asyncio.create_task(second.run())
    first.stop()  # stops renewing, keeps its lease: a crashed node
    await task_a
    crashed = time.monotonic()
    await until(lambda: leads(second))
    took_over = time.monotonic() - crashed
    await core.redis.flushall()
    flushed = time.monotonic()
    await asyncio.sleep(0.2)
    await until(lambda: leads(second))
    second.stop()
    await task_b
    print(f"Routing leader lost (lease 3 s): another node led {took_over:.1f} s later; after "
          f"Redis was flushed, routing led again {time.monotonic() - flushed:.1f} s later")


async def main() -> None:
    async with scratch_database() as (db_url, _):
        with tempfile.TemporaryDirectory() as tmp:
            redis_port = free_port()
            redis = start_redis(Path(tmp) / "redis", port=redis_port)
            db = urlsplit(db_url)
            assert db.hostname is not None
            assert db.port is not None
            proxy = TcpProxy(db.hostname, db.port)
            await proxy.start()
            proxied = urlunsplit(db._replace(netloc=f"{db.username}@127.0.0.1:{proxy.port}"))
            settings = load_settings({"CC_DATABASE_URL": proxied, "CC_REDIS_URL": redis.url,
                                      "CC_DATA_DIR": str(Path(tmp) / "data")})
            sms = settings.file.channels.sms.model_copy(update={"enabled": True})
            file = settings.file.model_copy(update={"channels": settings.file.channels.model_copy(
                update={"sms": sms})})
            settings = replace(settings, file=file, env=replace(
                settings.env, twilio_account_sid=SID, twilio_auth_token=TOKEN, public_url=PUBLIC,
                twilio_api_url="http://127.0.0.1:9"))
            pool = await create_pool(db_url)
            core = Core(pool=pool, redis=connect_redis(redis.url), config=settings.file)
            async with pool.acquire() as conn:
                await sync_workspace(conn, settings.file)
                workspace_id = await conn.fetchval(
                    "SELECT workspace_id FROM workspaces WHERE slug = $1", settings.file.workspace.slug)
            await add_user(core, workspace_id, NewUser("ana@bench.test", "Ana", "agent", PASSWORD,
                                                       {}))
            runner = web.AppRunner(create_app(settings, proxied, redis.url))
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            base = f"http://127.0.0.1:{port}"
            try:
                jar = aiohttp.CookieJar(unsafe=True)
                async with aiohttp.ClientSession(cookie_jar=jar) as session:
                    await wait_healthy(session, base)
                    await session.post(base + "/api/login", json={"email": "ana@bench.test",
                                                                  "password": PASSWORD})
                    await database_outage("refused", proxy, session, base, core, 0)
                    await database_outage("stalled", proxy, session, base, core,
                                          RATE * OUTAGE_SECONDS["refused"])
                    redis = await redis_outage(Path(tmp) / "redis", redis_port, redis, session,
                                               base)
                await runner.cleanup()
                core = replace(core, redis=connect_redis(redis.url))
                await leader_loss(core, workspace_id)
            finally:
                with contextlib.suppress(Exception):
                    await runner.cleanup()
                await proxy.close()
                await pool.close()
                redis.stop()


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # the workers' complaints during each outage are expected
    asyncio.run(main())
