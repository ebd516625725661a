"""The console's JSON API on a real server: replies, notes, read marks, wrap-up, customers."""

from __future__ import annotations

from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from contactcenter import feeds
from contactcenter.actions import receive_inbound
from contactcenter.core import Core
from contactcenter.models import InboundMessage
from tests.conftest import PASSWORD
from tests.live import eventually, login, state_is


async def _assigned_chat(client: TestClient[Any, Any], core: Core, workspace_id: int,
                         agent: str, first: InboundMessage | None = None,
                         ) -> tuple[int, int, dict[str, str]]:
    """A chat from a customer (or the `first` message given), offered to and accepted by the
    agent: (interaction, customer, headers)."""
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    assert (await client.put("/api/me/presence", json={"presence": "available"},
                             headers=headers)).status == 204
    result = await receive_inbound(core, first or InboundMessage(
        workspace_id=workspace_id, channel="chat", sender="visitor-7", sender_name="Kim Lee",
        body="hi there", provider_message_id="v7-1", queue="sales"))
    iid = result.interaction_id
    await eventually(lambda: state_is(core, iid, "offered"))
    assert (await client.post(f"/api/interactions/{iid}/accept", headers=headers)).status == 202
    await eventually(lambda: state_is(core, iid, "assigned"))
    return iid, result.customer_id, headers


async def _customer_events(core: Core, workspace_id: int, customer_id: int) -> list[dict[str, Any]]:
    entries = await feeds.since(core.redis, feeds.customer_feed(workspace_id, customer_id), feeds.START)
    assert entries is not None
    return [e for _, e in entries]


async def test_reply_and_note_reach_whom_they_should(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    iid, cid, headers = await _assigned_chat(client, core, workspace_id, agent)
    url = f"/api/interactions/{iid}/messages"
    reply = await client.post(url, json={"body": " Hello Kim! ", "client_id": "r1"}, headers=headers)
    assert reply.status == 201
    sent = await reply.json()
    assert (sent["body"], sent["direction"], sent["status"], sent["author"]) == (
        "Hello Kim!", "outbound", "sent", "Ana Alvarez")
    again = await client.post(url, json={"body": "Hello Kim!", "client_id": "r1"}, headers=headers)
    assert (await again.json())["id"] == sent["id"]
    note = await client.post(url, json={"body": "wants a discount", "internal": True}, headers=headers)
    assert (await note.json())["direction"] == "internal"

    bodies = [e["message"]["body"] for e in await _customer_events(core, workspace_id, cid)
              if e["kind"] == "message"]
    assert bodies == ["hi there", "Hello Kim!"]
    view = await (await client.get(f"/api/interactions/{iid}")).json()
    assert [m["body"] for m in view["messages"]] == ["hi there", "Hello Kim!", "wants a discount"]


async def test_files_go_with_notes_on_chat_but_never_to_the_chat_customer(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    iid, _, headers = await _assigned_chat(client, core, workspace_id, agent)

    async def uploaded(name: str) -> int:
        form = FormData(quote_fields=False)
        form.add_field("file", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, filename=name)
        resp = await client.post(f"/api/interactions/{iid}/attachments", data=form,
                                 headers=headers)
        assert resp.status == 201
        view = await resp.json()
        assert view["content_type"] == "image/png"  # from the name: nothing was declared
        return int(view["id"])

    first = await uploaded("screenshot.png")
    url = f"/api/interactions/{iid}/messages"
    refused = await client.post(url, json={"body": "see this", "attachments": [first]},
                                headers=headers)
    assert (refused.status, (await refused.json())["error"]) == (409, "files_not_sent_here")
    note = await client.post(url, json={"internal": True, "attachments": [first]},
                             headers=headers)
    assert note.status == 201
    shown = (await note.json())["attachments"]
    assert [a["filename"] for a in shown] == ["screenshot.png"]
    download = await client.get(shown[0]["url"])
    assert download.headers["Content-Type"] == "image/png"
    assert (await download.read()).startswith(b"\x89PNG")
    strangers = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat", sender="visitor-9", body="hello",
        provider_message_id="v9-1", queue="support"))
    form = FormData()
    form.add_field("file", b"data", filename="x.txt")
    not_mine = await client.post(f"/api/interactions/{strangers.interaction_id}/attachments",
                                 data=form, headers=headers)
    assert (not_mine.status, (await not_mine.json())["error"]) == (409, "not_yours")


async def test_replies_are_refused_clearly(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    iid, _, headers = await _assigned_chat(client, core, workspace_id, agent)
    url = f"/api/interactions/{iid}/messages"
    empty = await client.post(url, json={"body": "  "}, headers=headers)
    assert (empty.status, (await empty.json())["error"]) == (400, "empty_message")
    missing = await client.post("/api/interactions/999999/messages", json={"body": "x"},
                                headers=headers)
    assert missing.status == 404
    bad = await client.post("/api/interactions/abc/messages", json={"body": "x"}, headers=headers)
    assert (bad.status, (await bad.json())["error"]) == (404, "not_found")  # no id looks so
    no_csrf = await client.post(url, json={"body": "x"})
    assert no_csrf.status == 403
    other = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat", sender="visitor-8", body="me too",
        provider_message_id="v8-1", queue="support"))  # Ana lacks support: not hers
    not_mine = await client.post(f"/api/interactions/{other.interaction_id}/messages",
                                 json={"body": "x"}, headers=headers)
    assert (not_mine.status, (await not_mine.json())["error"]) == (409, "not_yours")


async def test_read_marks_and_typing_reach_the_customer(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    iid, cid, headers = await _assigned_chat(client, core, workspace_id, agent)
    view = await (await client.get(f"/api/interactions/{iid}")).json()
    last = view["messages"][-1]["id"]
    assert (await client.post(f"/api/interactions/{iid}/read", json={"up_to": last},
                              headers=headers)).status == 204
    assert (await client.post(f"/api/interactions/{iid}/typing", headers=headers)).status == 204
    kinds = [e["kind"] for e in await _customer_events(core, workspace_id, cid)]
    assert kinds[-2:] == ["receipt", "typing"]
    status = await core.pool.fetchval("SELECT delivery_status FROM messages WHERE id = $1", last)
    assert status == "read"


async def test_end_wrap_up_with_a_disposition(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    iid, cid, headers = await _assigned_chat(client, core, workspace_id, agent)
    assert (await client.post(f"/api/interactions/{iid}/complete", headers=headers)).status == 202
    await eventually(lambda: state_is(core, iid, "wrapup"))
    view = await (await client.get(f"/api/interactions/{iid}")).json()
    assert [d["code"] for d in view["dispositions"]] == ["resolved", "sales_interest", "no_answer"]
    assert view["wrapup_deadline"] is not None
    assert "closed" in [e["kind"] for e in await _customer_events(core, workspace_id, cid)]

    url = f"/api/interactions/{iid}/wrapup"
    wrong = await client.post(url, json={"disposition": "case_opened"}, headers=headers)
    assert (wrong.status, (await wrong.json())["error"]) == (409, "bad_disposition")
    done = await client.post(url, json={"disposition": "sales_interest", "notes": "25 seats"},
                             headers=headers)
    assert done.status == 202
    await eventually(lambda: state_is(core, iid, "closed"))
    row = await core.pool.fetchrow(
        "SELECT disposition, wrapup_notes FROM interactions WHERE id = $1", iid)
    assert tuple(row) == ("sales_interest", "25 seats")


async def test_the_customer_panel_shows_every_channel(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    await login(client, agent, PASSWORD)
    sms = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="sms", sender="+1 415 555 0100", sender_name="Maria",
        body="charged twice", provider_message_id="SM1"))
    await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="voice", sender="+14155550100", body="",
        provider_message_id="CA1"))
    resp = await client.get(f"/api/customers/{sms.customer_id}")
    assert resp.status == 200
    customer = await resp.json()
    assert customer["name"] == "Maria"
    assert customer["identities"] == [{"kind": "phone", "address": "+14155550100"}]
    assert [(i["channel"], i["last_message"]) for i in customer["interactions"]] == [
        ("voice", ""), ("sms", "charged twice")]
    assert (await client.get("/api/customers/999999")).status == 404


async def test_a_reply_on_a_channel_this_server_cannot_send_is_refused_in_words(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    """Without Twilio set up, an SMS reply used to sit "queued" for ever; now the agent is told,
    and a note still goes."""
    assert not core.config.channels.sms.enabled
    iid, _, headers = await _assigned_chat(client, core, workspace_id, agent, InboundMessage(
        workspace_id=workspace_id, channel="sms", sender="+14155550123", body="hello?",
        provider_message_id="SM-off-1", queue="sales"))
    url = f"/api/interactions/{iid}/messages"
    refused = await client.post(url, json={"body": "Hi!"}, headers=headers)
    assert (refused.status, (await refused.json())["error"]) == (409, "channel_not_enabled")
    note = await client.post(url, json={"body": "texted back by phone", "internal": True},
                             headers=headers)
    assert note.status == 201
