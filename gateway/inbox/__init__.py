"""The inbox store: the only package with SQL on `inbox` (and the ledger's `event_decisions`)."""
