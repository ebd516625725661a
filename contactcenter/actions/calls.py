"""Phone calls: the caller's leg becomes an interaction in a queue; what happens to the call
(answered, bridged, ended, durations) goes into the interaction's timeline; a caller who hangs
up while waiting abandons; the end of a bridged call ends the conversation."""

from __future__ import annotations

from typing import Any

from contactcenter import events
from contactcenter.actions import work
from contactcenter.actions.intake import receive_inbound
from contactcenter.actions.timeline import add_event
from contactcenter.core import Core
from contactcenter.errors import Conflict
from contactcenter.events import Event
from contactcenter.models import Attachment, InboundMessage


def _clock(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


async def call_queued(core: Core, workspace_id: int, call_sid: str, caller: str, called: str,
                      queue: str | None, choice: str) -> tuple[int, bool]:
    """The caller chose (or did not): their call waits in a queue. (interaction, is it new).
    Asking twice (Twilio retrying the menu) changes nothing."""
    result = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="voice", sender=caller, provider_message_id=call_sid,
        body=f"Incoming call{f' ({choice})' if choice else ''}", queue=queue, our_address=called))
    async with core.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO calls (call_sid, workspace_id, interaction_id, leg, from_number,
                   to_number, status) VALUES ($1, $2, $3, 'customer', $4, $5, 'in-progress')
               ON CONFLICT (call_sid) DO NOTHING""",
            call_sid, workspace_id, result.interaction_id, caller, called)
    return result.interaction_id, not result.duplicate


async def call_of(core: Core, workspace_id: int, call_sid: str) -> dict[str, Any] | None:
    async with core.pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT c.call_sid, c.interaction_id, c.leg, c.conference, c.bridged_at,
                      c.from_number, c.to_number, i.state, i.agent_id
               FROM calls c LEFT JOIN interactions i ON i.id = c.interaction_id
               WHERE c.call_sid = $1 AND c.workspace_id = $2""", call_sid, workspace_id)
    return None if row is None else dict(row)


async def callback_requested(core: Core, workspace_id: int, call_sid: str) -> bool:
    """The waiting caller pressed 1: they may hang up and keep their place; the agent who
    accepts will be connected to a call placed to them. False if the call is not waiting."""
    async with core.pool.acquire() as conn:
        iid = await conn.fetchval(
            """UPDATE calls c SET callback_requested_at = now()
               FROM interactions i
               WHERE c.call_sid = $1 AND c.workspace_id = $2 AND i.id = c.interaction_id
                 AND i.state IN ('queued', 'offered') AND c.callback_requested_at IS NULL
               RETURNING c.interaction_id""", call_sid, workspace_id)
    if iid is None:
        return False
    await add_event(core, workspace_id, iid, "The caller asked to be called back")
    return True


async def claim_bridges(core: Core, workspace_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """Callers whose interaction an agent accepted and who are not yet bridged to them (on the
    line, or hung up waiting for a call back), claimed for this node (another node skips them),
    with how to reach the agent."""
    async with core.pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT c.call_sid, c.interaction_id, c.from_number, c.to_number, i.agent_id,
                      c.conference,
                      c.callback_requested_at IS NOT NULL AND c.ended_at IS NOT NULL AS callback,
                      u.display_name AS agent_name, u.phone AS agent_phone,
                      coalesce(u.client_identity, 'agent-' || u.id) AS agent_client
               FROM calls c JOIN interactions i ON i.id = c.interaction_id
               JOIN users u ON u.id = i.agent_id
               WHERE c.workspace_id = $1 AND c.leg = 'customer' AND c.bridged_at IS NULL
                 AND c.hold_requested_at IS NULL
                 AND (c.ended_at IS NULL OR c.callback_requested_at IS NOT NULL)
                 AND i.state = 'assigned'
               ORDER BY c.started_at LIMIT $2 FOR UPDATE OF c SKIP LOCKED""", workspace_id, limit)
        for row in rows:
            await conn.execute("UPDATE calls SET bridged_at = now() WHERE call_sid = $1",
                               row["call_sid"])
    return [dict(r) for r in rows]


async def bridged(core: Core, workspace_id: int, bridge: dict[str, Any], conference: str,
                  agent_call_sid: str, callback_call_sid: str | None = None) -> None:
    async with core.pool.acquire() as conn:
        await conn.execute("UPDATE calls SET conference = $2 WHERE call_sid = $1",
                           bridge["call_sid"], conference)
        if callback_call_sid is not None:  # the call placed to the customer is their leg now
            await conn.execute(
                """INSERT INTO calls (call_sid, workspace_id, interaction_id, leg, from_number,
                       to_number, status, conference, bridged_at)
                   VALUES ($1, $2, $3, 'customer', $4, $5, 'queued', $6, now())
                   ON CONFLICT (call_sid) DO NOTHING""",
                callback_call_sid, workspace_id, bridge["interaction_id"], bridge["to_number"],
                bridge["from_number"], conference)
        await conn.execute(
            """INSERT INTO calls (call_sid, workspace_id, interaction_id, leg, from_number,
                   to_number, status, conference) VALUES ($1, $2, $3, 'agent', $4, $5, 'queued', $6)
               ON CONFLICT (call_sid) DO NOTHING""",
            agent_call_sid, workspace_id, bridge["interaction_id"], bridge["to_number"],
            bridge["agent_phone"] or f"client:{bridge['agent_client']}", conference)
    await add_event(core, workspace_id, bridge["interaction_id"],
                    f"Calling the customer back for {bridge['agent_name']}" if callback_call_sid
                    else f"Call connected to {bridge['agent_name']}")


async def claim_holds(core: Core, workspace_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """Connected callers whose interaction was transferred, claimed for this node: each is to
    wait in the room of their transfer, and the agent legs still on the call are to be dropped."""
    async with core.pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """UPDATE calls c SET hold_requested_at = NULL
               FROM (SELECT call_sid FROM calls WHERE workspace_id = $1 AND leg = 'customer'
                       AND hold_requested_at IS NOT NULL AND ended_at IS NULL
                     ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
               WHERE c.call_sid = due.call_sid
               RETURNING c.call_sid, c.interaction_id, c.transfers,
                   ARRAY(SELECT a.call_sid FROM calls a WHERE a.interaction_id = c.interaction_id
                         AND a.leg = 'agent' AND a.ended_at IS NULL) AS agent_legs""",
            workspace_id, limit)
    return [dict(r) for r in rows]


async def held(core: Core, workspace_id: int, hold: dict[str, Any], room: str) -> None:
    async with core.pool.acquire() as conn:
        await conn.execute("UPDATE calls SET conference = $2 WHERE call_sid = $1",
                           hold["call_sid"], room)
    await add_event(core, workspace_id, hold["interaction_id"],
                    "The caller waits on hold for the transfer")


async def hold_failed(core: Core, workspace_id: int, hold: dict[str, Any], error: str) -> None:
    """Twilio refused: the next pass tries again, and the timeline says why meanwhile."""
    async with core.pool.acquire() as conn:
        await conn.execute("UPDATE calls SET hold_requested_at = now() WHERE call_sid = $1",
                           hold["call_sid"])
    await add_event(core, workspace_id, hold["interaction_id"],
                    f"Could not put the caller on hold for the transfer: {error}")


async def request_listen(core: Core, workspace_id: int, user_id: int, interaction_id: int) -> None:
    """A supervisor asks to listen to a connected call; the call bridger dials them in, muted."""
    async with core.pool.acquire() as conn, conn.transaction():
        connected = await conn.fetchval(
            """SELECT 1 FROM calls c JOIN interactions i ON i.id = c.interaction_id
               WHERE c.interaction_id = $1 AND c.workspace_id = $2 AND c.leg = 'customer'
                 AND c.ended_at IS NULL AND c.conference IS NOT NULL
                 AND i.state = 'assigned'""", interaction_id, workspace_id)
        if not connected:
            raise Conflict("not_on_a_call", f"interaction {interaction_id} is not a connected call")
        await conn.execute(
            """INSERT INTO call_listeners (workspace_id, interaction_id, user_id)
               VALUES ($1, $2, $3)""", workspace_id, interaction_id, user_id)


async def claim_listeners(core: Core, workspace_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """Supervisors to dial into calls that are connected now (not while a transfer holds the
    caller), claimed for this node, with how to reach them."""
    async with core.pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT l.id, l.interaction_id, c.conference, c.to_number,
                      u.display_name AS listener_name, u.phone AS listener_phone,
                      coalesce(u.client_identity, 'agent-' || u.id) AS listener_client
               FROM call_listeners l
               JOIN calls c ON c.interaction_id = l.interaction_id AND c.leg = 'customer'
                 AND c.ended_at IS NULL AND c.conference IS NOT NULL
                 AND c.bridged_at IS NOT NULL AND c.hold_requested_at IS NULL
               JOIN users u ON u.id = l.user_id
               WHERE l.workspace_id = $1 AND l.dialled_at IS NULL
               ORDER BY l.id LIMIT $2 FOR UPDATE OF l SKIP LOCKED""", workspace_id, limit)
        await conn.execute("UPDATE call_listeners SET dialled_at = now() WHERE id = ANY($1::bigint[])",
                           [r["id"] for r in rows])
    return [dict(r) for r in rows]


async def listening(core: Core, workspace_id: int, listener: dict[str, Any], call_sid: str) -> None:
    async with core.pool.acquire() as conn:
        await conn.execute("UPDATE call_listeners SET call_sid = $2 WHERE id = $1",
                           listener["id"], call_sid)
        await conn.execute(
            """INSERT INTO calls (call_sid, workspace_id, interaction_id, leg, from_number,
                   to_number, status, conference) VALUES ($1, $2, $3, 'supervisor', $4, $5, 'queued', $6)
               ON CONFLICT (call_sid) DO NOTHING""",
            call_sid, workspace_id, listener["interaction_id"], listener["to_number"],
            listener["listener_phone"] or f"client:{listener['listener_client']}",
            listener["conference"])
    await add_event(core, workspace_id, listener["interaction_id"],
                    f"{listener['listener_name']} is listening in")


async def listen_failed(core: Core, workspace_id: int, listener: dict[str, Any], error: str) -> None:
    """The supervisor could not be dialled; they may ask again."""
    await add_event(core, workspace_id, listener["interaction_id"],
                    f"Could not connect {listener['listener_name']} to listen in: {error}")


async def bridge_failed(core: Core, workspace_id: int, bridge: dict[str, Any], error: str) -> None:
    """The agent could not be dialled: the caller keeps waiting and a later pass tries again."""
    async with core.pool.acquire() as conn:
        await conn.execute("UPDATE calls SET bridged_at = NULL WHERE call_sid = $1",
                           bridge["call_sid"])
    await add_event(core, workspace_id, bridge["interaction_id"],
                    f"Could not connect the call to {bridge['agent_name']}: {error}")


async def call_progress(core: Core, workspace_id: int, call_sid: str, status: str) -> None:
    """Ringing and answered, for the legs we placed (the agent's, a call back): once each, in
    the timeline."""
    async with core.pool.acquire() as conn:
        row = await conn.fetchrow(
            """UPDATE calls c SET status = $2 FROM users u, interactions i
               WHERE c.call_sid = $1 AND c.workspace_id = $3 AND c.status <> $2
                 AND c.leg IN ('agent', 'customer')
                 AND c.ended_at IS NULL AND i.id = c.interaction_id AND u.id = i.agent_id
               RETURNING c.interaction_id, c.leg, u.display_name""",
            call_sid, "ringing" if status == "ringing" else "answered", workspace_id)
    if row is None:
        return
    who = row["display_name"] if row["leg"] == "agent" else "the customer"
    await add_event(core, workspace_id, row["interaction_id"],
                    f"Ringing {who}" if status == "ringing" else f"Answered by {who}")


async def call_ended(core: Core, workspace_id: int, call_sid: str, status: str,
                     duration_seconds: int | None) -> None:
    """Twilio says the call is over. A caller still waiting abandons (their offer, if any, is
    rescinded); a call with an agent ends the conversation, and wrap-up follows."""
    async with core.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """UPDATE calls SET status = $2, ended_at = coalesce(ended_at, now()),
                   duration_seconds = coalesce($3, duration_seconds)
               WHERE call_sid = $1 AND workspace_id = $4 AND ended_at IS NULL
               RETURNING interaction_id, leg, bridged_at, callback_requested_at""",
            call_sid, status, duration_seconds, workspace_id)
        if row is None or row["interaction_id"] is None:
            return  # unknown, or already ended: a repeated callback changes nothing
        iid = row["interaction_id"]
        state = await conn.fetchrow("SELECT state, agent_id FROM interactions WHERE id = $1", iid)
        logged = await events.record(conn, Event(
            "call.ended", workspace_id, {"call_sid": call_sid, "leg": row["leg"],
                                         "status": status, "duration": duration_seconds},
            interaction_id=iid))
    await events.publish(core.redis, [logged])
    if row["leg"] != "customer":
        whose = "The agent's line" if row["leg"] == "agent" else "Listening in"
        if duration_seconds is not None:
            await add_event(core, workspace_id, iid,
                            f"{whose} ended ({status}) after {_clock(duration_seconds)}")
        return
    length = f" after {_clock(duration_seconds)}" if duration_seconds is not None else ""
    await add_event(core, workspace_id, iid, f"Call ended ({status}){length}")
    if state["state"] in ("queued", "offered") and row["callback_requested_at"] is None:
        await work.customer_left(core, workspace_id, iid)
    elif state["state"] == "assigned" and state["agent_id"] is not None:
        await work.request(core, workspace_id, state["agent_id"], iid, "interaction.completed")


async def voicemail_left(core: Core, workspace_id: int, caller: str, called: str,
                         recording_sid: str, recording_url: str, seconds: int,
                         queue: str | None) -> int:
    """The recording becomes a voicemail interaction, routed and worked like an email (once per
    RecordingSid)."""
    result = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="voicemail", sender=caller, queue=queue,
        body=f"Voicemail ({_clock(seconds)})", provider_message_id=recording_sid,
        our_address=called or None,
        attachments=(Attachment("audio/mpeg", url=f"{recording_url}.mp3",
                                filename=f"{recording_sid}.mp3"),)))
    return result.interaction_id


async def voicemail_transcribed(core: Core, workspace_id: int, caller: str, recording_sid: str,
                                text: str) -> None:
    """Twilio's transcription joins the voicemail as a message of its own."""
    await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="voicemail", sender=caller,
        body=f"Transcription: {text}", provider_message_id=f"{recording_sid}:transcription"))
