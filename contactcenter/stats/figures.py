"""The metrics themselves, from counts and sums: pure, so that the live board, the reports and
the tests share one definition of each (docs/metrics.md says them in words)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routing import erlang


@dataclass(frozen=True)
class Tally:
    """What happened to the interactions that arrived in a queue (or channel) in a period."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0  # answered no later than the queue's service-level threshold
    abandoned: int = 0
    short_abandoned: int = 0  # abandoned sooner than the short-abandon limit
    refused: int = 0  # closed queue or over the maximum wait
    wait_seconds: float = 0.0  # summed over the answered: arrival to first answer
    handled: int = 0  # answered and finished (wrap-up included)
    handle_seconds: float = 0.0  # summed over the handled: first answer to end of wrap-up


def _ratio(part: float, whole: float) -> float | None:
    """None, not 0, when nothing was counted: "no calls" is not "0 % service level"."""
    return part / whole if whole else None


def figures(t: Tally) -> dict[str, Any]:
    counted_abandons = t.abandoned - t.short_abandoned
    return {
        "offered": t.offered,
        "answered": t.answered,
        "answered_within": t.answered_within,
        "abandoned": t.abandoned,
        "short_abandoned": t.short_abandoned,
        "refused": t.refused,
        "handled": t.handled,
        "service_level": _ratio(t.answered_within, t.answered),
        "service_level_with_abandons": _ratio(t.answered_within, t.answered + counted_abandons),
        "asa_seconds": _ratio(t.wait_seconds, t.answered),
        "aht_seconds": _ratio(t.handle_seconds, t.handled),
        "abandon_rate": _ratio(counted_abandons, t.offered - t.short_abandoned),
    }


def occupancy(busy_seconds: float, idle_seconds: float) -> float | None:
    """Share of the agents' productive time spent on interactions: busy ÷ (busy + available
    and idle). Away time is neither."""
    return _ratio(busy_seconds, busy_seconds + idle_seconds)


@dataclass(frozen=True)
class Staffing:
    arrival_rate: float  # per second, over the recent window
    aht_seconds: float
    load: float  # Erlangs
    needed: int  # agents for the service-level target (Erlang C); 0 with no arrivals
    predicted_service_level: float | None  # with the agents staffed now


def staffing(arrival_rate: float, aht_seconds: float, threshold: float, target: float,
             staffed: int) -> Staffing:
    load = arrival_rate * aht_seconds
    if load <= 0:
        return Staffing(arrival_rate, aht_seconds, 0.0, 0, None)
    needed = erlang.agents_needed(load, aht_seconds, threshold, target)
    predicted = erlang.service_level(staffed, load, aht_seconds, threshold) if staffed else 0.0
    return Staffing(arrival_rate, aht_seconds, load, needed, predicted)
