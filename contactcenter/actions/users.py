"""Users (agents, supervisors, admins) and their login sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import asyncpg

from contactcenter import events
from contactcenter.actions import login_throttle
from contactcenter.core import Core
from contactcenter.errors import InputError, Unauthorized
from contactcenter.events import Event, LoggedEvent
from contactcenter.identity import InvalidAddress, normalize_email
from contactcenter.passwords import hash_password, verify_password

Role = Literal["agent", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("agent", "supervisor", "admin")
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_CHARS = 8


@dataclass(frozen=True)
class NewUser:
    email: str
    display_name: str
    role: Role
    password: str
    skills: dict[str, int]


@dataclass(frozen=True)
class Session:
    token: str
    csrf_token: str
    user_id: int
    workspace_id: int
    role: Role
    display_name: str
    email: str


def check_new_user(user: NewUser) -> NewUser:
    try:
        email = normalize_email(user.email)
    except InvalidAddress as exc:
        raise InputError("bad_email", str(exc)) from None
    if user.role not in ROLES:
        raise InputError("bad_role", f"role must be one of {', '.join(ROLES)}")
    if len(user.password) < MIN_PASSWORD_CHARS:
        raise InputError("weak_password", f"password needs at least {MIN_PASSWORD_CHARS} characters")
    if not user.display_name.strip():
        raise InputError("bad_name", "a display name is required")
    for skill, level in user.skills.items():
        if not 1 <= level <= 10:
            raise InputError("bad_skill_level", f"skill {skill!r}: level {level} is not 1-10")
    return NewUser(email, user.display_name.strip(), user.role, user.password, user.skills)


async def add_user(core: Core, workspace_id: int, user: NewUser, *, replace: bool = False) -> int:
    """Create a user with their skills; with replace=True an existing user of that email is
    updated instead (the demo re-seeds itself this way). The routing leader hears of new
    skills at once."""
    async with core.pool.acquire() as conn:
        user_id, logged = await do_add_user(conn, workspace_id, user, replace=replace)
    await events.publish(core.redis, [logged])
    return user_id


async def do_add_user(
    conn: asyncpg.Connection, workspace_id: int, user: NewUser, *, replace: bool = False
) -> tuple[int, LoggedEvent]:
    user = check_new_user(user)
    password_hash = await hash_password(user.password)
    async with conn.transaction():
        known = await conn.fetch(
            "SELECT id, name FROM skills WHERE workspace_id = $1 AND name = ANY($2)",
            workspace_id, list(user.skills),
        )
        skill_ids = {r["name"]: r["id"] for r in known}
        unknown = sorted(set(user.skills) - set(skill_ids))
        if unknown:
            raise InputError("unknown_skill", f"unknown skill(s): {', '.join(unknown)}")
        conflict = (
            """ON CONFLICT (workspace_id, email) DO UPDATE SET display_name = excluded.display_name,
                   role = excluded.role, password_hash = excluded.password_hash"""
            if replace else ""
        )
        try:
            user_id: int = await conn.fetchval(
                f"""INSERT INTO users (workspace_id, email, display_name, role, password_hash)
                    VALUES ($1, $2, $3, $4, $5) {conflict} RETURNING id""",
                workspace_id, user.email, user.display_name, user.role, password_hash,
            )
        except asyncpg.UniqueViolationError:
            raise InputError("user_exists", f"a user with email {user.email} exists") from None
        await conn.execute("DELETE FROM agent_skills WHERE user_id = $1", user_id)
        await conn.executemany(
            """INSERT INTO agent_skills (workspace_id, user_id, skill_id, level)
               VALUES ($1, $2, $3, $4)""",
            [(workspace_id, user_id, skill_ids[s], lvl) for s, lvl in user.skills.items()],
        )
        logged = await events.record(conn, Event(
            "user.saved", workspace_id,
            {"email": user.email, "role": user.role, "skills": user.skills},
            actor_user_id=user_id))
    return user_id, logged


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(core: Core, workspace_id: int, email: str, password: str,
                        client_address: str) -> Session:
    """Check the password and open a session; the same answer for any kind of failure. Failed
    attempts are counted and slowed down (login_throttle), before any password is hashed. No
    database connection is held while the password is hashed: forty logins at once would
    otherwise take the whole pool, and every other request with it."""
    account = email.strip().lower()
    async with core.pool.acquire() as conn:
        await login_throttle.check(conn, workspace_id, account, client_address)
        row = await conn.fetchrow(
            """SELECT id, workspace_id, role, display_name, email, password_hash FROM users
               WHERE workspace_id = $1 AND email = $2 AND disabled_at IS NULL""",
            workspace_id, account,
        )
    right = await verify_password(row["password_hash"] if row else None, password)
    async with core.pool.acquire() as conn:
        if not right or row is None:
            await login_throttle.failed(conn, workspace_id, account, client_address)
            raise Unauthorized("bad_credentials", "wrong email or password")
        await login_throttle.succeeded(conn, workspace_id, account)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO user_sessions (token_hash, workspace_id, user_id, csrf_token,
                                              expires_at)
                   VALUES ($1, $2, $3, $4, now() + $5::interval)""",
                _token_hash(token), row["workspace_id"], row["id"], csrf, SESSION_LIFETIME,
            )
            await events.record(conn, Event(
                "user.logged_in", row["workspace_id"], actor_user_id=row["id"]))
    return Session(token, csrf, row["id"], row["workspace_id"], row["role"],
                   row["display_name"], row["email"])


async def find_session(conn: asyncpg.Connection, workspace_id: int, token: str) -> Session | None:
    """The session of that token, if it is alive and of this workspace: a server answers only
    for the workspace it serves, whatever other sessions its database holds."""
    row = await conn.fetchrow(
        """SELECT s.csrf_token, u.id, u.workspace_id, u.role, u.display_name, u.email
           FROM user_sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL
             AND s.workspace_id = $2 AND u.workspace_id = $2""",
        _token_hash(token), workspace_id,
    )
    if row is None:
        return None
    return Session(token, row["csrf_token"], row["id"], row["workspace_id"], row["role"],
                   row["display_name"], row["email"])


async def end_session(conn: asyncpg.Connection, token: str) -> None:
    await conn.execute("DELETE FROM user_sessions WHERE token_hash = $1", _token_hash(token))
