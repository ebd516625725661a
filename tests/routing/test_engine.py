"""The routing engine, one behaviour at a time."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from routing.calendar import Calendar, parse_hours
from routing.engine import Engine
from routing.model import (
    AgentDisconnected,
    AgentPresenceChanged,
    AgentReconnected,
    AgentStateChanged,
    Assigned,
    ChannelRule,
    CustomerLeft,
    Ended,
    Escalated,
    EscalationStep,
    InteractionArrived,
    InteractionCompleted,
    OfferAccepted,
    OfferDelivered,
    Offered,
    OfferEnded,
    OfferRejected,
    QueueSpec,
    Requeued,
    Transferred,
    WrapupFinished,
    WrapupStarted,
)
from tests.routing.helpers import Driver, config, offers

SUPPORT = QueueSpec("support", priority=3, skills={"support": 1})
SALES = QueueSpec("sales", priority=5, skills={"sales": 1})



def make(*queues: QueueSpec, explain: bool = False, **overrides: object) -> Driver:
    return Driver(Engine(config(*(queues or (SUPPORT, SALES)), **overrides), explain=explain))


def test_offer_goes_to_the_longest_idle_eligible_agent() -> None:
    d = make()
    d.login("ana", sales=5)
    d.login("ben", support=5, at=10)
    d.login("cy", support=5, at=20)
    assert offers(d.arrive("i1", at=30)) == [("i1", "ben")]


def test_no_agent_with_the_skill_means_waiting() -> None:
    d = make()
    d.login("ana", sales=5)
    assert offers(d.arrive("i1")) == []
    assert d.engine.waiting_count("support") == 1
    assert offers(d.login("ben", support=1)) == [("i1", "ben")]


def test_chat_capacity_then_voice_exclusivity() -> None:
    d = make()
    d.login("ana", support=5)
    for i in range(4):
        d.arrive(f"c{i}")
    assert offers(d.log) == [("c0", "ana"), ("c1", "ana"), ("c2", "ana")], "chat max is 3"
    d.arrive("v1", channel="voice")
    assert offers(d.log)[-1] == ("c2", "ana"), "no voice while holding chats"
    for i in range(3):
        d(OfferAccepted(f"c{i}", "ana"))
        d(InteractionCompleted(f"c{i}"))
    assert offers(d.log)[3:] == [("c3", "ana")], "the older chat first; voice waits for an empty agent"
    d(OfferAccepted("c3", "ana"))
    d(InteractionCompleted("c3"))
    assert offers(d.log)[4:] == [("v1", "ana")]


def test_capacity_budget_is_shared_across_channels() -> None:
    d = make()
    d.login("ana", support=5)
    d.arrive("c1")
    d.arrive("c2")  # 66 used
    d.arrive("e1", channel="email")  # +20 = 86
    d.arrive("s1", channel="sms")  # +25 would be 111 > 100
    assert offers(d.log) == [("c1", "ana"), ("c2", "ana"), ("e1", "ana")]
    assert d.engine.agents["ana"].used == 86


def test_the_per_channel_maximum_binds_before_the_budget() -> None:
    d = make(channels={"email": ChannelRule(weight=20, max=2, offer_timeout_seconds=60)})
    d.login("ana", support=5)
    for i in range(3):
        d.arrive(f"e{i}", channel="email")
    assert offers(d.log) == [("e0", "ana"), ("e1", "ana")]
    assert d.engine.agents["ana"].used == 40


def test_timeout_moves_the_offer_to_the_next_agent_not_the_same_one() -> None:
    d = make()
    d.login("ana", support=5)
    d.login("ben", support=5, at=1)
    d.arrive("i1", at=2)
    assert offers(d.log) == [("i1", "ana")]
    d.tick(22)
    assert [x for x in d.log if isinstance(x, OfferEnded)] == [
        OfferEnded("i1", "ana", "timed_out", "no answer before the deadline")]
    assert offers(d.log) == [("i1", "ana"), ("i1", "ben")]


def test_rejected_by_the_only_agent_is_offered_again_after_a_pause() -> None:
    d = make(reoffer_after_seconds=10)
    d.login("ana", support=5)
    d.arrive("i1")
    d(OfferRejected("i1", "ana"))
    assert offers(d.log) == [("i1", "ana")]  # not straight back
    d.arrive("i2")  # meanwhile, other work reaches her
    assert offers(d.log) == [("i1", "ana"), ("i2", "ana")]
    d.tick(10)
    assert offers(d.log) == [("i1", "ana"), ("i2", "ana"), ("i1", "ana")]


def test_missed_offers_set_the_agent_away() -> None:
    d = make(missed_offers_before_away=2, reoffer_after_seconds=0)
    d.login("ana", support=5)
    d.arrive("i1")
    d.tick(20)
    d.tick(40)
    assert AgentStateChanged("ana", "away", "missed offers") in d.log
    assert d.engine.waiting_count() == 1
    d(AgentPresenceChanged("ana", "available"))
    assert offers(d.log)[-1] == ("i1", "ana")


def test_only_a_delivered_offer_left_unanswered_counts_as_missed() -> None:
    """With consoles in between (the service), an offer no console confirmed receiving ends at
    its deadline without a mark against the agent: their live feed failed, not they."""
    d = make(missed_offers_before_away=2, reoffer_after_seconds=0, offers_need_delivery=True)
    d.login("ana", support=5)
    d.arrive("i1")
    d.tick(20)
    assert [x for x in d.log if isinstance(x, OfferEnded)] == [
        OfferEnded("i1", "ana", "rescinded", "the offer never reached the agent's console")]
    assert offers(d.log) == [("i1", "ana"), ("i1", "ana")]
    d(OfferDelivered("i1", "ana"))  # the console is back: this one is seen, and missed
    d.tick(40)
    d(OfferDelivered("i1", "ana"))
    d.tick(60)
    changes = [x for x in d.log if isinstance(x, AgentStateChanged)]
    assert changes == [AgentStateChanged("ana", "away", "missed offers")]  # two misses, not three


def test_a_console_that_receives_no_offer_for_as_long_as_misses_take_is_unreachable() -> None:
    """A console lost without a word (its node died): its agent must not hold work forever."""
    d = make(SUPPORT, missed_offers_before_away=2, reoffer_after_seconds=0,
             offers_need_delivery=True)
    d.login("ana", support=5)
    d.login("ben", support=5, at=1)
    d.arrive("i1", at=2)
    d.tick(22)  # Ana's console never had it: Ben gets it first
    assert offers(d.log) == [("i1", "ana"), ("i1", "ben")]
    d(OfferDelivered("i1", "ben"))
    d(OfferAccepted("i1", "ben"))
    d.arrive("i2", at=23)
    d.tick(43)
    assert AgentStateChanged("ana", "away", "console unreachable") in d.log


def test_customer_leaving_rescinds_the_offer_and_abandons() -> None:
    d = make()
    d.login("ana", support=5)
    d.arrive("i1")
    d(CustomerLeft("i1"))
    assert d.log[-2:] == [OfferEnded("i1", "ana", "rescinded", "the customer left"),
                          Ended("i1", "abandoned", "the customer left while waiting")]
    assert d.engine.agents["ana"].used == 0


def test_offline_agent_has_offers_rescinded_and_work_requeued_with_arrival_kept() -> None:
    d = make()
    d.login("ana", support=5)
    d.arrive("i1", at=5)
    d(OfferAccepted("i1", "ana"))
    d.arrive("i2", at=6)
    d(AgentPresenceChanged("ana", "offline"), at=10)
    assert OfferEnded("i2", "ana", "rescinded", "the agent went offline") in d.log
    assert Requeued("i1", "support", "the agent went offline") in d.log
    assert d.engine.interactions["i1"].arrival == 5
    d.login("ben", support=5, at=11)
    assert offers(d.log)[-2:] == [("i1", "ben"), ("i2", "ben")], "oldest first"


def test_dropped_console_gets_a_grace_period() -> None:
    d = make(disconnect_grace_seconds=30)
    d.login("ana", support=5)
    d(AgentDisconnected("ana"), at=1)
    assert offers(d.arrive("i1", at=2)) == [], "no offers while disconnected"
    d(AgentReconnected("ana"), at=10)
    assert offers(d.log) == [("i1", "ana")]
    d(AgentDisconnected("ana"), at=11)
    d.tick(42)
    assert AgentStateChanged("ana", "offline", "connection lost") in d.log


def test_priority_wins_unless_aging_has_made_up_the_difference() -> None:
    """Effective priority is priority + 0.1/s waited: 4 points take 40 s to make up."""
    for gap, winner in ((30, "new-high"), (50, "old-low")):
        d = make(QueueSpec("support", skills={"support": 1}, aging_per_second=0.1))
        d.arrive("old-low", channel="voice", priority=1, at=0)
        d.arrive("new-high", channel="voice", priority=5, at=gap)
        d.login("ana", support=5, at=gap + 1)
        assert offers(d.log) == [(winner, "ana")], gap


def test_equal_priority_goes_by_arrival() -> None:
    d = make()
    d.arrive("first", channel="voice", at=1)
    d.arrive("second", channel="voice", at=5)
    d.login("ana", support=5, at=6)
    assert offers(d.log) == [("first", "ana")]


def test_the_agent_takes_the_most_urgent_work_across_queues() -> None:
    d = make()
    d.arrive("support-1", queue="support", at=0)
    d.arrive("sales-1", queue="sales", at=5)
    d.login("ana", support=5, sales=5, at=6)
    assert offers(d.log)[0] == ("sales-1", "ana"), "sales has priority 5 over support's 3"


def test_escalation_lowers_the_level_then_overflows() -> None:
    queue = QueueSpec("spanish", skills={"spanish": 8}, escalation=(
        EscalationStep(30, "lower_level", skill="spanish", level=3),
        EscalationStep(60, "overflow", queue="support")))
    d = make(queue, SUPPORT)
    d.login("ana", spanish=4)
    d.arrive("i1", queue="spanish", at=0)
    assert offers(d.log) == []
    d.tick(30)
    assert Escalated("i1", "spanish", "spanish lowered to 3 after 30 s") in d.log
    assert offers(d.log) == [("i1", "ana")]

    d2 = make(queue, SUPPORT)
    d2.login("ben", support=5)
    d2.arrive("i2", queue="spanish", at=0)
    d2.tick(60)
    assert Escalated("i2", "support", "overflowed to support: waited 60 s") in d2.log
    assert offers(d2.log) == [("i2", "ben")]
    assert d2.engine.interactions["i2"].arrival == 0


def test_max_wait_overflows_or_refuses_politely() -> None:
    d = make(QueueSpec("sales", skills={"sales": 1}, max_wait_seconds=60, overflow_queue="support"),
             SUPPORT)
    d.arrive("i1", queue="sales")
    d.tick(60)
    assert d.engine.interactions["i1"].queue == "support"

    d2 = make(QueueSpec("support", skills={"support": 1}, max_wait_seconds=60,
                        closed={"voice": "voicemail"}))
    d2.arrive("call", channel="voice")
    d2.arrive("chat")
    d2.tick(60)
    assert Ended("call", "refused", "waited over the maximum", "voicemail") in d2.log
    assert Ended("chat", "refused", "waited over the maximum", "refuse") in d2.log


def test_transfer_to_a_queue_keeps_arrival_and_bumps_priority() -> None:
    d = make()
    d.login("ana", support=5)
    d.arrive("i1", at=3)
    d(OfferAccepted("i1", "ana"))
    d(Transferred("i1", to_queue="sales", priority_bump=2), at=50)
    it = d.engine.interactions["i1"]
    assert (it.queue, it.arrival, it.priority) == ("sales", 3, 5)
    assert d.engine.agents["ana"].used == 0
    assert offers(d.login("sam", sales=2)) == [("i1", "sam")]


def test_an_agent_freed_by_a_transfer_takes_other_waiting_work() -> None:
    strict = QueueSpec("sales", skills={"sales": 3},
                       escalation=(EscalationStep(10, "lower_level", skill="sales", level=1),))
    d = make(strict)
    d.arrive("first", queue="sales", channel="voice", at=0)
    d.arrive("second", queue="sales", channel="voice", at=0)
    d.tick(10)  # both relaxed to sales >= 1
    d.login("ana", sales=1)
    assert offers(d.log) == [("first", "ana")]
    d(Transferred("first", to_queue="sales"))  # back to sales >= 3: ana no longer fits it
    assert offers(d.log) == [("first", "ana"), ("second", "ana")]


def test_a_preferred_agent_who_no_longer_has_the_skills_does_not_get_the_offer() -> None:
    d = make(SALES, preferred_agent_seconds=10)
    d.login("ana", sales=3)
    d.login("ben", sales=3)
    d(AgentDisconnected("ana"))
    d.arrive("i1", queue="sales", channel="voice", preferred_agent="ana")
    assert offers(d.log) == []
    d.login("ana")  # back, but without the sales skill
    assert offers(d.log) == [("i1", "ben")]


def test_transfer_to_a_named_agent() -> None:
    d = make()
    d.login("ana", support=5)
    d.login("ben", support=5)
    d.arrive("i1")
    d(OfferAccepted("i1", "ana"))
    d(Transferred("i1", to_agent="ben"))
    assert offers(d.log)[-1] == ("i1", "ben")


def test_wrapup_holds_capacity_until_its_deadline() -> None:
    d = make(QueueSpec("support", skills={"support": 1}, wrapup_seconds=30))
    d.login("ana", support=5)
    d.arrive("v1", channel="voice")
    d(OfferAccepted("v1", "ana"))
    d.arrive("v2", channel="voice", at=5)
    d(InteractionCompleted("v1"), at=10)
    assert WrapupStarted("v1", "ana", 40) in d.log
    assert offers(d.log) == [("v1", "ana")]
    d.tick(40)
    assert Ended("v1", "completed", "handled") in d.log
    assert offers(d.log)[-1] == ("v2", "ana")


def test_wrapup_finished_early() -> None:
    d = make(QueueSpec("support", skills={"support": 1}, wrapup_seconds=30))
    d.login("ana", support=5)
    d.arrive("v1", channel="voice")
    d(OfferAccepted("v1", "ana"))
    d(InteractionCompleted("v1"))
    d(WrapupFinished("v1"), at=3)
    assert d.log[-1] == Ended("v1", "completed", "handled")


def test_the_preferred_agent_gets_the_first_offer() -> None:
    d = make(preferred_agent_seconds=10)
    d.login("ana", support=5)
    d.login("ben", support=5, at=1)
    d.arrive("i1", preferred_agent="ben", at=2)
    assert offers(d.log) == [("i1", "ben")], "ben, though ana has been idle longer"


def test_a_busy_preferred_agent_is_waited_for_then_the_queue_takes_over() -> None:
    d = make(QueueSpec("support", skills={"support": 1}), preferred_agent_seconds=10)
    d.login("ben", support=5)
    d.arrive("v0", channel="voice", at=0)
    d(OfferAccepted("v0", "ben"))
    d.login("ana", support=5, at=1)
    d.arrive("v1", channel="voice", preferred_agent="ben", at=2)
    assert offers(d.log) == [("v0", "ben")], "held for ben though ana is free"
    d.tick(12)
    assert offers(d.log)[-1] == ("v1", "ana")


def test_closed_hours_follow_the_channel_behaviour() -> None:
    cal = Calendar("Europe/Paris", {0: parse_hours("09:00-17:00")}, frozenset({date(2026, 12, 28)}))
    queue = QueueSpec("support", skills={"support": 1}, calendar="paris",
                      closed={"voice": "voicemail", "chat": "keep_waiting"})
    monday_night = _epoch(2026, 11, 23, 20, 0, "Europe/Paris")
    d = make(queue, calendars={"paris": cal})
    d.arrive("call", channel="voice", at=monday_night)
    d.arrive("chat", at=monday_night)
    assert Ended("call", "refused", "queue support is closed", "voicemail") in d.log
    assert d.engine.waiting_count() == 1
    holiday_morning = _epoch(2026, 12, 28, 10, 0, "Europe/Paris")
    assert not cal.is_open(holiday_morning)
    assert cal.is_open(_epoch(2026, 11, 23, 10, 0, "Europe/Paris"))


def _epoch(y: int, m: int, day: int, hh: int, mm: int, tz: str) -> float:
    from datetime import datetime
    return datetime(y, m, day, hh, mm, tzinfo=ZoneInfo(tz)).timestamp()


def test_strategies() -> None:
    most = make(QueueSpec("support", skills={"support": 1}, strategy="most_skilled"))
    most.login("novice", support=2)
    most.login("expert", support=9)
    assert offers(most.arrive("i1")) == [("i1", "expert")]

    least = make(QueueSpec("support", skills={"support": 1}, strategy="least_occupied"))
    least.login("ana", support=5)
    least.login("ben", support=5)
    least.arrive("c1")
    least.arrive("c2")
    assert offers(least.log) == [("c1", "ana"), ("c2", "ben")]

    rr = make(QueueSpec("support", skills={"support": 1}, strategy="round_robin"))
    for name in ("a", "b", "c"):
        rr.login(name, support=5)
    for i in range(6):
        rr.arrive(f"e{i}", channel="email")
    assert [agent for _, agent in offers(rr.log)] == ["a", "b", "c", "a", "b", "c"]


def test_every_offer_can_explain_itself() -> None:
    d = make(QueueSpec("spanish", skills={"support": 1, "spanish": 3}), explain=True)
    d.login("ana", support=5, spanish=8, at=0)
    d.login("ben", support=5, at=1)
    d.login("cy", support=5, spanish=5, at=2)
    d(AgentPresenceChanged("cy", "away", "lunch"))
    d.login("dee", support=4, spanish=9, at=3)
    (offer,) = [x for x in d.arrive("i1", queue="spanish", at=4) if isinstance(x, Offered)]
    why = offer.explanation
    assert why is not None
    assert why.chosen == "ana"
    assert why.eligible == ("ana", "dee")
    assert why.not_eligible == {"ben": "lacks spanish>=3", "cy": "is away",
                                "dee": "ranked lower by longest idle"}
    assert why.text().startswith("offered to ana: longest idle of 2 eligible; ben lacks spanish>=3")


def test_a_large_centres_reason_names_a_few_agents_and_counts_the_rest() -> None:
    d = make(QueueSpec("spanish", skills={"support": 1, "spanish": 3}), explain=True)
    for i in range(100):
        d.login(f"s{i:03}", support=5, spanish=5, at=i)  # eligible; s000 idle longest
    for i in range(300):
        d.login(f"n{i:03}", support=5, at=100 + i)  # lack spanish
    (offer,) = [x for x in d.arrive("i1", queue="spanish", at=500) if isinstance(x, Offered)]
    why = offer.explanation
    assert why is not None
    assert why.chosen == "s000"
    assert why.eligible_count == 100
    assert len(why.eligible) == 25
    assert len(why.not_eligible) == 25
    assert why.more == {"ranked lower by longest idle": 74, "lack the skills": 300}
    assert sum(why.more.values()) + len(why.not_eligible) == 399
    assert why.text().endswith(
        "; and 374 more: 74 ranked lower by longest idle, 300 lack the skills")
    assert why.text({"s000": "Ana"}).startswith("offered to Ana: longest idle of 100 eligible")


def test_a_reason_counts_every_standing_beyond_the_named_agents() -> None:
    """Past the 25 named agents, each reason is counted: the counts kept per bucket as agents
    change must add up to what looking at every agent would say."""
    d = make(explain=True)
    for i in range(60):
        d.login(f"s{i:02}", support=5, at=i)
    for i in range(10):
        d.login(f"n{i:02}", sales=5, at=60 + i)
    for i in range(30):  # the first 30 come back later: s30 is now the longest idle
        d(AgentPresenceChanged(f"s{i:02}", "away"), at=70)
        d(AgentPresenceChanged(f"s{i:02}", "available"), at=100 + i)
    for i in range(40, 45):
        d(AgentPresenceChanged(f"s{i:02}", "away", "lunch"), at=130)
    for i in range(45, 47):
        d(AgentPresenceChanged(f"s{i:02}", "offline"), at=130)
    for i in range(48, 52):  # on a call each: at capacity for chat
        d(InteractionArrived(f"v{i}", "voice", "support", 131, preferred_agent=f"s{i}"), at=131)
        d(OfferAccepted(f"v{i}", f"s{i}"))
    d(AgentDisconnected("s47"), at=132)
    assert offers(d.arrive("x", at=133)) == [("x", "s30")]
    d(OfferRejected("x", "s30"))
    d(OfferRejected("x", "s31"))
    (offer,) = [o for o in d.log[-1:] if isinstance(o, Offered)]
    why = offer.explanation
    assert why is not None
    assert why.chosen == "s32"
    assert why.not_eligible == {f"s{i:02}": "ranked lower by longest idle" for i in range(25)}
    assert why.eligible == ("s32", *(f"s{i:02}" for i in range(24)))
    assert why.eligible_count == 1 + 25 + 20
    assert why.more == {"ranked lower by longest idle": 20, "already declined it": 2,
                        "are at capacity": 4, "are disconnected": 1, "are away": 5,
                        "are offline": 2, "lack the skills": 10}
    assert why.text().endswith(
        "and 44 more: 20 ranked lower by longest idle, 2 already declined it, 4 are at capacity, "
        "1 are disconnected, 5 are away, 2 are offline, 10 lack the skills")


def test_work_in_a_queue_removed_from_the_configuration_goes_to_the_fallback() -> None:
    d = make(fallback_queues={"chat": "support"})
    d.login("ana", support=5)
    d.arrive("i1", queue="retention", at=7)
    assert d.log[0] == Requeued("i1", "support", "queue retention no longer exists")
    assert offers(d.log) == [("i1", "ana")]
    assert d.engine.interactions["i1"].arrival == 7


def test_a_transfer_to_a_queue_that_no_longer_exists_goes_to_the_fallback() -> None:
    d = make(fallback_queues={"chat": "support"})
    d.login("ana", support=5)
    d.arrive("i1")
    d(OfferAccepted("i1", "ana"))
    d(Transferred("i1", to_queue="retention"))
    assert d.engine.interactions["i1"].queue == "support"


def test_ended_interactions_are_forgotten() -> None:
    """A long-running leader's memory follows the open work, not its history."""
    d = make()
    d.login("ana", support=5)
    d.arrive("handled")
    d(OfferAccepted("handled", "ana"))
    d(InteractionCompleted("handled"))
    d.arrive("left", queue="sales")  # nobody has sales: it waits
    d(CustomerLeft("left"))
    assert d.engine.interactions == {}
    d.tick(3600)  # the timers of forgotten interactions fire harmlessly


def test_a_repeated_arrival_changes_nothing() -> None:
    d = make()
    d.login("ana", support=5)
    d.arrive("i1")
    assert d.arrive("i1") == []


def test_late_accept_after_timeout_is_ignored() -> None:
    d = make()
    d.login("ana", support=5)
    d.login("ben", support=5, at=1)
    d.arrive("i1", at=2)
    d.tick(22)
    assert offers(d.log) == [("i1", "ana"), ("i1", "ben")]
    assert d(OfferAccepted("i1", "ana")) == []
    assert d(OfferAccepted("i1", "ben")) == [Assigned("i1", "ben")]
