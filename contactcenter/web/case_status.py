"""The page a customer opens from the link we send them to follow their case: no login, an
unguessable token in the URL, and only what they may see (subject, status, dates)."""

from __future__ import annotations

import html

from aiohttp import web

from contactcenter.web.keys import CORE

_SAID = {"new": "Received: we will get back to you soon.",
         "open": "We are working on it.",
         "pending": "We are waiting for your answer: reply to our last message to continue.",
         "resolved": "Resolved. If anything is still wrong, just reply and we will reopen it.",
         "closed": "Closed."}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Case #{id} · {workspace}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; background: #f5f7fa; color: #1f2933; margin: 0; }}
main {{ max-width: 34rem; margin: 3rem auto; background: #fff; border: 1px solid #e4e7eb;
        border-radius: 12px; padding: 1.5rem 2rem; }}
h1 {{ font-size: 1.2rem; margin: 0 0 .2rem; }} .muted {{ color: #616e7c; font-size: .9rem; }}
.status {{ display: inline-block; margin: 1rem 0 .5rem; padding: .2rem .7rem; border-radius: 999px;
           background: #e0e7ff; color: #1e3a8a; font-weight: 600; text-transform: capitalize; }}
.status.resolved, .status.closed {{ background: #dcfce7; color: #14532d; }}
.status.pending {{ background: #fef3c7; color: #78350f; }}
dl {{ display: grid; grid-template-columns: auto 1fr; gap: .3rem 1rem; font-size: .9rem; }}
dt {{ color: #616e7c; }} dd {{ margin: 0; }}
</style></head>
<body><main>
<p class="muted">{workspace}</p>
<h1>Case #{id}: {subject}</h1>
<span class="status {status}">{status}</span>
<p>{said}</p>
<dl><dt>Opened</dt><dd>{opened}</dd><dt>Last change</dt><dd>{changed}</dd>
<dt>Conversations</dt><dd>{conversations}</dd></dl>
</main></body></html>"""


async def case_status(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    core = request.app[CORE]
    row = None
    if 20 <= len(token) <= 64:
        row = await core.pool.fetchrow(
            """SELECT c.id, c.subject, c.status, c.opened_at, c.status_changed_at,
                      (SELECT count(*) FROM interactions i WHERE i.case_id = c.id) AS conversations
               FROM cases c WHERE c.public_token = $1""", token)
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
               "X-Robots-Tag": "noindex", "X-Content-Type-Options": "nosniff"}
    if row is None:
        return web.Response(status=404, text="No case is found at this address. Check the link "
                            "in the message we sent you.", headers=headers)
    page = _PAGE.format(
        id=row["id"], workspace=html.escape(core.config.workspace.name),
        subject=html.escape(row["subject"]), status=row["status"], said=_SAID[row["status"]],
        opened=f"{row['opened_at']:%d %b %Y, %H:%M} UTC",
        changed=f"{row['status_changed_at']:%d %b %Y, %H:%M} UTC",
        conversations=row["conversations"])
    return web.Response(text=page, content_type="text/html", headers=headers)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/status/{token}", case_status)
