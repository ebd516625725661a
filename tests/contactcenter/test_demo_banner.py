"""The demo's banner is the first thing a new user reads: every address it names must answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contactcenter.demo import demo_banner, demo_settings
from contactcenter.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return demo_settings(settings, "http://127.0.0.1")


async def test_every_address_in_the_banner_answers(client: TestClient[Any, Any]) -> None:
    banner = demo_banner("http://demo.invalid")
    paths = re.findall(r"http://demo\.invalid(/\S*)", banner)
    assert {"/console", "/chat/demo", "/sandbox", "/supervisor", "/metrics", "/healthz"} <= set(paths)
    for path in paths:
        resp = await client.get(path)
        assert resp.status == 200, path
