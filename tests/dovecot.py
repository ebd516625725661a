"""Debian's Dovecot on a free loopback port, with its own configuration in a temporary
directory, for the email tests and the IMAP benchmark. Mail is delivered with dovecot-lda, as a
mail server would deliver it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
LDA = "/usr/lib/dovecot/dovecot-lda"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Dovecot:
    port: int
    config: Path
    user: str
    maildir: Path
    certificate: Path  # with starttls: the certificate a client trusts

    def deliver(self, raw: bytes) -> None:
        """Into the mailbox, the way the mail server delivers (dovecot-lda)."""
        subprocess.run([LDA, "-c", str(self.config), "-d", self.user, "-f", "sender@example.com"],
                       input=raw, check=True, timeout=30)


@contextmanager
def running_dovecot(user: str, password: str, *, starttls: bool = False) -> Iterator[Dovecot]:
    """With `starttls`, the server offers STARTTLS with a certificate for 127.0.0.1 that its
    `certificate` file lets a client trust."""
    # Not pytest's tmp_path: the mail processes run as nobody and must reach the mail home.
    root = Path(tempfile.mkdtemp(prefix="cc-dovecot-"))
    root.chmod(0o755)
    tls = "ssl = no"
    if starttls:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
                       check=True, capture_output=True, timeout=60)
        tls = f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"
    home = root / "home"
    home.mkdir()
    shutil.chown(home, "nobody", "nogroup")
    (root / "users").write_text(f"{user}:{{PLAIN}}{password}::::::\n")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(f"""
base_dir = {root}/run
state_dir = {root}/run/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{tls}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
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
                    log = root / "dovecot.log"
                    raise RuntimeError("dovecot did not start: " + (
                        log.read_text() if log.exists() else "no log")) from None
                time.sleep(0.05)
        yield Dovecot(port, config, user, home / user / "Maildir", root / "cert.pem")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
