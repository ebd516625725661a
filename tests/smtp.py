"""An SMTP server on loopback (aiosmtpd) that keeps every message it accepts, for the tests of
whatever the server mails: replies, one-time codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller

from tests.conftest import free_port


class SmtpInbox:
    """The SMTP server's side: keeps every message it accepts; refuses mail to `refused@`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[EmailMessage] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("refused@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def running_smtp() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
