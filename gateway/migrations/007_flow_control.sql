-- Flow control: an event of a controlled trigger may be held, debounced, batched or dropped
-- instead of started, and the ledger says for every event what was decided and why.
ALTER TABLE inbox DROP CONSTRAINT inbox_status_check;
ALTER TABLE inbox ADD CONSTRAINT inbox_status_check CHECK (status IN (
    'queued', 'started', 'signaled', 'dead_lettered', 'held', 'debounced', 'batched', 'dropped'));

ALTER TABLE inbox
    ADD COLUMN reason       text,          -- why it is held, gathered or dropped
    ADD COLUMN slot_key     text,          -- concurrency or singleton key: its run takes a slot
    ADD COLUMN throttle_key text,
    ADD COLUMN rate_key     text,          -- set on events the rate limit let through
    ADD COLUMN group_key    text,          -- debounce or batch key
    ADD COLUMN lead_seq     bigint,        -- the event whose run this one went into
    ADD COLUMN priority     smallint,      -- 1 first … 5 last; held events leave in this order
    ADD COLUMN closed_at    timestamptz;   -- its run closed: the slot is free

-- The open slots of a trigger: events started (or about to be) whose run is not seen closed.
CREATE INDEX inbox_slots ON inbox (type, slot_key)
    WHERE slot_key IS NOT NULL AND closed_at IS NULL AND status IN ('queued', 'started');
-- What flow control is waiting on, in the order it leaves.
CREATE INDEX inbox_waiting ON inbox (type, coalesce(priority, 3), seq)
    WHERE status IN ('held', 'debounced', 'batched') AND lead_seq IS NULL;
CREATE INDEX inbox_rate ON inbox (type, rate_key, received_at) WHERE rate_key IS NOT NULL;
CREATE INDEX inbox_lead ON inbox (lead_seq) WHERE lead_seq IS NOT NULL;

-- A throttle's state per key (GCRA): the theoretical time of the next start at the steady rate.
CREATE TABLE flow_throttle (
    type text        NOT NULL,
    key  text        NOT NULL,
    tat  timestamptz NOT NULL,
    PRIMARY KEY (type, key)
);

-- The ledger: every flow decision about an event (held, released, dropped, replaced, ...).
-- Receipt and delivery are read from the inbox row itself, so an uncontrolled event writes
-- nothing here.
CREATE TABLE event_decisions (
    id          bigserial   PRIMARY KEY,
    inbox_seq   bigint      NOT NULL REFERENCES inbox (seq) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    decision    text        NOT NULL,
    reason      text,
    related_seq bigint,                    -- the event that replaced it, or that it went into
    detail      text
);
CREATE INDEX event_decisions_event ON event_decisions (inbox_seq, id);

-- Retention also prunes events that were dropped or went into another's run; an event whose
-- run still holds a slot is kept, so the slot is never forgotten.
DROP INDEX inbox_delivered;
CREATE INDEX inbox_delivered ON inbox (dispatched_at)
    WHERE status IN ('started', 'signaled', 'dropped', 'debounced', 'batched');

-- Dispatchers in other processes hear of an event that becomes due by an update too (a held
-- event released, a window's lead), as they hear of one inserted due (migration 006).
CREATE TRIGGER inbox_released AFTER UPDATE OF status ON inbox FOR EACH ROW
    WHEN (OLD.status <> 'queued' AND NEW.status = 'queued' AND NEW.next_attempt_at <= now())
    EXECUTE FUNCTION inbox_notify_due();
