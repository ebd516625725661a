"""A local, durable, ordered file of records: what a node keeps while PostgreSQL cannot be
reached (webhooks Twilio will not send again), until it can hand them over.

One JSON object per line, each with an `id`, appended and fsync'd before the caller is answered;
taking records out rewrites the rest to a new file that replaces the old one atomically. The
processes of one node (`serve --workers N`) share the file: every change holds an exclusive
lock on a lock file beside it. Blocking calls: the async side runs them in a thread
(contactcenter.web.webhook_spool).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._locked(), self.path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())

    def entries(self) -> list[dict[str, Any]]:
        """Every record, oldest first."""
        with self._locked():
            return self._read()

    def remove(self, ids: set[str]) -> None:
        """Drop the records handed over, keeping the others in order."""
        with self._locked():
            rest = [e for e in self._read() if e.get("id") not in ids]
            temporary = self.path.with_suffix(".tmp")
            with temporary.open("w", encoding="utf-8") as out:
                out.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in rest)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def _read(self) -> list[dict[str, Any]]:
        """A line cut short by a crash in the middle of an append (the only way one can be
        damaged) was never acknowledged to anyone, and is skipped."""
        if not self.path.exists():
            return []
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                kept.append(json.loads(line))
        return kept
