"""Real mail servers on loopback: Debian's Dovecot (tests.dovecot) and an aiosmtpd server that
keeps what it is sent (tests.smtp)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dovecot import Dovecot, running_dovecot
from tests.smtp import SmtpInbox, running_smtp

USER = "support@northwind.test"
PASSWORD = "mailbox-secret"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot(USER, PASSWORD) as server:
        yield server


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    with running_smtp() as inbox:
        yield inbox
