"""Business hours: weekly opening times in a time zone, minus holidays. Pure computation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Calendar:
    timezone: str
    # Per weekday (0 = Monday) a list of (open, close) times; a day absent is closed all day.
    weekly: dict[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_open(self, at: float) -> bool:
        local = datetime.fromtimestamp(at, ZoneInfo(self.timezone))
        if local.date() in self.holidays:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.weekly.get(local.weekday(), ()))


def parse_hours(text: str) -> tuple[tuple[time, time], ...]:
    """'08:00-12:00, 13:00-18:00' -> ((08:00, 12:00), (13:00, 18:00)); '' or 'closed' -> ()."""
    if text.strip().lower() in ("", "closed"):
        return ()
    spans = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise ValueError(f"{part.strip()!r} is not a span like 08:00-18:00")
        opened, closed = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        if closed <= opened:
            raise ValueError(f"{part.strip()!r} closes before it opens")
        spans.append((opened, closed))
    return tuple(spans)
