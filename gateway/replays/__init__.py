"""Replays by time range: events sent again, counted, resumable after a restart."""
