"""Dispatch: start or signal each committed delivery as intake routed it; the retrying loop."""
