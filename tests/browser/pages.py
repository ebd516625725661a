"""The two people of a browser test, as page objects: a customer on a company's site with the
chat widget, and an agent at the console. Locators pierce the widget's open shadow root."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

from tests.conftest import PASSWORD


class Customer:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.widget = page.locator("#cc-chat-widget")

    async def open_site(self) -> None:
        await self.page.goto(self.base_url + "/chat/demo")
        await self.widget.locator(".launcher").click()

    async def start(self, name: str, topic: str, first_message: str, email: str = "") -> None:
        await self.open_site()
        await self.widget.locator("input[name=name]").fill(name)
        if email:
            await self.widget.locator("input[name=email]").fill(email)
        await self.widget.locator("select[name=topic]").select_option(topic)
        await self.widget.locator("textarea[name=first]").fill(first_message)
        await self.widget.get_by_role("button", name="Start chat").click()
        await expect(self.message(first_message)).to_be_visible()

    async def say(self, text: str) -> None:
        box = self.widget.locator(".compose textarea")
        await box.fill(text)
        await box.press("Enter")

    def message(self, text: str) -> Locator:
        return self.widget.locator(".msg .body", has_text=text)

    @property
    def status(self) -> Locator:
        return self.widget.locator(".sub")


class Agent:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    async def log_in(self, email: str, available: bool = True) -> None:
        await self.page.goto(self.base_url + "/console")
        await self.page.get_by_label("Email").fill(email)
        await self.page.get_by_label("Password").fill(PASSWORD)
        await self.page.get_by_role("button", name="Sign in").click()
        await expect(self.page.locator("#me-name")).not_to_be_empty()
        if available:
            await self.page.locator("#presence").select_option("available|")
            await expect(self.page.locator("#presence-dot.available")).to_be_visible()

    @property
    def offers(self) -> Locator:
        return self.page.locator(".offer")

    async def accept(self) -> None:
        await self.offers.first.get_by_role("button", name="Accept").click()
        await expect(self.page.locator("#conversation")).to_be_visible()

    async def reply(self, text: str) -> None:
        await self.page.locator("#reply").fill(text)
        await self.page.locator("#reply").press("Enter")

    def message(self, text: str) -> Locator:
        return self.page.locator("#messages .bubble", has_text=text)
