"""The demo's banner is the first thing a new user reads: every address it names must answer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contactcenter.demo import DEMO_USERS, demo_banner, demo_settings
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


def test_the_readme_walkthrough_agent_is_offered_the_sandbox_and_the_chat(
        settings: Settings) -> None:
    """The README says whom to log in as: that agent must have the skills of the queue the
    sandbox's texts and calls go to and of the chat demo's Sales topic, or nothing is offered."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    named = re.search(r"answer as an agent \(`([^`]+)`", readme)
    assert named is not None
    agent = next(u for u in DEMO_USERS if u.email == named.group(1))
    config = settings.file
    for queue_name in (config.default_queue("sms"), config.default_queue("voice"), "sales"):
        queue = next(q for q in config.queues if q.name == queue_name)
        assert all(agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items()), (
            agent.email, queue_name)
