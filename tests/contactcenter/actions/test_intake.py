"""receive_inbound against a real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from contactcenter.actions import receive_inbound
from contactcenter.core import Core
from contactcenter.errors import InputError
from contactcenter.events import stream_key
from contactcenter.models import InboundMessage


def sms(workspace_id: int, sender: str, sid: str | None, body: str = "hello") -> InboundMessage:
    return InboundMessage(workspace_id=workspace_id, channel="sms", sender=sender, body=body,
                          provider_message_id=sid)


async def stream(core: Core, workspace_id: int) -> list[dict[str, str]]:
    entries: Any = await core.redis.xrange(stream_key(workspace_id))
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


async def count(core: Core, table: str) -> int:
    value: int = await core.pool.fetchval(f"SELECT count(*) FROM {table}")
    return value


async def test_same_provider_message_id_three_times_stores_one_message(
    core: Core, workspace_id: int
) -> None:
    msg = sms(workspace_id, "+14155550100", "SM" + "a" * 32)
    results = [await receive_inbound(core, msg) for _ in range(3)]
    assert await count(core, "messages") == 1
    assert [r.duplicate for r in results] == [False, True, True]
    assert {(r.customer_id, r.interaction_id, r.message_id) for r in results} == {
        (results[0].customer_id, results[0].interaction_id, results[0].message_id)}


async def test_concurrent_duplicate_deliveries_store_one_message(
    core: Core, workspace_id: int
) -> None:
    msg = sms(workspace_id, "+14155550100", "SM" + "b" * 32)
    results = await asyncio.gather(*(receive_inbound(core, msg) for _ in range(5)))
    assert await count(core, "messages") == 1
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message_id for r in results}) == 1


async def test_one_number_written_two_ways_is_one_customer(core: Core, workspace_id: int) -> None:
    first = await receive_inbound(core, sms(workspace_id, "+1 (415) 555-0100", "SM1"))
    second = await receive_inbound(core, sms(workspace_id, "4155550100", "SM2"))
    assert first.customer_id == second.customer_id
    assert first.new_customer
    assert not second.new_customer
    assert second.interaction_id == first.interaction_id, "joins the open interaction"
    assert await count(core, "customers") == 1
    address = await core.pool.fetchval("SELECT address FROM customer_identities")
    assert address == "+14155550100"


async def test_first_messages_racing_from_a_new_address_make_one_customer_and_interaction(
    core: Core, workspace_id: int
) -> None:
    results = await asyncio.gather(*(
        receive_inbound(core, sms(workspace_id, "+14155550199", f"SM-race-{i}")) for i in range(8)))
    assert len({r.customer_id for r in results}) == 1
    assert len({r.interaction_id for r in results}) == 1
    assert await count(core, "customers") == 1
    assert await count(core, "messages") == 8


async def test_sms_and_call_from_one_phone_are_one_customer_but_separate_interactions(
    core: Core, workspace_id: int
) -> None:
    text = await receive_inbound(core, sms(workspace_id, "+14155550100", "SM1"))
    call = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="voice", sender="+14155550100", body="",
        provider_message_id="CA1"))
    assert text.customer_id == call.customer_id
    assert text.interaction_id != call.interaction_id


async def test_emails_match_whatever_their_case(core: Core, workspace_id: int) -> None:
    def email(sender: str, mid: str) -> InboundMessage:
        return InboundMessage(workspace_id=workspace_id, channel="email", sender=sender,
                              body="hi", subject="Quote", provider_message_id=mid)
    a = await receive_inbound(core, email("Jordan.Lee@Example.com", "<1@example.com>"))
    b = await receive_inbound(core, email("jordan.lee@example.com", "<2@example.com>"))
    assert a.customer_id == b.customer_id


async def test_a_closed_interaction_is_not_reopened(core: Core, workspace_id: int) -> None:
    first = await receive_inbound(core, sms(workspace_id, "+14155550100", "SM1"))
    await core.pool.execute("UPDATE interactions SET state = 'closed' WHERE id = $1",
                            first.interaction_id)
    second = await receive_inbound(core, sms(workspace_id, "+14155550100", "SM2"))
    assert second.new_interaction
    assert second.interaction_id != first.interaction_id
    assert second.customer_id == first.customer_id


async def test_new_interaction_lands_in_the_hinted_or_default_queue(
    core: Core, workspace_id: int
) -> None:
    hinted = await receive_inbound(core, dataclasses.replace(
        sms(workspace_id, "+14155550101", "SM1"), queue="billing"))
    default = await receive_inbound(core, sms(workspace_id, "+14155550102", "SM2"))
    queue_of = "SELECT q.name FROM interactions i JOIN queues q ON q.id = i.queue_id WHERE i.id = $1"
    assert await core.pool.fetchval(queue_of, hinted.interaction_id) == "billing"
    assert await core.pool.fetchval(queue_of, default.interaction_id) == "support"


async def test_events_reach_the_stream_after_commit(core: Core, workspace_id: int) -> None:
    result = await receive_inbound(core, sms(workspace_id, "+14155550100", "SM1"))
    entries = await stream(core, workspace_id)
    assert [e["kind"] for e in entries] == ["customer.created", "interaction.queued", "message.received"]
    assert entries[-1]["interaction_id"] == str(result.interaction_id)
    logged = await core.pool.fetchval("SELECT count(*) FROM event_log WHERE kind = 'message.received'")
    assert logged == 1
    await receive_inbound(core, sms(workspace_id, "+14155550100", "SM1"))
    assert len(await stream(core, workspace_id)) == 3, "a duplicate publishes nothing"


async def test_a_failed_transaction_publishes_nothing(core: Core, workspace_id: int) -> None:
    with pytest.raises(InputError, match="no active queue"):
        await receive_inbound(core, dataclasses.replace(
            sms(workspace_id, "+14155550100", "SM1"), queue="nonexistent"))
    assert await core.redis.xlen(stream_key(workspace_id)) == 0
    assert await count(core, "customers") == 0, "the whole intake rolled back"


async def test_intake_survives_redis_being_down(
    core: Core, workspace_id: int, redis_server: object
) -> None:
    from contactcenter.embedded import EmbeddedServer
    assert isinstance(redis_server, EmbeddedServer)
    redis_server.stop()
    result = await receive_inbound(core, sms(workspace_id, "+14155550100", "SM1"))
    assert not result.duplicate
    assert await count(core, "messages") == 1
    assert await core.pool.fetchval("SELECT count(*) FROM event_log") == 3


@pytest.mark.parametrize(("sender", "code"), [("not a number", "bad_sender"), ("12", "bad_sender")])
async def test_bad_senders_are_refused(core: Core, workspace_id: int, sender: str, code: str) -> None:
    with pytest.raises(InputError) as caught:
        await receive_inbound(core, sms(workspace_id, sender, "SM1"))
    assert caught.value.code == code
    assert await count(core, "messages") == 0
