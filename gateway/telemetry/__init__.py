"""The gateway's metrics and spans."""
