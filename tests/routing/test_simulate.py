"""The simulator drives the real engine; on the textbook cases it must agree with theory.

Seeds are fixed, so these runs are deterministic; the tolerances are what a run of this
length is statistically expected to meet (about 55,000 customers each)."""

from __future__ import annotations

import pytest

from routing import erlang
from routing.simulate import run, single_queue_scenario

RATE, AHT, THRESHOLD, DURATION = 100 / 1800, 180.0, 20.0, 1_000_000.0


# Near saturation (12 agents, load 0.83) waits are strongly correlated from one customer to
# the next, so that case needs a three times longer run for the same precision.
@pytest.mark.parametrize(("agents", "duration"), [(12, 3 * DURATION), (13, DURATION), (14, DURATION)])
def test_agrees_with_erlang_c(agents: int, duration: float) -> None:
    result = run(single_queue_scenario(agents, RATE, AHT, THRESHOLD, duration, seed=11))
    load = RATE * AHT
    assert result["p_wait"] == pytest.approx(erlang.erlang_c(agents, load), abs=0.03)
    assert result["asa_seconds"] == pytest.approx(
        erlang.average_speed_of_answer(agents, load, AHT), rel=0.15)
    assert result["service_level"] == pytest.approx(
        erlang.service_level(agents, load, AHT, THRESHOLD), abs=0.03)
    assert result["occupancy"] == pytest.approx(load / agents, abs=0.02)
    assert result["abandoned"] == 0


def test_agrees_with_the_exact_erlang_a_chain() -> None:
    result = run(single_queue_scenario(12, RATE, AHT, THRESHOLD, DURATION, seed=5, patience=120))
    exact = erlang.erlang_a(12, RATE, AHT, 120)
    assert result["p_wait"] == pytest.approx(exact.p_wait, abs=0.02)
    assert result["p_abandon"] == pytest.approx(exact.p_abandon, abs=0.01)
    assert result["mean_wait_seconds"] == pytest.approx(exact.mean_wait, rel=0.1)


def test_same_seed_same_result() -> None:
    scenario = single_queue_scenario(5, 0.02, 200, 20, 20_000, seed=3, patience=60)
    assert run(scenario) == run(scenario)
