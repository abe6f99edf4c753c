"""The worker runtime: runs one app's workflows and activities (the CLI hands it the app)."""
