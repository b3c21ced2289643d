"""0008: the overlays' short codes (``platform_short_codes``, ledger/usecases/short_codes.py).

Operational state kept outside the log: which overlay (platform, listing, stream) a typed
code such as ``K7M-2QX`` opens, until when, and whether it was revoked. A server that
created the platform tables before this revision makes the table itself at start
(``SqlPlatformStore.create_schema``), so it may exist already and is kept. Dropping it on the
way down ends every short code; no provenance is lost.

Revision ID: 0008
Revises: 0011 (written beside 0007, 0009 and 0011; re-chained after them when main was merged)
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Text, inspect

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0008"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if inspect(op.get_bind()).has_table("platform_short_codes"):
        return
    op.create_table(
        "platform_short_codes",
        Column("code", Text, primary_key=True),
        Column("platform", Text, nullable=False),
        Column("listing_id", Text, nullable=False),
        Column("stream_id", Text, nullable=False),
        Column("created", BigInteger, nullable=False),
        Column("expires", BigInteger, nullable=False),
        Column("revoked", BigInteger, nullable=False),
    )
    op.create_index(
        "platform_short_codes_overlay",
        "platform_short_codes",
        ["platform", "listing_id", "stream_id"],
    )


def downgrade() -> None:
    op.drop_index("platform_short_codes_overlay", table_name="platform_short_codes")
    op.drop_table("platform_short_codes")
