"""Twilio's SMS payloads (fixtures as Twilio sends them) read into our shapes; TwiML out."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from channels.twilio_sms import parse
from channels.twilio_webhook import UnreadablePayload
from contactcenter.settings import SmsConfig

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twilio"


def fixture(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((FIXTURES / name).read_text())
    return data


def test_an_sms() -> None:
    sms = parse.parse_inbound(fixture("sms_received.json"))
    assert sms.message_sid == "SM5d4c7a1f2b3e4d5c6b7a8f9e0d1c2b3a"
    assert (sms.sender, sms.to) == ("+14155550100", "+14155550199")
    assert sms.body == "Hi, I was charged twice for my order #4417"
    assert sms.media == ()


def test_an_mms_keeps_its_media() -> None:
    mms = parse.parse_inbound(fixture("mms_received.json"))
    assert [(m.content_type, m.url.rsplit("/", 1)[-1] if m.url else "") for m in mms.media] == [
        ("image/jpeg", "ME11111111111111111111111111111111"),
        ("image/png", "ME22222222222222222222222222222222")]


@pytest.mark.parametrize(("change", "problem"), [
    ({"MessageSid": "nope", "SmsSid": "nope"}, "MessageSid"),
    ({"From": ""}, "From"),
    ({"NumMedia": "many"}, "NumMedia"),
    ({"NumMedia": "1"}, "MediaUrl0"),
])
def test_unreadable_payloads_say_why(change: dict[str, str], problem: str) -> None:
    with pytest.raises(UnreadablePayload, match=problem):
        parse.parse_inbound({**fixture("sms_received.json"), **change})


def test_delivery_reports() -> None:
    delivered = parse.parse_status(fixture("sms_status_delivered.json") | {
        "MessageSid": "SM" + "a" * 32})
    assert (delivered.status, delivered.error_code) == ("delivered", None)
    failed = parse.parse_status(fixture("sms_status_undelivered.json") | {
        "MessageSid": "SM" + "b" * 32})
    assert (failed.status, failed.error_code) == ("undelivered", "30003")
    with pytest.raises(UnreadablePayload):
        parse.parse_status({"MessageSid": "SM" + "c" * 32, "MessageStatus": "teleported"})


@pytest.mark.parametrize(("body", "consent"), [
    ("STOP", "opt_out"), (" stop ", "opt_out"), ("Unsubscribe.", "opt_out"), ("START", "opt_in"),
    ("help", "help"), ("Stop charging me twice!", None), ("hello", None),
])
def test_consent_keywords_are_whole_messages(body: str, consent: str | None) -> None:
    assert parse.consent_keyword(body) == consent


def test_queue_from_keyword_then_number() -> None:
    config = SmsConfig(numbers={"+14155550199": "billing"}, keywords={"SALES": "sales"})
    sms = parse.parse_inbound(fixture("sms_received.json"))
    assert parse.queue_hint(sms, config) == "billing"
    keyword = parse.SmsReceived("SM" + "d" * 32, "+1", "+14155550199", "sales: a quote?", ())
    assert parse.queue_hint(keyword, config) == "sales"


def test_twiml() -> None:
    empty = ET.fromstring(parse.twiml())
    assert (empty.tag, list(empty)) == ("Response", [])
    answer = ET.fromstring(parse.twiml(parse.queue_reply("You are #{position}; wait {wait}.", 3, 400)))
    assert [(m.tag, m.text) for m in answer] == [("Message", "You are #3; wait about 7 minutes.")]
