"""An agent's reply as the MIME message that goes out: our own Message-ID, In-Reply-To and
References so the customer's mail client threads it, the subject with the case token so a
reply finds its interaction even when a client drops the headers, a plain-text and an HTML
part, and the agent's files. Pure: the stdlib `email` package builds it, the sender sends it."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from channels.email.parse import with_case_token

MAX_REFERENCES = 20


@dataclass(frozen=True)
class ReplyFile:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Reply:
    interaction_id: int
    reply_key: str  # the interaction's, for the case token
    message_id: str  # ours, stored before sending
    from_address: str
    from_name: str
    to_address: str
    subject: str  # the interaction's, from the customer's first mail
    body: str
    in_reply_to: str | None  # the customer's latest Message-ID
    references: tuple[str, ...]  # every Message-ID of the thread, oldest first
    automatic: bool = False  # sent by the server itself (the acknowledgement), not by an agent
    files: tuple[ReplyFile, ...] = ()


def reply_subject(subject: str, interaction_id: int, reply_key: str) -> str:
    base = subject.strip() or "Your message"
    if not base.lower().startswith(("re:", "aw:", "sv:", "antw:")):
        base = f"Re: {base}"
    return with_case_token(base, interaction_id, reply_key)


def compose(reply: Reply) -> EmailMessage:
    message = EmailMessage()
    message["From"] = Address(reply.from_name, addr_spec=reply.from_address)
    message["To"] = reply.to_address
    message["Subject"] = reply_subject(reply.subject, reply.interaction_id, reply.reply_key)
    message["Message-ID"] = reply.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    if reply.in_reply_to:
        message["In-Reply-To"] = reply.in_reply_to
    references = [r for r in reply.references if r != reply.message_id][-MAX_REFERENCES:]
    if references:
        message["References"] = " ".join(references)
    if reply.automatic:
        # RFC 3834: other auto-responders must not answer it, so no two answer each other.
        message["Auto-Submitted"] = "auto-replied"
    message.set_content(reply.body)
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                         for p in reply.body.split("\n\n") if p.strip())
    message.add_alternative(f"<!doctype html><html><body>{paragraphs}</body></html>",
                            subtype="html")
    for file in reply.files:  # the first one makes the message multipart/mixed
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(file.content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=file.filename)
    return message


def code_mail(from_address: str, from_name: str, to_address: str, code: str,
              minutes: int) -> EmailMessage:
    """The one-time code that proves a chat visitor owns the address they typed. It says what
    to do if the reader never asked for it, because a stranger may have typed their address."""
    message = EmailMessage()
    message["From"] = Address(from_name, addr_spec=from_address)
    message["To"] = to_address
    message["Subject"] = f"Your code: {code}"
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"Your code is {code}\n\n"
        f"Enter it in the chat window to link this chat to your earlier conversations with "
        f"{from_name}. It is valid for {minutes} minutes.\n\n"
        "If you did not start a chat with us, ignore this email: nothing is linked without "
        "the code.\n")
    return message
