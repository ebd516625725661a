-- Email: where each mailbox's reading stands, so a restart neither loses nor repeats mail.
-- UIDVALIDITY changing means the server renumbered the folder: reading starts over, and the
-- Message-IDs already stored keep anything from being taken in twice.
CREATE TABLE email_mailboxes (
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    name           text NOT NULL,
    uidvalidity    bigint NOT NULL,
    last_uid       bigint NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, name)
);
