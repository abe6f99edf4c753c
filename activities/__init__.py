"""The reference app's forward steps: clients of the demo services, one class per service.

Each class is built with the `ServiceClient` it calls (the manifest, `workflows/app.py`, builds
them; a test can hand them another), and every change it makes carries an idempotency key.
"""
