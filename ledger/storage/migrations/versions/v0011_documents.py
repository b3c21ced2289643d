"""0011: the content-addressed document store in the database (``documents``).

Documents that attestations name by SHA-256 (certificates, test reports; later product
images), kept outside the log when ``TRACEMARK_DOCUMENT_STORE=sql`` (the default). The
store re-hashes every read, so an altered row is refused, never served. Dropping the table
on the way down loses the documents (not the log: the attestations keep their hashes, and a
qualification whose document is missing is not valid until it is stored again).

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, LargeBinary, Text

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0011"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        Column("sha256", Text, primary_key=True),
        Column("content_type", Text, nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("data", LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("documents")
