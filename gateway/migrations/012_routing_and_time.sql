-- Routing and time: one event delivered to several triggers, events delivered later, signals
-- that wait for their run, answers of workflow updates.

ALTER TABLE inbox DROP CONSTRAINT inbox_status_check;
ALTER TABLE inbox ADD CONSTRAINT inbox_status_check CHECK (status IN (
    'queued', 'started', 'signaled', 'dead_lettered', 'held', 'debounced', 'batched', 'dropped',
    'scheduled', 'cancelled', 'updated', 'updating'));

-- When a delayed event is due (its `deliverat`/`deliverafter`); null for an event due at once.
-- A scheduled delivery waits with `next_attempt_at` at this time; it is not queued (no backlog
-- bound counts it) and retention keeps it until it is delivered or cancelled.
ALTER TABLE inbox ADD COLUMN deliver_at timestamptz;
CREATE INDEX inbox_scheduled ON inbox (next_attempt_at) WHERE status = 'scheduled';
-- Signals parked until their run starts (`wait_for_run`): found by the workflow id a start
-- names, and looked at again when their next look is due.
CREATE INDEX inbox_parked ON inbox (workflow_id) WHERE status = 'held' AND reason = 'wait_for_run';
CREATE INDEX inbox_parked_due ON inbox (next_attempt_at)
    WHERE status = 'held' AND reason = 'wait_for_run';
-- Retention prunes cancelled events and answered updates too.
DROP INDEX inbox_delivered;
CREATE INDEX inbox_delivered ON inbox (dispatched_at) WHERE status IN
    ('started', 'signaled', 'dropped', 'debounced', 'batched', 'cancelled', 'updated');

-- The group commit of migration 010, with each delivery's status and due time, and a guard:
-- a later route of an event already known is not written (a duplicate whose filters now select
-- more triggers stays a duplicate).
DROP FUNCTION inbox_commit(text[], text[], text[], bytea[], text[], text[], text[], text[],
    interval[], text[], text[], bytea[], text[], smallint[], text[], bytea[], text[]);
CREATE FUNCTION inbox_commit(
    p_source text[], p_id text[], p_type text[], p_hash bytea[], p_event text[],
    p_correlation text[], p_workflow text[], p_partition text[], p_lease interval[],
    p_trace text[], p_tenant text[], p_delivery bytea[], p_delivery_key text[],
    p_route smallint[], p_trigger text[], p_payload bytea[], p_routing text[],
    p_status text[], p_deliver_at timestamptz[]
) RETURNS TABLE (ord bigint, seq bigint, received_at timestamptz, waits boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(h)
        FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(p_partition) AS k
              WHERE k IS NOT NULL ORDER BY h) AS keys
        ORDER BY h;
    RETURN QUERY
    WITH input AS (
        SELECT * FROM unnest(p_source, p_id, p_type, p_hash, p_event, p_correlation, p_workflow,
            p_partition, p_lease, p_trace, p_tenant, p_delivery, p_delivery_key, p_route,
            p_trigger, p_payload, p_routing, p_status, p_deliver_at)
            WITH ORDINALITY AS t(source, id, type, hash, event, correlation, workflow, part,
                lease, trace, tenant, delivery, delivery_key, route, trigger, payload, routing,
                status, deliver_at, ord)
    ), decided AS (
        SELECT input.*, input.part IS NOT NULL AND (
            EXISTS (SELECT 1 FROM inbox q WHERE q.partition_key = input.part
                AND q.status = 'queued')
            OR EXISTS (SELECT 1 FROM input e WHERE e.part = input.part AND e.ord < input.ord
                AND e.status = 'queued')
        ) AS waits FROM input
    ), new AS (
        INSERT INTO inbox AS i (source, id, type, content_hash, event, correlation_id,
            workflow_id, partition_key, next_attempt_at, trace_context, tenant, delivery,
            delivery_key, route, trigger, payload, routing, status, deliver_at)
        SELECT source, id, type, hash, event::jsonb, correlation, workflow, part,
            CASE WHEN status = 'scheduled' THEN deliver_at
                 ELSE now() + CASE WHEN waits THEN interval '0' ELSE lease END END,
            trace::jsonb, tenant, delivery, delivery_key, route, trigger, payload,
            routing::jsonb, status, deliver_at
        FROM decided d
        WHERE d.route = 0 OR NOT EXISTS (SELECT 1 FROM inbox k WHERE k.tenant = d.tenant
            AND k.source = d.source AND k.id = d.id AND k.route = 0)
        ORDER BY ord
        ON CONFLICT (tenant, source, id, route) DO NOTHING
        RETURNING i.seq, i.received_at, i.tenant, i.source, i.id, i.route
    )
    SELECT d.ord, new.seq, new.received_at, d.waits FROM new JOIN decided d
        ON (d.tenant, d.source, d.id, d.route) = (new.tenant, new.source, new.id, new.route);
END $$;
