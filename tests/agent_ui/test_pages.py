"""What every page needs from the server beside itself."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient


async def test_the_favicon_browsers_ask_for_exists(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/favicon.ico")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/svg+xml"
    assert (await resp.read()).startswith(b"<svg")
