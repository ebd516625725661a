"""One email's bytes into the contact center: a bounce marks the reply it reports failed, any
other mail joins the thread it answers or starts one. Mail nothing can be made of is kept byte
for byte and flagged for a supervisor, never dropped; a message that fails again and again for
any other reason (a bug it triggers) is kept so too after MAX_ATTEMPTS, so no message can stop
its mailbox. Parsing runs in a small thread pool, off the event loop. Every outcome is one log
line."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import asyncpg
import redis.exceptions

from channels.email.parse import ParsedEmail, Unreadable, case_token, parse_email
from contactcenter.actions import email, receive_inbound
from contactcenter.actions.intake import MAX_BODY_CHARS, MAX_PROVIDER_ID_CHARS, keep_unreadable
from contactcenter.core import Core
from contactcenter.errors import InputError
from contactcenter.identity import InvalidAddress, normalize_email
from contactcenter.models import Attachment, InboundMessage, InboundResult

log = logging.getLogger(__name__)

SOURCE = "email"
# Senders worked on at once; the pool has ten connections.
CONCURRENCY = 8
# Tries of one message that fails with something other than the database or Redis being away,
# before it is kept raw and flagged and the mailbox moves on.
MAX_ATTEMPTS = 3
_FROM = re.compile(rb"^From:(.*)$", re.IGNORECASE | re.MULTILINE)
# Two parsers at once: enough to keep up with a mailbox, and a hostile message holds one core at
# most, never the event loop.
_PARSERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="email-parse")
# The store being away: the batch is tried again later, and the message is not to blame.
UNAVAILABLE = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
               asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError,
               redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


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

    def key(self) -> tuple[str, int, int]:
        return self.mailbox, self.uidvalidity, self.uid


async def take_in_all(core: Core, workspace_id: int, fetched: list[tuple[bytes, Origin]],
                      failures: dict[tuple[str, int, int], int] | None = None) -> None:
    """A batch of emails: one sender's in order, several senders' side by side (each holds a
    database connection for its round trips). A failure stops the batch and is raised, and the
    caller takes it in again later (what was stored is recognised by its Message-ID); but a
    message that fails MAX_ATTEMPTS times (counted in `failures`) with the store reachable is
    kept raw and flagged instead, and the batch goes on."""
    failures = {} if failures is None else failures
    by_sender: dict[bytes, list[tuple[bytes, Origin]]] = {}
    for raw, origin in fetched:
        sender = _FROM.search(raw)
        by_sender.setdefault(sender.group(1).strip().lower() if sender else b"", []).append(
            (raw, origin))
    lanes = asyncio.Semaphore(CONCURRENCY)

    async def in_order(emails: list[tuple[bytes, Origin]]) -> None:
        async with lanes:
            for raw, origin in emails:
                try:
                    await take_in(core, workspace_id, raw, origin)
                except UNAVAILABLE:
                    raise
                except Exception as exc:
                    tries = failures[origin.key()] = failures.get(origin.key(), 0) + 1
                    if tries < MAX_ATTEMPTS:
                        raise
                    log.exception("email uid %d in %s failed %d times: kept raw and flagged",
                                  origin.uid, origin.mailbox, tries)
                    await _keep(core, workspace_id, raw, origin,
                                f"failed {tries} times to be taken in: {type(exc).__name__}: {exc}")
                failures.pop(origin.key(), None)

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
        parsed = await asyncio.get_running_loop().run_in_executor(_PARSERS, parse_email, raw)
    except Unreadable as exc:
        await _keep(core, workspace_id, raw, origin, str(exc))
        return
    except Exception as exc:  # nesting past Python's stack, or any bug on strange bytes
        log.warning("email uid %d in %s could not be parsed (%s: %s)", origin.uid,
                    origin.mailbox, type(exc).__name__, exc)
        await _keep(core, workspace_id, raw, origin,
                    f"could not be read as MIME: {type(exc).__name__}: {exc}"[:500])
        return
    if parsed.bounced and await email.bounced(core, workspace_id, parsed.bounced,
                                              _first_line(parsed.text)):
        log.info("email uid %d in %s: a bounce of %s", origin.uid, origin.mailbox,
                 ", ".join(parsed.bounced))
        return
    token = case_token(parsed.subject)
    thread = await email.thread_of(
        core, workspace_id, _normalized(parsed.sender), parsed.thread_ids(),
        token.interaction_id if token else None, token.key if token else None)
    # Never acknowledged: automatic mail, or two auto-responders would answer each other forever.
    acknowledge = core.config.channels.email.acknowledge if parsed.automatic is None else ""
    inbound = message(workspace_id, parsed, origin, thread)
    try:
        result = await receive_inbound(core, inbound, acknowledge=acknowledge or None)
        if result.duplicate and await _other_message(core, workspace_id, inbound):
            # The same Message-ID on other content (ids are not unique in the wild): kept too.
            inbound = _with_own_id(inbound)
            result = await receive_inbound(core, inbound, acknowledge=acknowledge or None)
    except InputError as exc:  # e.g. a sender address no one can write back to
        await _keep(core, workspace_id, raw, origin, exc.message)
        return
    _log_outcome(origin, parsed, inbound, result)


async def keep_too_large(core: Core, workspace_id: int, headers: bytes, origin: Origin,
                         size: int, limit: int) -> None:
    """A message over the size the reader fetches: its headers flagged, itself left in the
    mailbox for a person."""
    await _keep(core, workspace_id, headers, origin,
                f"a message of {_size(size)}, over the {_size(limit)} the reader fetches: left "
                "in the mailbox (its headers are kept here)")


def _size(count: int) -> str:
    return f"{count / 2**20:.0f} MB" if count >= 2**20 else f"{count / 1024:.0f} KB"


def _log_outcome(origin: Origin, parsed: ParsedEmail, inbound: InboundMessage,
                 result: InboundResult) -> None:
    """One line: where it went, and what of it was repaired or left out (a warning when part of
    it is not in the conversation: a file not stored, text cut, parts not read)."""
    where = f"email uid {origin.uid} in {origin.mailbox} ({inbound.provider_message_id})"
    if result.duplicate:
        log.info("%s from %s: taken in before, not stored again", where, parsed.sender)
        return
    problems = inbound.raw["problems"] if inbound.raw else []
    lost = any(word in p for p in problems for word in _LOST)
    log.log(logging.WARNING if lost else logging.INFO, "%s from %s: stored in interaction %d%s%s%s",
            where, parsed.sender, result.interaction_id,
            " (new)" if result.new_interaction else "",
            f"; automatic: {parsed.automatic}" if parsed.automatic else "",
            f"; {'; '.join(problems)}" if problems else "")


_LOST = ("not stored", "cut", "not read", "kept whole")


async def _keep(core: Core, workspace_id: int, raw: bytes, origin: Origin, reason: str) -> None:
    """Kept byte for byte, with a readable start for the supervisor's list."""
    payload_id = await keep_unreadable(core, workspace_id, SOURCE, reason, {
        **_where(origin), "bytes": len(raw), "start": raw[:2000].decode("utf-8", "replace")},
        raw=raw)
    log.warning("email uid %d in %s kept raw as flagged payload %d: %s", origin.uid,
                origin.mailbox, payload_id, reason)


def _digest(sender: str, subject: str, body: str) -> str:
    """What makes two messages with one Message-ID the same message: sender, subject, text."""
    content = "\0".join((sender.lower(), subject, body))
    return hashlib.sha256(content.encode("utf-8", "replace")).hexdigest()[:16]


async def _other_message(core: Core, workspace_id: int, inbound: InboundMessage) -> bool:
    """True when the stored message with this Message-ID has other content than this one."""
    stored: str | None = await core.pool.fetchval(
        """SELECT raw->>'digest' FROM messages WHERE workspace_id = $1 AND channel = 'email'
             AND provider_message_id = $2""", workspace_id, inbound.provider_message_id)
    return stored is not None and stored != _digest_of(inbound)


def _digest_of(inbound: InboundMessage) -> str:
    return _digest(inbound.sender, inbound.subject or "", inbound.body)


def _with_own_id(inbound: InboundMessage) -> InboundMessage:
    suffix = f"#{_digest_of(inbound)}"
    own = (inbound.provider_message_id or "")[:MAX_PROVIDER_ID_CHARS - len(suffix)] + suffix
    return replace(inbound, provider_message_id=own)


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
             "references": list(parsed.thread_ids()),
             "digest": _digest(parsed.sender, parsed.subject, body)},
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
