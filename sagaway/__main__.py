"""`python -m sagaway` is the `sagaway` command."""

from sagaway.cli import app

app()
