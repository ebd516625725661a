"""Login, the session cookie, CSRF, logout; bad input gets a 4xx JSON answer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from contactcenter.settings import Settings
from contactcenter.web.app import create_app
from tests.conftest import PASSWORD, AiohttpClient
from tests.live import frames_until, is_type


async def login(client: TestClient[Any, Any], email: str, password: str) -> Any:
    return await client.post("/api/login", json={"email": email, "password": password})


@pytest.mark.usefixtures("agent")
async def test_login_sets_an_httponly_session_cookie(client: TestClient[Any, Any]) -> None:
    resp = await login(client, "ANA@example.com", PASSWORD)
    assert resp.status == 200
    body = await resp.json()
    assert body["user"]["email"] == "ana@example.com"
    assert body["user"]["role"] == "agent"
    assert body["csrf_token"]
    cookie = resp.cookies["cc_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"

    me = await client.get("/api/me")
    assert me.status == 200
    assert (await me.json())["user"]["display_name"] == "Ana Alvarez"


@pytest.mark.usefixtures("agent")
@pytest.mark.parametrize(("email", "password"), [
    ("ana@example.com", "wrong password"), ("nobody@example.com", PASSWORD)])
async def test_wrong_credentials_get_one_answer(
    client: TestClient[Any, Any], email: str, password: str
) -> None:
    resp = await login(client, email, password)
    assert resp.status == 401
    assert await resp.json() == {"error": "bad_credentials", "message": "wrong email or password"}
    assert "cc_session" not in resp.cookies


@pytest.mark.usefixtures("agent")
async def test_logout_needs_the_csrf_token(client: TestClient[Any, Any]) -> None:
    body = await (await login(client, "ana@example.com", PASSWORD)).json()
    forged = await client.post("/api/logout")
    assert forged.status == 403
    assert (await forged.json())["error"] == "csrf"

    resp = await client.post("/api/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert resp.status == 204
    assert (await client.get("/api/me")).status == 401


async def test_not_logged_in(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/api/me")
    assert resp.status == 401
    assert (await resp.json())["error"] == "not_logged_in"


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    (b"{not json", {"Content-Type": "application/json"}, 400, "bad_json"),
    (b'{"email": "a@b.c"}', {"Content-Type": "application/json"}, 400, "invalid_body"),
    (b'{"email": 5, "password": "x"}', {"Content-Type": "application/json"}, 400, "invalid_body"),
    (b"[]", {"Content-Type": "application/json"}, 400, "invalid_body"),
    (b"email=a&password=b", {"Content-Type": "application/x-www-form-urlencoded"}, 415,
     "unsupported_media_type"),
])
async def test_bad_bodies_get_a_json_4xx(
    client: TestClient[Any, Any], body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    resp = await client.post("/api/login", data=body, headers=headers)
    assert resp.status == status
    payload = await resp.json()
    assert payload["error"] == code
    assert payload["message"]


async def test_unknown_api_path_and_wrong_method_are_json(client: TestClient[Any, Any]) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"
    wrong = await client.get("/api/login")
    assert wrong.status == 405
    assert (await wrong.json())["error"] == "method_not_allowed"


async def test_oversized_body_is_refused(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/api/login", data=b"x" * (2 * 1024 * 1024),
                             headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"] == "request_entity_too_large"


@pytest.mark.usefixtures("agent")
async def test_logging_out_closes_that_sessions_sockets_on_every_node_at_once(
    client: TestClient[Any, Any], aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    """Before, a console stayed open (and kept receiving customers' messages) up to 30 s."""
    assert settings.env.database_url is not None
    assert settings.env.redis_url is not None
    other_node = await aiohttp_client(create_app(settings, settings.env.database_url,
                                                 settings.env.redis_url))
    resp = await login(client, "ana@example.com", PASSWORD)
    csrf = (await resp.json())["csrf_token"]
    other_node.session.cookie_jar.update_cookies({"cc_session": resp.cookies["cc_session"].value})
    here = await client.ws_connect("/console/ws")
    there = await other_node.ws_connect("/console/ws")
    for ws in (here, there):
        await ws.send_json({"type": "hello"})
        await frames_until(ws, is_type("snapshot"))
    assert (await client.post("/api/logout", headers={"X-CSRF-Token": csrf})).status == 204
    for ws in (here, there):
        async with asyncio.timeout(3):
            while (last := await ws.receive()).type == WSMsgType.TEXT:
                pass
        # What the page sees (the client's own close code may then say 1006: the server does
        # not wait for the client's answer before it lets go).
        assert (last.type, last.data) == (WSMsgType.CLOSE, 4401)
