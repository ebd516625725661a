"""The chat widget in Chromium when the visitor types an email: a code is mailed (to a real SMTP
server), the visitor enters it, and only then is the chat linked to the customer who owns it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.async_api import expect

from contactcenter.actions import receive_inbound
from contactcenter.core import Core
from contactcenter.embedded import EmbeddedServer
from contactcenter.models import InboundMessage
from contactcenter.settings import MailServer, Settings, load_settings
from tests.browser.conftest import SCREENSHOTS, People
from tests.browser.pages import Customer
from tests.live import eventually
from tests.smtp import SmtpInbox, running_smtp

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    with running_smtp() as inbox:
        yield inbox


@pytest.fixture
def settings(db_url: str, redis_server: EmbeddedServer, tmp_path: Path,
             smtp_inbox: SmtpInbox) -> Settings:
    """The server of these tests can mail, so it mails codes."""
    plain = load_settings({"CC_DATABASE_URL": db_url, "CC_REDIS_URL": redis_server.url,
                           "CC_DATA_DIR": str(tmp_path / "data")})
    return replace(plain, env=replace(
        plain.env, smtp=MailServer("127.0.0.1", smtp_inbox.port, "", "", "none"),
        email_address="support@northwind.test"))


async def test_a_visitor_proves_their_email_with_the_code_mailed_to_it(
    people: People, base_url: str, core: Core, workspace_id: int, smtp_inbox: SmtpInbox
) -> None:
    known = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="email", sender="priya@example.com",
        body="Where is my order?", provider_message_id="<o1@example.com>"))
    customer = Customer(await people("customer"), base_url)
    await customer.start("Priya", "Sales", "Hi, about my order", email="priya@example.com")
    verify = customer.widget.locator(".verify")
    await expect(verify).to_contain_text("enter the code we emailed to priya@example.com")
    mail = await eventually(lambda: _first(smtp_inbox))
    code = re.search(r"code is (\d{6})", mail.get_body().get_content())
    assert code is not None
    await verify.locator("input").fill("000000" if code.group(1) != "000000" else "111111")
    await verify.get_by_role("button", name="Verify").click()
    await expect(verify).to_contain_text("that is not the code we sent")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await customer.page.screenshot(path=str(SCREENSHOTS / "chat-verify-email.png"))
    await verify.locator("input").fill(code.group(1))
    await verify.get_by_role("button", name="Verify").click()
    await expect(verify).to_be_hidden()
    await expect(customer.message("Hi, about my order")).to_be_visible()
    await customer.say("thanks")
    await expect(customer.message("thanks")).to_be_visible()
    linked = await eventually(lambda: core.pool.fetchval(
        """SELECT count(*) FROM interactions WHERE customer_id = $1 AND channel = 'chat'""",
        known.customer_id))
    assert linked == 1


async def _first(inbox: SmtpInbox) -> object:
    return inbox.received[0] if inbox.received else None
