"""SLA clocks in business time: weekends, holidays, time zones and pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactcenter.crm.sla import (
    NeverOpen,
    ResolutionClock,
    add_business_seconds,
    business_seconds_between,
)
from routing.calendar import Calendar, parse_hours

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = {d: parse_hours("09:00-12:00, 13:00-17:00") for d in range(5)}  # 7 h a day
OFFICE = Calendar("Europe/Paris", WEEKDAYS, frozenset({date(2026, 12, 25)}))
HOUR = 3600.0


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def test_four_business_hours_from_friday_afternoon_end_on_monday() -> None:
    # Friday 27 Nov 2026, 16:00: one hour left that day, three more from Monday 09:00.
    assert add_business_seconds(OFFICE, paris(2026, 11, 27, 16), 4 * HOUR) == paris(
        2026, 11, 30, 12)


def test_lunch_and_nights_do_not_count() -> None:
    assert add_business_seconds(OFFICE, paris(2026, 11, 24, 11), 2 * HOUR) == paris(
        2026, 11, 24, 14)
    assert add_business_seconds(OFFICE, paris(2026, 11, 24, 20), 30 * 60) == paris(
        2026, 11, 25, 9, 30)


def test_a_holiday_counts_for_nothing() -> None:
    # Thursday 24 Dec 16:00 + 2 h: one hour that day; Friday 25 is the holiday and the weekend
    # is closed, so the second hour falls on Monday 28 Dec.
    assert add_business_seconds(OFFICE, paris(2026, 12, 24, 16), 2 * HOUR) == paris(
        2026, 12, 28, 10)


def test_the_calendar_is_read_in_its_own_time_zone() -> None:
    start = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)  # 08:30 in Paris: not open yet
    assert add_business_seconds(OFFICE, start, HOUR) == paris(2026, 11, 24, 10)


def test_summer_time_changes_nothing_for_business_hours() -> None:
    # Sunday 29 March 2026 the clocks go forward in Paris; Friday 16:00 + 2 h is Monday 10:00.
    assert add_business_seconds(OFFICE, paris(2026, 3, 27, 16), 2 * HOUR) == paris(
        2026, 3, 30, 10)


def test_without_a_calendar_the_clock_runs_around_the_clock() -> None:
    start = paris(2026, 11, 28, 23)
    assert add_business_seconds(None, start, 2 * HOUR) == start + timedelta(hours=2)
    assert business_seconds_between(None, start, start + timedelta(hours=3)) == 3 * HOUR


def test_a_calendar_never_open_has_no_deadline() -> None:
    with pytest.raises(NeverOpen):
        add_business_seconds(Calendar("UTC", {}), paris(2026, 1, 1), 60)


def test_pending_the_customer_stops_the_resolution_clock() -> None:
    opened = paris(2026, 11, 23, 9)  # Monday
    clock = ResolutionClock(target=10 * HOUR, used=0, running_since=opened)
    assert clock.due(OFFICE) == paris(2026, 11, 24, 12)  # 7 h Monday + 3 h Tuesday
    paused = clock.paused(OFFICE, paris(2026, 11, 23, 11))  # 2 h used
    assert paused.due(OFFICE) is None
    assert paused.used == 2 * HOUR
    resumed = paused.resumed(paris(2026, 11, 25, 9))  # the customer answers Wednesday
    assert resumed.due(OFFICE) == paris(2026, 11, 26, 10)  # 8 h left: 7 Wed + 1 Thu
    assert resumed.left(OFFICE, paris(2026, 11, 25, 12)) == 5 * HOUR


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
       st.floats(min_value=0, max_value=200 * HOUR))
def test_the_deadline_is_exactly_the_business_time_asked_for(start: datetime,
                                                               seconds: float) -> None:
    begin = start.replace(tzinfo=PARIS)
    due = add_business_seconds(OFFICE, begin, seconds)
    assert business_seconds_between(OFFICE, begin, due) == pytest.approx(seconds, abs=1e-3)
