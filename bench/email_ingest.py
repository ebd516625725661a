"""Email ingest benchmark (issue 6). Never part of the test run.

Fills a real Dovecot mailbox on loopback with N messages (shapes from tests/fixtures/email:
charsets, HTML only, attachments and inline images, Outlook and Gmail replies; each with its
own Message-ID, from 500 senders), then times the IMAP reader taking them all in: fetch,
parse, thread, store, mark seen. Checks every message was stored exactly once.

    .venv/bin/python bench/email_ingest.py                  # 5,000 messages
    .venv/bin/python bench/email_ingest.py --messages 500
    .venv/bin/python bench/email_ingest.py --real-size      # mail as offices send it
    .venv/bin/python bench/email_ingest.py --hostile --messages 100

--real-size: each message as a mail client sends it, a text and an HTML alternative (about
25 KB of HTML), and on two in five a file of 50-500 KB: about 150 KB a message on average.
--hostile: the messages of tests/channels/email/test_hostile.py (nesting past Python's stack,
15 MB of HTML, 5,000 parts, a 2 MB header, a 30 MB file) first, the ordinary ones after.
The run also reports how long the event loop was held at worst while it read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
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
from tests.channels.email.test_hostile import hostile
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


def real_sized(count: int, senders: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        sender = rng.randrange(senders)
        mail = EmailMessage()
        mail["From"] = f"Customer {sender} <customer{sender}@example.com>"
        mail["To"] = USER
        mail["Subject"] = f"Order {1000 + n}: question about delivery"
        mail["Message-ID"] = f"<bench-{n}@example.com>"
        words = " ".join(rng.choice(("order", "delivery", "invoice", "refund", "address",
                                     "please", "thanks", "today", "week", "parcel"))
                         for _ in range(300))
        mail.set_content(f"Hello,\n\n{words}\n\nRegards,\nCustomer {sender}\n")
        mail.add_alternative("<html><body>" + "".join(
            f'<p style="font-family:Calibri;font-size:11pt">{words[i:i + 180]}</p>'
            for i in range(0, len(words), 180)) * 8 + "</body></html>", subtype="html")
        if rng.random() < 0.4:
            mail.add_attachment(rng.randbytes(rng.randrange(50_000, 500_000)),
                                maintype="application", subtype="pdf", filename=f"scan-{n}.pdf")
        out.append(mail.as_bytes())
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


async def _loop_lag(held: list[float]) -> None:
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        held[0] = max(held[0], time.perf_counter() - before - 0.01)


async def main() -> None:
    held = [0.0]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--senders", type=int, default=500)
    parser.add_argument("--real-size", action="store_true")
    parser.add_argument("--hostile", action="store_true")
    args = parser.parse_args()
    raws = (real_sized if args.real_size else messages)(args.messages, args.senders, seed=1)
    if args.hostile:
        raws = hostile() + raws
    print(f"{sum(map(len, raws)) / len(raws) / 1024:.0f} KB a message on average", file=sys.stderr)

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
            print(f"{len(raws) + 1} messages waiting in the mailbox", file=sys.stderr)
            started = time.perf_counter()
            ticker = asyncio.create_task(_loop_lag(held))
            batches = 0
            while await reader.catch_up(imap, validity):
                batches += 1
                if batches % 10 == 0:
                    print(f"  {batches} batches taken in", file=sys.stderr)
            seconds = time.perf_counter() - started
            ticker.cancel()
            stored, distinct = await pool.fetchrow(
                """SELECT count(*), count(DISTINCT provider_message_id) FROM messages
                   WHERE channel = 'email' AND direction = 'inbound'""")
            flagged = await pool.fetchval("SELECT count(*) FROM unreadable_payloads")
            await imap.logout()
            await pool.close()
            redis.stop()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        await admin.close()
    total = len(raws) + 1
    print(f"ingested {total} messages in {seconds:.1f} s: {total / seconds:.0f} messages/s "
          f"(fetch, parse, thread, store, mark seen; one process)")
    print(f"the event loop was held {held[0] * 1000:.0f} ms at worst")
    print(f"stored: {stored} messages, {distinct} distinct Message-IDs, {flagged} kept raw and "
          f"flagged ({'each once' if stored == distinct == total - flagged else 'MISMATCH'})")


if __name__ == "__main__":
    uvloop.run(main())
