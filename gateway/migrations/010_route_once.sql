-- Route once: intake decides everything dispatch needs, and the inbox keeps it.

-- Each row is one delivery of an event to one trigger. `route` numbers the event's selected
-- triggers in declaration order (0 is the first); dedup stays per event: a group commit writes
-- every route of an event in one statement, and a duplicate conflicts on route 0.
ALTER TABLE inbox ADD COLUMN route smallint NOT NULL DEFAULT 0;
-- The trigger this delivery is for (`Trigger.name`: "<workflow type>/<event type>").
ALTER TABLE inbox ADD COLUMN trigger text;
-- The workflow's input as intake validated and serialized it (JSON), handed to Temporal as is.
ALTER TABLE inbox ADD COLUMN payload bytea;
-- What intake rendered for the start: business key, priority, fairness, summary.
ALTER TABLE inbox ADD COLUMN routing jsonb;
-- What the gateway routes at start (`gateway/intake/backfill.py`): waiting rows an older gateway
-- committed without routing. Every row written from now on has a payload, so it stays small.
CREATE INDEX inbox_unrouted ON inbox (seq) WHERE payload IS NULL
    AND status IN ('queued', 'held', 'debounced', 'batched');
ALTER TABLE inbox DROP CONSTRAINT inbox_tenant_source_id_key;
CREATE UNIQUE INDEX inbox_event_route ON inbox (tenant, source, id, route);
DROP INDEX inbox_body_digest;
CREATE UNIQUE INDEX inbox_body_digest ON inbox (tenant, source, body_digest)
    WHERE body_digest IS NOT NULL AND route = 0;

-- One group of new deliveries, committed in one statement (`gateway/inbox/commit.py`): the
-- group's partitions are locked first, in the order of the locks' numbers (no deadlock between
-- gateways, whatever else they lock), so each
-- insert below sees every earlier event of its partitions (a volatile function's statements
-- take a fresh snapshot). A delivery waits (due now, for the loop) when an earlier event of
-- its partition is still queued, in the table or earlier in the group; the others are leased
-- to the request that will dispatch them. Returns the rows inserted, by position in the group.
CREATE FUNCTION inbox_commit(
    p_source text[], p_id text[], p_type text[], p_hash bytea[], p_event text[],
    p_correlation text[], p_workflow text[], p_partition text[], p_lease interval[],
    p_trace text[], p_tenant text[], p_delivery bytea[], p_delivery_key text[],
    p_route smallint[], p_trigger text[], p_payload bytea[], p_routing text[]
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
            p_trigger, p_payload, p_routing)
            WITH ORDINALITY AS t(source, id, type, hash, event, correlation, workflow, part,
                lease, trace, tenant, delivery, delivery_key, route, trigger, payload, routing,
                ord)
    ), decided AS (
        SELECT input.*, input.part IS NOT NULL AND (
            EXISTS (SELECT 1 FROM inbox q WHERE q.partition_key = input.part
                AND q.status = 'queued')
            OR EXISTS (SELECT 1 FROM input e WHERE e.part = input.part AND e.ord < input.ord)
        ) AS waits FROM input
    ), new AS (
        INSERT INTO inbox AS i (source, id, type, content_hash, event, correlation_id,
            workflow_id, partition_key, next_attempt_at, trace_context, tenant, delivery,
            delivery_key, route, trigger, payload, routing)
        SELECT source, id, type, hash, event::jsonb, correlation, workflow, part,
            now() + CASE WHEN waits THEN interval '0' ELSE lease END, trace::jsonb, tenant,
            delivery, delivery_key, route, trigger, payload, routing::jsonb
        FROM decided ORDER BY ord
        ON CONFLICT (tenant, source, id, route) DO NOTHING
        RETURNING i.seq, i.received_at, i.tenant, i.source, i.id, i.route
    )
    SELECT d.ord, new.seq, new.received_at, d.waits FROM new JOIN decided d
        ON (d.tenant, d.source, d.id, d.route) = (new.tenant, new.source, new.id, new.route);
END $$;
