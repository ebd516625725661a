"""Email into the contact center: read from a real Dovecot over IMAP, threaded, bounces and
unreadable mail handled, and nothing lost or doubled across a restart."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path
from typing import Any

import aioimaplib
import pytest
from aiohttp.test_utils import TestClient

from channels.email import imap_reader, intake
from channels.email.imap_reader import Mailbox, MailboxReader
from channels.email.intake import Origin, take_in
from contactcenter.core import Core
from contactcenter.settings import MailServer
from tests.channels.email.conftest import PASSWORD as MAILBOX_PASSWORD
from tests.channels.email.conftest import USER
from tests.conftest import PASSWORD
from tests.dovecot import Dovecot, running_dovecot
from tests.live import eventually, login

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "email"


def mailbox(dovecot: Dovecot) -> Mailbox:
    return Mailbox("default", MailServer("127.0.0.1", dovecot.port, USER, MAILBOX_PASSWORD, "none"),
                   "INBOX", USER, None, None)


def numbered(n: int) -> bytes:
    return (f"From: Customer {n} <customer{n % 7}@example.com>\r\nTo: {USER}\r\n"
            f"Subject: Question {n}\r\nMessage-ID: <q{n}@example.com>\r\n\r\nQuestion {n}?\r\n"
            ).encode()


async def email_count(core: Core) -> int:
    count: int = await core.pool.fetchval(
        "SELECT count(*) FROM messages WHERE channel = 'email' AND direction = 'inbound'")
    return count


async def test_mail_delivered_to_the_mailbox_becomes_routed_interactions(
    core: Core, workspace_id: int, dovecot: Dovecot
) -> None:
    for name in ("mixed_related_attachments.eml", "koi8r_subject_and_body.eml"):
        dovecot.deliver((CORPUS / name).read_bytes())
    reader = asyncio.create_task(MailboxReader(core, workspace_id, mailbox(dovecot)).run())
    try:
        await eventually(lambda: _at_least(core, 2))
        # Delivered while the reader waits in IDLE: taken in within moments.
        dovecot.deliver((CORPUS / "html_only_with_script.eml").read_bytes())
        await eventually(lambda: _at_least(core, 3))
        await eventually(lambda: _all_seen(dovecot, 3))  # marked once the batch is stored
    finally:
        reader.cancel()
    rows = await core.pool.fetch(
        """SELECT i.subject, i.state, m.body, m.provider_message_id, c.display_name,
                  (SELECT count(*) FROM attachments a WHERE a.message_id = m.id) AS files
           FROM messages m JOIN interactions i ON i.id = m.interaction_id
           JOIN customers c ON c.id = i.customer_id
           WHERE m.direction = 'inbound' ORDER BY i.subject""")
    # Two senders' mail is taken in side by side: compared by subject, not by order.
    assert [(r["subject"], r["state"], r["files"]) for r in rows] == [
        ("Broken link on your site", "queued", 0),
        ("Invoice and a screenshot", "queued", 2),
        ("Помогите, двойной платёж", "queued", 0)]
    assert rows[2]["display_name"] == "Иван Петров"
    assert rows[0]["body"].startswith("Hello,\n\nThe shop link gives an error.")


async def test_a_restart_in_the_middle_of_a_batch_loses_and_doubles_nothing(
    core: Core, workspace_id: int, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = imap_reader.BATCH + 20
    for n in range(total):
        dovecot.deliver(numbered(n))
    taken = 0

    class ProcessKilled(BaseException):
        """Not an error the reader could catch: the process is gone."""

    async def crashing(*args: Any) -> None:
        nonlocal taken
        taken += 1
        if taken == imap_reader.BATCH + 5:  # the server dies in the second batch
            raise ProcessKilled
        await take_in(*args)

    monkeypatch.setattr(intake, "take_in", crashing)
    with pytest.raises(ProcessKilled):
        await MailboxReader(core, workspace_id, mailbox(dovecot)).run()
    assert imap_reader.BATCH <= await email_count(core) < total

    monkeypatch.setattr(intake, "take_in", take_in)  # restarted
    again = asyncio.create_task(MailboxReader(core, workspace_id, mailbox(dovecot)).run())
    try:
        await eventually(lambda: _at_least(core, total))
        await asyncio.sleep(0.3)
    finally:
        again.cancel()
    ids = await core.pool.fetch(
        """SELECT provider_message_id FROM messages
           WHERE channel = 'email' AND direction = 'inbound' ORDER BY id""")
    assert sorted(r["provider_message_id"] for r in ids) == sorted(
        f"<q{n}@example.com>" for n in range(total))


def from_jordan(raw: bytes) -> bytes:
    """The same mail, sent by the customer of the Gmail reply fixture."""
    return re.sub(rb"^From: .*$", b"From: Jordan Lee <jordan.lee@example.com>", raw,
                  count=1, flags=re.MULTILINE)


async def test_replies_join_their_thread_by_message_id_or_case_token(
    core: Core, workspace_id: int
) -> None:
    origin = Origin("default", USER, None, 1, 1)
    await take_in(core, workspace_id, from_jordan(numbered(1)), origin)
    first, key = await core.pool.fetchrow("SELECT id, reply_key FROM interactions")
    await core.pool.execute(  # our answer, as the SMTP sender stores it
        """INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
               provider_message_id, delivery_status)
           VALUES ($1, $2, 'email', 'outbound', 'Answer', '<cc.41.8f2a@northwind.example>', 'sent')""",
        workspace_id, first)
    await take_in(core, workspace_id, (CORPUS / "gmail_reply_utf8.eml").read_bytes(), origin)
    by_token = numbered(2).replace(b"Subject: Question 2", f"Subject: Re: [#{first}-{key}]".encode())
    await take_in(core, workspace_id, from_jordan(by_token), origin)
    await take_in(core, workspace_id, from_jordan(numbered(3)), origin)  # a new thread
    rows = await core.pool.fetch(
        "SELECT interaction_id FROM messages WHERE direction = 'inbound' ORDER BY id")
    assert [r["interaction_id"] for r in rows][:3] == [first, first, first]
    assert rows[3]["interaction_id"] != first


async def test_a_stranger_naming_a_thread_starts_their_own(core: Core, workspace_id: int) -> None:
    """Subjects and In-Reply-To are claims: another sender who copies them (or guesses the
    case number) must neither join the conversation nor change where its replies go."""
    origin = Origin("default", USER, None, 1, 1)
    await take_in(core, workspace_id, from_jordan(numbered(1)), origin)
    first, key = await core.pool.fetchrow("SELECT id, reply_key FROM interactions")
    await core.pool.execute(
        """INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
               provider_message_id, delivery_status)
           VALUES ($1, $2, 'email', 'outbound', 'Answer', '<cc.41.8f2a@northwind.example>', 'sent')""",
        workspace_id, first)
    stranger = numbered(4)  # customer4@example.com
    for n, subject in enumerate((f"Re: [#{first}-{key}]", f"Re: [#{first}]")):
        await take_in(core, workspace_id, stranger.replace(b"Subject: Question 4",
                      f"Subject: {subject}".encode()).replace(b"<q4@", f"<s{n}@".encode()), origin)
    copied = stranger.replace(b"Message-ID: <q4@example.com>",
                              b"Message-ID: <s9@example.com>\r\nIn-Reply-To: <cc.41.8f2a@northwind.example>")
    await take_in(core, workspace_id, copied, origin)
    wrong_key = from_jordan(numbered(5)).replace(b"Subject: Question 5",
                                                 f"Subject: Re: [#{first}-000000]".encode())
    await take_in(core, workspace_id, wrong_key, origin)
    assert await core.pool.fetchval(
        "SELECT count(*) FROM messages WHERE interaction_id = $1 AND direction = 'inbound'",
        first) == 1
    assert await core.pool.fetchval("SELECT their_address FROM interactions WHERE id = $1",
                                    first) == "jordan.lee@example.com"
    assert await core.pool.fetchval("SELECT count(*) FROM interactions") == 5


async def test_a_bounce_fails_the_reply_it_reports_and_starts_nothing(
    core: Core, workspace_id: int
) -> None:
    origin = Origin("default", USER, None, 1, 1)
    await take_in(core, workspace_id, numbered(1), origin)
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    await core.pool.execute(
        """INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
               provider_message_id, delivery_status)
           VALUES ($1, $2, 'email', 'outbound', 'Answer', '<cc.12.77aa@northwind.example>', 'sent')""",
        workspace_id, iid)
    await take_in(core, workspace_id, (CORPUS / "bounce_dsn.eml").read_bytes(), origin)
    reply = await core.pool.fetchrow(
        """SELECT delivery_status, delivery_error FROM messages
           WHERE provider_message_id = '<cc.12.77aa@northwind.example>'""")
    assert reply["delivery_status"] == "failed"
    assert "could not be delivered" in reply["delivery_error"]
    assert await core.pool.fetchval("SELECT count(*) FROM interactions") == 1


async def test_mail_without_a_sender_is_kept_raw_and_flagged(core: Core, workspace_id: int) -> None:
    raw = b"Subject: who am I\r\n\r\nno sender at all \xff\xfe in no charset\r\n"
    await take_in(core, workspace_id, raw, Origin("default", USER, None, 9, 4))
    kept = await core.pool.fetchrow(
        "SELECT source, problem, payload, raw FROM unreadable_payloads")
    assert kept["source"] == "email"
    assert "no sender" in kept["problem"]
    assert kept["payload"]["uid"] == 4
    assert "no sender at all" in kept["payload"]["start"]
    assert kept["raw"] == raw  # byte for byte, whatever it holds


async def _at_least(core: Core, count: int) -> bool:
    return await email_count(core) >= count


async def _all_seen(dovecot: Dovecot, count: int) -> bool:
    return await _seen(dovecot) == count


async def _seen(dovecot: Dovecot) -> int:
    imap = aioimaplib.IMAP4("127.0.0.1", dovecot.port)
    await imap.wait_hello_from_server()
    await imap.login(USER, MAILBOX_PASSWORD)
    await imap.select("INBOX")
    found = await imap.uid_search("SEEN", charset=None)
    await imap.logout()
    return len(found.lines[0].split())


async def test_an_emails_files_are_downloadable_from_the_console(
    core: Core, workspace_id: int, client: TestClient[Any, Any], agent: str
) -> None:
    await take_in(core, workspace_id, (CORPUS / "mixed_related_attachments.eml").read_bytes(),
                  Origin("default", USER, None, 1, 1))
    await login(client, agent, PASSWORD)
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    view = await (await client.get(f"/api/interactions/{iid}")).json()
    [message] = [m for m in view["messages"] if m["direction"] == "inbound"]
    shot, invoice = message["attachments"]
    assert (shot["filename"], invoice["filename"]) == ("screenshot.png", "Rechnung März.pdf")
    png = await client.get(shot["url"])
    assert png.status == 200
    assert png.content_type == "image/png"
    assert (await png.read()).startswith(b"\x89PNG")
    pdf = await client.get(invoice["url"])
    assert pdf.headers["Content-Disposition"] == "inline; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
    assert (await client.get("/api/attachments/999999")).status == 404


async def test_the_quoted_history_is_kept_apart_for_the_console(
    core: Core, workspace_id: int, client: TestClient[Any, Any], agent: str
) -> None:
    await take_in(core, workspace_id, (CORPUS / "gmail_reply_utf8.eml").read_bytes(),
                  Origin("default", USER, None, 1, 1))
    await login(client, agent, PASSWORD)
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    view = await (await client.get(f"/api/interactions/{iid}")).json()
    [message] = [m for m in view["messages"] if m["direction"] == "inbound"]
    assert message["body"] == "Thanks, the refund arrived. Merci beaucoup \u2014 great service! \U0001F44D"
    assert "the second charge is refunded" in message["quoted"]


async def test_a_new_conversation_is_acknowledged_but_never_to_an_automatic_sender(
    core: Core, workspace_id: int
) -> None:
    origin = Origin("default", USER, None, 1, 1)
    await take_in(core, workspace_id, numbered(1), origin)
    await take_in(core, workspace_id, numbered(1), origin)  # delivered twice: one answer
    await take_in(core, workspace_id, (CORPUS / "out_of_office.eml").read_bytes(), origin)
    await take_in(core, workspace_id, (CORPUS / "mailing_list.eml").read_bytes(), origin)
    first: int = await core.pool.fetchval("SELECT min(id) FROM interactions")
    assert await core.pool.fetchval("SELECT count(*) FROM interactions") == 3
    told = await core.pool.fetch(
        "SELECT interaction_id, body, delivery_status FROM messages WHERE direction = 'outbound'")
    assert [tuple(r) for r in told] == [(first, (
        f"Thank you for writing to us. Your case number is {first}; we will answer soon."),
        "queued")]


async def test_a_mailbox_read_over_starttls(
    core: Core, workspace_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_dovecot(USER, MAILBOX_PASSWORD, starttls=True) as secure:
        trusting = ssl.create_default_context(cafile=str(secure.certificate))
        monkeypatch.setattr(ssl, "create_default_context", lambda: trusting)
        secure.deliver(numbered(1))
        box = Mailbox("default", MailServer("127.0.0.1", secure.port, USER, MAILBOX_PASSWORD,
                                            "starttls"), "INBOX", USER, None, None)
        reader = asyncio.create_task(MailboxReader(core, workspace_id, box).run())
        try:
            await eventually(lambda: _at_least(core, 1))
        finally:
            reader.cancel()


async def test_nul_characters_from_a_broken_mailer_are_replaced_not_fatal(
    core: Core, workspace_id: int
) -> None:
    raw = (b"From: Broken Mailer <broken@example.com>\r\nTo: support@example.com\r\n"
           b"Subject: Invoice\x00 42\r\nMessage-ID: <nul@example.com>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nTotal:\x00 12 EUR\r\n")
    await take_in(core, workspace_id, raw, Origin("default", USER, None, 9, 5))
    row = await core.pool.fetchrow(
        "SELECT i.subject, m.body, m.raw FROM messages m JOIN interactions i "
        "ON i.id = m.interaction_id WHERE m.provider_message_id = '<nul@example.com>'")
    assert (row["subject"], row["body"]) == ("Invoice\ufffd 42", "Total:\ufffd 12 EUR")
    assert "NUL characters replaced by \ufffd" in row["raw"]["problems"]


async def test_a_sender_no_one_can_write_back_to_is_kept_raw_and_flagged(
    core: Core, workspace_id: int
) -> None:
    raw = (b"From: <a b@example.com>\r\nSubject: spaces\x00\r\nMessage-ID: <sp@example.com>\r\n"
           b"\r\nhello\x00\r\n")
    await take_in(core, workspace_id, raw, Origin("default", USER, None, 9, 6))
    kept = await core.pool.fetchrow("SELECT problem, payload, raw FROM unreadable_payloads")
    assert kept["problem"] == "'\"a b\"@example.com' is not an email address"
    assert kept["payload"]["uid"] == 6
    assert "hello\ufffd" in kept["payload"]["start"]
    assert kept["raw"] == raw
    assert await email_count(core) == 0


async def test_the_reader_outlives_a_failure_to_store(
    core: Core, workspace_id: int, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mail read but not stored (here: the intake raising as it would with the database
    away) is tried again later; the reader goes on and takes it in once storing works."""
    dovecot.deliver(numbered(1))
    failures = 0
    real_take_in_all = intake.take_in_all

    async def flaky(*args: Any) -> None:
        nonlocal failures
        if failures < 2:
            failures += 1
            raise RuntimeError("the database is away")
        await real_take_in_all(*args)

    monkeypatch.setattr(intake, "take_in_all", flaky)
    reader = asyncio.create_task(MailboxReader(core, workspace_id, mailbox(dovecot)).run())
    try:
        await eventually(lambda: _at_least(core, 1), within=20)
    finally:
        reader.cancel()
    assert failures == 2
    assert not reader.done() or reader.cancelled()
