"""Interactions written straight into the database with the times a test names, for the tests
of figures that depend on exact times (the scenario, reports over HTTP and in the browser)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def past_interaction(
    conn: asyncpg.Connection, ws: int, queue: str, channel: str, queued: datetime, *,
    customer: str = "Customer", agent: int | None = None, answered: datetime | None = None,
    wrapup: datetime | None = None, ended: datetime | None = None, outcome: str | None = None,
) -> int:
    """An interaction of a new customer; its state follows from the times and the outcome."""
    state = {"completed": "closed", "refused": "closed", "abandoned": "abandoned",
             None: "wrapup" if wrapup else "assigned" if answered else "queued"}[outcome]
    customer_id = await conn.fetchval(
        "INSERT INTO customers (workspace_id, display_name) VALUES ($1, $2) RETURNING id",
        ws, customer)
    return int(await conn.fetchval(
        """INSERT INTO interactions (workspace_id, channel, state, queue_id, customer_id,
               agent_id, created_at, queued_at, answered_at, first_answered_at, wrapup_at,
               ended_at, outcome)
           VALUES ($1, $2, $3, (SELECT id FROM queues WHERE workspace_id = $1 AND name = $4),
                   $5, $6, $7, $7, $8, $8, $9, $10, $11) RETURNING id""",
        ws, channel, state, queue, customer_id, agent, queued, answered, wrapup, ended, outcome))
