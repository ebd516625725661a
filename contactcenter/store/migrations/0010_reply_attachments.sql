-- Files an agent attaches to a reply. They are uploaded first, as drafts of one interaction
-- (no message yet), and join the message when the reply is sent.
ALTER TABLE attachments
    ALTER COLUMN message_id DROP NOT NULL,
    ADD COLUMN interaction_id bigint REFERENCES interactions,
    ADD COLUMN uploaded_by bigint REFERENCES users,
    ADD COLUMN uploaded_at timestamptz;
CREATE INDEX attachments_drafts ON attachments (uploaded_by, uploaded_at) WHERE message_id IS NULL;
