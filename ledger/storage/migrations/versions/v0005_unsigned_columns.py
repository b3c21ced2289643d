"""0005: no stored column that the audit cannot check (docs/decisions.md, 24).

``checkpoints.created_at`` (when the operator signed, in ms) is not in the signed note, and
``witness_cosignatures.received`` (when the service was handed a cosignature) is not in the
cosignature: nothing can tell a true value from an edited one, and nothing reads them. Both
are dropped. Every other column of the log's tables is recomputed from signed bytes by
``tracemark audit``. The downgrade adds them back, filled with 0.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_DROPPED = (("checkpoints", "created_at"), ("witness_cosignatures", "received"))


def _has_column(table: str, column: str) -> bool:
    return any(c["name"] == column for c in inspect(op.get_bind()).get_columns(table))


def upgrade() -> None:
    for table, column in _DROPPED:
        # A development build's witness table (see 0002) may never have had the column.
        # Plain ALTER TABLE on both dialects: SQLite (3.35+) drops the column in place, so
        # the append-only triggers on ``checkpoints`` stay as they are.
        if _has_column(table, column):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def downgrade() -> None:
    for table, column in _DROPPED:
        if not _has_column(table, column):
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} BIGINT NOT NULL DEFAULT 0")
