"""Sagaway's kernel: settings, Temporal client and worker, triggers, CLI and the dev stack."""
