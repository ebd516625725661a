"""SMS webhook benchmark (issue 5). Never part of the test run.

Starts `contactcenter serve` on loopback against a scratch database on the machine's
PostgreSQL (CC_TEST_ADMIN_URL, default postgres@127.0.0.1:5432) and a private Redis, then sends
signed Twilio SMS webhooks at a steady rate, as Twilio would, and reports the latency each
request took (p50, p99, max) and whether every message was stored exactly once.

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

import aiohttp
import asyncpg
from twilio.request_validator import RequestValidator

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


async def load(base: str, rate: float, seconds: float, senders: int) -> list[float]:
    validator = RequestValidator(TOKEN)
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:
        await wait_healthy(session, base)

        async def one(n: int) -> None:
            form = {"MessageSid": f"SM{n:032x}", "SmsSid": f"SM{n:032x}", "AccountSid": SID,
                    "From": f"+1415555{n % senders:04d}", "To": OUR_NUMBER,
                    "Body": f"message {n}", "NumMedia": "0", "ApiVersion": "2010-04-01"}
            signature = validator.compute_signature(PUBLIC_URL + "/channels/twilio/sms", form)
            t0 = time.perf_counter()
            async with session.post(base + "/channels/twilio/sms", data=form,
                                    headers={"X-Twilio-Signature": signature}) as resp:
                await resp.read()
                if resp.status != 200:
                    raise SystemExit(f"webhook {n} answered {resp.status}")
            latencies.append(time.perf_counter() - t0)

        tasks = []
        started = time.perf_counter()
        total = int(rate * seconds)
        for n in range(total):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
            if n and n % int(rate * 5) == 0:
                print(f"  {n}/{total} sent", file=sys.stderr)
        await asyncio.gather(*tasks)
        print(f"  sent {total} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return latencies


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
    with tempfile.TemporaryDirectory() as tmp:
        redis = start_redis(Path(tmp) / "redis", port=free_port())
        port = free_port()
        env = {**os.environ, "CC_DATABASE_URL": db_url, "CC_REDIS_URL": redis.url,
               "CC_DATA_DIR": tmp, "CC_PUBLIC_URL": PUBLIC_URL, "TWILIO_ACCOUNT_SID": SID,
               "TWILIO_AUTH_TOKEN": TOKEN, "CC_CONFIG": str(config_with_sms(Path(tmp)))}
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
            [sys.executable, "-m", "contactcenter", "serve", "--port", str(port),
             "--workers", str(args.workers)], env=env, stderr=subprocess.DEVNULL)
        try:
            latencies = await load(f"http://127.0.0.1:{port}", args.rate, args.seconds,
                                   args.senders)
            conn = await asyncpg.connect(db_url)
            stored = await conn.fetchval("SELECT count(*) FROM messages")
            distinct = await conn.fetchval("SELECT count(DISTINCT provider_message_id) FROM messages")
            await conn.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
            redis.stop()
            await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            await admin.close()
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[int(len(ms) * 0.99) - 1]
    print(f"webhooks: {len(ms)} at {args.rate:g}/s for {args.seconds:g} s, {args.workers} worker(s)")
    print(f"latency ms: p50 {statistics.median(ms):.1f}  p99 {p99:.1f}  max {ms[-1]:.1f}")
    print(f"stored: {stored} messages, {distinct} distinct MessageSids "
          f"({'exactly once' if stored == distinct == len(ms) else 'MISMATCH'})")


if __name__ == "__main__":
    asyncio.run(main())
