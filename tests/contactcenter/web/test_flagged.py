"""Payloads kept but not understood, as a supervisor reviews them."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from contactcenter.actions import add_user
from contactcenter.actions.intake import keep_unreadable
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from tests.conftest import PASSWORD
from tests.live import login


async def test_a_supervisor_reviews_and_resolves_flagged_payloads(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    first = await keep_unreadable(core, workspace_id, "twilio_sms", "no MessageSid", {"Body": "hi"})
    second = await keep_unreadable(core, workspace_id, "email", "no sender address",
                                   {"raw": "Subject: ?"})
    csrf = await login(client, agent, PASSWORD)
    refused = await client.get("/api/unreadable-payloads")
    assert (refused.status, (await refused.json())["error"]) == (403, "supervisors_only")

    await add_user(core, workspace_id, NewUser("sam@example.com", "Sam", "supervisor", PASSWORD, {}))
    csrf = await login(client, "sam@example.com", PASSWORD)
    page = await (await client.get("/api/unreadable-payloads")).json()
    assert [(p["id"], p["source"], p["problem"]) for p in page["payloads"]] == [
        (second, "email", "no sender address"), (first, "twilio_sms", "no MessageSid")]
    assert page["payloads"][1]["payload"] == {"Body": "hi"}
    assert page["next_before"] is None

    done = await client.post(f"/api/unreadable-payloads/{first}/resolve",
                             headers={"X-CSRF-Token": csrf})
    assert done.status == 204
    open_ones = await (await client.get("/api/unreadable-payloads")).json()
    assert [p["id"] for p in open_ones["payloads"]] == [second]
    everything = await (await client.get("/api/unreadable-payloads?all=1")).json()
    assert everything["payloads"][1]["resolved_at"] is not None
    older = await (await client.get(f"/api/unreadable-payloads?all=1&before={second}")).json()
    assert [p["id"] for p in older["payloads"]] == [first]
    assert (await client.get("/api/unreadable-payloads?before=x")).status == 400
    missing = await client.post("/api/unreadable-payloads/999999/resolve",
                                headers={"X-CSRF-Token": csrf})
    assert missing.status == 404
