"""The revisions, one file each (alembic loads them by path; a package so they install)."""
