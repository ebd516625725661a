"""Follow-up tasks with due dates, assigned to agents (call back Friday, send the quote)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from contactcenter.crm.members import require_member
from contactcenter.errors import Conflict, InputError, NotFound
from contactcenter.feeds import Notice, user_feed

# What a task may be about: at most one of each, all optional.
LINKS = ("customer_id", "case_id", "lead_id", "opportunity_id")
_LINKED_TABLE = {"customer_id": "customers", "case_id": "cases", "lead_id": "leads",
                 "opportunity_id": "opportunities"}


async def create(conn: asyncpg.Connection, workspace_id: int, user_id: int, title: str,
                 assignee_user_id: int, due_at: datetime, links: dict[str, int]) -> int:
    title = title.strip()[:300]
    if not title:
        raise InputError("empty_title", "a task needs a title")
    if due_at.tzinfo is None:
        raise InputError("bad_due_at", "due_at needs a time zone, e.g. 2026-11-27T17:00:00Z")
    await require_member(conn, workspace_id, assignee_user_id, "bad_assignee")
    for key, value in links.items():
        if not await conn.fetchval(
                f"SELECT true FROM {_LINKED_TABLE[key]} WHERE id = $1 AND workspace_id = $2",
                value, workspace_id):
            raise Conflict("bad_link", f"no {key.removesuffix('_id')} {value}")
    task_id: int = await conn.fetchval(
        """INSERT INTO tasks (workspace_id, title, assignee_user_id, due_at, created_by,
               customer_id, case_id, lead_id, opportunity_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""",
        workspace_id, title, assignee_user_id, due_at, user_id,
        *(links.get(k) for k in LINKS))
    return task_id


async def complete(conn: asyncpg.Connection, workspace_id: int, task_id: int) -> int:
    """Mark the task done (again is harmless); the assignee, whose task list changed."""
    assignee: int | None = await conn.fetchval(
        """UPDATE tasks SET done_at = coalesce(done_at, now())
           WHERE id = $1 AND workspace_id = $2 RETURNING assignee_user_id""", task_id, workspace_id)
    if assignee is None:
        raise NotFound("no_such_task", f"no task {task_id}")
    return assignee


def changed(workspace_id: int, assignee_user_id: int) -> Notice:
    """Tells the assignee's consoles to reload their task list (a task was added or done,
    perhaps by someone else, e.g. a supervisor assigning a follow-up)."""
    return Notice(user_feed(workspace_id, assignee_user_id), {"kind": "tasks_changed"})


def task_view(r: asyncpg.Record, now: datetime) -> dict[str, Any]:
    return {"id": r["id"], "title": r["title"], "assignee_user_id": r["assignee_user_id"],
            "due_at": r["due_at"].isoformat(), "done_at": r["done_at"] and r["done_at"].isoformat(),
            "overdue": r["done_at"] is None and r["due_at"] < now,
            **{k: r[k] for k in LINKS}}


async def overdue_notices(conn: asyncpg.Connection, workspace_id: int) -> list[Notice]:
    """Each task that has just become overdue, once, to the agent it is assigned to."""
    rows = await conn.fetch(
        """UPDATE tasks SET overdue_notified_at = now()
           WHERE id IN (SELECT id FROM tasks WHERE workspace_id = $1 AND done_at IS NULL
                          AND overdue_notified_at IS NULL AND due_at <= now()
                        FOR UPDATE SKIP LOCKED)
           RETURNING id, title, assignee_user_id, due_at""", workspace_id)
    return [Notice(user_feed(workspace_id, r["assignee_user_id"]), {
        "kind": "task_overdue", "task_id": r["id"], "title": r["title"],
        "due_at": r["due_at"].isoformat()}) for r in rows]
