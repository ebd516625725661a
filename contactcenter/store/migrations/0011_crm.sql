-- The customer record and the service and sales workflows every interaction links to.

-- Trigram indexes make substring search fast on a million customers. The embedded PostgreSQL
-- (pgserver) ships without pg_trgm: there search still works, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available: customer search will scan';
END $$;

CREATE TABLE companies (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    name           text NOT NULL,
    domain         text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX companies_name ON companies (workspace_id, lower(name));

ALTER TABLE customers
    ADD COLUMN company_id bigint REFERENCES companies,
    ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
    -- Per channel: {"sms": {"opted_out": true, "at": "...", "by": "customer"}}.
    ADD COLUMN consent jsonb NOT NULL DEFAULT '{}',
    -- A record merged into another keeps its id (old links and the audit log resolve it).
    ADD COLUMN merged_into bigint REFERENCES customers;
CREATE INDEX customers_attributes ON customers USING gin (attributes jsonb_path_ops);
CREATE INDEX customers_tags ON customers USING gin (tags);
CREATE INDEX customers_company ON customers (company_id);
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX customers_name_trgm ON customers USING gin (display_name gin_trgm_ops);
        CREATE INDEX customer_identities_address_trgm ON customer_identities
            USING gin (address gin_trgm_ops);
    END IF;
END $$;

-- One mailbox however it is written: case, +tags, and at Gmail the dots, which it ignores.
CREATE FUNCTION cc_canonical_email(address text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN domain IN ('gmail.com', 'googlemail.com')
                THEN replace(split_part(local, '+', 1), '.', '') || '@gmail.com'
                ELSE split_part(local, '+', 1) || '@' || domain END
    FROM (SELECT lower(split_part(address, '@', 1)) AS local,
                 lower(split_part(address, '@', 2)) AS domain) parts
$$;
CREATE INDEX customer_identities_mailbox ON customer_identities (workspace_id, cc_canonical_email(address))
    WHERE kind = 'email';

CREATE TABLE customer_notes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    customer_id    bigint NOT NULL REFERENCES customers,
    author_user_id bigint REFERENCES users,
    body           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_notes_customer ON customer_notes (customer_id, id);

-- What people changed by hand that must be answerable for (and, for a merge, undone).
CREATE TABLE audit_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  bigint REFERENCES users,
    action         text NOT NULL,
    subject        text NOT NULL,  -- "customer:12"
    details        jsonb NOT NULL DEFAULT '{}',
    undone_at      timestamptz,
    undone_by      bigint REFERENCES users
);
CREATE INDEX audit_log_subject ON audit_log (workspace_id, subject, id);

CREATE TABLE cases (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id         bigint NOT NULL REFERENCES workspaces,
    customer_id          bigint NOT NULL REFERENCES customers,
    subject              text NOT NULL,
    status               text NOT NULL DEFAULT 'new'
                         CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    priority             text NOT NULL DEFAULT 'normal'
                         CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    category             text NOT NULL DEFAULT '',
    owner_user_id        bigint REFERENCES users,
    team                 text,  -- a queue name
    public_token         text NOT NULL UNIQUE,
    opened_at            timestamptz NOT NULL DEFAULT now(),
    status_changed_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at          timestamptz,
    closed_at            timestamptz,
    -- SLA clocks: each target's deadline while it runs; met_at when answered in time or late.
    first_response_due   timestamptz,
    first_response_at    timestamptz,
    next_response_due    timestamptz,
    resolution_due       timestamptz,
    -- The resolution clock stops while pending the customer: business seconds used so far.
    resolution_used_seconds double precision NOT NULL DEFAULT 0,
    resolution_clock_from timestamptz,  -- NULL while paused or stopped
    warned_at            timestamptz,   -- when it was near breach (priority raised, alerted)
    -- The customer wrote and nobody has answered yet (starts the next-response target).
    customer_waiting_since timestamptz,
    -- Something changed that the SLA keeper must turn into deadlines (business time is
    -- computed in Python, from the calendars in the config).
    sla_dirty            boolean NOT NULL DEFAULT false,
    created_by           bigint REFERENCES users
);
CREATE INDEX cases_dirty ON cases (workspace_id) WHERE sla_dirty;
CREATE INDEX cases_customer ON cases (customer_id, id);
CREATE INDEX cases_status ON cases (workspace_id, status, id);
-- The deadline a case must meet next: the first response until it is given, the next response
-- while the customer waits, the resolution while its clock runs. The workflow keeper finds
-- cases close to or past it through this index.
CREATE FUNCTION cc_case_deadline(first_response_at timestamptz, first_response_due timestamptz,
                                 next_response_due timestamptz, resolution_due timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT least(CASE WHEN first_response_at IS NULL THEN first_response_due END,
                 next_response_due, resolution_due)
$$;
CREATE INDEX cases_due ON cases (workspace_id, cc_case_deadline(first_response_at,
    first_response_due, next_response_due, resolution_due))
    WHERE status NOT IN ('resolved', 'closed');

CREATE TABLE sla_breaches (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    case_id        bigint NOT NULL REFERENCES cases,
    target         text NOT NULL CHECK (target IN ('first_response', 'next_response', 'resolution')),
    due_at         timestamptz NOT NULL,
    breached_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, target, due_at)
);

CREATE TABLE leads (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    customer_id    bigint NOT NULL REFERENCES customers,
    interaction_id bigint REFERENCES interactions,
    source_channel text,
    status         text NOT NULL DEFAULT 'new'
                   CHECK (status IN ('new', 'qualified', 'disqualified', 'converted')),
    title          text NOT NULL,
    owner_user_id  bigint REFERENCES users,
    notes          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    status_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX leads_customer ON leads (customer_id, id);
CREATE INDEX leads_status ON leads (workspace_id, status, id);

CREATE TABLE opportunities (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    customer_id    bigint NOT NULL REFERENCES customers,
    lead_id        bigint UNIQUE REFERENCES leads,
    name           text NOT NULL,
    stage          text NOT NULL,
    amount         numeric(14, 2) NOT NULL DEFAULT 0,
    currency       char(3) NOT NULL,
    expected_close date,
    probability    integer NOT NULL CHECK (probability BETWEEN 0 AND 100),
    owner_user_id  bigint REFERENCES users,
    created_at     timestamptz NOT NULL DEFAULT now(),
    stage_changed_at timestamptz NOT NULL DEFAULT now(),
    closed_at      timestamptz
);
CREATE INDEX opportunities_stage ON opportunities (workspace_id, stage, id);
CREATE INDEX opportunities_customer ON opportunities (customer_id, id);

CREATE TABLE tasks (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    title          text NOT NULL,
    assignee_user_id bigint NOT NULL REFERENCES users,
    customer_id    bigint REFERENCES customers,
    case_id        bigint REFERENCES cases,
    lead_id        bigint REFERENCES leads,
    opportunity_id bigint REFERENCES opportunities,
    due_at         timestamptz NOT NULL,
    done_at        timestamptz,
    overdue_notified_at timestamptz,
    created_by     bigint REFERENCES users,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_assignee ON tasks (assignee_user_id, due_at) WHERE done_at IS NULL;
CREATE INDEX tasks_overdue ON tasks (workspace_id, due_at)
    WHERE done_at IS NULL AND overdue_notified_at IS NULL;

ALTER TABLE interactions
    ADD COLUMN case_id bigint REFERENCES cases,
    ADD COLUMN lead_id bigint REFERENCES leads;
CREATE INDEX interactions_case ON interactions (case_id) WHERE case_id IS NOT NULL;

-- The conversation moves the case's SLA: the customer writing starts the next-response clock
-- (and reopens a pending or resolved case), an agent's reply answers it. A trigger, so that
-- every channel's intake (including the one-round-trip SMS intake function) keeps it true.
CREATE FUNCTION cc_case_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_case bigint;
BEGIN
    SELECT case_id INTO v_case FROM interactions WHERE id = NEW.interaction_id;
    IF v_case IS NULL THEN
        RETURN NULL;
    END IF;
    IF NEW.direction = 'inbound' THEN
        UPDATE cases SET
            customer_waiting_since = coalesce(customer_waiting_since, NEW.created_at),
            status_changed_at = CASE WHEN status IN ('pending', 'resolved') THEN NEW.created_at
                                     ELSE status_changed_at END,
            resolved_at = CASE WHEN status = 'resolved' THEN NULL ELSE resolved_at END,
            status = CASE WHEN status IN ('pending', 'resolved') THEN 'open' ELSE status END,
            sla_dirty = true
        WHERE id = v_case AND status <> 'closed';
    ELSIF NEW.direction = 'outbound' AND NEW.author_user_id IS NOT NULL THEN
        -- Answered late: the breach is recorded now, before the deadline is cleared.
        INSERT INTO sla_breaches (workspace_id, case_id, target, due_at, breached_at)
        SELECT c.workspace_id, c.id, t.target, t.due, NEW.created_at
        FROM cases c, LATERAL (VALUES
            ('first_response', CASE WHEN c.first_response_at IS NULL THEN c.first_response_due END),
            ('next_response', c.next_response_due)) t(target, due)
        WHERE c.id = v_case AND t.due IS NOT NULL AND t.due < NEW.created_at
        ON CONFLICT DO NOTHING;
        UPDATE cases SET
            first_response_at = coalesce(first_response_at, NEW.created_at),
            customer_waiting_since = NULL, next_response_due = NULL,
            status_changed_at = CASE WHEN status = 'new' THEN NEW.created_at
                                     ELSE status_changed_at END,
            status = CASE WHEN status = 'new' THEN 'open' ELSE status END
        WHERE id = v_case;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_move_case_sla AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.direction IN ('inbound', 'outbound'))
    EXECUTE FUNCTION cc_case_on_message();

-- Outgoing webhooks: each subscription reads the event log from its own cursor, so an event
-- is queued for it exactly once, and each delivery is retried until it lands or gives up.
CREATE TABLE webhook_cursors (
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    subscription   text NOT NULL,
    last_event_id  bigint NOT NULL,
    PRIMARY KEY (workspace_id, subscription)
);
CREATE TABLE webhook_deliveries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces,
    subscription   text NOT NULL,
    event_id       bigint NOT NULL REFERENCES event_log,
    attempts       integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at   timestamptz,
    failed_at      timestamptz,
    last_error     text,
    UNIQUE (subscription, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (workspace_id, next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
