"""What-if simulation: the real routing engine on a virtual clock.

Customers arrive as Poisson streams, agents accept offers at once and handle each interaction
for an exponential (or lognormal) time, customers may give up after an exponential patience.
Because the engine is the one the server runs, what the simulator predicts is what the routing
does; with one skill and no abandonment it must agree with Erlang C, with patience with Erlang A.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from routing.engine import Engine
from routing.model import (
    AgentLoggedIn,
    Assigned,
    Channel,
    ChannelRule,
    CustomerLeft,
    Decision,
    Ended,
    EngineConfig,
    Event,
    InteractionArrived,
    InteractionCompleted,
    OfferAccepted,
    Offered,
    QueueSpec,
    WrapupStarted,
)

Distribution = Literal["exponential", "lognormal"]


@dataclass(frozen=True)
class ArrivalStream:
    queue: str
    channel: Channel
    rate: float  # arrivals per second
    aht: float  # mean handle time, seconds
    patience: float | None = None  # mean patience, seconds; None: customers never give up
    extra_skills: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentGroup:
    count: int
    skills: dict[str, int]
    name: str = "agent"


@dataclass(frozen=True)
class Scenario:
    config: EngineConfig
    agents: tuple[AgentGroup, ...]
    arrivals: tuple[ArrivalStream, ...]
    duration: float
    warmup: float
    threshold: float
    seed: int = 1
    handle_time: Distribution = "exponential"
    lognormal_sigma: float = 0.8

    @property
    def expected_arrivals(self) -> float:
        """Customers the run will see on average: what its time and memory follow."""
        return sum(stream.rate for stream in self.arrivals) * (self.warmup + self.duration)


@dataclass
class QueueStats:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    refused: int = 0
    waited: int = 0
    answered_within: int = 0
    total_answer_wait: float = 0.0
    total_wait: float = 0.0

    def summary(self, threshold: float) -> dict[str, float | int]:
        finished = self.answered + self.abandoned
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "refused": self.refused,
            "p_wait": self.waited / finished if finished else 0.0,
            "p_abandon": self.abandoned / finished if finished else 0.0,
            "asa_seconds": self.total_answer_wait / self.answered if self.answered else 0.0,
            "mean_wait_seconds": self.total_wait / finished if finished else 0.0,
            "service_level": self.answered_within / self.answered if self.answered else 0.0,
            "service_level_with_abandons": self.answered_within / finished if finished else 0.0,
            "threshold_seconds": threshold,
        }


@dataclass
class _Customer:
    stream: ArrivalStream
    arrival: float
    counted: bool
    answered_at: float | None = None


def single_queue_scenario(
    agents: int, arrival_rate: float, aht: float, threshold: float, duration: float,
    *, patience: float | None = None, seed: int = 1, warmup: float | None = None,
    handle_time: Distribution = "exponential",
) -> Scenario:
    """One queue, one skill, one channel: the textbook case, comparable with Erlang C and A."""
    config = EngineConfig(
        queues={"main": QueueSpec("main", skills={"main": 1}, service_level_seconds=threshold)},
        channels={"voice": ChannelRule(weight=100, max=1, exclusive=True,
                                       offer_timeout_seconds=60)},
    )
    return Scenario(
        config=config,
        agents=(AgentGroup(agents, {"main": 5}),),
        arrivals=(ArrivalStream("main", "voice", arrival_rate, aht, patience),),
        duration=duration,
        warmup=duration * 0.1 if warmup is None else warmup,
        threshold=threshold,
        seed=seed,
        handle_time=handle_time,
    )


def run(scenario: Scenario, progress: Callable[[float], None] | None = None) -> dict[str, object]:
    """Simulate; return the figures overall, per queue, and the agents' occupancy."""
    rng = random.Random(scenario.seed)
    engine = Engine(scenario.config)
    clock: list[tuple[float, int, str, int | str]] = []
    seq = itertools.count()
    customers: dict[str, _Customer] = {}
    per_queue = {name: QueueStats() for name in scenario.config.queues}
    busy_time = 0.0
    busy_since: dict[str, float] = {}
    agent_count = 0
    end, warmup = scenario.duration + scenario.warmup, scenario.warmup

    def at(time: float, kind: str, payload: int | str) -> None:
        heapq.heappush(clock, (time, next(seq), kind, payload))

    def handle_time(mean: float) -> float:
        if scenario.handle_time == "lognormal":
            sigma = scenario.lognormal_sigma
            return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)
        return rng.expovariate(1 / mean)

    def apply(event: Event, now: float) -> None:
        pending = engine.apply(event, now)
        while pending:
            decision = pending.pop(0)
            follow_up = react(decision, now)
            if follow_up is not None:
                pending.extend(engine.apply(follow_up, now))

    def react(decision: Decision, now: float) -> Event | None:
        nonlocal busy_time
        if isinstance(decision, Offered):
            return OfferAccepted(decision.interaction_id, decision.agent_id)
        if isinstance(decision, Assigned):
            customer = customers[decision.interaction_id]
            customer.answered_at = now
            busy_since[decision.interaction_id] = now
            at(now + handle_time(customer.stream.aht), "complete", decision.interaction_id)
        elif isinstance(decision, WrapupStarted):
            pass
        elif isinstance(decision, Ended):
            customer = customers.pop(decision.interaction_id)
            started = busy_since.pop(decision.interaction_id, None)
            if started is not None:
                busy_time += max(0.0, min(now, end) - max(started, warmup))
            if customer.counted:
                record(customer, decision, now)
        return None

    def record(customer: _Customer, decision: Ended, now: float) -> None:
        stats = per_queue[customer.stream.queue]
        if decision.outcome == "refused":
            stats.refused += 1
            return
        if decision.outcome == "abandoned":
            stats.abandoned += 1
            stats.waited += 1
            stats.total_wait += now - customer.arrival
            return
        assert customer.answered_at is not None
        wait = customer.answered_at - customer.arrival
        stats.answered += 1
        stats.total_answer_wait += wait
        stats.total_wait += wait
        stats.waited += wait > 0
        stats.answered_within += wait <= scenario.threshold

    for group in scenario.agents:
        for i in range(group.count):
            engine.apply(AgentLoggedIn(f"{group.name}-{agent_count + i}", group.skills), 0.0)
        agent_count += group.count
    for index, stream in enumerate(scenario.arrivals):
        at(rng.expovariate(stream.rate), "arrive", index)

    ids = itertools.count(1)
    next_report = 0.0
    while clock:
        time, _, kind, payload = clock[0]
        timer = engine.next_timer()
        if timer is not None and timer < time:
            for decision in engine.advance(timer):
                follow_up = react(decision, timer)
                if follow_up is not None:
                    apply(follow_up, timer)
            continue
        heapq.heappop(clock)
        if progress is not None and time >= next_report:
            progress(min(1.0, time / end))
            next_report = time + end / 100
        if kind == "arrive":
            stream = scenario.arrivals[int(payload)]
            if time < end:
                iid = f"i{next(ids)}"
                customers[iid] = _Customer(stream, time, counted=time >= warmup)
                if customers[iid].counted:
                    per_queue[stream.queue].offered += 1
                if stream.patience is not None:
                    at(time + rng.expovariate(1 / stream.patience), "give_up", iid)
                apply(InteractionArrived(iid, stream.channel, stream.queue, time,
                                         extra_skills=stream.extra_skills), time)
                at(time + rng.expovariate(stream.rate), "arrive", payload)
        elif kind == "complete":
            apply(InteractionCompleted(str(payload)), time)
        elif kind == "give_up":
            customer = customers.get(str(payload))
            if customer is not None and customer.answered_at is None:
                apply(CustomerLeft(str(payload)), time)
    if progress is not None:
        progress(1.0)

    total = QueueStats()
    for stats in per_queue.values():
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
    return {
        **total.summary(scenario.threshold),
        "agents": agent_count,
        "occupancy": busy_time / (agent_count * scenario.duration) if agent_count else 0.0,
        "duration_seconds": scenario.duration,
        "warmup_seconds": scenario.warmup,
        "seed": scenario.seed,
        "queues": {name: s.summary(scenario.threshold) for name, s in per_queue.items()},
    }
