"""The sales workflow through the API: a lead from a wrap-up, qualified and converted into an
opportunity, moved along the pipeline, the board, the weighted forecast, and follow-up tasks."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from contactcenter import feeds
from contactcenter.actions import receive_inbound
from contactcenter.core import Core
from contactcenter.crm.keeper import WorkflowKeeper
from contactcenter.models import InboundMessage
from tests.conftest import PASSWORD
from tests.live import eventually, login, state_is


async def test_lead_to_opportunity_to_forecast(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    await client.put("/api/me/presence", json={"presence": "available"}, headers=headers)
    result = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="sms", sender="+14155550100", body="Price for 50 seats?",
        provider_message_id="SM-lead", queue="sales"))
    iid = result.interaction_id
    await eventually(lambda: state_is(core, iid, "offered"))
    await client.post(f"/api/interactions/{iid}/accept", headers=headers)
    await eventually(lambda: state_is(core, iid, "assigned"))
    await client.post(f"/api/interactions/{iid}/complete", headers=headers)
    await eventually(lambda: state_is(core, iid, "wrapup"))
    done = await client.post(f"/api/interactions/{iid}/wrapup", headers=headers, json={
        "disposition": "sales_interest", "notes": "50 seats, annual plan"})
    lead_id = (await done.json())["lead_id"]
    leads = await (await client.get(f"/api/leads?customer_id={result.customer_id}")).json()
    assert [(x["id"], x["title"], x["source_channel"], x["status"]) for x in leads["leads"]] == [
        (lead_id, "50 seats, annual plan", "sms", "new")]

    assert (await client.patch(f"/api/leads/{lead_id}", headers=headers,
                               json={"status": "qualified"})).status == 204
    converted = await client.post(f"/api/leads/{lead_id}/convert", headers=headers, json={
        "name": "Northwind, 50 seats", "amount": "12000.00", "expected_close": "2026-12-15"})
    assert converted.status == 201
    opportunity = await converted.json()
    assert (opportunity["stage"], opportunity["probability"], opportunity["currency"]) == (
        "new", 10, "USD")
    twice = await client.post(f"/api/leads/{lead_id}/convert", headers=headers,
                              json={"amount": 1})
    assert twice.status == 409
    moved = await client.patch(f"/api/opportunities/{opportunity['id']}", headers=headers,
                               json={"stage": "proposal"})
    assert (await moved.json())["probability"] == 50

    # A second lead, converted and won in January.
    other = await client.post("/api/leads", headers=headers, json={
        "customer_id": result.customer_id, "title": "Support add-on"})
    other_id = (await other.json())["id"]
    won = await (await client.post(f"/api/leads/{other_id}/convert", headers=headers, json={
        "amount": "500", "expected_close": "2027-01-20", "stage": "won"})).json()
    assert won["closed_at"] is not None

    board = await (await client.get("/api/opportunities/board")).json()
    by_stage = {c["stage"]: (c["count"], c["total"]) for c in board["stages"]}
    assert by_stage["proposal"] == (1, "12000.00")
    assert by_stage["won"] == (1, "500.00")
    assert list(by_stage) == ["new", "qualified", "proposal", "negotiation", "won", "lost"]

    forecast = await (await client.get("/api/opportunities/forecast?period=month")).json()
    rows = [(r["owner"], r["period"], r["pipeline"], r["weighted"]) for r in forecast["forecast"]]
    assert rows == [("Ana Alvarez", "2026-12", "12000.00", "6000.00"),
                    ("Ana Alvarez", "2027-01", "500.00", "500.00")]
    quarter = await (await client.get("/api/opportunities/forecast?period=quarter")).json()
    assert [r["period"] for r in quarter["forecast"]] == ["2026-Q4", "2027-Q1"]
    bad = await client.get("/api/opportunities/forecast?period=week")
    assert bad.status == 400


async def test_an_overdue_task_is_told_to_its_agent_once(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    created = await client.post("/api/tasks", headers=headers, json={
        "title": "Call Jordan back about the quote", "due_at": "2026-01-01T09:00:00Z"})
    assert created.status == 201
    task_id = (await created.json())["id"]
    later = await client.post("/api/tasks", headers=headers, json={
        "title": "Send the contract", "due_at": "2099-01-01T09:00:00+01:00"})
    assert later.status == 201
    naive = await client.post("/api/tasks", headers=headers, json={
        "title": "x", "due_at": "2026-01-01T09:00:00"})
    refused = await naive.json()
    assert (naive.status, refused["error"]) == (400, "invalid_body")
    assert refused["message"] == "due_at: Input should have timezone info"
    keeper = WorkflowKeeper(core, workspace_id)
    await keeper.step()
    await keeper.step()
    user_id = await core.pool.fetchval("SELECT id FROM users WHERE email = $1", agent)
    entries = await feeds.since(core.redis, feeds.user_feed(workspace_id, user_id), feeds.START)
    assert entries is not None
    overdue = [e for _, e in entries if e["kind"] == "task_overdue"]
    assert [(e["task_id"], e["title"]) for e in overdue] == [
        (task_id, "Call Jordan back about the quote")]
    mine = await (await client.get("/api/tasks")).json()
    assert [(t["title"], t["overdue"]) for t in mine["tasks"]] == [
        ("Call Jordan back about the quote", True), ("Send the contract", False)]
    assert (await client.post(f"/api/tasks/{task_id}/done", headers=headers)).status == 204
    assert len((await (await client.get("/api/tasks")).json())["tasks"]) == 1
