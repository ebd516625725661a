-- Webhooks kept before they are worked on. Twilio waits at most 15 s and does not retry a
-- 5xx, so a webhook is answered right after this one insert; a worker on every node then runs
-- the intake, in arrival order. A row leaves once its intake committed; one that keeps
-- failing is moved to unreadable_payloads for a person.
CREATE TABLE webhook_inbox (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    source         text NOT NULL,
    payload        jsonb NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text
);
CREATE INDEX webhook_inbox_due ON webhook_inbox (workspace_id, source, id);
