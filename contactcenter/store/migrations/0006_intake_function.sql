-- Intake in one round trip. A webhook used to cost about a dozen statements, each a round trip
-- between the server and PostgreSQL; on a small machine those trips, not the work, set the
-- latency Twilio sees. The same steps now run inside the database, called once.

-- A waiting interaction's place in its queue and an estimated wait (NULL when not waiting).
-- Place: interactions of the same queue that routing takes first (higher priority, or the same
-- priority and earlier). Wait: place times the queue's average handle time over its last 200
-- answered interactions of the past week, shared among the agents available now. Each part
-- reads an index range, never the queue's whole history.
CREATE INDEX interactions_waiting_order ON interactions (workspace_id, queue_id, priority, queued_at, id)
    WHERE state IN ('queued', 'offered');
CREATE INDEX interactions_recently_handled ON interactions (workspace_id, queue_id, ended_at)
    WHERE answered_at IS NOT NULL;
-- The routing leader looks up the agent who last served a customer with every queued interaction.
CREATE INDEX interactions_by_customer ON interactions (customer_id, id);
CREATE INDEX agent_presence_available ON agent_presence (workspace_id) WHERE presence = 'available';

CREATE FUNCTION cc_queue_position(p_ws bigint, p_interaction bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_it record;
    v_position bigint;
    v_handle numeric;
    v_available bigint;
BEGIN
    SELECT i.queue_id, i.priority, i.queued_at INTO v_it FROM interactions i
    WHERE i.id = p_interaction AND i.workspace_id = p_ws AND i.state IN ('queued', 'offered');
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT 1
        + (SELECT count(*) FROM interactions j
           WHERE j.workspace_id = p_ws AND j.queue_id = v_it.queue_id
             AND j.state IN ('queued', 'offered') AND j.priority > v_it.priority)
        + (SELECT count(*) FROM interactions j
           WHERE j.workspace_id = p_ws AND j.queue_id = v_it.queue_id
             AND j.state IN ('queued', 'offered') AND j.priority = v_it.priority
             AND (j.queued_at, j.id) < (v_it.queued_at, p_interaction))
    INTO v_position;
    SELECT avg(extract(epoch FROM h.ended_at - h.answered_at)) INTO v_handle FROM (
        SELECT h.ended_at, h.answered_at FROM interactions h
        WHERE h.workspace_id = p_ws AND h.queue_id = v_it.queue_id
          AND h.answered_at IS NOT NULL AND h.ended_at > now() - interval '7 days'
        ORDER BY h.ended_at DESC LIMIT 200) h;
    SELECT count(*) INTO v_available FROM agent_presence p
    WHERE p.workspace_id = p_ws AND p.presence = 'available';
    RETURN jsonb_build_object(
        'interaction_id', p_interaction, 'position', v_position,
        'estimated_wait_seconds', round(v_position * coalesce(v_handle, 180)
                                        / greatest(1, v_available)));
END
$$;

-- Resolve the customer, find or open their interaction, store the message, log the events.
-- A provider message id seen before stores nothing and answers the first result. An unknown
-- queue raises SQLSTATE CC404. With p_queue_reply_every, the customer's place in line is
-- claimed and returned when they were not told it within that many seconds. With p_threaded
-- the message joins interaction p_thread if it is still open, else starts a new one. With
-- p_acknowledge, a conversation it opens is answered with that text.
CREATE FUNCTION cc_receive_inbound(
    p_ws bigint, p_channel text, p_kind text, p_address text, p_sender_name text,
    p_provider_id text, p_body text, p_raw jsonb, p_received_at timestamptz, p_client_id text,
    p_queue text, p_subject text, p_our_address text, p_queue_reply_every integer,
    p_threaded boolean, p_thread bigint, p_acknowledge text)
RETURNS TABLE (duplicate boolean, customer_id bigint, interaction_id bigint, message_id bigint,
               new_customer boolean, new_interaction boolean, agent_id bigint,
               created_at timestamptz, events jsonb, place jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_customer bigint;
    v_interaction bigint;
    v_agent bigint;
    v_message bigint;
    v_created timestamptz;
    v_new_customer boolean := false;
    v_new_interaction boolean := false;
    v_queue record;
    v_events jsonb := '[]';
    v_event bigint;
    v_place jsonb;
    v_tell_place boolean := false;
    v_state text;
    v_reply_at timestamptz;
BEGIN
    IF p_provider_id IS NOT NULL THEN
        SELECT m.id, m.interaction_id, i.customer_id INTO v_message, v_interaction, v_customer
        FROM messages m JOIN interactions i ON i.id = m.interaction_id
        WHERE m.workspace_id = p_ws AND m.channel = p_channel AND m.provider_message_id = p_provider_id;
        IF FOUND THEN
            RETURN QUERY SELECT true, v_customer, v_interaction, v_message, false, false,
                                NULL::bigint, NULL::timestamptz, '[]'::jsonb, NULL::jsonb;
            RETURN;
        END IF;
    END IF;

    -- The identity is claimed before its customer exists (the foreign key is deferred): when
    -- two first messages from one address race, the loser waits on the unique index and
    -- adopts the winner's customer instead of leaving an orphan behind.
    SELECT ci.customer_id INTO v_customer FROM customer_identities ci
    WHERE ci.workspace_id = p_ws AND ci.kind = p_kind AND ci.address = p_address;
    IF NOT FOUND THEN
        v_customer := nextval(pg_get_serial_sequence('customers', 'id'));
        INSERT INTO customer_identities (workspace_id, customer_id, kind, address)
        VALUES (p_ws, v_customer, p_kind, p_address) ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO customers (id, workspace_id, display_name) OVERRIDING SYSTEM VALUE
            VALUES (v_customer, p_ws, left(btrim(p_sender_name), 200));
            v_new_customer := true;
            INSERT INTO event_log (workspace_id, kind, customer_id, data)
            VALUES (p_ws, 'customer.created', v_customer,
                    jsonb_build_object('kind', p_kind, 'address', p_address))
            RETURNING id INTO v_event;
            v_events := v_events || jsonb_build_object(
                'id', v_event, 'kind', 'customer.created', 'customer_id', v_customer,
                'data', jsonb_build_object('kind', p_kind, 'address', p_address));
        ELSE
            SELECT ci.customer_id INTO v_customer FROM customer_identities ci
            WHERE ci.workspace_id = p_ws AND ci.kind = p_kind AND ci.address = p_address;
        END IF;
    END IF;

    -- One intake at a time per customer, so two messages arriving together share one interaction.
    PERFORM 1 FROM customers c WHERE c.id = v_customer FOR UPDATE;

    -- The message joins their interaction only while someone may still answer it; after the
    -- agent ended the conversation (wrap-up) the next message starts a new one.
    -- A channel that threads (email) names the interaction itself, or none: a new thread.
    IF p_threaded THEN
        SELECT i.id, i.agent_id, i.state, i.queue_reply_at
        INTO v_interaction, v_agent, v_state, v_reply_at FROM interactions i
        WHERE i.id = p_thread AND i.workspace_id = p_ws AND i.channel = p_channel
          AND i.state IN ('queued', 'offered', 'assigned');
    ELSE
        SELECT i.id, i.agent_id, i.state, i.queue_reply_at
        INTO v_interaction, v_agent, v_state, v_reply_at FROM interactions i
        WHERE i.workspace_id = p_ws AND i.customer_id = v_customer AND i.channel = p_channel
          AND i.state IN ('queued', 'offered', 'assigned')
        ORDER BY i.id DESC LIMIT 1;
    END IF;
    IF NOT FOUND THEN
        SELECT q.id, q.priority INTO v_queue FROM queues q
        WHERE q.workspace_id = p_ws AND q.name = p_queue AND q.active;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no active queue named %', p_queue USING ERRCODE = 'CC404';
        END IF;
        -- A new interaction is due to tell the customer their place at once.
        INSERT INTO interactions (workspace_id, channel, state, queue_id, priority, customer_id,
                                  subject, queued_at, last_message_at, their_address,
                                  our_address, queue_reply_at)
        VALUES (p_ws, p_channel, 'queued', v_queue.id, v_queue.priority, v_customer,
                left(p_subject, 500), now(), now(), p_address, p_our_address,
                CASE WHEN p_queue_reply_every IS NOT NULL THEN now() END)
        RETURNING id INTO v_interaction;
        v_new_interaction := true;
        v_tell_place := p_queue_reply_every IS NOT NULL;
        INSERT INTO event_log (workspace_id, kind, interaction_id, customer_id, data)
        VALUES (p_ws, 'interaction.queued', v_interaction, v_customer,
                jsonb_build_object('channel', p_channel))
        RETURNING id INTO v_event;
        v_events := v_events || jsonb_build_object(
            'id', v_event, 'kind', 'interaction.queued', 'interaction_id', v_interaction,
            'customer_id', v_customer, 'data', jsonb_build_object('channel', p_channel));
    ELSE
        -- The customer's lock (above) makes this claim of the place-in-line answer theirs alone.
        v_tell_place := p_queue_reply_every IS NOT NULL AND v_state IN ('queued', 'offered')
            AND (v_reply_at IS NULL OR v_reply_at < now() - make_interval(secs => p_queue_reply_every));
        UPDATE interactions SET last_message_at = now(), their_address = p_address,
               our_address = coalesce(p_our_address, our_address),
               queue_reply_at = CASE WHEN v_tell_place THEN now() ELSE queue_reply_at END
        WHERE id = v_interaction;
    END IF;

    INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
                          provider_message_id, raw, created_at, client_id)
    VALUES (p_ws, v_interaction, p_channel, 'inbound', p_body, p_provider_id, p_raw,
            coalesce(p_received_at, now()), p_client_id)
    RETURNING id, messages.created_at INTO v_message, v_created;
    INSERT INTO event_log (workspace_id, kind, interaction_id, customer_id, data)
    VALUES (p_ws, 'message.received', v_interaction, v_customer,
            jsonb_build_object('message_id', v_message, 'channel', p_channel))
    RETURNING id INTO v_event;
    v_events := v_events || jsonb_build_object(
        'id', v_event, 'kind', 'message.received', 'interaction_id', v_interaction,
        'customer_id', v_customer,
        'data', jsonb_build_object('message_id', v_message, 'channel', p_channel));

    -- An automatic answer to a conversation's opening ({case}: its number), sent by the
    -- channel's sender like any reply.
    IF v_new_interaction AND p_acknowledge IS NOT NULL THEN
        INSERT INTO messages (workspace_id, interaction_id, channel, direction, body,
                              delivery_status)
        VALUES (p_ws, v_interaction, p_channel, 'outbound',
                replace(p_acknowledge, '{case}', v_interaction::text), 'queued');
    END IF;

    IF v_tell_place THEN
        v_place := cc_queue_position(p_ws, v_interaction);
    END IF;

    RETURN QUERY SELECT false, v_customer, v_interaction, v_message, v_new_customer,
                        v_new_interaction, v_agent, v_created, v_events, v_place;
END
$$;
