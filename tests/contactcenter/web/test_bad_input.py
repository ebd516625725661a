"""Input that is valid JSON, a valid URL or a plausible id, but that the database could not keep
or that names something not there: a clear 4xx saying what is wrong, never a server error, and
nothing half written. Found by fuzzing the OpenAPI document (schemathesis) against the demo."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError

from contactcenter.actions import receive_inbound
from contactcenter.actions.users import NewUser, add_user
from contactcenter.core import Core
from contactcenter.models import InboundMessage
from contactcenter.web.crm import CustomerChanges, NewTask
from contactcenter.web.supervision import WhatIf
from tests.conftest import PASSWORD
from tests.live import login


async def _customer(core: Core, workspace_id: int) -> int:
    result = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="sms", sender="+14155550111", body="Hello",
        provider_message_id="SM-bad-input", queue="sales"))
    return result.customer_id


async def _refused(resp: Any, status: int, code: str) -> str:
    assert resp.status == status, await resp.text()
    payload = await resp.json()
    assert payload["error"] == code, payload
    message: str = payload["message"]
    return message


@pytest.mark.parametrize(("field", "value", "said"), [
    ("subject", "Broken\u0000printer", "subject: text may not contain a NUL character"),
    ("category", "\u0000", "category: text may not contain a NUL character"),
    ("customer_id", 2**70, "customer_id: Input should be less than or equal to 9999"),
    ("owner_user_id", -(2**64), "owner_user_id: Input should be greater than or equal to 1"),
])
async def test_values_the_database_cannot_keep_are_refused_by_name(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str,
    field: str, value: object, said: str,
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    body = {"customer_id": await _customer(core, workspace_id), "subject": "Printer", field: value}
    message = await _refused(await client.post("/api/cases", json=body, headers=headers),
                             400, "invalid_body")
    assert message.startswith(said)
    assert await core.pool.fetchval("SELECT count(*) FROM cases") == 0


async def test_nul_in_a_nested_key_is_refused(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    customer_id = await _customer(core, workspace_id)
    resp = await client.patch(f"/api/customers/{customer_id}", headers=headers,
                              json={"attributes": {"plan\u0000": "gold"}})
    message = await _refused(resp, 400, "invalid_body")
    assert message == "attributes: a key may not contain a NUL character (\\u0000)"


@pytest.mark.parametrize(("path", "status", "code"), [
    # Digits to Unicode, not numbers: no row id looks like that, so no such resource.
    ("/api/cases/%C2%B2", 404, "not_found"),  # a superscript two
    ("/api/cases/%D9%A3", 404, "not_found"),  # an Arabic-Indic three
    ("/api/cases/1234567890123456789012", 400, "bad_id"),  # digits, but past any row id
])
async def test_ids_that_are_not_plain_numbers_are_refused_cleanly(
    client: TestClient[Any, Any], agent: str, path: str, status: int, code: str
) -> None:
    await login(client, agent, PASSWORD)
    await _refused(await client.get(path), status, code)


async def test_query_numbers_must_be_plain_too(client: TestClient[Any, Any], agent: str) -> None:
    await login(client, agent, PASSWORD)
    await _refused(await client.get("/api/cases?after=%D9%A3"), 400, "bad_query")


@pytest.mark.parametrize("query", ["q=%00", "company=a%00b", "tag=%00", "status=%00"])
async def test_nul_in_a_query_is_refused(
    client: TestClient[Any, Any], agent: str, query: str
) -> None:
    await login(client, agent, PASSWORD)
    path = "/api/cases" if query.startswith("status") else "/api/customers"
    message = await _refused(await client.get(f"{path}?{query}"), 400, "bad_query")
    assert message.endswith("a query may not contain a NUL character")


async def test_owners_and_assignees_must_be_users_of_this_workspace(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    customer_id = await _customer(core, workspace_id)
    other_workspace = await core.pool.fetchval(
        "INSERT INTO workspaces (slug, name) VALUES ('other', 'Other') RETURNING workspace_id")
    stranger = await add_user(core, other_workspace, NewUser(
        "zed@other.example", "Zed", "agent", PASSWORD, {}))
    for owner in (stranger, 999_999):
        resp = await client.post("/api/cases", headers=headers, json={
            "customer_id": customer_id, "subject": "Printer", "owner_user_id": owner})
        assert await _refused(resp, 409, "bad_owner") == f"no user {owner} in this workspace"
    case = await (await client.post("/api/cases", headers=headers, json={
        "customer_id": customer_id, "subject": "Printer"})).json()
    await _refused(await client.patch(f"/api/cases/{case['id']}", headers=headers,
                                      json={"owner_user_id": stranger}), 409, "bad_owner")
    lead = await (await client.post("/api/leads", headers=headers, json={
        "customer_id": customer_id, "title": "Seats"})).json()
    await _refused(await client.post(f"/api/leads/{lead['id']}/convert", headers=headers,
                                     json={"amount": 10, "owner_user_id": stranger}),
                   409, "bad_owner")
    assert await core.pool.fetchval("SELECT count(*) FROM opportunities") == 0
    opportunity = await (await client.post(f"/api/leads/{lead['id']}/convert", headers=headers,
                                           json={"amount": 10})).json()
    await _refused(await client.patch(f"/api/opportunities/{opportunity['id']}",
                                      headers=headers, json={"owner_user_id": stranger}),
                   409, "bad_owner")
    await _refused(await client.post("/api/tasks", headers=headers, json={
        "title": "Call back", "due_at": "2026-12-01T10:00:00Z", "assignee_user_id": stranger}),
        409, "bad_assignee")
    owners = await core.pool.fetch("SELECT owner_user_id FROM cases UNION ALL "
                                   "SELECT owner_user_id FROM opportunities")
    assert stranger not in {r["owner_user_id"] for r in owners}


async def test_an_opportunity_patch_with_nothing_to_change(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    nothing = {"stage": None, "amount": None, "name": None}
    await _refused(await client.patch("/api/opportunities/999", headers=headers, json=nothing),
                   404, "no_such_opportunity")
    customer_id = await _customer(core, workspace_id)
    lead = await (await client.post("/api/leads", headers=headers, json={
        "customer_id": customer_id, "title": "Seats"})).json()
    opportunity = await (await client.post(f"/api/leads/{lead['id']}/convert", headers=headers,
                                           json={"amount": 10})).json()
    same = await client.patch(f"/api/opportunities/{opportunity['id']}", headers=headers,
                              json=nothing)
    assert same.status == 200
    assert await same.json() == opportunity


async def test_a_blank_title_is_refused_in_words(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    resp = await client.post("/api/tasks", headers=headers, json={
        "title": "   ", "due_at": "2026-12-01T10:00:00Z"})
    assert await _refused(resp, 400, "invalid_body") == "title: may not be blank"


def test_a_boolean_is_no_seed() -> None:
    with pytest.raises(ValidationError):
        WhatIf.model_validate_json('{"agents": 1, "arrivals_per_hour": 1, "aht_seconds": 60, '
                                   '"seed": true}')


async def test_a_method_a_path_does_not_take_is_405_with_allow(
    client: TestClient[Any, Any], agent: str
) -> None:
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    resp = await client.patch("/api/opportunities/board", headers=headers, json={})
    assert resp.status == 405  # the board's path, not an opportunity called "board"
    assert "GET" in resp.headers["Allow"]
    assert (await resp.json())["error"] == "method_not_allowed"


async def test_the_document_names_the_answers_every_route_can_give(
    client: TestClient[Any, Any]
) -> None:
    spec = await (await client.get("/api/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            answers = set(op["responses"])
            assert "400" in answers, (method, path)
            if path.startswith("/api/") and path not in ("/api/login", "/api/openapi.json"):
                assert {"401", "403"} <= answers, (method, path)
            if "requestBody" in op:
                assert {"413", "415"} <= answers, (method, path)
            if path.startswith("/channels/twilio/"):
                assert "application/x-www-form-urlencoded" in op["requestBody"]["content"]


def test_times_are_text_and_consent_a_boolean() -> None:
    """Lax parsing took a number for a time (seconds since 1970) and "true" for a boolean."""
    with pytest.raises(ValidationError):
        NewTask.model_validate_json('{"title": "Call", "due_at": 1700000000}')
    with pytest.raises(ValidationError):
        CustomerChanges.model_validate_json('{"consent": {"sms": "true"}}')
    assert NewTask.model_validate_json('{"title": "Call", "due_at": "2026-12-01T10:00:00Z"}')


@pytest.mark.parametrize(("body", "accepted"), [
    ('{"title": "Call", "due_at": "2026-12-01T10:00:00Z", "customer_id": 4.0}', True),
    ('{"title": "Call", "due_at": "2026-12-01T10:00:00Z", "customer_id": true}', False),
    ('{"title": "Call", "due_at": "2026-12-01T10:00:00Z", "customer_id": "4"}', False),
    ('{"title": "Call", "due_at": "2026-12-01T10:00:00Z", "customer_id": 4.5}', False),
    ('{"title": "Call", "due_at": "2026-12-01T10:00:00Z", "customer_id": 0}', False),
    ('{"title": "Call", "due_at": "2026-12-01T10:00:00"}', False),  # no zone
    ('{"title": "Call", "due_at": "2026-12-01T10:00:00Z", "asignee_user_id": 4}', False),
])
def test_bodies_take_json_as_the_document_says(body: str, accepted: bool) -> None:
    """What JSON Schema calls an integer (4 and 4.0), not `true` or "4"; a field the route
    does not read is a typo to report, not to ignore."""
    if accepted:
        assert NewTask.model_validate_json(body).customer_id == 4
    else:
        with pytest.raises(ValidationError):
            NewTask.model_validate_json(body)


async def test_a_query_takes_only_what_the_document_declares(
    client: TestClient[Any, Any], agent: str
) -> None:
    await login(client, agent, PASSWORD)
    assert (await client.get("/api/customers?limit=5&q=ana")).status == 200
    for query, code, named in (
            ("assignee[x]=1", "unknown_query", "assignee[x]"),
            ("limit=5&limit=6", "bad_query", "limit"),
            ("after=", "bad_query", "after"),
            ("limit=0", "bad_query", "limit"),
            ("limit=true", "bad_query", "limit"),
            ("q=" + "x" * 201, "bad_query", "q")):
        message = await _refused(await client.get(f"/api/customers?{query}"), 400, code)
        assert named in message, message
    # The customer search's own open names: attr.NAME=value.
    assert (await client.get("/api/customers?attr.plan=team")).status == 200
    tasks = await client.get("/api/tasks?breached=")
    assert "open, overdue" in await _refused(tasks, 400, "unknown_query")
