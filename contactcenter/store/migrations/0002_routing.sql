-- Routing state the leader persists, so that a new leader can rebuild the engine.

-- An agent's chosen presence. Agents without a row are offline.
CREATE TABLE agent_presence (
    user_id        bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    presence       text NOT NULL CHECK (presence IN ('available', 'away', 'offline')),
    reason         text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The fencing token of the current routing leader. A decision is written only in a
-- transaction that raises this to the writer's own token, so a deposed leader that still
-- believes it leads cannot write anything.
CREATE TABLE routing_leases (
    workspace_id   bigint PRIMARY KEY REFERENCES workspaces,
    fence          bigint NOT NULL,
    leader         text NOT NULL,
    -- The last stream entry whose effects are written here; a new leader resumes after it.
    stream_position text NOT NULL DEFAULT '0-0',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Every routing decision, with its reason, in the order the leader took them.
CREATE TABLE routing_decisions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    interaction_id bigint REFERENCES interactions,
    agent_id       bigint REFERENCES users,
    kind           text NOT NULL,
    outcome        text NOT NULL DEFAULT '',
    reason         text NOT NULL DEFAULT '',
    detail         jsonb NOT NULL DEFAULT '{}',
    deadline       timestamptz,
    fence          bigint NOT NULL,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_decisions_interaction ON routing_decisions (interaction_id, id);

-- Skills this interaction needs beyond its queue's (e.g. a language), kept for a rebuild.
ALTER TABLE interactions ADD COLUMN required_skills jsonb NOT NULL DEFAULT '{}';
