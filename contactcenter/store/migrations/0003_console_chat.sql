-- The agent console and the web chat.

-- A web chat visitor. The browser keeps a secret token (so a reload or a later visit is the
-- same customer); only its hash is stored. `address` is the visitor's chat identity.
CREATE TABLE chat_visitors (
    token_hash     text PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    customer_id    bigint NOT NULL REFERENCES customers,
    address        text NOT NULL,
    topic          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, address)
);

-- The id the sender's own client gave a message (chat widget, console): a resend after a lost
-- acknowledgement is recognised, and the client matches the stored message to what it showed.
ALTER TABLE messages ADD COLUMN client_id text;
CREATE UNIQUE INDEX messages_client_id ON messages (interaction_id, direction, client_id)
    WHERE client_id IS NOT NULL;

-- What the agent recorded at wrap-up.
ALTER TABLE interactions ADD COLUMN disposition text;
ALTER TABLE interactions ADD COLUMN wrapup_notes text NOT NULL DEFAULT '';
