-- Security review.

-- A dead letter belongs to the tenant its writer names: the gateway the event's, the worker
-- the run's own (its `Tenant` search attribute). The trigger that looked a run's tenant up in
-- the inbox gave the letter to 'default' once the event's row was pruned; it is gone, and a
-- letter without a tenant is refused.
DROP TRIGGER dead_letters_tenant ON dead_letters;
DROP FUNCTION dead_letters_fill_tenant();
ALTER TABLE dead_letters ALTER COLUMN tenant SET NOT NULL;

-- GitHub signs only a delivery's body: its delivery id (and event header) are not signed, so
-- a body is received once per webhook whatever id it comes with (`gateway/webhooks`).
ALTER TABLE inbox ADD COLUMN body_digest bytea;
CREATE UNIQUE INDEX inbox_body_digest ON inbox (tenant, source, body_digest)
    WHERE body_digest IS NOT NULL;
