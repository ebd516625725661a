"""Helpers for tests that talk to the live sockets and the JSON API like a client does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

from contactcenter.core import Core

Frame = dict[str, Any]


async def login(client: TestClient[Any, Any], email: str, password: str) -> str:
    """Log in on the client's cookie jar; return the CSRF token."""
    resp = await client.post("/api/login", json={"email": email, "password": password})
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["csrf_token"]
    return token


async def frames_until(ws: ClientWebSocketResponse, done: Callable[[Frame], bool],
                       seconds: float = 15.0) -> list[Frame]:
    """Read frames until one satisfies `done`; return every frame read, that one last."""
    seen: list[Frame] = []
    async with asyncio.timeout(seconds):
        while True:
            msg = await ws.receive()
            if msg.type != WSMsgType.TEXT:
                raise AssertionError(f"socket ended ({msg.type}, {msg.data!r}) after {seen}")
            frame = json.loads(msg.data)
            seen.append(frame)
            if done(frame):
                return seen


def is_type(kind: str) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == kind


def is_event(kind: str) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == "event" and f["event"]["kind"] == kind


async def start_chat(client: TestClient[Any, Any], name: str = "Priya", email: str = "",
                     topic: str = "Support") -> tuple[ClientWebSocketResponse, str, str]:
    """A new visitor through the pre-chat form: (socket, token, snapshot's last event id)."""
    ws = await client.ws_connect("/chat/ws")
    await ws.send_json({"type": "hello"})
    await frames_until(ws, is_type("profile_needed"))
    await ws.send_json({"type": "start", "name": name, "email": email, "topic": topic})
    started = (await frames_until(ws, is_type("started")))[-1]
    snapshot = (await frames_until(ws, is_type("snapshot")))[-1]
    return ws, started["token"], snapshot["last_event_id"]


async def say(ws: ClientWebSocketResponse, body: str, client_id: str) -> Frame:
    """A customer's message; returns the server's acknowledgement."""
    await ws.send_json({"type": "message", "client_id": client_id, "body": body})
    return (await frames_until(ws, lambda f: f.get("type") in ("ack", "error")
                               and f.get("client_id") == client_id))[-1]


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    """Poll `check` until it returns something true; its value."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(0.05)


async def state_is(core: Core, interaction_id: int, state: str) -> bool:
    current: str = await core.pool.fetchval(
        "SELECT state FROM interactions WHERE id = $1", interaction_id)
    return current == state
