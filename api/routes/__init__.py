"""HTTP routes of the Tracemark service, one module per area (see api/app.py)."""
