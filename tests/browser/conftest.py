"""Browser tests: Debian's Chromium driven by Playwright against the real server on loopback.

Each test gets the whole application (PostgreSQL, Redis, the routing leader) serving on a free
port, a fresh browser, and a `people` factory for separate browser contexts (a customer, an
agent...): separate contexts share no cookies or storage, like separate people. When a test
fails, every page it opened is saved as a screenshot under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright

from contactcenter.actions import add_user
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

AiohttpServer = Callable[[web.Application], Awaitable[TestServer]]
People = Callable[[str], Awaitable[Page]]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
async def base_url(aiohttp_server: AiohttpServer, app: web.Application) -> str:
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def people(browser: Browser, base_url: str,
                 request: pytest.FixtureRequest) -> AsyncIterator[People]:
    """Depends on base_url so that its pages are photographed before the server stops."""
    pages: dict[str, Page] = {}

    async def person(name: str) -> Page:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda m: print(f"[{name} console] {m.text}"))
        page.on("pageerror", lambda e: print(f"[{name} page error] {e}"))
        pages[name] = page
        return page

    yield person
    if request.node.stash.get(_FAILED, False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        test = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
        for name, page in pages.items():
            path = SCREENSHOTS / f"{test}-{name}.png"
            try:
                await page.screenshot(path=str(path), full_page=True)
                print(f"screenshot of {name}'s page: {path}")
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"no screenshot of {name}'s page: {exc}")
    for page in pages.values():
        await page.context.close()


@pytest.fixture
async def agents(core: Core, workspace_id: int) -> dict[str, str]:
    """Two sales agents; name -> email."""
    people = {"ana": ("Ana Alvarez", {"sales": 7}), "ben": ("Ben Brooks", {"sales": 5})}
    for key, (name, skills) in people.items():
        await add_user(core, workspace_id, NewUser(f"{key}@example.com", name, "agent", PASSWORD,
                                                   skills))
    return {key: f"{key}@example.com" for key in people}
