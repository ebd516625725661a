"""SMS webhook benchmark (issue 5). Never part of the test run.

Starts `contactcenter serve` on loopback against a scratch database on the machine's
PostgreSQL (CC_TEST_ADMIN_URL, default postgres@127.0.0.1:5432) and a private Redis, then sends
signed Twilio SMS webhooks at a steady rate, as Twilio would, and reports the latency each
request took (p50, p99, max, and p99 by 10 s of sending), how long after the last webhook the
server's intake had worked on all of them, and whether every message was stored exactly once.
The server's automatic answers go to a stand-in for Twilio's REST API on loopback.

    .venv/bin/python bench/sms_webhooks.py                    # 500 per second for 60 s
    .venv/bin/python bench/sms_webhooks.py --rate 100 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import asyncpg
import uvloop
from aiohttp import web
from twilio.request_validator import RequestValidator

from channels.sandbox.twilio_api import TwilioStandIn
from contactcenter.embedded import start_redis

SID = "AC" + "0" * 32
TOKEN = "bench-token"
PUBLIC_URL = "http://bench.example.com"
OUR_NUMBER = "+14155550199"
ADMIN_URL = os.environ.get("CC_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def config_with_sms(directory: Path) -> Path:
    text = (ROOT / "config" / "default.toml").read_text()
    text = text.replace("[channels.sms]\nenabled = false", "[channels.sms]\nenabled = true")
    path = directory / "bench.toml"
    path.write_text(text)
    return path


async def wait_healthy(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(300):
        try:
            async with session.get(base + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the server did not become healthy")


def signed_requests(host: str, total: int, senders: int) -> list[bytes]:
    """Every webhook as the bytes Twilio would send, signed beforehand: Twilio signs on its own
    machines, so the load generator should spend this machine's CPU on sending only."""
    validator = RequestValidator(TOKEN)
    out = []
    for n in range(total):
        form = {"MessageSid": f"SM{n:032x}", "SmsSid": f"SM{n:032x}", "AccountSid": SID,
                "From": f"+1415555{n % senders:04d}", "To": OUR_NUMBER,
                "Body": f"message {n}", "NumMedia": "0", "ApiVersion": "2010-04-01"}
        signature = validator.compute_signature(PUBLIC_URL + "/channels/twilio/sms", form)
        body = urlencode(form).encode()
        out.append((f"POST /channels/twilio/sms HTTP/1.1\r\nHost: {host}\r\n"
                    f"Content-Type: application/x-www-form-urlencoded\r\n"
                    f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
                    ).encode() + body)
    return out


class Connections:
    """Keep-alive HTTP/1.1 connections to the server, one request at a time on each, opened as
    the load needs them (as Twilio's senders do)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened: list[asyncio.StreamWriter] = []

    async def post(self, request: bytes) -> int:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.opened.append(writer)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for writer in self.opened:
            writer.close()


async def load(base: str, rate: float, seconds: float,
               senders: int) -> list[tuple[float, float]]:
    """Send at a steady rate; (when sent, seconds until answered) for each webhook."""
    total = int(rate * seconds)
    print(f"  signing {total} webhooks beforehand", file=sys.stderr)
    host, port = base.removeprefix("http://").split(":")
    requests = signed_requests(f"{host}:{port}", total, senders)
    timed: list[tuple[float, float]] = []
    async with aiohttp.ClientSession() as session:
        await wait_healthy(session, base)
    connections = Connections(host, int(port))

    async def one(n: int) -> None:
        t0 = time.perf_counter()
        status = await connections.post(requests[n])
        if status != 200:
            raise SystemExit(f"webhook {n} answered {status}")
        timed.append((t0, time.perf_counter() - t0))

    tasks = []
    started = time.perf_counter()
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
        if n and n % int(rate * 5) == 0:
            print(f"  {n}/{total} sent", file=sys.stderr)
    await asyncio.gather(*tasks)
    print(f"  sent {total} in {time.perf_counter() - started:.1f} s over "
          f"{len(connections.opened)} connections", file=sys.stderr)
    connections.close()
    return timed


async def caught_up(db_url: str, limit: float = 600.0) -> float:
    """Seconds until the server's intake has worked on every webhook it kept."""
    conn = await asyncpg.connect(db_url)
    started = time.perf_counter()
    try:
        while await conn.fetchval("SELECT count(*) FROM webhook_inbox"):
            if time.perf_counter() - started > limit:
                raise SystemExit(f"the intake did not catch up within {limit:g} s")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--senders", type=int, default=2000, help="distinct customer numbers")
    parser.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    args = parser.parse_args()

    db = f"cc_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"CREATE DATABASE {db}")
    db_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    # The automatic answers go out through the REST API: to a stand-in on loopback, never to
    # Twilio's cloud.
    twilio_api = web.AppRunner(TwilioStandIn(SID, TOKEN).app())
    await twilio_api.setup()
    api_port = free_port()
    await web.TCPSite(twilio_api, "127.0.0.1", api_port).start()
    with tempfile.TemporaryDirectory() as tmp:
        redis = start_redis(Path(tmp) / "redis", port=free_port())
        port = free_port()
        env = {**os.environ, "CC_DATABASE_URL": db_url, "CC_REDIS_URL": redis.url,
               "CC_DATA_DIR": tmp, "CC_PUBLIC_URL": PUBLIC_URL, "TWILIO_ACCOUNT_SID": SID,
               "TWILIO_AUTH_TOKEN": TOKEN, "CC_CONFIG": str(config_with_sms(Path(tmp))),
               "CC_TWILIO_API_URL": f"http://127.0.0.1:{api_port}"}
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
            [sys.executable, "-m", "contactcenter", "serve", "--port", str(port),
             "--workers", str(args.workers)], env=env, stderr=subprocess.DEVNULL)
        try:
            timed = await load(f"http://127.0.0.1:{port}", args.rate, args.seconds, args.senders)
            behind = await caught_up(db_url)
            conn = await asyncpg.connect(db_url)
            stored, distinct = await conn.fetchrow(
                """SELECT count(*), count(DISTINCT provider_message_id) FROM messages
                   WHERE direction = 'inbound'""")
            await conn.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
            redis.stop()
            await twilio_api.cleanup()
            await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            await admin.close()
    report(timed, args, behind, stored, distinct)


def p99_of(ms: list[float]) -> float:
    ordered = sorted(ms)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def report(timed: list[tuple[float, float]], args: argparse.Namespace, behind: float,
           stored: int, distinct: int) -> None:
    ms = sorted(latency * 1000 for _, latency in timed)
    print(f"webhooks: {len(ms)} at {args.rate:g}/s for {args.seconds:g} s, {args.workers} worker(s)")
    print(f"latency ms: p50 {statistics.median(ms):.1f}  p99 {p99_of(ms):.1f}  max {ms[-1]:.1f}")
    start = min(sent for sent, _ in timed)
    windows: dict[int, list[float]] = {}
    for sent, latency in timed:
        windows.setdefault(int((sent - start) // 10), []).append(latency * 1000)
    print("p99 by 10 s of sending: " + ", ".join(
        f"{p99_of(v):.0f}" for _, v in sorted(windows.items())))
    print(f"intake caught up {behind:.1f} s after the last webhook was answered")
    print(f"stored: {stored} messages, {distinct} distinct MessageSids "
          f"({'exactly once' if stored == distinct == len(ms) else 'MISMATCH'})")


if __name__ == "__main__":
    uvloop.run(main())
