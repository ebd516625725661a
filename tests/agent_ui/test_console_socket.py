"""The console socket without a browser: snapshot, live events, resume, resync, presence."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from contactcenter.actions import receive_inbound
from contactcenter.core import Core
from contactcenter.events import stream_key
from contactcenter.models import InboundMessage
from contactcenter.settings import Settings
from contactcenter.web import live_socket
from contactcenter.web.app import create_app
from tests.conftest import PASSWORD, AiohttpClient
from tests.live import eventually, frames_until, is_event, is_type, login, state_is


async def _chat(core: Core, workspace_id: int, n: int, queue: str = "sales") -> int:
    result = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat", sender=f"visitor-{n}", sender_name=f"Visitor {n}",
        body=f"hello {n}", provider_message_id=f"m-{n}", queue=queue))
    return result.interaction_id


async def _stream_kinds(core: Core, workspace_id: int) -> list[str]:
    entries: Any = await core.redis.xrange(stream_key(workspace_id))
    return [fields[b"kind"].decode() for _, fields in entries]


async def test_the_console_needs_a_login(client: TestClient[Any, Any]) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/console/ws")
    assert refused.value.status == 401


async def test_snapshot_then_live_offer_then_resume_after_a_drop(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    csrf = await login(client, agent, PASSWORD)
    ws = await client.ws_connect("/console/ws")
    await ws.send_json({"type": "hello"})
    snapshot = (await frames_until(ws, is_type("snapshot")))[-1]
    state = snapshot["state"]
    assert state["me"]["name"] == "Ana Alvarez"
    assert state["me"]["presence"] == "offline"
    assert state["offers"] == []
    assert {q["name"] for q in state["queues"]} == {"sales", "support", "billing"}
    assert [c["shortcut"] for c in state["canned_responses"]] == ["hello", "moment", "bye"]

    headers = {"X-CSRF-Token": csrf}
    assert (await client.put("/api/me/presence", json={"presence": "available"},
                             headers=headers)).status == 204
    presence = (await frames_until(ws, is_event("presence")))[-1]
    assert presence["event"]["presence"] == "available"
    first = await _chat(core, workspace_id, 1)
    offer = (await frames_until(ws, is_event("offer")))[-1]
    assert offer["event"]["interaction_id"] == first
    cursor = offer["id"]
    # Another tab stays open: closing the agent's last console would rescind the offer.
    other = await client.ws_connect("/console/ws")
    await other.send_json({"type": "hello", "last_event_id": cursor})
    await frames_until(other, is_type("resumed"))
    await ws.close()

    # Away from this socket: the offer is accepted in the other tab and a message comes.
    assert (await client.post(f"/api/interactions/{first}/accept", headers=headers)).status == 202
    await eventually(lambda: state_is(core, first, "assigned"))
    await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat", sender="visitor-1", body="are you there?",
        provider_message_id="m-1b"))

    back = await client.ws_connect("/console/ws")
    await back.send_json({"type": "hello", "last_event_id": cursor})
    frames = await frames_until(back, is_event("message"))
    assert frames[0]["type"] == "resumed"
    kinds = [f["event"]["kind"] for f in frames[1:]]
    assert kinds == ["assigned", "message"], kinds
    assert frames[-1]["event"]["message"]["body"] == "are you there?"
    await back.close()
    await other.close()


async def test_a_cursor_too_old_gets_a_fresh_snapshot_with_open_work(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    csrf = await login(client, agent, PASSWORD)
    await client.put("/api/me/presence", json={"presence": "available"},
                     headers={"X-CSRF-Token": csrf})
    iid = await _chat(core, workspace_id, 2)
    await eventually(lambda: state_is(core, iid, "offered"))
    ws = await client.ws_connect("/console/ws")
    await ws.send_json({"type": "hello", "last_event_id": "1-0"})
    snapshot = (await frames_until(ws, is_type("snapshot")))[-1]
    offers = snapshot["state"]["offers"]
    assert [o["id"] for o in offers] == [iid]
    assert offers[0]["customer"]["name"] == "Visitor 2"
    assert offers[0]["offer_deadline"] is not None
    await ws.close()


async def test_two_tabs_agree_and_only_the_last_one_closing_disconnects(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    csrf = await login(client, agent, PASSWORD)
    tabs = [await client.ws_connect("/console/ws") for _ in range(2)]
    for tab in tabs:
        await tab.send_json({"type": "hello"})
        await frames_until(tab, is_type("snapshot"))
    await client.put("/api/me/presence", json={"presence": "away", "reason": "Lunch"},
                     headers={"X-CSRF-Token": csrf})
    for tab in tabs:
        event = (await frames_until(tab, is_event("presence")))[-1]["event"]
        assert (event["presence"], event["reason"]) == ("away", "Lunch")

    await tabs[0].close()
    await tabs[1].send_json({"type": "ping"})
    await frames_until(tabs[1], is_type("pong"))
    kinds = await _stream_kinds(core, workspace_id)
    assert kinds.count("agent.reconnected") == 1
    assert "agent.disconnected" not in kinds
    await tabs[1].close()
    await eventually(lambda: _has_disconnected(core, workspace_id))


async def _has_disconnected(core: Core, workspace_id: int) -> bool:
    return "agent.disconnected" in await _stream_kinds(core, workspace_id)


async def test_bad_frames_are_answered_and_the_socket_stays_open(
    client: TestClient[Any, Any], agent: str
) -> None:
    await login(client, agent, PASSWORD)
    ws = await client.ws_connect("/console/ws")
    await ws.send_str("nope")
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "bad_json"
    await ws.send_json({"type": "hello", "last_event_id": "x" * 100})
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "bad_frame"
    await ws.send_json({"type": "hello"})
    await frames_until(ws, is_type("snapshot"))
    await ws.send_json({"type": "hello"})
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "unexpected_frame"
    await ws.close()


async def test_logout_ends_the_session_the_socket_used(
    client: TestClient[Any, Any], agent: str
) -> None:
    csrf = await login(client, agent, PASSWORD)
    assert (await client.post("/api/logout", headers={"X-CSRF-Token": csrf})).status == 204
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await client.ws_connect("/console/ws")



async def test_an_idle_socket_hears_heartbeats(
    client: TestClient[Any, Any], agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_socket, "HEARTBEAT_SECONDS", 0.3)
    monkeypatch.setattr(live_socket, "POLL_SECONDS", 0.1)
    await login(client, agent, PASSWORD)
    ws = await client.ws_connect("/console/ws")
    await ws.send_json({"type": "hello"})
    await frames_until(ws, is_type("snapshot"))
    assert [f["type"] for f in await frames_until(ws, is_type("heartbeat"), seconds=3)] == [
        "heartbeat"]
    await ws.close()


async def _presence(core: Core, email: str) -> tuple[str, str] | None:
    row = await core.pool.fetchrow(
        """SELECT p.presence, p.reason FROM agent_presence p JOIN users u ON u.id = p.user_id
           WHERE u.email = $1""", email)
    return None if row is None else (row["presence"], row["reason"])


async def test_a_console_gone_longer_than_the_grace_means_offline(
    aiohttp_client: AiohttpClient, settings: Settings, core: Core, agent: str
) -> None:
    routing = settings.file.routing.model_copy(update={"disconnect_grace_seconds": 1})
    short = replace(settings, file=settings.file.model_copy(update={"routing": routing}))
    assert short.env.database_url is not None
    assert short.env.redis_url is not None
    client = await aiohttp_client(create_app(short, short.env.database_url, short.env.redis_url))
    csrf = await login(client, agent, PASSWORD)

    async def console() -> ClientWebSocketResponse:
        ws = await client.ws_connect("/console/ws")
        await ws.send_json({"type": "hello"})
        await frames_until(ws, is_type("snapshot"))
        return ws

    ws = await console()
    await client.put("/api/me/presence", json={"presence": "available"},
                     headers={"X-CSRF-Token": csrf})
    await ws.close()
    back = await console()  # within the grace: nothing changes
    await asyncio.sleep(1.5)
    assert await _presence(core, agent) == ("available", "")
    await back.close()
    await eventually(lambda: _is_offline(core, agent))


async def _is_offline(core: Core, email: str) -> bool:
    return await _presence(core, email) == ("offline", "connection lost")
