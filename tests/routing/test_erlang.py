"""The formulas against the reference table of ../shared/REFERENCES.md (A = 10, AHT 180 s)."""

from __future__ import annotations

import math

import pytest

from routing import erlang

RATE, AHT = 100 / 1800, 180.0


@pytest.mark.parametrize(("agents", "p_wait", "asa", "sl"), [
    (12, 0.449, 40.4, 0.640), (13, 0.285, 17.1, 0.796), (14, 0.174, 7.8, 0.888)])
def test_erlang_c_reference_table(agents: int, p_wait: float, asa: float, sl: float) -> None:
    load = RATE * AHT
    assert erlang.erlang_c(agents, load) == pytest.approx(p_wait, abs=0.0005)
    assert erlang.average_speed_of_answer(agents, load, AHT) == pytest.approx(asa, abs=0.05)
    assert erlang.service_level(agents, load, AHT, 20) == pytest.approx(sl, abs=0.0005)


def test_too_few_agents_always_wait() -> None:
    assert erlang.erlang_c(10, 10.0) == 1.0
    assert math.isinf(erlang.average_speed_of_answer(9, 10.0, AHT))


def test_agents_needed_for_80_in_20() -> None:
    assert erlang.agents_needed(10.0, AHT, 20, 0.8) == 14


def test_erlang_a_tends_to_erlang_c_with_infinite_patience() -> None:
    a = erlang.erlang_a(13, RATE, AHT, patience=1e9)
    assert a.p_wait == pytest.approx(erlang.erlang_c(13, 10.0), abs=1e-4)
    assert a.p_abandon == pytest.approx(0.0, abs=1e-6)


def test_erlang_a_at_a_heavy_overload_with_patient_customers() -> None:
    """Millions of customers present at once: the weights would overflow as plain floats.
    One agent serving a day-long call while 100,000 an hour arrive: all but one in about 2.4
    million give up, after waiting a patience on average."""
    a = erlang.erlang_a(1, 100_000 / 3600, 86_400, patience=86_400)
    assert a.p_wait == pytest.approx(1.0)
    assert a.p_abandon == pytest.approx(1 - 1 / (100_000 / 3600 * 86_400), rel=1e-3)
    assert a.mean_wait == pytest.approx(86_400, rel=1e-3)


def test_erlang_a_refuses_what_it_cannot_work_through() -> None:
    with pytest.raises(erlang.TooLargeToSolve):
        erlang.erlang_a(2, 1.0, 60, patience=1e9)
    with pytest.raises(ValueError, match="positive"):
        erlang.erlang_a(2, 0.1, 60, patience=1e-320)  # 1 / patience is infinite


def test_erlang_a_balances_flows() -> None:
    """Little's law on the chain: what arrives is either served or abandons."""
    a = erlang.erlang_a(12, RATE, AHT, patience=120)
    assert 0 < a.p_abandon < a.p_wait < 1
    assert a.mean_wait == pytest.approx(a.mean_queue / RATE)
