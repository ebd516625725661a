"""The landing page at /: what this server offers and where to go; and the static files."""

from __future__ import annotations

from aiohttp import web

from agent_ui import STATIC, page


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", page("index.html"))
    app.router.add_static("/static/", STATIC, name="static")
