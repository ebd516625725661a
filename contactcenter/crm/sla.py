"""SLA clocks in business time. Pure: calendars and instants in, instants and seconds out.

A target such as "first response within 4 hours" counts only the hours the team works: on a
calendar open 09:00-17:00 a case opened at 16:00 on Friday is due at 12:00 on Monday, and a
holiday counts for nothing. Without a calendar the clock runs around the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from routing.calendar import Calendar

# How far ahead a deadline is looked for: a calendar open a few hours a year still answers.
MAX_DAYS = 3 * 366


class NeverOpen(ValueError):
    """The calendar opens on no day within MAX_DAYS, so no business-time deadline exists."""


@dataclass(frozen=True)
class Targets:
    """Seconds of business time per target, for one case priority."""

    first_response: float
    next_response: float
    resolution: float


def _spans_from(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's opening spans, in order, from the local day of `start` on."""
    zone = ZoneInfo(calendar.timezone)
    day = start.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        if day not in calendar.holidays:
            for opened, closed in calendar.weekly.get(day.weekday(), ()):
                yield datetime.combine(day, opened, zone), datetime.combine(day, closed, zone)
        day += timedelta(days=1)


def add_business_seconds(calendar: Calendar | None, start: datetime, seconds: float) -> datetime:
    """The instant at which `seconds` of business time after `start` have passed."""
    if calendar is None:
        return start + timedelta(seconds=seconds)
    left = max(0.0, seconds)
    for opened, closed in _spans_from(calendar, start):
        if closed <= start:
            continue
        begin = max(opened, start)
        span = (closed - begin).total_seconds()
        if left <= span:
            return begin + timedelta(seconds=left)
        left -= span
    raise NeverOpen(f"the calendar in {calendar.timezone} is not open for "
                    f"{seconds:g} s within {MAX_DAYS} days")


def business_seconds_between(calendar: Calendar | None, start: datetime, end: datetime) -> float:
    """Business time that passed from `start` to `end` (0 if `end` is not after `start`)."""
    if end <= start:
        return 0.0
    if calendar is None:
        return (end - start).total_seconds()
    total = 0.0
    for opened, closed in _spans_from(calendar, start):
        if opened >= end:
            break
        begin, finish = max(opened, start), min(closed, end)
        if finish > begin:
            total += (finish - begin).total_seconds()
    return total


@dataclass(frozen=True)
class ResolutionClock:
    """The resolution target's clock, which stops while the case waits for the customer.

    `used` is the business time already spent; `running_since` is when it last started
    (None while paused or stopped)."""

    target: float
    used: float = 0.0
    running_since: datetime | None = None

    def due(self, calendar: Calendar | None) -> datetime | None:
        if self.running_since is None:
            return None
        return add_business_seconds(calendar, self.running_since, self.target - self.used)

    def paused(self, calendar: Calendar | None, at: datetime) -> ResolutionClock:
        if self.running_since is None:
            return self
        spent = business_seconds_between(calendar, self.running_since, at)
        return ResolutionClock(self.target, self.used + spent, None)

    def resumed(self, at: datetime) -> ResolutionClock:
        if self.running_since is not None:
            return self
        return ResolutionClock(self.target, self.used, at)

    def left(self, calendar: Calendar | None, at: datetime) -> float:
        """Business seconds left at `at` (negative once breached)."""
        spent = self.used
        if self.running_since is not None:
            spent += business_seconds_between(calendar, self.running_since, at)
        return self.target - spent
