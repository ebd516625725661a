"""Customer addresses in one canonical form, so the same person is found whichever way they
wrote their number or email. Pure functions: no I/O.
"""

from __future__ import annotations

import functools
from typing import Literal

import phonenumbers

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


def normalize_email(raw: str) -> str:
    address = raw.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or " " in address:
        raise InvalidAddress(f"{raw!r} is not an email address")
    return address


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
