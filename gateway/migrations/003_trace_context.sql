-- The trace an event arrived in (W3C traceparent, tracestate and baggage), so a dispatch from
-- the background loop, minutes later or from another gateway, joins the same trace.
ALTER TABLE inbox ADD COLUMN trace_context jsonb;
