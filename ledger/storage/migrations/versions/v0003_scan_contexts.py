"""0003: distinct scan contexts per item (``scans.py``), what the clone rules read.

``scan_contexts`` keeps one row per item and context (platform, stream, listing, seller,
device hash, place) with the latest time it was seen, so reading an item's recent contexts
no longer grows with its scans. The upgrade fills it from ``scan_records`` (the clone rules
keep their evidence across the upgrade), then drops ``scan_records_item_time``, which
served only the old read and cost every insert. The downgrade puts the index back and drops
the table, which holds nothing that ``scan_records`` does not.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Text

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_FIELDS = ("platform", "stream_id", "listing_id", "seller", "device", "place")


def upgrade() -> None:
    op.create_table(
        "scan_contexts",
        Column("item_id", Text, primary_key=True),
        *(Column(name, Text, primary_key=True) for name in _FIELDS),
        Column("latest", BigInteger, nullable=False),
    )
    op.create_index("scan_contexts_item_latest", "scan_contexts", ["item_id", "latest"])
    op.create_index("scan_contexts_latest", "scan_contexts", ["latest"])
    key = ", ".join(("item_id", *_FIELDS))
    op.execute(
        f"INSERT INTO scan_contexts ({key}, latest) "  # noqa: S608 - fixed column names
        f"SELECT {key}, MAX(time) FROM scan_records GROUP BY {key}"
    )
    op.drop_index("scan_records_item_time", table_name="scan_records")


def downgrade() -> None:
    op.create_index("scan_records_item_time", "scan_records", ["item_id", "time"])
    op.drop_index("scan_contexts_latest", table_name="scan_contexts")
    op.drop_index("scan_contexts_item_latest", table_name="scan_contexts")
    op.drop_table("scan_contexts")
