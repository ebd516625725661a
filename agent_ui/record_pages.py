"""The CRM pages (customers, cases, leads): one frame (head, sign-in, the navigation every page
shares) around each page's own part, put together once when the server starts."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from agent_ui import STATIC

NAVIGATION = (("/console", "Console"), ("/customers", "Customers"), ("/cases", "Cases"),
              ("/leads", "Leads"), ("/pipeline", "Pipeline"), ("/supervisor", "Supervisor"))


@dataclass(frozen=True)
class RecordPage:
    path: str  # as routed (a record's id in it)
    part: str  # its own HTML, in static/records/
    title: str
    section: str  # the navigation entry it belongs to
    scripts: tuple[str, ...]
    styles: tuple[str, ...] = ()


PAGES = (
    RecordPage("/customers", "customers.html", "Customers", "/customers", ("customers.js",)),
    RecordPage("/customers/{customer_id:[0-9]+}", "customer.html", "Customer", "/customers",
               ("timeline.js", "customer.js"), ("console.css",)),
    RecordPage("/cases", "cases.html", "Cases", "/cases", ("cases.js",)),
    RecordPage("/cases/{case_id:[0-9]+}", "case.html", "Case", "/cases", ("case.js",)),
    RecordPage("/leads", "leads.html", "Leads", "/leads", ("leads.js",)),
)


def render(page: RecordPage) -> str:
    current = ' aria-current="page"'
    nav = "".join(f'<a href="{href}"{current if href == page.section else ""}>{label}</a>'
                  for href, label in NAVIGATION)
    filled = {
        "{title}": page.title,
        "{styles}": "".join(f'<link rel="stylesheet" href="/static/{s}">\n' for s in page.styles),
        "{nav}": nav,
        "{main}": (STATIC / "records" / page.part).read_text(),
        "{scripts}": "".join(f'<script src="/static/{s}"></script>\n' for s in page.scripts),
    }
    html = (STATIC / "records" / "frame.html").read_text()
    for mark, text in filled.items():
        html = html.replace(mark, text)
    return html


def add_routes(app: web.Application) -> None:
    for page in PAGES:
        html = render(page)

        async def serve(request: web.Request, html: str = html) -> web.Response:
            return web.Response(text=html, content_type="text/html",
                                headers={"Cache-Control": "no-cache"})
        app.router.add_get(page.path, serve)
