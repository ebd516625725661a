"""A stand-in for Twilio's REST API, for the real `twilio` library to call: the demo's sandbox
serves it (so replies and bridged calls show up on the sandbox page instead of a phone), and
the tests run it on loopback.

Same paths, form fields, Basic auth, JSON bodies and status codes as Twilio's Messages and
Calls APIs. Every request is recorded; `fail_next` makes the next requests fail the way Twilio
does (429 Too Many Requests, 500...) with Twilio's JSON error body. With `report_delivery`
(the demo's sandbox), a message sent with a StatusCallback is reported "sent", then "delivered",
to that URL, signed as Twilio signs its webhooks: replies do not stay "Sending".
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

MAX_RECORDED = 1000


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    account_sid: str


@dataclass
class TwilioStandIn:
    account_sid: str
    auth_token: str
    report_delivery: bool = False
    requests: list[Recorded] = field(default_factory=list)
    failures: list[tuple[int, int, str]] = field(default_factory=list)
    _reports: set[asyncio.Task[None]] = field(default_factory=set)

    def fail_next(self, status: int, code: int, message: str, times: int = 1) -> None:
        self.failures.extend([(status, code, message)] * times)

    def app(self) -> web.Application:
        app = web.Application()
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application, prefix: str = "") -> None:
        base = f"{prefix}/2010-04-01/Accounts/{{account}}"
        app.router.add_post(f"{base}/Messages.json", self._create_message)
        app.router.add_post(f"{base}/Calls.json", self._create_call)
        app.router.add_post(f"{base}/Calls/{{call}}.json", self._update_call)

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message,
                                  "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                  "status": status}, status=status)

    async def _accept(self, request: web.Request) -> tuple[dict[str, str], web.Response | None]:
        """Record the request; the error Twilio would answer instead, if any."""
        if not self._authorized(request):
            return {}, self._error(401, 20003, "Authenticate")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        account = request.match_info["account"]
        self.requests.append(Recorded(request.method, request.path, form, account))
        del self.requests[:-MAX_RECORDED]
        if account != self.account_sid:
            return form, self._error(404, 20404, "The requested resource was not found")
        if self.failures:
            return form, self._error(*self.failures.pop(0))
        return form, None

    def calls_to(self, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(suffix)]


    async def _create_message(self, request: web.Request) -> web.Response:
        form, refused = await self._accept(request)
        if refused is not None:
            return refused
        account = request.match_info["account"]
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
        if self.report_delivery and form.get("StatusCallback"):
            report = asyncio.get_running_loop().create_task(self._report(
                form["StatusCallback"], {"MessageSid": sid, "SmsSid": sid, "AccountSid": account,
                                         "From": form.get("From", ""), "To": form["To"],
                                         "ApiVersion": "2010-04-01"}))
            self._reports.add(report)
            report.add_done_callback(self._reports.discard)
        return web.json_response(body, status=201)

    async def _report(self, url: str, fields: dict[str, str]) -> None:
        """As the carrier answers: sent at once, delivered a moment later."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            for status, delay in (("sent", 0.3), ("delivered", 0.7)):
                await asyncio.sleep(delay)
                params = {**fields, "MessageStatus": status, "SmsStatus": status}
                signature = RequestValidator(self.auth_token).compute_signature(url, params)
                try:
                    async with http.post(url, data=params,
                                         headers={"X-Twilio-Signature": signature}) as resp:
                        await resp.read()
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    log.warning("sandbox: delivery report to %s failed: %s", url, exc)
                    return

    @staticmethod
    def _call(account: str, sid: str, form: dict[str, str], status: str) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return {"sid": sid, "account_sid": account, "to": form.get("To"), "from": form.get("From"),
                "status": status, "direction": "outbound-api", "api_version": "2010-04-01",
                "date_created": now, "date_updated": now, "start_time": None, "end_time": None,
                "duration": None, "price": None, "parent_call_sid": None,
                "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json"}

    async def _create_call(self, request: web.Request) -> web.Response:
        form, refused = await self._accept(request)
        if refused is not None:
            return refused
        if "To" not in form or "From" not in form or not ("Url" in form or "Twiml" in form):
            return self._error(400, 21205, "Url or Twiml parameter is required.")
        account = request.match_info["account"]
        return web.json_response(self._call(account, "CA" + secrets.token_hex(16), form, "queued"),
                                 status=201)

    async def _update_call(self, request: web.Request) -> web.Response:
        form, refused = await self._accept(request)
        if refused is not None:
            return refused
        account, sid = request.match_info["account"], request.match_info["call"]
        return web.json_response(self._call(account, sid, form, "in-progress"))
