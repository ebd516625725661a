"""Works on the SMS webhooks the handler kept (contactcenter.actions.inbox): each becomes part
of its customer's conversation, and the customer gets their automatic answer (their place in
line, or a closed queue's reply), sent by the SMS sender like any reply.

Every node runs one; the handler wakes its own node's at once. The message keeps the time the
webhook arrived, however long it waited here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from channels.twilio_sms import parse
from contactcenter.actions import inbox, outbox, receive_inbound
from contactcenter.core import Core
from contactcenter.models import InboundMessage, InboundResult
from contactcenter.polling import PollingWorker, running
from contactcenter.settings import SmsConfig
from contactcenter.web.keys import CORE, WORKSPACE_ID
from routing.config import closed_behaviour

SOURCE = "twilio_sms"
BATCH = 200
# Customers worked on at once: each holds a database connection (the pool has 10).
CONCURRENCY = 4


class SmsIntake(PollingWorker):
    poll_seconds = 1.0

    def __init__(self, core: Core, workspace_id: int) -> None:
        super().__init__()
        self.core = core
        self.ws = workspace_id

    async def step(self) -> bool:
        async with inbox.claim(self.core, self.ws, SOURCE, BATCH) as batch:
            # One customer's messages in arrival order; different customers side by side, so
            # the intake keeps up with the webhooks instead of waiting on one round trip at a time.
            by_sender: dict[str, list[inbox.Kept]] = {}
            for item in batch.items:
                by_sender.setdefault(str(item.payload.get("From", "")), []).append(item)
            lanes = asyncio.Semaphore(CONCURRENCY)

            async def in_order(items: list[inbox.Kept]) -> None:
                async with lanes:
                    for item in items:
                        await batch.attempt(item, self._take(item))

            await asyncio.gather(*(in_order(items) for items in by_sender.values()))
        # Only failures: try them again at the next poll, not in a tight loop.
        return bool(batch.done)

    async def _take(self, item: inbox.Kept) -> None:
        config = self.core.config.channels.sms
        received = parse.parse_inbound(item.payload)
        queue = parse.queue_hint(received, config)
        result = await receive_inbound(self.core, InboundMessage(
            workspace_id=self.ws, channel="sms", sender=received.sender, body=received.body,
            provider_message_id=received.message_sid, queue=queue, our_address=received.to,
            attachments=received.media, raw=item.payload, received_at=item.received_at),
            queue_reply_every=config.queue_reply_every_seconds if config.queue_reply else None)
        reply = self._automatic_answer(config, queue, result, item.received_at.timestamp())
        if reply:
            await outbox.queue_automatic_reply(self.core, self.ws, result.interaction_id, "sms",
                                               reply)

    def _automatic_answer(self, config: SmsConfig, queue: str | None, result: InboundResult,
                          at: float) -> str | None:
        """What the customer is told at once: a closed queue's reply when their conversation
        opens while it is closed, else their place in line when it is due."""
        if result.duplicate:
            return None
        closed = closed_behaviour(self.core.config, queue or self.core.config.default_queue("sms"),
                                  "sms", at)
        if closed == "auto_reply" and result.new_interaction:
            return config.closed_reply or None
        if result.place is None:
            return None
        return parse.queue_reply(config.queue_reply, result.place["position"],
                                 result.place["estimated_wait_seconds"])


SMS_INTAKE = web.AppKey("sms_intake", SmsIntake)


async def intake_context(app: web.Application) -> AsyncIterator[None]:
    """Runs the node's SMS intake while the app runs, when SMS is enabled."""
    core = app[CORE]
    if not core.config.channels.sms.enabled:
        yield
        return
    worker = SmsIntake(core, app[WORKSPACE_ID])
    app[SMS_INTAKE] = worker
    async with running(worker):
        yield
