"""One person, one address, however they wrote it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactcenter.identity import (
    InvalidAddress,
    e164_pattern,
    identity_kind_for,
    normalize_email,
    normalize_phone,
    shown_name,
)
from contactcenter.web.bodies import EMAIL_PATTERN


@pytest.mark.parametrize("raw", [
    "+1 (415) 555-0100", "4155550100", "415-555-0100", "(415) 555 0100", "+14155550100",
    "011 1 415 555 0100", "1-415-555-0100",
])
def test_us_numbers_in_every_format_are_one_number(raw: str) -> None:
    assert normalize_phone(raw, "US") == "+14155550100"


def test_region_decides_numbers_without_country_code() -> None:
    assert normalize_phone("020 7183 8750", "GB") == "+442071838750"
    assert normalize_phone("+44 20 7183 8750", "US") == "+442071838750"


@pytest.mark.parametrize("raw", ["", "abc", "12", "+1 415 555 01000"])
def test_impossible_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidAddress):
        normalize_phone(raw, "US")


separators = st.sampled_from(["", " ", "-", ".", "  "])


@given(st.lists(separators, min_size=3, max_size=3), st.booleans(), st.booleans())
def test_formatting_never_changes_the_number(seps: list[str], plus: bool, parens: bool) -> None:
    area = "(415)" if parens else "415"
    raw = f"{'+1' if plus else ''}{seps[0]}{area}{seps[1]}555{seps[2]}0100"
    assert normalize_phone(raw, "US") == "+14155550100"


def test_emails_are_lower_cased_and_trimmed() -> None:
    assert normalize_email("  Jordan.Lee@Example.COM ") == "jordan.lee@example.com"


@pytest.mark.parametrize("raw", ["", "no-at-sign", "@example.com", "a@", "a b@example.com"])
def test_non_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidAddress):
        normalize_email(raw)


def test_phone_identity_is_shared_by_sms_and_voice() -> None:
    assert identity_kind_for("sms", "+14155550100") == identity_kind_for("voice", "+14155550100")
    assert identity_kind_for("voice", "client:ana") == "twilio_client"
    assert identity_kind_for("chat", "visitor-token") == "chat"


@given(st.from_regex(e164_pattern(), fullmatch=True))
def test_every_number_the_document_allows_is_taken(number: str) -> None:
    """The OpenAPI document's phone pattern, made from phonenumbers' metadata, promises only
    what normalize_phone takes (a national prefix after the country code may go)."""
    assert re.fullmatch(r"\+[1-9][0-9]{4,15}", normalize_phone(number, "US"))


@given(st.text(max_size=40))
def test_the_documented_email_pattern_is_what_is_taken(text: str) -> None:
    """One rule for the document and the server (no \\s, which Python, Rust and JavaScript
    read differently)."""
    documented = re.search(EMAIL_PATTERN, text) is not None
    try:
        normalize_email(text)
        taken = True
    except InvalidAddress:
        taken = False
    assert documented == taken, text


@pytest.mark.parametrize(("name", "address", "shown"), [
    ("Ana", "+14155550100", "Ana"),
    (None, "+14155550100", "+1 415-555-0100, San Francisco, CA"),
    ("", "+442079460000", "+44 20 7946 0000, London"),
    (None, "lee@example.com", "lee@example.com"),
    (None, None, "Customer"),
])
def test_a_customer_without_a_name_is_shown_by_number_and_place(
        name: str | None, address: str | None, shown: str) -> None:
    assert shown_name(name, address) == shown
