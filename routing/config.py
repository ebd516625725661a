"""The workspace configuration, as the engine's own pure settings."""

from __future__ import annotations

from contactcenter.settings import (
    CHANNELS,
    CalendarConfig,
    Channel,
    ClosedBehaviour,
    FileConfig,
    QueueConfig,
)
from routing.calendar import DAYS, Calendar, parse_hours
from routing.model import ChannelRule, EngineConfig, EscalationStep, QueueSpec

DEFAULT_OFFER_TIMEOUT_SECONDS = 20


def engine_config(cfg: FileConfig) -> EngineConfig:
    timeouts = cfg.routing.offer_timeout_seconds
    return EngineConfig(
        queues={q.name: _queue(q) for q in cfg.queues},
        channels={
            channel: ChannelRule(
                weight=cap.weight, max=cap.max, exclusive=cap.exclusive,
                offer_timeout_seconds=timeouts.get(channel, DEFAULT_OFFER_TIMEOUT_SECONDS))
            for channel, cap in cfg.capacity.items()
        },
        capacity_budget=cfg.routing.capacity_budget,
        missed_offers_before_away=cfg.routing.missed_offers_before_away,
        preferred_agent_seconds=cfg.routing.preferred_agent_seconds,
        reoffer_after_seconds=cfg.routing.reoffer_after_seconds,
        disconnect_grace_seconds=cfg.routing.disconnect_grace_seconds,
        fallback_queues={channel: cfg.default_queue(channel) for channel in CHANNELS},
        calendars={name: calendar_of(cal) for name, cal in cfg.calendars.items()},
    )


def calendar_of(cal: CalendarConfig) -> Calendar:
    return Calendar(
        timezone=cal.timezone,
        weekly={i: parse_hours(getattr(cal, day)) for i, day in enumerate(DAYS)
                if getattr(cal, day).strip()},
        holidays=frozenset(cal.holidays),
    )


def closed_behaviour(cfg: FileConfig, queue_name: str, channel: Channel,
                     at: float) -> ClosedBehaviour | None:
    """What a queue does with `channel` at `at` if its calendar says it is closed; None when it
    is open (or has no calendar). Channels use it to answer at once (a voicemail prompt, an
    automatic SMS) rather than after the routing leader has decided the same."""
    queue = next((q for q in cfg.queues if q.name == queue_name), None)
    if queue is None or queue.calendar is None or queue.calendar not in cfg.calendars:
        return None
    if calendar_of(cfg.calendars[queue.calendar]).is_open(at):
        return None
    return queue.closed.get(channel, "keep_waiting")


def _queue(q: QueueConfig) -> QueueSpec:
    steps = []
    for s in q.escalation:
        if s.overflow_to is not None:
            steps.append(EscalationStep(s.after_seconds, "overflow", queue=s.overflow_to))
        elif s.lower_skill is not None:
            steps.append(EscalationStep(s.after_seconds, "lower_level", skill=s.lower_skill,
                                        level=s.level))
        elif s.drop_skill is not None:
            steps.append(EscalationStep(s.after_seconds, "drop_skill", skill=s.drop_skill))
    return QueueSpec(
        name=q.name, priority=q.priority, skills=dict(q.skills), strategy=q.strategy,
        aging_per_second=q.aging_per_second, service_level_seconds=q.service_level_seconds,
        max_wait_seconds=q.max_wait_seconds, overflow_queue=q.overflow_queue,
        escalation=tuple(steps), wrapup_seconds=q.wrapup_seconds, calendar=q.calendar,
        closed=dict(q.closed),
    )
