"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations).

A hash costs tens of milliseconds of CPU on purpose. On the event loop, forty logins at once
held it for seconds: `/healthz` answered in 3 s and the routing leader lost its lease. So the
work runs in a small pool of threads (argon2's C code releases the GIL), and no more than
MAX_WAITING attempts may wait for it: past that, a login is answered 429 at once instead of
queueing without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contactcenter.errors import Busy

T = TypeVar("T")
_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
MAX_WAITING = 32
_waiting = 0

# Verified against when the user does not exist, so a wrong email costs as long as a wrong
# password and response times do not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password")


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def _off_the_loop(work: Callable[..., T], *args: str | None) -> T:
    global _waiting
    if _waiting >= MAX_WAITING:
        raise Busy("login_busy", "too many logins at once: try again in a second")
    _waiting += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_pool, work, *args)
    finally:
        _waiting -= 1


async def hash_password(password: str) -> str:
    return await _off_the_loop(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches, computed off the event loop."""
    return await _off_the_loop(_verify, password_hash, password)
