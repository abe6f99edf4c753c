"""The benchmark harness: Sagaway side by side with the bare platform, in one run.

`sagaway bench` (or `make bench`) starts its own Temporal dev server, Postgres, services,
workers and gateways on free ports, drives them in alternating A/B rounds, and writes a table,
JSON and a PNG under a results folder. See `bench.run` for the scenarios.
"""
