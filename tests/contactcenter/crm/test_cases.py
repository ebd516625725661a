"""Cases and their SLA on a real server: a wrap-up opens one, the conversation moves its
clocks, pending stops the resolution clock, a breach is recorded and told to supervisors, a
case close to breach moves its waiting interaction up the queue, and the customer follows the
case from a link."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from contactcenter import feeds
from contactcenter.actions import add_user, receive_inbound
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.crm.keeper import WorkflowKeeper
from contactcenter.feeds import supervisors_feed
from contactcenter.models import InboundMessage
from tests.conftest import PASSWORD
from tests.live import eventually, login, state_is


async def _chat(core: Core, workspace_id: int, sender: str, body: str) -> tuple[int, int]:
    result = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat", sender=sender, sender_name="Kim Lee",
        body=body, provider_message_id=f"{sender}-{body}", queue="support"))
    return result.customer_id, result.interaction_id


async def _agent(client: TestClient[Any, Any], core: Core, workspace_id: int,
                 available: bool = True) -> dict[str, str]:
    await add_user(core, workspace_id, NewUser("bo@example.com", "Bo Berg", "agent", PASSWORD,
                                               {"support": 5}))
    headers = {"X-CSRF-Token": await login(client, "bo@example.com", PASSWORD)}
    if available:
        await client.put("/api/me/presence", json={"presence": "available"}, headers=headers)
    return headers


async def _case(client: TestClient[Any, Any], case_id: int) -> dict[str, Any]:
    resp = await client.get(f"/api/cases/{case_id}")
    assert resp.status == 200
    view: dict[str, Any] = await resp.json()
    return view


def _timer(case: dict[str, Any], target: str) -> dict[str, Any]:
    return next(t for t in case["sla"] if t["target"] == target)


async def test_wrapup_opens_a_case_and_the_conversation_moves_its_sla(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    headers = await _agent(client, core, workspace_id)
    _, iid = await _chat(core, workspace_id, "visitor-1", "My invoice is wrong")
    await eventually(lambda: state_is(core, iid, "offered"))
    await client.post(f"/api/interactions/{iid}/accept", headers=headers)
    await eventually(lambda: state_is(core, iid, "assigned"))
    await client.post(f"/api/interactions/{iid}/messages", headers=headers,
                      json={"body": "Let me check with billing."})
    await client.post(f"/api/interactions/{iid}/complete", headers=headers)
    await eventually(lambda: state_is(core, iid, "wrapup"))
    done = await client.post(f"/api/interactions/{iid}/wrapup", headers=headers, json={
        "disposition": "case_opened", "notes": "Invoice 1042 charged twice\nrefund pending"})
    assert done.status == 202
    case_id = (await done.json())["case_id"]
    case = await _case(client, case_id)
    # The customer sees the subject on the status page: never the agent's private notes.
    assert re.fullmatch(r"Chat of \d\d \w{3} \d{4}", case["subject"]), case["subject"]
    assert (case["status"], case["team"]) == ("new", "support")
    retitled = await client.patch(f"/api/cases/{case_id}", headers=headers,
                                  json={"subject": "Invoice 1042 charged twice"})
    assert (await retitled.json())["subject"] == "Invoice 1042 charged twice"
    assert [i["id"] for i in case["interactions"]] == [iid]
    assert _timer(case, "first_response")["state"] == "met"  # Bo answered in the chat
    resolution = _timer(case, "resolution")
    assert resolution["state"] == "running"
    # Normal priority: 40 hours, around the clock (the default SLA has no calendar).
    assert 40 * 3600 - 60 < resolution["seconds_left"] <= 40 * 3600

    keeper = WorkflowKeeper(core, workspace_id)
    pending = await client.patch(f"/api/cases/{case_id}", headers=headers,
                                 json={"status": "pending"})
    assert _timer(await pending.json(), "resolution")["state"] == "paused"
    # The customer writes again (a new chat): the case opens again and its clocks run. The chat
    # is offered to Bo at once; it is about the case all the same.
    _, again = await _chat(core, workspace_id, "visitor-1", "Any news on the refund?")
    await eventually(lambda: state_is(core, again, "offered"))
    await keeper.step()
    assert await core.pool.fetchval("SELECT case_id FROM interactions WHERE id = $1",
                                    again) == case_id  # the customer's one open case
    await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat", sender="visitor-1", body="Hello?",
        provider_message_id="v1-hello", queue="support"))
    await keeper.step()
    case = await _case(client, case_id)
    assert case["status"] == "open"
    assert _timer(case, "resolution")["state"] == "running"
    assert _timer(case, "next_response")["state"] == "running"  # 8 hours to answer
    assert 8 * 3600 - 60 < _timer(case, "next_response")["seconds_left"] <= 8 * 3600

    # Nobody answers in time: the breach is recorded once and supervisors hear of it.
    await core.pool.execute(
        "UPDATE cases SET next_response_due = now() - interval '1 minute' WHERE id = $1",
        case_id)
    await keeper.step()
    await keeper.step()
    breaches = await core.pool.fetch("SELECT target FROM sla_breaches WHERE case_id = $1",
                                     case_id)
    assert [b["target"] for b in breaches] == ["next_response"]
    alerts = await feeds.since(core.redis, supervisors_feed(workspace_id), feeds.START)
    assert alerts is not None
    kinds = [(e["kind"], e["case_id"]) for _, e in alerts]
    assert ("sla_breached", case_id) in kinds
    assert (await _case(client, case_id))["breaches"] == ["next_response"]
    listed = await (await client.get("/api/cases?breached=true")).json()
    assert [c["id"] for c in listed["cases"]] == [case_id]
    bad = await client.patch(f"/api/cases/{case_id}", headers=headers, json={"status": "new"})
    assert (bad.status, (await bad.json())["error"]) == (409, "bad_transition")


async def test_a_case_close_to_breach_moves_its_waiting_interaction_up_the_queue(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    headers = await _agent(client, core, workspace_id, available=False)
    _, first = await _chat(core, workspace_id, "visitor-2", "A simple question")
    at_risk, second = await _chat(core, workspace_id, "visitor-3", "Still broken!")
    opened = await client.post("/api/cases", headers=headers, json={
        "customer_id": at_risk, "subject": "Broken again", "priority": "urgent",
        "interaction_id": second})
    assert opened.status == 201
    case_id = (await opened.json())["id"]
    # Due within the warning window (30 minutes by default).
    await core.pool.execute(
        "UPDATE cases SET first_response_due = now() + interval '10 minutes' WHERE id = $1",
        case_id)
    before = await core.pool.fetchval("SELECT priority FROM interactions WHERE id = $1", second)
    await WorkflowKeeper(core, workspace_id).step()
    assert await core.pool.fetchval("SELECT priority FROM interactions WHERE id = $1",
                                    second) == before + core.config.sla.boost_priority
    await client.put("/api/me/presence", json={"presence": "available"}, headers=headers)
    # The router offers the at-risk customer first, though the other came first.
    await eventually(lambda: state_is(core, first, "offered"))
    offers = await core.pool.fetch(
        "SELECT interaction_id FROM routing_decisions WHERE kind = 'Offered' ORDER BY id")
    assert [o["interaction_id"] for o in offers] == [second, first]


async def test_the_customer_follows_the_case_from_a_link_without_logging_in(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    headers = await _agent(client, core, workspace_id, available=False)
    customer, _ = await _chat(core, workspace_id, "visitor-4", "Where is my parcel?")
    opened = await (await client.post("/api/cases", headers=headers, json={
        "customer_id": customer, "subject": "Parcel <lost>"})).json()
    await client.post("/api/logout", headers=headers)
    page = await client.get(opened["public_url"])
    assert page.status == 200
    text = await page.text()
    assert "Parcel &lt;lost&gt;" in text
    assert "Received: we will get back to you soon." in text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    guessed = await client.get("/status/" + "A" * 32)
    assert guessed.status == 404
