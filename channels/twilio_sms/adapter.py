"""Twilio's SMS webhooks: an incoming message, and delivery reports for the ones we sent.

Twilio waits at most 15 s and does not retry a 5xx, so each handler answers right after one
durable write. A payload we cannot read is kept whole and flagged, and answered 400.
"""

from __future__ import annotations

from aiohttp import web

from channels.twilio_sms import parse
from channels.twilio_sms.intake import SMS_INTAKE, SOURCE
from channels.twilio_webhook import read_webhook
from contactcenter.actions import inbox, sms
from contactcenter.errors import NotFound
from contactcenter.web.keys import CORE, WORKSPACE_ID
from contactcenter.web.openapi import ApiRoutes, Response

routes = ApiRoutes(tag="channels")

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
    core = request.app[CORE]
    ws = request.app[WORKSPACE_ID]
    config = core.config.channels.sms
    if not config.enabled:
        raise NotFound("sms_disabled", "SMS is not enabled on this server (channels.sms.enabled)")
    form, received = await read_webhook(request, parse.parse_inbound, "twilio_sms")

    consent = parse.consent_keyword(received.body)
    if consent is not None:
        if consent != "help":
            await sms.set_consent(core, ws, received.sender, consent == "opt_out",
                                  received.body.strip().upper())
        # Twilio answers STOP and START itself; HELP gets the configured text.
        return _twiml(config.help_reply if consent == "help" else None)

    await inbox.keep(core, ws, SOURCE, form)
    request.app[SMS_INTAKE].wake()
    return _twiml()


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
    _, report = await read_webhook(request, parse.parse_status, "twilio_sms_status")
    # A report for a message we do not know (sent from Twilio's console) is acknowledged.
    await sms.record_delivery(core, request.app[WORKSPACE_ID], report.message_sid, report.status,
                              report.error_code)
    return web.Response(status=204)
