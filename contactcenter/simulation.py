"""`contactcenter simulate`: scenarios from flags or a file, and the report a supervisor reads."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contactcenter.settings import Channel, ConfigError, FileConfig
from routing import erlang
from routing.config import engine_config
from routing.simulate import AgentGroup, ArrivalStream, Scenario


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

class AgentsSpec(_Strict):
    count: int = Field(ge=1, le=100_000)
    skills: dict[str, int]
    name: str = "agent"

class ArrivalsSpec(_Strict):
    queue: str
    channel: Channel = "voice"
    rate: float = Field(gt=0, description="arrivals per second")
    aht: float = Field(gt=0, description="mean handle time, seconds")
    patience: float | None = Field(default=None, gt=0)
    extra_skills: dict[str, int] = Field(default_factory=dict)

class ScenarioFile(_Strict):
    duration: float = Field(default=28_800, gt=0)
    warmup: float | None = Field(default=None, ge=0)
    threshold: float | None = Field(default=None, gt=0)
    seed: int = 1
    handle_time: str = Field(default="exponential", pattern="^(exponential|lognormal)$")
    agents: list[AgentsSpec] = Field(min_length=1)
    arrivals: list[ArrivalsSpec] = Field(min_length=1)

def scenario_from_file(path: Path, workspace: FileConfig) -> Scenario:
    """Agents and arrivals from the file; queues, capacities and routing from the workspace."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        spec = ScenarioFile.model_validate(raw)
    except FileNotFoundError:
        raise ConfigError("--scenario", f"file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--scenario", f"{path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"--scenario {where}", first["msg"]) from None
    config = engine_config(workspace)
    for i, stream in enumerate(spec.arrivals):
        if stream.queue not in config.queues:
            raise ConfigError(f"--scenario arrivals.{i}.queue", f"unknown queue {stream.queue!r}")
        if stream.channel not in config.channels:
            raise ConfigError(f"--scenario arrivals.{i}.channel",
                              f"no capacity rule for channel {stream.channel!r}")
    threshold = spec.threshold or min(q.service_level_seconds for q in config.queues.values())
    return Scenario(
        config=config,
        agents=tuple(AgentGroup(a.count, dict(a.skills), a.name) for a in spec.agents),
        arrivals=tuple(ArrivalStream(s.queue, s.channel, s.rate, s.aht, s.patience,
                                     dict(s.extra_skills)) for s in spec.arrivals),
        duration=spec.duration,
        warmup=spec.duration * 0.1 if spec.warmup is None else spec.warmup,
        threshold=threshold,
        seed=spec.seed,
        handle_time="lognormal" if spec.handle_time == "lognormal" else "exponential",
    )

def theory(agents: int, rate: float, aht: float, threshold: float,
           patience: float | None) -> dict[str, float] | None:
    """What queueing theory predicts for the single-queue case, to print beside the result;
    None when Erlang A's chain is too long to work through (see MAX_ERLANG_A_STATES)."""
    load = rate * aht
    if patience is None:
        return {
            "model": 0.0,
            "p_wait": erlang.erlang_c(agents, load),
            "asa_seconds": erlang.average_speed_of_answer(agents, load, aht),
            "service_level": erlang.service_level(agents, load, aht, threshold),
            "occupancy": min(1.0, load / agents),
        }
    try:
        a = erlang.erlang_a(agents, rate, aht, patience)
    except erlang.TooLargeToSolve:
        return None
    return {"model": 1.0, "p_wait": a.p_wait, "p_abandon": a.p_abandon,
            "mean_wait_seconds": a.mean_wait,
            "occupancy": rate * (1 - a.p_abandon) * aht / agents}

def format_report(result: dict[str, Any], predicted: dict[str, float] | None) -> str:
    threshold = result["threshold_seconds"]
    rows: list[tuple[str, str, str]] = [
        ("offered", f"{result['offered']:,}", ""),
        ("answered", f"{result['answered']:,}", ""),
        ("abandoned", f"{result['abandoned']:,}", ""),
        ("refused", f"{result['refused']:,}", ""),
        ("P(wait)", _pct(result["p_wait"]), "p_wait"),
        ("P(abandon)", _pct(result["p_abandon"]), "p_abandon"),
        ("average speed of answer", f"{result['asa_seconds']:.1f} s", "asa_seconds"),
        ("mean wait (all customers)", f"{result['mean_wait_seconds']:.1f} s", "mean_wait_seconds"),
        (f"service level ({threshold:g} s)", _pct(result["service_level"]), "service_level"),
        ("  counting abandons", _pct(result["service_level_with_abandons"]), ""),
        ("occupancy", _pct(result["occupancy"]), "occupancy"),
    ]
    model = None if predicted is None else ("Erlang A" if predicted["model"] else "Erlang C")
    lines = [
        f"Simulated {result['duration_seconds']:,.0f} s after a {result['warmup_seconds']:,.0f} s "
        f"warm-up, {result['agents']} agents, seed {result['seed']}.",
        "",
        f"  {'':28}{'simulated':>12}{model or '':>12}",
    ]
    for label, value, key in rows:
        expected = ""
        if predicted is not None and key in predicted:
            number = predicted[key]
            expected = f"{number:.1f} s" if key.endswith("seconds") else _pct(number)
        lines.append(f"  {label:28}{value:>12}{expected:>12}")
    queues = result["queues"]
    if len(queues) > 1:
        lines += ["", f"  {'queue':12}{'offered':>10}{'answered':>10}{'abandoned':>10}"
                      f"{'ASA':>9}{'SL':>8}"]
        for name, q in queues.items():
            lines.append(f"  {name:12}{q['offered']:>10,}{q['answered']:>10,}{q['abandoned']:>10,}"
                         f"{q['asa_seconds']:>8.1f}s{_pct(q['service_level']):>8}")
    return "\n".join(lines)

def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"
