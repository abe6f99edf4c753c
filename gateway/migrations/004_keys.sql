-- Security: producers' API keys, the token vault, and the tenant of every event and dead letter.

-- API keys: only an argon2id hash of the secret is kept; the secret is shown once at creation.
CREATE TABLE api_keys (
    key_id      text        PRIMARY KEY,          -- the public part of the key (`sgw_<key_id>_...`)
    name        text        NOT NULL,
    tenant      text        NOT NULL,
    secret_hash text        NOT NULL,
    event_types text[]      NOT NULL DEFAULT '{}', -- glob patterns of types it may post
    sources     text[]      NOT NULL DEFAULT '{}', -- glob patterns of sources it may post
    scopes      text[]      NOT NULL DEFAULT '{}', -- operator scopes, e.g. runs:read
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- The token vault: sensitive values replaced by tokens at the gateway, sealed with the codec key.
CREATE TABLE vault (
    token      text        PRIMARY KEY,
    tenant     text        NOT NULL,
    key_id     text        NOT NULL,               -- the codec key that sealed it
    sealed     bytea       NOT NULL,               -- nonce || AES-256-GCM ciphertext
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every event belongs to its producer's tenant; (source, id) is unique within a tenant only,
-- so one tenant can neither collide with nor detect another's events.
ALTER TABLE inbox ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE inbox DROP CONSTRAINT inbox_source_id_key;
ALTER TABLE inbox ADD CONSTRAINT inbox_tenant_source_id_key UNIQUE (tenant, source, id);
CREATE INDEX inbox_workflow ON inbox (workflow_id);

ALTER TABLE dead_letters ADD COLUMN tenant text;
CREATE INDEX dead_letters_tenant ON dead_letters (tenant, id);

-- Dead letters written without a tenant (a run's, by the worker) take their event's tenant.
CREATE FUNCTION dead_letters_fill_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant IS NULL THEN
        SELECT i.tenant INTO NEW.tenant FROM inbox i
         WHERE (NEW.inbox_seq IS NOT NULL AND i.seq = NEW.inbox_seq)
            OR (NEW.inbox_seq IS NULL AND NEW.workflow_id IS NOT NULL
                AND i.workflow_id = NEW.workflow_id)
         ORDER BY i.seq LIMIT 1;
        NEW.tenant := coalesce(NEW.tenant, 'default');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER dead_letters_tenant BEFORE INSERT ON dead_letters
    FOR EACH ROW EXECUTE FUNCTION dead_letters_fill_tenant();
UPDATE dead_letters SET tenant = 'default' WHERE tenant IS NULL;
