"""The reference app's event data and run results, in modules that define no workflow.

Temporal's sandbox re-imports a workflow's own module for every run; these modules it imports
once (the app passes them through), so their pydantic models are built once per worker.
"""
