-- Phone calls through Twilio.

-- One row per call leg we know: the caller's, and the agent's leg we dial on accept.
CREATE TABLE calls (
    call_sid       text PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    interaction_id bigint REFERENCES interactions,
    leg            text NOT NULL CHECK (leg IN ('customer', 'agent')),
    from_number    text NOT NULL,
    to_number      text NOT NULL,
    status         text NOT NULL,
    conference     text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    bridged_at     timestamptz,
    ended_at       timestamptz,
    duration_seconds integer,
    -- The caller asked to be called back: hanging up keeps their place, and the agent who
    -- accepts is connected to a call placed to them.
    callback_requested_at timestamptz
);
CREATE INDEX calls_interaction ON calls (interaction_id);
CREATE INDEX calls_to_bridge ON calls (workspace_id) WHERE leg = 'customer' AND bridged_at IS NULL
    AND ended_at IS NULL;

-- What happened on a call (ringing, answered, transferred, ended, with durations) is part of the
-- interaction's timeline, as messages of their own kind.
ALTER TABLE messages DROP CONSTRAINT messages_direction_check;
-- A voicemail becomes an interaction of its own channel, worked later like an email.
ALTER TABLE interactions DROP CONSTRAINT interactions_channel_check;
ALTER TABLE interactions ADD CONSTRAINT interactions_channel_check
    CHECK (channel IN ('voice', 'sms', 'email', 'chat', 'voicemail'));
ALTER TABLE messages ADD CONSTRAINT messages_direction_check
    CHECK (direction IN ('inbound', 'outbound', 'internal', 'event'));
