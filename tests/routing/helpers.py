"""A small harness for driving the engine in tests."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import routing
from routing.engine import Engine
from routing.model import (
    AgentLoggedIn,
    Channel,
    ChannelRule,
    Decision,
    EngineConfig,
    Event,
    InteractionArrived,
    Offered,
    QueueSpec,
)

CHANNELS: dict[Channel, ChannelRule] = {
    "voice": ChannelRule(weight=100, max=1, exclusive=True, offer_timeout_seconds=20),
    "chat": ChannelRule(weight=33, max=3, offer_timeout_seconds=20),
    "sms": ChannelRule(weight=25, max=4, offer_timeout_seconds=20),
    "email": ChannelRule(weight=20, max=5, offer_timeout_seconds=60),
}


def config(*queues: QueueSpec, **overrides: object) -> EngineConfig:
    base = EngineConfig(queues={q.name: q for q in queues}, channels=dict(CHANNELS))
    return replace(base, **overrides)  # type: ignore[arg-type]


class Driver:
    """Applies events at a moving clock and keeps every decision for assertions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.now = 0.0
        self.log: list[Decision] = []

    def __call__(self, event: Event, at: float | None = None) -> list[Decision]:
        if at is not None:
            self.now = at
        out = self.engine.apply(event, self.now)
        self.log.extend(out)
        return out

    def tick(self, to: float) -> list[Decision]:
        self.now = to
        out = self.engine.advance(to)
        self.log.extend(out)
        return out

    def login(self, agent: str, at: float | None = None, **skills: int) -> list[Decision]:
        return self(AgentLoggedIn(agent, skills), at)

    def arrive(self, iid: str, queue: str = "support", channel: str = "chat",
               at: float | None = None, **kw: object) -> list[Decision]:
        if at is not None:
            self.now = at
        return self(InteractionArrived(iid, channel, queue, self.now, **kw))  # type: ignore[arg-type]


def offers(decisions: list[Decision]) -> list[tuple[str, str]]:
    return [(d.interaction_id, d.agent_id) for d in decisions if isinstance(d, Offered)]


def engine_from_source() -> ModuleType:
    """routing/engine.py run from its source under another name, whether or not the installed
    engine is compiled: a test may subclass its Engine (a compiled class cannot be), and the
    compiled engine is held to what the source does."""
    name = "routing_engine_from_source"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(routing.__file__).parent / "engine.py")
    assert spec is not None
    assert spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)  # dataclasses look there
    spec.loader.exec_module(module)
    return module
