"""The routing service on real PostgreSQL and Redis, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest

from contactcenter.actions import add_user, receive_inbound, work
from contactcenter.actions.routing_log import FencedOut, record_decisions, take_lease
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from contactcenter.models import InboundMessage
from contactcenter.settings import Settings
from contactcenter.web.app import create_app
from routing.model import Ended
from routing.service import RoutingService, leader_key
from tests.live import eventually


@contextlib.asynccontextmanager
async def running(service: RoutingService) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(service.run())
    try:
        yield task
    finally:
        service.stop()
        await asyncio.wait_for(task, timeout=5)


async def agent(core: Core, ws: int, email: str, **skills: int) -> int:
    user_id = await add_user(core, ws, NewUser(email, email.split("@")[0], "agent",
                                               "long enough password", skills))
    await work.set_presence(core, ws, user_id, "available")
    return user_id


async def chat(core: Core, ws: int, n: int, queue: str = "support") -> int:
    result = await receive_inbound(core, InboundMessage(
        workspace_id=ws, channel="chat", sender=f"visitor-{n}", body="hello",
        provider_message_id=f"chat-{n}", queue=queue))
    return result.interaction_id


async def state(core: Core, iid: int) -> tuple[str, int | None]:
    row = await core.pool.fetchrow("SELECT state, agent_id FROM interactions WHERE id = $1", iid)
    return row["state"], row["agent_id"]


async def test_offer_accept_complete_wrapup_end_to_end(core: Core, workspace_id: int) -> None:
    service = RoutingService(core, workspace_id, "node-a", lease_seconds=1.5)
    async with running(service):
        ana = await agent(core, workspace_id, "ana@example.com", support=5)
        iid = await chat(core, workspace_id, 1)
        await eventually(lambda: _is(core, iid, ("offered", ana)))
        offered = await core.pool.fetchrow(
            "SELECT reason, detail, deadline FROM routing_decisions WHERE kind = 'Offered'")
        assert offered["reason"].startswith("offered to")
        assert offered["detail"]["eligible"] == [str(ana)]
        assert offered["deadline"] is not None

        await work.request(core, workspace_id, ana, iid, "offer.accept")
        await eventually(lambda: _is(core, iid, ("assigned", ana)))
        await work.request(core, workspace_id, ana, iid, "interaction.completed")
        await eventually(lambda: _is(core, iid, ("wrapup", ana)))
        await work.request(core, workspace_id, ana, iid, "interaction.wrapup_done")
        await eventually(lambda: _is(core, iid, ("closed", ana)))
        kinds = [r["kind"] for r in await core.pool.fetch(
            "SELECT kind FROM routing_decisions WHERE interaction_id = $1 ORDER BY id", iid)]
        assert kinds == ["Offered", "Assigned", "WrapupStarted", "Ended"]


async def _is(core: Core, iid: int, expected: tuple[str, int | None]) -> bool:
    return await state(core, iid) == expected


async def test_a_deposed_leader_cannot_write(core: Core, workspace_id: int) -> None:
    async with core.pool.acquire() as conn:
        old, _ = await take_lease(conn, workspace_id, "old-leader")
        new, _ = await take_lease(conn, workspace_id, "new-leader")
        assert new == old + 1
        with pytest.raises(FencedOut):
            await record_decisions(conn, workspace_id, old, [Ended("1", "completed", "x")])


async def test_tokens_come_from_postgresql_so_a_flushed_redis_costs_no_lease(
    core: Core, workspace_id: int
) -> None:
    """After sixty leader changes Redis loses everything: the next leader leads at once, with a
    token never issued before."""
    issued = set()
    async with core.pool.acquire() as conn:
        for n in range(60):
            fence, _ = await take_lease(conn, workspace_id, f"leader-{n}")
            issued.add(fence)
    await core.redis.flushall()
    node = RoutingService(core, workspace_id, "after-the-flush", lease_seconds=1.5)
    async with running(node):
        await eventually(lambda: _leading(node), within=3)
        iid = await chat(core, workspace_id, 1)
        await agent(core, workspace_id, "ana@example.com", support=5)
        await eventually(lambda: _offered(core, iid))
    fences = {r["fence"] for r in await core.pool.fetch("SELECT fence FROM routing_decisions")}
    assert len(issued) == 60
    assert fences.isdisjoint(issued)


async def test_another_node_takes_over_and_rebuilds(core: Core, workspace_id: int) -> None:
    node_a = RoutingService(core, workspace_id, "node-a", lease_seconds=1.5)
    node_b = RoutingService(core, workspace_id, "node-b", lease_seconds=1.5)
    await agent(core, workspace_id, "ana@example.com", support=5)
    await agent(core, workspace_id, "ben@example.com", support=5)
    task_a = asyncio.create_task(node_a.run())
    await eventually(lambda: _leading(node_a))
    async with running(node_b):
        assigned = await chat(core, workspace_id, 1)
        await eventually(lambda: _offered(core, assigned))
        _, holder = await state(core, assigned)
        assert holder is not None
        await work.request(core, workspace_id, holder, assigned, "offer.accept")
        await eventually(lambda: _is(core, assigned, ("assigned", holder)))
        pending = await chat(core, workspace_id, 2)
        await eventually(lambda: _offered(core, pending))

        node_a.stop()  # node A stops renewing but keeps its lease, as a crashed node would
        await asyncio.wait_for(task_a, timeout=5)
        crashed = time.monotonic()
        await eventually(lambda: _leading(node_b), within=5)
        assert time.monotonic() - crashed < 5

        async def rescinded_and_offered_again() -> bool:
            kinds = [r["kind"] for r in await core.pool.fetch(
                "SELECT kind FROM routing_decisions WHERE interaction_id = $1 ORDER BY id", pending)]
            return kinds == ["Offered", "OfferEnded", "Offered"]

        await eventually(rescinded_and_offered_again)
        reason = await core.pool.fetchval(
            "SELECT reason FROM routing_decisions WHERE interaction_id = $1 AND kind = 'OfferEnded'",
            pending)
        assert reason == "the routing leader changed"
        assert await state(core, assigned) == ("assigned", holder), "assigned work stays put"
        assert await core.pool.fetchval(
            "SELECT count(DISTINCT fence) FROM routing_decisions") == 2
        newcomer = await chat(core, workspace_id, 3)
        await eventually(lambda: _offered(core, newcomer))


async def _leading(service: RoutingService) -> bool:
    return service.leading


async def _offered(core: Core, iid: int) -> bool:
    return (await state(core, iid))[0] == "offered"


async def test_the_lease_key_names_the_leader(core: Core, workspace_id: int) -> None:
    service = RoutingService(core, workspace_id, "node-x", lease_seconds=1.5)
    async with running(service):
        await eventually(lambda: _leading(service))
        assert await core.redis.get(leader_key(workspace_id)) == b"node-x"
    await service.release()
    assert await core.redis.get(leader_key(workspace_id)) is None


async def test_the_routing_history_names_agents(
    core: Core, workspace_id: int, aiohttp_client: Any, settings: Settings
) -> None:
    assert settings.env.database_url is not None
    assert settings.env.redis_url is not None
    client = await aiohttp_client(
        create_app(settings, settings.env.database_url, settings.env.redis_url))
    ana = await agent(core, workspace_id, "ana@example.com", support=5)
    await agent(core, workspace_id, "ben@example.com", support=5)
    iid = await chat(core, workspace_id, 9)
    await eventually(lambda: _offered(core, iid))

    login = await client.post("/api/login", json={"email": "ana@example.com",
                                                  "password": "long enough password"})
    assert login.status == 200
    resp = await client.get(f"/api/interactions/{iid}/routing")
    assert resp.status == 200
    (offer,) = (await resp.json())["decisions"]
    assert (offer["agent_id"], offer["agent_name"]) == (ana, "ana"), "available first: idle longest"
    assert offer["reason"] == "offered to ana: longest idle of 2 eligible; ben ranked lower by longest idle"

    missing = await client.get("/api/interactions/999999/routing")
    assert missing.status == 404
    assert (await missing.json())["error"] == "no_such_interaction"
    assert (await client.get("/api/interactions/abc/routing")).status == 404  # not an id


async def test_transfer_to_another_queue_keeps_the_arrival(core: Core, workspace_id: int) -> None:
    service = RoutingService(core, workspace_id, "node-a", lease_seconds=1.5)
    async with running(service):
        ana = await agent(core, workspace_id, "ana@example.com", support=5)
        sam = await agent(core, workspace_id, "sam@example.com", sales=5)
        iid = await chat(core, workspace_id, 1)
        await eventually(lambda: _is(core, iid, ("offered", ana)))
        await work.request(core, workspace_id, ana, iid, "offer.accept")
        await eventually(lambda: _is(core, iid, ("assigned", ana)))
        queued_at = await core.pool.fetchval("SELECT queued_at FROM interactions WHERE id = $1", iid)

        await work.transfer(core, workspace_id, ana, iid, to_queue="sales", to_agent=None)
        await eventually(lambda: _is(core, iid, ("offered", sam)))
        row = await core.pool.fetchrow(
            """SELECT q.name, i.queued_at FROM interactions i JOIN queues q ON q.id = i.queue_id
               WHERE i.id = $1""", iid)
        assert (row["name"], row["queued_at"]) == ("sales", queued_at)


async def test_transfer_refuses_what_cannot_be_done(core: Core, workspace_id: int) -> None:
    from contactcenter.errors import InputError

    ana = await agent(core, workspace_id, "ana@example.com", support=5)
    iid = await chat(core, workspace_id, 1)
    for kwargs, code in [
        ({"to_queue": None, "to_agent": None}, "bad_transfer"),
        ({"to_queue": "sales", "to_agent": ana}, "bad_transfer"),
        ({"to_queue": "retention", "to_agent": None}, "no_such_queue"),
        ({"to_queue": None, "to_agent": 999_999}, "no_such_agent"),
    ]:
        with pytest.raises(InputError) as caught:
            await work.transfer(core, workspace_id, ana, iid, **kwargs)  # type: ignore[arg-type]
        assert caught.value.code == code


async def test_the_customers_last_agent_gets_the_first_offer(core: Core, workspace_id: int) -> None:
    service = RoutingService(core, workspace_id, "node-a", lease_seconds=1.5)
    async with running(service):
        await agent(core, workspace_id, "ana@example.com", support=5)
        await agent(core, workspace_id, "ben@example.com", support=5)
        first = await chat(core, workspace_id, 1)
        await eventually(lambda: _offered(core, first))
        _, holder = await state(core, first)
        assert holder is not None
        other = await chat(core, workspace_id, 2)  # someone else: goes to the other agent
        await eventually(lambda: _offered(core, other))
        # The other agent finishes first, so by longest idle they would get the next chat.
        for iid, who in ((other, (await state(core, other))[1]), (first, holder)):
            assert who is not None
            await work.request(core, workspace_id, who, iid, "offer.accept")
            await eventually(partial(_is, core, iid, ("assigned", who)))
            await work.request(core, workspace_id, who, iid, "interaction.completed")
            await eventually(partial(_is, core, iid, ("wrapup", who)))
            await work.request(core, workspace_id, who, iid, "interaction.wrapup_done")
            await eventually(partial(_closed, core, iid))

        # The first customer writes again: their last agent gets it, whoever idled longer.
        again = await receive_inbound(core, InboundMessage(
            workspace_id=workspace_id, channel="chat", sender="visitor-1", body="me again",
            provider_message_id="chat-1-again", queue="support"))
        assert again.new_interaction
        await eventually(lambda: _offered(core, again.interaction_id))
        assert (await state(core, again.interaction_id))[1] == holder
        reason = await core.pool.fetchval(
            "SELECT reason FROM routing_decisions WHERE interaction_id = $1 AND kind = 'Offered'",
            again.interaction_id)
        assert reason.startswith(f"offered to {holder}: reserved for this agent of 2 eligible")


async def _closed(core: Core, iid: int) -> bool:
    return (await state(core, iid))[0] == "closed"


async def test_a_customer_who_leaves_while_waiting_is_abandoned(core: Core, workspace_id: int) -> None:
    service = RoutingService(core, workspace_id, "node-a", lease_seconds=1.5)
    async with running(service):
        await eventually(lambda: _leading(service))
        iid = await chat(core, workspace_id, 1)  # no agent is available: it waits
        await work.customer_left(core, workspace_id, iid)
        await eventually(lambda: _is(core, iid, ("abandoned", None)))
        reason = await core.pool.fetchval(
            "SELECT reason FROM routing_decisions WHERE interaction_id = $1 AND kind = 'Ended'", iid)
        assert reason == "the customer left while waiting"


async def test_new_skills_reach_the_leader_at_once(core: Core, workspace_id: int) -> None:
    service = RoutingService(core, workspace_id, "node-a", lease_seconds=1.5)
    async with running(service):
        ana = await agent(core, workspace_id, "ana@example.com", sales=5)
        iid = await chat(core, workspace_id, 1)  # support: ana lacks the skill
        await asyncio.sleep(0.5)
        assert await state(core, iid) == ("queued", None)
        await add_user(core, workspace_id, NewUser("ana@example.com", "ana", "agent",
                                                   "long enough password", {"support": 5}),
                       replace=True)
        await eventually(lambda: _is(core, iid, ("offered", ana)))


async def test_a_bad_stream_entry_is_skipped_and_routing_goes_on(
    core: Core, workspace_id: int
) -> None:
    from contactcenter.events import stream_key

    service = RoutingService(core, workspace_id, "node-a", lease_seconds=1.5)
    async with running(service):
        await eventually(lambda: _leading(service))
        await core.redis.xadd(stream_key(workspace_id), {
            "id": 1, "kind": "agent.presence", "actor_user_id": "42", "data": "{not json"})
        ana = await agent(core, workspace_id, "ana@example.com", support=5)
        iid = await chat(core, workspace_id, 1)
        await eventually(lambda: _is(core, iid, ("offered", ana)))
        assert service.leading
