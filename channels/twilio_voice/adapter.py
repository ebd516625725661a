"""Twilio's voice webhooks: a call comes in, the caller chooses, waits with music and their
place in line, is bridged to the agent who accepted, and hangs up.

    POST /channels/twilio/voice          the call arrives: greeting and menu
    POST /channels/twilio/voice/menu     the caller chose: into the queue
    POST /channels/twilio/voice/hold     the hold loop, asked again after each round of music
    POST /channels/twilio/voice/status   call status callbacks (hang-ups, durations)
    POST /channels/twilio/voice/voicemail      a message was recorded: a voicemail interaction
    POST /channels/twilio/voice/transcription  Twilio's transcription of it
"""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from channels.twilio_voice import twiml
from channels.twilio_webhook import read_webhook
from contactcenter import views
from contactcenter.actions import calls
from contactcenter.errors import NotFound
from contactcenter.web.keys import CORE, WORKSPACE_ID
from contactcenter.web.openapi import ApiRoutes, Query, Response
from contactcenter.web.webhook_spool import DB_UNAVAILABLE, WEBHOOK_SPOOL, in_time
from routing.config import closed_behaviour

routes = ApiRoutes(tag="channels", signed_forms=True)

_TWIML = {"type": "string", "description": "TwiML (text/xml)"}
_REFUSALS = {400: Response("a payload we cannot read (kept and flagged)"),
             403: Response("missing or wrong X-Twilio-Signature"),
             404: Response("voice is not enabled")}
MENU, HOLD = "/channels/twilio/voice/menu", "/channels/twilio/voice/hold"
VOICEMAIL = "/channels/twilio/voice/voicemail"
CALLBACK = "/channels/twilio/voice/callback"
TRANSCRIPTION = "/channels/twilio/voice/transcription"
STATUS_SOURCE, VOICEMAIL_SOURCE = "twilio_voice_status", "twilio_voicemail"
TRANSCRIPTION_SOURCE = "twilio_transcription"
QUEUE_FIELD = "cc_queue"


def _xml(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/xml")


async def _call(request: web.Request, source: str) -> tuple[dict[str, str], twiml.CallWebhook]:
    if not request.app[CORE].config.channels.voice.enabled:
        raise NotFound("voice_disabled", "voice is not enabled (channels.voice.enabled)")
    return await read_webhook(request, twiml.parse_call, source)


@routes.route("POST", "/channels/twilio/voice", summary="Twilio: a call comes in",
              responses={200: Response("the greeting and the menu", _TWIML), **_REFUSALS})
async def incoming(request: web.Request) -> web.Response:
    await _call(request, "twilio_voice")
    return _xml(twiml.menu(request.app[CORE].config.channels.voice, MENU))


@routes.route("POST", MENU, summary="Twilio: the caller pressed or said a menu choice (or not)",
              query={"Digits": Query({"type": "string"}, "a choice kept across a retry"),
                     "SpeechResult": Query({"type": "string"}, "a choice kept across a retry")},
              responses={200: Response("the queue's hold loop", _TWIML), **_REFUSALS})
async def menu_choice(request: web.Request) -> web.Response:
    form, call = await _call(request, "twilio_voice")
    core = request.app[CORE]
    config = core.config.channels.voice
    # A retry after the database was away carries the choice in its URL (see please_hold).
    choice = {**request.query, **form}
    queue = twiml.chosen_queue(choice, config)
    label = next((o.label for o in config.menu if o.queue == queue), "")
    target = queue or core.config.default_queue("voice")
    async def queue_the_call() -> web.Response:
        if await _nobody_can_answer(request, target):
            return _xml(twiml.voicemail(f"{VOICEMAIL}?{urlencode({'queue': target})}",
                                        TRANSCRIPTION))
        await calls.call_queued(core, request.app[WORKSPACE_ID], call.call_sid, call.caller,
                                call.called, queue, label)
        return await _hold(request, call.call_sid)

    try:
        return await in_time(queue_the_call())
    except DB_UNAVAILABLE:
        kept = {k: choice[k] for k in ("Digits", "SpeechResult") if choice.get(k)}
        return _xml(twiml.please_hold(f"{MENU}?{urlencode(kept)}" if kept else MENU))


@routes.route("POST", HOLD, summary="Twilio: the hold loop asks what next",
              responses={200: Response("music with the place in line, or the agent", _TWIML),
                         **_REFUSALS})
async def hold(request: web.Request) -> web.Response:
    _, call = await _call(request, "twilio_voice")
    return await _hold_or_wait(request, call.call_sid)


async def _hold_or_wait(request: web.Request, call_sid: str) -> web.Response:
    """The hold loop; while the database is away, the caller waits and Twilio asks again."""
    try:
        return await in_time(_hold(request, call_sid))
    except DB_UNAVAILABLE:
        return _xml(twiml.please_hold(HOLD))


async def _nobody_can_answer(request: web.Request, queue_name: str) -> bool:
    """After hours (a queue whose calendar is closed and whose closed rule for voice is
    voicemail), or no agent signed in with the queue's skills: take a message instead."""
    core = request.app[CORE]
    if closed_behaviour(core.config, queue_name, "voice", time.time()) == "voicemail":
        return True
    queue = next(q for q in core.config.queues if q.name == queue_name)
    async with core.pool.acquire() as conn:
        return await views.staffed_agents(conn, request.app[WORKSPACE_ID], dict(queue.skills)) == 0


async def _hold(request: web.Request, call_sid: str) -> web.Response:
    core = request.app[CORE]
    ws = request.app[WORKSPACE_ID]
    config = core.config.channels.voice
    known = await calls.call_of(core, ws, call_sid)
    if known is None:
        return _xml(twiml.menu(config, MENU))  # we lost track of it: start over, never drop it
    if known["state"] == "assigned":
        # Accepted meanwhile: into the conference, where the agent's leg joins.
        return _xml(twiml.conference(
            known["conference"] or twiml.conference_name(known["interaction_id"]), start=False))
    if known["state"] not in ("queued", "offered"):
        return _xml(twiml.goodbye("Sorry, we cannot take your call now. Please try again later."))
    async with core.pool.acquire() as conn:
        place = await views.queue_position(conn, ws, known["interaction_id"])
    if place is None:
        return _xml(twiml.hold(None, None, config, HOLD, CALLBACK))
    return _xml(twiml.hold(place["position"], place["estimated_wait_seconds"], config, HOLD,
                           CALLBACK))


@routes.route("POST", CALLBACK, summary="Twilio: a waiting caller pressed a key during the music",
              responses={200: Response("goodbye (1: called back later), else back on hold",
                                       _TWIML), **_REFUSALS})
async def callback(request: web.Request) -> web.Response:
    form, call = await _call(request, "twilio_voice")
    core = request.app[CORE]
    try:
        wanted = form.get("Digits") == "1" and await in_time(calls.callback_requested(
            core, request.app[WORKSPACE_ID], call.call_sid))
    except DB_UNAVAILABLE:
        return _xml(twiml.please_hold(HOLD))
    if wanted:
        return _xml(twiml.goodbye("Thank you. You keep your place in line, and we will call you "
                                  "back at this number when it is your turn. Goodbye."))
    return await _hold_or_wait(request, call.call_sid)


@routes.route("POST", "/channels/twilio/voice/status",
              summary="Twilio: a call's status changed (ringing, answered, ended...)",
              responses={204: Response("recorded"), **_REFUSALS})
async def status(request: web.Request) -> web.Response:
    form, _ = await _call(request, STATUS_SOURCE)
    await request.app[WEBHOOK_SPOOL].keep(STATUS_SOURCE, form)
    return web.Response(status=204)


async def apply_status(app: web.Application, form: dict[str, str], received_at: datetime,
                       spool_id: str | None) -> None:
    call = twiml.parse_call(form)
    if call.status in twiml.ENDED:
        await calls.call_ended(app[CORE], app[WORKSPACE_ID], call.call_sid, call.status,
                               call.duration_seconds)
    elif call.status in ("ringing", "in-progress", "answered"):
        await calls.call_progress(app[CORE], app[WORKSPACE_ID], call.call_sid, call.status)


@routes.route("POST", VOICEMAIL, summary="Twilio: the caller left a message",
              query={"queue": Query({"type": "string"}, "the queue the caller waited for")},
              responses={200: Response("thanks and goodbye", _TWIML), **_REFUSALS})
async def voicemail(request: web.Request) -> web.Response:
    form, _ = await read_webhook(request, twiml.parse_recording, VOICEMAIL_SOURCE)
    queue = request.query.get("queue")
    # The queue rides in the URL Twilio calls, not in the form: kept with the form for later.
    await request.app[WEBHOOK_SPOOL].keep(VOICEMAIL_SOURCE, {**form, QUEUE_FIELD: queue or ""})
    return _xml(twiml.goodbye("Thank you. We will get back to you soon. Goodbye."))


async def apply_voicemail(app: web.Application, form: dict[str, str], received_at: datetime,
                          spool_id: str | None) -> None:
    core = app[CORE]
    recording = twiml.parse_recording(form)
    queue: str | None = form.get(QUEUE_FIELD, "")
    if queue not in {q.name for q in core.config.queues}:
        queue = None
    await calls.voicemail_left(core, app[WORKSPACE_ID], form.get("From", ""), form.get("To", ""),
                               recording.recording_sid, recording.url,
                               recording.duration_seconds, queue)


@routes.route("POST", TRANSCRIPTION, summary="Twilio: the transcription of a voicemail",
              responses={204: Response("added to the voicemail"), **_REFUSALS})
async def transcription(request: web.Request) -> web.Response:
    form, _ = await read_webhook(request, twiml.parse_recording, TRANSCRIPTION_SOURCE)
    await request.app[WEBHOOK_SPOOL].keep(TRANSCRIPTION_SOURCE, form)
    return web.Response(status=204)


async def apply_transcription(app: web.Application, form: dict[str, str], received_at: datetime,
                              spool_id: str | None) -> None:
    recording = twiml.parse_recording(form)
    text = form.get("TranscriptionText", "").strip()
    if form.get("TranscriptionStatus", "completed") == "completed" and text:
        await calls.voicemail_transcribed(app[CORE], app[WORKSPACE_ID], form.get("From", ""),
                                          recording.recording_sid, text)
