"""An email typed in the chat's pre-chat form is a claim, not an identity: a stranger who types a
known customer's address sees nothing of theirs; a code mailed to the address (a real SMTP
server) or an agent's merge is what links the records."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contactcenter.actions import receive_inbound
from contactcenter.actions.chat import CODE_MAX_TRIES
from contactcenter.core import Core
from contactcenter.models import InboundMessage
from contactcenter.settings import MailServer, Settings
from contactcenter.web.app import create_app
from tests.conftest import PASSWORD, AiohttpClient
from tests.live import eventually, frames_until, is_type, login, say, start_chat
from tests.smtp import SmtpInbox, running_smtp

VICTIM = "priya@example.com"


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    with running_smtp() as inbox:
        yield inbox


@pytest.fixture
async def mailing_client(aiohttp_client: AiohttpClient, settings: Settings, core: Core,
                         smtp_inbox: SmtpInbox) -> TestClient[Any, Any]:
    """The server able to mail (SMTP configured), as codes need."""
    env = replace(settings.env, smtp=MailServer("127.0.0.1", smtp_inbox.port, "", "", "none"),
                  email_address="support@northwind.test")
    assert env.database_url is not None
    assert env.redis_url is not None
    return await aiohttp_client(create_app(replace(settings, env=env), env.database_url,
                                           env.redis_url))


async def _victim(core: Core, workspace_id: int) -> int:
    """A customer with a conversation an agent has answered."""
    got = await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="email", sender="Priya@Example.com",
        body="My card number ends 4242; please refund", provider_message_id="<p1@example.com>"))
    await core.pool.execute(
        """INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
               delivery_status) VALUES ($1, $2, 'email', 'outbound', 'Refund approved', 'sent')""",
        workspace_id, got.interaction_id)
    return got.customer_id


async def test_typing_a_known_customers_email_opens_a_conversation_of_ones_own(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    victim = await _victim(core, workspace_id)
    await core.pool.execute("UPDATE customers SET display_name = 'Priya Natarajan' WHERE id = $1",
                            victim)
    ws = await client.ws_connect("/chat/ws")
    await ws.send_json({"type": "hello"})
    await frames_until(ws, is_type("profile_needed"))
    await ws.send_json({"type": "start", "name": "Mallory", "email": "PRIYA@example.com"})
    started = (await frames_until(ws, is_type("started")))[-1]
    assert started["verify_email"] is None  # this server cannot mail: only an agent can link
    snapshot = (await frames_until(ws, is_type("snapshot")))[-1]["state"]
    assert snapshot["name"] == "Mallory"
    assert snapshot["conversation"] is None
    assert snapshot["unverified_email"] == VICTIM
    sent = (await say(ws, "I am Priya, what did you send me?", "m1"))["message"]
    mine = await core.pool.fetchval("SELECT customer_id FROM interactions WHERE id = $1",
                                    sent["interaction_id"])
    assert mine != victim
    # The victim's record is untouched: the address stays theirs alone, no chat identity added.
    kinds = await core.pool.fetch(
        "SELECT kind, address FROM customer_identities WHERE customer_id = $1", victim)
    assert [(r["kind"], r["address"]) for r in kinds] == [("email", VICTIM)]
    # A later answer to the victim reaches neither this socket nor its snapshot.
    await receive_inbound(core, InboundMessage(
        workspace_id=workspace_id, channel="chat",
        sender=await core.pool.fetchval(
            "SELECT address FROM customer_identities WHERE customer_id = $1 AND kind = 'chat'",
            mine), body="second", provider_message_id="m2-x"))
    await ws.close()
    again = await client.ws_connect("/chat/ws")
    await again.send_json({"type": "hello", "token": started["token"]})
    state = (await frames_until(again, is_type("snapshot")))[-1]["state"]
    bodies = [m["body"] for m in state["conversation"]["messages"]]
    assert "Refund approved" not in bodies
    assert "My card number ends 4242; please refund" not in bodies
    await again.close()


async def test_an_agent_sees_the_claim_and_links_the_records_by_merging(
    client: TestClient[Any, Any], core: Core, workspace_id: int, agent: str
) -> None:
    victim = await _victim(core, workspace_id)
    ws, token, _ = await start_chat(client, name="Priya", email=VICTIM)
    iid = (await say(ws, "hello, it's me", "a"))["message"]["interaction_id"]
    visitor = await core.pool.fetchval("SELECT customer_id FROM interactions WHERE id = $1", iid)
    headers = {"X-CSRF-Token": await login(client, agent, PASSWORD)}
    me = (await (await client.get("/api/me")).json())["user"]["id"]
    await core.pool.execute(  # the agent is working the chat (docs/access.md: who merges)
        "UPDATE interactions SET state = 'assigned', agent_id = $2 WHERE id = $1", iid, me)
    found = await (await client.get(f"/api/customers/{visitor}/duplicates")).json()
    assert {"id": victim, "name": "", "reasons": [
        "their email, as typed in chat (not verified)"]} in found["duplicates"]
    resp = await client.post(f"/api/customers/{victim}/merge", json={"merge": visitor},
                             headers=headers)
    assert resp.status == 200, await resp.text()
    await ws.close()
    back = await client.ws_connect("/chat/ws")  # the same browser, after the agent's decision
    await back.send_json({"type": "hello", "token": token})
    await frames_until(back, is_type("snapshot"))
    assert (await say(back, "still me", "b"))["message"]["interaction_id"] == iid
    assert await core.pool.fetchval("SELECT customer_id FROM interactions WHERE id = $1",
                                    iid) == victim
    await back.close()


def _code(inbox: SmtpInbox, to: str) -> str:
    mail = next(m for m in reversed(inbox.received) if m["To"] == to)
    found = re.search(r"code is (\d{6})", mail.get_body().get_content())
    assert found is not None
    return found.group(1)


async def test_the_code_mailed_to_the_address_proves_it_and_links_the_records(
    mailing_client: TestClient[Any, Any], core: Core, workspace_id: int, smtp_inbox: SmtpInbox
) -> None:
    victim = await _victim(core, workspace_id)
    ws = await mailing_client.ws_connect("/chat/ws")
    await ws.send_json({"type": "hello"})
    await frames_until(ws, is_type("profile_needed"))
    await ws.send_json({"type": "start", "name": "Priya", "email": VICTIM})
    assert (await frames_until(ws, is_type("started")))[-1]["verify_email"] == VICTIM
    await frames_until(ws, is_type("snapshot"))
    iid = (await say(ws, "hello", "h"))["message"]["interaction_id"]
    code = await eventually(lambda: _async(lambda: _code(smtp_inbox, VICTIM)))
    assert code
    await ws.send_json({"type": "verify_email", "code": "000000" if code != "000000" else "111111"})
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "wrong_code"
    await ws.send_json({"type": "verify_email", "code": code})
    await frames_until(ws, is_type("email_verified"))
    snapshot = (await frames_until(ws, is_type("snapshot")))[-1]["state"]
    assert snapshot["conversation"]["interaction_id"] == iid
    assert snapshot["unverified_email"] is None
    assert await core.pool.fetchval("SELECT customer_id FROM interactions WHERE id = $1",
                                    iid) == victim
    merge = await core.pool.fetchrow(
        "SELECT actor_user_id, details FROM audit_log WHERE action = 'customer.merge'")
    assert merge["actor_user_id"] is None  # the customer's own proof, undoable like any merge
    assert merge["details"]["survivor"] == victim
    await ws.close()


async def test_wrong_codes_run_out_and_codes_are_not_mailed_on_demand(
    mailing_client: TestClient[Any, Any], core: Core, smtp_inbox: SmtpInbox
) -> None:
    ws, _, _ = await start_chat(mailing_client, name="Mallory", email=VICTIM)
    code = await eventually(lambda: _async(lambda: _code(smtp_inbox, VICTIM)))
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(CODE_MAX_TRIES):
        assert await _verify(ws, wrong) == "wrong_code"
    assert await _verify(ws, code) == "too_many_tries"  # too late, even if right
    await ws.send_json({"type": "send_code"})  # a stranger's inbox is not ours to flood
    assert (await frames_until(ws, is_type("error")))[-1]["error"] == "code_recently_sent"
    assert len(smtp_inbox.received) == 1
    assert await core.pool.fetchval(
        "SELECT count(*) FROM customer_identities WHERE address = $1", VICTIM) == 0
    await ws.close()


async def _verify(ws: Any, code: str) -> str:
    """Send a code as the widget would, waiting out the socket's rate limit; the error code."""
    while True:
        await ws.send_json({"type": "verify_email", "code": code})
        error: str = (await frames_until(ws, is_type("error")))[-1]["error"]
        if error != "rate_limited":
            return error
        await asyncio.sleep(0.5)


async def _async(check: Any) -> Any:
    try:
        return check()
    except StopIteration:
        return None
