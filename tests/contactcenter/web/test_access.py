"""Who may do what (docs/access.md), walked through the HTTP API as two agents and a
supervisor would: work held by a colleague, records a colleague owns, merges, consent and the
files of a reply not sent yet."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from contactcenter.actions import add_user, receive_inbound
from contactcenter.actions.users import NewUser, Role
from contactcenter.core import Core
from contactcenter.models import InboundMessage
from contactcenter.settings import Settings
from contactcenter.web.app import create_app
from tests.conftest import PASSWORD, AiohttpClient

People = dict[str, tuple[TestClient[Any, Any], dict[str, str], int]]


async def _people(aiohttp_client: AiohttpClient, core: Core, workspace_id: int,
                  settings: Settings) -> People:
    """Ana and Ben (agents) and Sam (supervisor), each with a client of their own."""
    people: People = {}
    roles: tuple[tuple[str, Role], ...] = (("ana", "agent"), ("ben", "agent"), ("sam", "supervisor"))
    for key, role in roles:
        user_id = await add_user(core, workspace_id, NewUser(
            f"{key}@example.com", key.title(), role, PASSWORD, {"sales": 5}))
        assert settings.env.database_url is not None
        assert settings.env.redis_url is not None
        client = await aiohttp_client(create_app(settings, settings.env.database_url,
                                                 settings.env.redis_url))
        resp = await client.post("/api/login", json={"email": f"{key}@example.com",
                                                     "password": PASSWORD})
        people[key] = (client, {"X-CSRF-Token": (await resp.json())["csrf_token"]}, user_id)
    return people


@pytest.fixture
async def people(aiohttp_client: AiohttpClient, core: Core, workspace_id: int,
                 settings: Settings) -> People:
    return await _people(aiohttp_client, core, workspace_id, settings)


async def _held_by(core: Core, workspace_id: int, user_id: int, n: int) -> tuple[int, int]:
    """An interaction assigned to the user: (interaction id, customer id)."""
    got = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="email", sender=f"customer{n}@example.com",
        body="Hello", provider_message_id=f"<access{n}@example.com>", queue="sales"))
    await core.pool.execute(
        "UPDATE interactions SET state = 'assigned', agent_id = $2 WHERE id = $1",
        got.interaction_id, user_id)
    return got.interaction_id, got.customer_id


async def _status(people: People, who: str, method: str, path: str, **kwargs: Any) -> int:
    client, headers, _ = people[who]
    resp = await client.request(method, path, headers=headers, **kwargs)
    return resp.status


async def test_only_its_agent_or_a_supervisor_transfers_an_interaction(
    people: People, core: Core, workspace_id: int
) -> None:
    ana_id = people["ana"][2]
    iid, _ = await _held_by(core, workspace_id, ana_id, 1)
    to_queue = {"json": {"queue": "support"}}
    assert await _status(people, "ben", "POST", f"/api/interactions/{iid}/transfer",
                         **to_queue) == 403
    assert await _status(people, "ana", "POST", f"/api/interactions/{iid}/transfer",
                         **to_queue) == 202
    waiting = (await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="sms", sender="+14155550123", body="hi",
        provider_message_id="SMwait"))).interaction_id
    assert await _status(people, "ben", "POST", f"/api/interactions/{waiting}/transfer",
                         **to_queue) == 403
    assert await _status(people, "sam", "POST", f"/api/interactions/{waiting}/transfer",
                         **to_queue) == 202


async def test_records_a_colleague_owns_are_theirs_or_a_supervisors_to_change(
    people: People, core: Core, workspace_id: int
) -> None:
    ana_id, ben_id = people["ana"][2], people["ben"][2]
    _, customer = await _held_by(core, workspace_id, ana_id, 2)
    client, headers, _ = people["ana"]
    case = await (await client.post("/api/cases", headers=headers, json={
        "customer_id": customer, "subject": "Broken tent", "owner_user_id": ana_id})).json()
    lead = await (await client.post("/api/leads", headers=headers, json={
        "customer_id": customer, "title": "Ten tents"})).json()
    opportunity = await (await client.post(f"/api/leads/{lead['id']}/convert", headers=headers,
                                           json={"amount": 1000, "owner_user_id": ana_id})).json()
    task = await (await client.post("/api/tasks", headers=headers, json={
        "title": "Call back", "due_at": "2026-12-01T10:00:00Z"})).json()

    refused = [
        ("PATCH", f"/api/cases/{case['id']}", {"status": "resolved"}),
        ("PATCH", f"/api/cases/{case['id']}", {"owner_user_id": ben_id}),
        ("PATCH", f"/api/opportunities/{opportunity['id']}", {"amount": 1}),
        ("PATCH", f"/api/opportunities/{opportunity['id']}", {"owner_user_id": ben_id}),
        ("POST", f"/api/tasks/{task['id']}/done", None),
    ]
    for method, path, body in refused:
        assert await _status(people, "ben", method, path, json=body) == 403, (method, path, body)
    assert await core.pool.fetchval("SELECT amount FROM opportunities") == 1000
    assert await _status(people, "sam", "PATCH", f"/api/cases/{case['id']}",
                         json={"owner_user_id": ben_id}) == 200
    assert await _status(people, "ben", "PATCH", f"/api/cases/{case['id']}",
                         json={"priority": "high"}) == 200  # now his
    assert await _status(people, "ana", "PATCH", f"/api/cases/{case['id']}",
                         json={"priority": "low"}) == 403  # and no longer hers


async def test_a_center_can_let_agents_edit_colleagues_records_but_not_take_them(
    aiohttp_client: AiohttpClient, core: Core, workspace_id: int, settings: Settings
) -> None:
    access = settings.file.access.model_copy(update={"agents_edit_colleagues_records": True})
    lenient = replace(settings, file=settings.file.model_copy(update={"access": access}))
    people = await _people(aiohttp_client, core, workspace_id, lenient)
    ana_id, ben_id = people["ana"][2], people["ben"][2]
    _, customer = await _held_by(core, workspace_id, ana_id, 3)
    client, headers, _ = people["ana"]
    case = await (await client.post("/api/cases", headers=headers, json={
        "customer_id": customer, "subject": "Zip stuck", "owner_user_id": ana_id})).json()
    assert await _status(people, "ben", "PATCH", f"/api/cases/{case['id']}",
                         json={"priority": "high"}) == 200
    assert await _status(people, "ben", "PATCH", f"/api/cases/{case['id']}",
                         json={"owner_user_id": ben_id}) == 403


async def test_merges_need_the_agent_to_be_working_one_of_the_two(
    people: People, core: Core, workspace_id: int
) -> None:
    ben_id = people["ben"][2]
    _, first = await _held_by(core, workspace_id, people["ana"][2], 4)
    _, second = await _held_by(core, workspace_id, people["ana"][2], 5)
    merge = {"json": {"merge": second}}
    assert await _status(people, "ben", "POST", f"/api/customers/{first}/merge", **merge) == 403
    _, third = await _held_by(core, workspace_id, ben_id, 6)
    assert await _status(people, "ben", "POST", f"/api/customers/{third}/merge", **merge) == 200
    assert await _status(people, "sam", "POST", f"/api/customers/{first}/merge",
                         json={"merge": third}) == 200


async def test_any_agent_records_an_opt_out_and_only_a_supervisor_lifts_it(
    people: People, core: Core, workspace_id: int
) -> None:
    _, customer = await _held_by(core, workspace_id, people["ana"][2], 7)
    path = f"/api/customers/{customer}"
    assert await _status(people, "ben", "PATCH", path, json={"consent": {"sms": True}}) == 204
    assert await _status(people, "ben", "PATCH", path, json={"consent": {"sms": False}}) == 403
    assert await _status(people, "ben", "PATCH", path, json={"consent": {"email": False}}) == 204
    assert await _status(people, "sam", "PATCH", path, json={"consent": {"sms": False}}) == 204


async def test_the_files_of_an_unsent_reply_are_its_authors(
    people: People, core: Core, workspace_id: int
) -> None:
    iid, _ = await _held_by(core, workspace_id, people["ana"][2], 8)
    client, headers, _ = people["ana"]
    form = FormData()
    form.add_field("file", b"draft contract", filename="contract.txt")
    draft = await (await client.post(f"/api/interactions/{iid}/attachments", data=form,
                                     headers=headers)).json()
    assert await _status(people, "ben", "GET", draft["url"]) == 403
    assert await _status(people, "ana", "GET", draft["url"]) == 200
    assert await _status(people, "sam", "GET", draft["url"]) == 200
