"""An agent answers an email: the reply leaves through a real SMTP server (aiosmtpd) with the
headers that thread it, and the customer's answer to it, read from Dovecot, joins the same
interaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from channels.email import smtp_sender
from contactcenter.actions import add_user, outbox, uploads
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.settings import MailServer, Settings
from contactcenter.web.app import create_app
from tests.channels.email.conftest import PASSWORD as MAILBOX_PASSWORD
from tests.channels.email.conftest import USER
from tests.conftest import PASSWORD, AiohttpClient
from tests.dovecot import Dovecot
from tests.live import eventually, login, state_is
from tests.smtp import SmtpInbox


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
    key = await core.pool.fetchval("SELECT reply_key FROM interactions WHERE id = $1", iid)
    assert acknowledged["Subject"] == f"Re: Charged twice [#{iid}-{key}]"
    assert acknowledged["From"] == f"Northwind Support <{USER}>"  # no agent wrote it
    assert acknowledged["Auto-Submitted"] == "auto-replied"  # no auto-responder answers it
    assert mail["Auto-Submitted"] is None
    assert acknowledged.get_body(("plain",)).get_content().startswith(
        f"Thank you for writing to us. Your case number is {iid};")
    assert mail["To"] == "jordan@example.com"
    assert mail["From"] == f"Dev Patel <{USER}>"
    assert mail["Subject"] == f"Re: Charged twice [#{iid}-{key}]"
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


async def test_files_uploaded_for_a_reply_leave_with_it(
    aiohttp_client: AiohttpClient, settings: Settings, core: Core, workspace_id: int,
    dovecot: Dovecot, smtp_inbox: SmtpInbox,
) -> None:
    client = await _email_app(aiohttp_client, settings, dovecot, smtp_inbox)
    dovecot.deliver(question("jordan@example.com", "<f1@example.com>", "Invoice please",
                             "Could you send me the invoice?"))
    iid, headers = await _assigned(client, core, workspace_id)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 400  # binary, 100 KB
    ids = []
    for name, content, declared in (("C:\\Users\\dev\\Rechnung März.pdf", pdf, "application/pdf"),
                                    ("notes.txt", "Grüße\n".encode(), "application/octet-stream")):
        form = FormData(quote_fields=False)  # the name as browsers send it, not %-encoded
        form.add_field("file", content, filename=name, content_type=declared)
        resp = await client.post(f"/api/interactions/{iid}/attachments", data=form,
                                 headers=headers)
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["id"])
    resp = await client.post(f"/api/interactions/{iid}/messages", headers=headers,
                             json={"body": "Here is the invoice.", "attachments": ids})
    assert resp.status == 201
    shown = (await resp.json())["attachments"]
    assert [(a["filename"], a["content_type"]) for a in shown] == [
        ("Rechnung März.pdf", "application/pdf"), ("notes.txt", "text/plain")]

    received = await eventually(lambda: _received(smtp_inbox, 2))
    mail = next(m for m in received if m["Auto-Submitted"] is None)
    assert mail.get_content_type() == "multipart/mixed"
    plain = mail.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().strip() == "Here is the invoice."
    files = [(a.get_filename(), a.get_content_type(), a.get_content_disposition(),
              a.get_payload(decode=True)) for a in mail.iter_attachments()]
    assert files == [("Rechnung März.pdf", "application/pdf", "attachment", pdf),
                     ("notes.txt", "text/plain", "attachment", "Grüße\n".encode())]

    # A file goes once: its id is spent with the reply that carried it.
    again = await client.post(f"/api/interactions/{iid}/messages", headers=headers,
                              json={"body": "And again", "attachments": ids[:1]})
    assert again.status == 409  # the request is well formed; the file is spent
    assert (await again.json())["error"] == "no_such_upload"


async def test_uploads_refused_with_a_reason(
    aiohttp_client: AiohttpClient, settings: Settings, core: Core, workspace_id: int,
    dovecot: Dovecot, smtp_inbox: SmtpInbox,
) -> None:
    client = await _email_app(aiohttp_client, settings, dovecot, smtp_inbox)
    dovecot.deliver(question("jordan@example.com", "<u1@example.com>", "Hi", "Hello"))
    iid, headers = await _assigned(client, core, workspace_id)
    url = f"/api/interactions/{iid}/attachments"

    async def refused(data: Any, status: int, code: str) -> None:
        resp = await client.post(url, data=data, headers=headers)
        assert resp.status == status, await resp.text()
        assert (await resp.json())["error"] == code

    await refused(b"just bytes", 415, "unsupported_media_type")
    other = FormData()
    other.add_field("note", "no file here", content_type="text/plain")
    await refused(other, 400, "no_file")
    empty = FormData()
    empty.add_field("file", b"", filename="empty.txt")
    await refused(empty, 400, "empty_file")
    huge = FormData()
    huge.add_field("file", b"x" * (uploads.MAX_FILE_BYTES + 1), filename="huge.bin")
    await refused(huge, 413, "file_too_large")
    assert await core.pool.fetchval("SELECT count(*) FROM attachments") == 0
    for broken in (b"--x\r\nbroken", b"no boundary at all"):
        resp = await client.post(url, data=broken, headers={
            **headers, "Content-Type": "multipart/form-data; boundary=x"})
        assert resp.status == 400, await resp.text()


async def _received(smtp: SmtpInbox, count: int) -> list[Any] | None:
    return list(smtp.received) if len(smtp.received) >= count else None


async def _inbound(core: Core, count: int) -> list[Any] | None:
    rows = await core.pool.fetch(
        "SELECT interaction_id FROM messages WHERE direction = 'inbound' ORDER BY id")
    return rows if len(rows) >= count else None
