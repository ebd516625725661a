"""Real mail servers on loopback: Debian's Dovecot with its own configuration in a temporary
directory (mail delivered with dovecot-lda, as a mail server would), and an aiosmtpd server that
keeps what it is sent."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port

USER = "support@northwind.test"
PASSWORD = "mailbox-secret"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
LDA = "/usr/lib/dovecot/dovecot-lda"


@dataclass(frozen=True)
class Dovecot:
    port: int
    config: Path

    def deliver(self, raw: bytes) -> None:
        """Into the mailbox, the way the mail server delivers (dovecot-lda)."""
        subprocess.run([LDA, "-c", str(self.config), "-d", USER, "-f", "sender@example.com"],
                       input=raw, check=True, timeout=30)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    # Not pytest's tmp_path: the mail processes run as nobody and must reach the mail home.
    tmp_path = Path(tempfile.mkdtemp(prefix="cc-dovecot-"))
    tmp_path.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    shutil.chown(home, "nobody", "nogroup")
    (tmp_path / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    config = tmp_path / "dovecot.conf"
    config.write_text(f"""
base_dir = {tmp_path}/run
state_dir = {tmp_path}/run/state
log_path = {tmp_path}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp_path}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""")
    server = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    log = tmp_path / "dovecot.log"
                    raise RuntimeError("dovecot did not start: " + (
                        log.read_text() if log.exists() else "no log")) from None
                time.sleep(0.05)
        yield Dovecot(port, config)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp_path, ignore_errors=True)


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
