"""0002: witness cosignatures of the log's checkpoints (``witnesses.py``).

Operational state kept outside the log; dropping it on the way down loses no provenance.
Development builds between 52bd650 and this revision created the same table without
migrations: on their databases (adopted through 0001) it is already there and kept.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Text, inspect

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if inspect(op.get_bind()).has_table("witness_cosignatures"):
        return
    op.create_table(
        "witness_cosignatures",
        Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
        Column("witness", Text, primary_key=True),
        Column("key_id", Text, primary_key=True),
        Column("timestamp", BigInteger, nullable=False),
        Column("line", Text, nullable=False),
        Column("note", Text, nullable=False),
        Column("received", BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("witness_cosignatures")
