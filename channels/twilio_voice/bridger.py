"""Connects a waiting caller to the agent who accepted them, through Twilio's REST API.

Conference-based, so that transfers and a supervisor listening in can join the same room
later: the caller's live call is moved into the interaction's conference, and the agent is
dialled (their Twilio Client identity, or their phone number when they have one) into it.
Every node runs one; each caller is claimed in PostgreSQL by one node. Outbound calls respect
Twilio's calls-per-second limit for the account.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from channels.twilio_rest import Worker, worker_context
from channels.twilio_voice import twiml
from contactcenter.actions import calls
from contactcenter.core import Core

log = logging.getLogger(__name__)

CALLS_PER_SECOND = 1.0


class Bridger(Worker):
    poll_seconds = 0.3

    def __init__(self, core: Core, workspace_id: int, client: Client,
                 status_callback: str | None) -> None:
        super().__init__(core, workspace_id, client, status_callback)
        self._last_call = 0.0

    async def claim(self) -> list[dict[str, Any]]:
        return await calls.claim_bridges(self.core, self.ws)

    async def handle(self, bridge: dict[str, Any]) -> None:
        room = twiml.conference_name(bridge["interaction_id"])
        agent = bridge["agent_phone"] or f"client:{bridge['agent_client']}"
        extra: dict[str, Any] = {}
        if self.status_callback:
            extra = {"status_callback": self.status_callback,
                     "status_callback_event": ["initiated", "ringing", "answered", "completed"]}
        callback_sid = None
        try:
            if bridge["callback"]:  # the caller hung up to be called back: call them now
                await self._pace()
                placed = await self.client.calls.create_async(
                    to=bridge["from_number"], from_=bridge["to_number"],
                    twiml=twiml.conference(room, start=False), **extra)
                callback_sid = placed.sid
            else:
                await self.client.calls(bridge["call_sid"]).update_async(
                    twiml=twiml.conference(room, start=False))
            await self._pace()
            leg = await self.client.calls.create_async(
                to=agent, from_=bridge["to_number"], twiml=twiml.conference(room, start=True),
                **extra)
        except TwilioRestException as exc:
            await calls.bridge_failed(self.core, self.ws, bridge, f"{exc.code or exc.status}: {exc.msg}")
            return
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await calls.bridge_failed(self.core, self.ws, bridge, f"Twilio unreachable: {exc}")
            return
        await calls.bridged(self.core, self.ws, bridge, room, leg.sid, callback_sid)

    async def _pace(self) -> None:
        """At most CALLS_PER_SECOND outbound calls (Twilio's default limit per account)."""
        wait = self._last_call + 1 / CALLS_PER_SECOND - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_call = time.monotonic()


bridger_context = worker_context(Bridger, lambda config: config.channels.voice.enabled,
                                 "/channels/twilio/voice/status")
