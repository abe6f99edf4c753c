-- Dispatchers in other processes (`sagaway dispatcher`) LISTEN on `sagaway_inbox`: an event
-- committed due now (accept_mode=queue, Temporal known down, or waiting behind an earlier event
-- of its partition) wakes them at once, whichever gateway committed it and at no round trip of
-- its own. An event its request dispatches itself is leased, not due, and notifies nobody.
CREATE FUNCTION inbox_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sagaway_inbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER inbox_due AFTER INSERT ON inbox FOR EACH ROW
    WHEN (NEW.status = 'queued' AND NEW.next_attempt_at <= now())
    EXECUTE FUNCTION inbox_notify_due();
