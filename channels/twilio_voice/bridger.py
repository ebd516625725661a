"""Connects a waiting caller to the agent who accepted them, through Twilio's REST API.

Conference-based, so that transfers and a supervisor listening in can join the same room
later: the caller's live call is moved into the interaction's conference, and the agent is
dialled (their Twilio Client identity, or their phone number when they have one) into it.
Every node runs one; each caller is claimed in PostgreSQL by one node. Outbound calls respect
Twilio's calls-per-second limit for the account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from channels.twilio_sms.sender import twilio_client
from channels.twilio_voice import twiml
from contactcenter.actions import calls
from contactcenter.core import Core
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3
CALLS_PER_SECOND = 1.0


class Bridger:
    def __init__(self, core: Core, workspace_id: int, client: Client,
                 status_callback: str | None) -> None:
        self.core = core
        self.ws = workspace_id
        self.client = client
        self.status_callback = status_callback
        self._stopping = asyncio.Event()
        self._last_call = 0.0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                for bridge in await calls.claim_bridges(self.core, self.ws):
                    await self._bridge(bridge)
            except Exception:
                log.exception("bridging calls failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), POLL_SECONDS)

    async def _bridge(self, bridge: dict[str, Any]) -> None:
        room = twiml.conference_name(bridge["interaction_id"])
        agent = bridge["agent_phone"] or f"client:{bridge['agent_client']}"
        extra: dict[str, Any] = {}
        if self.status_callback:
            extra = {"status_callback": self.status_callback,
                     "status_callback_event": ["initiated", "ringing", "answered", "completed"]}
        try:
            await self.client.calls(bridge["call_sid"]).update_async(
                twiml=twiml.conference(room, start=False))
            wait = self._last_call + 1 / CALLS_PER_SECOND - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_call = time.monotonic()
            leg = await self.client.calls.create_async(
                to=agent, from_=bridge["to_number"], twiml=twiml.conference(room, start=True),
                **extra)
        except TwilioRestException as exc:
            await calls.bridge_failed(self.core, self.ws, bridge, f"{exc.code or exc.status}: {exc.msg}")
            return
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await calls.bridge_failed(self.core, self.ws, bridge, f"Twilio unreachable: {exc}")
            return
        await calls.bridged(self.core, self.ws, bridge, room, leg.sid)


async def bridger_context(app: web.Application) -> AsyncIterator[None]:
    """Runs the bridger while the app runs, when voice is enabled."""
    settings = app[SETTINGS]
    core = app[CORE]
    if not core.config.channels.voice.enabled:
        yield
        return
    client = twilio_client(settings)
    public = settings.env.public_url
    bridger = Bridger(core, app[WORKSPACE_ID], client,
                      f"{public}/channels/twilio/voice/status" if public else None)
    task = asyncio.create_task(bridger.run(), name="call-bridger")
    yield
    bridger.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(task, timeout=5)
    await client.http_client.close()
