"""0006: as a witness of other logs, what was last cosigned per origin (``witnessed_logs``).

Operational state of the witness role (C2SP tlog-witness), kept outside the log: the tree
size, root hash and signed checkpoint last cosigned for each followed log. Dropping it on the
way down makes the witness forget where each log was, so it would cosign from scratch
again; the log's own provenance is untouched.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, LargeBinary, Text

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "witnessed_logs",
        Column("origin", Text, primary_key=True),
        Column("tree_size", BigInteger, nullable=False),
        Column("root_hash", LargeBinary, nullable=False),
        Column("note", Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("witnessed_logs")
