"""Two server processes on one PostgreSQL and Redis, agents accepting a steady stream of chats;
the routing leader is SIGKILLed half-way. Every interaction must still be offered and assigned
exactly once, and the other node must lead within 5 seconds."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from contactcenter.actions import add_user, receive_inbound
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.embedded import EmbeddedServer
from contactcenter.feeds import user_feed
from contactcenter.models import InboundMessage
from routing.service import leader_key
from tests.conftest import free_port

CHATS = 24
KILL_AFTER = 10
PASSWORD = "long enough password"


def start_node(db_url: str, redis_url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CC_", "TWILIO_"))}
    env |= {"CC_DATABASE_URL": db_url, "CC_REDIS_URL": redis_url, "CC_DATA_DIR": str(data_dir)}
    return subprocess.Popen([sys.executable, "-m", "contactcenter", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_healthy(session: aiohttp.ClientSession, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"node on port {port} never became healthy")


class Agent:
    """A person at a console, over HTTP to whichever node is alive."""

    def __init__(self, user_id: int, email: str, ports: list[int]) -> None:
        self.user_id, self.email, self.ports = user_id, email, ports
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # 127.0.0.1
        self.csrf = ""

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> int:
        for port in self.ports:
            try:
                async with self.session.request(
                    method, f"http://127.0.0.1:{port}{path}", json=body,
                    headers={"X-CSRF-Token": self.csrf},
                ) as resp:
                    if path == "/api/login":
                        self.csrf = (await resp.json())["csrf_token"]
                    return resp.status
            except aiohttp.ClientConnectionError:
                continue  # that node is dead: try the other
        raise AssertionError("no node answered")


@pytest.mark.timeout(180)
async def test_leader_killed_under_load_loses_and_duplicates_nothing(
    core: Core, workspace_id: int, db_url: str, redis_server: EmbeddedServer, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    nodes = [start_node(db_url, redis_server.url, tmp_path / f"n{i}", p) for i, p in enumerate(ports)]
    agents: list[Agent] = []
    try:
        async with aiohttp.ClientSession() as probe:
            for port in ports:
                await wait_healthy(probe, port)
        for name in ("ana", "ben", "cy"):
            uid = await add_user(core, workspace_id, NewUser(
                f"{name}@example.com", name, "agent", PASSWORD, {"support": 5}))
            agent = Agent(uid, f"{name}@example.com", ports)
            assert await agent.call("POST", "/api/login",
                                    {"email": agent.email, "password": PASSWORD}) == 200
            assert await agent.call("PUT", "/api/me/presence", {"presence": "available"}) == 204
            agents.append(agent)

        async def finish_later(agent: Agent, iid: int) -> None:
            await asyncio.sleep(0.3)
            await agent.call("POST", f"/api/interactions/{iid}/complete")

        finishing: set[asyncio.Task[None]] = set()

        async def work() -> None:
            """Follow each agent's live feed as a console does. Accept every offer; finish
            each chat shortly after; end wrap-up at once."""
            cursors: dict[Any, Any] = {user_feed(workspace_id, a.user_id): "$" for a in agents}
            feed_agent = {user_feed(workspace_id, a.user_id): a for a in agents}
            while True:
                batches: Any = await core.redis.xread(cursors, block=1000)
                for feed_name, entries in batches or []:
                    feed = feed_name.decode()
                    agent = feed_agent[feed]
                    for entry_id, fields in entries:
                        cursors[feed] = entry_id
                        event = json.loads(fields[b"e"])
                        iid = event.get("interaction_id")
                        if event["kind"] == "offer":
                            await agent.call("POST", f"/api/interactions/{iid}/accept")
                        elif event["kind"] == "assigned":
                            task = asyncio.create_task(finish_later(agent, iid))
                            finishing.add(task)
                            task.add_done_callback(finishing.discard)
                        elif event["kind"] == "wrapup":
                            await agent.call("POST", f"/api/interactions/{iid}/wrapup-done")

        worker = asyncio.create_task(work())
        interactions = []
        killed_at = 0.0
        old_leader: Any = None
        for n in range(CHATS):
            result = await receive_inbound(core, InboundMessage(
                workspace_id=workspace_id, channel="chat", sender=f"visitor-{n}", body="hi",
                provider_message_id=f"chat-{n}", queue="support"))
            interactions.append(result.interaction_id)
            if n == KILL_AFTER:
                old_leader = await core.redis.get(leader_key(workspace_id))
                assert old_leader is not None
                pid = int(old_leader.decode().split(":")[1])
                victim = next(p for p in nodes if p.pid == pid)
                victim.send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
            await asyncio.sleep(0.15)

        deadline = time.monotonic() + 60
        new_leader = None
        while time.monotonic() < deadline:
            current = await core.redis.get(leader_key(workspace_id))
            if current not in (None, old_leader) and new_leader is None:
                new_leader = time.monotonic() - killed_at
            closed = await core.pool.fetchval(
                "SELECT count(*) FROM interactions WHERE id = ANY($1) AND state = 'closed'",
                interactions)
            if closed == CHATS:
                break
            await asyncio.sleep(0.2)
        worker.cancel()

        states = await core.pool.fetch(
            "SELECT id, state FROM interactions WHERE id = ANY($1)", interactions)
        assert {r["state"] for r in states} == {"closed"}, [tuple(r) for r in states]
        assert new_leader is not None
        assert new_leader < 5, f"the other node led {new_leader:.1f} s after the kill"
        for iid in interactions:
            decisions = await core.pool.fetch(
                "SELECT kind, agent_id FROM routing_decisions WHERE interaction_id = $1 ORDER BY id",
                iid)
            kinds = [d["kind"] for d in decisions]
            assert kinds.count("Assigned") == 1, (iid, kinds)
            open_offer = False
            for kind in kinds:
                if kind == "Offered":
                    assert not open_offer, f"two open offers for {iid}: {kinds}"
                    open_offer = True
                elif kind in ("OfferEnded", "Assigned"):
                    open_offer = False
    finally:
        for agent in agents:
            await agent.session.close()
        for node in nodes:
            if node.poll() is None:
                node.send_signal(signal.SIGTERM)
        for node in nodes:
            try:
                node.wait(20)
            except subprocess.TimeoutExpired:
                node.kill()
