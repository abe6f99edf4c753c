"""The kernel's own Postgres tables that more than one process writes (dead letters)."""
