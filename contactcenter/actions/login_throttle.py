"""Slowing down password guessing: failed logins are counted per account and per client
address, and past a few free tries each new failure locks that account or address out for a
while, doubling each time (capped). While locked, even the right password gets 429 with a
Retry-After, so that the 200th guess is as useless as the 6th.

A lock on an account can be caused by someone who is not its owner: that is the price of
making guessing slow, and why the lock is short at first and never longer than FORGET_AFTER.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Literal

import asyncpg

from contactcenter.errors import Busy

Scope = Literal["account", "address"]
FREE_TRIES: dict[Scope, int] = {"account": 5, "address": 20}
MAX_LOCK_SECONDS = 15 * 60
# Failures older than this (since the last one) are forgotten.
FORGET_AFTER = timedelta(minutes=15)


def lock_seconds(scope: Scope, failures: int) -> int:
    """How long the `failures`-th failure in a row locks the account or address out."""
    over = failures - FREE_TRIES[scope]
    if over < 0:
        return 0
    return min(MAX_LOCK_SECONDS, int(2 ** min(over, 20)))


async def check(conn: asyncpg.Connection, workspace_id: int, account: str, address: str) -> None:
    """Busy (429) when the account or the address is locked out now."""
    wait = await conn.fetchval(
        """SELECT max(extract(epoch FROM locked_until - now())) FROM login_failures
           WHERE workspace_id = $1 AND locked_until > now()
             AND ((scope = 'account' AND key = $2) OR (scope = 'address' AND key = $3))""",
        workspace_id, account, address)
    if wait is not None:
        raise Busy("too_many_attempts", "too many failed logins: try again in "
                   f"{math.ceil(wait)} s", retry_after=math.ceil(wait))


async def failed(conn: asyncpg.Connection, workspace_id: int, account: str, address: str) -> None:
    keys: tuple[tuple[Scope, str], ...] = (("account", account), ("address", address))
    for scope, key in keys:
        failures: int = await conn.fetchval(
            """INSERT INTO login_failures AS f (workspace_id, scope, key, failures)
               VALUES ($1, $2, $3, 1)
               ON CONFLICT (workspace_id, scope, key) DO UPDATE SET
                   failures = CASE WHEN f.last_at < now() - $4::interval THEN 1
                                   ELSE f.failures + 1 END,
                   first_at = CASE WHEN f.last_at < now() - $4::interval THEN now()
                                   ELSE f.first_at END,
                   last_at = now()
               RETURNING failures""", workspace_id, scope, key, FORGET_AFTER)
        locked = lock_seconds(scope, failures)
        if locked:
            await conn.execute(
                """UPDATE login_failures SET locked_until = now() + make_interval(secs => $4)
                   WHERE workspace_id = $1 AND scope = $2 AND key = $3""",
                workspace_id, scope, key, locked)


async def succeeded(conn: asyncpg.Connection, workspace_id: int, account: str) -> None:
    """The owner got in: their account's count starts again (the address's does not, or one
    valid account would let its holder guess at every other)."""
    await conn.execute(
        "DELETE FROM login_failures WHERE workspace_id = $1 AND scope = 'account' AND key = $2",
        workspace_id, account)
