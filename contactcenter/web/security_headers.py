"""Headers every answer carries, so a browser holds our pages to what they are.

- Content-Security-Policy: scripts, styles, fonts and connections only from this server (the
  pages have no inline script), no plugins; images also from anywhere (an email's pictures,
  once the agent asks: the email's own frame keeps them off until then), sounds also from
  https (hold music in the sandbox); `frame-ancestors 'none'` and X-Frame-Options: no other site
  may frame a console to trick an agent into clicks.
- Referrer-Policy: a console URL names customers and cases; other sites are not told it.
- X-Content-Type-Options: a file is what its content type says, never sniffed into a script.

The chat widget runs inside other sites' pages: their policy applies to it there, not ours.
"""

from __future__ import annotations

import re

from aiohttp import web

_STATIC = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


_HOST = re.compile(r"^[A-Za-z0-9.\[\]:-]{1,300}$")


def policy(host: str) -> str:
    """The policy for a page served under `host` (its sockets are on the same host; a Host
    header that is not a plain host name adds nothing to the policy)."""
    sockets = f" ws://{host} wss://{host}" if _HOST.match(host) else ""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        # Style attributes set by the pages' own scripts and a few in the sandbox's markup.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https: http:",
        "media-src 'self' https:",
        f"connect-src 'self'{sockets}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _STATIC.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", policy(request.host))


def install(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
