-- Webhooks: an event made from a provider's delivery keeps the raw delivery (the headers it
-- was verified with, and the body) beside it, sealed with the payload codec key, so its
-- signature can be verified again (`sagaway webhooks verify`). NULL for posted CloudEvents.
ALTER TABLE inbox
    ADD COLUMN delivery     bytea,
    ADD COLUMN delivery_key text;          -- the codec key that sealed it (NULL: unsealed)
