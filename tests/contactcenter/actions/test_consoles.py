"""Console connections on a real Redis: the router hears only the first open and the last close,
in the order they happened."""

from __future__ import annotations

from typing import Any

from contactcenter.actions import consoles
from contactcenter.core import Core
from contactcenter.events import stream_key


async def _heard(core: Core) -> list[tuple[str, str]]:
    entries: Any = await core.redis.xrange(stream_key(1))
    return [(f[b"kind"].decode(), f[b"actor_user_id"].decode()) for _, f in entries]


async def test_only_the_first_open_and_the_last_close_are_heard(core: Core) -> None:
    assert await consoles.console_seen(core, 1, 7, "tab-a") == 1
    assert await consoles.console_seen(core, 1, 7, "tab-b") == 2
    assert await consoles.console_seen(core, 1, 7, "tab-a") == 2  # a renewal
    assert await consoles.console_closed(core, 1, 7, "tab-a") == 1
    assert await _heard(core) == [("agent.reconnected", "7")]
    assert await consoles.console_closed(core, 1, 7, "tab-b") == 0
    assert await consoles.console_closed(core, 1, 7, "tab-b") == 0  # closing twice: once heard
    assert await _heard(core) == [("agent.reconnected", "7"), ("agent.disconnected", "7")]


async def test_a_reload_is_never_heard_as_gone(core: Core) -> None:
    """The new page's console opens before the old one's close is processed."""
    await consoles.console_seen(core, 1, 7, "old")
    await consoles.console_seen(core, 1, 7, "new")
    await consoles.console_closed(core, 1, 7, "old")
    assert [kind for kind, _ in await _heard(core)] == ["agent.reconnected"]


async def test_a_console_that_went_silent_no_longer_counts(core: Core) -> None:
    """Its node died without closing it: the next console of the agent is a reconnect."""
    await consoles.console_seen(core, 1, 7, "on-a-dead-node")
    await core.redis.zadd("cc:ws:1:consoles:7", {"on-a-dead-node": 1.0})  # long expired
    assert await consoles.console_seen(core, 1, 7, "fresh") == 1
    assert [kind for kind, _ in await _heard(core)] == ["agent.reconnected", "agent.reconnected"]
