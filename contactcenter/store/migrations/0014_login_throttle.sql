-- Failed logins, per account (the email tried, whether or not it exists) and per client
-- address, so that guessing passwords is slowed down across every node of the server.
CREATE TABLE login_failures (
    workspace_id  bigint NOT NULL REFERENCES workspaces,
    scope         text NOT NULL CHECK (scope IN ('account', 'address')),
    key           text NOT NULL,
    failures      integer NOT NULL,
    first_at      timestamptz NOT NULL DEFAULT now(),
    last_at       timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz,
    PRIMARY KEY (workspace_id, scope, key)
);
