"""The email parser on a corpus of real-world shapes: every one read without an exception, with
the expected sender, text, threading and flags."""

from __future__ import annotations

import base64
import contextlib
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.email.parse import (
    MAX_ATTACHMENT_BYTES,
    MAX_PARTS,
    MAX_TEXT_CHARS,
    CaseToken,
    Unreadable,
    case_token,
    parse_email,
    with_case_token,
)

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
    # The subject's unknown charset is ASCII here, as the email package reads it.
    assert email.problems == ("unknown charset 'x-made-up-charset'",
                              "text not valid in its charset utf-8: read as windows-1252")


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


def _as_the_email_package_reads(raw: bytes) -> tuple[str, str, list[str], str | None]:
    """(subject, sender, attachment names, plain text) by Python's email package,
    policy=default; the text None where it has none or cannot read it."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    sender = next(a.addr_spec for a in message["From"].addresses).lower()
    names = [re.split(r"[\\/]", name)[-1] for part in message.walk()
             if not part.is_multipart() and (name := part.get_filename())]
    try:
        body = message.get_body(preferencelist=("plain",))
        text = None if body is None else body.get_content()
    except LookupError:  # a charset it does not know
        text = None
    return " ".join(str(message["Subject"] or "").split()), sender, names, text


def test_the_whole_corpus_reads_as_the_email_package_reads_it() -> None:
    """Subjects, senders, text and attachment names as Python's email package reads them (the
    reference the outside review compared against), for every message of the corpus."""
    for path in sorted(CORPUS.glob("*.eml")):
        raw = path.read_bytes()
        subject, sender, names, text = _as_the_email_package_reads(raw)
        email = parse_email(raw)
        assert email.subject == subject, path.name
        assert email.sender == sender, path.name
        if text is not None and "\ufffd" not in text:  # where it reads the text right, so do we
            assert " ".join(text.split()) in " ".join(email.text.split()), path.name
        # The package's, or their last part: it reads the backslashes of a Windows path
        # sent unescaped as quoting, which we undo.
        ours = [a.filename for a in email.attachments][:len(names)]
        assert len(ours) == len(names), path.name
        assert all(theirs.endswith(mine) for mine, theirs in zip(ours, names, strict=True))


def test_an_encoded_display_name_with_a_comma_and_quotes() -> None:
    """The address is parsed before the name is decoded, so its comma breaks nothing."""
    email = parse_email(read("encoded_name_with_comma.eml"))
    assert (email.sender, email.sender_name) == ("juergen.mueller@example.de",
                                                 'Müller, Jürgen "JM"')
    assert email.subject == "Rückfrage zu Bestellung 1042"  # the space between words kept


def test_raw_utf8_headers_and_a_windows_path_in_a_file_name() -> None:
    email = parse_email(read("raw_utf8_headers.eml"))
    assert (email.sender_name, email.subject) == ("Zoë Ångström", "Ärende: fakturan för oktober")
    assert [a.filename for a in email.attachments] == ["Fakturaöversikt.pdf"]
    assert email.problems == ()


def test_a_boundary_folded_across_lines() -> None:
    email = parse_email(read("folded_boundary_parameter.eml"))
    assert email.text == "The box arrived crushed; two photos attached."
    assert [a.filename for a in email.attachments] == ["box1.png", "box2.png"]


def test_an_inline_text_with_a_file_name_is_the_message_when_there_is_no_other() -> None:
    email = parse_email(read("inline_text_with_a_filename.eml"))
    assert email.new_text == "Can I change the delivery address of order 1042?"


def test_one_bad_byte_costs_one_character_not_the_part() -> None:
    email = parse_email(read("utf8_with_one_bad_byte.eml"))
    # The stray byte lands inside a letter: that letter and the byte, nothing more.
    assert email.text.startswith("Добрый день! Заказ 1042 \ufffd\ufffd\ufffdришёл")
    assert email.text.count("\ufffd") == 3
    assert email.text.endswith("Добрый день! Заказ 1042 пришёл повреждённым.")
    assert email.subject == "Повреждённый заказ"
    assert email.problems == ("bytes not valid in utf-8 replaced by \ufffd",)


def test_gb2312_read_as_its_superset_gbk() -> None:
    email = parse_email(read("gb2312_that_is_gbk.eml"))
    assert email.text == "你好，我叫王镕，订单还没到。"  # noqa: RUF001 (Chinese commas)
    assert email.subject == "订单问题"
    assert email.problems == ()


def test_a_raw_byte_inside_an_encoded_subject() -> None:
    email = parse_email(read("encoded_word_with_a_raw_byte.eml"))
    assert email.subject == "Fråga om order 1042 är sen ännu"
    assert email.new_text == "Var är min order?"


@pytest.mark.parametrize(("name", "why"), [
    ("read_receipt.eml", "read receipt"),
    ("noreply_inside_the_local_part.eml", "automatic sender"),
])
def test_receipts_and_noreply_senders_are_automatic(name: str, why: str) -> None:
    assert parse_email(read(name)).automatic == why


def _nested(depth: int, kind: str = "multipart/mixed") -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nthe innermost words\r\n"
    for level in range(depth, 0, -1):
        if kind == "message/rfc822":
            body = (b"Content-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\n" + body)
        else:
            body = (b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n%s\r\n--b%d--\r\n"
                    % (level, level, body, level))
    return b"From: deep@example.com\r\nSubject: deep\r\n" + body


@pytest.mark.parametrize("kind", ["multipart/mixed", "message/rfc822"])
def test_nesting_past_the_bound_is_read_in_part_and_said(kind: str) -> None:
    email = parse_email(_nested(40, kind))
    assert email.sender == "deep@example.com"
    assert any("nested over" in p for p in email.problems)


def test_huge_html_is_read_in_part_and_kept_whole_as_a_file() -> None:
    html = b"<html><body>" + b"<p>Order 1042 <b>late</b> &amp; more</p>\n" * 400_000 + b"</body>"
    assert len(html) > 15_000_000
    email = parse_email(b"From: big@example.com\r\nSubject: big\r\nContent-Type: text/html\r\n\r\n"
                        + html)
    assert email.html is None  # not shown: too large to sanitise whole
    assert email.text.startswith("Order 1042 late & more")
    assert len(email.text) <= MAX_TEXT_CHARS
    kept = email.attachments[-1]
    assert (kept.filename, kept.size) == ("message.html", len(html))


def test_huge_headers_many_parts_and_a_huge_attachment_are_bounded() -> None:
    to = b"To: " + b", ".join(b"person%d@example.com" % n for n in range(60_000)) + b"\r\n"
    parts = b"".join(b"--p\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n"
                     for _ in range(3000))
    big = b"--p\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; " \
          b"filename=big.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n" + \
          base64.encodebytes(b"\0" * (MAX_ATTACHMENT_BYTES + 1)) + b"\r\n"
    email = parse_email(b"From: many@example.com\r\n" + to + b"Subject: many\r\n"
                        b"Content-Type: multipart/mixed; boundary=p\r\n\r\n"
                        b"--p\r\nContent-Type: text/plain\r\n\r\nSee the files.\r\n"
                        + big + parts + b"--p--\r\n")
    assert email.text == "See the files."
    assert any(p.startswith("To header over") for p in email.problems)
    assert any(p.startswith(f"over {MAX_PARTS} MIME parts") for p in email.problems)
    zipped = next(a for a in email.attachments if a.filename == "big.zip")
    assert (zipped.content, zipped.size) == (None, MAX_ATTACHMENT_BYTES + 1)
    assert len(email.attachments) < MAX_PARTS
