"""The supervisor view in a real Chromium: the dashboard changes live as a chat arrives and is
answered; a whisper reaches the agent's console; the reports tab draws its chart and table."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from contactcenter.actions import add_user
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.crm import cases
from contactcenter.crm.keeper import WorkflowKeeper
from tests.browser.conftest import People
from tests.browser.pages import Agent, Customer
from tests.conftest import PASSWORD
from tests.contactcenter.stats.rows import past_interaction

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def _supervisor(people: People, base_url: str, core: Core, workspace_id: int) -> Page:
    await add_user(core, workspace_id, NewUser("sam@example.com", "Sam Supervisor", "supervisor",
                                               PASSWORD, {}))
    page = await people("sam")
    await page.goto(base_url + "/supervisor")
    await page.get_by_label("Email").fill("sam@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#conn")).to_contain_text("Live")
    return page


async def test_the_dashboard_follows_a_chat_live_and_whispers_reach_the_agent(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    sam = await _supervisor(people, base_url, core, workspace_id)
    sales = sam.locator("#queues tr[data-queue=sales]")
    await expect(sales.locator("td").nth(1)).to_have_text("0")
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    ana_row = sam.locator("#agents tr", has_text="Ana Alvarez")
    await expect(ana_row.locator(".state")).to_have_text("Available")
    await expect(sales.locator("td").nth(5)).to_have_text("1")  # available

    customer = Customer(await people("customer"), base_url)
    await customer.start("Lee", "Sales", "Is the green tent in stock?")
    await expect(sam.locator("#waiting li", has_text="Lee")).to_be_visible()
    await expect(sales.locator("td").nth(1)).to_have_text("1")  # waiting
    await expect(sales.locator("td").nth(9)).to_have_text("1")  # offered today

    await ana.accept()
    await expect(sam.locator("#waiting li")).to_have_count(0)
    await expect(ana_row.locator(".state")).to_have_text("Busy")
    await expect(ana_row.locator(".chip")).to_have_text("Chat \u00b7 Lee")
    await expect(sales.locator("td").nth(10)).to_have_text("1")  # answered today
    await expect(sales.locator("td").nth(12)).to_have_text("100 %")  # service level
    await sam.screenshot(path=str(ARTIFACTS / "supervisor-live.png"), full_page=True)

    await ana_row.locator(".chip").click()
    viewer = sam.locator("#viewer")
    await expect(viewer.locator(".vm", has_text="Is the green tent in stock?")).to_be_visible()
    await viewer.get_by_label("Whisper to the agent").fill("Offer the grey one if green is out.")
    await viewer.get_by_role("button", name="Send whisper").click()
    await expect(ana.message("Offer the grey one if green is out.")).to_be_visible()
    whisper = ana.page.locator("#messages .msg.whisper", has_text="Offer the grey one")
    await expect(whisper).to_contain_text("Whisper from your supervisor")  # not a plain note
    await expect(customer.message("Offer the grey one")).to_have_count(0)
    await viewer.get_by_role("button", name="Close").click()

    await sam.get_by_label("Presence of Ana Alvarez").select_option("away")
    await expect(ana.page.locator("#presence-dot.away")).to_be_visible()


async def test_reports_tab_draws_a_chart_and_offers_csv(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    async with core.pool.acquire() as conn:
        await past_interaction(conn, workspace_id, "sales", "voice", two_hours_ago,
                               customer="Lee", answered=two_hours_ago + timedelta(seconds=9),
                               ended=two_hours_ago + timedelta(minutes=5), outcome="completed")
    sam = await _supervisor(people, base_url, core, workspace_id)
    await sam.get_by_role("tab", name="Reports").click()
    await sam.get_by_label("From").fill((date.today() - timedelta(days=1)).isoformat())
    await sam.get_by_role("button", name="Show").click()
    report = sam.get_by_role("table", name="Report")
    await expect(report.locator("tbody tr", has_text="Sales")).to_have_count(1)
    await expect(report.locator("tbody tr", has_text="Sales")).to_contain_text("100 %")
    await expect(sam.locator("#chart canvas")).to_have_count(1)
    async with sam.expect_download() as download_info:
        await sam.get_by_role("link", name="Download CSV").click()
    download = await download_info.value
    saved = ARTIFACTS / "supervisor-report.csv"
    await download.save_as(saved)
    text = await asyncio.to_thread(saved.read_text)
    assert text.startswith("start,key,name,offered,answered")
    assert ",sales,Sales,1,1," in text
    await sam.screenshot(path=str(ARTIFACTS / "supervisor-reports.png"), full_page=True)


async def test_an_agent_is_told_the_page_is_for_supervisors(
    people: People, base_url: str, agents: dict[str, str]
) -> None:
    page = await people("ana")
    await page.goto(base_url + "/supervisor")
    await page.get_by_label("Email").fill(agents["ana"])
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("This page is for supervisors")


async def test_an_sla_breach_appears_as_it_happens(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    """The workflow keeper records a breach and tells the supervisors' feed; the open page
    shows it at once, highlighted, with a pop-up."""
    sam = await _supervisor(people, base_url, core, workspace_id)
    await expect(sam.locator(".alert.calm")).to_be_visible()
    async with core.pool.acquire() as conn:
        customer = await conn.fetchval(
            "INSERT INTO customers (workspace_id, display_name) VALUES ($1, 'Jo') RETURNING id",
            workspace_id)
        case, _ = await cases.open_case(conn, core.config, workspace_id, None, customer,
                                        "Refund never arrived", priority="urgent")
        await conn.execute("UPDATE cases SET first_response_due = now() - interval '1 minute', "
                           "sla_dirty = false WHERE id = $1", case)
    await WorkflowKeeper(core, workspace_id).step()
    alert = sam.locator(".alert.sla_breached")
    await expect(alert).to_contain_text(f"Case #{case} (Refund never arrived) breached its "
                                        "first response target")
    await expect(alert).to_have_class(re.compile(r"\bfresh\b"))
    await expect(sam.get_by_role("status").filter(has_text="Refund never arrived")).to_be_visible()


async def test_a_supervisor_moves_a_waiting_chat_to_another_queue(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    sam = await _supervisor(people, base_url, core, workspace_id)
    await Customer(await people("customer"), base_url).start("Kim", "Sales", "Anyone there?")
    row = sam.locator("#waiting li", has_text="Kim")
    await expect(row).to_contain_text("Sales")
    await row.get_by_label("Move Kim").select_option(label="Support")
    await expect(sam.locator("#waiting li", has_text="Kim")).to_contain_text("Support")
    await expect(sam.locator("#queues tr[data-queue=support] td").nth(1)).to_have_text("1")
    await expect(sam.locator("#queues tr[data-queue=sales] td").nth(1)).to_have_text("0")
    assert await core.pool.fetchval(
        "SELECT q.name FROM interactions i JOIN queues q ON q.id = i.queue_id") == "support"
