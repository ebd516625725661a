"""An email's bytes, as any mail client sends them, read into what the contact center needs.

Sans-I/O and forgiving: the stdlib `email` package does the MIME work (multipart alternative,
mixed and related; RFC 2047 headers). Its compat32 policy parses the structure and only the
headers read here are decoded: the modern policy parses every header into objects, which made
a message several times slower to read. Text is decoded with its declared charset, and when that
is unknown or lies, as UTF-8 and then Windows-1252, so a message is never refused for its
bytes; what had to be repaired is listed in `problems`. Only a message with no usable sender
is `Unreadable` (it is kept raw and flagged by the caller).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from mailparser_reply import EmailReplyParser

from channels.email.html_text import html_to_text, safe_html
from contactcenter.storable import keepable

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_CASE_TOKEN = re.compile(r"\[#(\d{1,18})(?:-([0-9a-z]{6,32}))?\]")
# Built once: making one compiles its patterns for every language.
_REPLIES = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "pl", "sv", "cs", "da",
                                       "ja"])
_AUTOMATIC_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply",
                      "donotreply")


class Unreadable(ValueError):
    """Nothing usable came out of the bytes (no sender address)."""


@dataclass(frozen=True)
class EmailAttachment:
    filename: str
    content_type: str
    content: bytes | None  # None when over the size limit: kept as a note, not stored
    size: int
    inline: bool
    content_id: str | None


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: str
    sender_name: str
    to: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str  # the whole plain-text body
    new_text: str  # what the sender wrote this time: no quoted history, no signature
    quoted: str
    signature: str
    html: str | None  # sanitized, for display
    attachments: tuple[EmailAttachment, ...]
    automatic: str | None  # why no person wrote it (auto-reply, list, bounce...), else None
    bounced: tuple[str, ...]  # for a bounce: the Message-IDs of the messages it reports
    problems: tuple[str, ...]

    def thread_ids(self) -> tuple[str, ...]:
        """The Message-IDs this one answers, the most direct first."""
        seen: dict[str, None] = dict.fromkeys(self.in_reply_to)
        for ref in reversed(self.references):
            seen.setdefault(ref, None)
        return tuple(seen)


def parse_email(raw: bytes) -> ParsedEmail:
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    problems: list[str] = []
    sender_name, sender = parseaddr(_header(message, "From", problems))
    sender = sender.strip().lower()
    if "@" not in sender:
        reply_to = parseaddr(_header(message, "Reply-To", problems))[1].strip().lower()
        if "@" not in reply_to:
            raise Unreadable(f"no sender address in From: {_header(message, 'From', problems)!r}")
        sender = reply_to
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[EmailAttachment] = []
    _walk(message, texts, htmls, attachments, problems)
    html = "\n".join(htmls) or None
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text and html:
        text = html_to_text(html)
    new_text, quoted, signature = _split_reply(text)
    return ParsedEmail(
        message_id=_first_id(_header(message, "Message-ID", problems)),
        in_reply_to=tuple(_MESSAGE_ID.findall(_header(message, "In-Reply-To", problems))),
        references=tuple(_MESSAGE_ID.findall(_header(message, "References", problems))),
        sender=sender,
        sender_name=sender_name.strip(),
        to=tuple(addr.lower() for _, addr in getaddresses(
            [_header(message, "To", problems), _header(message, "Cc", problems)]) if "@" in addr),
        subject=" ".join(_header(message, "Subject", problems).split()),
        date=_date(_header(message, "Date", problems)),
        text=text,
        new_text=new_text,
        quoted=quoted,
        signature=signature,
        html=safe_html(html) if html else None,
        attachments=tuple(attachments),
        automatic=_automatic(message, sender, problems),
        bounced=_bounced(message),
        problems=tuple(problems),
    )


@dataclass(frozen=True)
class CaseToken:
    """`[#1234-k3y]` in a subject: the interaction our reply was about and its random key (the
    number alone can be counted through; older replies carried no key)."""

    interaction_id: int
    key: str | None


def case_token(subject: str) -> CaseToken | None:
    found = _CASE_TOKEN.search(subject)
    return CaseToken(int(found.group(1)), found.group(2)) if found else None


def with_case_token(subject: str, interaction_id: int, key: str) -> str:
    token = f"[#{interaction_id}-{key}]"
    return subject if token in subject else f"{subject} {token}".strip()


def _header(message: Message, name: str, problems: list[str]) -> str:
    """A header as text, its RFC 2047 words decoded each in its charset (read like a body's
    text when the charset is unknown or lies)."""
    value = message.get(name)
    return "" if value is None else _without_nul(_decode_words(str(value), problems), problems)


_NUL_REPLACED = "NUL characters replaced by \ufffd"


def _without_nul(text: str, problems: list[str]) -> str:
    """PostgreSQL text cannot hold a NUL, which a broken mailer may send: each becomes U+FFFD,
    and the email's problems say so once."""
    if "\0" not in text:
        return text
    if _NUL_REPLACED not in problems:
        problems.append(_NUL_REPLACED)
    return keepable(text)


def _decode_words(text: str, problems: list[str]) -> str:
    try:
        chunks = decode_header(text)
    except (HeaderParseError, ValueError):
        return text
    return "".join(chunk if isinstance(chunk, str) else _decode_bytes(
        chunk, (charset or "us-ascii").lower(), problems) for chunk, charset in chunks)


def _first_id(value: str) -> str | None:
    found = _MESSAGE_ID.search(value)
    return found.group(0) if found else (value.strip() or None)


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None


def _walk(part: Message, texts: list[str], htmls: list[str], attachments: list[EmailAttachment],
          problems: list[str]) -> None:
    """Collect the readable body (the richest alternative) and every attachment."""
    content_type = part.get_content_type()
    if part.is_multipart():
        # Of an alternative both kinds are kept: plain text for the conversation, HTML to show.
        for child in part.get_payload():
            if isinstance(child, Message):
                _walk(child, texts, htmls, attachments, problems)
        return
    disposition = (part.get_content_disposition() or "").lower()
    filename = _filename(part, problems)
    if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        decoded = _decode_text(part, problems)
        (texts if content_type == "text/plain" else htmls).append(decoded)
        return
    if content_type in ("message/delivery-status", "text/rfc822-headers"):
        return  # read by _bounced
    payload = part.get_payload(decode=True)
    content = payload if isinstance(payload, bytes) else (
        part.as_bytes() if content_type == "message/rfc822" else b"")
    if len(content) > MAX_ATTACHMENT_BYTES:
        problems.append(f"attachment {filename or content_type} over "
                        f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB: not stored")
    content_id = _without_nul(str(part.get("Content-ID") or ""), problems)
    attachments.append(EmailAttachment(
        filename=filename or _default_name(content_type),
        content_type=content_type,
        content=content if len(content) <= MAX_ATTACHMENT_BYTES else None,
        size=len(content),
        inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
        content_id=str(content_id).strip("<> ") if content_id else None,
    ))


def _filename(part: Message, problems: list[str]) -> str:
    """RFC 2231 (`filename*=`) is read by the stdlib; RFC 2047 words, which many clients use
    instead, are decoded here."""
    name = part.get_filename() or ""
    return _without_nul(_decode_words(name, problems) if "=?" in name else name, problems)


def _default_name(content_type: str) -> str:
    return {"message/rfc822": "forwarded.eml"}.get(content_type, content_type.replace("/", "."))


def _decode_text(part: Message, problems: list[str]) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = (part.get_content_charset() or "us-ascii").strip().strip('"').lower()
    return _without_nul(_decode_bytes(data, charset, problems), problems)


def _decode_bytes(data: bytes, charset: str, problems: list[str]) -> str:
    """In the declared charset; else UTF-8; else Windows-1252, which decodes any byte."""
    try:
        codecs.lookup(charset)
    except LookupError:
        problems.append(f"unknown charset {charset!r}")
        charset = ""
    for candidate in (charset, "utf-8") if charset else ("utf-8",):
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    problems.append(f"text not valid in its charset {charset or 'unknown'}: read as windows-1252")
    return data.decode("cp1252", errors="replace")


def _split_reply(text: str) -> tuple[str, str, str]:
    """(what was written now, the quoted history, the signature), by mail-parser-reply."""
    if not text.strip():
        return "", "", ""
    replies = _REPLIES.read(text=text).replies
    if not replies:
        return text.strip(), "", ""
    latest = replies[0]
    quoted = "\n\n".join(r.content.strip() for r in replies[1:] if r.content.strip())
    new_text = (latest.body or latest.content or "").strip() or text.strip()
    return new_text, quoted, (latest.signatures or "").strip()


def _automatic(message: Message, sender: str, problems: list[str]) -> str | None:
    """Why this message is not from a person, so nothing automatic answers it (no storms)."""
    auto_submitted = _header(message, "Auto-Submitted", problems).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted}"
    precedence = _header(message, "Precedence", problems).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"precedence: {precedence}"
    if message.get("X-Loop"):
        return "x-loop"
    if message.get("List-Id") or message.get("List-Unsubscribe"):
        return "mailing list"
    suppress = _header(message, "X-Auto-Response-Suppress", problems).lower()
    if message.get("X-Autoreply") or message.get("X-Autorespond") or (
            "oof" in suppress or "all" in suppress):
        return "auto-reply"
    if message.get_content_type() == "multipart/report" or sender.split("@")[0] in _AUTOMATIC_SENDERS:
        return "bounce" if _bounced(message) or "daemon" in sender else "automatic sender"
    return None


def _bounced(message: Message) -> tuple[str, ...]:
    """A delivery status notification names the message it reports on in its returned
    headers (text/rfc822-headers or message/rfc822)."""
    if message.get_content_type() != "multipart/report" and not message.get("X-Failed-Recipients"):
        return ()
    found: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            headers = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            match = re.search(r"^Message-ID:\s*(<[^<>\s]+>)", headers, re.IGNORECASE | re.MULTILINE)
            if match:
                found.append(match.group(1))
        elif kind == "message/rfc822":
            for inner in part.get_payload():
                inner_id = _first_id(str(inner.get("Message-ID") or "")) if isinstance(
                    inner, Message) else None
                if inner_id:
                    found.append(inner_id)
    return tuple(dict.fromkeys(found))
