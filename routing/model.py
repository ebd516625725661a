"""What the routing engine is told (events), what it answers (decisions), and how it is set up.

Plain dataclasses with no I/O, so the engine, the simulator and the service share them.
Times are seconds as floats: epoch seconds in the service, virtual seconds in the simulator.
Events and the configuration are frozen. Decisions are values too, never changed once made,
but not frozen: the engine makes one to five of them per event, and a frozen dataclass sets
each field through `object.__setattr__`, three to four times the cost of a plain one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Channel = Literal["voice", "sms", "email", "chat", "voicemail"]
Strategy = Literal["longest_idle", "least_occupied", "most_skilled", "round_robin"]
Presence = Literal["available", "away", "offline"]
ClosedBehaviour = Literal["keep_waiting", "voicemail", "auto_reply", "refuse"]
Terminal = Literal["completed", "abandoned", "refused"]


@dataclass(frozen=True)
class EscalationStep:
    """After `after_seconds` in the queue: lower a skill's minimum, drop it, or overflow."""

    after_seconds: float
    action: Literal["lower_level", "drop_skill", "overflow"]
    skill: str = ""
    level: int = 1
    queue: str = ""


@dataclass(frozen=True)
class QueueSpec:
    name: str
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    strategy: Strategy = "longest_idle"
    aging_per_second: float = 0.0
    service_level_seconds: float = 20.0
    max_wait_seconds: float | None = None
    overflow_queue: str | None = None
    escalation: tuple[EscalationStep, ...] = ()
    wrapup_seconds: float = 0.0
    calendar: str | None = None
    closed: dict[Channel, ClosedBehaviour] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelRule:
    weight: int
    max: int
    exclusive: bool = False
    offer_timeout_seconds: float = 20.0


@dataclass(frozen=True)
class EngineConfig:
    queues: dict[str, QueueSpec]
    channels: dict[Channel, ChannelRule]
    capacity_budget: int = 100
    missed_offers_before_away: int = 3
    preferred_agent_seconds: float = 15.0
    # An agent who passed on an interaction (rejected, let it time out) is not offered it again
    # for this long even when nobody else could take it: else a lone agent's "no" comes
    # straight back and blocks them from other work.
    reoffer_after_seconds: float = 10.0
    disconnect_grace_seconds: float = 30.0
    # With it, an offer no console confirmed receiving ends at its deadline without counting as
    # missed (the live feed failed, not the agent). The service confirms; the simulator, which
    # has no consoles, leaves it off.
    offers_need_delivery: bool = False
    calendars: dict[str, object] = field(default_factory=dict)  # name -> routing.calendar.Calendar
    # Where an interaction goes when its queue no longer exists (removed from the configuration
    # while it waited): its channel's default queue. Without an entry, the first queue.
    fallback_queues: dict[Channel, str] = field(default_factory=dict)


# Events: what happened.

@dataclass(frozen=True)
class AgentLoggedIn:
    agent_id: str
    skills: dict[str, int]
    presence: Presence = "available"


@dataclass(frozen=True)
class AgentSkillsChanged:
    agent_id: str
    skills: dict[str, int]


@dataclass(frozen=True)
class AgentPresenceChanged:
    agent_id: str
    presence: Presence
    reason: str = ""


@dataclass(frozen=True)
class AgentDisconnected:
    """The console socket dropped; the agent goes offline unless it comes back within the grace."""

    agent_id: str


@dataclass(frozen=True)
class AgentReconnected:
    agent_id: str


@dataclass(frozen=True)
class InteractionArrived:
    interaction_id: str
    channel: Channel
    queue: str
    arrival: float
    priority: int | None = None
    extra_skills: dict[str, int] = field(default_factory=dict)
    preferred_agent: str | None = None


@dataclass(frozen=True)
class OfferAccepted:
    interaction_id: str
    agent_id: str


@dataclass(frozen=True)
class OfferDelivered:
    """The offer reached a console of the agent's (the service says so when its socket sent
    it): only a delivered offer left unanswered counts as missed."""

    interaction_id: str
    agent_id: str


@dataclass(frozen=True)
class OfferRejected:
    interaction_id: str
    agent_id: str


@dataclass(frozen=True)
class CustomerLeft:
    """The customer hung up or closed the chat. Waiting or offered work is abandoned."""

    interaction_id: str


@dataclass(frozen=True)
class InteractionCompleted:
    """The agent finished the conversation; wrap-up follows for the queue's wrap-up time."""

    interaction_id: str


@dataclass(frozen=True)
class WrapupFinished:
    interaction_id: str


@dataclass(frozen=True)
class Transferred:
    interaction_id: str
    to_queue: str | None = None
    to_agent: str | None = None
    priority_bump: int = 0


@dataclass(frozen=True)
class PriorityRaised:
    """The interaction matters more now (its case is close to an SLA breach): it moves up
    among the waiting work, its arrival time kept."""

    interaction_id: str
    priority: int
    reason: str = ""


Event = (AgentLoggedIn | AgentSkillsChanged | AgentPresenceChanged | AgentDisconnected
         | AgentReconnected | InteractionArrived | OfferAccepted | OfferDelivered | OfferRejected
         | CustomerLeft | InteractionCompleted | WrapupFinished | Transferred | PriorityRaised)


# Decisions: what the engine wants done, each with its reason.

@dataclass(slots=True)
class Explanation:
    """Why an offer went where it did: who was eligible, why each other agent was not.

    Bounded: the first agents are named with their reason, the rest are counted by reason, so
    the reason kept with every offer of a thousand-agent centre stays a few lines long.
    """

    chosen: str
    rule: str
    eligible: tuple[str, ...]
    not_eligible: dict[str, str]
    eligible_count: int = 0  # every eligible agent, the named ones in `eligible` included
    more: dict[str, int] = field(default_factory=dict)  # reason -> agents not named

    def text(self, names: Mapping[str, str] | None = None) -> str:
        """The reason in words; `names` turns agent ids into people's names."""
        def name(agent_id: str) -> str:
            return names.get(agent_id, agent_id) if names else agent_id

        count = self.eligible_count or len(self.eligible)
        parts = [f"offered to {name(self.chosen)}: {self.rule} of {count} eligible"]
        parts += [f"{name(a)} {why}" for a, why in self.not_eligible.items()]
        if self.more:
            counted = ", ".join(f"{n} {why}" for why, n in self.more.items())
            parts.append(f"and {sum(self.more.values())} more: {counted}")
        return "; ".join(parts)


@dataclass(slots=True)
class Offered:
    interaction_id: str
    agent_id: str
    deadline: float
    reason: str
    # Filled when the engine runs with explain=True (the service does; the simulator does not).
    explanation: Explanation | None = None


@dataclass(slots=True)
class OfferEnded:
    """An open offer ended without acceptance: rejected, timed out, or rescinded (and why)."""

    interaction_id: str
    agent_id: str
    outcome: Literal["rejected", "timed_out", "rescinded"]
    reason: str


@dataclass(slots=True)
class Assigned:
    interaction_id: str
    agent_id: str


@dataclass(slots=True)
class Requeued:
    interaction_id: str
    queue: str
    reason: str


@dataclass(slots=True)
class Escalated:
    interaction_id: str
    queue: str
    reason: str


@dataclass(slots=True)
class WrapupStarted:
    interaction_id: str
    agent_id: str
    deadline: float


@dataclass(slots=True)
class Ended:
    """The interaction reached its one terminal state."""

    interaction_id: str
    outcome: Terminal
    reason: str
    behaviour: ClosedBehaviour | None = None


@dataclass(slots=True)
class AgentStateChanged:
    agent_id: str
    presence: Presence
    reason: str


Decision = (Offered | OfferEnded | Assigned | Requeued | Escalated | WrapupStarted | Ended
            | AgentStateChanged)
