-- The inbox: every accepted event, committed before the producer hears 2xx.
CREATE TABLE inbox (
    seq             bigserial PRIMARY KEY,          -- arrival order
    source          text        NOT NULL,
    id              text        NOT NULL,
    type            text        NOT NULL,
    content_hash    bytea       NOT NULL,
    event           jsonb       NOT NULL,           -- the event in structured form
    correlation_id  text        NOT NULL,
    workflow_id     text        NOT NULL,
    status          text        NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'started', 'signaled', 'dead_lettered')),
    run_id          text,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    dispatched_at   timestamptz,
    UNIQUE (source, id)
);

-- The dispatcher's work list: queued events in arrival order.
CREATE INDEX inbox_queued ON inbox (seq) WHERE status = 'queued';

-- Events that reached the gateway but could not be routed, validated or delivered.
CREATE TABLE dead_letters (
    id           bigserial   PRIMARY KEY,
    created_at   timestamptz NOT NULL DEFAULT now(),
    reason       text        NOT NULL,
    detail       text        NOT NULL,
    event_source text,
    event_id     text,
    event_type   text,
    event        jsonb,
    errors       jsonb
);
CREATE INDEX dead_letters_reason ON dead_letters (reason, created_at);
