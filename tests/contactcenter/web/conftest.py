from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactcenter.actions import add_user
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.settings import Settings
from contactcenter.web.app import create_app

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
PASSWORD = "correct horse battery"


@pytest.fixture
def app(settings: Settings, core: Core) -> web.Application:
    assert settings.env.database_url is not None
    assert settings.env.redis_url is not None
    return create_app(settings, settings.env.database_url, settings.env.redis_url)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, app: web.Application) -> TestClient[Any, Any]:
    return await aiohttp_client(app)


@pytest.fixture
async def agent(core: Core, workspace_id: int) -> str:
    await add_user(core, workspace_id, NewUser(
        "Ana@Example.com", "Ana Alvarez", "agent", PASSWORD, {"sales": 7, "spanish": 10}))
    return "ana@example.com"
