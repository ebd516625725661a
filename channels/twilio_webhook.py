"""Twilio's webhook signature, for SMS and voice alike.

Twilio signs each webhook with HMAC-SHA1 over the full public URL it called plus the sorted POST
parameters, keyed by the account's auth token (`X-Twilio-Signature`). The URL must be the one
Twilio used, so behind a proxy it comes from CC_PUBLIC_URL, never from the Host header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from aiohttp import web
from twilio.request_validator import RequestValidator

from contactcenter.actions.intake import keep_unreadable
from contactcenter.errors import Forbidden, InputError, NotFound, UnsupportedMediaType
from contactcenter.storable import keepable
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID

SIGNATURE_HEADER = "X-Twilio-Signature"
# Twilio posts url-encoded forms; multipart is accepted too, as any form reader would.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
P = TypeVar("P")


class UnreadablePayload(ValueError):
    """A webhook we cannot make sense of: it is kept whole and flagged, and Twilio gets a 400."""


def is_signed(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def public_url_of(request: web.Request) -> str:
    """The URL Twilio called: CC_PUBLIC_URL and the path, or this request's own URL when the
    server is reached directly (the demo)."""
    base = request.app[SETTINGS].env.public_url or f"{request.scheme}://{request.host}"
    return base + request.path_qs


async def signed_form(request: web.Request) -> dict[str, str]:
    """The webhook's form fields, or 403 when the signature is missing or wrong."""
    token = request.app[SETTINGS].env.twilio_auth_token
    if not token:
        raise NotFound("twilio_not_configured", "Twilio is not configured on this server")
    if request.content_type not in _FORM_TYPES:
        raise UnsupportedMediaType("unsupported_media_type",
                                   "a Twilio webhook is an application/x-www-form-urlencoded form")
    try:
        posted = await request.post()
    except ValueError as exc:  # e.g. multipart without a boundary: nothing to check or keep
        raise InputError("bad_form", f"the body is not a readable form: {exc}") from None
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not is_signed(token, public_url_of(request), form, signature):
        raise Forbidden("bad_signature", f"missing or wrong {SIGNATURE_HEADER} for "
                        f"{public_url_of(request)} (is CC_PUBLIC_URL the URL Twilio calls?)")
    # Signed as sent; kept with each NUL (which PostgreSQL text cannot hold) as U+FFFD.
    return keepable(form)


async def read_webhook(request: web.Request, parse: Callable[[dict[str, str]], P],
                       source: str) -> tuple[dict[str, str], P]:
    """The signed form and what `parse` makes of it. A form it cannot read is kept whole in
    unreadable_payloads, flagged for a person, and answered 400 saying why."""
    form = await signed_form(request)
    try:
        return form, parse(form)
    except UnreadablePayload as exc:
        stored = await keep_unreadable(request.app[CORE], request.app[WORKSPACE_ID], source,
                                       str(exc), form)
        raise InputError("unreadable_payload",
                         f"{exc}; kept as unreadable payload {stored}") from None
