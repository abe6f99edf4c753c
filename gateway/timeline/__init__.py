"""A business key's story: events, decisions, runs, steps and operators' actions in order."""
