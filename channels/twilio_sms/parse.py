"""Twilio's SMS webhooks read into our shapes, and our answers written as TwiML. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from twilio.twiml.messaging_response import MessagingResponse

from channels.twilio_webhook import UnreadablePayload
from contactcenter.models import Attachment
from contactcenter.settings import SmsConfig

Consent = Literal["opt_out", "opt_in", "help"]
DeliveryStatus = Literal["sending", "sent", "delivered", "read", "undelivered", "failed"]

_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
MAX_MEDIA = 10

# The keywords carriers and Twilio treat as consent, matched on the whole trimmed message.
_CONSENT: dict[str, Consent] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
                     "REVOKE"), "opt_out"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "opt_in"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}

_STATUS: dict[str, DeliveryStatus] = {
    "accepted": "sending", "scheduled": "sending", "queued": "sending", "sending": "sending",
    "sent": "sent", "delivered": "delivered", "partially_delivered": "delivered",
    "read": "read", "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}


@dataclass(frozen=True)
class SmsReceived:
    message_sid: str
    sender: str
    to: str
    body: str
    media: tuple[Attachment, ...]


@dataclass(frozen=True)
class StatusReport:
    message_sid: str
    status: DeliveryStatus
    error_code: str | None


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise UnreadablePayload(f"no {name}")
    return value


def _sid(form: dict[str, str]) -> str:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not _SID.match(sid):
        raise UnreadablePayload(f"MessageSid {sid!r} is not a Twilio message id")
    return sid


def parse_inbound(form: dict[str, str]) -> SmsReceived:
    try:
        count = int(form.get("NumMedia", "0") or "0")
    except ValueError:
        raise UnreadablePayload(f"NumMedia {form.get('NumMedia')!r} is not a number") from None
    if not 0 <= count <= MAX_MEDIA:
        raise UnreadablePayload(f"NumMedia {count} is out of range")
    media = tuple(
        Attachment(content_type=form.get(f"MediaContentType{i}", "application/octet-stream"),
                   url=_required(form, f"MediaUrl{i}"))
        for i in range(count))
    return SmsReceived(message_sid=_sid(form), sender=_required(form, "From"),
                       to=_required(form, "To"), body=form.get("Body", ""), media=media)


def parse_status(form: dict[str, str]) -> StatusReport:
    raw = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if raw not in _STATUS:
        raise UnreadablePayload(f"MessageStatus {raw!r} is not one Twilio sends")
    return StatusReport(_sid(form), _STATUS[raw], form.get("ErrorCode") or None)


def consent_keyword(body: str) -> Consent | None:
    return _CONSENT.get(re.sub(r"[^A-Za-z]", "", body).upper()) if len(body) <= 20 else None


def queue_hint(sms: SmsReceived, config: SmsConfig) -> str | None:
    """The queue for a new conversation: a keyword as the first word, else the number written to."""
    words = sms.body.split()
    first = words[0].strip(".,!?:;").upper() if words else ""
    if first in config.keywords:
        return config.keywords[first]
    return config.numbers.get(sms.to)


def wait_words(seconds: int) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


def queue_reply(template: str, position: int, wait_seconds: int) -> str:
    return template.replace("{position}", str(position)).replace("{wait}", wait_words(wait_seconds))


_NOTHING = str(MessagingResponse())


def twiml(reply: str | None = None) -> str:
    """The webhook's answer: nothing (the common answer, built once), or one message back."""
    if not reply:
        return _NOTHING
    response = MessagingResponse()
    response.message(reply)
    return str(response)
