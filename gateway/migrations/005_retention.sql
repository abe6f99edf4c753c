-- Retention: delivered events older than the dedup window are pruned, oldest first, so the
-- inbox stays as large as the window and not as large as history. Dead-lettered and queued
-- events are never pruned.
CREATE INDEX inbox_delivered ON inbox (dispatched_at) WHERE status IN ('started', 'signaled');
