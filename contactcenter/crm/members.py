"""The users a record may be given to."""

from __future__ import annotations

import asyncpg

from contactcenter.errors import Conflict


async def require_member(conn: asyncpg.Connection, workspace_id: int, user_id: int | None,
                         code: str) -> None:
    """A user id given as an owner or assignee names a user of this workspace, or 409: the
    foreign key alone would answer a server error, and would take another workspace's user."""
    if user_id is not None and not await conn.fetchval(
            "SELECT true FROM users WHERE id = $1 AND workspace_id = $2", user_id, workspace_id):
        raise Conflict(code, f"no user {user_id} in this workspace")
