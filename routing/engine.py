"""The routing engine: a deterministic state machine. Events and the current time go in,
decisions come out; it reads no clock and does no I/O, so the simulator, the property tests and
the service all drive the very same code.

How it stays fast with many waiting interactions: interactions wait in *buckets*, one per
(queue, channel, required skills). Within a bucket every interaction ages at the same rate, so
ordering by `priority - aging * arrival` is the same at every instant and a heap keeps it. Each
bucket also keeps a heap of the agents who could take its work now, ordered by the queue's
strategy. A decision looks only at the tops of the buckets involved: its cost grows with the
number of buckets, not with the number of waiting interactions. Heap entries are invalidated
lazily by version numbers.

The agents' heaps are kept lazily too. Taking work only ever makes an agent rank lower (busier,
offered more recently), so it pushes nothing: the old entry stays and is corrected when it comes
to the top. Only a change that can make an agent rank higher or take work again (work released,
presence available, reconnected, new skills) publishes fresh entries, and only once the agent's
own matching is done: a busy centre's agent who finishes one conversation and takes the next
touches no agent heap at all.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

from routing.calendar import Calendar
from routing.model import (
    AgentDisconnected,
    AgentLoggedIn,
    AgentPresenceChanged,
    AgentReconnected,
    AgentSkillsChanged,
    AgentStateChanged,
    Assigned,
    Channel,
    ClosedBehaviour,
    CustomerLeft,
    Decision,
    Ended,
    EngineConfig,
    Escalated,
    Event,
    Explanation,
    InteractionArrived,
    InteractionCompleted,
    OfferAccepted,
    OfferDelivered,
    Offered,
    OfferEnded,
    OfferRejected,
    Presence,
    PriorityRaised,
    QueueSpec,
    Requeued,
    Strategy,
    Transferred,
    WrapupFinished,
    WrapupStarted,
)

State = Literal["waiting", "reserved", "offered", "assigned", "wrapup", "ended"]
Reqs = tuple[tuple[str, int], ...]
_DECLINED_SCAN_LIMIT = 32
# Other agents an offer's reason names one by one; the rest are counted by reason.
_EXPLAIN_NAMED = 25
# Each strategy as a reason says it ("longest idle of 3 eligible").
_RULE: dict[str, str] = {s: s.replace("_", " ") for s in get_args(Strategy)}
# Where an agent with the skills stands for one channel, first reason first: "free" could
# take one more of it now; any other standing is why the agent was not chosen.
Standing = Literal["free", "at capacity", "disconnected", "away", "offline"]
# Each standing other than free as a reason: (said of one agent, said of several).
_WHY: dict[Standing, tuple[str, str]] = {
    "at capacity": ("is at capacity", "are at capacity"),
    "disconnected": ("is disconnected", "are disconnected"),
    "away": ("is away", "are away"),
    "offline": ("is offline", "are offline"),
}
_DECLINED = "already declined it"
_FOREVER = float("inf")
E = TypeVar("E", bound=tuple[Any, ...])
T = TypeVar("T")


@dataclass(slots=True, eq=False)
class Agent:
    id: str
    ordinal: int
    skills: dict[str, int]
    presence: Presence
    presence_reason: str = ""
    connected: bool = True
    disconnect_token: int = 0
    used: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    exclusive_held: int = 0
    held: dict[str, None] = field(default_factory=dict)  # an ordered set of interaction ids
    idle_since: float = 0.0
    last_offer_seq: int = 0
    missed_in_a_row: int = 0
    # Offers that reached none of the agent's consoles, in a row (see OfferDelivered).
    undelivered_in_a_row: int = 0
    version: int = 0
    # The buckets whose skills the agent has, by channel: what the agent can take now is
    # decided per channel, so only those channels' buckets are looked at.
    buckets: dict[Channel, list[Bucket]] = field(default_factory=dict)
    reserved: dict[str, None] = field(default_factory=dict)
    # The buckets whose agent heap holds an entry of this agent's current version, and the rank
    # it holds there: publishing again at the same rank pushes only where it is missing.
    listed: dict[Bucket, tuple[float, float]] = field(default_factory=dict)
    # Per channel, as last counted in the buckets' `standing` (kept only to explain offers).
    standing: dict[Channel, Standing] = field(default_factory=dict)


class Interaction:
    """An interaction the engine holds, from arrival until it ends.

    A plain class rather than a dataclass: one is made per arrival, and compiled (setup.py) its
    `__init__` is native code, where a dataclass's generated one would be interpreted.
    """

    __slots__ = ("agent", "arrival", "bucket", "channel", "declined", "entered_queue_at", "extra",
                 "id", "next_step", "offer_delivered", "offer_token", "priority", "queue",
                 "queue_epoch", "reqs",
                 "reqs_key", "reserved_for", "reserved_until", "state", "version")

    def __init__(self, interaction_id: str, channel: Channel, queue: str, arrival: float,
                 priority: int, extra: dict[str, int]) -> None:
        self.id = interaction_id
        self.channel = channel
        self.queue = queue
        self.arrival = arrival
        self.priority = priority
        self.extra = extra
        self.reqs: dict[str, int] = {}
        self.reqs_key: Reqs = ()  # `reqs` sorted: the bucket's key and the reason's wording
        self.state: State = "waiting"
        self.entered_queue_at = 0.0
        self.queue_epoch = 0
        self.next_step = 0
        self.version = 0
        self.agent: str | None = None
        self.declined: dict[str, float] = {}  # agents who passed on it, and when
        self.offer_token = 0
        self.offer_delivered = False
        self.reserved_for: str | None = None
        # Forever for a transfer to a named agent: the person transferring chose that agent,
        # so the queue's skill requirements are waived (as in TaskRouter's transfer to a worker).
        self.reserved_until = 0.0
        self.bucket: Bucket | None = None


@dataclass(slots=True, eq=False)
class Bucket:
    queue: QueueSpec
    channel: Channel
    reqs: Reqs
    waiting: list[tuple[float, float, int, str, int]] = field(default_factory=list)
    # (rank, then rank's tie-break, ordinal, agent id, agent version): flat, so the heap
    # compares floats, not tuples of tuples.
    ready: list[tuple[float, float, int, str, int]] = field(default_factory=list)
    members: dict[str, None] = field(default_factory=dict)
    # How many members stand where for this bucket's channel (kept only to explain offers):
    # a reason counts a thousand agents without looking at each.
    standing: dict[Standing, int] = field(default_factory=dict)


class Engine:
    """One workspace's routing state. Call `apply(event, now)` and `advance(now)`; both return
    the decisions taken, in order."""

    def __init__(self, config: EngineConfig, *, explain: bool = False) -> None:
        self.config = config
        self.explain = explain
        self.agents: dict[str, Agent] = {}
        # Interactions until they end: an ended one is forgotten, so a long-running leader's
        # memory follows the open work, not its history (which is in PostgreSQL).
        self.interactions: dict[str, Interaction] = {}
        self._buckets: dict[tuple[str, Channel, Reqs], Bucket] = {}
        self._queue_reqs_cache: dict[str, Reqs] = {}
        self._timers: list[tuple[float, int, str, str, int]] = []
        self._seq = itertools.count()
        self._offer_seq = itertools.count(1)
        self._ordinal = itertools.count()
        self._handlers: dict[type, Callable[[Any, float, list[Decision]], None]] = {}
        self._timer_handlers: dict[str, Callable[[str, int, float, list[Decision]], None]] = {
            kind: getattr(self, f"_timer_{kind}")
            for kind in ("grace", "reservation", "offer", "wrapup", "escalate", "max_wait", "reoffer")}
        # Read on every decision: kept at hand rather than looked up through the configuration.
        self._channels = config.channels
        self._budget = config.capacity_budget

    # Public interface

    def apply(self, event: Event, now: float) -> list[Decision]:
        timers = self._timers
        out = self.advance(now) if timers and timers[0][0] <= now else []
        handler = self._handlers.get(type(event))
        if handler is None:  # each event type's handler is looked up by name once
            handler = self._handlers[type(event)] = getattr(self, f"_on_{type(event).__name__}")
        handler(event, now, out)
        return out

    def advance(self, now: float) -> list[Decision]:
        """Fire every timer due at or before `now`, each at its own time."""
        out: list[Decision] = []
        timers = self._timers
        while timers and timers[0][0] <= now:
            at, _, kind, target, token = heapq.heappop(timers)
            self._timer_handlers[kind](target, token, at, out)
        return out

    def next_timer(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def waiting_count(self, queue: str | None = None) -> int:
        return sum(1 for it in self.interactions.values()
                   if it.state in ("waiting", "reserved") and (queue is None or it.queue == queue))

    def can_take(self, agent: Agent, channel: Channel) -> bool:
        if agent.presence != "available" or not agent.connected or agent.exclusive_held:
            return False
        rule = self._channels[channel]
        if rule.exclusive and agent.held:
            return False
        return agent.used + rule.weight <= self._budget and agent.counts.get(channel, 0) < rule.max

    @staticmethod
    def skill_eligible(agent: Agent, reqs: Iterable[tuple[str, int]]) -> bool:
        skills = agent.skills
        return all(skills.get(skill, 0) >= level for skill, level in reqs)

    def restore_assigned(
        self, e: InteractionArrived, agent_id: str, now: float, *, in_wrapup: bool = False
    ) -> list[Decision]:
        """Put back an interaction an agent already holds, when rebuilding from storage.

        The engine does not choose the agent here: the assignment already happened. The agent's
        capacity is taken; in wrap-up the queue's wrap-up time runs again from `now`.
        """
        out = self.advance(now)
        agent = self.agents.get(agent_id)
        if e.interaction_id in self.interactions or agent is None:
            return out
        # Assigned work stays with its agent even if its queue is gone; the fallback queue only
        # lends its wrap-up time, so no requeue decision is recorded.
        queue = self._queue_or_fallback(e, [])
        it = Interaction(e.interaction_id, e.channel, e.queue, e.arrival,
                         queue.priority if e.priority is None else e.priority,
                         dict(e.extra_skills))
        self.interactions[it.id] = it
        self._enter_queue(it, queue, now)
        it.state, it.agent = "assigned", agent_id
        it.version += 1
        self._hold(agent, it)
        if in_wrapup:
            self._on_InteractionCompleted(InteractionCompleted(it.id), now, out)
        return out

    # Agents

    def _on_AgentLoggedIn(self, e: AgentLoggedIn, now: float, out: list[Decision]) -> None:
        agent = self.agents.get(e.agent_id)
        if agent is None:
            agent = Agent(e.agent_id, next(self._ordinal), dict(e.skills), e.presence, idle_since=now)
            self.agents[e.agent_id] = agent
            if self.explain:
                agent.standing = self._standings(agent)
            for bucket in self._buckets.values():
                self._consider_member(bucket, agent)
        else:
            self._set_skills(agent, e.skills)
        agent.connected = True
        self._set_presence(agent, e.presence, "logged in", now, out, announce=False)

    def _on_AgentSkillsChanged(self, e: AgentSkillsChanged, now: float, out: list[Decision]) -> None:
        agent = self.agents.get(e.agent_id)
        if agent is not None:
            self._set_skills(agent, e.skills)
            self._match_agent(agent, now, out)

    def _on_AgentPresenceChanged(self, e: AgentPresenceChanged, now: float, out: list[Decision]) -> None:
        agent = self.agents.get(e.agent_id)
        if agent is not None:
            self._set_presence(agent, e.presence, e.reason, now, out, announce=False)

    def _on_AgentDisconnected(self, e: AgentDisconnected, now: float, out: list[Decision]) -> None:
        agent = self.agents.get(e.agent_id)
        if agent is None or not agent.connected:
            return
        agent.connected = False
        agent.disconnect_token += 1
        self._restand(agent)
        self._rescind_offers(agent, "the agent's console disconnected", now, out)
        self._timer(now + self.config.disconnect_grace_seconds, "grace", agent.id,
                    agent.disconnect_token)

    def _on_AgentReconnected(self, e: AgentReconnected, now: float, out: list[Decision]) -> None:
        agent = self.agents.get(e.agent_id)
        if agent is None or agent.connected:
            return
        agent.connected = True
        agent.disconnect_token += 1
        self._restand(agent)
        self._match_agent(agent, now, out)

    def _timer_grace(self, agent_id: str, token: int, now: float, out: list[Decision]) -> None:
        agent = self.agents[agent_id]
        if not agent.connected and agent.disconnect_token == token and agent.presence != "offline":
            self._set_presence(agent, "offline", "connection lost", now, out, announce=True)

    def _set_skills(self, agent: Agent, skills: dict[str, int]) -> None:
        agent.skills = dict(skills)
        agent.version += 1  # its entries go; the buckets it still belongs to get new ones
        agent.listed.clear()
        for buckets in agent.buckets.values():
            for bucket in buckets:
                del bucket.members[agent.id]
                if self.explain:
                    bucket.standing[agent.standing[bucket.channel]] -= 1
        agent.buckets = {}
        for bucket in self._buckets.values():
            self._consider_member(bucket, agent)

    def _consider_member(self, bucket: Bucket, agent: Agent) -> None:
        if self.skill_eligible(agent, bucket.reqs):
            bucket.members[agent.id] = None
            agent.buckets.setdefault(bucket.channel, []).append(bucket)
            if self.explain:
                standing = agent.standing[bucket.channel]
                bucket.standing[standing] = bucket.standing.get(standing, 0) + 1
            if self.can_take(agent, bucket.channel):
                self._push_ready(bucket, agent)

    def _set_presence(
        self, agent: Agent, presence: Presence, reason: str, now: float, out: list[Decision],
        *, announce: bool,
    ) -> None:
        previous = agent.presence
        agent.presence, agent.presence_reason = presence, reason
        self._restand(agent)
        if announce:
            out.append(AgentStateChanged(agent.id, presence, reason))
        if presence == "available":
            agent.missed_in_a_row = agent.undelivered_in_a_row = 0
            if previous != "available" and not agent.held:
                agent.idle_since = now
            self._match_agent(agent, now, out)
            return
        self._rescind_offers(agent, f"the agent went {presence}", now, out)
        if presence == "offline":
            for iid in list(agent.reserved):
                self._release_reservation(self.interactions[iid], now, out)
            for iid in list(agent.held):
                it = self.interactions[iid]
                if it.state == "assigned":
                    self._release(agent, it, now)
                    out.append(Requeued(it.id, it.queue, "the agent went offline"))
                    self._enqueue(it, now, out)
                elif it.state == "wrapup":
                    self._finish(agent, it, now, out)

    # Interactions

    def _on_InteractionArrived(self, e: InteractionArrived, now: float, out: list[Decision]) -> None:
        if e.interaction_id in self.interactions:
            return  # a repeated event changes nothing
        queue = self._queue_or_fallback(e, out)
        it = Interaction(
            e.interaction_id, e.channel, e.queue, e.arrival,
            queue.priority if e.priority is None else e.priority, dict(e.extra_skills),
        )
        self.interactions[it.id] = it
        behaviour = self._closed_behaviour(queue, it.channel, now)
        if behaviour is not None:
            self._end(it, Ended(it.id, "refused", f"queue {queue.name} is closed", behaviour), out)
            return
        self._enter_queue(it, queue, now)
        preferred = self.agents.get(e.preferred_agent or "")
        if (preferred is not None and self.config.preferred_agent_seconds > 0
                and preferred.presence != "offline"
                and self.skill_eligible(preferred, it.reqs.items())):
            self._reserve(it, preferred, now + self.config.preferred_agent_seconds, now, out)
        else:
            self._enqueue(it, now, out)

    def _queue_or_fallback(self, e: InteractionArrived, out: list[Decision]) -> QueueSpec:
        queue = self.config.queues.get(e.queue)
        if queue is not None:
            return queue
        fallback = self._fallback(e.channel)
        out.append(Requeued(e.interaction_id, fallback.name, f"queue {e.queue} no longer exists"))
        return fallback

    def _fallback(self, channel: Channel) -> QueueSpec:
        name = self.config.fallback_queues.get(channel)
        return self.config.queues[name] if name in self.config.queues else next(
            iter(self.config.queues.values()))

    def _closed_behaviour(
        self, queue: QueueSpec, channel: Channel, now: float
    ) -> ClosedBehaviour | None:
        calendar = self.config.calendars.get(queue.calendar or "")
        if not isinstance(calendar, Calendar) or calendar.is_open(now):
            return None
        behaviour = queue.closed.get(channel, "keep_waiting")
        return None if behaviour == "keep_waiting" else behaviour

    def _enter_queue(self, it: Interaction, queue: QueueSpec, now: float) -> None:
        """Take on a queue's requirements and timers; the arrival time is never changed."""
        it.queue = queue.name
        it.queue_epoch += 1
        it.entered_queue_at = now
        it.next_step = 0
        reqs = dict(queue.skills)
        if it.extra:
            for skill, level in it.extra.items():
                reqs[skill] = max(level, reqs.get(skill, 0))
            it.reqs_key = tuple(sorted(reqs.items()))
        else:
            it.reqs_key = self._queue_reqs(queue)
        it.reqs = reqs
        if queue.escalation:
            self._timer(now + queue.escalation[0].after_seconds, "escalate", it.id, it.queue_epoch)
        if queue.max_wait_seconds is not None:
            self._timer(now + queue.max_wait_seconds, "max_wait", it.id, it.queue_epoch)

    def _enqueue(self, it: Interaction, now: float, out: list[Decision]) -> None:
        """Put a waiting interaction in its bucket and try to offer it at once."""
        it.state = "waiting"
        it.agent = None
        it.version += 1
        queue = self.config.queues[it.queue]
        if queue.max_wait_seconds is not None and now - it.entered_queue_at >= queue.max_wait_seconds:
            self._over_max_wait(it, queue, now, out)
            return
        bucket = self._bucket(queue, it.channel, it.reqs_key)
        it.bucket = bucket
        heapq.heappush(bucket.waiting, (
            -(it.priority - queue.aging_per_second * it.arrival), it.arrival, next(self._seq),
            it.id, it.version))
        self._match_interaction(it, now, out)

    def _queue_reqs(self, queue: QueueSpec) -> Reqs:
        reqs = self._queue_reqs_cache.get(queue.name)
        if reqs is None:
            reqs = self._queue_reqs_cache[queue.name] = tuple(sorted(queue.skills.items()))
        return reqs

    def _bucket(self, queue: QueueSpec, channel: Channel, reqs: Reqs) -> Bucket:
        key = (queue.name, channel, reqs)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = Bucket(queue, channel, reqs)
            self._buckets[key] = bucket
            for agent in self.agents.values():
                self._consider_member(bucket, agent)
        return bucket

    def _reserve(self, it: Interaction, agent: Agent, until: float, now: float,
                 out: list[Decision]) -> None:
        it.state = "reserved"
        it.version += 1
        it.reserved_for = agent.id
        it.reserved_until = until
        agent.reserved[it.id] = None
        if until < _FOREVER:
            self._timer(until, "reservation", it.id, it.version)
        if self.can_take(agent, it.channel):
            self._offer(it, agent, "reserved for this agent", now, out)

    def _timer_reservation(self, iid: str, version: int, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(iid)
        if it is not None and it.state == "reserved" and it.version == version:
            self._release_reservation(it, now, out)

    def _drop_reservation(self, it: Interaction) -> None:
        if it.reserved_for is not None:
            self.agents[it.reserved_for].reserved.pop(it.id, None)
        it.reserved_for = None

    def _release_reservation(self, it: Interaction, now: float, out: list[Decision]) -> None:
        self._drop_reservation(it)
        if it.state == "reserved":
            self._enqueue(it, now, out)

    def _on_OfferAccepted(self, e: OfferAccepted, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(e.interaction_id)
        if it is None or it.state != "offered" or it.agent != e.agent_id:
            return  # too late: the offer timed out or was rescinded; the service tells the agent
        agent = self.agents[e.agent_id]
        it.state = "assigned"
        agent.missed_in_a_row = 0
        if it.reserved_for is not None:
            agent.reserved.pop(it.id, None)
            it.reserved_for = None
        out.append(Assigned(it.id, agent.id))

    def _on_OfferDelivered(self, e: OfferDelivered, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(e.interaction_id)
        if it is not None and it.state == "offered" and it.agent == e.agent_id:
            it.offer_delivered = True
            self.agents[e.agent_id].undelivered_in_a_row = 0

    def _on_OfferRejected(self, e: OfferRejected, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(e.interaction_id)
        if it is None or it.state != "offered" or it.agent != e.agent_id:
            return
        self._end_offer(it, "rejected", "the agent rejected it", now, out)

    def _timer_offer(self, iid: str, token: int, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(iid)
        if it is None or it.state != "offered" or it.offer_token != token or it.agent is None:
            return
        agent = self.agents[it.agent]
        if self.config.offers_need_delivery and not it.offer_delivered:
            # Not the agent's fault, so not a miss; but someone else gets it first, and a
            # console that gets nothing for as long as misses would take is unreachable.
            agent.undelivered_in_a_row += 1
            self._end_offer(it, "rescinded", "the offer never reached the agent's console", now,
                            out, passed=True)
            if (agent.undelivered_in_a_row >= self.config.missed_offers_before_away
                    and agent.presence == "available"):
                self._set_presence(agent, "away", "console unreachable", now, out, announce=True)
            return
        agent.missed_in_a_row += 1
        self._end_offer(it, "timed_out", "no answer before the deadline", now, out)
        if (agent.missed_in_a_row >= self.config.missed_offers_before_away
                and agent.presence == "available"):
            self._set_presence(agent, "away", "missed offers", now, out, announce=True)

    def _end_offer(self, it: Interaction, outcome: Literal["rejected", "timed_out", "rescinded"],
                   reason: str, now: float, out: list[Decision], *, passed: bool = False) -> None:
        """`passed`: the agent is passed over for a while as after a decline, though the offer
        was rescinded (it never reached them)."""
        assert it.agent is not None
        agent = self.agents[it.agent]
        self._release(agent, it, now)
        out.append(OfferEnded(it.id, agent.id, outcome, reason))
        if outcome != "rescinded" or passed:
            it.declined[agent.id] = now
        if it.reserved_for is not None:
            self.agents[it.reserved_for].reserved.pop(it.id, None)
            it.reserved_for = None  # the reserved agent passed or left: the queue takes over
        self._enqueue(it, now, out)
        self._match_agent(agent, now, out)

    def _rescind_offers(self, agent: Agent, reason: str, now: float, out: list[Decision]) -> None:
        for iid in list(agent.held):
            it = self.interactions[iid]
            if it.state == "offered":
                self._end_offer(it, "rescinded", reason, now, out)

    def _on_CustomerLeft(self, e: CustomerLeft, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(e.interaction_id)
        if it is None or it.state not in ("waiting", "reserved", "offered"):
            return  # assigned work ends when the agent completes it
        if it.state == "offered":
            assert it.agent is not None
            agent = self.agents[it.agent]
            self._release(agent, it, now)
            out.append(OfferEnded(it.id, agent.id, "rescinded", "the customer left"))
            self._end(it, Ended(it.id, "abandoned", "the customer left while waiting"), out)
            self._match_agent(agent, now, out)
            return
        self._end(it, Ended(it.id, "abandoned", "the customer left while waiting"), out)

    def _on_InteractionCompleted(self, e: InteractionCompleted, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(e.interaction_id)
        if it is None or it.state != "assigned" or it.agent is None:
            return
        agent = self.agents[it.agent]
        wrapup = self.config.queues[it.queue].wrapup_seconds
        if wrapup <= 0:
            self._finish(agent, it, now, out)
            return
        it.state = "wrapup"
        it.offer_token = next(self._offer_seq)
        out.append(WrapupStarted(it.id, agent.id, now + wrapup))
        self._timer(now + wrapup, "wrapup", it.id, it.offer_token)

    def _on_WrapupFinished(self, e: WrapupFinished, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(e.interaction_id)
        if it is not None and it.state == "wrapup" and it.agent is not None:
            self._finish(self.agents[it.agent], it, now, out)

    def _timer_wrapup(self, iid: str, token: int, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(iid)
        if it is not None and it.state == "wrapup" and it.offer_token == token and it.agent:
            self._finish(self.agents[it.agent], it, now, out)

    def _finish(self, agent: Agent, it: Interaction, now: float, out: list[Decision]) -> None:
        self._release(agent, it, now)
        self._end(it, Ended(it.id, "completed", "handled"), out)
        self._match_agent(agent, now, out)

    def _end(self, it: Interaction, ended: Ended, out: list[Decision]) -> None:
        """The one terminal decision of an interaction; then it is forgotten."""
        if it.reserved_for is not None:
            self.agents[it.reserved_for].reserved.pop(it.id, None)
            it.reserved_for = None
        it.state = "ended"
        it.version += 1  # its heap entries and timers are now stale
        out.append(ended)
        del self.interactions[it.id]

    def _on_Transferred(self, e: Transferred, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(e.interaction_id)
        if it is None or it.state in ("ended", "wrapup"):
            return
        released = None
        if it.state in ("offered", "assigned") and it.agent is not None:
            released = self.agents[it.agent]
            self._release(released, it, now)
            if it.state == "offered":
                out.append(OfferEnded(it.id, released.id, "rescinded", "transferred"))
        if it.reserved_for is not None:
            self.agents[it.reserved_for].reserved.pop(it.id, None)
            it.reserved_for = None
        it.declined.clear()
        it.priority += e.priority_bump
        if e.to_queue is not None:
            queue = self.config.queues.get(e.to_queue) or self._fallback(it.channel)
            self._enter_queue(it, queue, now)
        target = self.agents.get(e.to_agent or "")
        out.append(Requeued(it.id, it.queue, f"transferred to {e.to_agent or e.to_queue}"))
        if target is not None and target.presence != "offline":
            self._reserve(it, target, _FOREVER, now, out)
        else:
            self._enqueue(it, now, out)
        if released is not None:
            self._match_agent(released, now, out)  # the freed agent takes other waiting work

    def _on_PriorityRaised(self, e: PriorityRaised, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(e.interaction_id)
        if it is None or e.priority <= it.priority:
            return
        it.priority = e.priority
        if it.state == "waiting":  # re-keyed in its bucket; the old heap entry is now stale
            self._enqueue(it, now, out)

    # Escalation and maximum wait

    def _timer_escalate(self, iid: str, epoch: int, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(iid)
        if it is None or it.queue_epoch != epoch:
            return
        queue = self.config.queues[it.queue]
        step = queue.escalation[it.next_step]
        it.next_step += 1
        if it.next_step < len(queue.escalation):
            self._timer(it.entered_queue_at + queue.escalation[it.next_step].after_seconds,
                        "escalate", it.id, epoch)
        if step.action == "overflow":
            if it.state in ("waiting", "reserved"):
                # Like the maximum wait: the customer has waited long enough for that agent (the
                # reservation left behind made the agent offer work that had ended).
                self._drop_reservation(it)
                self._move_queue(it, step.queue, f"waited {step.after_seconds:g} s", now, out)
            return
        if step.action == "lower_level" and step.skill in it.reqs:
            it.reqs[step.skill] = min(it.reqs[step.skill], step.level)
            reason = f"{step.skill} lowered to {step.level} after {step.after_seconds:g} s"
        elif step.action == "drop_skill" and step.skill in it.reqs:
            del it.reqs[step.skill]
            reason = f"{step.skill} dropped after {step.after_seconds:g} s"
        else:
            return
        it.reqs_key = tuple(sorted(it.reqs.items()))
        if it.state == "waiting":
            out.append(Escalated(it.id, it.queue, reason))
            self._enqueue(it, now, out)

    def _timer_max_wait(self, iid: str, epoch: int, now: float, out: list[Decision]) -> None:
        it = self.interactions.get(iid)
        if it is not None and it.queue_epoch == epoch and it.state in ("waiting", "reserved"):
            self._over_max_wait(it, self.config.queues[it.queue], now, out)

    def _over_max_wait(self, it: Interaction, queue: QueueSpec, now: float, out: list[Decision]) -> None:
        self._drop_reservation(it)
        if queue.overflow_queue is not None:
            self._move_queue(it, queue.overflow_queue, "waited over the maximum", now, out)
            return
        behaviour = queue.closed.get(it.channel, "refuse")
        self._end(it, Ended(it.id, "refused", "waited over the maximum",
                            "refuse" if behaviour == "keep_waiting" else behaviour), out)

    def _move_queue(self, it: Interaction, queue_name: str, why: str, now: float,
                    out: list[Decision]) -> None:
        it.version += 1
        self._enter_queue(it, self.config.queues[queue_name], now)
        out.append(Escalated(it.id, queue_name, f"overflowed to {queue_name}: {why}"))
        self._enqueue(it, now, out)

    # Matching

    def _match_interaction(self, it: Interaction, now: float, out: list[Decision]) -> None:
        bucket = it.bucket
        assert bucket is not None
        chosen = self._best_ready_agent(bucket, it, now)
        if chosen is not None:
            self._offer(it, chosen, _RULE[bucket.queue.strategy], now, out)

    def _best_ready_agent(self, bucket: Bucket, it: Interaction, now: float) -> Agent | None:
        """The top of the bucket's agent heap that may take `it`, correcting entries on the way."""
        ready = bucket.ready
        while ready:  # the common case: the top agent is live and has not declined `it`
            agent = self._ready_top(bucket)
            if agent is None:
                heapq.heappop(ready)
                continue
            if agent.id not in it.declined:
                return agent
            break
        else:
            return None
        return _first_acceptable(ready, lambda _: self._ready_top(bucket),
                                 lambda agent: self._may_offer(it, agent, now))

    def _ready_top(self, bucket: Bucket) -> Agent | None:
        """The agent at the top of the bucket's heap, or None when that entry is stale.

        An entry is stale when its agent published newer ones or cannot take the channel now
        (the agent publishes again once it can). An entry whose agent now ranks lower than it
        says is put back at its true rank, and the new top is read: keys only worsen between
        publications, so an entry whose key is still true at the top is the best agent.
        """
        ready = bucket.ready
        while True:
            rank, tie, ordinal, agent_id, version = ready[0]
            agent = self.agents[agent_id]
            if version != agent.version:
                return None
            if not self.can_take(agent, bucket.channel):
                agent.listed.pop(bucket, None)  # dropped: published again once it can take it
                return None
            true_rank, true_tie = self._strategy_key(bucket, agent)
            if true_rank == rank and true_tie == tie:
                return agent
            agent.listed[bucket] = (true_rank, true_tie)
            heapq.heapreplace(ready, (true_rank, true_tie, ordinal, agent_id, version))

    def _match_agent(self, agent: Agent, now: float, out: list[Decision]) -> None:
        """Offer the agent the best work they can take, as long as they can take more; then
        publish the agent in the heaps of the buckets whose channels they can still take."""
        while True:
            for iid in list(agent.reserved):
                it = self.interactions[iid]
                if it.state != "reserved":
                    continue
                if it.reserved_until != _FOREVER and not self.skill_eligible(agent, it.reqs.items()):
                    # A preferred agent whose skills no longer fit: the queue takes over.
                    self._release_reservation(it, now, out)
                    continue
                if self.can_take(agent, it.channel):
                    self._offer(it, agent, "reserved for this agent", now, out)
                    break
            else:
                best = self._best_for(agent, now)
                if best is None:
                    self._publish_ready(agent)
                    return
                self._offer(best, agent, _RULE[best.bucket.queue.strategy]
                            if best.bucket else "", now, out)

    def _best_for(self, agent: Agent, now: float) -> Interaction | None:
        best: Interaction | None = None
        best_key = (0.0, 0.0)
        for channel in self._takeable(agent):
            for bucket in agent.buckets.get(channel, ()):
                if not bucket.waiting:
                    continue
                it = self._top_waiting(bucket, agent, now)
                if it is None:
                    continue
                key = (-(it.priority + bucket.queue.aging_per_second * (now - it.arrival)),
                       it.arrival)
                if best is None or key < best_key:
                    best, best_key = it, key
        return best

    def _top_waiting(self, bucket: Bucket, agent: Agent, now: float) -> Interaction | None:
        waiting, interactions = bucket.waiting, self.interactions
        while waiting:  # the common case: the top entry is live and the agent may take it
            entry = waiting[0]
            it = interactions.get(entry[3])
            if it is None or it.version != entry[4] or it.state != "waiting":
                heapq.heappop(waiting)
                continue
            if agent.id not in it.declined:
                return it
            break
        else:
            return None

        def live(entry: tuple[float, float, int, str, int]) -> Interaction | None:
            it = interactions.get(entry[3])
            return it if it is not None and it.version == entry[4] and it.state == "waiting" else None

        return _first_acceptable(waiting, live, lambda it: self._may_offer(it, agent, now))

    def _may_offer(self, it: Interaction, agent: Agent, now: float) -> bool:
        """Not the same agent again while another available agent could take it, and, when
        nobody else could, not before `reoffer_after_seconds` (a timer offers it then)."""
        if agent.id not in it.declined:
            return True
        assert it.bucket is not None
        for other_id in it.bucket.members:
            other = self.agents[other_id]
            if other_id not in it.declined and other.presence == "available" and other.connected:
                return False
        again = it.declined[agent.id] + self.config.reoffer_after_seconds
        if now < again:
            self._timer(again, "reoffer", agent.id, agent.version)
            return False
        it.declined.clear()
        return True

    def _timer_reoffer(self, agent_id: str, version: int, now: float, out: list[Decision]) -> None:
        agent = self.agents.get(agent_id)
        if agent is not None and agent.presence == "available" and agent.connected:
            self._match_agent(agent, now, out)

    def _offer(self, it: Interaction, agent: Agent, rule: str, now: float, out: list[Decision]) -> None:
        explanation = self._explain(it, agent, rule) if self.explain else None
        it.state = "offered"
        it.version += 1
        it.agent = agent.id
        it.offer_token = next(self._offer_seq)
        it.offer_delivered = False
        agent.last_offer_seq = it.offer_token
        self._hold(agent, it)
        deadline = now + self.config.channels[it.channel].offer_timeout_seconds
        self._timer(deadline, "offer", it.id, it.offer_token)
        out.append(Offered(it.id, agent.id, deadline, rule, explanation))

    # Capacity. Holding work only lowers an agent's rank, so it leaves the agent heaps alone;
    # whoever releases work goes on to `_match_agent`, which publishes the agent afterwards.

    def _hold(self, agent: Agent, it: Interaction) -> None:
        rule = self.config.channels[it.channel]
        agent.held[it.id] = None
        agent.used += rule.weight
        agent.counts[it.channel] = agent.counts.get(it.channel, 0) + 1
        if rule.exclusive:
            agent.exclusive_held += 1
        self._restand(agent)

    def _release(self, agent: Agent, it: Interaction, now: float) -> None:
        if it.id not in agent.held:
            return
        del agent.held[it.id]
        rule = self.config.channels[it.channel]
        agent.used -= rule.weight
        agent.counts[it.channel] -= 1
        if rule.exclusive:
            agent.exclusive_held -= 1
        if not agent.held:
            agent.idle_since = now
        self._restand(agent)

    def _takeable(self, agent: Agent) -> tuple[Channel, ...]:
        """The channels the agent can take one more interaction of now."""
        if agent.presence != "available" or not agent.connected or agent.exclusive_held:
            return ()  # what can_take would say of every channel, said once
        return tuple(channel for channel in self.config.channels if self.can_take(agent, channel))

    def _publish_ready(self, agent: Agent) -> None:
        """Make sure the agent has an entry at its current rank in each bucket it can take now.

        Where its rank is unchanged (a chat agent still holding others keeps its idle time) the
        entries in place are kept and only the dropped ones pushed again; where any changed, all
        are replaced (a new version), since a heap only corrects entries that rank too high.
        """
        wanted = [(bucket, self._strategy_key(bucket, agent)) for channel in self._takeable(agent)
                  for bucket in agent.buckets.get(channel, ())]
        listed = agent.listed
        for bucket, key in wanted:
            if listed.get(bucket, key) != key:
                agent.version += 1
                listed.clear()
                break
        for bucket, key in wanted:
            if bucket not in listed:
                self._push_ready(bucket, agent, key)

    def _push_ready(self, bucket: Bucket, agent: Agent,
                    key: tuple[float, float] | None = None) -> None:
        ready = bucket.ready
        if len(ready) > 4 * len(bucket.members) + 64:
            agents = self.agents
            ready[:] = [e for e in ready if e[4] == agents[e[3]].version]
            heapq.heapify(ready)
        rank, tie = key if key is not None else self._strategy_key(bucket, agent)
        agent.listed[bucket] = (rank, tie)
        heapq.heappush(ready, (rank, tie, agent.ordinal, agent.id, agent.version))

    @staticmethod
    def _strategy_key(bucket: Bucket, agent: Agent) -> tuple[float, float]:
        """The agent's rank in the bucket by its queue's strategy, lowest first, and a tie-break."""
        strategy = bucket.queue.strategy
        if strategy == "longest_idle":
            return (1.0 if agent.held else 0.0, agent.idle_since)
        if strategy == "least_occupied":
            return (float(agent.used), agent.idle_since)
        if strategy == "most_skilled":
            return (-float(sum(agent.skills.get(s, 0) for s, _ in bucket.reqs)), agent.idle_since)
        return (float(agent.last_offer_seq), 0.0)

    def _timer(self, at: float, kind: str, target: str, token: int) -> None:
        heapq.heappush(self._timers, (at, next(self._seq), kind, target, token))

    # Reasons

    def _standing(self, agent: Agent, channel: Channel) -> Standing:
        if agent.presence != "available":
            return agent.presence
        if not agent.connected:
            return "disconnected"
        return "free" if self.can_take(agent, channel) else "at capacity"

    def _standings(self, agent: Agent) -> dict[Channel, Standing]:
        return {channel: self._standing(agent, channel) for channel in self._channels}

    def _restand(self, agent: Agent) -> None:
        """Move the agent between the standing counts of its buckets after a change of
        presence, connection or load. Only an engine that explains its offers keeps them: the
        cost is a few channels per change instead of every skilled agent per offer."""
        if not self.explain:
            return
        before, after = agent.standing, self._standings(agent)
        if after == before:
            return
        agent.standing = after
        for channel, now in after.items():
            was = before[channel]
            if was != now:
                for bucket in agent.buckets.get(channel, ()):
                    counts = bucket.standing
                    counts[was] -= 1
                    counts[now] = counts.get(now, 0) + 1

    def _explain(self, it: Interaction, chosen: Agent, rule: str) -> Explanation:
        """Name the first `_EXPLAIN_NAMED` other agents with their reason, count the rest.

        The agents with the skills are the bucket's members, counted by standing as they
        change; only the named ones and those who declined this interaction are looked at, so a
        reason costs the same with ten agents or ten thousand. The eligible agents named are
        the chosen one and the eligible among those named.
        """
        reqs, channel, agents, declined = it.reqs_key, it.channel, self.agents, it.declined
        bucket = it.bucket
        counts: dict[Standing, int] = {}
        if bucket is not None and bucket.reqs == reqs:
            skilled: dict[str, None] = bucket.members
            counts.update(bucket.standing)
        else:  # a reserved interaction never queued, or one whose skills just changed
            skilled = {a.id: None for a in agents.values() if self.skill_eligible(a, reqs)}
            for agent_id in skilled:
                standing = agents[agent_id].standing[channel]
                counts[standing] = counts.get(standing, 0) + 1
        if chosen.id in skilled:
            counts[chosen.standing[channel]] -= 1
        ranked = f"ranked lower by {rule}"
        eligible = [chosen.id]
        named: dict[str, str] = {}
        window = [a for a in itertools.islice(skilled, _EXPLAIN_NAMED + 1) if a != chosen.id]
        for agent_id in window[:_EXPLAIN_NAMED]:  # counts become those of the agents not named
            standing = agents[agent_id].standing[channel]
            counts[standing] -= 1
            if standing != "free":
                named[agent_id] = _WHY[standing][0]
            elif agent_id in declined:
                named[agent_id] = _DECLINED
            else:
                named[agent_id] = ranked
                eligible.append(agent_id)
        named_eligible = len(eligible) - 1
        del eligible[_EXPLAIN_NAMED:]
        declined_rest = sum(
            1 for agent_id in declined
            if agent_id in skilled and agent_id not in named and agent_id != chosen.id
            and agents[agent_id].standing[channel] == "free")
        ranked_rest = counts.get("free", 0) - declined_rest
        more: dict[str, int] = {}
        for why, n in ((ranked, ranked_rest), (_DECLINED, declined_rest),
                       *((_WHY[standing][1], counts.get(standing, 0)) for standing in _WHY)):
            if n:
                more[why] = n
        unskilled = len(agents) - len(skilled) - (0 if chosen.id in skilled else 1)
        if unskilled and len(named) < _EXPLAIN_NAMED:
            for agent in agents.values():
                if len(named) == _EXPLAIN_NAMED:
                    break
                if agent.id not in skilled and agent is not chosen:
                    named[agent.id] = "lacks " + ", ".join(
                        f"{s}>={lvl}" for s, lvl in reqs if agent.skills.get(s, 0) < lvl)
                    unskilled -= 1
        if unskilled:
            more["lack the skills"] = unskilled
        in_order = sorted([(agents[agent_id].ordinal, agent_id, why) for agent_id, why in named.items()])
        return Explanation(chosen.id, rule, tuple(eligible), {a: why for _, a, why in in_order},
                           1 + named_eligible + ranked_rest, more)


def _first_acceptable(
    heap: list[E], live: Callable[[E], T | None], acceptable: Callable[[T], bool]
) -> T | None:
    """The best live item of a lazily invalidated heap that `acceptable` takes.

    Stale entries (`live` gives None) are dropped for good. Live ones refused by `acceptable`
    (an agent who declined this interaction) are put back, after a bounded scan.
    """
    skipped = []
    found = None
    while heap:
        item = live(heap[0])
        if item is None:
            heapq.heappop(heap)
            continue
        if acceptable(item):
            found = item
            break
        skipped.append(heapq.heappop(heap))
        if len(skipped) > _DECLINED_SCAN_LIMIT:
            break
    for entry in skipped:
        heapq.heappush(heap, entry)
    return found
