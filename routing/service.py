"""The routing service: the I/O shell around the pure engine.

Every node runs one per workspace; one of them leads. The leader holds a lease in Redis (a key
set only if absent, with an expiry it keeps renewing) and a fencing token from an ever-growing
counter kept in PostgreSQL, so a Redis that lost everything costs no token. Every decision it
writes to PostgreSQL is checked against that token in the same transaction, so a leader that
lost its lease (paused, partitioned) cannot write after a newer one has started. The leader
writes, with its decisions, the position in the stream they account for. A new leader rebuilds
the engine from PostgreSQL and replays the stream from that position: events whose effects are
already in PostgreSQL are applied a second time, which the engine ignores.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from redis.exceptions import RedisError

from contactcenter import feeds, views
from contactcenter.actions.routing_log import FencedOut, record_decisions, take_lease
from contactcenter.core import Core
from contactcenter.events import stream_key
from contactcenter.instruments import OFFERS, ROUTING_LATENCY
from contactcenter.notices import routing_notices
from routing.config import engine_config
from routing.engine import Engine
from routing.model import (
    AgentDisconnected,
    AgentLoggedIn,
    AgentPresenceChanged,
    AgentReconnected,
    AgentSkillsChanged,
    AgentStateChanged,
    Assigned,
    CustomerLeft,
    Decision,
    Event,
    InteractionArrived,
    InteractionCompleted,
    OfferAccepted,
    OfferDelivered,
    Offered,
    OfferEnded,
    OfferRejected,
    PriorityRaised,
    Transferred,
    WrapupFinished,
)

log = logging.getLogger(__name__)

# Renew the lease in place only if we still hold it; answers 1 when renewed.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def leader_key(workspace_id: int) -> str:
    return f"cc:ws:{workspace_id}:routing:leader"


def routing_channel(workspace_id: int) -> str:
    """Pub/sub channel with every routing decision of the workspace (supervisor views)."""
    return f"cc:ws:{workspace_id}:routing"


class RoutingService:
    def __init__(
        self, core: Core, workspace_id: int, node_id: str, *, lease_seconds: float = 3.0,
        reconcile_seconds: float = 5.0, clock: Callable[[], float] = time.time,
    ) -> None:
        self.core = core
        self.ws = workspace_id
        self.node_id = node_id
        self.lease_seconds = lease_seconds
        self.renew_every = lease_seconds / 3
        self.reconcile_seconds = reconcile_seconds
        self.clock = clock
        self.leading = False
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to finish at its next safe point (between database operations):
        cancelling it in the middle of a query would leave the connection unusable."""
        self._stopping.set()

    async def run(self) -> None:
        """Try to lead, lead while the lease holds, and start over; until stopped."""
        while not self._stopping.is_set():
            try:
                if await self._acquire():
                    await self._lead()
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self.renew_every)
            except FencedOut as exc:
                log.warning("routing for workspace %d: stepping down: %s", self.ws, exc)
            except (RedisError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    asyncpg.InternalClientError) as exc:
                log.warning("routing for workspace %d: %s; retrying", self.ws, exc)
                await self._pause()
            except Exception:
                # A bug must not silently end routing for the workspace: log it, step down
                # (the lease expires, possibly to a healthier node) and try again.
                log.exception("routing for workspace %d failed; restarting", self.ws)
                await self._pause()
            finally:
                self.leading = False

    async def _pause(self, seconds: float = 1.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def release(self) -> None:
        """Give the lease up at shutdown, so another node takes over at once."""
        with contextlib.suppress(RedisError, OSError):
            await self.core.redis.eval(_RELEASE, 1, leader_key(self.ws), self.node_id)

    async def _acquire(self) -> bool:
        acquired = await self.core.redis.set(
            leader_key(self.ws), self.node_id, nx=True, px=int(self.lease_seconds * 1000))
        return bool(acquired)

    async def _renew(self) -> bool:
        renewed = await self.core.redis.eval(
            _RENEW, 1, leader_key(self.ws), self.node_id, int(self.lease_seconds * 1000))
        return bool(renewed)

    async def _lead(self) -> None:
        redis = self.core.redis
        async with self.core.pool.acquire() as conn:
            fence, last_id = await take_lease(conn, self.ws, self.node_id)
        self.leading = True
        log.info("routing for workspace %d: leading with token %d from stream position %s",
                 self.ws, fence, last_id)
        # Here offers reach people through consoles that may be cut off; see OfferDelivered.
        engine = Engine(dataclasses.replace(engine_config(self.core.config),
                                            offers_need_delivery=True), explain=True)
        await self._commit(engine, await self._rebuild(engine), fence, None)
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self.renew_every
        reconcile_at = loop.time() + self.reconcile_seconds
        while not self._stopping.is_set():
            if loop.time() >= renew_at:
                if not await self._renew():
                    log.warning("routing for workspace %d: lease lost", self.ws)
                    return
                renew_at = loop.time() + self.renew_every
            wait = renew_at - loop.time()
            timer = engine.next_timer()
            if timer is not None:
                wait = min(wait, timer - self.clock())
            block_ms = max(1, min(int(wait * 1000), 500))  # wake often enough to see stop()
            batches: Any = await redis.xread(
                {stream_key(self.ws): last_id}, count=500, block=block_ms)
            now = self.clock()
            decisions = engine.advance(now)
            position = None
            appended: list[float] = []  # when each entry entered the stream (its id says)
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    last_id = position = entry_id.decode()
                    appended.append(int(last_id.split("-")[0]) / 1000)
                    decisions += await self._apply_entry(engine, fields, now)
            if loop.time() >= reconcile_at:
                decisions += await self._reconcile(engine, now)
                reconcile_at = loop.time() + self.reconcile_seconds
            await self._commit(engine, decisions, fence, position)
            committed = time.time()
            for at in appended:
                ROUTING_LATENCY.observe(max(0.0, committed - at))

    async def _apply_entry(
        self, engine: Engine, fields: dict[bytes, bytes], now: float
    ) -> list[Decision]:
        """One stream entry into the engine. An entry that fails is logged and skipped:
        replaying it after a restart would fail again and stop routing for good."""
        try:
            event = await self._to_event(engine, fields)
            return engine.apply(event, now) if event is not None else []
        except (RedisError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            raise  # the infrastructure failed, not the entry: retry it after a restart
        except Exception:
            log.exception("routing for workspace %d: skipping stream entry %r", self.ws, fields)
            return []

    async def _commit(
        self, engine: Engine, decisions: list[Decision], fence: int, position: str | None
    ) -> None:
        if not decisions and position is None:
            return
        async with self.core.pool.acquire() as conn:
            await record_decisions(conn, self.ws, fence, decisions, position)
            if not decisions:
                return  # only the stream position moved: nobody to tell
            infos = await views.interaction_infos(conn, sorted(
                {int(d.interaction_id) for d in decisions if not isinstance(d, AgentStateChanged)}))
        for d in decisions:
            if isinstance(d, Offered):
                OFFERS.labels("offered").inc()
            elif isinstance(d, OfferEnded):
                OFFERS.labels(d.outcome).inc()
            elif isinstance(d, Assigned):
                OFFERS.labels("accepted").inc()
        await feeds.push(self.core.redis, routing_notices(self.ws, decisions, infos))
        async with self.core.redis.pipeline(transaction=False) as pipe:
            for d in decisions:
                message = json.dumps({"decision": type(d).__name__, **dataclasses.asdict(d)})
                pipe.publish(routing_channel(self.ws), message)
            await pipe.execute()

    async def _rebuild(self, engine: Engine) -> list[Decision]:
        """The engine as PostgreSQL knows it. Offers open when the last leader stopped are
        rescinded: their deadlines died with it, and they are offered again."""
        now = self.clock()
        decisions: list[Decision] = []
        async with self.core.pool.acquire() as conn:
            agents = await conn.fetch(
                """SELECT u.id, coalesce(p.presence, 'offline') AS presence,
                          coalesce(jsonb_object_agg(s.name, a.level)
                                   FILTER (WHERE s.name IS NOT NULL), '{}') AS skills
                   FROM users u
                   LEFT JOIN agent_presence p ON p.user_id = u.id
                   LEFT JOIN agent_skills a ON a.user_id = u.id
                   LEFT JOIN skills s ON s.id = a.skill_id
                   WHERE u.workspace_id = $1 AND u.disabled_at IS NULL
                     AND (p.presence IN ('available', 'away') OR EXISTS (
                          SELECT 1 FROM interactions i WHERE i.agent_id = u.id
                          AND i.state IN ('assigned', 'wrapup')))
                   GROUP BY u.id, p.presence ORDER BY u.id""", self.ws)
            open_work = await conn.fetch(
                _OPEN_INTERACTIONS + " AND i.state <> 'closed' ORDER BY i.queued_at, i.id", self.ws)
        for row in agents:
            decisions += engine.apply(
                AgentLoggedIn(str(row["id"]), dict(row["skills"]), row["presence"]), now)
        for row in open_work:
            arrival = _arrival(row)
            if row["state"] in ("assigned", "wrapup") and row["agent_id"] is not None:
                decisions += engine.restore_assigned(
                    arrival, str(row["agent_id"]), now, in_wrapup=row["state"] == "wrapup")
        for row in open_work:
            if row["state"] == "offered" and row["agent_id"] is not None:
                decisions.append(OfferEnded(str(row["id"]), str(row["agent_id"]), "rescinded",
                                            "the routing leader changed"))
            if row["state"] in ("queued", "offered"):
                decisions += engine.apply(_arrival(row), now)
        return decisions

    async def _reconcile(self, engine: Engine, now: float) -> list[Decision]:
        """Pick up queued interactions whose events never reached Redis (it was down)."""
        async with self.core.pool.acquire() as conn:
            # Ids first: a long queue is mostly known already, and only the unknown few need
            # their preferred agent looked up.
            queued = await conn.fetch(
                "SELECT id FROM interactions WHERE workspace_id = $1 AND state = 'queued'", self.ws)
            missing = [r["id"] for r in queued if str(r["id"]) not in engine.interactions]
            rows = await conn.fetch(
                _OPEN_INTERACTIONS + " AND i.state = 'queued' AND i.id = ANY($2::bigint[])",
                self.ws, missing) if missing else []
        decisions: list[Decision] = []
        for row in rows:
            decisions += engine.apply(_arrival(row), now)
        return decisions

    async def _to_event(self, engine: Engine, fields: dict[bytes, bytes]) -> Event | None:
        kind = fields[b"kind"].decode()
        iid = fields.get(b"interaction_id", b"").decode()
        actor = fields.get(b"actor_user_id", b"").decode()
        if kind == "interaction.queued":
            async with self.core.pool.acquire() as conn:
                row = await conn.fetchrow(_OPEN_INTERACTIONS + " AND i.id = $2", self.ws, int(iid))
            return _arrival(row) if row is not None and row["state"] == "queued" else None
        if kind == "agent.presence":
            data = json.loads(fields[b"data"])
            if actor in engine.agents:
                return AgentPresenceChanged(actor, data["presence"], data["reason"])
            async with self.core.pool.acquire() as conn:
                skills = await conn.fetch(
                    """SELECT s.name, a.level FROM agent_skills a JOIN skills s ON s.id = a.skill_id
                       WHERE a.user_id = $1""", int(actor))
            return AgentLoggedIn(actor, {r["name"]: r["level"] for r in skills}, data["presence"])
        if kind == "user.saved":
            data = json.loads(fields[b"data"])
            return AgentSkillsChanged(actor, data["skills"]) if actor in engine.agents else None
        if kind == "interaction.transfer":
            data = json.loads(fields[b"data"])
            return Transferred(iid, to_queue=data["queue"],
                               to_agent=None if data["agent"] is None else str(data["agent"]),
                               priority_bump=data["priority_bump"])
        if kind == "interaction.priority":
            data = json.loads(fields[b"data"])
            return PriorityRaised(iid, int(data["priority"]), data.get("reason", ""))
        simple: dict[str, Callable[[], Event]] = {
            "offer.accept": lambda: OfferAccepted(iid, actor),
            "offer.delivered": lambda: OfferDelivered(iid, actor),
            "offer.reject": lambda: OfferRejected(iid, actor),
            "interaction.completed": lambda: InteractionCompleted(iid),
            "interaction.wrapup_done": lambda: WrapupFinished(iid),
            "customer.left": lambda: CustomerLeft(iid),
            "agent.disconnected": lambda: AgentDisconnected(actor),
            "agent.reconnected": lambda: AgentReconnected(actor),
        }
        make = simple.get(kind)
        return make() if make is not None else None


# With each open interaction, the agent who last served this customer: they get the first offer
# for a few seconds, so the customer talks to someone who knows them.
_OPEN_INTERACTIONS = """
    SELECT i.id, i.channel, q.name AS queue, i.priority, i.queued_at, i.state, i.agent_id,
           i.required_skills,
           (SELECT p.agent_id FROM interactions p
            WHERE p.customer_id = i.customer_id AND p.id < i.id AND p.answered_at IS NOT NULL
            ORDER BY p.id DESC LIMIT 1) AS last_agent
    FROM interactions i JOIN queues q ON q.id = i.queue_id
    WHERE i.workspace_id = $1 AND i.state NOT IN ('closed', 'abandoned')"""


def _arrival(row: asyncpg.Record) -> InteractionArrived:
    queued_at: datetime = row["queued_at"]
    last_agent = row["last_agent"]
    return InteractionArrived(
        str(row["id"]), row["channel"], row["queue"], queued_at.timestamp(),
        priority=row["priority"], extra_skills=dict(row["required_skills"] or {}),
        preferred_agent=None if last_agent is None else str(last_agent))

