"""Calls end to end on the real server: Twilio's webhooks signed as Twilio signs them, the
bridge made by the real `twilio` library against the fake Twilio REST API."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from aiohttp.test_utils import TestClient

from contactcenter.actions import add_user, work
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from tests.channels.conftest import OUR_NUMBER, SID, Twilio, fixture
from tests.conftest import PASSWORD
from tests.live import eventually, frames_until, is_event, is_type, login, state_is

CALL = "CA3f8e2a1b4c5d6e7f8a9b0c1d2e3f4a5b"


def twiml(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response"
    return root


async def _menu(twilio: Twilio, **choice: str) -> ET.Element:
    resp = await twilio.post("/channels/twilio/voice/menu", fixture("voice_incoming.json", **choice))
    assert resp.status == 200
    return twiml(await resp.text())


async def _staffed(core: Core, workspace_id: int, email: str, skills: dict[str, int]) -> int:
    """An agent signed in but away: the queue is staffed, so calls queue instead of voicemail."""
    uid = await add_user(core, workspace_id, NewUser(email, email.split("@")[0].title(), "agent",
                                                     PASSWORD, skills))
    await work.set_presence(core, workspace_id, uid, "away", "Lunch")
    return uid


async def test_a_call_from_menu_to_agent_to_hang_up(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    uid = await add_user(core, workspace_id, NewUser("dev@example.com", "Dev Patel", "agent",
                                                     PASSWORD, {"support": 5}))
    headers = {"X-CSRF-Token": await login(twilio.client, "dev@example.com", PASSWORD)}
    console = await twilio.client.ws_connect("/console/ws")
    await console.send_json({"type": "hello"})
    await frames_until(console, is_type("snapshot"))
    await twilio.client.put("/api/me/presence", json={"presence": "away", "reason": "Break"},
                            headers=headers)

    incoming = await twilio.post("/channels/twilio/voice", fixture("voice_incoming.json"))
    assert incoming.status == 200
    greeting = twiml(await incoming.text())
    gather = greeting.find("Gather")
    assert gather is not None
    assert gather.get("action") == "/channels/twilio/voice/menu"
    assert "For support, press 2." in (gather.findtext("Say") or "")

    hold = await _menu(twilio, Digits="2")
    said = [say.text for say in hold.iter("Say")]
    assert said == ["You are number 1 in line. The expected wait is about 3 minutes.",
                    "To keep your place and be called back, press 1."]
    offer_callback = hold.find("Gather")
    assert offer_callback is not None
    assert offer_callback.get("action") == "/channels/twilio/voice/callback"
    assert hold.findtext("Redirect") == "/channels/twilio/voice/hold"
    iid: int = await core.pool.fetchval(
        "SELECT i.id FROM interactions i JOIN queues q ON q.id = i.queue_id "
        "WHERE i.channel = 'voice' AND q.name = 'support'")

    await twilio.client.put("/api/me/presence", json={"presence": "available"}, headers=headers)
    offer = (await frames_until(console, is_event("offer")))[-1]["event"]
    assert offer["interaction_id"] == iid
    await twilio.client.post(f"/api/interactions/{iid}/accept", headers=headers)
    await frames_until(console, is_event("assigned"))

    await eventually(lambda: _agent_dialled(twilio))
    [moved] = twilio.api.calls_to(f"/Calls/{CALL}.json")
    assert f"cc-interaction-{iid}" in moved.form["Twiml"]
    [dialled] = twilio.api.calls_to("/Calls.json")
    assert dialled.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert (dialled.form["To"], dialled.form["From"]) == (f"client:agent-{uid}", OUR_NUMBER)
    assert 'startConferenceOnEnter="true"' in dialled.form["Twiml"]
    connected = (await frames_until(console, is_event("message")))[-1]["event"]["message"]
    assert (connected["direction"], connected["body"]) == ("event", "Call connected to Dev Patel")

    again = await twilio.post("/channels/twilio/voice/hold", fixture("voice_incoming.json"))
    conference = twiml(await again.text()).find("Dial/Conference")
    assert conference is not None
    assert conference.text == f"cc-interaction-{iid}"

    agent_leg = await _agent_leg(core)
    for status in ("ringing", "ringing", "in-progress"):  # a repeat adds nothing
        progress = await twilio.post("/channels/twilio/voice/status", fixture(
            "voice_status_completed.json", CallSid=agent_leg, CallStatus=status))
        assert progress.status == 204
    ended = await twilio.post("/channels/twilio/voice/status",
                              fixture("voice_status_completed.json"))
    assert ended.status == 204
    await eventually(lambda: state_is(core, iid, "wrapup"))
    assert await eventually(lambda: _timeline(core, iid, 5)) == [
        "Incoming call (support)", "Call connected to Dev Patel", "Ringing Dev Patel",
        "Answered by Dev Patel", "Call ended (completed) after 1:35"]
    call = await core.pool.fetchrow(
        "SELECT duration_seconds, ended_at IS NOT NULL AS ended FROM calls WHERE call_sid = $1", CALL)
    assert tuple(call) == (95, True)
    await console.close()


async def _agent_dialled(twilio: Twilio) -> bool:
    return bool(twilio.api.calls_to("/Calls.json"))


async def _agent_leg(core: Core) -> str:
    """The agent's leg, once the call bridger has recorded it: just after Twilio took the call,
    so a test that saw the call placed may look a moment too early."""
    async def recorded() -> str | None:
        leg: str | None = await core.pool.fetchval(
            "SELECT call_sid FROM calls WHERE leg = 'agent'")
        return leg
    found: str = await eventually(recorded)
    return found


async def test_hanging_up_while_waiting_abandons(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    await _staffed(core, workspace_id, "ana@example.com", {"sales": 5})
    await _menu(twilio, Digits="1")
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    ended = await twilio.post("/channels/twilio/voice/status",
                              fixture("voice_status_completed.json", CallDuration="12"))
    assert ended.status == 204
    await eventually(lambda: state_is(core, iid, "abandoned"))
    # Twilio repeats the callback: nothing changes twice.
    await twilio.post("/channels/twilio/voice/status", fixture("voice_status_completed.json"))
    bodies = await core.pool.fetch("SELECT body FROM messages ORDER BY id")
    assert [r["body"] for r in bodies] == ["Incoming call (sales)", "Call ended (completed) after 0:12"]


async def test_a_spoken_choice_and_no_choice(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    await _staffed(core, workspace_id, "ben@example.com", {"sales": 5, "support": 5})
    await _menu(twilio, SpeechResult="Yes hi I would like to buy a tent")
    queue = await core.pool.fetchval(
        "SELECT q.name FROM interactions i JOIN queues q ON q.id = i.queue_id")
    assert queue == "sales"
    other = "CA" + "9" * 32
    await _menu(twilio, CallSid=other, From="+14155550111", Caller="+14155550111")
    default = await core.pool.fetchval(
        """SELECT q.name FROM interactions i JOIN queues q ON q.id = i.queue_id
           JOIN calls c ON c.interaction_id = i.id WHERE c.call_sid = $1""", other)
    assert default == "support"


async def test_forged_and_unreadable_call_webhooks(twilio: Twilio, core: Core) -> None:
    unsigned = await twilio.post("/channels/twilio/voice", fixture("voice_incoming.json"),
                                 sign=False)
    assert unsigned.status == 403
    bad = await twilio.post("/channels/twilio/voice", fixture("voice_incoming.json", CallSid="x"))
    assert (bad.status, (await bad.json())["error"]) == (400, "unreadable_payload")
    kept: Any = await core.pool.fetchval("SELECT source FROM unreadable_payloads")
    assert kept == "twilio_voice"


async def test_nobody_to_answer_means_voicemail_worked_like_an_email(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    answer = await _menu(twilio, Digits="2")  # no agent signed in with support
    record = answer.find("Record")
    assert record is not None
    assert record.get("action") == "/channels/twilio/voice/voicemail?queue=support"
    assert record.get("transcribeCallback") == "/channels/twilio/voice/transcription"
    assert await core.pool.fetchval("SELECT count(*) FROM interactions") == 0

    recording_sid = "RE" + "4" * 32
    recording = fixture("voice_incoming.json", RecordingSid=recording_sid, RecordingDuration="42",
                        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Recordings/"
                                     f"{recording_sid}")
    path = "/channels/twilio/voice/voicemail?queue=support"
    for _ in range(2):  # Twilio retried: one voicemail
        left = await twilio.post(path, recording)
        assert left.status == 200
        assert twiml(await left.text()).find("Hangup") is not None
    said = await twilio.post("/channels/twilio/voice/transcription", {
        **recording, "TranscriptionText": "Please call me back about my refund.",
        "TranscriptionStatus": "completed"})
    assert said.status == 204

    row = await core.pool.fetchrow(
        """SELECT i.channel, i.state, q.name AS queue, a.content_type, a.url
           FROM interactions i JOIN queues q ON q.id = i.queue_id
           JOIN messages m ON m.interaction_id = i.id JOIN attachments a ON a.message_id = m.id""")
    assert tuple(row)[:4] == ("voicemail", "queued", "support", "audio/mpeg")
    assert row["url"].endswith(f"{recording_sid}.mp3")
    bodies = await core.pool.fetch("SELECT body FROM messages ORDER BY id")
    assert [r["body"] for r in bodies] == [
        "Voicemail (0:42)", "Transcription: Please call me back about my refund."]

    # The console shows the recording, to be played.
    await add_user(core, workspace_id, NewUser("sup@example.com", "Sam", "supervisor", PASSWORD, {}))
    await login(twilio.client, "sup@example.com", PASSWORD)
    iid = await core.pool.fetchval("SELECT id FROM interactions")
    view = await (await twilio.client.get(f"/api/interactions/{iid}")).json()
    assert [a["content_type"] for a in view["messages"][0]["attachments"]] == ["audio/mpeg"]


async def test_after_hours_a_caller_is_asked_for_a_voicemail(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    await _staffed(core, workspace_id, "eva@example.com", {"billing": 8})  # staffed, but closed
    record = (await _menu(twilio, Digits="3")).find("Record")
    assert record is not None
    assert record.get("action") == "/channels/twilio/voice/voicemail?queue=billing"


async def test_press_1_to_keep_your_place_and_be_called_back(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    uid = await _staffed(core, workspace_id, "dev@example.com", {"support": 5})
    await _menu(twilio, Digits="2")
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    pressed = await twilio.post("/channels/twilio/voice/callback",
                                fixture("voice_incoming.json", Digits="1"))
    assert twiml(await pressed.text()).find("Hangup") is not None
    await twilio.post("/channels/twilio/voice/status", fixture("voice_status_completed.json"))
    assert await state_is(core, iid, "queued")  # hanging up kept the place

    await work.set_presence(core, workspace_id, uid, "available")
    await eventually(lambda: state_is(core, iid, "offered"))
    await work.request(core, workspace_id, uid, iid, "offer.accept")
    await eventually(lambda: _placed(twilio, 2))
    customer, agent = twilio.api.calls_to("/Calls.json")
    assert (customer.form["To"], customer.form["From"]) == ("+14155550100", OUR_NUMBER)
    assert 'startConferenceOnEnter="false"' in customer.form["Twiml"]
    assert agent.form["To"] == f"client:agent-{uid}"
    assert twilio.api.calls_to(f"/Calls/{CALL}.json") == []  # the first call is long gone
    # The timeline line is written once Twilio has taken both calls: wait for it.
    assert await eventually(lambda: _timeline(core, iid, 4)) == [
        "Incoming call (support)", "The caller asked to be called back",
        "Call ended (completed) after 1:35", "Calling the customer back for Dev"]


async def _timeline(core: Core, iid: int, count: int) -> list[str] | None:
    rows = await core.pool.fetch(
        "SELECT body FROM messages WHERE interaction_id = $1 ORDER BY id", iid)
    return [r["body"] for r in rows] if len(rows) >= count else None


async def _placed(twilio: Twilio, count: int) -> bool:
    return len(twilio.api.calls_to("/Calls.json")) >= count


async def test_a_transfer_is_in_the_timeline(twilio: Twilio, core: Core, workspace_id: int) -> None:
    uid = await _staffed(core, workspace_id, "ben@example.com", {"sales": 5, "support": 5})
    await _menu(twilio, Digits="2")
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    await work.transfer(core, workspace_id, uid, iid, to_queue="sales", to_agent=None)
    last = await core.pool.fetchval(
        "SELECT body FROM messages WHERE interaction_id = $1 ORDER BY id DESC LIMIT 1", iid)
    assert last == "Transferred to queue sales"


async def test_a_transfer_moves_the_live_call_and_a_supervisor_listens_in(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    dev = await add_user(core, workspace_id, NewUser("dev@example.com", "Dev Patel", "agent",
                                                     PASSWORD, {"support": 5}))
    eve = await add_user(core, workspace_id, NewUser("eve@example.com", "Eve Long", "agent",
                                                     PASSWORD, {"support": 5}))
    await add_user(core, workspace_id, NewUser("sam@example.com", "Sam Boss", "supervisor",
                                               PASSWORD, {}))
    as_dev = {"X-CSRF-Token": await login(twilio.client, "dev@example.com", PASSWORD)}
    await twilio.client.put("/api/me/presence", json={"presence": "available"}, headers=as_dev)
    await _menu(twilio, Digits="2")
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    await eventually(lambda: state_is(core, iid, "offered"))
    await twilio.client.post(f"/api/interactions/{iid}/accept", headers=as_dev)
    await eventually(lambda: _agent_dialled(twilio))
    dev_leg = await _agent_leg(core)

    eve_client: TestClient[Any, Any] = TestClient(twilio.client.server)
    sam_client: TestClient[Any, Any] = TestClient(twilio.client.server)
    async with eve_client, sam_client:
        as_eve = {"X-CSRF-Token": await login(eve_client, "eve@example.com", PASSWORD)}
        await eve_client.put("/api/me/presence", json={"presence": "available"}, headers=as_eve)
        moved = await twilio.client.post(f"/api/interactions/{iid}/transfer",
                                         json={"agent": eve}, headers=as_dev)
        assert moved.status == 202

        # The caller waits in a room of their own, then Dev's leg is dropped.
        await eventually(lambda: _hung_up(twilio, dev_leg))
        to_caller = twilio.api.calls_to(f"/Calls/{CALL}.json")
        assert len(to_caller) == 2
        assert f"<Conference {_ROOM_ATTRS}>cc-interaction-{iid}-1</Conference>" in to_caller[1].form["Twiml"]
        await eventually(lambda: state_is(core, iid, "offered"))
        await eve_client.post(f"/api/interactions/{iid}/accept", headers=as_eve)
        dialled = await eventually(lambda: _dialled(twilio, 2))
        assert dialled[1].form["To"] == f"client:agent-{eve}"
        assert f"cc-interaction-{iid}-1</Conference>" in dialled[1].form["Twiml"]
        assert len(twilio.api.calls_to(f"/Calls/{CALL}.json")) == 2  # not moved again

        # Agents cannot listen in; a supervisor is dialled in, muted.
        refused = await eve_client.post(f"/api/interactions/{iid}/listen", headers=as_eve)
        assert (refused.status, (await refused.json())["error"]) == (403, "supervisors_only")
        as_sam = {"X-CSRF-Token": await login(sam_client, "sam@example.com", PASSWORD)}
        listen = await sam_client.post(f"/api/interactions/{iid}/listen", headers=as_sam)
        assert listen.status == 202
        listener = (await eventually(lambda: _dialled(twilio, 3)))[2]
        sam = await core.pool.fetchval("SELECT id FROM users WHERE email = 'sam@example.com'")
        assert listener.form["To"] == f"client:agent-{sam}"
        room = twiml(listener.form["Twiml"]).find("Dial/Conference")
        assert room is not None
        assert (room.text, room.get("muted"), room.get("endConferenceOnExit")) == (
            f"cc-interaction-{iid}-1", "true", "false")

    assert await eventually(lambda: _timeline(core, iid, 6)) == [
        "Incoming call (support)", "Call connected to Dev Patel",
        "Transferred to another agent; the caller is on hold",
        "The caller waits on hold for the transfer", "Call connected to Eve Long",
        "Sam Boss is listening in"]
    assert dev != eve


_ROOM_ATTRS = 'beep="false" endConferenceOnExit="true" startConferenceOnEnter="false"'


async def _hung_up(twilio: Twilio, call_sid: str) -> bool:
    return any(r.form.get("Status") == "completed"
               for r in twilio.api.calls_to(f"/Calls/{call_sid}.json"))


async def _dialled(twilio: Twilio, count: int) -> list[Any] | None:
    placed = twilio.api.calls_to("/Calls.json")
    return placed if len(placed) >= count else None


async def test_listening_needs_a_connected_call(
    twilio: Twilio, core: Core, workspace_id: int
) -> None:
    await _staffed(core, workspace_id, "ana@example.com", {"sales": 5})
    await add_user(core, workspace_id, NewUser("sam@example.com", "Sam Boss", "supervisor",
                                               PASSWORD, {}))
    await _menu(twilio, Digits="1")
    iid: int = await core.pool.fetchval("SELECT id FROM interactions")
    headers = {"X-CSRF-Token": await login(twilio.client, "sam@example.com", PASSWORD)}
    waiting = await twilio.client.post(f"/api/interactions/{iid}/listen", headers=headers)
    assert (waiting.status, (await waiting.json())["error"]) == (409, "not_on_a_call")
