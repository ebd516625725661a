-- A claim is not an identity (DESIGN.md, principle 10).

-- The email a chat visitor typed in the pre-chat form is kept as their claim, not as an
-- identity of any customer: it proves nothing until the visitor enters the one-time code sent
-- to it, or an agent merges the records. Only the code's hash is kept, with its expiry and the
-- wrong tries against it.
ALTER TABLE chat_visitors ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE;
ALTER TABLE chat_visitors ADD COLUMN claimed_email text;
ALTER TABLE chat_visitors ADD COLUMN email_code_hash text;
ALTER TABLE chat_visitors ADD COLUMN email_code_expires_at timestamptz;
ALTER TABLE chat_visitors ADD COLUMN email_code_tries integer NOT NULL DEFAULT 0;
ALTER TABLE chat_visitors ADD COLUMN email_code_sent_at timestamptz;
ALTER TABLE chat_visitors ADD COLUMN email_verified_at timestamptz;
CREATE INDEX chat_visitors_by_customer ON chat_visitors (customer_id);
CREATE INDEX chat_visitors_claims ON chat_visitors (workspace_id, claimed_email)
    WHERE claimed_email IS NOT NULL AND email_verified_at IS NULL;

-- The case token in our replies' subjects carried the interaction's number alone, which anyone
-- can count through. It now carries a random key beside it, and a message only joins a thread
-- when its sender is also on that customer's record.
ALTER TABLE interactions ADD COLUMN reply_key text NOT NULL
    DEFAULT left(replace(gen_random_uuid()::text, '-', ''), 12);
