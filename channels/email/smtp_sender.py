"""Sends agents' email replies through the SMTP server (aiosmtplib), TLS, STARTTLS or plain,
with login when a user is set.

Every node runs one; each reply is claimed by one node. A temporary refusal (4xx) or a server
that cannot be reached is retried with exponential backoff; a permanent refusal (5xx) fails the
reply with the server's answer, which the agent sees in the console.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiohttp import web

from channels.email.compose import Reply, ReplyFile, compose
from contactcenter.actions import email, outbox, uploads
from contactcenter.core import Core
from contactcenter.polling import ClaimingWorker, running
from contactcenter.settings import MailServer
from contactcenter.web.keys import CORE, SETTINGS, WORKSPACE_ID

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


class EmailSender(ClaimingWorker):
    poll_seconds = 1.0

    def __init__(self, core: Core, workspace_id: int, server: MailServer, address: str,
                 name: str) -> None:
        super().__init__()
        self.core = core
        self.ws = workspace_id
        self.server = server
        self.address = address
        self.name = name

    async def claim(self) -> list[dict[str, Any]]:
        return await outbox.claim(self.core, self.ws, "email",
                                  message_id_domain=self.address.rpartition("@")[2])

    async def handle(self, message: dict[str, Any]) -> None:
        if not message["their_address"]:
            await outbox.not_sent(self.core, self.ws, message, "no address to send to", None)
            return
        mime = compose(Reply(
            interaction_id=message["interaction_id"], reply_key=message["reply_key"],
            message_id=message["provider_message_id"],
            # From the address the customer wrote to (each mailbox has its own), else ours.
            from_address=message["our_address"] or self.address,
            from_name=message["author"] or self.name,
            to_address=message["their_address"], subject=message["subject"],
            body=message["body"], in_reply_to=message["in_reply_to"],
            references=tuple(message["thread"]), automatic=message["author"] is None,
            files=tuple(ReplyFile(f["filename"], f["content_type"], f["content"])
                        for f in await uploads.files_of(self.core, message["id"]))))
        later = outbox.backoff(message["send_attempts"], BACKOFF_BASE_SECONDS,
                               BACKOFF_CAP_SECONDS)  # if this attempt must be retried
        try:
            await deliver(self.server, mime)
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
            # A refused recipient is one of the server's answers, like any other.
            answer = exc.recipients[0] if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) else exc
            retry = 400 <= answer.code < 500
            error = f"{answer.code}: {answer.message}"[:300]
            log.warning("SMTP refused email %d (%s)%s", message["id"], error,
                        "; retrying" if retry else "")
            await outbox.not_sent(self.core, self.ws, message, error,
                                  later if retry else None)
            return
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await outbox.not_sent(self.core, self.ws, message,
                                  f"SMTP server unreachable: {exc}"[:300],
                                  later)
            return
        await email.sent(self.core, self.ws, message)


async def deliver(server: MailServer, mime: EmailMessage) -> None:
    """Hand one message to the SMTP server; its refusals are raised as aiosmtplib's errors."""
    await aiosmtplib.send(
        mime, hostname=server.host, port=server.port,
        username=server.user or None, password=server.password or None,
        use_tls=server.tls == "tls", start_tls=server.tls == "starttls", timeout=30)


async def sender_context(app: web.Application) -> AsyncIterator[None]:
    """The node's email sender while the app runs, when email is enabled."""
    core = app[CORE]
    env = app[SETTINGS].env
    if not core.config.channels.email.enabled or env.smtp is None or not env.email_address:
        yield
        return
    sender = EmailSender(core, app[WORKSPACE_ID], env.smtp, env.email_address,
                         core.config.workspace.name)
    async with running(sender):
        yield
