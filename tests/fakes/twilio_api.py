"""A fake of Twilio's REST API on loopback, for the real `twilio` library to call.

Same paths, form fields, Basic auth, JSON bodies and status codes as Twilio's Messages API.
Every request is recorded for the test to assert on; `fail_next` makes the next requests fail
the way Twilio does (429 Too Many Requests, 500...) with Twilio's JSON error body.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    account_sid: str


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    requests: list[Recorded] = field(default_factory=list)
    failures: list[tuple[int, int, str]] = field(default_factory=list)

    def fail_next(self, status: int, code: int, message: str, times: int = 1) -> None:
        self.failures.extend([(status, code, message)] * times)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create_message)
        return app

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message,
                                  "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                  "status": status}, status=status)

    async def _create_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401, 20003, "Authenticate")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        account = request.match_info["account"]
        self.requests.append(Recorded(request.method, request.path, form, account))
        if account != self.account_sid:
            return self._error(404, 20404, "The requested resource was not found")
        if self.failures:
            return self._error(*self.failures.pop(0))
        if "To" not in form or not ("Body" in form or "MediaUrl" in form):
            return self._error(400, 21602, "Message body is required.")
        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        body: dict[str, Any] = {
            "sid": sid, "account_sid": account, "to": form["To"], "from": form.get("From"),
            "body": form.get("Body", ""), "status": "queued", "direction": "outbound-api",
            "num_segments": "1", "num_media": "0", "price": None, "price_unit": "USD",
            "error_code": None, "error_message": None, "messaging_service_sid": None,
            "date_created": now, "date_updated": now, "date_sent": None, "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
        }
        return web.json_response(body, status=201)
