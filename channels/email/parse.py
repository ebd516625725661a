"""An email's bytes, as any mail client sends them, read into what the contact center needs.

Sans-I/O and forgiving. The stdlib `email` package with its modern policy does the MIME work:
headers as RFC 5322/6532 say (raw UTF-8, encoded words and the spaces between them, folded
parameters), addresses parsed before their display names are decoded. Each text part is decoded
on its own, in its declared charset or that charset's superset, and when bytes are bad only
those bytes are replaced; what had to be repaired is listed in `problems`. Every size is bounded
before any slow step (nesting, parts, header length, HTML and text length), so a hostile message
costs no more than a large honest one. Only a message with no usable sender is `Unreadable`; the
caller keeps any message this module fails on byte for byte, flagged.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from mailparser_reply import EmailReplyParser

from channels.email.html_text import html_to_text, safe_html
from contactcenter.storable import keepable

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_DEPTH = 20  # multiparts and forwarded messages inside one another
MAX_PARTS = 500
MAX_HEADER_CHARS = 16_384  # of one header, before it is parsed
MAX_HTML_CHARS = 2_000_000  # before HTML is turned into text or sanitised; the rest is a file
MAX_TEXT_CHARS = 200_000  # before the quoted history is split off (as intake keeps at most)
_REGISTRY = HeaderRegistry()


@functools.lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> BaseHeader:
    return _REGISTRY(name, value)


def _header_factory(name: str, value: str) -> BaseHeader:
    """The modern policy's header objects, the same short header parsed once: the parser asks
    for a part's Content-Type again and again, and mail repeats its headers."""
    return _parsed_header(name, value) if len(value) < 1000 else _REGISTRY(name, value)


_POLICY = policy.default.clone(header_factory=_header_factory)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_CASE_TOKEN = re.compile(r"\[#(\d{1,18})(?:-([0-9a-z]{6,32}))?\]")
# Built once: making one compiles its patterns for every language.
_REPLIES = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "pl", "sv", "cs", "da",
                                       "ja"])
# Anywhere in the local part: "gmail-noreply", "noreply.billing", "MAILER-DAEMON".
_AUTOMATIC_SENDER = re.compile(r"mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?\b")
_SURROGATES = re.compile("[\ud800-\udfff]")


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
    message = BytesParser(policy=_POLICY).parsebytes(raw)
    content_type = message.get_content_type()
    bounced = _bounced(message, content_type)
    problems: list[str] = []
    sender_name, sender = _sender(message, problems)
    found = _Found()
    _walk(message, found, problems, depth=0)
    texts = found.texts or found.named_texts  # an inline text that has a name, when no other
    html = "\n".join(found.htmls) or None
    if html is not None and len(html) > MAX_HTML_CHARS:
        problems.append(f"HTML over {MAX_HTML_CHARS:,} characters: read in part, kept whole as "
                        "message.html")
        found.attachments.append(EmailAttachment("message.html", "text/html",
                                                 html.encode("utf-8"), len(html), False, None))
        html = html[:MAX_HTML_CHARS]
        shown = None
    else:
        shown = html
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text and html:
        text = html_to_text(html)
    if len(text) > MAX_TEXT_CHARS:
        problems.append(f"text over {MAX_TEXT_CHARS:,} characters: cut")
        text = text[:MAX_TEXT_CHARS]
    new_text, quoted, signature = _split_reply(text)
    return ParsedEmail(
        message_id=_first_id(_raw_header(message, "Message-ID", problems)),
        in_reply_to=tuple(_MESSAGE_ID.findall(_raw_header(message, "In-Reply-To", problems))),
        references=tuple(_MESSAGE_ID.findall(_raw_header(message, "References", problems))),
        sender=sender,
        sender_name=sender_name,
        to=tuple(addr.lower() for name in ("To", "Cc")
                 for _, addr in _addresses(message, name, problems) if "@" in addr),
        subject=" ".join(_header(message, "Subject", problems).split()),
        date=_date(_raw_header(message, "Date", problems)),
        text=text,
        new_text=new_text,
        quoted=quoted,
        signature=signature,
        html=safe_html(shown) if shown else None,
        attachments=tuple(found.attachments),
        automatic=_automatic(message, content_type, sender, bounced, problems),
        bounced=bounced,
        problems=tuple(dict.fromkeys(problems)),
    )


@dataclass
class _Found:
    texts: list[str] = field(default_factory=list)
    named_texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[EmailAttachment] = field(default_factory=list)
    parts: int = 0


def _sender(message: Message, problems: list[str]) -> tuple[str, str]:
    """(display name, address) of From, else of Reply-To; Unreadable when neither has one."""
    for name in ("From", "Reply-To"):
        for display, address in _addresses(message, name, problems):
            if "@" in address:
                return display.strip(), address.strip().lower()
    raise Unreadable(f"no sender address in From: {_raw_header(message, 'From', problems)!r}")


def _addresses(message: Message, name: str, problems: list[str]) -> list[tuple[str, str]]:
    """Parsed as addresses first, display names decoded after (a decoded name may hold the
    commas and quotes that would break the parse); the stdlib's older reader if that fails."""
    raw = _raw_header(message, name, problems)
    if not raw:
        return []
    try:
        header = _POLICY.header_fetch_parse(name, raw)
        found = [(_storable(a.display_name, problems), _storable(a.addr_spec, problems))
                 for a in getattr(header, "addresses", ())]
    except Exception:
        found = []
    return found or [(_storable(display, problems), _storable(address, problems))
                     for display, address in getaddresses([_decode_words(raw, problems)])]


def _raw_header(message: Message, name: str, problems: list[str]) -> str:
    """The first such header as it came, unfolded, cut at MAX_HEADER_CHARS."""
    wanted = name.lower()
    value = next((v for k, v in message.raw_items() if k.lower() == wanted), None)
    if value is None:
        return ""
    text = "".join(str(value).splitlines())
    if len(text) > MAX_HEADER_CHARS:
        problems.append(f"{name} header over {MAX_HEADER_CHARS:,} characters: cut")
        text = text[:MAX_HEADER_CHARS]
    return text


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
    """A header's text as the modern policy reads it (RFC 2047 words and raw UTF-8 decoded);
    the words one by one in their charsets when that policy cannot read it."""
    raw = _raw_header(message, name, problems)
    if not raw:
        return ""
    try:
        return _storable(str(_POLICY.header_fetch_parse(name, raw)), problems)
    except Exception:
        return _storable(_decode_words(raw, problems), problems)


_NUL_REPLACED = "NUL characters replaced by \ufffd"


def _storable(text: str, problems: list[str]) -> str:
    """Text PostgreSQL can keep: raw bytes that were not UTF-8 (left as surrogates by the
    parser) and NULs become U+FFFD, and the email's problems say so once."""
    if _SURROGATES.search(text):  # raw bytes: UTF-8 (as RFC 6532 allows), or broken
        fixed = (text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                 if _only_escapes(text) else _SURROGATES.sub("\ufffd", text))
        if fixed.count("\ufffd") > text.count("\ufffd"):
            problems.append("bytes not valid in a header replaced by \ufffd")
        text = fixed
    if "\0" in text:
        problems.append(_NUL_REPLACED)
        text = keepable(text)
    return text


def _only_escapes(text: str) -> bool:
    return all("\udc80" <= c <= "\udcff" for c in _SURROGATES.findall(text))


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


def _walk(part: Message, found: _Found, problems: list[str], depth: int) -> None:
    """Collect the readable body (of an alternative both kinds: plain text for the
    conversation, HTML to show) and every attachment, within MAX_DEPTH and MAX_PARTS."""
    found.parts += 1
    if found.parts > MAX_PARTS:
        problems.append(f"over {MAX_PARTS} MIME parts: the rest not read")
        return
    content_type = part.get_content_type()
    if part.is_multipart():
        if depth >= MAX_DEPTH:
            problems.append(f"MIME nested over {MAX_DEPTH} deep: the inner parts not read")
            return
        for child in part.get_payload():
            if isinstance(child, Message) and found.parts <= MAX_PARTS:
                _walk(child, found, problems, depth + 1)
        return
    disposition = (part.get_content_disposition() or "").lower()
    filename = _filename(part, problems)
    if content_type in ("text/plain", "text/html") and disposition != "attachment":
        decoded = _decode_text(part, problems)
        if not filename:
            (found.texts if content_type == "text/plain" else found.htmls).append(decoded)
            return
        if content_type == "text/plain":  # shown as the text only when there is no other
            found.named_texts.append(decoded)
    if content_type in ("message/delivery-status", "text/rfc822-headers"):
        return  # read by _bounced
    payload = part.get_payload(decode=True)
    content = payload if isinstance(payload, bytes) else b""
    if len(content) > MAX_ATTACHMENT_BYTES:
        problems.append(f"attachment {filename or content_type} over "
                        f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB: not stored")
    content_id = _storable(_raw_header(part, "Content-ID", problems), problems).strip("<> ")
    found.attachments.append(EmailAttachment(
        filename=filename or _default_name(content_type),
        content_type=content_type,
        content=content if len(content) <= MAX_ATTACHMENT_BYTES else None,
        size=len(content),
        inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
        content_id=content_id or None,
    ))


def _filename(part: Message, problems: list[str]) -> str:
    """RFC 2231 and raw UTF-8 are read by the policy; RFC 2047 words, which many clients use
    instead, are decoded here. A Windows or Unix path keeps only its last name."""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    path = _QUOTED_PATH.search(_raw_header(part, "Content-Disposition", problems) + ";"
                               + _raw_header(part, "Content-Type", problems))
    if path:  # a Windows path sent unescaped: the quoting rules would eat its backslashes
        name = path.group(1)
    name = _storable(_decode_words(name, problems) if "=?" in name else name, problems)
    return re.split(r"[\\/]", name.strip())[-1].strip()


_QUOTED_PATH = re.compile(r'\b(?:file)?name\s*=\s*"([^"]*\\[^"]*)"', re.IGNORECASE)


def _default_name(content_type: str) -> str:
    return {"message/rfc822": "forwarded.eml"}.get(content_type, content_type.replace("/", "."))


def _decode_text(part: Message, problems: list[str]) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    try:
        charset = (part.get_content_charset() or "us-ascii").strip().strip('"').lower()
    except Exception:
        charset = "us-ascii"
    return _storable(_decode_bytes(data, charset, problems), problems)


# Where a declared charset fails, the wider one mailers really used under its name.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "euc-cn": "gb18030", "big5": "big5hkscs",
              "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "shift_jis": "cp932",
              "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "utf-8",
              "ascii": "utf-8", "iso-8859-9": "cp1254", "tis-620": "cp874",
              "iso-8859-11": "cp874"}


def _decode_bytes(data: bytes, charset: str, problems: list[str]) -> str:
    """In the declared charset, or its superset; else UTF-8. Where bytes are still bad, only
    they are replaced: in the declared charset when it is known, in UTF-8 when some of the text
    is UTF-8, and the whole is read as Windows-1252 only when none of it is."""
    try:
        declared: str | None = codecs.lookup(charset).name
    except LookupError:
        problems.append(f"unknown charset {charset!r}")
        declared = None
    candidates = [c for c in (declared, _SUPERSETS.get(charset), "utf-8") if c]
    for candidate in dict.fromkeys(candidates):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    as_utf8 = data.decode("utf-8", errors="replace")
    if declared not in (None, "ascii", "utf-8"):
        problems.append(f"bytes not valid in {charset} replaced by \ufffd")
        return data.decode(declared, errors="replace")
    if any(c > "\x7f" and c != "\ufffd" for c in as_utf8):  # some of it is UTF-8, so all is
        problems.append("bytes not valid in utf-8 replaced by \ufffd")
        return as_utf8
    problems.append(f"text not valid in its charset {charset if declared else 'unknown'}: "
                    "read as windows-1252")
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


def _automatic(message: Message, content_type: str, sender: str, bounced: tuple[str, ...],
               problems: list[str]) -> str | None:
    """Why this message is not from a person, so nothing automatic answers it (no storms).
    Headers are looked at as they came: parsing each into objects costs more than the rest."""
    auto_submitted = _header(message, "Auto-Submitted", problems).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted}"
    precedence = _header(message, "Precedence", problems).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"precedence: {precedence}"
    present = {name.lower() for name, _ in message.raw_items()}
    if "x-loop" in present:
        return "x-loop"
    if present & {"list-id", "list-unsubscribe"}:
        return "mailing list"
    suppress = _raw_header(message, "X-Auto-Response-Suppress", problems).lower()
    if present & {"x-autoreply", "x-autorespond"} or "oof" in suppress or "all" in suppress:
        return "auto-reply"
    if _is_read_receipt(message, content_type, problems):
        return "read receipt"
    if content_type == "multipart/report" or _AUTOMATIC_SENDER.search(sender.rpartition("@")[0]):
        return "bounce" if bounced or "daemon" in sender else "automatic sender"
    return None


def _is_read_receipt(message: Message, content_type: str, problems: list[str]) -> bool:
    """RFC 8098 disposition notifications, and Outlook's "Read:" reports (Content-Class MDN)."""
    if "mdn" in _raw_header(message, "Content-Class", problems).lower():
        return True
    return content_type == "multipart/report" and (
        message.get_param("report-type") == "disposition-notification" or any(
            part.get_content_type() == "message/disposition-notification"
            for part in _parts(message)))


def _parts(message: Message) -> list[Message]:
    """Every part, breadth first, within MAX_DEPTH and MAX_PARTS: a look that no nesting can
    make recurse or run long."""
    out: list[Message] = []
    level = [message]
    for _ in range(MAX_DEPTH + 1):
        children = [c for p in level if p.is_multipart() for c in p.get_payload()
                    if isinstance(c, Message)]
        out += children[:MAX_PARTS - len(out)]
        if not children or len(out) >= MAX_PARTS:
            break
        level = children
    return out


def _bounced(message: Message, content_type: str) -> tuple[str, ...]:
    """A delivery status notification names the message it reports on in its returned
    headers (text/rfc822-headers or message/rfc822)."""
    if content_type != "multipart/report" and not _raw_header(message, "X-Failed-Recipients", []):
        return ()
    found: list[str] = []
    for part in _parts(message):
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            headers = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            match = re.search(r"^Message-ID:\s*(<[^<>\s]+>)", headers, re.IGNORECASE | re.MULTILINE)
            if match:
                found.append(match.group(1))
        elif kind == "message/rfc822":
            for inner in part.get_payload():
                inner_id = _first_id(_raw_header(inner, "Message-ID", [])) if isinstance(
                    inner, Message) else None
                if inner_id:
                    found.append(inner_id)
    return tuple(dict.fromkeys(found))
