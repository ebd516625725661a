"""Supervisor view latency benchmark (issue 8). Never part of the test run.

Starts `contactcenter serve` on loopback against a scratch database on the machine's PostgreSQL
(CC_BENCH_ADMIN_URL, default postgres@127.0.0.1:5432) and a private Redis, opens the supervisor
socket as a supervisor would, then has customers start chats one after another, each writing
its first message, and times how long after each message the pushed board shows one more
customer waiting. Prints p50, p99 and max and drops the database.

    .venv/bin/python bench/supervisor_latency.py                # 100 chats, one every 0.5 s
    .venv/bin/python bench/supervisor_latency.py --chats 20 --every 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_database
from bench.sms_webhooks import free_port, wait_healthy
from contactcenter.embedded import start_redis

PASSWORD = "bench-password-1"


async def frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        msg = await ws.receive(timeout=30)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise SystemExit(f"socket ended: {msg.type}")
        data: dict[str, Any] = json.loads(msg.data)
        if data.get("type") == kind:
            return data


def waiting(board: dict[str, Any]) -> int:
    return sum(q["waiting"] for q in board["queues"])


async def measure(base: str, chats: int, every: float) -> list[float]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as supervisor, \
            aiohttp.ClientSession() as customers:
        await wait_healthy(supervisor, base)
        async with supervisor.post(base + "/api/login", json={
                "email": "sam@bench.test", "password": PASSWORD}) as resp:
            if resp.status != 200:
                raise SystemExit(f"login: {resp.status} {await resp.text()}")
        board_ws = await supervisor.ws_connect(base + "/supervisor/ws")
        seen = waiting((await frame(board_ws, "board"))["board"])
        latencies = []
        for n in range(chats):
            chat = await customers.ws_connect(base + "/chat/ws")
            await chat.send_json({"type": "hello"})
            await frame(chat, "profile_needed")
            await chat.send_json({"type": "start", "name": f"Customer {n}", "email": "",
                                  "topic": "Sales"})
            await frame(chat, "snapshot")
            sent = time.perf_counter()
            await chat.send_json({"type": "message", "client_id": f"m{n}", "body": "Hello?"})
            while waiting((await frame(board_ws, "board"))["board"]) <= seen:
                pass
            latencies.append(time.perf_counter() - sent)
            seen += 1
            await chat.close()
            await asyncio.sleep(every)
            if n % 20 == 19:
                print(f"  {n + 1}/{chats} chats", file=sys.stderr)
        await board_ws.close()
    return latencies


DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "default.toml"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--every", type=float, default=0.5, help="seconds between chats")
    args = parser.parse_args()
    async with scratch_database() as (db_url, _):
        with tempfile.TemporaryDirectory() as tmp:
            redis = start_redis(Path(tmp) / "redis", port=free_port())
            port = free_port()
            # Every customer comes from this one address: lift the limit per address.
            config = Path(tmp) / "config.toml"
            config.write_text(DEFAULT_CONFIG.read_text().replace(
                "new_visitors_per_minute_per_address = 10",
                "new_visitors_per_minute_per_address = 100000"))
            env = {**os.environ, "CC_DATABASE_URL": db_url, "CC_REDIS_URL": redis.url,
                   "CC_DATA_DIR": tmp, "CC_CONFIG": str(config)}
            subprocess.run(  # noqa: ASYNC221 - once, before the server starts
                [sys.executable, "-m", "contactcenter", "user", "add", "--email",
                 "sam@bench.test", "--name", "Sam", "--role", "supervisor",
                 "--password-stdin"], input=PASSWORD, text=True, env=env, check=True)
            server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
                [sys.executable, "-m", "contactcenter", "serve", "--port", str(port)], env=env,
                stderr=subprocess.DEVNULL)
            try:
                latencies = await measure(f"http://127.0.0.1:{port}", args.chats, args.every)
            finally:
                server.terminate()
                server.wait(timeout=30)
                redis.stop()
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    print(f"\nfrom a chat's first message to the supervisor's board showing it, "
          f"{len(ms)} chats:")
    print(f"  p50 {statistics.median(ms):.0f} ms, p99 {ms[max(0, int(len(ms) * 0.99) - 1)]:.0f} "
          f"ms, max {ms[-1]:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
