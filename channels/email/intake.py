"""One email's bytes into the contact center: a bounce marks the reply it reports failed, any
other mail joins the thread it answers or starts one. Mail nothing can be made of is kept raw
and flagged for a supervisor, never dropped."""

from __future__ import annotations

from dataclasses import dataclass

from channels.email.parse import ParsedEmail, Unreadable, case_token, parse_email
from contactcenter.actions import email, receive_inbound
from contactcenter.actions.intake import MAX_BODY_CHARS, keep_unreadable
from contactcenter.core import Core
from contactcenter.models import Attachment, InboundMessage

SOURCE = "email"


@dataclass(frozen=True)
class Origin:
    """Where an email was read: the mailbox, its UIDVALIDITY and the message's UID."""

    mailbox: str
    address: str | None
    queue: str | None
    uidvalidity: int
    uid: int

    def fallback_id(self) -> str:
        """A Message-ID for mail that has none: stable for the same message in the same folder."""
        return f"<{self.uidvalidity}.{self.uid}.{self.mailbox}@mailbox.invalid>"


async def take_in(core: Core, workspace_id: int, raw: bytes, origin: Origin) -> None:
    try:
        parsed = parse_email(raw)
    except Unreadable as exc:
        await keep_unreadable(core, workspace_id, SOURCE, str(exc), {
            "mailbox": origin.mailbox, "uidvalidity": origin.uidvalidity, "uid": origin.uid,
            "raw": raw.decode("utf-8", "replace")})
        return
    if parsed.bounced and await email.bounced(core, workspace_id, parsed.bounced,
                                              _first_line(parsed.text)):
        return
    thread = await email.thread_of(core, workspace_id, parsed.thread_ids(),
                                   case_token(parsed.subject))
    await receive_inbound(core, message(workspace_id, parsed, origin, thread))


def message(workspace_id: int, parsed: ParsedEmail, origin: Origin,
            thread: int | None) -> InboundMessage:
    body = parsed.new_text or parsed.text
    problems = list(parsed.problems)
    if len(body) > MAX_BODY_CHARS:
        problems.append(f"text over {MAX_BODY_CHARS} characters: cut")
        body = body[:MAX_BODY_CHARS]
    return InboundMessage(
        workspace_id=workspace_id, channel="email", sender=parsed.sender,
        sender_name=parsed.sender_name, body=body,
        provider_message_id=parsed.message_id or origin.fallback_id(),
        subject=parsed.subject, queue=origin.queue, our_address=origin.address,
        attachments=tuple(Attachment(a.content_type, None, a.filename, a.content)
                          for a in parsed.attachments if a.content is not None),
        raw={"mailbox": origin.mailbox, "uid": origin.uid, "to": list(parsed.to),
             "html": parsed.html, "quoted": parsed.quoted, "signature": parsed.signature,
             "automatic": parsed.automatic, "problems": problems,
             "references": list(parsed.thread_ids())},
        threaded=True, thread=thread)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "delivery failed")
