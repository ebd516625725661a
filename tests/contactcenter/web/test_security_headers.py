"""Every page and answer carries the headers that keep a browser strict with it."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from contactcenter.web.security_headers import policy


def _pages(app: web.Application) -> list[str]:
    """Every GET path without a parameter: the pages, the assets, the documents."""
    paths = {r.resource.canonical for r in app.router.routes()
             if r.method == "GET" and r.resource is not None and "{" not in r.resource.canonical}
    return sorted(p for p in paths if not p.endswith("/ws"))


async def test_every_page_forbids_framing_and_foreign_scripts(client: TestClient[Any, Any]) -> None:
    pages = _pages(client.app)
    assert {"/", "/console", "/supervisor", "/chat/demo", "/healthz"} <= set(pages)
    for path in pages:
        resp = await client.get(path)
        csp = resp.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp, path
        assert resp.headers.get("X-Frame-Options") == "DENY", path
        assert resp.headers.get("Referrer-Policy") == "same-origin", path
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", path


def test_a_strange_host_header_adds_nothing_to_the_policy() -> None:
    assert "wss://cc.example.com:8443" in policy("cc.example.com:8443")
    assert "*" not in policy("x; script-src *")
    assert policy("x; script-src *").count("script-src") == 1
