"""SMS end to end on the real server: webhooks signed exactly as Twilio signs them, and replies
sent by the real `twilio` library to a fake Twilio REST API on loopback."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from channels.twilio_sms import parse
from contactcenter import feeds
from contactcenter.actions import add_user, inbox
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from tests.channels.conftest import (
    CUSTOMER,
    OUR_NUMBER,
    PUBLIC_URL,
    SID,
    Twilio,
    fixture,
    signature,
)
from tests.conftest import PASSWORD
from tests.live import eventually, login, state_is


def messages_in(twiml: str) -> list[str]:
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return [m.text or "" for m in root if m.tag == "Message"]


async def test_an_sms_is_kept_answered_at_once_and_told_its_place_in_line(
    twilio: Twilio, core: Core
) -> None:
    resp = await twilio.text("Hi, I was charged twice")
    assert resp.status == 200
    assert resp.content_type == "text/xml"
    assert messages_in(await resp.text()) == []  # answered before the intake: nothing to say yet
    place = "You are number 1 in line; expected wait about 3 minutes."
    assert await eventually(lambda: _sent(twilio)) == [place]
    again = await twilio.text("Hi, I was charged twice")  # Twilio delivered it twice
    assert messages_in(await again.text()) == []
    await twilio.text("Any news?", sid_digit="2")  # told once per 5 minutes

    rows = await core.pool.fetch(
        """SELECT m.body, m.direction, i.channel, q.name AS queue, i.their_address, i.our_address
           FROM messages m JOIN interactions i ON i.id = m.interaction_id
           JOIN queues q ON q.id = i.queue_id ORDER BY m.id""")
    assert [tuple(r) for r in rows] == [
        ("Hi, I was charged twice", "inbound", "sms", "support", CUSTOMER, OUR_NUMBER),
        (place, "outbound", "sms", "support", CUSTOMER, OUR_NUMBER),
        ("Any news?", "inbound", "sms", "support", CUSTOMER, OUR_NUMBER)]
    assert twilio.texts_sent() == [place]
    [told] = twilio.api.requests
    assert (told.form["To"], told.form["From"]) == (CUSTOMER, OUR_NUMBER)


async def _sent(twilio: Twilio) -> list[str] | None:
    return twilio.texts_sent() or None


async def test_a_webhook_kept_while_the_intake_fails_is_retried_then_flagged(
    twilio: Twilio, core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = 0

    def broken(*_: object) -> None:
        nonlocal failures
        failures += 1
        raise RuntimeError("the intake broke")

    monkeypatch.setattr(parse, "queue_hint", broken)
    resp = await twilio.post("/channels/twilio/sms", fixture("sms_received.json"))
    assert resp.status == 200  # kept: Twilio is told it arrived
    flagged = await eventually(lambda: core.pool.fetchrow(
        "SELECT source, problem, payload FROM unreadable_payloads"))
    assert failures == inbox.MAX_ATTEMPTS
    assert flagged["source"] == "twilio_sms"
    assert flagged["problem"] == "RuntimeError: the intake broke"
    assert flagged["payload"]["Body"] == fixture("sms_received.json")["Body"]
    assert await core.pool.fetchval("SELECT count(*) FROM webhook_inbox") == 0


async def test_a_nul_character_in_a_signed_sms_is_kept_as_a_replacement_character(
    twilio: Twilio, core: Core
) -> None:
    form = {**fixture("sms_received.json"), "Body": "tent\u0000pole"}
    resp = await twilio.post("/channels/twilio/sms", form)
    assert resp.status == 200, await resp.text()
    body = await eventually(lambda: core.pool.fetchval(
        "SELECT body FROM messages WHERE direction = 'inbound'"))
    assert body == "tent\ufffdpole"


async def test_a_body_that_is_not_a_form_is_refused_before_the_signature(twilio: Twilio) -> None:
    broken = await twilio.client.post("/channels/twilio/sms", data=b"Body=hi",
                                      headers={"Content-Type": "multipart/form-data"})
    assert (broken.status, (await broken.json())["error"]) == (400, "bad_form")
    json_body = await twilio.client.post("/channels/twilio/sms", json={"Body": "hi"})
    assert (json_body.status, (await json_body.json())["error"]) == (415, "unsupported_media_type")


async def test_forged_or_misaddressed_signatures_are_refused(twilio: Twilio, core: Core) -> None:
    form = fixture("sms_received.json")
    unsigned = await twilio.post("/channels/twilio/sms", form, sign=False)
    assert (unsigned.status, (await unsigned.json())["error"]) == (403, "bad_signature")
    forged = await twilio.client.post("/channels/twilio/sms", data=form,
                                      headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert forged.status == 403
    elsewhere = signature("/channels/twilio/sms", form, url="https://other.example.com")
    wrong_url = await twilio.client.post("/channels/twilio/sms", data=form,
                                         headers={"X-Twilio-Signature": elsewhere})
    assert wrong_url.status == 403
    tampered = {**form, "Body": "send me a refund"}
    changed = await twilio.client.post(
        "/channels/twilio/sms", data=tampered,
        headers={"X-Twilio-Signature": signature("/channels/twilio/sms", form)})
    assert changed.status == 403
    assert await core.pool.fetchval("SELECT count(*) FROM messages") == 0


async def test_an_unreadable_payload_is_kept_and_flagged(twilio: Twilio, core: Core) -> None:
    form = fixture("sms_received.json", MessageSid="garbage", SmsSid="garbage")
    resp = await twilio.post("/channels/twilio/sms", form)
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "unreadable_payload"
    kept = await core.pool.fetchrow("SELECT source, problem, payload FROM unreadable_payloads")
    assert kept["source"] == "twilio_sms"
    assert "MessageSid" in kept["problem"]
    assert kept["payload"]["Body"] == form["Body"]


async def test_mms_media_are_kept_as_attachments(twilio: Twilio, core: Core) -> None:
    resp = await twilio.post("/channels/twilio/sms", fixture("mms_received.json"))
    assert resp.status == 200
    await twilio.taken_in()
    rows = await core.pool.fetch("SELECT content_type, url FROM attachments ORDER BY id")
    assert [r["content_type"] for r in rows] == ["image/jpeg", "image/png"]
    assert all(r["url"].startswith("https://api.twilio.com/") for r in rows)


async def _assigned_sms(twilio: Twilio, core: Core, workspace_id: int) -> tuple[int, dict[str, str]]:
    """A customer's SMS in support, taken by Dev (support 5): (interaction, Dev's headers)."""
    await add_user(core, workspace_id, NewUser("dev@example.com", "Dev Patel", "agent", PASSWORD,
                                               {"support": 5}))
    await twilio.text("Hi, I was charged twice")
    await eventually(lambda: _sent(twilio))  # the place in line went out first
    twilio.api.requests.clear()
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    headers = {"X-CSRF-Token": await login(twilio.client, "dev@example.com", PASSWORD)}
    await twilio.client.put("/api/me/presence", json={"presence": "available"}, headers=headers)
    await eventually(lambda: state_is(core, iid, "offered"))
    await twilio.client.post(f"/api/interactions/{iid}/accept", headers=headers)
    await eventually(lambda: state_is(core, iid, "assigned"))
    return iid, headers


async def _message(core: Core, message_id: int) -> dict[str, Any]:
    row = await core.pool.fetchrow(
        """SELECT delivery_status, delivery_error, provider_message_id, send_attempts
           FROM messages WHERE id = $1""", message_id)
    return dict(row)


async def test_a_reply_goes_out_through_twilio_and_its_delivery_comes_back(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    iid, headers = await _assigned_sms(twilio, core, workspace_id)
    resp = await twilio.client.post(f"/api/interactions/{iid}/messages", headers=headers,
                                    json={"body": "Sorry! The second charge is refunded."})
    assert resp.status == 201
    reply = await resp.json()
    assert reply["status"] == "queued"

    sent = await eventually(lambda: _sid_of(core, reply["id"]))
    [request] = twilio.api.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.form == {"To": CUSTOMER, "From": OUR_NUMBER,
                            "Body": "Sorry! The second charge is refunded.",
                            "StatusCallback": f"{PUBLIC_URL}/channels/twilio/sms/status"}

    status_path = "/channels/twilio/sms/status"
    delivered = fixture("sms_status_delivered.json", MessageSid=sent, SmsSid=sent)
    assert (await twilio.post(status_path, delivered)).status == 204
    late = {**delivered, "MessageStatus": "sent", "SmsStatus": "sent"}  # arrives after
    assert (await twilio.post(status_path, late)).status == 204
    assert (await _message(core, reply["id"]))["delivery_status"] == "delivered"
    entries = await feeds.since(core.redis, feeds.user_feed(workspace_id, await _dev(core)),
                                feeds.START)
    assert entries is not None
    assert [e for _, e in entries if e["kind"] == "delivery"] == [
        {"kind": "delivery", "interaction_id": iid, "message_id": reply["id"],
         "status": "delivered", "error": None}]


async def _sid_of(core: Core, message_id: int) -> str | None:
    sid: str | None = await core.pool.fetchval(
        "SELECT provider_message_id FROM messages WHERE id = $1", message_id)
    return sid


async def _dev(core: Core) -> int:
    uid: int = await core.pool.fetchval("SELECT id FROM users WHERE email = 'dev@example.com'")
    return uid


async def test_429_is_retried_and_a_refusal_fails_with_twilios_code(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    iid, headers = await _assigned_sms(twilio, core, workspace_id)
    twilio.api.fail_next(429, 20429, "Too Many Requests", times=2)
    first = await (await twilio.client.post(f"/api/interactions/{iid}/messages", headers=headers,
                                            json={"body": "one"})).json()
    await eventually(lambda: _sid_of(core, first["id"]))
    assert len(twilio.api.requests) == 3
    assert (await _message(core, first["id"]))["send_attempts"] == 3

    twilio.api.fail_next(400, 21211, "The 'To' number is not a valid phone number.")
    second = await (await twilio.client.post(f"/api/interactions/{iid}/messages", headers=headers,
                                             json={"body": "two"})).json()
    failed = await eventually(lambda: _failed(core, second["id"]))
    assert failed["delivery_error"].startswith("21211")
    assert failed["send_attempts"] == 1


async def _failed(core: Core, message_id: int) -> dict[str, Any] | None:
    row = await _message(core, message_id)
    return row if row["delivery_status"] == "failed" else None


async def test_stop_means_nothing_more_is_sent_until_start(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    iid, headers = await _assigned_sms(twilio, core, workspace_id)
    stop = await twilio.text("STOP", sid_digit="5")
    assert messages_in(await stop.text()) == []
    assert await core.pool.fetchval("SELECT phone FROM sms_opt_outs") == CUSTOMER
    refused = await twilio.client.post(f"/api/interactions/{iid}/messages", headers=headers,
                                       json={"body": "are you there?"})
    assert (refused.status, (await refused.json())["error"]) == (409, "opted_out")
    help_ = await twilio.text("HELP", sid_digit="6")
    assert messages_in(await help_.text()) == ["Reply to reach a person. STOP to stop."]
    await twilio.text("START", sid_digit="7")
    assert await core.pool.fetchval("SELECT count(*) FROM sms_opt_outs") == 0
    allowed = await twilio.client.post(f"/api/interactions/{iid}/messages", headers=headers,
                                       json={"body": "welcome back"})
    assert allowed.status == 201
    # Consent keywords are not conversation: none of them was added to it.
    bodies = await core.pool.fetch("SELECT body FROM messages WHERE direction = 'inbound'")
    assert [r["body"] for r in bodies] == ["Hi, I was charged twice"]


async def test_a_closed_queue_answers_with_the_closed_reply(twilio: Twilio, core: Core) -> None:
    await twilio.text("BILLING why was I charged twice?")  # the keyword picks billing
    assert await eventually(lambda: _sent(twilio)) == [
        "We are closed; we will answer when we open."]
    queue = await core.pool.fetchval(
        "SELECT q.name FROM interactions i JOIN queues q ON q.id = i.queue_id")
    assert queue == "billing"
