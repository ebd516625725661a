"""The customer panel in a real Chromium: company, tags, the open case with its SLA timer, the
whole timeline with notes, and the agent's task list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from channels.email.intake import Origin, take_in
from contactcenter import feeds
from contactcenter.core import Core
from contactcenter.crm import cases, customers, tasks
from contactcenter.crm.keeper import WorkflowKeeper
from tests.browser.conftest import People
from tests.browser.pages import Agent

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email"
SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "console-customer-panel.png"


async def test_the_panel_shows_the_open_case_and_its_sla_timer(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await take_in(core, workspace_id, (CORPUS / "iso8859_1_outlook.eml").read_bytes(),
                  Origin("default", "support@northwind.test", "sales", 1, 4))
    customer = await core.pool.fetchval("SELECT customer_id FROM interactions")
    async with core.pool.acquire() as conn, conn.transaction():
        company = await conn.fetchval(
            "INSERT INTO companies (workspace_id, name) VALUES ($1, 'Northwind Traders') "
            "RETURNING id", workspace_id)
        await conn.execute("UPDATE customers SET company_id = $2, tags = '{vip}' WHERE id = $1",
                           customer, company)
        await cases.open_case(conn, core.config, workspace_id, None, customer,
                              "Wrong size delivered", priority="urgent")
    await ana.accept()
    panel = ana.page.locator("#customer")
    await expect(panel.locator(".company")).to_have_text("Northwind Traders")
    await expect(panel.locator(".tag")).to_have_text("vip")
    work = panel.locator(".workflow li").first
    await expect(work).to_contain_text("Wrong size delivered")
    await expect(work.locator(".sla")).to_contain_text(
        re.compile(r"SLA due \w{3} \d\d:\d\d( [AP]M)?, in \d+ (days?|h)"))
    await ana.page.screenshot(path=str(SCREENSHOT))


async def test_an_overdue_task_shows_in_the_console(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    user = await core.pool.fetchval("SELECT id FROM users WHERE email = $1", agents["ana"])
    async with core.pool.acquire() as conn:
        await tasks.create(conn, workspace_id, user, "Call Jordan back", user,
                           datetime.now(UTC) - timedelta(minutes=1), {})
    await WorkflowKeeper(core, workspace_id).step()
    await expect(ana.page.get_by_role("status").filter(
        has_text="Task overdue: Call Jordan back")).to_be_visible()


async def test_the_panel_shows_the_whole_timeline_and_takes_notes_and_tasks(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    """A returning customer: the earlier case and note are in the timeline; Ana adds a note and
    a follow-up task from the panel, ticks the task off in her list; a task a supervisor gives
    her appears without a reload."""
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await take_in(core, workspace_id, (CORPUS / "iso8859_1_outlook.eml").read_bytes(),
                  Origin("default", "support@northwind.test", "sales", 1, 4))
    customer = await core.pool.fetchval("SELECT customer_id FROM interactions")
    ana_id = await core.pool.fetchval("SELECT id FROM users WHERE email = $1", agents["ana"])
    ben_id = await core.pool.fetchval("SELECT id FROM users WHERE email = $1", agents["ben"])
    async with core.pool.acquire() as conn:
        await cases.open_case(conn, core.config, workspace_id, None, customer,
                              "Invoice address wrong", priority="low")
    await customers.add_note(core, workspace_id, ben_id, customer, "Prefers email, not calls.")
    await ana.accept()
    panel = ana.page.locator("#customer")
    timeline = panel.get_by_role("list", name="Timeline")
    await expect(timeline.locator("li", has_text="Invoice address wrong")).to_be_visible()
    await expect(timeline.locator("li", has_text="Prefers email, not calls.")).to_be_visible()
    await expect(timeline.locator("li.current").first).to_be_visible()

    await panel.get_by_label("Note about the customer").fill("Asked for a discount on the tent.")
    await panel.get_by_role("button", name="Add note").click()
    await expect(timeline.locator("li.note", has_text="discount on the tent")).to_be_visible()
    await panel.get_by_label("Show in the timeline").select_option("notes")
    await expect(timeline.locator("li.case")).to_have_count(0)
    await expect(timeline.locator("li.note")).to_have_count(2)

    tasks_list = ana.page.get_by_role("list", name="My tasks")
    await panel.get_by_label("Follow-up task").fill("Send the tent quote")
    await panel.get_by_role("button", name="Add task").click()
    task = tasks_list.locator(".task", has_text="Send the tent quote")
    await expect(task).to_contain_text("due")
    assert await core.pool.fetchval("SELECT customer_id FROM tasks") == customer
    await ana.page.screenshot(path=str(SCREENSHOT.with_name("console-timeline-tasks.png")))
    await task.get_by_role("button", name="Done: Send the tent quote").click()
    await expect(task).to_have_count(0)
    assert await core.pool.fetchval("SELECT done_at IS NOT NULL FROM tasks") is True

    past = datetime.now(UTC) - timedelta(hours=2)
    async with core.pool.acquire() as conn:
        await tasks.create(conn, workspace_id, ben_id, "Renew Northwind contract", ana_id, past, {})
    await feeds.push(core.redis, [tasks.changed(workspace_id, ana_id)])
    late = tasks_list.locator(".task.overdue", has_text="Renew Northwind contract")
    await expect(late).to_contain_text("overdue by 2 h")
