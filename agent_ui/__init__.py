"""The agent console and the supervisor view: pages, their sockets, their static files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


def page(filename: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    """A handler serving one of the static pages; never cached, so a new release shows at
    the next load."""
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / filename, headers={"Cache-Control": "no-cache"})
    return handler
