"""The reference app's workflows, each with its input and result models and its triggers beside it.

The manifest is `workflows/app.py` (`SAGAWAY_APP=workflows.app:app`, the default). This file
stays empty: Temporal's sandbox imports it again for every run of a workflow below it.
"""
