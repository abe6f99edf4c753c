"""Observability: traces, structured logs with the event's ids, saga metrics, correlation ids."""
