"""The SQL adapters (SQLite, PostgreSQL): log, projection, scans, witnesses, platform."""
