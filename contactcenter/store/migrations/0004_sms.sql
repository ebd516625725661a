-- SMS through Twilio: consent, attachments, payloads we could not read, and sending.

-- Numbers that said STOP: nothing is sent to them until they say START.
CREATE TABLE sms_opt_outs (
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    phone          text NOT NULL,
    keyword        text NOT NULL,
    opted_out_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, phone)
);

-- Media that came with a message (MMS pictures, later email attachments).
CREATE TABLE attachments (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    message_id     bigint NOT NULL REFERENCES messages,
    content_type   text NOT NULL,
    url            text,
    filename       text NOT NULL DEFAULT '',
    size_bytes     bigint,
    content        bytea
);
CREATE INDEX attachments_message ON attachments (message_id);

-- A provider payload we could not read is kept whole and flagged for a person: never dropped.
CREATE TABLE unreadable_payloads (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    source         text NOT NULL,
    problem        text NOT NULL,
    payload        jsonb NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz
);

-- The two addresses of the conversation: the customer's (the number that texted) and ours
-- (the Twilio number it texted): replies go from ours to theirs. And when the customer was
-- last told their place in the queue.
ALTER TABLE interactions ADD COLUMN their_address text;
ALTER TABLE interactions ADD COLUMN our_address text;
ALTER TABLE interactions ADD COLUMN queue_reply_at timestamptz;

-- Outbound sending: attempts so far, and not before when (backoff after 429 and 5xx).
ALTER TABLE messages ADD COLUMN send_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN send_after timestamptz;
CREATE INDEX messages_to_send ON messages (workspace_id, channel, id)
    WHERE direction = 'outbound' AND delivery_status = 'queued';
