"""The landing page at /: what this server offers and where to go; and the static files."""

from __future__ import annotations

from aiohttp import web

from agent_ui import STATIC, page


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", page("index.html"))
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static("/static/", STATIC, name="static")


async def favicon(request: web.Request) -> web.FileResponse:
    """Browsers ask for /favicon.ico on every page; an SVG answers them all (a 404 per page
    view is noise in every log)."""
    return web.FileResponse(STATIC / "favicon.svg", headers={
        "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400"})
