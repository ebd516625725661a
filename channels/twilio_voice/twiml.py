"""What Twilio is told to do with a call (TwiML), and what its voice webhooks mean. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.twilio_sms.parse import wait_words
from channels.twilio_webhook import UnreadablePayload
from contactcenter.settings import VoiceConfig

_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
# Twilio's final call statuses: the call is over.
ENDED = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})


@dataclass(frozen=True)
class CallWebhook:
    call_sid: str
    caller: str
    called: str
    status: str
    duration_seconds: int | None


def parse_call(form: dict[str, str]) -> CallWebhook:
    sid = form.get("CallSid", "")
    if not _CALL_SID.match(sid):
        raise UnreadablePayload(f"CallSid {sid!r} is not a Twilio call id")
    caller, called = form.get("From", "").strip(), form.get("To", "").strip()
    if not caller or not called:
        raise UnreadablePayload("no From or To")
    duration = form.get("CallDuration") or form.get("DialCallDuration")
    try:
        seconds = int(duration) if duration else None
    except ValueError:
        raise UnreadablePayload(f"CallDuration {duration!r} is not a number") from None
    return CallWebhook(sid, caller, called, form.get("CallStatus", "").strip().lower(), seconds)


def chosen_queue(form: dict[str, str], config: VoiceConfig) -> str | None:
    """The menu option the caller pressed or said; None when nothing matched."""
    digits = form.get("Digits", "").strip()
    speech = form.get("SpeechResult", "").lower()
    for option in config.menu:
        if digits == option.digit:
            return option.queue
    for option in config.menu:
        if any(re.search(rf"\b{re.escape(w.lower())}\b", speech) for w in option.words):
            return option.queue
    return None


def menu(config: VoiceConfig, action: str) -> str:
    """The greeting and the menu, listening for a digit or a word; silence goes on to `action`
    with nothing chosen (the default queue)."""
    response = VoiceResponse()
    if not config.menu:
        response.say(config.greeting)
        response.redirect(action, method="POST")
        return str(response)
    gather = Gather(input="dtmf speech", num_digits=1, action=action, method="POST", timeout=5,
                    speech_timeout="auto", hints=", ".join(w for o in config.menu for w in o.words))
    choices = " ".join(f"For {o.label}, press {o.digit}." for o in config.menu)
    gather.say(f"{config.greeting} {choices}")
    response.append(gather)
    response.redirect(action, method="POST")
    return str(response)


def hold(position: int | None, wait_seconds: int | None, config: VoiceConfig, again: str,
         callback: str) -> str:
    """A waiting caller: their place and the wait, the offer of a call back (press 1 at any
    time during the music goes to `callback`), then ask again (`again`)."""
    response = VoiceResponse()
    gather = Gather(input="dtmf", num_digits=1, action=callback, method="POST", timeout=1)
    if position is not None and wait_seconds is not None:
        gather.say(f"You are number {position} in line. The expected wait is "
                   f"{wait_words(wait_seconds)}.")
    gather.say("To keep your place and be called back, press 1.")
    if config.hold_music_url:
        gather.play(config.hold_music_url)
    else:
        gather.pause(length=config.announce_every_seconds)
    response.append(gather)
    response.redirect(again, method="POST")
    return str(response)


def conference(name: str, *, start: bool) -> str:
    """Join the call's conference room: the caller waits there for the agent (`start` False),
    the agent's arrival starts it. Either one leaving ends it; a transfer moves the caller to
    a room of their own before the agent's leg is dropped."""
    response = VoiceResponse()
    dial = response.dial()
    dial.conference(name, start_conference_on_enter=start, end_conference_on_exit=True,
                    beep=False)
    return str(response)


def listen(name: str) -> str:
    """A supervisor in the call's room: muted, unheard arriving or leaving, ending nothing."""
    response = VoiceResponse()
    dial = response.dial()
    dial.conference(name, muted=True, start_conference_on_enter=False,
                    end_conference_on_exit=False, beep=False)
    return str(response)


def voicemail(action: str, transcription_callback: str) -> str:
    """Nobody can take the call: record a message (with a transcription), which `action` files."""
    response = VoiceResponse()
    response.say("Sorry, nobody can take your call right now. Please leave a message after the "
                 "tone, and press the pound key when you are done.")
    response.record(action=action, method="POST", max_length=180, play_beep=True,
                    finish_on_key="#", transcribe=True, transcribe_callback=transcription_callback)
    response.say("We did not get a message. Goodbye.")
    return str(response)


@dataclass(frozen=True)
class Recording:
    recording_sid: str
    url: str
    duration_seconds: int


_RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")


def parse_recording(form: dict[str, str]) -> Recording:
    sid = form.get("RecordingSid", "")
    if not _RECORDING_SID.match(sid):
        raise UnreadablePayload(f"RecordingSid {sid!r} is not a Twilio recording id")
    url = form.get("RecordingUrl", "").strip()
    if not url.startswith(("https://", "http://")):
        raise UnreadablePayload("no RecordingUrl")
    try:
        seconds = int(form.get("RecordingDuration") or "0")
    except ValueError:
        raise UnreadablePayload("RecordingDuration is not a number") from None
    return Recording(sid, url, seconds)


def goodbye(text: str) -> str:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return str(response)


def conference_name(interaction_id: int, transfers: int = 0) -> str:
    """The call's room; each transfer gives the caller a new one to wait in."""
    return f"cc-interaction-{interaction_id}" + (f"-{transfers}" if transfers else "")


def please_hold(retry_url: str, seconds: int = 5) -> str:
    """The caller waits a moment and Twilio asks again (`retry_url`): what a call hears while
    the database is unreachable, instead of an error Twilio would answer by hanging up."""
    response = VoiceResponse()
    response.say("Please hold. We are connecting your call.")
    response.pause(length=seconds)
    response.redirect(retry_url, method="POST")
    return str(response)
