"""A customer in the chat widget and agents at the console, each in a real Chromium."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSCloseCode, web
from playwright.async_api import expect

from contactcenter.core import Core
from contactcenter.web.keys import SOCKETS
from tests.browser.conftest import People
from tests.browser.pages import Agent, Customer
from tests.live import eventually

pytestmark = pytest.mark.browser


async def _two_agents_one_chat(
    people: People, base_url: str, agents: dict[str, str], text: str
) -> tuple[Agent, Agent]:
    """Ana and Ben available, then one customer's chat: (the agent offered it, the other).
    Fails unless exactly one of them has the offer."""
    ana = Agent(await people("ana"), base_url)
    ben = Agent(await people("ben"), base_url)
    await ana.log_in(agents["ana"])
    await ben.log_in(agents["ben"])
    await Customer(await people("customer"), base_url).start("Lee", "Sales", text)

    async def counts() -> tuple[int, int] | None:
        seen = (await ana.offers.count(), await ben.offers.count())
        return seen if sum(seen) else None
    seen = await eventually(counts)
    assert sorted(seen) == [0, 1], seen
    return (ana, ben) if seen[0] else (ben, ana)


async def test_a_chat_from_first_message_to_wrap_up(
    people: People, base_url: str, agents: dict[str, str], core: Core
) -> None:
    customer = Customer(await people("customer"), base_url)
    await customer.start("Priya Natarajan", "Sales", "Do you have the trail tent in green?")
    await expect(customer.status).to_contain_text("You are number 1 in line")

    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    offer = ana.offers.first
    await expect(offer).to_contain_text("Priya Natarajan")
    await expect(offer).to_contain_text("Sales")
    await expect(offer.locator(".countdown")).to_contain_text("Answer within")
    await ana.accept()
    await expect(ana.message("Do you have the trail tent in green?")).to_be_visible()
    await expect(ana.page.locator("#customer")).to_contain_text("Priya Natarajan")
    await expect(customer.status).to_contain_text("You are chatting with Ana Alvarez")

    await ana.reply("Yes, in green and in grey!")
    await expect(customer.message("Yes, in green and in grey!")).to_be_visible()
    await customer.say("Green please. How much is it?")
    await expect(ana.message("Green please. How much is it?")).to_be_visible()
    # The customer panel's timeline follows the conversation live.
    await expect(ana.page.locator("#customer .timeline")).to_contain_text("Green please")
    # The agent has the conversation open, so the customer's messages are marked read.
    await expect(customer.widget.locator(".mark.read").last).to_be_visible()

    await ana.page.get_by_role("button", name="End conversation").click()
    ending = ana.page.locator("#end-dialog")
    await expect(ending).to_contain_text("End the conversation with Priya Natarajan?")
    await ending.get_by_role("button", name="Keep it open").click()  # asked first: nothing ends
    await expect(ending).to_be_hidden()
    await expect(customer.status).to_contain_text("You are chatting with Ana Alvarez")
    await ana.page.get_by_role("button", name="End conversation").click()
    await ending.get_by_role("button", name="End it").click()
    await expect(customer.widget.locator(".ended")).to_contain_text("This conversation has ended")
    wrapup = ana.page.locator("#wrapup")
    await expect(wrapup).to_be_visible()
    await wrapup.get_by_label("Disposition").select_option("sales_interest")
    await wrapup.get_by_label("Notes").fill("wants the green tent")
    await wrapup.get_by_role("button", name="Done").click()
    await expect(ana.page.locator("#placeholder")).to_be_visible()

    row = await core.pool.fetchrow(
        "SELECT state, disposition, wrapup_notes FROM interactions WHERE channel = 'chat'")
    assert tuple(row) in {("closed", "sales_interest", "wants the green tent"),
                          ("wrapup", "sales_interest", "wants the green tent")}


async def test_a_dropped_connection_and_a_reload_lose_nothing_and_repeat_nothing(
    people: People, base_url: str, agents: dict[str, str], app: web.Application
) -> None:
    customer = Customer(await people("customer"), base_url)
    await customer.start("Kim", "Sales", "Hello?")
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await ana.accept()
    await expect(customer.status).to_contain_text("Ana Alvarez")

    # The customer's network drops; meanwhile both sides write.
    for ws, kind in list(app[SOCKETS].items()):
        if kind == "chat":
            await ws.close(code=WSCloseCode.GOING_AWAY)
    await ana.reply("Sorry for the wait, Kim.")
    await customer.say("Are you still there?")
    await expect(customer.message("Sorry for the wait, Kim.")).to_have_count(1)
    await expect(ana.message("Are you still there?")).to_have_count(1)

    # A reload on either side shows the same conversation, each message once.
    await customer.page.reload()
    await customer.widget.locator(".panel").wait_for()
    await expect(customer.message("Sorry for the wait, Kim.")).to_have_count(1)
    await expect(customer.message("Are you still there?")).to_have_count(1)
    await expect(customer.message("Hello?")).to_have_count(1)
    await ana.page.reload()
    await expect(ana.message("Are you still there?")).to_have_count(1)
    await expect(ana.message("Sorry for the wait, Kim.")).to_have_count(1)
    await customer.say("Good, thanks")
    await expect(ana.message("Good, thanks")).to_have_count(1)


async def test_two_agents_and_one_chat_exactly_one_gets_it(
    people: People, base_url: str, agents: dict[str, str], core: Core
) -> None:
    winner, other = await _two_agents_one_chat(people, base_url, agents, "Just one of you, please")
    await winner.accept()
    await asyncio.sleep(1)
    await expect(other.offers).to_have_count(0)
    await expect(other.page.locator(".conv")).to_have_count(0)
    offered = await core.pool.fetchval("SELECT count(*) FROM routing_decisions WHERE kind = 'Offered'")
    assert offered == 1


async def test_markup_from_a_customer_is_shown_as_text(
    people: People, base_url: str, agents: dict[str, str]
) -> None:
    customer = Customer(await people("customer"), base_url)
    script = "<script>window.__pwned = 1</script>"
    image = '<img src=x onerror="window.__pwned = 2">'
    await customer.start("Mallory", "Sales", script)
    await customer.say(image)
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await ana.accept()
    await expect(ana.message(script)).to_have_text(script)
    await expect(ana.message(image)).to_have_text(image)
    await ana.reply("<b>not bold</b>")
    await expect(customer.message("<b>not bold</b>")).to_have_text("<b>not bold</b>")
    for page in (ana.page, customer.page):
        assert await page.evaluate("window.__pwned") is None
    assert await ana.page.locator("#messages img").count() == 0
    assert await customer.widget.locator(".log img, .log b").count() == 0


async def test_a_rejected_offer_goes_to_the_next_agent(
    people: People, base_url: str, agents: dict[str, str]
) -> None:
    first, second = await _two_agents_one_chat(people, base_url, agents, "Anyone?")
    await first.page.keyboard.press("r")  # the console's key for Reject
    await expect(second.offers).to_have_count(1)
    await expect(first.offers).to_have_count(0)
    await second.page.keyboard.press("a")
    await expect(second.message("Anyone?")).to_be_visible()


async def test_after_a_wrap_up_the_next_conversation_opens_on_reply(
    people: People, base_url: str, agents: dict[str, str]
) -> None:
    """A new user's reply once became an internal note: the composer kept the note mode of the
    conversation wrapped up before. Each conversation now opens on Reply when it can take one,
    and a note looks and says it is one."""
    first = Customer(await people("first"), base_url)
    await first.start("Ada", "Sales", "First question")
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await ana.accept()
    await ana.page.get_by_role("button", name="End conversation").click()
    await ana.page.locator("#end-dialog").get_by_role("button", name="End it").click()
    wrapup = ana.page.locator("#wrapup")
    await expect(wrapup).to_be_visible()
    send = ana.page.locator("#send-btn")
    await expect(send).to_have_text("Add note")  # it takes no reply: a note, and it says so
    await expect(ana.page.locator("#reply-hint")).to_have_text("Only your team sees internal notes.")
    await wrapup.get_by_label("Disposition").select_option("sales_interest")
    await wrapup.get_by_role("button", name="Done").click()

    second = Customer(await people("second"), base_url)
    await second.start("Bea", "Sales", "Second question")
    await expect(ana.offers.first).to_contain_text("Bea")
    await ana.accept()
    await expect(send).to_have_text("Send reply")
    await ana.reply("Here is your answer")
    await expect(second.message("Here is your answer")).to_be_visible()


async def test_a_customer_who_ends_the_chat_sees_it_ended_and_the_agent_is_told(
    people: People, base_url: str, agents: dict[str, str]
) -> None:
    customer = Customer(await people("customer"), base_url)
    await customer.start("Cal", "Sales", "Just one question")
    ana = Agent(await people("ana"), base_url)
    await ana.log_in(agents["ana"])
    await ana.accept()
    await expect(customer.status).to_contain_text("You are chatting with Ana Alvarez")
    customer.page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await customer.widget.get_by_role("button", name="End chat").click()
    await expect(customer.widget.locator(".ended")).to_contain_text("This conversation has ended")
    await expect(customer.status).to_have_text("Conversation ended")
    await expect(customer.widget.locator(".compose")).to_be_hidden()
    await expect(ana.page.locator("#reply-hint")).to_have_text(
        "The customer has left: a reply may not be read.")
    # After a reload too: the chat the customer ended stays ended for them.
    await customer.page.reload()  # the widget opens as it was left
    await expect(customer.widget.locator(".ended")).to_be_visible()
    await expect(customer.status).to_have_text("Conversation ended")
