-- A business key's story, search over every event kept, and replays by time range.

-- The timeline: a tenant's events by the business key their trigger rendered (bounded, as the
-- run's `BusinessKey` search attribute), and by correlation id.
CREATE INDEX inbox_business_key ON inbox (tenant, (routing->>'business_key'), received_at)
    WHERE routing->>'business_key' IS NOT NULL;
CREATE INDEX inbox_correlation ON inbox (tenant, correlation_id, received_at);

-- Search, newest first, one row per event (its first delivery): by time, then by content.
-- `jsonb_path_ops` answers containment (`event @> '{"data": {"customer_id": "c-1"}}'`), the
-- form an equality on a data field or an extension is translated to.
CREATE INDEX inbox_search_time ON inbox (tenant, received_at DESC, seq DESC) WHERE route = 0;
CREATE INDEX inbox_search_content ON inbox USING gin (event jsonb_path_ops) WHERE route = 0;

-- Replays by time range: what was asked, how far it went (resumed from `cursor` after a
-- restart), and who runs it now (`owner` holds it until `lease_until`).
CREATE TABLE replays (
    id          bigserial   PRIMARY KEY,
    tenant      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    request     jsonb       NOT NULL,            -- from, to, type, source, trigger, q, mode, rate
    mode        text        NOT NULL CHECK (mode IN ('if_no_runs', 'force', 'dry_run')),
    total       integer,                         -- known once the range is counted
    replayed    integer     NOT NULL DEFAULT 0,
    skipped     integer     NOT NULL DEFAULT 0,
    failed      integer     NOT NULL DEFAULT 0,
    cursor      bigint,                          -- the last inbox seq handled
    last_seq    bigint,                          -- the last inbox seq in the range
    done_at     timestamptz,
    error       text,
    owner       text,
    lease_until timestamptz
);
CREATE INDEX replays_open ON replays (id) WHERE done_at IS NULL;
-- What a replay did with each event: `replay` (dry run), `replayed`, `skip` or `failed`.
CREATE TABLE replay_items (
    replay_id    bigint NOT NULL REFERENCES replays (id) ON DELETE CASCADE,
    inbox_seq    bigint NOT NULL,
    source       text   NOT NULL,
    id           text   NOT NULL,
    type         text   NOT NULL,
    trigger      text,
    outcome      text   NOT NULL CHECK (outcome IN ('replay', 'replayed', 'skip', 'failed')),
    why          text,
    new_event_id text,
    PRIMARY KEY (replay_id, inbox_seq)
);

-- A delivery's dead letters, for the ledger and the timeline (read many at once).
CREATE INDEX dead_letters_event ON dead_letters (inbox_seq, id) WHERE inbox_seq IS NOT NULL;
