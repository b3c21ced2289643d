"""0013: the producer console's products (``console_products``): vi/en display names and
the document-store name (SHA-256) of an optional re-encoded picture, per producer and GTIN
(docs/decisions.md 46).

State outside the log, like the other console tables; no key of any kind. Dropping the
table on the way down forgets the display names and which picture is whose (the pictures
stay in the document store); the log is untouched.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Text

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "console_products",
        Column("actor_id", Text, primary_key=True),
        Column("gtin", Text, primary_key=True),
        Column("name_vi", Text, nullable=False),
        Column("name_en", Text, nullable=False),
        Column("image_sha256", Text, nullable=False),
        Column("image_type", Text, nullable=False),
        Column("created", BigInteger, nullable=False),
        Column("updated", BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_products")
