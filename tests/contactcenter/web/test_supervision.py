"""The supervisor's API and socket against the real server: the live board pushed as things
happen, reports as JSON and CSV, the what-if simulator, presence, whisper, /metrics."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contactcenter import feeds
from contactcenter.actions.users import NewUser, add_user
from contactcenter.core import Core
from contactcenter.feeds import customer_feed, user_feed
from tests.conftest import PASSWORD
from tests.contactcenter.stats.rows import past_interaction
from tests.live import eventually, frames_until, login, start_chat

SUPERVISOR = "sam@example.com"


@pytest.fixture
async def supervisor(core: Core, workspace_id: int) -> str:
    await add_user(core, workspace_id, NewUser(SUPERVISOR, "Sam Supervisor", "supervisor",
                                               PASSWORD, {}))
    return SUPERVISOR


def _board_where(check: Any) -> Any:
    return lambda f: f.get("type") == "board" and check(f["board"])


def _queue(board: dict[str, Any], name: str) -> dict[str, Any]:
    return next(q for q in board["queues"] if q["name"] == name)


async def test_the_board_is_pushed_when_a_chat_arrives_and_when_it_is_moved(
    client: TestClient[Any, Any], supervisor: str
) -> None:
    csrf = await login(client, supervisor, PASSWORD)
    ws = await client.ws_connect("/supervisor/ws")
    first = (await frames_until(ws, lambda f: f.get("type") == "board"))[-1]["board"]
    assert _queue(first, "sales")["waiting"] == 0
    assert {"queues", "channels", "agents", "waiting", "alerts"} <= set(first)

    chat, _, _ = await start_chat(client, "Priya", topic="Sales")
    await chat.send_json({"type": "message", "client_id": "m1", "body": "Hello?"})
    arrived = (await frames_until(ws, _board_where(
        lambda b: _queue(b, "sales")["waiting"] == 1)))[-1]["board"]
    waiting = arrived["waiting"][0]
    assert (waiting["channel"], waiting["customer"], waiting["queue"]) == (
        "chat", "Priya", "sales")
    assert _queue(arrived, "sales")["offered"] == 1
    assert next(c for c in arrived["channels"] if c["name"] == "chat")["waiting"] == 1

    moved = await client.post(f"/api/interactions/{waiting['id']}/transfer",
                              json={"queue": "support"}, headers={"X-CSRF-Token": csrf})
    assert moved.status == 202
    await frames_until(ws, _board_where(lambda b: _queue(b, "support")["waiting"] == 1
                                        and _queue(b, "sales")["waiting"] == 0))
    await chat.close()
    await ws.close()


async def test_only_supervisors_see_the_board_and_reports(
    client: TestClient[Any, Any], agent: str, supervisor: str
) -> None:
    await login(client, agent, PASSWORD)
    for path in ("/api/stats/live", "/api/reports?from=2026-11-23T00:00:00Z"
                 "&to=2026-11-24T00:00:00Z", "/supervisor/ws"):
        resp = await client.get(path)
        assert resp.status == 403, path
        assert (await resp.json())["error"] == "supervisors_only"
    page = await client.get("/supervisor")
    assert page.status == 200  # the page itself shows a login and says who it is for
    assert "Supervisor" in await page.text()


async def test_reports_as_json_and_csv_and_their_refusals(
    client: TestClient[Any, Any], core: Core, workspace_id: int, supervisor: str
) -> None:
    async with core.pool.acquire() as conn:
        for queued in (datetime(2026, 11, 23, 9, 5, tzinfo=UTC),
                       datetime(2026, 11, 23, 9, 40, tzinfo=UTC)):
            await past_interaction(conn, workspace_id, "sales", "voice", queued,
                                   answered=queued + timedelta(seconds=12),
                                   ended=queued + timedelta(seconds=200), outcome="completed")
    await login(client, supervisor, PASSWORD)
    query = "from=2026-11-23T08:00:00Z&to=2026-11-23T10:00:00Z&interval=30&by=queue"
    body = await (await client.get(f"/api/reports?{query}")).json()
    assert (body["interval"], body["by"], body["timezone"]) == ("30", "queue", "UTC")
    assert [(r["start"], r["key"], r["offered"], r["service_level"], r["aht_seconds"])
            for r in body["rows"]] == [
        ("2026-11-23T09:00:00+00:00", "sales", 1, 1.0, 188.0),
        ("2026-11-23T09:30:00+00:00", "sales", 1, 1.0, 188.0)]

    resp = await client.get(f"/api/reports?{query}&format=csv")
    assert resp.status == 200
    assert resp.content_type == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [(r["start"], r["name"], r["offered"], r["asa_seconds"]) for r in rows] == [
        ("2026-11-23T09:00:00+00:00", "Sales", "1", "12.0"),
        ("2026-11-23T09:30:00+00:00", "Sales", "1", "12.0")]

    # Plain dates are days of the workspace's calendar.
    days = await (await client.get("/api/reports?from=2026-11-23&to=2026-11-24&interval=day"
                                   "&by=channel")).json()
    assert [(r["start"], r["key"], r["offered"]) for r in days["rows"]] == [
        ("2026-11-23T00:00:00+00:00", "voice", 2)]

    # Each parameter as declared in the OpenAPI document, or 400 naming it.
    day = "to=2026-11-23T10:00:00Z"
    for bad in ("interval=7", "by=planet", "format=xml", "colour=red", "by=queue&by=agent",
                "from=yesterday", "from=2026-11-23T08:00:00", "from=2026-11-23T08:00:00Z&to="):
        resp = await client.get(f"/api/reports?{bad}&{day}" if bad.startswith("from")
                                else f"/api/reports?from=2026-11-23T08:00:00Z&{day}&{bad}")
        refused = await resp.json()
        assert resp.status == 400, bad
        assert refused["error"] in ("bad_query", "unknown_query"), bad
        assert bad.split("&")[-1].split("=")[0] in refused["message"], refused
    missing = await client.get("/api/reports?to=2026-11-23T10:00:00Z")
    assert (missing.status, (await missing.json())["error"]) == (400, "missing_from")
    # `to` at or before `from`: an empty period, not an error.
    backwards = await client.get("/api/reports?from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z")
    assert (backwards.status, (await backwards.json())["rows"]) == (200, [])
    # A long period comes in pages: the first 31 days in 15-minute intervals, then the rest.
    long = await client.get("/api/reports?from=2026-01-01T00:00:00Z&to=2026-11-24T00:00:00Z"
                            "&interval=15&by=queue")
    first = await long.json()
    assert (first["to"], first["next_from"]) == ("2026-02-01T00:00:00+00:00",
                                                 "2026-02-01T00:00:00+00:00")
    rest = await client.get("/api/reports", params={
        "from": first["next_from"], "to": "2026-11-24T00:00:00Z", "interval": "day",
        "by": "queue"})
    following = await rest.json()
    assert following["next_from"] is None
    assert [(r["start"], r["offered"]) for r in following["rows"]] == [
        ("2026-11-23T00:00:00+00:00", 2)]
    csv_page = await client.get("/api/reports?from=2026-01-01T00:00:00Z&to=2026-11-24T00:00:00Z"
                                "&interval=15&format=csv")
    assert "from=2026-02-01T00:00:00%2B00:00" in csv_page.headers["Link"]
    assert csv_page.headers["Link"].endswith('rel="next"')


async def test_what_if_runs_the_simulator_beside_erlang_c(
    client: TestClient[Any, Any], supervisor: str
) -> None:
    csrf = await login(client, supervisor, PASSWORD)
    # The reference case: 200 calls an hour, 180 s each (10 Erlangs), 13 agents.
    resp = await client.post("/api/stats/what-if", headers={"X-CSRF-Token": csrf}, json={
        "agents": 13, "arrivals_per_hour": 200, "aht_seconds": 180, "threshold_seconds": 20,
        "hours": 8})
    assert resp.status == 200
    body = await resp.json()
    assert body["predicted"]["model"] == "Erlang C"
    assert body["predicted"]["service_level"] == pytest.approx(0.796, abs=0.001)
    assert body["simulated"]["agents"] == 13
    assert body["simulated"]["service_level"] == pytest.approx(0.796, abs=0.08)

    patient = await client.post("/api/stats/what-if", headers={"X-CSRF-Token": csrf}, json={
        "agents": 12, "arrivals_per_hour": 200, "aht_seconds": 180, "patience_seconds": 120,
        "hours": 2})
    assert (await patient.json())["predicted"]["model"] == "Erlang A"

    huge = await client.post("/api/stats/what-if", headers={"X-CSRF-Token": csrf}, json={
        "agents": 100, "arrivals_per_hour": 90_000, "aht_seconds": 60, "hours": 24})
    # Past 50,000 customers, fewer hours are simulated, and the answer says how many.
    shortened = await huge.json()
    assert huge.status == 200
    assert shortened["hours_simulated"] == pytest.approx(50_000 / 99_000, abs=1e-3)
    assert 40_000 < shortened["simulated"]["offered"] <= 50_000
    for bad_values in ({"agents": 0}, {"arrivals_per_hour": 5e-324}, {"aht_seconds": 5e-324},
                       {"patience_seconds": 1e-300}, {"hours": 1e-300}):
        bad = await client.post("/api/stats/what-if", headers={"X-CSRF-Token": csrf}, json={
            "agents": 2, "arrivals_per_hour": 10, "aht_seconds": 60, **bad_values})
        assert (bad.status, (await bad.json())["error"]) == (400, "invalid_body"), bad_values
    # A heavy overload with patient customers: Erlang A's chain is millions of states long;
    # the answer still comes (off the event loop) with the figures it must have.
    overload = await client.post("/api/stats/what-if", headers={"X-CSRF-Token": csrf}, json={
        "agents": 1, "arrivals_per_hour": 100_000, "aht_seconds": 86_400,
        "patience_seconds": 86_400, "hours": 0.1})
    predicted = (await overload.json())["predicted"]
    assert predicted["p_wait"] == pytest.approx(1.0)
    assert predicted["p_abandon"] == pytest.approx(1.0, abs=1e-3)

    # Each run holds a core: a third at once is asked to come back.
    runs = await asyncio.gather(*(client.post(
        "/api/stats/what-if", headers={"X-CSRF-Token": csrf},
        json={"agents": 100, "arrivals_per_hour": 1800, "aht_seconds": 180, "hours": 24})
        for _ in range(3)))
    assert sorted(r.status for r in runs) == [200, 200, 429]


async def test_a_supervisor_sets_an_agents_presence_and_whispers_to_them(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str, supervisor: str
) -> None:
    ana = await core.pool.fetchval("SELECT id FROM users WHERE email = $1", agent)
    csrf = await login(client, supervisor, PASSWORD)
    headers = {"X-CSRF-Token": csrf}
    resp = await client.put(f"/api/agents/{ana}/presence", headers=headers,
                            json={"presence": "away"})
    assert resp.status == 204
    row = await core.pool.fetchrow("SELECT presence, reason FROM agent_presence "
                                   "WHERE user_id = $1", ana)
    assert (row["presence"], row["reason"]) == ("away", "set by Sam Supervisor")
    missing = await client.put("/api/agents/999999/presence", headers=headers,
                               json={"presence": "away"})
    assert missing.status == 404
    wrong = await client.put(f"/api/agents/{ana}/presence", headers=headers,
                             json={"presence": "asleep"})
    assert wrong.status == 400

    async with core.pool.acquire() as conn:
        customer = await conn.fetchval(
            "INSERT INTO customers (workspace_id, display_name) VALUES ($1, 'Kim') RETURNING id",
            workspace_id)
        iid = await conn.fetchval(
            """INSERT INTO interactions (workspace_id, channel, state, queue_id, customer_id,
                   agent_id, queued_at, answered_at)
               SELECT $1, 'chat', 'assigned', id, $2, $3, now(), now() FROM queues
               WHERE workspace_id = $1 AND name = 'sales' RETURNING id""",
            workspace_id, customer, ana)
    agent_cursor = await feeds.latest_id(core.redis, user_feed(workspace_id, ana))
    customer_cursor = await feeds.latest_id(core.redis, customer_feed(workspace_id, customer))
    resp = await client.post(f"/api/interactions/{iid}/whisper", headers=headers,
                             json={"body": "Offer her the 10 % discount."})
    assert resp.status == 201
    note = await resp.json()
    assert (note["direction"], note["author"]) == ("internal", "Sam Supervisor")

    async def heard() -> Any:
        return await feeds.since(core.redis, user_feed(workspace_id, ana), agent_cursor)
    events = await eventually(heard)
    assert events[-1][1]["kind"] == "message"
    assert events[-1][1]["message"]["body"] == "Offer her the 10 % discount."
    assert await feeds.since(core.redis, customer_feed(workspace_id, customer),
                             customer_cursor) == []

    await core.pool.execute("UPDATE interactions SET state = 'queued', agent_id = NULL "
                            "WHERE id = $1", iid)
    nobody = await client.post(f"/api/interactions/{iid}/whisper", headers=headers,
                               json={"body": "Anyone?"})
    assert (nobody.status, (await nobody.json())["error"]) == (409, "no_agent")
    empty = await client.post(f"/api/interactions/{iid}/whisper", headers=headers,
                              json={"body": "  "})
    assert (empty.status, (await empty.json())["error"]) == (400, "invalid_body")

    agent_csrf = await login(client, agent, PASSWORD)
    refused = await client.put(f"/api/agents/{ana}/presence", json={"presence": "available"},
                               headers={"X-CSRF-Token": agent_csrf})
    assert refused.status == 403


async def test_metrics_for_prometheus(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    chat, _, _ = await start_chat(client, "Priya", topic="Sales")
    await chat.send_json({"type": "message", "client_id": "m1", "body": "Hello?"})

    async def waiting() -> bool:
        return bool(await core.pool.fetchval(
            "SELECT count(*) FROM interactions WHERE state = 'queued'"))
    await eventually(waiting)
    await core.pool.execute("UPDATE interactions SET queued_at = now() - interval '90 s'")
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    text = await resp.text()
    assert 'cc_queue_waiting{queue="sales"} 1.0' in text
    assert 'cc_queue_waiting{queue="support"} 0.0' in text
    oldest = next(line for line in text.splitlines()
                  if line.startswith('cc_queue_oldest_wait_seconds{queue="sales"}'))
    assert 90 <= float(oldest.split()[-1]) < 120
    assert 'cc_agents{presence="offline"} 1.0' in text
    assert 'cc_sockets_open{kind="chat"} 1.0' in text
    for family in ("cc_routing_offers_total counter", "cc_routing_latency_seconds histogram",
                   "cc_channel_errors_total counter", "cc_webhook_latency_seconds histogram",
                   "cc_outgoing_webhook_latency_seconds histogram"):
        assert f"# TYPE {family}" in text
    await chat.close()
