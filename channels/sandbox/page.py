"""The demo sandbox at /sandbox: a person plays the customer on SMS and on the phone.

Each action is turned into the webhook Twilio would send, signed with the sandbox's auth token
exactly as Twilio signs it, and posted to this server's own webhook handlers over HTTP: the
same path a real text or call takes. What the server answers (TwiML) is shown, and so is what
it asked "Twilio" to do (the SMS replies it sent, the calls it placed), recorded by the stand-in
for Twilio's REST API that the demo's Twilio client talks to. Only `contactcenter demo` has it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, Field
from twilio.request_validator import RequestValidator

from channels.sandbox.twilio_api import TwilioStandIn
from contactcenter.web.errors import read_body
from contactcenter.web.keys import SETTINGS

STATIC = Path(__file__).parent / "static"
STAND_IN = web.AppKey("twilio_stand_in", TwilioStandIn)


class Sms(BaseModel):
    sender: str = Field(max_length=32)
    to: str = Field(max_length=32)
    body: str = Field(max_length=1600)


class CallStep(BaseModel):
    """One step of a call: dial, press digits or say words, wait on hold, or hang up."""

    step: str = Field(pattern=r"^(dial|choose|hold|record|hangup)$")
    call_sid: str = Field(default="", max_length=34)
    sender: str = Field(max_length=32)
    to: str = Field(max_length=32)
    digits: str = Field(default="", max_length=10)
    speech: str = Field(default="", max_length=200)
    duration: int = Field(default=0, ge=0, le=86_400)
    # For `choose` and `record`: the <Gather> or <Record> action the server gave.
    action: str = Field(default="", max_length=300, pattern=r"^(/channels/twilio/voice/[a-z?=&_%0-9-]*)?$")


async def _webhook(request: web.Request, path: str, form: dict[str, str]) -> dict[str, Any]:
    """Post `form` to our own webhook at `path`, signed as Twilio signs it."""
    env = request.app[SETTINGS].env
    assert env.public_url is not None
    assert env.twilio_auth_token is not None
    url = env.public_url + path
    signature = RequestValidator(env.twilio_auth_token).compute_signature(url, form)
    async with aiohttp.ClientSession() as session, session.post(
            url, data=form, headers={"X-Twilio-Signature": signature}) as resp:
        return {"status": resp.status, "answer": await resp.text()}


def _account(request: web.Request) -> str:
    sid = request.app[SETTINGS].env.twilio_account_sid
    assert sid is not None
    return sid


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "sandbox.html", headers={"Cache-Control": "no-cache"})


async def send_sms(request: web.Request) -> web.Response:
    sms = await read_body(request, Sms)
    sid = "SM" + secrets.token_hex(16)
    result = await _webhook(request, "/channels/twilio/sms", {
        "MessageSid": sid, "SmsSid": sid, "AccountSid": _account(request), "From": sms.sender,
        "To": sms.to, "Body": sms.body, "NumMedia": "0", "SmsStatus": "received",
        "ApiVersion": "2010-04-01"})
    return web.json_response({"message_sid": sid, **result})


async def call_step(request: web.Request) -> web.Response:
    step = await read_body(request, CallStep)
    call_sid = step.call_sid or "CA" + secrets.token_hex(16)
    form = {"CallSid": call_sid, "AccountSid": _account(request), "From": step.sender,
            "To": step.to, "Caller": step.sender, "Called": step.to, "Direction": "inbound",
            "CallStatus": "in-progress", "ApiVersion": "2010-04-01"}
    if step.step == "dial":
        result = await _webhook(request, "/channels/twilio/voice", {**form, "CallStatus": "ringing"})
    elif step.step == "choose":
        # To the <Gather> that is listening: the menu, or the call-back offer on hold.
        result = await _webhook(request, step.action or "/channels/twilio/voice/menu",
                                {**form, "Digits": step.digits, "SpeechResult": step.speech})
    elif step.step == "hold":
        result = await _webhook(request, "/channels/twilio/voice/hold", form)
    elif step.step == "record":
        result = await _leave_message(request, form, step)
    else:
        result = await _webhook(request, "/channels/twilio/voice/status", {
            **form, "CallStatus": "completed", "CallDuration": str(step.duration)})
    return web.json_response({"call_sid": call_sid, **result})


async def _leave_message(request: web.Request, form: dict[str, str],
                         step: CallStep) -> dict[str, Any]:
    """The caller speaks after the tone: the sandbox types what a recording would say. Twilio
    then posts the recording to the <Record> action, and later its transcription."""
    record_sid = "RE" + secrets.token_hex(16)
    recording = {**form, "RecordingSid": record_sid, "RecordingDuration": str(step.duration),
                 "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{_account(request)}"
                                 f"/Recordings/{record_sid}", "RecordingStatus": "completed"}
    result = await _webhook(request, step.action or "/channels/twilio/voice/voicemail", recording)
    if step.speech:
        await _webhook(request, "/channels/twilio/voice/transcription", {
            **recording, "TranscriptionText": step.speech, "TranscriptionStatus": "completed",
            "TranscriptionSid": "TR" + secrets.token_hex(16)})
    return result


async def outbox(request: web.Request) -> web.Response:
    """What the server asked Twilio to do: SMS it sent, calls it placed or redirected."""
    return web.json_response([
        {"path": r.path.split("/Accounts/", 1)[-1].split("/", 1)[-1], "form": r.form}
        for r in request.app[STAND_IN].requests])


def add_routes(app: web.Application) -> None:
    env = app[SETTINGS].env
    assert env.twilio_account_sid is not None
    assert env.twilio_auth_token is not None
    stand_in = TwilioStandIn(env.twilio_account_sid, env.twilio_auth_token, report_delivery=True)
    app[STAND_IN] = stand_in
    stand_in.add_routes(app, prefix="/sandbox/twilio")
    app.router.add_get("/sandbox", page)
    app.router.add_static("/sandbox/static/", STATIC)
    app.router.add_post("/sandbox/api/sms", send_sms)
    app.router.add_post("/sandbox/api/call", call_step)
    app.router.add_get("/sandbox/api/outbox", outbox)
