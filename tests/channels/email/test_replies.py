"""An agent answers an email: the reply leaves through a real SMTP server (aiosmtpd) with the
headers that thread it, and the customer's answer to it, read from Dovecot, joins the same
interaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient

from channels.email import smtp_sender
from contactcenter.actions import add_user, outbox
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.settings import MailServer, Settings
from contactcenter.web.app import create_app
from tests.channels.email.conftest import PASSWORD as MAILBOX_PASSWORD
from tests.channels.email.conftest import USER, SmtpInbox
from tests.conftest import PASSWORD, AiohttpClient
from tests.dovecot import Dovecot
from tests.live import eventually, login, state_is


async def _email_app(aiohttp_client: AiohttpClient, settings: Settings, dovecot: Dovecot,
                     smtp: SmtpInbox) -> TestClient[Any, Any]:
    env = replace(settings.env,
                  imap=MailServer("127.0.0.1", dovecot.port, USER, MAILBOX_PASSWORD, "none"),
                  smtp=MailServer("127.0.0.1", smtp.port, "", "", "none"), email_address=USER)
    channels = settings.file.channels.model_copy(update={
        "email": settings.file.channels.email.model_copy(update={"enabled": True})})
    workspace = settings.file.workspace.model_copy(update={"name": "Northwind Support"})
    file = settings.file.model_copy(update={"channels": channels, "workspace": workspace})
    assert env.database_url is not None
    assert env.redis_url is not None
    return await aiohttp_client(create_app(Settings(file=file, env=env), env.database_url,
                                           env.redis_url))


def question(sender: str, message_id: str, subject: str, body: str, **headers: str) -> bytes:
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return (f"From: Jordan Lee <{sender}>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\n{extra}\r\n{body}\r\n").encode()


async def _assigned(client: TestClient[Any, Any], core: Core,
                    workspace_id: int) -> tuple[int, dict[str, str]]:
    await add_user(core, workspace_id, NewUser("dev@example.com", "Dev Patel", "agent", PASSWORD,
                                               {"support": 5}))
    iid: int = await eventually(lambda: core.pool.fetchval("SELECT id FROM interactions"))
    headers = {"X-CSRF-Token": await login(client, "dev@example.com", PASSWORD)}
    await client.put("/api/me/presence", json={"presence": "available"}, headers=headers)
    await eventually(lambda: state_is(core, iid, "offered"))
    await client.post(f"/api/interactions/{iid}/accept", headers=headers)
    await eventually(lambda: state_is(core, iid, "assigned"))
    return iid, headers


async def test_a_reply_threads_and_the_answer_to_it_comes_back_to_the_same_interaction(
    aiohttp_client: AiohttpClient, settings: Settings, core: Core, workspace_id: int,
    dovecot: Dovecot, smtp_inbox: SmtpInbox,
) -> None:
    client = await _email_app(aiohttp_client, settings, dovecot, smtp_inbox)
    dovecot.deliver(question("jordan@example.com", "<q1@example.com>", "Charged twice",
                             "Hello, I was charged twice for order 1042."))
    iid, headers = await _assigned(client, core, workspace_id)
    resp = await client.post(f"/api/interactions/{iid}/messages", headers=headers,
                             json={"body": "Sorry! The second charge is refunded.\n\nDev"})
    assert resp.status == 201
    reply_id = (await resp.json())["id"]

    acknowledged, mail = await eventually(lambda: _received(smtp_inbox, 2))
    assert acknowledged["Subject"] == f"Re: Charged twice [#{iid}]"
    assert acknowledged["From"] == f"Northwind Support <{USER}>"  # no agent wrote it
    assert acknowledged["Auto-Submitted"] == "auto-replied"  # no auto-responder answers it
    assert mail["Auto-Submitted"] is None
    assert acknowledged.get_body(("plain",)).get_content().startswith(
        f"Thank you for writing to us. Your case number is {iid};")
    assert mail["To"] == "jordan@example.com"
    assert mail["From"] == f"Dev Patel <{USER}>"
    assert mail["Subject"] == f"Re: Charged twice [#{iid}]"
    assert mail["In-Reply-To"] == "<q1@example.com>"
    # The thread so far: Jordan's mail, and our acknowledgement once it had its Message-ID.
    assert mail["References"] in ("<q1@example.com>",
                                  f"<q1@example.com> {acknowledged['Message-ID']}")
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None
    assert html is not None
    sent_text = plain.get_content().replace("\r\n", "\n").strip()  # CRLF on the wire
    assert sent_text == "Sorry! The second charge is refunded.\n\nDev"
    assert "<p>Sorry! The second charge is refunded.</p>" in html.get_content()
    ours = mail["Message-ID"]
    stored = await eventually(lambda: core.pool.fetchrow(
        """SELECT delivery_status, provider_message_id FROM messages
           WHERE id = $1 AND delivery_status = 'sent'""", reply_id))
    assert stored["provider_message_id"] == ours

    # Jordan's client answers with the headers; the subject is theirs to change.
    dovecot.deliver(question("jordan@example.com", "<q2@example.com>", "Thanks!",
                             "Great, thank you.", In_Reply_To=ours,
                             References=f"<q1@example.com> {ours}"))
    rows = await eventually(lambda: _inbound(core, 2))
    assert [r["interaction_id"] for r in rows] == [iid, iid]


async def test_a_permanent_smtp_refusal_fails_the_reply_with_the_servers_answer(
    aiohttp_client: AiohttpClient, settings: Settings, core: Core, workspace_id: int,
    dovecot: Dovecot, smtp_inbox: SmtpInbox,
) -> None:
    client = await _email_app(aiohttp_client, settings, dovecot, smtp_inbox)
    dovecot.deliver(question("refused@example.com", "<r1@example.com>", "Hello", "Hi there"))
    iid, headers = await _assigned(client, core, workspace_id)
    resp = await client.post(f"/api/interactions/{iid}/messages", headers=headers,
                             json={"body": "Hello!"})
    reply_id = (await resp.json())["id"]
    failed = await eventually(lambda: core.pool.fetchrow(
        """SELECT delivery_status, delivery_error, send_attempts FROM messages
           WHERE id = $1 AND delivery_status = 'failed'""", reply_id))
    assert failed["delivery_error"].startswith("550")
    assert failed["send_attempts"] == 1
    assert smtp_inbox.received == []  # not even the acknowledgement: that address is refused
    assert outbox.backoff(1, smtp_sender.BACKOFF_BASE_SECONDS, smtp_sender.BACKOFF_CAP_SECONDS) == 2.0


async def _received(smtp: SmtpInbox, count: int) -> list[Any] | None:
    return list(smtp.received) if len(smtp.received) >= count else None


async def _inbound(core: Core, count: int) -> list[Any] | None:
    rows = await core.pool.fetch(
        "SELECT interaction_id FROM messages WHERE direction = 'inbound' ORDER BY id")
    return rows if len(rows) >= count else None
