"""Queueing formulas the router is checked against and supervisors staff with.

Erlang C (M/M/N): customers wait as long as it takes. Erlang A (M/M/N+M): customers give up
after an exponentially distributed patience; solved exactly as a birth-death chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability, by the stable recursion B(k) = A·B(k-1) / (k + A·B(k-1))."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability that an arriving customer waits; 1 when the agents cannot keep up."""
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1 - b))


def average_speed_of_answer(agents: int, load: float, aht: float) -> float:
    if agents <= load:
        return math.inf
    return erlang_c(agents, load) * aht / (agents - load)


def service_level(agents: int, load: float, aht: float, threshold: float) -> float:
    """Share of customers answered within `threshold` seconds."""
    if agents <= load:
        return 0.0
    return 1 - erlang_c(agents, load) * math.exp(-(agents - load) * threshold / aht)


def agents_needed(load: float, aht: float, threshold: float, target: float,
                  max_agents: int = 10_000) -> int:
    """The fewest agents whose service level at `threshold` reaches `target`."""
    agents = max(1, math.floor(load) + 1)
    while agents < max_agents and service_level(agents, load, aht, threshold) < target:
        agents += 1
    return agents


@dataclass(frozen=True)
class ErlangA:
    p_wait: float
    p_abandon: float
    mean_queue: float
    mean_wait: float  # over all arrivals, served or not


# States of the Erlang A chain worked through at most: customers present at once. A centre
# whose customers wait for hours at a huge overload would need more; then no figure is given
# rather than a run of minutes (about a second per million states).
MAX_ERLANG_A_STATES = 5_000_000


class TooLargeToSolve(ValueError):
    """The Erlang A chain would need more than MAX_ERLANG_A_STATES states."""


def erlang_a(agents: int, arrival_rate: float, aht: float, patience: float,
             tolerance: float = 1e-12) -> ErlangA:
    """Exact M/M/N+M figures from the stationary distribution of the birth-death chain.

    State k is the number of customers present; births at λ, deaths at min(k, N)·μ plus
    (k - N)·θ for those waiting. The chain is truncated past its most likely state, where a
    state's weight falls below `tolerance` times that state's, which abandonment guarantees
    happens. Weights are kept as logarithms: at a heavy overload with patient customers the
    chain climbs for millions of states and the weights themselves would overflow.
    """
    mu, theta = 1 / aht, 1 / patience
    if not (arrival_rate > 0 and math.isfinite(arrival_rate) and 0 < mu < math.inf
            and 0 < theta < math.inf):
        raise ValueError("Erlang A needs a positive arrival rate, handle time and patience")
    log_rate, stop = math.log(arrival_rate), math.log(tolerance)
    logs = [0.0]
    top = 0.0
    k = 0
    while True:
        k += 1
        if k > MAX_ERLANG_A_STATES:
            raise TooLargeToSolve(f"more than {MAX_ERLANG_A_STATES:,} customers present at once")
        death = k * mu if k <= agents else agents * mu + (k - agents) * theta
        logs.append(logs[-1] + log_rate - math.log(death))
        if logs[-1] > top:
            top = logs[-1]
        elif k > agents and logs[-1] - top < stop:
            break
    weights = [math.exp(w - top) for w in logs]
    total = math.fsum(weights)
    p = [w / total for w in weights]
    p_wait = math.fsum(p[agents:])
    mean_queue = math.fsum((k - agents) * pk for k, pk in enumerate(p) if k > agents)
    return ErlangA(
        p_wait=p_wait,
        p_abandon=theta * mean_queue / arrival_rate,
        mean_queue=mean_queue,
        mean_wait=mean_queue / arrival_rate,
    )
