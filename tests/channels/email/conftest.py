"""Real mail servers on loopback: Debian's Dovecot (tests.dovecot) and an aiosmtpd server that
keeps what it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port
from tests.dovecot import Dovecot, running_dovecot

USER = "support@northwind.test"
PASSWORD = "mailbox-secret"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot(USER, PASSWORD) as server:
        yield server


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


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
