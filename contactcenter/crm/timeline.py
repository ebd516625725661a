"""A customer's timeline: everything they did with us and everything we did for them, newest
first, in one list the console's customer panel and the API page through."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

MAX_PAGE = 200

# One SELECT per kind of thing, all in the same shape: kind, id, at, title, detail, and the
# interaction it belongs to (for a message or a call).
_TIMELINE = """
    SELECT * FROM (
        SELECT 'interaction' AS kind, i.id, i.created_at AS at,
               CASE i.channel WHEN 'sms' THEN 'SMS' WHEN 'voice' THEN 'Call'
                              ELSE initcap(i.channel) END || ' in ' || q.label AS title,
               i.state || coalesce(' · ' || i.disposition, '') AS detail, i.id AS interaction_id
        FROM interactions i JOIN queues q ON q.id = i.queue_id WHERE i.customer_id = $1
      UNION ALL
        SELECT CASE m.direction WHEN 'internal' THEN 'internal_note' ELSE 'message' END,
               m.id, m.created_at,
               CASE m.direction WHEN 'inbound' THEN 'From the customer'
                                WHEN 'internal' THEN 'Internal note'
                                ELSE 'To the customer' END
                 || ' (' || CASE m.channel WHEN 'sms' THEN 'SMS' ELSE m.channel END || ')',
               left(m.body, 280), m.interaction_id
        FROM messages m JOIN interactions i ON i.id = m.interaction_id
        WHERE i.customer_id = $1
      UNION ALL
        SELECT 'call', c.interaction_id, c.started_at, 'Call from ' || c.from_number,
               c.status || coalesce(' · ' || c.duration_seconds || ' s', ''), c.interaction_id
        FROM calls c JOIN interactions i ON i.id = c.interaction_id
        WHERE i.customer_id = $1 AND c.leg = 'customer'
      UNION ALL
        SELECT 'case', id, opened_at, 'Case #' || id || ': ' || subject,
               status || ' · ' || priority, NULL FROM cases WHERE customer_id = $1
      UNION ALL
        SELECT 'lead', id, created_at, 'Lead: ' || title,
               status || coalesce(' · from ' || source_channel, ''), interaction_id
        FROM leads WHERE customer_id = $1
      UNION ALL
        SELECT 'opportunity', id, created_at, 'Opportunity: ' || name,
               stage || ' · ' || amount || ' ' || currency, NULL
        FROM opportunities WHERE customer_id = $1
      UNION ALL
        SELECT 'note', n.id, n.created_at, 'Note by ' || coalesce(u.display_name, 'someone'),
               n.body, NULL
        FROM customer_notes n LEFT JOIN users u ON u.id = n.author_user_id
        WHERE n.customer_id = $1
    ) t
    WHERE $2::timestamptz IS NULL OR at < $2
    ORDER BY at DESC, kind, id DESC LIMIT $3"""


async def timeline(conn: asyncpg.Connection, customer_id: int, *,
                   before: datetime | None = None, limit: int = 50) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_PAGE))
    rows = await conn.fetch(_TIMELINE, customer_id, before, limit + 1)
    items = [{"kind": r["kind"], "id": r["id"], "at": r["at"].isoformat(), "title": r["title"],
              "detail": r["detail"], "interaction_id": r["interaction_id"]}
             for r in rows[:limit]]
    return {"items": items, "next_before": items[-1]["at"] if len(rows) > limit else None}
