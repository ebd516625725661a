"""The configuration file defines the workspace's queues and skills; the database mirrors them
so that interactions, agents and reports can refer to rows."""

from __future__ import annotations

import asyncpg

from contactcenter import events
from contactcenter.events import Event
from contactcenter.settings import FileConfig


async def sync_workspace(conn: asyncpg.Connection, config: FileConfig) -> int:
    """Create or update the configured workspace, its skills and queues; return its id.

    Safe to run from several nodes at once and on every start-up.
    """
    ws = config.workspace
    async with conn.transaction():
        workspace_id: int = await conn.fetchval(
            """INSERT INTO workspaces (slug, name, default_region, timezone)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (slug) DO UPDATE SET name = excluded.name,
                   default_region = excluded.default_region, timezone = excluded.timezone
               RETURNING workspace_id""",
            ws.slug, ws.name, ws.default_region, ws.timezone,
        )
        await conn.executemany(
            """INSERT INTO skills (workspace_id, name) VALUES ($1, $2)
               ON CONFLICT (workspace_id, name) DO NOTHING""",
            [(workspace_id, name) for name in config.skills],
        )
        await conn.executemany(
            """INSERT INTO queues (workspace_id, name, label, priority, active)
               VALUES ($1, $2, $3, $4, true)
               ON CONFLICT (workspace_id, name) DO UPDATE SET label = excluded.label,
                   priority = excluded.priority, active = true""",
            [(workspace_id, q.name, q.label or q.name.title(), q.priority) for q in config.queues],
        )
        deactivated = await conn.fetch(
            """UPDATE queues SET active = false
               WHERE workspace_id = $1 AND active AND NOT (name = ANY($2)) RETURNING name""",
            workspace_id, [q.name for q in config.queues],
        )
        if deactivated:
            await events.record(conn, Event(
                "queues.deactivated", workspace_id, {"queues": [r["name"] for r in deactivated]}))
    return workspace_id
