-- Per-workflow ordering: events whose trigger asks for it carry a partition key (the workflow
-- id); the dispatcher delivers a partition's events one at a time, in arrival order.
ALTER TABLE inbox ADD COLUMN partition_key text;
CREATE INDEX inbox_partition_queued ON inbox (partition_key, seq)
    WHERE status = 'queued' AND partition_key IS NOT NULL;

-- Dead letters from runs (workflow failed, compensation failed) name the run, and every dead
-- letter remembers its replay, so replaying twice does nothing the second time.
ALTER TABLE dead_letters
    ADD COLUMN inbox_seq      bigint,
    ADD COLUMN workflow_id    text,
    ADD COLUMN run_id         text,
    ADD COLUMN undos_ran      boolean     NOT NULL DEFAULT false,
    ADD COLUMN replayed_at    timestamptz,
    ADD COLUMN replay_outcome jsonb;
CREATE INDEX dead_letters_created ON dead_letters (created_at);
CREATE UNIQUE INDEX dead_letters_run ON dead_letters (workflow_id, run_id, reason)
    WHERE run_id IS NOT NULL;
