"""0012: the rotating salts of device hashes (``scan_salts``: one random salt per period).

Device hashes kept with scans are salted per period; every worker and replica reads the
period's salt from here, and the pruner forgets the salts of past periods (docs/privacy.md,
docs/decisions.md 45). Dropping the table on the way down forgets every salt: hashes made
afterwards cannot be linked to earlier ones, which is what rotation does anyway.

Revision ID: 0012
Revises: 0008 (written against 0006; chained after main's head when main was merged in)
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, LargeBinary

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0012"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "scan_salts",
        Column("period", BigInteger, primary_key=True, autoincrement=False),
        Column("salt", LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scan_salts")
