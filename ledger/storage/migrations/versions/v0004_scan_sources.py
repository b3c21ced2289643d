"""0004: every scan context says who vouches for it (``source``) and which declared stream
session it is bound to (``session``): ledger/verdicts/evidence.py.

``scan_records`` gains both columns. ``scan_contexts`` has them in its primary key, so it is
made anew and filled from ``scan_records``. Every scan recorded before this revision is
``anonymous``: nothing vouched for its context then, so none of it may change what others
see now (the clone rules read vouched contexts only). The downgrade drops the columns and
merges contexts that differed only in them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Text

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_OLD = ("platform", "stream_id", "listing_id", "seller", "device", "place")
_NEW = (*_OLD, "source", "session")


def _contexts(fields: tuple[str, ...]) -> None:
    op.create_table(
        "scan_contexts",
        Column("item_id", Text, primary_key=True),
        *(Column(name, Text, primary_key=True) for name in fields),
        Column("latest", BigInteger, nullable=False),
    )
    op.create_index("scan_contexts_latest", "scan_contexts", ["latest"])
    key = ", ".join(("item_id", *fields))
    op.execute(
        f"INSERT INTO scan_contexts ({key}, latest) "  # noqa: S608 - fixed column names
        f"SELECT {key}, MAX(time) FROM scan_records GROUP BY {key}"
    )


def _drop_contexts(indexes: tuple[str, ...]) -> None:
    for name in indexes:
        op.drop_index(name, table_name="scan_contexts")
    op.drop_table("scan_contexts")


def upgrade() -> None:
    with op.batch_alter_table("scan_records") as batch:
        batch.add_column(Column("source", Text, nullable=False, server_default="anonymous"))
        batch.add_column(Column("session", Text, nullable=False, server_default=""))
    _drop_contexts(("scan_contexts_latest", "scan_contexts_item_latest"))
    _contexts(_NEW)
    op.create_index(
        "scan_contexts_item_source_latest", "scan_contexts", ["item_id", "source", "latest"]
    )


def downgrade() -> None:
    _drop_contexts(("scan_contexts_latest", "scan_contexts_item_source_latest"))
    with op.batch_alter_table("scan_records") as batch:
        batch.drop_column("session")
        batch.drop_column("source")
    _contexts(_OLD)
    op.create_index("scan_contexts_item_latest", "scan_contexts", ["item_id", "latest"])
