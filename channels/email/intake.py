"""One email's bytes into the contact center: a bounce marks the reply it reports failed, any
other mail joins the thread it answers or starts one. Mail nothing can be made of is kept raw
and flagged for a supervisor, never dropped."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from channels.email.parse import ParsedEmail, Unreadable, case_token, parse_email
from contactcenter.actions import email, receive_inbound
from contactcenter.actions.intake import MAX_BODY_CHARS, keep_unreadable
from contactcenter.core import Core
from contactcenter.errors import InputError
from contactcenter.identity import InvalidAddress, normalize_email
from contactcenter.models import Attachment, InboundMessage

SOURCE = "email"
# Senders worked on at once; the pool has ten connections.
CONCURRENCY = 8
_FROM = re.compile(rb"^From:(.*)$", re.IGNORECASE | re.MULTILINE)


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


async def take_in_all(core: Core, workspace_id: int, fetched: list[tuple[bytes, Origin]]) -> None:
    """A batch of emails: one sender's in order, several senders' side by side (each holds a
    database connection for its round trips). The first failure stops the batch and is raised:
    the caller takes it in again later, and what was stored is recognised by its Message-ID."""
    by_sender: dict[bytes, list[tuple[bytes, Origin]]] = {}
    for raw, origin in fetched:
        sender = _FROM.search(raw)
        by_sender.setdefault(sender.group(1).strip().lower() if sender else b"", []).append(
            (raw, origin))
    lanes = asyncio.Semaphore(CONCURRENCY)

    async def in_order(emails: list[tuple[bytes, Origin]]) -> None:
        async with lanes:
            for raw, origin in emails:
                await take_in(core, workspace_id, raw, origin)

    tasks = [asyncio.create_task(in_order(emails)) for emails in by_sender.values()]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def take_in(core: Core, workspace_id: int, raw: bytes, origin: Origin) -> None:
    try:
        parsed = parse_email(raw)
    except Unreadable as exc:
        await keep_unreadable(core, workspace_id, SOURCE, str(exc), {
            **_where(origin), "raw": raw.decode("utf-8", "replace")})
        return
    if parsed.bounced and await email.bounced(core, workspace_id, parsed.bounced,
                                              _first_line(parsed.text)):
        return
    token = case_token(parsed.subject)
    thread = await email.thread_of(
        core, workspace_id, _normalized(parsed.sender), parsed.thread_ids(),
        token.interaction_id if token else None, token.key if token else None)
    # Never acknowledged: automatic mail, or two auto-responders would answer each other forever.
    acknowledge = core.config.channels.email.acknowledge if parsed.automatic is None else ""
    try:
        await receive_inbound(core, message(workspace_id, parsed, origin, thread),
                              acknowledge=acknowledge or None)
    except InputError as exc:  # e.g. a sender address no one can write back to
        await keep_unreadable(core, workspace_id, SOURCE, exc.message, {
            **_where(origin), "raw": raw.decode("utf-8", "replace")})


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


def _normalized(sender: str) -> str:
    """The sender as identities are kept (an address intake will refuse matches nothing)."""
    try:
        return normalize_email(sender)
    except InvalidAddress:
        return sender


def _where(origin: Origin) -> dict[str, object]:
    return {"mailbox": origin.mailbox, "uidvalidity": origin.uidvalidity, "uid": origin.uid}


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "delivery failed")
