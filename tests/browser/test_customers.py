"""The CRM pages in a real Chromium: a supervisor finds a customer by part of a phone number,
opens the record, edits it, merges a duplicate and undoes the merge; a case is taken from the
list and worked to resolved; a lead is qualified and converted onto the pipeline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from contactcenter.actions import add_user, receive_inbound
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.crm import cases, sales
from contactcenter.models import InboundMessage, InboundResult
from tests.browser.conftest import People
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# Looked at by a person; docs/customer-page.png, case-list.png and case-page.png are copies.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def _signed_in(people: People, base_url: str, core: Core, workspace_id: int,
                     path: str) -> Page:
    await add_user(core, workspace_id, NewUser("sam@example.com", "Sam Supervisor", "supervisor",
                                               PASSWORD, {}))
    page = await people("sam")
    await page.goto(base_url + path)
    sign_in = page.locator("#login")
    await sign_in.get_by_label("Email").fill("sam@example.com")
    await sign_in.get_by_label("Password").fill(PASSWORD)
    await sign_in.get_by_role("button", name="Sign in").click()
    return page


async def _texted(core: Core, workspace_id: int, number: str, body: str, name: str = "",
                  queue: str = "sales") -> InboundResult:
    """A text from `number`, as the SMS webhook stores one."""
    return await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="sms", sender=number, sender_name=name, body=body,
        provider_message_id=f"SM-{number}-{body}", queue=queue))


async def test_find_a_customer_edit_the_record_merge_a_duplicate_and_undo(
    people: People, base_url: str, core: Core, workspace_id: int
) -> None:
    texted = await _texted(core, workspace_id, "+14155550142", "Where is my order?",
                           name="Maria Lopez")
    mailed = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="email", sender="maria.lopez@example.com",
        sender_name="Maria Lopez", body="Any news on order 1042?", subject="Order 1042",
        provider_message_id="<dir-2@example.com>", queue="sales"))
    await _texted(core, workspace_id, "+14155550199", "Hello", name="Bo Berg")
    page = await _signed_in(people, base_url, core, workspace_id, "/customers")

    # By part of the number, as a person types it.
    await page.get_by_label("Name, phone or email").fill("555 0142")
    await page.get_by_role("button", name="Search").click()
    rows = page.locator("#rows tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Maria Lopez")
    await rows.first.get_by_role("link", name="Maria Lopez").click()
    await expect(page.locator("#name")).to_have_text("Maria Lopez")
    await expect(page.locator("#identities")).to_contain_text("+14155550142")
    await expect(page.locator("#timeline")).to_contain_text("Where is my order?")

    details = page.locator("#details")
    await details.get_by_label("Company").fill("Lopez Outdoor")
    await details.get_by_label("Tags (comma between)").fill("vip, tents")
    await details.get_by_role("button", name="Save").click()
    await expect(page.locator("#toasts")).to_contain_text("Saved.")
    async with core.pool.acquire() as conn:
        tags = await conn.fetchval("SELECT tags FROM customers WHERE id = $1", texted.customer_id)
    assert sorted(tags) == ["tents", "vip"]

    duplicate = page.locator("#duplicates li", has_text="Maria Lopez")
    await expect(duplicate).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    await duplicate.get_by_role("button", name="Merge Maria Lopez into this record").click()
    await expect(page.locator("#identities")).to_contain_text("maria.lopez@example.com")
    await expect(page.locator("#timeline")).to_contain_text("Any news on order 1042?")
    await page.screenshot(path=str(ARTIFACTS / "customer-page.png"), full_page=True)
    await page.locator("#toasts").get_by_role("button", name="Undo").click()
    await expect(page.locator("#toasts")).to_contain_text("Merge undone.")
    await expect(page.locator("#identities")).not_to_contain_text("maria.lopez@example.com")
    async with core.pool.acquire() as conn:
        merged_into = await conn.fetchval("SELECT merged_into FROM customers WHERE id = $1",
                                          mailed.customer_id)
    assert merged_into is None


async def test_a_refused_change_is_said_in_words(
    people: People, base_url: str, core: Core, workspace_id: int
) -> None:
    texted = await _texted(core, workspace_id, "+14155550177", "hi")
    page = await _signed_in(people, base_url, core, workspace_id, f"/customers/{texted.customer_id}")
    # No name yet: the record is called by its number and place.
    await expect(page.locator("#name")).to_have_text("+1 415-555-0177, San Francisco, CA")
    add = page.locator("#add-identity")
    await add.get_by_label("Kind").select_option("phone")
    await add.get_by_label("Number or address").fill("not a number")
    await add.get_by_role("button", name="Add").click()
    await expect(page.locator("#toasts")).to_contain_text("is not a phone number")


async def test_a_case_is_worked_from_the_list_to_resolved(
    people: People, base_url: str, core: Core, workspace_id: int
) -> None:
    texted = await _texted(core, workspace_id, "+14155550155", "The tent pole snapped",
                           name="Ola Nordmann", queue="support")
    async with core.pool.acquire() as conn, conn.transaction():
        case_id, _ = await cases.open_case(conn, core.config, workspace_id, None,
                                           texted.customer_id, "Broken tent pole",
                                           priority="high", team="support")
        done_id, _ = await cases.open_case(conn, core.config, workspace_id, None,
                                           texted.customer_id, "Old question", team="support")
        await conn.execute("UPDATE cases SET status = 'closed' WHERE id = $1", done_id)
    page = await _signed_in(people, base_url, core, workspace_id, "/cases")
    rows = page.locator("#rows tr")
    await expect(rows).to_have_count(1)  # closed cases are not shown unless asked for
    await expect(rows.first).to_contain_text("Broken tent pole")
    await expect(rows.first).to_contain_text(re.compile(r"due .+, in \d+ (h|min|days?)"))
    await page.screenshot(path=str(ARTIFACTS / "case-list.png"))
    await rows.first.get_by_role("link").click()
    await expect(page.locator("#title")).to_have_text(f"Case #{case_id}: Broken tent pole")
    await page.get_by_role("button", name="Take it").click()
    await expect(page.locator("#meta")).to_contain_text("yours")
    work = page.locator("#changes")
    await work.get_by_label("Status").select_option("pending")
    await work.get_by_role("button", name="Save").click()
    await expect(page.locator("#sla li", has_text="Resolution")).to_contain_text("paused")
    await page.screenshot(path=str(ARTIFACTS / "case-page.png"), full_page=True)
    await work.get_by_label("Status").select_option("resolved")
    await work.get_by_role("button", name="Save").click()
    await expect(page.locator("#meta")).to_contain_text("resolved")
    # A step the workflow does not allow is not offered, and the server would refuse it.
    await expect(work.get_by_label("Status").locator("option")).to_have_text(
        ["resolved", "open", "closed"])
    async with core.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, owner_user_id FROM cases WHERE id = $1", case_id)
    assert row["status"] == "resolved"
    assert row["owner_user_id"] is not None


async def test_a_lead_is_qualified_and_converted_and_stands_on_the_pipeline(
    people: People, base_url: str, core: Core, workspace_id: int
) -> None:
    texted = await _texted(core, workspace_id, "+14155550166", "25 tents for our club?", name="Kai Tan")
    async with core.pool.acquire() as conn, conn.transaction():
        await sales.create_lead(conn, workspace_id, None, texted.customer_id, "25 club tents",
                                source_channel="sms")
    page = await _signed_in(people, base_url, core, workspace_id, "/leads")
    row = page.locator("#rows tr", has_text="25 club tents")
    await expect(row).to_contain_text("Kai Tan")
    await expect(row).to_contain_text("SMS")
    page.once("dialog", lambda dialog: dialog.accept("budget confirmed"))
    await row.get_by_role("button", name="Qualify", exact=True).click()
    await page.get_by_label("Status").select_option("qualified")
    await page.get_by_role("button", name="Show").click()
    await expect(row).to_contain_text("qualified · budget confirmed")
    await row.get_by_role("button", name="Convert 25 club tents").click()
    dialog = page.locator("#convert-dialog")
    await dialog.get_by_label("Amount").fill("4999.50")
    await dialog.get_by_label("Expected close").fill("2026-12-20")
    await dialog.get_by_role("button", name="Convert").click()
    await expect(page.locator("#toasts")).to_contain_text("is on the pipeline")
    await page.goto(base_url + "/pipeline")
    card = page.locator(".card", has_text="25 club tents")
    await expect(card).to_contain_text("Kai Tan")
    await expect(card).to_contain_text("4,999.50")


async def test_a_customer_made_by_hand_is_warned_of_a_likely_duplicate_first(
    people: People, base_url: str, core: Core, workspace_id: int
) -> None:
    await _texted(core, workspace_id, "+14155550188", "hello", name="Jo Park")
    page = await _signed_in(people, base_url, core, workspace_id, "/customers")
    await page.get_by_role("button", name="New customer").click()
    form = page.locator("#new-form")
    await form.get_by_label("Name").fill("Jo Park")
    await form.get_by_label("Email").fill("jo.park@example.com")
    await form.get_by_role("button", name="Create").click()
    await expect(form.locator("#likely")).to_contain_text("Jo Park")  # asked first
    await expect(form.locator("#likely")).to_contain_text("+14155550188")
    await form.get_by_role("button", name="Create anyway").click()
    await expect(page.locator("#name")).to_have_text("Jo Park")
    await expect(page.locator("#identities")).to_contain_text("jo.park@example.com")
    assert await core.pool.fetchval(
        "SELECT count(*) FROM customers WHERE display_name = 'Jo Park'") == 2
