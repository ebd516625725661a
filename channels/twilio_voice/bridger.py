"""Connects a waiting caller to the agent who accepted them, through Twilio's REST API.

Conference-based: the caller's live call is moved into the interaction's conference, and the
agent is dialled (their Twilio Client identity, or their phone number when they have one) into
it. A transfer moves the caller to a room of their own and drops the agent's leg; the next agent
is dialled into that room. A supervisor who asks to listen is dialled in, muted.
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
        # Holds first: a transferred caller is moved before the next agent is dialled to them.
        holds = [{**h, "kind": "hold"} for h in await calls.claim_holds(self.core, self.ws)]
        bridges = [{**b, "kind": "bridge"} for b in await calls.claim_bridges(self.core, self.ws)]
        listeners = [{**x, "kind": "listen"} for x in await calls.claim_listeners(self.core, self.ws)]
        return holds + bridges + listeners

    async def handle(self, item: dict[str, Any]) -> None:
        act, failed = {"hold": (self._hold, calls.hold_failed),
                       "bridge": (self._bridge, calls.bridge_failed),
                       "listen": (self._listen, calls.listen_failed)}[item["kind"]]
        try:
            await act(item)
        except TwilioRestException as exc:
            await failed(self.core, self.ws, item, f"{exc.code or exc.status}: {exc.msg}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await failed(self.core, self.ws, item, f"Twilio unreachable: {exc}")

    def _status_callback(self) -> dict[str, Any]:
        if not self.status_callback:
            return {}
        return {"status_callback": self.status_callback,
                "status_callback_event": ["initiated", "ringing", "answered", "completed"]}

    async def _bridge(self, bridge: dict[str, Any]) -> None:
        room = bridge["conference"] or twiml.conference_name(bridge["interaction_id"])
        agent = bridge["agent_phone"] or f"client:{bridge['agent_client']}"
        callback_sid = None
        if bridge["callback"]:  # the caller hung up to be called back: call them now
            await self._pace()
            placed = await self.client.calls.create_async(
                to=bridge["from_number"], from_=bridge["to_number"],
                twiml=twiml.conference(room, start=False), **self._status_callback())
            callback_sid = placed.sid
        elif bridge["conference"] is None:  # still on hold music: into the room
            await self.client.calls(bridge["call_sid"]).update_async(
                twiml=twiml.conference(room, start=False))
        await self._pace()
        leg = await self.client.calls.create_async(
            to=agent, from_=bridge["to_number"], twiml=twiml.conference(room, start=True),
            **self._status_callback())
        await calls.bridged(self.core, self.ws, bridge, room, leg.sid, callback_sid)

    async def _hold(self, hold: dict[str, Any]) -> None:
        """Transferred: the caller goes to a room of their own first (so the conference they
        leave can end), then the agent's leg is dropped."""
        room = twiml.conference_name(hold["interaction_id"], hold["transfers"])
        await self.client.calls(hold["call_sid"]).update_async(
            twiml=twiml.conference(room, start=False))
        for agent_leg in hold["agent_legs"]:
            await self.client.calls(agent_leg).update_async(status="completed")
        await calls.held(self.core, self.ws, hold, room)

    async def _listen(self, listener: dict[str, Any]) -> None:
        await self._pace()
        leg = await self.client.calls.create_async(
            to=listener["listener_phone"] or f"client:{listener['listener_client']}",
            from_=listener["to_number"], twiml=twiml.listen(listener["conference"]),
            **self._status_callback())
        await calls.listening(self.core, self.ws, listener, leg.sid)

    async def _pace(self) -> None:
        """At most CALLS_PER_SECOND outbound calls (Twilio's default limit per account)."""
        wait = self._last_call + 1 / CALLS_PER_SECOND - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_call = time.monotonic()


bridger_context = worker_context(Bridger, lambda config: config.channels.voice.enabled,
                                 "/channels/twilio/voice/status")
