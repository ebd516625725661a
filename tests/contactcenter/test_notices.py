"""Who hears what: the fan-out rules, without I/O."""

from __future__ import annotations

from contactcenter.feeds import customer_feed, user_feed
from contactcenter.notices import (
    InteractionInfo,
    counterpart_notices,
    message_notices,
    routing_notices,
)
from routing.model import AgentStateChanged, Assigned, Ended, Offered, OfferEnded, Requeued, WrapupStarted

CHAT = InteractionInfo("chat", customer_id=5, agent_id=2, agent_name="Ana Alvarez")
SMS = InteractionInfo("sms", customer_id=6, agent_id=2, agent_name="Ana Alvarez")


def message(direction: str) -> dict[str, object]:
    return {"id": 1, "interaction_id": 9, "direction": direction, "body": "hi"}


def test_internal_notes_never_reach_the_customer() -> None:
    feeds = [n.feed for n in message_notices(1, message("internal"), CHAT)]
    assert feeds == [user_feed(1, 2)]


def test_a_reply_reaches_the_agent_and_a_chat_customer_only() -> None:
    assert {n.feed for n in message_notices(1, message("outbound"), CHAT)} == {
        user_feed(1, 2), customer_feed(1, 5)}
    # An SMS customer hears through the SMS itself, not a feed.
    assert [n.feed for n in message_notices(1, message("outbound"), SMS)] == [user_feed(1, 2)]


def test_a_waiting_customers_message_reaches_no_agent() -> None:
    waiting = InteractionInfo("chat", customer_id=5, agent_id=None, agent_name=None)
    assert [n.feed for n in message_notices(1, message("inbound"), waiting)] == [customer_feed(1, 5)]


def test_typing_and_read_marks_go_to_the_other_side() -> None:
    event = {"kind": "typing"}
    assert [n.feed for n in counterpart_notices(1, CHAT, True, event)] == [user_feed(1, 2)]
    assert [n.feed for n in counterpart_notices(1, CHAT, False, event)] == [customer_feed(1, 5)]
    assert counterpart_notices(1, SMS, False, event) == []


def test_routing_decisions_as_the_people_concerned_see_them() -> None:
    notices = routing_notices(1, [
        Offered("9", "2", 100.0, "longest idle"),
        OfferEnded("9", "2", "timed_out", "no answer"),
        Assigned("9", "2"),
        WrapupStarted("9", "2", 130.0),
        Ended("9", "completed", "wrap-up done"),
        Requeued("9", "support", "agent offline"),
        AgentStateChanged("2", "away", "missed offers"),
    ], {9: CHAT})
    seen = [(n.feed, n.event["kind"]) for n in notices]
    agent, customer = user_feed(1, 2), customer_feed(1, 5)
    assert seen == [
        (agent, "offer"), (agent, "offer_ended"), (agent, "assigned"), (customer, "agent_joined"),
        (agent, "wrapup"), (customer, "closed"), (agent, "ended"), (customer, "closed"),
        (customer, "waiting"), (agent, "presence"),
    ]
    joined = next(n.event for n in notices if n.event["kind"] == "agent_joined")
    assert joined == {"kind": "agent_joined", "interaction_id": 9, "agent": "Ana Alvarez"}
