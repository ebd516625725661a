"""The opportunity board in a real Chromium: columns by stage, a card moved to another stage,
and the weighted forecast above."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import expect

from contactcenter.actions import receive_inbound
from contactcenter.core import Core
from contactcenter.crm import sales
from contactcenter.models import InboundMessage
from tests.browser.conftest import People
from tests.browser.pages import Agent

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "pipeline.png"


async def test_an_opportunity_moves_along_the_board(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    user = await core.pool.fetchval("SELECT id FROM users WHERE email = $1", agents["ana"])
    result = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat", sender="visitor-p", sender_name="Noor Haddad",
        body="We need 40 seats", provider_message_id="p1", queue="sales"))
    async with core.pool.acquire() as conn, conn.transaction():
        lead, _ = await sales.create_lead(conn, workspace_id, user, result.customer_id,
                                          "40 seats", owner_user_id=user)
    await sales.convert(core, workspace_id, user, lead, name="Haddad & Co, 40 seats",
                        amount=Decimal("9600"), currency=None,
                        expected_close=date(2026, 12, 10))
    page = ana.page
    await page.goto(f"{base_url}/pipeline")
    new = page.locator("[data-stage=new]")
    await expect(new.locator(".card")).to_contain_text("Haddad & Co, 40 seats")
    await expect(page.locator("#forecast")).to_contain_text("$960.00")  # 10 % of 9,600
    await new.get_by_label("Move Haddad & Co, 40 seats to stage").select_option("negotiation")
    await expect(page.locator("[data-stage=negotiation] .card")).to_contain_text("75 %")
    await expect(new.locator(".card")).to_have_count(0)
    await expect(page.locator("#forecast")).to_contain_text("$7,200.00")
    await page.screenshot(path=str(SCREENSHOT))
