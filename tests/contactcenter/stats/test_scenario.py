"""A scripted morning with known answers: every live and historical figure, exactly.

Day 2026-11-23 (UTC, the workspace's time zone); the live board is read at 12:00.
Sales (threshold 20 s):  A chat 09:00:00 answered +10 s by Ana, wrap-up 09:05:00, ended 09:05:30
                         B voice 09:10:00 Ben misses, answered +30 s by Ben, ended 09:16:00
                         C chat 09:20:00 abandoned after 3 s (short)
                         D voice 09:40:00 abandoned after 60 s
                         E email 11:50:00 still waiting
                         F chat 11:55:00 answered +5 s by Ana, open
Support (threshold 30 s): G sms 10:00:00 refused (closed)
                         H voice 10:30:00 answered +20 s by Cy, in wrap-up since 10:40:00
Presence: Ana and Ben available at 08:00, Ben away (lunch) at 11:00, Cy available at 10:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from contactcenter.actions.users import NewUser, add_user
from contactcenter.core import Core
from contactcenter.crm import cases
from contactcenter.stats import history, live
from routing import erlang
from tests.contactcenter.stats.rows import past_interaction

DAY = datetime(2026, 11, 23, tzinfo=UTC)
NOW = DAY.replace(hour=12)


def at(hhmmss: str) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return DAY.replace(hour=h, minute=m, second=s)


async def _interaction(conn: asyncpg.Connection, ws: int, queue: str, channel: str,
                       queued: str, *, agent: int | None = None, answered: str | None = None,
                       wrapup: str | None = None, ended: str | None = None,
                       outcome: str | None = None) -> int:
    def time(hhmmss: str | None) -> datetime | None:
        return at(hhmmss) if hhmmss else None
    return await past_interaction(
        conn, ws, queue, channel, at(queued), customer=f"Customer {queued}", agent=agent,
        answered=time(answered), wrapup=time(wrapup), ended=time(ended), outcome=outcome)


async def _decision(conn: asyncpg.Connection, ws: int, kind: str, iid: int, agent: int,
                    when: str, outcome: str = "") -> None:
    await conn.execute(
        """INSERT INTO routing_decisions (workspace_id, interaction_id, agent_id, kind, outcome,
               fence, at) VALUES ($1, $2, $3, $4, $5, 1, $6)""",
        ws, iid, agent, kind, outcome, at(when))


async def _presence(conn: asyncpg.Connection, ws: int, agent: int, presence: str, when: str,
                    reason: str = "") -> None:
    await conn.execute(
        """INSERT INTO event_log (workspace_id, kind, actor_user_id, data, at)
           VALUES ($1, 'agent.presence', $2, $3, $4)""",
        ws, agent, {"presence": presence, "reason": reason}, at(when))
    await conn.execute(
        """INSERT INTO agent_presence (user_id, workspace_id, presence, reason, updated_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE
           SET presence = excluded.presence, reason = excluded.reason,
               updated_at = excluded.updated_at""", agent, ws, presence, reason, at(when))


@pytest.fixture
async def morning(core: Core, workspace_id: int) -> dict[str, int]:
    ws = workspace_id
    people = {}
    for key, name, skills in (("ana", "Ana Alvarez", {"sales": 7}),
                              ("ben", "Ben Brooks", {"sales": 5}),
                              ("cy", "Cy Chen", {"support": 3})):
        people[key] = await add_user(core, ws, NewUser(f"{key}@example.com", name, "agent",
                                                       "correct horse battery", skills))
    ana, ben, cy = people["ana"], people["ben"], people["cy"]
    async with core.pool.acquire() as conn:
        await _presence(conn, ws, ana, "available", "08:00:00")
        await _presence(conn, ws, ben, "available", "08:00:00")
        await _presence(conn, ws, cy, "available", "10:00:00")
        await _presence(conn, ws, ben, "away", "11:00:00", "lunch")
        a = await _interaction(conn, ws, "sales", "chat", "09:00:00", agent=ana,
                               answered="09:00:10", wrapup="09:05:00", ended="09:05:30",
                               outcome="completed")
        b = await _interaction(conn, ws, "sales", "voice", "09:10:00", agent=ben,
                               answered="09:10:30", wrapup="09:15:00", ended="09:16:00",
                               outcome="completed")
        await _interaction(conn, ws, "sales", "chat", "09:20:00", ended="09:20:03",
                           outcome="abandoned")
        await _interaction(conn, ws, "sales", "voice", "09:40:00", ended="09:41:00",
                           outcome="abandoned")
        await _interaction(conn, ws, "sales", "email", "11:50:00")
        f = await _interaction(conn, ws, "sales", "chat", "11:55:00", agent=ana,
                               answered="11:55:05")
        await _interaction(conn, ws, "support", "sms", "10:00:00", ended="10:00:00",
                           outcome="refused")
        h = await _interaction(conn, ws, "support", "voice", "10:30:00", agent=cy,
                               answered="10:30:20", wrapup="10:40:00")
        for kind, iid, agent, when, outcome in (
                ("Offered", a, ana, "09:00:05", ""), ("Assigned", a, ana, "09:00:10", ""),
                ("Offered", b, ben, "09:10:00", ""),
                ("OfferEnded", b, ben, "09:10:20", "timed_out"),
                ("Offered", b, ben, "09:10:25", ""), ("Assigned", b, ben, "09:10:30", ""),
                ("Offered", f, ana, "11:55:02", ""), ("Assigned", f, ana, "11:55:05", ""),
                ("Offered", h, cy, "10:30:15", ""), ("Assigned", h, cy, "10:30:20", "")):
            await _decision(conn, ws, kind, iid, agent, when, outcome)
        customer = await conn.fetchval("SELECT customer_id FROM interactions WHERE id = $1", a)
        case, _ = await cases.open_case(conn, core.config, ws, None, customer, "Wrong size")
        await conn.execute("UPDATE cases SET team = 'sales', owner_user_id = $2 WHERE id = $1",
                           case, ana)
        await conn.execute(
            """INSERT INTO sla_breaches (workspace_id, case_id, target, due_at, breached_at)
               VALUES ($1, $2, 'first_response', $3, $3)""", ws, case, at("11:30:00"))
    return people


def _queue(board: dict[str, Any], name: str) -> dict[str, Any]:
    return next(q for q in board["queues"] if q["name"] == name)


async def test_the_live_board_gives_every_figure_exactly(
    core: Core, workspace_id: int, morning: dict[str, int]
) -> None:
    async with core.pool.acquire() as conn:
        board = await live.board(conn, workspace_id, core.config, NOW)

    sales = _queue(board, "sales")
    assert {k: sales[k] for k in ("offered", "answered", "answered_within", "abandoned",
                                  "short_abandoned", "refused", "handled", "waiting")} == {
        "offered": 6, "answered": 3, "answered_within": 2, "abandoned": 2, "short_abandoned": 1,
        "refused": 0, "handled": 2, "waiting": 1}
    assert sales["service_level"] == pytest.approx(2 / 3)
    assert sales["service_level_with_abandons"] == pytest.approx(2 / 4)
    assert sales["asa_seconds"] == pytest.approx((10 + 30 + 5) / 3)
    assert sales["aht_seconds"] == pytest.approx((320 + 330) / 2)
    assert sales["abandon_rate"] == pytest.approx(1 / 5)
    assert sales["oldest_since"] == at("11:50:00").isoformat()
    assert sales["oldest_wait_seconds"] == 600
    assert [w["channel"] for w in board["waiting"]] == ["email"]
    assert board["waiting_total"] == 1
    assert sales["agents"] == {"available": 0, "busy": 1, "wrapup": 0, "away": 1, "offline": 0,
                               "staffed": 2}
    assert sales["occupancy"] == 1.0
    load = 2 / 1800 * 325
    assert sales["staffing"] == {
        "arrival_rate": pytest.approx(2 / 1800), "aht_seconds": pytest.approx(325),
        "load": pytest.approx(load), "needed": erlang.agents_needed(load, 325, 20, 0.8),
        "predicted_service_level": pytest.approx(erlang.service_level(1, load, 325, 20))}

    support = _queue(board, "support")
    assert (support["offered"], support["answered"], support["refused"], support["handled"]) \
        == (2, 1, 1, 0)
    assert support["service_level"] == 1.0
    assert support["asa_seconds"] == 20
    assert support["aht_seconds"] is None
    assert support["abandon_rate"] == 0
    assert support["agents"]["wrapup"] == 1
    assert support["waiting"] == 0
    billing = _queue(board, "billing")
    assert billing["offered"] == 0
    assert billing["service_level"] is None

    channels = {c["name"]: c for c in board["channels"]}
    assert set(channels) == {"chat", "voice", "email", "sms"}
    chat, voice = channels["chat"], channels["voice"]
    assert (chat["offered"], chat["answered"], chat["answered_within"], chat["short_abandoned"]) \
        == (3, 2, 2, 1)
    assert chat["service_level_with_abandons"] == 1.0
    assert chat["abandon_rate"] == 0
    assert chat["aht_seconds"] == 320
    assert chat["agents"] == {"staffed": 3, "available": 0, "busy": 1, "wrapup": 0, "away": 1}
    assert voice["agents"] == {"staffed": 3, "available": 0, "busy": 0, "wrapup": 1, "away": 1}
    # Ana's chat leaves room in her budget for an email; Cy's call leaves room for nothing.
    assert channels["email"]["agents"]["available"] == 1
    assert channels["email"]["occupancy"] == 0
    # Each interaction is held to its own queue's threshold: B waited 30 s (sales: 20), H 20 s
    # (support: 30).
    assert (voice["offered"], voice["answered"], voice["answered_within"]) == (3, 2, 1)
    assert voice["service_level_with_abandons"] == pytest.approx(1 / 3)
    assert voice["asa_seconds"] == 25
    assert voice["abandon_rate"] == pytest.approx(1 / 3)
    assert channels["email"]["waiting"] == 1
    assert channels["sms"]["refused"] == 1

    agents = {a["name"]: a for a in board["agents"]}
    ana, ben, cy = agents["Ana Alvarez"], agents["Ben Brooks"], agents["Cy Chen"]
    assert (ana["state"], ana["since"]) == ("busy", at("11:55:05").isoformat())
    assert [w["channel"] for w in ana["interactions"]] == ["chat"]
    assert (ana["handled_today"], ana["aht_seconds"], ana["missed_offers"]) == (1, 320, 0)
    assert ana["occupancy"] == pytest.approx((320 + 295) / (4 * 3600))
    assert (ben["state"], ben["reason"], ben["since"]) == ("away", "lunch",
                                                           at("11:00:00").isoformat())
    assert (ben["handled_today"], ben["missed_offers"]) == (1, 1)
    assert ben["occupancy"] == pytest.approx(330 / (3 * 3600))
    assert (cy["state"], cy["since"]) == ("wrapup", at("10:40:00").isoformat())
    assert cy["occupancy"] == pytest.approx((3600 + 1780) / (2 * 3600))

    kinds = [(a["kind"], a.get("queue") or a.get("case_id")) for a in board["alerts"]]
    assert ("oldest_wait", "sales") in kinds
    assert ("service_level", "sales") in kinds
    assert any(k == "sla_breached" for k, _ in kinds)
    assert ("service_level", "support") not in kinds
    assert [a["severity"] for a in board["alerts"]] == sorted(
        (a["severity"] for a in board["alerts"]), key=["bad", "warn"].index)


async def test_interval_reports_split_the_same_morning_by_hour(
    core: Core, workspace_id: int, morning: dict[str, int]
) -> None:
    period = history.check_period(at("08:00:00"), NOW, "60")
    async with core.pool.acquire() as conn:
        queues = await history.report(conn, workspace_id, core.config, period, "queue")
        agents = await history.report(conn, workspace_id, core.config, period, "agent")
    rows = {(r["start"][11:16], r["key"]): r for r in queues}
    assert set(rows) == {("09:00", "sales"), ("10:00", "support"), ("11:00", "sales")}
    nine = rows[("09:00", "sales")]
    assert (nine["offered"], nine["answered"], nine["abandoned"], nine["short_abandoned"]) \
        == (4, 2, 2, 1)
    assert nine["service_level"] == 0.5
    assert nine["abandon_rate"] == pytest.approx(1 / 3)
    assert nine["asa_seconds"] == 20
    assert nine["aht_seconds"] == 325
    assert rows[("11:00", "sales")]["answered"] == 1
    # The case with the sales team breached at 11:30; it counts there and for its owner.
    assert [(k, r["sla_breaches"]) for k, r in sorted(rows.items())] == [
        (("09:00", "sales"), 0), (("10:00", "support"), 0), (("11:00", "sales"), 1)]
    assert rows[("11:00", "sales")]["service_level"] == 1.0

    by_agent = {(r["start"][11:16], r["name"]): r for r in agents}
    ana_nine = by_agent[("09:00", "Ana Alvarez")]
    assert (ana_nine["offers"], ana_nine["accepted"], ana_nine["handled"]) == (1, 1, 1)
    assert ana_nine["busy_seconds"] == 320
    assert ana_nine["idle_seconds"] == 3600 - 320
    assert by_agent[("08:00", "Ana Alvarez")]["occupancy"] == 0
    ben_nine = by_agent[("09:00", "Ben Brooks")]
    assert (ben_nine["offers"], ben_nine["missed"], ben_nine["accepted"]) == (2, 1, 1)
    assert ("11:00", "Ben Brooks") not in by_agent  # away: neither busy nor idle
    assert by_agent[("11:00", "Ana Alvarez")]["sla_breaches"] == 1
    assert by_agent[("09:00", "Ana Alvarez")]["sla_breaches"] == 0
    cy_ten = by_agent[("10:00", "Cy Chen")]
    assert cy_ten["busy_seconds"] == 3600 - 30 * 60 - 20
    assert cy_ten["occupancy"] == pytest.approx((1800 - 20) / 3600)

    csv_text = history.to_csv(queues)
    lines = csv_text.splitlines()
    assert lines[0].startswith("start,key,name,offered,answered")
    assert len(lines) == 4
    assert ",sales,Sales,4,2," in lines[1]


async def test_days_follow_the_workspace_time_zone(
    core: Core, workspace_id: int, morning: dict[str, int]
) -> None:
    """In New York the morning (UTC 09:00-12:00) is 04:00-07:00 on the same local day."""
    config = core.config.model_copy(update={"workspace": core.config.workspace.model_copy(
        update={"timezone": "America/New_York"})})
    period = history.check_period(DAY - timedelta(days=1), DAY + timedelta(days=2), "day")
    async with core.pool.acquire() as conn:
        rows = await history.report(conn, workspace_id, config, period, "channel")
    assert {r["start"] for r in rows} == {"2026-11-23T05:00:00+00:00"}
    assert sum(r["offered"] for r in rows) == 8
