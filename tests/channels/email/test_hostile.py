"""Mail built to hurt, read as production reads it: none stops the mailbox, none holds the
event loop, none is lost (each is stored, or kept byte for byte and flagged), and the ordinary
message after it is stored."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from channels.email import imap_reader, intake
from channels.email.imap_reader import MailboxReader, _within_budget
from channels.email.intake import Origin, take_in, take_in_all
from contactcenter.core import Core
from tests.channels.email.conftest import USER
from tests.channels.email.test_intake import _all_seen, email_count, mailbox, numbered
from tests.dovecot import Dovecot
from tests.live import eventually


def nested(depth: int) -> bytes:
    """Multiparts inside one another, deeper than Python's stack lets its parser go."""
    body = b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for level in range(depth, 0, -1):
        body = (b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n%s\r\n--b%d--\r\n"
                % (level, level, body, level))
    return b"From: deep@example.com\r\nSubject: deep\r\nMessage-ID: <deep@example.com>\r\n" + body


def hostile() -> list[bytes]:
    html = b"<p>Order <b>1042</b> is late &amp; I am not happy</p>\n" * 300_000  # 15 MB
    many = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % n for n in range(5000))
    return [
        nested(1000),
        b"From: html@example.com\r\nSubject: huge html\r\nMessage-ID: <html@example.com>\r\n"
        b"Content-Type: text/html\r\n\r\n" + html,
        b"From: parts@example.com\r\nSubject: parts\r\nMessage-ID: <parts@example.com>\r\n"
        b"Content-Type: multipart/mixed; boundary=p\r\n\r\n" + many + b"--p--\r\n",
        b"From: header@example.com\r\nSubject: " + b"x" * 2_000_000 + b"\r\n"
        b"Message-ID: <header@example.com>\r\n\r\nlong subject\r\n",
        b"From: file@example.com\r\nSubject: file\r\nMessage-ID: <file@example.com>\r\n"
        b"Content-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\n"
        b"the file\r\n--f\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; "
        b"filename=big.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"\1" * 30_000_000) + b"\r\n--f--\r\n",
    ]


@pytest.fixture
async def loop_lag() -> AsyncIterator[list[float]]:
    """The longest the event loop was held, measured by a ticker every 10 ms."""
    worst = [0.0]

    async def tick() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst[0] = max(worst[0], time.perf_counter() - before - 0.01)

    ticker = asyncio.create_task(tick())
    yield worst
    ticker.cancel()


async def test_hostile_mail_neither_holds_the_loop_nor_stops_the_next_message(
    core: Core, workspace_id: int, loop_lag: list[float]
) -> None:
    batch = [(raw, Origin("default", USER, None, 9, uid))
             for uid, raw in enumerate([*hostile(), numbered(1)], start=1)]
    await take_in_all(core, workspace_id, batch)
    subjects = {r["subject"]: r for r in await core.pool.fetch(
        """SELECT i.subject, m.body, m.raw FROM messages m JOIN interactions i
           ON i.id = m.interaction_id WHERE m.direction = 'inbound'""")}
    assert subjects["Question 1"]["body"] == "Question 1?"
    assert subjects["huge html"]["body"].startswith("Order 1042 is late & I am not happy")
    assert subjects["parts"]["body"].startswith("part 0")
    assert subjects["file"]["body"] == "the file"
    assert any("big.zip over" in p for p in subjects["file"]["raw"]["problems"])
    kept = await core.pool.fetchrow("SELECT problem, raw FROM unreadable_payloads")
    assert kept["problem"].startswith("could not be read as MIME: RecursionError")
    assert kept["raw"] == batch[0][0]
    assert await core.pool.fetchval("SELECT count(*) FROM unreadable_payloads") == 1
    # Parsing runs off the loop, every slow step after a size bound: the loop stays free (the
    # machine's figures: docs/email.md).
    assert loop_lag[0] < 1.0


async def test_a_poison_message_in_the_mailbox_is_kept_raw_and_the_mailbox_goes_on(
    core: Core, workspace_id: int, dovecot: Dovecot
) -> None:
    dovecot.deliver(nested(1000))
    dovecot.deliver(numbered(2))
    await _read_until(core, workspace_id, dovecot, stored=1, seen=2)
    kept = await core.pool.fetchrow("SELECT raw, payload FROM unreadable_payloads")
    assert kept["raw"].replace(b"\r\n", b"\n") == nested(1000).replace(b"\r\n", b"\n")
    assert kept["payload"]["uid"] == 1


async def test_a_message_that_keeps_failing_is_kept_after_three_tries(
    core: Core, workspace_id: int, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug some message triggers (not the database being away) costs that message three
    tries, then it is kept raw and flagged: the mailbox is never stuck on it."""
    real = intake.receive_inbound  # type: ignore[attr-defined]

    async def buggy(core: Core, msg: Any, **kwargs: Any) -> Any:
        if msg.sender == "poison@example.com":
            raise ValueError("a bug this message triggers")
        return await real(core, msg, **kwargs)

    monkeypatch.setattr(intake, "receive_inbound", buggy)
    poison = b"From: poison@example.com\r\nMessage-ID: <p@example.com>\r\n\r\nboom\r\n"
    batch = [(poison, Origin("default", USER, None, 9, 1)),
             (numbered(3), Origin("default", USER, None, 9, 2))]
    failures: dict[tuple[str, int, int], int] = {}
    for _ in range(intake.MAX_ATTEMPTS - 1):
        with pytest.raises(ValueError, match="a bug this message triggers"):
            await take_in_all(core, workspace_id, batch, failures)
    with caplog.at_level(logging.INFO, "channels.email.intake"):
        await take_in_all(core, workspace_id, batch, failures)
    assert await email_count(core) == 1
    kept = await core.pool.fetchrow("SELECT problem, raw FROM unreadable_payloads")
    assert kept["problem"] == ("failed 3 times to be taken in: ValueError: a bug this message "
                               "triggers")
    assert kept["raw"] == poison
    assert failures == {}
    assert "kept raw as flagged payload" in caplog.text


async def test_one_message_id_on_other_content_is_stored_and_a_refetch_is_not(
    core: Core, workspace_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    first = b"From: a@example.com\r\nMessage-ID: <same@example.com>\r\nSubject: s\r\n\r\none\r\n"
    other = b"From: b@example.com\r\nMessage-ID: <same@example.com>\r\nSubject: s\r\n\r\ntwo\r\n"
    with caplog.at_level(logging.INFO, "channels.email.intake"):
        for uid, raw in enumerate((first, other, first, other), start=1):
            await take_in(core, workspace_id, raw, Origin("default", USER, None, 9, uid))
    assert await email_count(core) == 2
    assert caplog.text.count("taken in before, not stored again") == 2
    ids = sorted(r["provider_message_id"] for r in await core.pool.fetch(
        "SELECT provider_message_id FROM messages WHERE direction = 'inbound'"))
    assert ids[0] == "<same@example.com>"
    assert ids[1].startswith("<same@example.com>#")


def test_a_batch_is_fetched_within_a_byte_budget() -> None:
    budget, limit = imap_reader.BATCH_BYTES, imap_reader.MAX_MESSAGE_BYTES
    assert _within_budget([1, 2, 3], {1: budget // 2, 2: budget // 2, 3: 1}) == [1, 2]
    assert _within_budget([1, 2], {1: budget * 2, 2: 1}) == [1]  # one message always goes
    assert _within_budget([1, 2], {1: limit + 1, 2: 1}) == [1]  # alone: only its headers
    assert _within_budget([1, 2, 3], {1: 1, 2: limit + 1, 3: 1}) == [1]


async def test_a_message_over_the_size_limit_is_left_in_the_mailbox_and_flagged(
    core: Core, workspace_id: int, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap_reader, "MAX_MESSAGE_BYTES", 5000)
    monkeypatch.setattr(imap_reader, "BATCH_BYTES", 600)  # a batch of about two small ones
    dovecot.deliver(numbered(1))
    dovecot.deliver(b"From: big@example.com\r\nSubject: big\r\nMessage-ID: <big@example.com>"
                    b"\r\n\r\n" + b"y" * 10_000 + b"\r\n")
    for n in range(2, 6):
        dovecot.deliver(numbered(n))
    await _read_until(core, workspace_id, dovecot, stored=5, seen=6)
    kept = await core.pool.fetchrow("SELECT problem, raw FROM unreadable_payloads")
    assert kept["problem"] == ("a message of 10 KB, over the 5 KB the reader fetches: left in "
                               "the mailbox (its headers are kept here)")
    assert kept["raw"].startswith(b"From: big@example.com")
    assert b"yyyy" not in kept["raw"]  # its headers only


async def _read_until(core: Core, workspace_id: int, dovecot: Dovecot, *, stored: int,
                      seen: int) -> None:
    """Run the mailbox's reader until `stored` emails are stored and `seen` marked seen."""
    async def enough_stored() -> bool:
        return await email_count(core) >= stored

    reader = asyncio.create_task(MailboxReader(core, workspace_id, mailbox(dovecot)).run())
    try:
        await eventually(enough_stored)
        await eventually(lambda: _all_seen(dovecot, seen))
    finally:
        reader.cancel()
