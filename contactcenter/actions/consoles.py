"""Which agents have a console open, for the router's disconnect grace period.

Each open console socket is a member of a per-agent sorted set in Redis, scored by when it
stops counting unless renewed (a node that dies cannot say its sockets closed). When an
agent's count goes from zero to some, the router hears `agent.reconnected`; from some to zero,
`agent.disconnected`. The count and the event are changed in one Lua script, so two consoles
opening and closing at the same moment (a reload) can never reach the router in the wrong
order and leave a connected agent counted as gone. This state is Redis's alone (rebuilt as
consoles renew), so the event goes straight to the workspace's stream, not the event log.
"""

from __future__ import annotations

import time

from contactcenter.core import Core
from contactcenter.events import STREAM_MAXLEN, stream_key

# A console counts as open while it keeps saying so; one silent this long is gone.
CONSOLE_SILENCE_SECONDS = 90

_TRACK = """
local consoles, stream = KEYS[1], KEYS[2]
local now, member, action = tonumber(ARGV[1]), ARGV[2], ARGV[3]
redis.call('zremrangebyscore', consoles, '-inf', now)
local before = redis.call('zcard', consoles)
if action == 'close' then
  redis.call('zrem', consoles, member)
else
  redis.call('zadd', consoles, now + tonumber(ARGV[4]), member)
  redis.call('expire', consoles, tonumber(ARGV[4]))
end
local after = redis.call('zcard', consoles)
local kind = nil
if before == 0 and after > 0 then kind = 'agent.reconnected' end
if before > 0 and after == 0 then kind = 'agent.disconnected' end
if kind then
  redis.call('xadd', stream, 'MAXLEN', '~', ARGV[6], '*', 'id', '', 'kind', kind,
             'interaction_id', '', 'customer_id', '', 'actor_user_id', ARGV[5], 'data', '{}')
end
return after
"""


def _consoles_key(workspace_id: int, user_id: int) -> str:
    return f"cc:ws:{workspace_id}:consoles:{user_id}"


async def _track(core: Core, workspace_id: int, user_id: int, connection: str, action: str) -> int:
    count = await core.redis.eval(
        _TRACK, 2, _consoles_key(workspace_id, user_id), stream_key(workspace_id),
        time.time(), connection, action, CONSOLE_SILENCE_SECONDS, user_id, STREAM_MAXLEN)
    return int(count)


async def console_seen(core: Core, workspace_id: int, user_id: int, connection: str) -> int:
    """A console socket opened, or says it is still open. Returns the agent's open consoles."""
    return await _track(core, workspace_id, user_id, connection, "seen")


async def console_closed(core: Core, workspace_id: int, user_id: int, connection: str) -> int:
    """A console socket closed. When it was the agent's last, the router starts the grace
    period: offers are rescinded, and the agent goes offline unless a console returns."""
    return await _track(core, workspace_id, user_id, connection, "close")


async def offers_delivered(core: Core, workspace_id: int, user_id: int,
                           interaction_ids: list[int]) -> None:
    """A console of the agent's was sent these offers: from now on, leaving one unanswered
    counts as missed (an offer the router could not get to any console does not)."""
    if not interaction_ids:
        return
    async with core.redis.pipeline(transaction=False) as pipe:
        for iid in interaction_ids:
            pipe.xadd(stream_key(workspace_id), {
                "id": "", "kind": "offer.delivered", "interaction_id": iid, "customer_id": "",
                "actor_user_id": user_id, "data": "{}"}, maxlen=STREAM_MAXLEN, approximate=True)
        await pipe.execute()
