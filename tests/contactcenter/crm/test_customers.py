"""One customer across channels: identities, the merge and its undo, search, duplicates and the
timeline, through the API on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from contactcenter.actions import add_user, receive_inbound
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.models import InboundMessage
from tests.conftest import PASSWORD
from tests.live import login


async def _message(core: Core, workspace_id: int, channel: str, sender: str, key: str,
                   name: str = "", body: str = "hello") -> tuple[int, int]:
    result = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel=channel, sender=sender, sender_name=name,  # type: ignore[arg-type]
        body=body, provider_message_id=key, queue="support"))
    return result.customer_id, result.interaction_id


async def _supervisor(client: TestClient[Any, Any], core: Core, workspace_id: int) -> dict[str, str]:
    await add_user(core, workspace_id, NewUser("sam@example.com", "Sam Supervisor", "supervisor",
                                               PASSWORD, {}))
    return {"X-CSRF-Token": await login(client, "sam@example.com", PASSWORD)}


async def test_sms_chat_and_email_of_one_person_end_in_one_customer_and_one_timeline(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    headers = await _supervisor(client, core, workspace_id)
    jordan, sms = await _message(core, workspace_id, "sms", "+14155550100", "SM1",
                                 body="Is my order shipped?")
    visitor, chat = await _message(core, workspace_id, "chat", "visitor-42", "c1",
                                   name="Jordan Lee", body="Hi, I texted you earlier")
    assert visitor != jordan

    # In the chat they give their phone: it is already Jordan's record, so the agent merges.
    taken = await client.post(f"/api/customers/{visitor}/identities", headers=headers,
                              json={"kind": "phone", "address": "(415) 555-0100"})
    assert taken.status == 409
    answer = await taken.json()
    assert (answer["error"], answer["customer_id"]) == ("identity_taken", jordan)
    merged = await client.post(f"/api/customers/{jordan}/merge", headers=headers,
                               json={"merge": visitor})
    assert merged.status == 200
    audit_id = (await merged.json())["audit_id"]
    added = await client.post(f"/api/customers/{jordan}/identities", headers=headers,
                              json={"kind": "email", "address": " Jordan.Lee@Example.COM "})
    assert (await added.json()) == {"kind": "email", "address": "jordan.lee@example.com"}

    # Later an email from that address joins the same record.
    emailed, email = await _message(core, workspace_id, "email", "jordan.lee@example.com",
                                    "<m1@example.com>", body="Any news?")
    assert emailed == jordan
    record = await (await client.get(f"/api/customers/{jordan}")).json()
    assert record["name"] == "Jordan Lee"  # the survivor had no name: the merged one's is kept
    timeline = await (await client.get(f"/api/customers/{jordan}/timeline")).json()
    interactions = {i["id"] for i in timeline["items"] if i["kind"] == "interaction"}
    assert interactions == {sms, chat, email}
    messages = [i["detail"] for i in timeline["items"] if i["kind"] == "message"]
    assert messages == ["Any news?", "Hi, I texted you earlier", "Is my order shipped?"]
    stale = await client.get(f"/api/customers/{visitor}/timeline")
    assert stale.status == 200  # the merged record's id still answers, now empty
    assert (await stale.json())["items"] == []

    # The merge is in the audit log and can be undone: the chat goes back with its visitor.
    trail = await (await client.get(f"/api/customers/{jordan}/audit")).json()
    assert trail["entries"][0]["action"] == "customer.merge"
    assert trail["entries"][0]["details"]["moved"]["interactions"] == [chat]
    undone = await client.post(f"/api/audit/{audit_id}/undo", headers=headers)
    assert undone.status == 204
    assert await core.pool.fetchval("SELECT customer_id FROM interactions WHERE id = $1",
                                    chat) == visitor
    assert await core.pool.fetchval("SELECT customer_id FROM interactions WHERE id = $1",
                                    email) == jordan
    again = await client.post(f"/api/audit/{audit_id}/undo", headers=headers)
    assert again.status == 409


async def test_search_by_phone_digits_name_tag_and_attribute(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    headers = await _supervisor(client, core, workspace_id)
    kim, _ = await _message(core, workspace_id, "sms", "+14155550123", "SM2")
    await client.patch(f"/api/customers/{kim}", headers=headers, json={
        "name": "Kim Park", "tags": ["VIP", " vip "], "company": "Northwind"})
    lee, _ = await _message(core, workspace_id, "email", "lee@example.org", "<x@y>",
                            name="Lee Park")

    async def found(query: str) -> list[int]:
        resp = await client.get(f"/api/customers?{query}")
        assert resp.status == 200, await resp.text()
        return [c["id"] for c in (await resp.json())["customers"]]

    assert await found("q=(415)%20555-0123") == [kim]
    assert await found("q=park") == [kim, lee]
    assert await found("q=example.org") == [lee]
    assert await found("tag=vip") == [kim]
    assert await found("company=northwind") == [kim]
    assert await found("q=100%25") == []  # a % is a character, not a wildcard
    first = await (await client.get("/api/customers?q=park&limit=1")).json()
    assert first["next_after"] == kim
    assert await found(f"q=park&after={kim}") == [lee]
    bad = await client.patch(f"/api/customers/{kim}", headers=headers,
                             json={"attributes": {"shoe_size": 42}})
    assert (bad.status, (await bad.json())["error"]) == (400, "unknown_attribute")


async def test_duplicates_by_mailbox_and_similar_name(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    await _supervisor(client, core, workspace_id)
    one, _ = await _message(core, workspace_id, "email", "jordan.lee@gmail.com", "<a@b>",
                            name="Jordan Lee")
    two, _ = await _message(core, workspace_id, "email", "jordanlee+shop@gmail.com", "<c@d>",
                            name="J. Lee")
    three, _ = await _message(core, workspace_id, "chat", "visitor-9", "c9", name="Jordan Leigh")
    await _message(core, workspace_id, "chat", "visitor-10", "c10", name="Maria Garcia")
    resp = await client.get(f"/api/customers/{one}/duplicates")
    found = (await resp.json())["duplicates"]
    assert [d["id"] for d in found] == [two, three]
    assert found[0]["reasons"][0] == "same mailbox"
    assert found[1]["reasons"][0].startswith("similar name")


async def test_a_customer_made_by_hand_and_one_whose_number_is_taken(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    made = await client.post("/api/customers", headers=headers, json={
        "name": "Ada Byron", "phone": "(415) 555-0161", "email": "Ada@Example.com",
        "company": "Analytical"})
    assert made.status == 201, await made.text()
    ada = (await made.json())["id"]
    record = await (await client.get(f"/api/customers/{ada}")).json()
    assert (record["name"], record["company"]) == ("Ada Byron", "Analytical")
    assert {(i["kind"], i["address"]) for i in record["identities"]} == {
        ("phone", "+14155550161"), ("email", "ada@example.com")}
    again = await client.post("/api/customers", headers=headers, json={
        "name": "Someone Else", "phone": "+1 415 555 0161"})
    assert again.status == 409
    assert (await again.json())["error"] == "identity_taken"
    for phone in ("12", ""):  # no number is null, not ""
        bad = await client.post("/api/customers", headers=headers,
                                json={"name": "X", "phone": phone})
        assert (bad.status, (await bad.json())["error"]) == (400, "bad_address"), phone
    blank = await client.post("/api/customers", headers=headers, json={"name": "  "})
    assert blank.status == 400
