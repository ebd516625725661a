"""Sends agents' SMS replies through Twilio's Messages API (the real `twilio` library, async).

Every node runs one. Replies wait in PostgreSQL as 'queued'; each is claimed by one node, sent,
and then followed by Twilio's delivery reports. 429 and 5xx (and an unreachable Twilio) are
retried with exponential backoff; other refusals fail the message with Twilio's error code,
which the agent sees in the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from contactcenter.actions import sms
from contactcenter.core import Core
from contactcenter.settings import Settings
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


def backoff(attempt: int) -> float:
    return float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))


def twilio_client(settings: Settings) -> Client:
    """The REST client; made inside the running loop (the async HTTP client needs one)."""
    env = settings.env
    client = Client(env.twilio_account_sid, env.twilio_auth_token,
                    http_client=AsyncTwilioHttpClient(timeout=10))
    if env.twilio_api_url:
        client.api.base_url = env.twilio_api_url
    return client


class SmsSender:
    def __init__(self, core: Core, workspace_id: int, client: Client,
                 status_callback: str | None) -> None:
        self.core = core
        self.ws = workspace_id
        self.client = client
        self.status_callback = status_callback
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                for message in await sms.claim_outgoing(self.core, self.ws):
                    await self._send(message)
            except Exception:
                log.exception("sending SMS failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), POLL_SECONDS)

    async def _send(self, message: dict[str, Any]) -> None:
        if not message["our_address"] or not message["their_address"]:
            await sms.not_sent(self.core, self.ws, message, "no number to send from or to", None)
            return
        extra: dict[str, Any] = {}
        if self.status_callback:
            extra["status_callback"] = self.status_callback
        try:
            created = await self.client.messages.create_async(
                to=message["their_address"], from_=message["our_address"], body=message["body"],
                **extra)
        except TwilioRestException as exc:
            retry = exc.status == 429 or exc.status >= 500
            error = f"{exc.code or exc.status}: {exc.msg}"[:300]
            log.warning("Twilio refused SMS %d (%s)%s", message["id"], error,
                        "; retrying" if retry else "")
            await sms.not_sent(self.core, self.ws, message, error,
                               backoff(message["send_attempts"]) if retry else None)
            return
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await sms.not_sent(self.core, self.ws, message, f"Twilio unreachable: {exc}"[:300],
                               backoff(message["send_attempts"]))
            return
        await sms.sent(self.core, self.ws, message, created.sid)


async def sender_context(app: web.Application) -> AsyncIterator[None]:
    """Runs the sender while the app runs, when SMS is enabled."""
    settings = app[SETTINGS]
    core = app[CORE]
    if not core.config.channels.sms.enabled:
        yield
        return
    client = twilio_client(settings)
    public = settings.env.public_url
    sender = SmsSender(core, app[WORKSPACE_ID], client,
                       f"{public}/channels/twilio/sms/status" if public else None)
    task = asyncio.create_task(sender.run(), name="sms-sender")
    yield
    sender.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(task, timeout=5)
    await client.http_client.close()
