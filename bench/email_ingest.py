"""Email ingest benchmark (issue 6). Never part of the test run.

Fills a real Dovecot mailbox on loopback with N messages (shapes from tests/fixtures/email:
charsets, HTML only, attachments and inline images, Outlook and Gmail replies; each with its
own Message-ID, from 500 senders), then times the IMAP reader taking them all in: fetch,
parse, thread, store, mark seen. Checks every message was stored exactly once.

    .venv/bin/python bench/email_ingest.py                  # 5,000 messages
    .venv/bin/python bench/email_ingest.py --messages 500
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aioimaplib
import asyncpg
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.dovecot, shared with the tests

from channels.email.imap_reader import Mailbox, MailboxReader
from contactcenter.actions import sync_workspace
from contactcenter.core import Core, connect_redis
from contactcenter.embedded import start_redis
from contactcenter.settings import MailServer, read_config_file
from contactcenter.store.db import connect, create_pool
from contactcenter.store.migrate import migrate
from tests.dovecot import running_dovecot

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "email"
ADMIN_URL = os.environ.get("CC_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
USER, PASSWORD = "support@northwind.test", "bench-secret"
# Shapes a support mailbox gets; bounces and lists are left out (they start no conversation).
SHAPES = ["gmail_reply_utf8.eml", "koi8r_subject_and_body.eml",
          "windows1251_quoted_printable.eml", "iso8859_1_outlook.eml",
          "html_only_with_script.eml", "mixed_related_attachments.eml",
          "unknown_and_lying_charsets.eml"]
_HEADER = re.compile(rb"^(Message-ID|From): .*$", re.IGNORECASE | re.MULTILINE)


def messages(count: int, senders: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    shapes = [(CORPUS / name).read_bytes() for name in SHAPES]
    out = []
    for n in range(count):
        sender = rng.randrange(senders)

        def header(found: re.Match[bytes], n: int = n, sender: int = sender) -> bytes:
            if found.group(1).lower() == b"message-id":
                return f"Message-ID: <bench-{n}@example.com>".encode()
            return f"From: Customer {sender} <customer{sender}@example.com>".encode()

        out.append(_HEADER.sub(header, rng.choice(shapes)))
    return out


def fill(maildir: Path, raws: list[bytes]) -> None:
    """Put the messages in the mailbox's new/ folder, as a delivery agent leaves them."""
    new = maildir / "new"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for n, raw in enumerate(raws):
        (new / f"{1_700_000_000 + n}.bench{n}.localhost").write_bytes(raw.replace(b"\n", b"\r\n")
                                                                       .replace(b"\r\r\n", b"\r\n"))
    for path in [maildir.parent, *maildir.parent.rglob("*")]:
        shutil.chown(path, "nobody", "nogroup")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--senders", type=int, default=500)
    args = parser.parse_args()
    raws = messages(args.messages, args.senders, seed=1)

    db = f"cc_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"CREATE DATABASE {db}")
    db_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    try:
        with tempfile.TemporaryDirectory() as tmp, running_dovecot(USER, PASSWORD) as dovecot:
            dovecot.deliver(b"From: setup@example.com\r\nSubject: first\r\n\r\nmailbox created\r\n")
            fill(dovecot.maildir, raws)
            redis = start_redis(Path(tmp) / "redis", port=0)
            conn = await connect(db_url)
            await migrate(conn)
            config = read_config_file(ROOT / "config" / "default.toml")
            workspace_id = await sync_workspace(conn, config)
            await conn.close()
            pool = await create_pool(db_url)
            core = Core(pool, connect_redis(redis.url), config)
            reader = MailboxReader(core, workspace_id, Mailbox(
                "bench", MailServer("127.0.0.1", dovecot.port, USER, PASSWORD, "none"), "INBOX",
                USER, None, None))
            imap = aioimaplib.IMAP4("127.0.0.1", dovecot.port, timeout=120)
            await imap.wait_hello_from_server()
            await imap.login(USER, PASSWORD)
            selected = await imap.select("INBOX")
            validity = int(re.search(rb"UIDVALIDITY (\d+)", b" ".join(selected.lines)).group(1))  # type: ignore[union-attr]
            print(f"{args.messages + 1} messages waiting in the mailbox", file=sys.stderr)
            started = time.perf_counter()
            batches = 0
            while await reader.catch_up(imap, validity):
                batches += 1
                if batches % 20 == 0:
                    print(f"  {batches * 50} taken in", file=sys.stderr)
            seconds = time.perf_counter() - started
            stored, distinct = await pool.fetchrow(
                """SELECT count(*), count(DISTINCT provider_message_id) FROM messages
                   WHERE channel = 'email' AND direction = 'inbound'""")
            await imap.logout()
            await pool.close()
            redis.stop()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        await admin.close()
    total = args.messages + 1
    print(f"ingested {total} messages in {seconds:.1f} s: {total / seconds:.0f} messages/s "
          f"(fetch, parse, thread, store, mark seen; one process)")
    print(f"stored: {stored} messages, {distinct} distinct Message-IDs "
          f"({'exactly once' if stored == distinct == total else 'MISMATCH'})")


if __name__ == "__main__":
    uvloop.run(main())
