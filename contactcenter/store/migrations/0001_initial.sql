-- The core schema. Every table carries workspace_id so one database can serve many workspaces.

CREATE TABLE workspaces (
    workspace_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug           text NOT NULL UNIQUE,
    name           text NOT NULL,
    default_region text NOT NULL DEFAULT 'US',
    timezone       text NOT NULL DEFAULT 'UTC',
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    email          text NOT NULL CHECK (email = lower(email)),
    display_name   text NOT NULL,
    role           text NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    password_hash  text NOT NULL,
    phone          text,
    client_identity text,
    disabled_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, email)
);

CREATE TABLE user_sessions (
    token_hash     text PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    user_id        bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf_token     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

CREATE TABLE skills (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    name           text NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE agent_skills (
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    user_id        bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    skill_id       bigint NOT NULL REFERENCES skills ON DELETE CASCADE,
    level          smallint NOT NULL CHECK (level BETWEEN 1 AND 10),
    PRIMARY KEY (user_id, skill_id)
);

-- Queues are defined in the configuration file and mirrored here at start-up, so that
-- interactions and reports can refer to them; `active` is false for a queue removed from config.
CREATE TABLE queues (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    name           text NOT NULL,
    label          text NOT NULL,
    priority       integer NOT NULL DEFAULT 0,
    active         boolean NOT NULL DEFAULT true,
    UNIQUE (workspace_id, name)
);

CREATE TABLE customers (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    display_name   text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- An address a customer reaches us from. `kind` is the address space, not the channel:
-- a phone number is one identity whether it texts or calls.
CREATE TABLE customer_identities (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    -- Deferred so intake can claim the identity before it creates the customer it points to.
    customer_id    bigint NOT NULL REFERENCES customers DEFERRABLE INITIALLY DEFERRED,
    kind           text NOT NULL CHECK (kind IN ('phone', 'email', 'chat', 'twilio_client')),
    address        text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, kind, address)
);
CREATE INDEX customer_identities_customer ON customer_identities (customer_id);

CREATE TABLE interactions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    channel        text NOT NULL CHECK (channel IN ('voice', 'sms', 'email', 'chat')),
    state          text NOT NULL CHECK (state IN
                     ('queued', 'offered', 'assigned', 'wrapup', 'closed', 'abandoned')),
    queue_id       bigint NOT NULL REFERENCES queues,
    priority       integer NOT NULL DEFAULT 0,
    customer_id    bigint NOT NULL REFERENCES customers,
    agent_id       bigint REFERENCES users,
    subject        text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    queued_at      timestamptz,
    offered_at     timestamptz,
    answered_at    timestamptz,
    ended_at       timestamptz,
    last_message_at timestamptz
);
CREATE INDEX interactions_open_by_customer ON interactions (workspace_id, customer_id, channel)
    WHERE state NOT IN ('closed', 'abandoned');
CREATE INDEX interactions_by_queue_state ON interactions (workspace_id, queue_id, state);

CREATE TABLE messages (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    interaction_id bigint NOT NULL REFERENCES interactions,
    channel        text NOT NULL,
    direction      text NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    author_user_id bigint REFERENCES users,
    body           text NOT NULL DEFAULT '',
    -- The provider's own id (Twilio MessageSid, email Message-ID, chat client id): a repeated
    -- delivery of the same id is recognised and stores nothing twice.
    provider_message_id text,
    delivery_status text NOT NULL DEFAULT 'received' CHECK (delivery_status IN
                     ('received', 'queued', 'sending', 'sent', 'delivered', 'read',
                      'undelivered', 'failed')),
    delivery_error text,
    raw            jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, channel, provider_message_id)
);
CREATE INDEX messages_interaction ON messages (interaction_id, id);

-- The audit and event log: every state change, in commit order. It is also the outbox from
-- which events reach Redis after the commit.
CREATE TABLE event_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    at             timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL,
    actor_user_id  bigint REFERENCES users,
    interaction_id bigint REFERENCES interactions,
    customer_id    bigint REFERENCES customers,
    data           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX event_log_workspace ON event_log (workspace_id, id);
CREATE INDEX event_log_interaction ON event_log (interaction_id) WHERE interaction_id IS NOT NULL;
