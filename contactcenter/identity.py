"""Customer addresses in one canonical form, so the same person is found whichever way they
wrote their number or email. Pure functions: no I/O.
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Literal

import phonenumbers
from phonenumbers import geocoder

IdentityKind = Literal["phone", "email", "chat", "twilio_client"]


class InvalidAddress(ValueError):
    """An address that cannot belong to anyone (not a phone number, not an email)."""


@functools.lru_cache(maxsize=65536)
def normalize_phone(raw: str, default_region: str) -> str:
    """E.164. Numbers without a country code are read in the workspace's region.

    `is_possible_number` rather than `is_valid_number`: carriers open new ranges before the
    metadata knows them, and rejecting a real customer is worse than accepting an odd number.
    Cached: parsing is the slow part of a webhook, and the same customers write again and again.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(f"{raw!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidAddress(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def e164_pattern() -> str:
    """A regular expression for the E.164 numbers `normalize_phone` takes: each country code
    with the number lengths phonenumbers' metadata calls possible there. What the OpenAPI
    document says a phone address is, so a client is told before it asks."""
    by_code: dict[int, set[int]] = {}
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
                code, region)
            general = None if metadata is None else metadata.general_desc
            if general is not None:
                by_code.setdefault(code, set()).update(
                    n for n in general.possible_length or () if n > 0)
    choices = "|".join(f"{code}(?:{'|'.join(f'[0-9]{{{n}}}' for n in sorted(lengths))})"
                       for code, lengths in sorted(by_code.items()) if lengths)
    return rf"^\+(?:{choices})$"


def normalize_email(raw: str) -> str:
    """Lower case, trimmed; one @ at least, something on each side, no space or control
    character inside."""
    address = raw.strip(" \t\r\n").lower()
    if not _EMAIL.fullmatch(address):
        raise InvalidAddress(f"{raw!r} is not an email address")
    return address


# Spelled out rather than \s, which Python, Rust and JavaScript read differently; the OpenAPI
# document says the same (contactcenter.web.bodies.EMAIL_PATTERN).
EMAIL_SHAPE = r"[^\u0000-\u0020\u007f]+@[^\u0000-\u0020\u007f@]+"
_EMAIL = re.compile(EMAIL_SHAPE)


def normalize_address(kind: IdentityKind, raw: str, default_region: str) -> str:
    if kind == "phone":
        return normalize_phone(raw, default_region)
    if kind == "email":
        return normalize_email(raw)
    address = raw.strip()
    if not address:
        raise InvalidAddress(f"an empty {kind} identity")
    return address


def identity_kind_for(channel: str, address: str) -> IdentityKind:
    """Which address space a sender on `channel` belongs to."""
    if channel in ("sms", "voice", "voicemail"):
        return "twilio_client" if address.startswith("client:") else "phone"
    if channel == "email":
        return "email"
    return "chat"


def shown_name(display_name: str | None, address: str | None) -> str:
    """How a customer is called on every page: their name, else their number as people write
    it with the place phonenumbers knows ("+1 415-555-0100, San Francisco, CA"), else their
    email address: a row that says only "Customer" tells an agent nothing."""
    if display_name:
        return display_name
    if address and address.startswith("+"):
        return _number_shown(address)
    return address or "Customer"


@functools.lru_cache(maxsize=65536)
def _number_shown(address: str) -> str:
    """Cached: the supervisor's board names every waiting customer at each refresh."""
    with contextlib.suppress(phonenumbers.NumberParseException):
        number = phonenumbers.parse(address)
        place = geocoder.description_for_number(number, "en")
        written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return f"{written}, {place}" if place else written
    return address


# An address of the customer `c` to call them by until a name is known: a number first.
SHOWN_ADDRESS_SQL = """(SELECT ci.address FROM customer_identities ci WHERE ci.customer_id = c.id
                        AND ci.kind IN ('phone', 'email') ORDER BY ci.kind DESC, ci.id LIMIT 1)"""
