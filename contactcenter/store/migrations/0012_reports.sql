-- What reports need that the interaction row did not keep: the first answer (answered_at moves
-- to the last agent on a transfer), when wrap-up began, and how the interaction ended.
ALTER TABLE interactions ADD COLUMN first_answered_at timestamptz;
ALTER TABLE interactions ADD COLUMN wrapup_at timestamptz;
ALTER TABLE interactions ADD COLUMN outcome text
    CHECK (outcome IN ('completed', 'abandoned', 'refused'));

UPDATE interactions SET first_answered_at = answered_at WHERE answered_at IS NOT NULL;
UPDATE interactions SET outcome = CASE
        WHEN state = 'abandoned' THEN 'abandoned'
        WHEN answered_at IS NOT NULL THEN 'completed'
        ELSE 'refused' END
    WHERE state IN ('closed', 'abandoned');

-- Reports read interactions by arrival and by end, agents' open work, decisions by time, and
-- presence changes by time and by agent.
CREATE INDEX interactions_by_arrival ON interactions (workspace_id, queued_at);
CREATE INDEX interactions_by_end ON interactions (workspace_id, ended_at)
    WHERE ended_at IS NOT NULL;
CREATE INDEX interactions_open_work ON interactions (workspace_id, agent_id)
    WHERE state IN ('assigned', 'wrapup');
CREATE INDEX sla_breaches_by_time ON sla_breaches (workspace_id, breached_at);
CREATE INDEX routing_decisions_by_time ON routing_decisions (workspace_id, at);
CREATE INDEX event_log_presence ON event_log (workspace_id, at)
    WHERE kind IN ('agent.presence', 'routing.AgentStateChanged');
CREATE INDEX event_log_presence_by_agent ON event_log (actor_user_id, at)
    WHERE kind IN ('agent.presence', 'routing.AgentStateChanged');

-- Seconds covered by a set of time ranges (busy or available time of an agent in an interval).
CREATE FUNCTION cc_span_seconds(spans tstzmultirange) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)::double precision
    FROM unnest(spans) AS r
$$;
