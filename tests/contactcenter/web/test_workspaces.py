"""Two workspaces in one database, one server: a user of the other workspace can neither log in
here nor use a session of theirs, on any read the API documents or on the live sockets."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from contactcenter.actions import add_user, receive_inbound, start_session
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.models import InboundMessage
from tests.conftest import PASSWORD
from tests.live import login

# Reads that answer without a session, by design.
PUBLIC = {"/api/openapi.json", "/healthz"}


@pytest.fixture
async def other_workspace(core: Core) -> int:
    """Workspace "b" beside this server's, with its own supervisor and a waiting customer."""
    ws: int = await core.pool.fetchval(
        "INSERT INTO workspaces (slug, name) VALUES ('b', 'B Corp') RETURNING workspace_id")
    await core.pool.execute(
        """INSERT INTO queues (workspace_id, name, label, priority)
           VALUES ($1, 'support', 'Support', 1)""", ws)
    await add_user(core, ws, NewUser("boss@b.example", "Boss of B", "supervisor", PASSWORD, {}))
    return ws


async def _gets(client: TestClient[Any, Any]) -> list[str]:
    spec = await (await client.get("/api/openapi.json")).json()
    return [re.sub(r"\{[^}]+\}", "1", path) for path, ops in spec["paths"].items()
            if "get" in ops and path not in PUBLIC]


async def test_another_workspaces_user_sees_nothing_of_this_one(
    client: TestClient[Any, Any], core: Core, workspace_id: int, other_workspace: int
) -> None:
    await add_user(core, workspace_id, NewUser("sam@a.example", "Sam", "supervisor", PASSWORD, {}))
    await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="sms", sender="+14155550100", body="A's customer",
        provider_message_id="SMa1"))
    refused = await client.post("/api/login", json={
        "workspace": "b", "email": "boss@b.example", "password": PASSWORD})
    assert refused.status == 401
    assert (await refused.json())["error"] == "wrong_workspace"
    assert (await client.post("/api/login", json={
        "email": "boss@b.example", "password": PASSWORD})).status == 401

    # A session of B's, as a server serving B would have opened it in the shared database.
    theirs = await start_session(core, other_workspace, "boss@b.example", PASSWORD, "127.0.0.1")
    client.session.cookie_jar.update_cookies({"cc_session": theirs.token})
    gets = await _gets(client)
    assert len(gets) >= 19
    answered = {path: (await client.get(path)).status for path in gets}
    assert {path for path, status in answered.items() if status != 401} == set()
    for socket in ("/supervisor/ws", "/console/ws"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused_socket:
            await client.ws_connect(socket)
        assert refused_socket.value.status == 401

    # The walk reaches data: this workspace's own supervisor gets answers, not 401s.
    client.session.cookie_jar.clear()
    await login(client, "sam@a.example", PASSWORD)
    mine = {path: (await client.get(path)).status for path in gets}
    assert [path for path, status in mine.items() if status == 401] == []
    board = await (await client.get("/api/stats/live")).json()
    assert "B Corp" not in str(board)
