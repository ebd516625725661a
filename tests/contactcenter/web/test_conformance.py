"""The OpenAPI document is the truth about the API: schemathesis, run with every check it has
against a server with the demo's data, finds no answer the document does not describe, no
request it calls valid that the server refuses, and none it calls invalid that the server
takes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from contactcenter.core import Core
from contactcenter.demo import DEMO_PASSWORD, seed_demo
from contactcenter.settings import Settings

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
AiohttpServer = Callable[[web.Application], Awaitable[TestServer]]


async def test_schemathesis_with_all_checks_finds_nothing(
    aiohttp_server: AiohttpServer, app: web.Application, settings: Settings, core: Core,
    workspace_id: int, tmp_path: Path,
) -> None:
    assert settings.env.database_url
    assert settings.env.redis_url
    await seed_demo(settings, settings.env.database_url, settings.env.redis_url, workspace_id)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        login = await http.post(f"{base}/api/login", json={
            "email": "sam@demo.example", "password": DEMO_PASSWORD})
        assert login.status == 200
        csrf = (await login.json())["csrf_token"]
        cookie = login.cookies["cc_session"].value
    run = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", f"{base}/api/openapi.json", "--checks", "all",
        "--max-examples", "25", "--seed", "1", "--exclude-path", "/api/logout",
        "-H", f"Cookie: cc_session={cookie}", "-H", f"X-CSRF-Token: {csrf}",
        "--no-color", cwd=tmp_path,  # it keeps a cache in the working directory
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await run.communicate()
    report = output.decode(errors="replace")
    assert run.returncode == 0, report
    assert " passed" in report, report
    assert " 0 generated" not in report, report
