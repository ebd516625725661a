"""Twilio's SMS webhooks: an incoming message, and delivery reports for the ones we sent.

Twilio waits at most 15 s and does not retry a 5xx, so each handler answers right after one
durable write: to PostgreSQL, or to the node's spool while PostgreSQL is away
(contactcenter.web.webhook_spool). A payload we cannot read is kept whole and flagged, and
answered 400.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from channels.twilio_sms import parse
from channels.twilio_sms.intake import SMS_INTAKE, SOURCE
from channels.twilio_webhook import read_webhook
from contactcenter.actions import inbox, sms
from contactcenter.errors import NotFound
from contactcenter.web.keys import CORE, WORKSPACE_ID
from contactcenter.web.openapi import ApiRoutes, Response
from contactcenter.web.webhook_spool import WEBHOOK_SPOOL

routes = ApiRoutes(tag="channels", signed_forms=True)
STATUS_SOURCE = "twilio_sms_status"

_TWIML = {"type": "string", "description": "TwiML (text/xml)"}


def _twiml(reply: str | None = None) -> web.Response:
    return web.Response(text=parse.twiml(reply), content_type="text/xml")


@routes.route(
    "POST", "/channels/twilio/sms", summary="Twilio: an SMS or MMS came in",
    responses={200: Response("kept (its intake follows at once; a repeated MessageSid is stored "
                             "once); TwiML, with an answer to HELP", _TWIML),
               400: Response("a payload we cannot read (kept and flagged)"),
               403: Response("missing or wrong X-Twilio-Signature"),
               404: Response("SMS is not enabled")},
)
async def incoming(request: web.Request) -> web.Response:
    """Checked, read, kept: then answered. The intake (customer, conversation, routing, the
    automatic answer) runs right after in the node's SMS intake, so Twilio's wait is one write.
    Consent keywords are recorded before answering: no reply may slip out after a STOP."""
    config = request.app[CORE].config.channels.sms
    if not config.enabled:
        raise NotFound("sms_disabled", "SMS is not enabled on this server (channels.sms.enabled)")
    form, received = await read_webhook(request, parse.parse_inbound, "twilio_sms")

    consent = parse.consent_keyword(received.body)
    await request.app[WEBHOOK_SPOOL].keep(SOURCE, form)
    # Twilio answers STOP and START itself; HELP gets the configured text.
    return _twiml(config.help_reply if consent == "help" else None)


async def apply_incoming(app: web.Application, form: dict[str, str], received_at: datetime,
                         spool_id: str | None) -> None:
    """A consent keyword is recorded at once (no reply may slip out after a STOP); any other
    message is kept for the node's SMS intake."""
    core = app[CORE]
    received = parse.parse_inbound(form)
    consent = parse.consent_keyword(received.body)
    if consent == "help":
        return
    if consent is not None:
        await sms.set_consent(core, app[WORKSPACE_ID], received.sender, consent == "opt_out",
                              received.body.strip().upper())
        return
    await inbox.keep(core, app[WORKSPACE_ID], SOURCE, form, received_at, spool_id)
    app[SMS_INTAKE].wake()


@routes.route(
    "POST", "/channels/twilio/sms/status", summary="Twilio: delivery report for an SMS we sent",
    responses={204: Response("recorded (a late, older report changes nothing)"),
               400: Response("a payload we cannot read (kept and flagged)"),
               403: Response("missing or wrong X-Twilio-Signature"),
               404: Response("SMS is not enabled")},
)
async def status(request: web.Request) -> web.Response:
    core = request.app[CORE]
    if not core.config.channels.sms.enabled:
        raise NotFound("sms_disabled", "SMS is not enabled on this server (channels.sms.enabled)")
    form, _ = await read_webhook(request, parse.parse_status, STATUS_SOURCE)
    await request.app[WEBHOOK_SPOOL].keep(STATUS_SOURCE, form)
    return web.Response(status=204)


async def apply_status(app: web.Application, form: dict[str, str], received_at: datetime,
                       spool_id: str | None) -> None:
    """A report for a message we do not know (sent from Twilio's console) changes nothing."""
    report = parse.parse_status(form)
    await sms.record_delivery(app[CORE], app[WORKSPACE_ID], report.message_sid, report.status,
                              report.error_code)
