-- A live call moves with its transfer, and a supervisor can listen in.

-- A transfer of a connected call puts the caller on hold in a room of their own (the n-th
-- transfer's room) and drops the agent's leg; the agent who accepts next is dialled into it.
ALTER TABLE calls ADD COLUMN transfers integer NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN hold_requested_at timestamptz;
ALTER TABLE calls DROP CONSTRAINT calls_leg_check;
ALTER TABLE calls ADD CONSTRAINT calls_leg_check CHECK (leg IN ('customer', 'agent', 'supervisor'));

-- A supervisor asked to listen to a call: dialled, muted, into its conference.
CREATE TABLE call_listeners (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    interaction_id bigint NOT NULL REFERENCES interactions,
    user_id        bigint NOT NULL REFERENCES users,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    dialled_at     timestamptz,
    call_sid       text
);
CREATE INDEX call_listeners_to_dial ON call_listeners (workspace_id) WHERE dialled_at IS NULL;
