"""Sends agents' SMS replies through Twilio's Messages API (the real `twilio` library, async).

Every node runs one. Replies wait in PostgreSQL as 'queued'; each is claimed by one node, sent,
and then followed by Twilio's delivery reports. 429 and 5xx (and an unreachable Twilio) are
retried with exponential backoff; other refusals fail the message with Twilio's error code,
which the agent sees in the console.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException

from channels.twilio_rest import Worker, worker_context
from contactcenter.actions import outbox, sms

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


class SmsSender(Worker):
    async def claim(self) -> list[dict[str, Any]]:
        return await sms.claim_outgoing(self.core, self.ws)

    async def handle(self, message: dict[str, Any]) -> None:
        if not message["our_address"] or not message["their_address"]:
            await outbox.not_sent(self.core, self.ws, message, "no number to send from or to", None)
            return
        extra: dict[str, Any] = {}
        if self.status_callback:
            extra["status_callback"] = self.status_callback
        later = outbox.backoff(message["send_attempts"], BACKOFF_BASE_SECONDS,
                               BACKOFF_CAP_SECONDS)  # if this attempt must be retried
        try:
            created = await self.client.messages.create_async(
                to=message["their_address"], from_=message["our_address"], body=message["body"],
                **extra)
        except TwilioRestException as exc:
            retry = exc.status == 429 or exc.status >= 500
            error = f"{exc.code or exc.status}: {exc.msg}"[:300]
            log.warning("Twilio refused SMS %d (%s)%s", message["id"], error,
                        "; retrying" if retry else "")
            await outbox.not_sent(self.core, self.ws, message, error,
                               later if retry else None)
            return
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await outbox.not_sent(self.core, self.ws, message, f"Twilio unreachable: {exc}"[:300],
                               later)
            return
        await sms.sent(self.core, self.ws, message, created.sid)


sender_context = worker_context(SmsSender, lambda config: config.channels.sms.enabled,
                                "/channels/twilio/sms/status")
