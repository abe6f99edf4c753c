"""The reference app's undo activities: each reverses one step "if present", so twice is harmless.

The saga primitive itself is Sagaway's (`sagaway.Saga`); an activity is an undo because a
workflow registers it with `saga.add_compensation`, wherever it lives.
"""
