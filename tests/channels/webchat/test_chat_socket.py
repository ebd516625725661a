"""The chat socket without a browser: real server, PostgreSQL, Redis and routing leader."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType
from aiohttp.test_utils import TestClient

from contactcenter.actions import receive_inbound
from contactcenter.core import Core
from contactcenter.models import InboundMessage
from tests.conftest import PASSWORD
from tests.live import (
    eventually,
    frames_until,
    is_event,
    is_type,
    login,
    say,
    start_chat,
    state_is,
)


async def _agent_takes(client: TestClient[Any, Any], core: Core, email: str, iid: int) -> str:
    """The agent logs in, becomes available and accepts the offer; returns the CSRF token."""
    csrf = await login(client, email, PASSWORD)
    headers = {"X-CSRF-Token": csrf}
    assert (await client.put("/api/me/presence", json={"presence": "available"},
                             headers=headers)).status == 204
    await eventually(lambda: state_is(core, iid, "offered"))
    assert (await client.post(f"/api/interactions/{iid}/accept", headers=headers)).status == 202
    await eventually(lambda: state_is(core, iid, "assigned"))
    return csrf


async def test_a_visitor_chats_and_a_resend_is_stored_once(
    client: TestClient[Any, Any], core: Core
) -> None:
    ws, token, _ = await start_chat(client, name="Priya Natarajan", topic="Billing")
    assert len(token) >= 40
    first = await say(ws, "Hello, I was charged twice", "c-1")
    assert first["type"] == "ack"
    message = first["message"]
    assert message["body"] == "Hello, I was charged twice"
    assert message["client_id"] == "c-1"
    again = await say(ws, "Hello, I was charged twice", "c-1")  # the ack was lost: resend
    assert again["message"]["id"] == message["id"]

    row = await core.pool.fetchrow(
        """SELECT i.state, q.name AS queue, c.display_name,
                  (SELECT count(*) FROM messages m WHERE m.interaction_id = i.id) AS messages
           FROM interactions i JOIN queues q ON q.id = i.queue_id
           JOIN customers c ON c.id = i.customer_id WHERE i.id = $1""", message["interaction_id"])
    assert dict(row) == {"state": "queued", "queue": "billing", "display_name": "Priya Natarajan",
                         "messages": 1}
    await ws.close()


async def test_a_waiting_customer_sees_their_place_in_the_queue(client: TestClient[Any, Any]) -> None:
    first, _, _ = await start_chat(client, name="First", topic="Support")
    await say(first, "one", "a")
    second, _, _ = await start_chat(client, name="Second", topic="Support")
    await say(second, "two", "b")
    place = (await frames_until(second, is_type("queue")))[-1]
    assert place["position"] == 2
    assert place["estimated_wait_seconds"] > 0
    await first.close()
    await second.close()


async def test_a_reconnect_gets_exactly_what_it_missed(
    client: TestClient[Any, Any], core: Core, agent: str
) -> None:
    ws, token, _ = await start_chat(client, name="Priya", topic="Sales")
    iid = (await say(ws, "Do you have it in green?", "m1"))["message"]["interaction_id"]
    csrf = await _agent_takes(client, core, agent, iid)
    joined = await frames_until(ws, is_event("agent_joined"))
    cursor = joined[-1]["id"]
    assert joined[-1]["event"]["agent"] == "Ana Alvarez"
    await ws.close()

    # While the customer is away: a reply and an internal note.
    for body, internal in (("Yes, in green and grey.", False), ("VIP customer", True)):
        resp = await client.post(f"/api/interactions/{iid}/messages", headers={"X-CSRF-Token": csrf},
                                 json={"body": body, "internal": internal})
        assert resp.status == 201, await resp.text()

    back = await client.ws_connect("/chat/ws")
    await back.send_json({"type": "hello", "token": token, "last_event_id": cursor})
    frames = await frames_until(back, is_event("message"))
    assert [f["type"] for f in frames] == ["welcome", "resumed", "event"]
    assert frames[-1]["event"]["message"]["body"] == "Yes, in green and grey."
    await back.send_json({"type": "ping"})
    after = await frames_until(back, is_type("pong"))
    assert [f["type"] for f in after] == ["pong"], "the note must never reach the customer"
    await back.close()


async def test_a_cursor_too_old_gets_the_whole_conversation(
    client: TestClient[Any, Any], core: Core
) -> None:
    ws, token, _ = await start_chat(client, name="Sam", topic="Support")
    await say(ws, "first", "1")
    await say(ws, "second", "2")
    await ws.close()
    back = await client.ws_connect("/chat/ws")
    await back.send_json({"type": "hello", "token": token, "last_event_id": "1-0"})
    snapshot = (await frames_until(back, is_type("snapshot")))[-1]
    conversation = snapshot["state"]["conversation"]
    assert [m["body"] for m in conversation["messages"]] == ["first", "second"]
    assert conversation["state"] == "waiting"
    assert snapshot["state"]["name"] == "Sam"
    await back.close()


async def test_the_token_is_the_same_customer_and_a_typed_email_links_to_no_one(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    emailed = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="email", sender="Priya@Example.com", body="hello",
        provider_message_id="<p1@example.com>"))
    ws, token, _ = await start_chat(client, name="Priya", email="priya@example.COM")
    chat_customer = (await say(ws, "it's me again", "x"))["message"]["interaction_id"]
    await ws.close()
    customer_of = "SELECT customer_id FROM interactions WHERE id = $1"
    assert await core.pool.fetchval(customer_of, chat_customer) != emailed.customer_id

    back = await client.ws_connect("/chat/ws")
    await back.send_json({"type": "hello", "token": token})
    assert (await frames_until(back, is_type("welcome")))[-1]["name"] == "Priya"
    again = (await say(back, "and again", "y"))["message"]["interaction_id"]
    assert again == chat_customer  # still waiting: the same conversation
    await back.close()


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(
    client: TestClient[Any, Any],
) -> None:
    ws = await client.ws_connect("/chat/ws")
    await ws.send_str("{not json")
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "bad_json"
    await ws.send_json({"type": "message", "client_id": "1", "body": "hi"})
    assert "hello" in (await frames_until(ws, is_type("error")))[-1]["message"]
    await ws.send_json({"type": "hello", "token": "no-such-token"})
    await frames_until(ws, is_type("profile_needed"))  # an unknown token is a new visitor
    await ws.send_json({"type": "start", "name": "   "})
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "name_required"
    await ws.send_json({"type": "start", "name": "Kim", "topic": "Astrology"})
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "bad_topic"
    await ws.send_json({"type": "start", "name": "Kim", "email": "not-an-email"})
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "bad_email"
    await ws.send_json({"type": "start", "name": "Kim"})
    await frames_until(ws, is_type("snapshot"))
    assert (await say(ws, "   ", "e"))["error"] == "empty_message"
    assert (await say(ws, "x" * 4001, "long"))["error"] == "message_too_long"
    await ws.send_bytes(b"\x00\x01")
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "bad_frame"
    await ws.send_json({"type": "ping"})
    await frames_until(ws, is_type("pong"))
    await ws.close()


async def test_a_flood_is_rate_limited_and_a_huge_frame_closes_the_socket(
    client: TestClient[Any, Any],
) -> None:
    ws, _, _ = await start_chat(client)
    answers = [await say(ws, f"message {n}", f"n{n}") for n in range(7)]
    kinds = [a["type"] for a in answers]
    assert kinds[:5] == ["ack"] * 5  # the burst
    assert answers[5]["error"] == "rate_limited"
    await ws.send_str('{"type": "message", "client_id": "big", "body": "' + "x" * 70_000 + '"}')
    msg = await ws.receive()
    assert msg.type == WSMsgType.CLOSE
    assert msg.data == WSCloseCode.MESSAGE_TOO_BIG


async def test_a_site_that_may_not_embed_the_chat_is_refused(client: TestClient[Any, Any]) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/chat/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    own = f"http://{client.host}:{client.port}"
    ws = await client.ws_connect("/chat/ws", headers={"Origin": own})
    await ws.send_json({"type": "hello"})
    await frames_until(ws, is_type("profile_needed"))
    await ws.close()


async def test_leaving_while_waiting_abandons_and_says_closed(
    client: TestClient[Any, Any], core: Core
) -> None:
    ws, _, _ = await start_chat(client)
    iid = (await say(ws, "hello?", "h"))["message"]["interaction_id"]
    await ws.send_json({"type": "leave"})
    closed = (await frames_until(ws, is_event("closed")))[-1]  # told at once
    assert closed["event"]["interaction_id"] == iid
    await eventually(lambda: state_is(core, iid, "abandoned"))  # the router follows
    await ws.close()


async def test_a_widget_for_another_workspace_is_told_so(client: TestClient[Any, Any]) -> None:
    ws = await client.ws_connect("/chat/ws")
    await ws.send_json({"type": "hello", "workspace": "acme"})
    error = (await frames_until(ws, is_type("error")))[-1]
    assert error["error"] == "unknown_workspace"
    assert "data-workspace" in error["message"]
    assert (await ws.receive()).type == WSMsgType.CLOSE


async def test_fresh_sockets_from_one_address_do_not_make_customers_without_end(
    client: TestClient[Any, Any], core: Core
) -> None:
    """Fifty sockets opened at once used to make fifty customers in half a second."""
    answers = []
    for n in range(15):
        ws = await client.ws_connect("/chat/ws")
        await ws.send_json({"type": "hello"})
        await frames_until(ws, is_type("profile_needed"))
        await ws.send_json({"type": "start", "name": f"Bot {n}"})
        answers.append((await frames_until(
            ws, lambda f: f.get("type") in ("started", "error")))[-1])
        await ws.close()
    refused = [a for a in answers if a["type"] == "error"]
    assert len(answers) - len(refused) == 10  # channels.webchat.new_visitors_per_minute_per_address
    assert {a["error"] for a in refused} == {"rate_limited"}
    assert await core.pool.fetchval("SELECT count(*) FROM customers") == 10
