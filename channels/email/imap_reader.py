"""Reads a mailbox over IMAP (aioimaplib) and hands each new message to the email intake.

IDLE when the server offers it (a new message is taken in within moments), polling otherwise;
a dropped connection is opened again with backoff. Where reading stands (UIDVALIDITY and the
last UID taken in) is kept in PostgreSQL and moved only after a batch's messages are stored, so
a restart in the middle of a batch takes the rest of it in, and what it takes again is
recognised by its Message-ID. After a batch the messages are marked seen or moved, per config.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import aioimaplib
from aiohttp import web

from channels.email import intake
from channels.email.intake import Origin
from contactcenter.actions import email
from contactcenter.core import Core
from contactcenter.instruments import CHANNEL_ERRORS
from contactcenter.settings import MailServer, Settings
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID

log = logging.getLogger(__name__)

BATCH = 100
BATCH_BYTES = 32 * 1024 * 1024  # fetched at once at most (but always one message)
MAX_MESSAGE_BYTES = 50 * 1024 * 1024  # larger: left in the mailbox, its headers flagged
IDLE_SECONDS = 25 * 60  # servers drop an IDLE after 30 minutes; renew before
RECHECK_SECONDS = 5.0
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCHED = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(RuntimeError):
    """The server refused a command (NO or BAD)."""


@dataclass(frozen=True)
class Mailbox:
    name: str
    server: MailServer
    folder: str
    address: str | None
    queue: str | None
    move_to: str | None  # else: marked \Seen


class MailboxReader:
    poll_seconds = 30.0

    def __init__(self, core: Core, workspace_id: int, mailbox: Mailbox) -> None:
        self.core = core
        self.ws = workspace_id
        self.mailbox = mailbox
        self.failures: dict[tuple[str, int, int], int] = {}  # tries of messages that failed
        self.delay = 1.0

    async def run(self) -> None:
        """Until cancelled: connect, catch up, wait for more; on any failure, again later, each
        time twice as late until a batch goes through (connecting alone is no progress)."""
        while True:
            try:
                imap = await self._connect()
                try:
                    await self._follow(imap)
                finally:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(imap.logout(), 5)
            except (OSError, TimeoutError, ImapError, aioimaplib.Abort) as exc:
                log.warning("mailbox %s: %s; trying again in %.0f s", self.mailbox.name, exc, self.delay)
                CHANNEL_ERRORS.labels("email", "mailbox_unreachable").inc()
            except Exception:  # the database away, or a bug: never stop reading for good
                log.exception("mailbox %s: taking mail in failed; trying again in %.0f s",
                              self.mailbox.name, self.delay)
                CHANNEL_ERRORS.labels("email", "intake_failed").inc()
            await asyncio.sleep(self.delay)
            self.delay = min(60.0, self.delay * 2)

    async def _connect(self) -> aioimaplib.IMAP4:
        server = self.mailbox.server
        imap = (aioimaplib.IMAP4_SSL(server.host, server.port, ssl_context=ssl.create_default_context())
                if server.tls == "tls" else aioimaplib.IMAP4(server.host, server.port))
        await imap.wait_hello_from_server()
        if server.tls == "starttls":
            await _start_tls(imap, server.host)
        _ok(await imap.login(server.user, server.password), "LOGIN")
        return imap

    async def _follow(self, imap: aioimaplib.IMAP4) -> None:
        selected = _ok(await imap.select(self.mailbox.folder), f"SELECT {self.mailbox.folder}")
        validity = next((int(m.group(1)) for line in selected.lines
                         if (m := _UIDVALIDITY.search(line))), 0)
        while True:
            while await self.catch_up(imap, validity):
                pass
            if imap.has_capability("IDLE"):
                # IDLE hears of new mail at once; the look every RECHECK_SECONDS catches mail
                # that arrived between the last search and the IDLE starting.
                await imap.idle_start(timeout=IDLE_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await imap.wait_server_push(timeout=RECHECK_SECONDS)
                imap.idle_done()
                await asyncio.sleep(0)
            else:
                await asyncio.sleep(self.poll_seconds)

    async def catch_up(self, imap: aioimaplib.IMAP4, validity: int) -> bool:
        """Take in one batch of the messages not taken in yet; True if there may be more."""
        last = await email.mailbox_position(self.core, self.ws, self.mailbox.name, validity)
        found = _ok(await imap.uid_search(f"UID {last + 1}:*", charset=None), "UID SEARCH")
        # "n:*" names the last message even when its UID is below n.
        waiting = sorted(int(u) for line in found.lines[:1] for u in line.split()
                         if u.isdigit() and int(u) > last)[:BATCH]
        if not waiting:
            self.delay = 1.0
            return False
        sizes = _sizes(_ok(await imap.uid("fetch", ",".join(map(str, waiting)),
                                          "(UID RFC822.SIZE)"), "UID FETCH").lines)
        uids = _within_budget(waiting, sizes)
        wanted = ",".join(map(str, uids))
        origin = Origin(self.mailbox.name, self.mailbox.address, self.mailbox.queue, validity, 0)
        if sizes.get(uids[0], 0) > MAX_MESSAGE_BYTES:
            headers = _ok(await imap.uid("fetch", wanted, "(UID BODY.PEEK[HEADER])"), "UID FETCH")
            await intake.keep_too_large(self.core, self.ws, next(
                (raw for _, raw in _messages(headers.lines)), b""),
                replace(origin, uid=uids[0]), sizes[uids[0]], MAX_MESSAGE_BYTES)
        else:
            fetched = _ok(await imap.uid("fetch", wanted, "(UID BODY.PEEK[])"), "UID FETCH")
            await intake.take_in_all(self.core, self.ws, [
                (raw, replace(origin, uid=uid)) for uid, raw in _messages(fetched.lines)],
                self.failures)
        await email.taken_in_up_to(self.core, self.ws, self.mailbox.name, uids[-1])
        self.delay = 1.0
        if self.mailbox.move_to:
            _ok(await imap.uid("move", wanted, self.mailbox.move_to), "UID MOVE")
        else:
            _ok(await imap.uid("store", wanted, "+FLAGS", "(\\Seen)"), "UID STORE")
        return len(uids) < len(waiting) or len(waiting) == BATCH


def _sizes(lines: list[bytes | bytearray]) -> dict[int, int]:
    """UID -> RFC822.SIZE from a FETCH response."""
    out = {}
    for line in lines:
        uid, size = _FETCHED.search(line), _SIZE.search(line)
        if uid and size:
            out[int(uid.group(1))] = int(size.group(1))
    return out


def _within_budget(uids: list[int], sizes: dict[int, int]) -> list[int]:
    """The first UIDs whose messages fit in BATCH_BYTES together: always the first one, and a
    message over MAX_MESSAGE_BYTES alone (it is not fetched whole)."""
    if sizes.get(uids[0], 0) > MAX_MESSAGE_BYTES:
        return uids[:1]
    taken, total = [uids[0]], sizes.get(uids[0], 0)
    for uid in uids[1:]:
        size = sizes.get(uid, 0)
        if total + size > BATCH_BYTES or size > MAX_MESSAGE_BYTES:
            break
        taken.append(uid)
        total += size
    return taken


async def _start_tls(imap: aioimaplib.IMAP4, host: str) -> None:
    """STARTTLS, which aioimaplib lists but does not offer as a call: the command through its
    protocol, then the connection upgraded in place and the capabilities asked again (RFC 3501
    6.2.1: the ones announced before TLS no longer count)."""
    protocol = imap.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise ImapError("the server does not offer STARTTLS: use tls or another port")
    _ok(await asyncio.wait_for(protocol.execute(
        aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)), imap.timeout),
        "STARTTLS")
    protocol.transport = await protocol.loop.start_tls(
        protocol.transport, protocol, ssl.create_default_context(), server_hostname=host)
    await asyncio.wait_for(protocol.capability(), imap.timeout)


def _ok(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines[-1:]).decode("utf-8", "replace")
        raise ImapError(f"{what} refused: {response.result} {detail}")
    return response


def _messages(lines: list[bytes | bytearray]) -> list[tuple[int, bytes]]:
    """(UID, message) from a FETCH response: each message's literal follows the line that
    announces it (`* 3 FETCH (UID 7 BODY[] {1234}`)."""
    out = []
    for announce, literal in itertools.pairwise(lines):
        if isinstance(announce, bytes) and b"FETCH" in announce and announce.rstrip().endswith(b"}"):
            found = _FETCHED.search(announce)
            if found and isinstance(literal, bytearray | bytes):
                out.append((int(found.group(1)), bytes(literal)))
    return out


def mailboxes(settings: Settings) -> list[Mailbox]:
    """The default mailbox from CC_IMAP_* (with CC_EMAIL_ADDRESS), and the configured ones."""
    env, config = settings.env, settings.file.channels.email
    boxes = [Mailbox("default", env.imap, config.folder, env.email_address, None,
                     config.move_to or None)] if env.imap is not None else []
    return boxes + [
        Mailbox(box.name, MailServer(box.host, box.port, box.user,
                                     env.mailbox_passwords.get(box.password_env, ""), box.tls),
                box.folder, box.address, box.queue or None, box.move_to or None)
        for box in config.mailboxes]


async def readers_context(app: web.Application) -> AsyncIterator[None]:
    """One reader per mailbox while the app runs, when email is enabled."""
    core = app[CORE]
    tasks = [asyncio.create_task(MailboxReader(core, app[WORKSPACE_ID], box).run(),
                                 name=f"mailbox {box.name}")
             for box in (mailboxes(app[SETTINGS]) if core.config.channels.email.enabled else [])]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
