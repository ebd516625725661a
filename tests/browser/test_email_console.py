"""An email at the console, in a real Chromium: the new text, the quoted history behind a
toggle, and the files as links that download from the server."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import expect

from channels.email.intake import Origin, take_in
from contactcenter.core import Core
from contactcenter.settings import MailServer, Settings
from tests.browser.conftest import AiohttpServer, People
from tests.browser.pages import Agent
from tests.conftest import free_port

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email"
# Looked at by a person; docs/console-email.png is a copy of it.
SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "console-email.png"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Email on, so replies are taken (they wait for an SMTP server nothing here runs)."""
    email = settings.file.channels.email.model_copy(update={"enabled": True})
    channels = settings.file.channels.model_copy(update={"email": email})
    env = replace(settings.env, smtp=MailServer("127.0.0.1", free_port(), "", "", "none"),
                  email_address="support@northwind.test")
    return Settings(file=settings.file.model_copy(update={"channels": channels}), env=env)


async def test_an_email_with_its_quote_and_files_at_the_console(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    raw = (CORPUS / "gmail_reply_utf8.eml").read_bytes().replace(
        b"References: <cc.41.8f2a@northwind.example>\n", b"")
    await take_in(core, workspace_id, raw, Origin("default", "support@northwind.test", "sales",
                                                  1, 1))
    await ana.accept()
    await expect(ana.message("Thanks, the refund arrived.")).to_be_visible()
    quoted = ana.page.locator("#messages details.quoted")
    await expect(quoted.locator("pre")).not_to_be_visible()
    await quoted.locator("summary").click()
    await expect(quoted.locator("pre")).to_contain_text("the second charge is refunded")
    await expect(ana.page.locator("#messages .msg.out .meta")).to_contain_text("Automatic answer")
    await ana.page.locator("#messages details.formatted summary").click()
    frame = ana.page.locator("#messages details.formatted iframe")
    await expect(frame).to_have_attribute("sandbox", "")
    await expect(frame.content_frame.locator("blockquote")).to_contain_text(
        "the second charge is refunded")
    await ana.page.screenshot(path=str(SCREENSHOT), full_page=True)


async def test_an_emails_files_are_links_that_download(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int
) -> None:
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await take_in(core, workspace_id, (CORPUS / "mixed_related_attachments.eml").read_bytes(),
                  Origin("default", "support@northwind.test", "sales", 1, 2))
    await ana.accept()
    await expect(ana.message("Please see the invoice attached")).to_be_visible()
    invoice = ana.page.get_by_role("link", name="Rechnung März.pdf")
    await expect(invoice).to_have_attribute("href", re.compile(r"^/api/attachments/\d+$"))
    async with ana.page.expect_response(lambda r: "/api/attachments/" in r.url) as answer:
        status = await ana.page.evaluate(
            "href => fetch(href).then(r => r.status)", await invoice.get_attribute("href"))
    assert status == 200
    assert (await answer.value).headers["content-type"] == "application/pdf"


async def test_an_agent_attaches_files_to_an_email_reply(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int,
    tmp_path: Path,
) -> None:
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await take_in(core, workspace_id, (CORPUS / "koi8r_subject_and_body.eml").read_bytes(),
                  Origin("default", "support@northwind.test", "sales", 1, 3))
    await ana.accept()
    page = ana.page
    invoice = tmp_path / "Счёт 1042.pdf"
    invoice.write_bytes(b"%PDF-1.4\n" + b"\0" * 2048)
    terms = tmp_path / "terms.txt"
    terms.write_text("Terms and conditions\n")
    await page.locator("#attach").set_input_files([invoice, terms])
    files = page.get_by_role("list", name="Files to send")
    await expect(files.locator("li")).to_have_count(2)
    await expect(files).to_contain_text("Счёт 1042.pdf · 2 KB")
    await page.screenshot(path=str(SCREENSHOT.with_name("console-email-attaching.png")))
    await files.get_by_role("button", name="Remove terms.txt").click()
    await expect(files.locator("li")).to_have_count(1)
    await page.locator("#reply").fill("The invoice you asked for.")
    await page.locator("#reply").press("Enter")
    sent = page.locator("#messages .msg.out", has_text="The invoice you asked for.")
    link = sent.get_by_role("link", name="Счёт 1042.pdf")
    await expect(link).to_have_attribute("href", re.compile(r"^/api/attachments/\d+$"))
    await expect(files).to_be_hidden()
    stored = await core.pool.fetch(
        """SELECT a.filename, a.size_bytes FROM attachments a JOIN messages m ON m.id = a.message_id
           WHERE m.direction = 'outbound' AND m.author_user_id IS NOT NULL""")
    assert [(r["filename"], r["size_bytes"]) for r in stored] == [("Счёт 1042.pdf", 2057)]
    await page.screenshot(path=str(SCREENSHOT.with_name("console-email-files.png")), full_page=True)


async def test_remote_images_load_only_when_the_agent_asks(
    people: People, base_url: str, agents: dict[str, str], core: Core, workspace_id: int,
    aiohttp_server: AiohttpServer,
) -> None:
    """A tracking pixel tells its sender when the mail was read: it must not load on its own."""
    fetched: list[str] = []

    async def pixel(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.Response(body=PNG, content_type="image/png")

    tracker = web.Application()
    tracker.router.add_get("/open.png", pixel)
    server = await aiohttp_server(tracker)
    html = (f'<p>Our newsletter</p><img src="{server.make_url("/open.png")}" alt="logo" '
            'width="40" height="40">')
    raw = ("From: News <news@example.com>\r\nTo: support@northwind.test\r\n"
           "Subject: Offers\r\nMessage-ID: <pixel1@example.com>\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n").encode()
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await take_in(core, workspace_id, raw, Origin("default", "support@northwind.test", "sales",
                                                  1, 4))
    await ana.accept()
    box = ana.page.locator("#messages details.formatted")
    await box.locator("summary").click()
    frame = box.locator("iframe")
    await expect(frame.content_frame.locator("p")).to_contain_text("Our newsletter")
    await ana.page.wait_for_timeout(500)
    assert fetched == []
    await box.get_by_role("button", name="Load remote images").click()
    await expect(box.locator("iframe").content_frame.locator("img")).to_have_js_property(
        "naturalWidth", 1)
    assert fetched == ["/open.png"]


# A 1x1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4280000000049454e44ae426082")
