"""Routing engine benchmark (issue 3). Never part of the test run.

Run from the checkout after the README's install (`.venv/bin/python bench/routing_engine.py`).

    python bench/routing_engine.py                       # full run, about a minute
    python bench/routing_engine.py --quick               # smaller, for a smoke check
    CC_ROUTING_PURE=1 python bench/routing_engine.py     # the source, not the compiled engine

1. Throughput: 1,000 agents with 4-6 of 20 skills, 50 queues each requiring one or two skills,
   chat and voice; customers arrive, agents accept every offer at once and finish later. Only
   the time spent inside the engine is counted, so the figure is the engine's own.
2. Backlog: the cost of one routing decision (an agent frees up and is offered the best
   waiting interaction) with 100 and with 100,000 interactions waiting.
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time

import routing
from routing.engine import Engine
from routing.model import (
    AgentLoggedIn,
    AgentPresenceChanged,
    Assigned,
    ChannelRule,
    EngineConfig,
    Event,
    InteractionArrived,
    InteractionCompleted,
    OfferAccepted,
    Offered,
    QueueSpec,
)

SKILLS = [f"skill{i}" for i in range(20)]
CHANNELS = {
    "voice": ChannelRule(weight=100, max=1, exclusive=True, offer_timeout_seconds=20),
    "chat": ChannelRule(weight=33, max=3, offer_timeout_seconds=30),
}


def build(rng: random.Random, agents: int, queues: int, explain: bool) -> tuple[Engine, list[str]]:
    specs = {}
    for i in range(queues):
        required = rng.sample(SKILLS, rng.choice((1, 2)))
        specs[f"q{i}"] = QueueSpec(f"q{i}", priority=rng.randint(0, 5),
                                   skills={s: rng.randint(1, 3) for s in required},
                                   aging_per_second=0.01)
    engine = Engine(EngineConfig(queues=specs, channels=dict(CHANNELS)), explain=explain)
    for a in range(agents):
        skills = {s: rng.randint(3, 10) for s in rng.sample(SKILLS, rng.randint(4, 6))}
        engine.apply(AgentLoggedIn(f"a{a}", skills), 0.0)
    # Only queues some agent can serve get traffic, as in a real centre.
    servable = [name for name, q in specs.items()
                if any(engine.skill_eligible(ag, q.skills.items()) for ag in engine.agents.values())]
    return engine, servable


def throughput(seconds: float, seed: int, explain: bool) -> tuple[int, int, int, float]:
    """Run a busy steady state; return (offers, every decision, events, seconds inside the
    engine). Every decision the engine outputs is one row of routing_decisions in the service
    (offered, accepted, ended...); an offer is the decision the target is about."""
    rng = random.Random(seed)
    engine, queues = build(rng, 1000, 50, explain)
    completions: list[tuple[float, str]] = []
    now, decisions, outputs, events, inside = 0.0, 0, 0, 0, 0.0
    started = time.perf_counter()
    n = 0
    warm = False
    while time.perf_counter() - started < seconds:
        if not warm and time.perf_counter() - started > seconds / 4:
            # The first quarter creates every bucket and fills the centre: not steady state.
            warm, decisions, outputs, events, inside = True, 0, 0, 0, 0.0
        now += rng.expovariate(40.0)  # 40 arrivals per virtual second keeps ~all agents busy
        batch: list[Event] = []
        while completions and completions[0][0] <= now:
            batch.append(InteractionCompleted(heapq.heappop(completions)[1]))
        n += 1
        batch.append(InteractionArrived(f"i{n}", rng.choice(("voice", "chat", "chat")),
                                        rng.choice(queues), now))
        while batch:
            event = batch.pop()
            t0 = time.perf_counter()
            out = engine.apply(event, now)
            inside += time.perf_counter() - t0
            events += 1
            outputs += len(out)
            for d in out:
                if isinstance(d, Offered):
                    decisions += 1
                    batch.append(OfferAccepted(d.interaction_id, d.agent_id))
                elif isinstance(d, Assigned):
                    heapq.heappush(completions, (now + rng.expovariate(1 / 60), d.interaction_id))
    return decisions, outputs, events, inside


def backlog_cost(waiting: int, cycles: int, seed: int) -> float:
    """Seconds per routing decision with `waiting` interactions in the queues."""
    rng = random.Random(seed)
    specs = {f"q{i}": QueueSpec(f"q{i}", priority=rng.randint(0, 5), skills={"s": 1},
                                aging_per_second=0.01) for i in range(50)}
    engine = Engine(EngineConfig(queues=specs, channels=dict(CHANNELS)))
    engine.apply(AgentLoggedIn("agent", {"s": 5}, presence="away"), 0.0)
    for i in range(waiting):
        engine.apply(InteractionArrived(f"w{i}", "voice", f"q{i % 50}", i * 0.001), i * 0.001)
    now = waiting * 0.001 + 1
    total = 0.0
    for c in range(cycles):
        now += 1
        t0 = time.perf_counter()
        out = engine.apply(AgentPresenceChanged("agent", "available"), now)
        total += time.perf_counter() - t0
        offered = [d for d in out if isinstance(d, Offered)]
        assert len(offered) == 1, out
        iid = offered[0].interaction_id
        engine.apply(OfferAccepted(iid, "agent"), now)
        engine.apply(AgentPresenceChanged("agent", "away"), now)
        engine.apply(InteractionCompleted(iid), now)
        # keep the backlog constant
        engine.apply(InteractionArrived(f"n{c}", "voice", f"q{c % 50}", now), now)
    return total / cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 15.0
    cycles = 2_000 if args.quick else 20_000
    engine = "compiled by mypyc" if routing.compiled() else "pure Python (not compiled)"
    print(f"python {sys.version.split()[0]}, one process (one core), engine {engine}\n")
    for explain in (False, True):
        decisions, outputs, events, inside = throughput(seconds, seed=1, explain=explain)
        label = "with reasons recorded" if explain else "without reasons"
        print(f"throughput, 1,000 agents / 50 queues / 20 skills, {label}:")
        print(f"  {decisions:,} offers ({outputs:,} decisions of every kind) and {events:,} "
              f"events in {inside:.2f} s inside the engine")
        print(f"  {decisions / inside:,.0f} offers/s, {outputs / inside:,.0f} decisions/s, "
              f"{events / inside:,.0f} events/s\n")
    costs = {}
    for waiting in (100, 100_000):
        costs[waiting] = backlog_cost(waiting, cycles, seed=2)
        print(f"one decision with {waiting:>7,} waiting: {costs[waiting] * 1e6:6.1f} µs")
    print(f"ratio 100,000 / 100: {costs[100_000] / costs[100]:.2f}")


if __name__ == "__main__":
    main()
