"""`contactcenter simulate` as a supervisor runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CC_", "TWILIO_"))}
    return subprocess.run([sys.executable, "-m", "contactcenter", "simulate", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_json_output_with_theory() -> None:
    proc = simulate("--agents", "13", "--arrival-rate", "0.0556", "--aht", "180",
                    "--duration", "100000", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["agents"] == 13
    assert result["offered"] > 4000
    assert 0.28 < result["theory"]["p_wait"] < 0.29, "Erlang C for A = 10.008, N = 13"
    assert proc.stderr == "", "--json prints no progress"


def test_report_and_progress() -> None:
    proc = simulate("--agents", "12", "--arrival-rate", "0.0556", "--aht", "180",
                    "--patience", "120", "--duration", "50000")
    assert proc.returncode == 0, proc.stderr
    assert "Erlang A" in proc.stdout
    assert "P(abandon)" in proc.stdout
    assert "simulating [" in proc.stderr
    assert "100%" in proc.stderr


def test_scenario_file_with_the_workspace_queues(tmp_path: Path) -> None:
    scenario = tmp_path / "day.toml"
    scenario.write_text("""
duration = 20000
seed = 4
[[agents]]
count = 4
skills = { sales = 6, spanish = 8 }
[[agents]]
count = 6
skills = { support = 5, billing = 4 }
[[arrivals]]
queue = "sales"
channel = "voice"
rate = 0.01
aht = 200
patience = 240
extra_skills = { spanish = 5 }
[[arrivals]]
queue = "support"
channel = "chat"
rate = 0.03
aht = 400
""")
    proc = simulate("--scenario", str(scenario), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result["queues"]) == {"sales", "support", "billing"}
    assert result["queues"]["sales"]["offered"] > 100
    assert result["queues"]["support"]["answered"] > 400


def test_bad_scenario_is_one_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[[agents]]\ncount = 2\nskills = {}\n[[arrivals]]\nqueue = "retention"\n'
                        'rate = 0.1\naht = 100\n')
    proc = simulate("--scenario", str(scenario))
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("contactcenter: configuration error: --scenario arrivals.0.queue: "
                                   "unknown queue 'retention'")


def test_no_agents_is_refused_clearly() -> None:
    proc = simulate("--agents", "0", "--arrival-rate", "0.1", "--aht", "100")
    assert proc.returncode == 2
    assert "must be a whole number, at least 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_runs_too_large_or_values_too_small_are_refused_in_one_line() -> None:
    huge = simulate("--agents", "2", "--arrival-rate", "1000", "--aht", "60")
    assert huge.returncode == 2
    assert huge.stderr.strip() == (
        "contactcenter: configuration error: --arrival-rate: about 31,680,000 arrivals to "
        "simulate, more than 20,000,000 (ten minutes or so): shorten the duration or lower "
        "the rate")
    for flag, value in (("--arrival-rate", "inf"), ("--patience", "1e-320"), ("--aht", "nan")):
        proc = simulate("--agents", "2", "--arrival-rate", "0.1", "--aht", "60", flag, value)
        assert proc.returncode == 2
        assert f"argument {flag}: '{value}' must be a number from 0.000001 up" in proc.stderr


def test_erlang_a_beyond_reach_is_said_and_the_run_goes_on() -> None:
    proc = simulate("--agents", "2", "--arrival-rate", "1", "--aht", "60", "--patience", "1e9",
                    "--duration", "600", "--json")
    assert proc.returncode == 0
    assert "no Erlang A figures" in proc.stderr
    result = json.loads(proc.stdout)
    assert "theory" not in result
    assert result["offered"] > 0


def test_missing_flags_say_which() -> None:
    proc = simulate("--agents", "3")
    assert proc.returncode == 2
    assert "--arrival-rate: required unless --scenario FILE is given" in proc.stderr
