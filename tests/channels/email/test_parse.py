"""The email parser on a corpus of real-world shapes: every one read without an exception, with
the expected sender, text, threading and flags."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.email.parse import CaseToken, Unreadable, case_token, parse_email, with_case_token

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "email"


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_every_email_of_the_corpus_is_read() -> None:
    names = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(names) >= 10
    for name in names:
        parsed = parse_email(read(name))
        assert "@" in parsed.sender, name
        assert parsed.text or parsed.attachments, name


def test_a_gmail_reply_threads_and_loses_its_quote_and_signature() -> None:
    email = parse_email(read("gmail_reply_utf8.eml"))
    assert (email.sender, email.sender_name) == ("jordan.lee@example.com", "Jordan Lee")
    assert email.message_id == "<CAF=8xq2kP+Lm0@mail.gmail.com>"
    assert email.thread_ids() == ("<cc.41.8f2a@northwind.example>",)
    assert case_token(email.subject) == CaseToken(41, None)
    assert email.new_text == "Thanks, the refund arrived. Merci beaucoup \u2014 great service! \U0001F44D"
    assert email.signature == "Best,\nJordan"
    assert "the second charge is refunded" in email.quoted
    assert email.html is not None
    assert email.automatic is None


@pytest.mark.parametrize(("name", "subject", "text"), [
    ("koi8r_subject_and_body.eml", "Помогите, двойной платёж",
     "Здравствуйте! С меня дважды списали деньги за заказ 1042."),
    ("windows1251_quoted_printable.eml", "Замовлення 1042", "Добрий день! Де моє замовлення?"),
    ("iso8859_1_outlook.eml", "AW: Rückerstattung",
     "Hallo, vielen Dank für die schnelle Erstattung."),
])
def test_charsets_and_encoded_headers(name: str, subject: str, text: str) -> None:
    email = parse_email(read(name))
    assert email.subject == subject
    assert email.new_text == text
    assert email.problems == ()


def test_an_outlook_reply_keeps_the_quoted_history_apart() -> None:
    email = parse_email(read("iso8859_1_outlook.eml"))
    assert email.sender_name == "Jürgen Müller"
    assert email.quoted.startswith("From: Northwind Support")
    assert email.signature == "Grüße\nJürgen Müller"


def test_html_only_is_sanitized_and_given_a_text() -> None:
    email = parse_email(read("html_only_with_script.eml"))
    assert email.new_text == "Hello,\n\nThe shop link gives an error.\n\nChrome\n\nWindows"
    assert email.html is not None
    for dangerous in ("<script", "onclick", "onerror", "alert", "<style"):
        assert dangerous not in email.html
    assert 'href="https://northwind.example/shop"' in email.html


def test_attachments_inline_images_and_encoded_filenames() -> None:
    email = parse_email(read("mixed_related_attachments.eml"))
    assert email.new_text == "Please see the invoice attached and the screenshot below."
    shot, invoice = email.attachments
    assert (shot.filename, shot.content_type, shot.inline, shot.content_id) == (
        "screenshot.png", "image/png", True, "shot1@example.com")
    assert shot.content is not None
    assert shot.content.startswith(b"\x89PNG")
    assert (invoice.filename, invoice.content_type, invoice.inline) == (
        "Rechnung März.pdf", "application/pdf", False)
    assert email.html is not None
    assert 'src="cid:shot1@example.com"' in email.html


def test_unknown_and_lying_charsets_are_read_and_reported() -> None:
    email = parse_email(read("unknown_and_lying_charsets.eml"))
    assert email.text == "Café order please.\n\nNaïve bytes: this part says utf-8 but is latin-1."
    assert email.subject == "Hello world"
    assert email.problems == ("unknown charset 'x-made-up-charset'",
                              "text not valid in its charset utf-8: read as windows-1252",
                              "unknown charset 'x-unknown'")


def test_broken_mime_still_gives_its_text() -> None:
    email = parse_email(read("broken_mime_no_end_boundary.eml"))
    assert email.new_text == "The client crashed while sending this."


@pytest.mark.parametrize(("name", "why"), [
    ("bounce_dsn.eml", "auto-submitted: auto-replied"),
    ("out_of_office.eml", "auto-submitted: auto-replied"),
    ("mailing_list.eml", "precedence: list"),
])
def test_automatic_mail_is_recognised(name: str, why: str) -> None:
    assert parse_email(read(name)).automatic == why


def test_a_bounce_names_the_message_it_reports() -> None:
    assert parse_email(read("bounce_dsn.eml")).bounced == ("<cc.12.77aa@northwind.example>",)


def test_no_sender_is_unreadable() -> None:
    with pytest.raises(Unreadable):
        parse_email(b"Subject: hi\r\n\r\nno from header\r\n")


def test_the_case_token() -> None:
    assert with_case_token("Your order", 41, "k3y9a1") == "Your order [#41-k3y9a1]"
    assert with_case_token("Re: Your order [#41-k3y9a1]", 41, "k3y9a1") == "Re: Your order [#41-k3y9a1]"
    assert case_token("AW: Re: [#7-0a1b2c3d4e5f] hello") == CaseToken(7, "0a1b2c3d4e5f")
    assert case_token("AW: Re: [#7] hello") == CaseToken(7, None)  # our replies before keys
    assert case_token("no token #7") is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_or_refused_cleanly(raw: bytes) -> None:
    with contextlib.suppress(Unreadable):
        parse_email(b"From: a@example.com\r\n" + raw)
