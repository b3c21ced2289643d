"""0007: shoppers' reports about items (``item_reports``), kept outside the log.

What a viewer reports from an item's page (``POST /v1/reports``): the item, its producer,
the reason, an optional short text and contact, the coarse context and who vouches for it.
Never evidence of custody and never read by a verdict. Dropping it on the way down loses
the reports, not the log's provenance.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Text

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_TEXT = (
    "item_id",
    "gtin",
    "producer",
    "status",
    "reason",
    "text",
    "contact",
    "platform",
    "stream_id",
    "listing_id",
    "seller",
    "source",
    "session",
)


def upgrade() -> None:
    op.create_table(
        "item_reports",
        Column("report_id", Text, primary_key=True),
        Column("time", BigInteger, nullable=False),
        *(Column(name, Text, nullable=False) for name in _TEXT),
    )
    op.create_index("item_reports_producer_time", "item_reports", ["producer", "time"])


def downgrade() -> None:
    op.drop_index("item_reports_producer_time", table_name="item_reports")
    op.drop_table("item_reports")
