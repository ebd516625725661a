"""Password guessing is slowed down: past a few tries an account (and, later, a client address)
is locked out with 429 and Retry-After, even for the right password; hashing runs off the event
loop, so a burst of logins leaves the server answering."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestClient

from contactcenter.actions import add_user
from contactcenter.actions.login_throttle import FREE_TRIES, MAX_LOCK_SECONDS, lock_seconds
from contactcenter.actions.users import NewUser
from contactcenter.core import Core
from tests.conftest import PASSWORD


async def _login(client: TestClient[Any, Any], email: str, password: str) -> Any:
    return await client.post("/api/login", json={"email": email, "password": password})


def test_locks_double_from_the_first_try_past_the_free_ones_and_are_capped() -> None:
    free = FREE_TRIES["account"]
    assert [lock_seconds("account", n) for n in range(1, free)] == [0] * (free - 1)
    assert [lock_seconds("account", free + n) for n in range(4)] == [1, 2, 4, 8]
    assert lock_seconds("account", 10_000) == MAX_LOCK_SECONDS
    assert lock_seconds("address", FREE_TRIES["address"] - 1) == 0


async def test_guessing_locks_the_account_even_against_the_right_password(
    client: TestClient[Any, Any], agent: str, core: Core
) -> None:
    statuses = [(await _login(client, agent, f"guess {n}")).status for n in range(12)]
    assert statuses[:FREE_TRIES["account"]] == [401] * FREE_TRIES["account"]
    assert set(statuses[FREE_TRIES["account"]:]) == {429}
    locked = await _login(client, agent, PASSWORD)
    assert locked.status == 429
    assert (await locked.json())["error"] == "too_many_attempts"
    assert int(locked.headers["Retry-After"]) >= 1
    # Once the lock has passed, the owner gets in and the count starts again.
    await core.pool.execute("UPDATE login_failures SET locked_until = now()")
    assert (await _login(client, agent, PASSWORD)).status == 200
    assert await core.pool.fetchval(
        "SELECT count(*) FROM login_failures WHERE scope = 'account'") == 0


async def test_one_address_guessing_at_many_accounts_is_locked_out(
    client: TestClient[Any, Any], agent: str
) -> None:
    statuses = [(await _login(client, f"user{n}@example.com", "guess")).status
                for n in range(FREE_TRIES["address"] + 2)]
    assert statuses[-1] == 429
    assert (await _login(client, agent, PASSWORD)).status == 429  # the address, not the account


async def test_a_burst_of_logins_leaves_the_event_loop_free(
    client: TestClient[Any, Any], core: Core, workspace_id: int
) -> None:
    """Forty logins at once used to hold the loop for seconds (argon2 on the loop)."""
    for n in range(4):
        await add_user(core, workspace_id, NewUser(f"agent{n}@example.com", f"Agent {n}", "agent",
                                                   PASSWORD, {}))
    logins = [asyncio.create_task(_login(client, f"agent{n % 4}@example.com", PASSWORD))
              for n in range(40)]
    slowest = 0.0
    while not all(t.done() for t in logins):
        started = time.monotonic()
        assert (await client.get("/healthz")).status == 200
        slowest = max(slowest, time.monotonic() - started)
        await asyncio.sleep(0.02)
    statuses = [(await t).status for t in logins]
    assert set(statuses) <= {200, 429}  # 429: more waiting to be hashed than the pool takes
    assert statuses.count(200) >= 32
    assert slowest < 1.0, f"/healthz took {slowest:.2f} s during the burst"
