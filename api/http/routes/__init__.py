"""HTTP routes of the Tracemark service, one module per area (see api/http/app.py)."""
