"""Redis stops for 20 s and comes back empty while consoles and a chat are open in Chromium and
customers keep writing: every page says it is not live, then is live again within seconds;
nothing queued is stranded and nobody is set Away for offers their console never got."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from contactcenter.actions import receive_inbound
from contactcenter.core import Core
from contactcenter.embedded import EmbeddedServer, start_redis
from contactcenter.models import InboundMessage
from contactcenter.settings import Settings, load_settings
from tests.browser.conftest import People
from tests.browser.pages import Agent, Customer
from tests.live import eventually

pytestmark = pytest.mark.browser

OUTAGE_SECONDS = 20
LIVE_AGAIN_WITHIN = 15


@pytest.fixture
def settings(db_url: str, redis_server: EmbeddedServer, tmp_path: Path) -> Settings:
    """Short chat offers and one miss is enough to be set Away: were the consoles deaf after
    the outage, their agents would be set Away within seconds."""
    plain = load_settings({"CC_DATABASE_URL": db_url, "CC_REDIS_URL": redis_server.url,
                           "CC_DATA_DIR": str(tmp_path / "data")})
    routing = plain.file.routing.model_copy(update={
        "offer_timeout_seconds": {**plain.file.routing.offer_timeout_seconds, "chat": 8},
        "missed_offers_before_away": 1})
    return Settings(file=plain.file.model_copy(update={"routing": routing}), env=plain.env)


async def _live(page: Page, banner: str) -> None:
    await expect(page.locator(banner)).to_be_hidden(timeout=LIVE_AGAIN_WITHIN * 1000)


async def test_consoles_and_chats_come_back_live_and_nothing_is_stranded(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int,
    redis_server: EmbeddedServer, tmp_path: Path,
) -> None:
    ana = Agent(await people("ana"), base_url)
    ben = Agent(await people("ben"), base_url)
    await ana.log_in(agents["ana"])
    await ben.log_in(agents["ben"])
    customer = Customer(await people("customer"), base_url)
    await customer.start("Priya", "Sales", "Before the outage")
    handler = ana if await eventually(lambda: _offer_count(ana, ben)) == "ana" else ben
    await handler.accept()

    redis_server.stop()
    stopped = time.monotonic()
    # Every page says it is not live (a deaf socket would show nothing at all).
    for page in (ana.page, ben.page):
        await expect(page.locator("#conn")).to_be_visible(timeout=15_000)
    await expect(customer.widget.locator(".conn")).to_be_visible(timeout=15_000)
    await customer.say("During the outage")
    during = [await _chat(core, workspace_id, n) for n in range(4)]  # customers keep writing
    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    port = urlsplit(redis_server.url).port
    assert port is not None
    restarted = start_redis(tmp_path / "redis-data", port=port)  # empty: it keeps nothing
    try:
        back = time.monotonic()
        for page in (ana.page, ben.page):
            await _live(page, "#conn")
        await _live(customer.page, "#cc-chat-widget >> .conn")
        live_after = time.monotonic() - back
        await expect(handler.message("During the outage")).to_be_visible(timeout=15_000)

        # Every interaction queued meanwhile is offered to someone, and accepted in the console.
        deadline = time.monotonic() + 60
        while await _unassigned(core, during):
            assert time.monotonic() < deadline, await _unassigned(core, during)
            for agent in (ana, ben):
                if await agent.offers.count():
                    await agent.offers.first.get_by_role("button", name="Accept").click()
            await asyncio.sleep(0.3)
        away = await core.pool.fetch(
            "SELECT user_id, reason FROM agent_presence WHERE presence <> 'available'")
        assert away == [], [dict(r) for r in away]
        print(f"consoles and chat live again {live_after:.1f} s after Redis returned")
    finally:
        restarted.stop()


async def _offer_count(ana: Agent, ben: Agent) -> str | None:
    if await ana.offers.count():
        return "ana"
    if await ben.offers.count():
        return "ben"
    return None


async def _chat(core: Core, workspace_id: int, n: int) -> int:
    got = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat", sender=f"visitor-outage-{n}",
        body=f"Written while Redis was down ({n})", provider_message_id=f"outage-{n}",
        queue="sales"))
    return got.interaction_id


async def _unassigned(core: Core, ids: list[int]) -> list[int]:
    rows = await core.pool.fetch(
        "SELECT id FROM interactions WHERE id = ANY($1::bigint[]) AND state <> 'assigned'", ids)
    return [r["id"] for r in rows]
