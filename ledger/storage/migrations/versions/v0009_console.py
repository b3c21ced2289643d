"""0009: the web console's tables (``console_*``): accounts, invites, passkeys, sessions,
WebAuthn challenges and the audit trail of console actions.

State outside the log, like the platform's API keys. No private key is ever stored: an
account holds its actor's public key while it waits for approval, passkeys are WebAuthn
public keys, and invite and session tokens are kept as SHA-256 hashes. Dropping the tables
on the way down signs everybody out and forgets the console's accounts and audit trail;
the log is untouched.

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Integer, LargeBinary, Text

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0009"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_Seq = BigInteger().with_variant(Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "console_accounts",
        Column("account_id", Text, primary_key=True),
        Column("role", Text, nullable=False),
        Column("actor_id", Text, nullable=False),
        Column("name", Text, nullable=False, unique=True),
        Column("status", Text, nullable=False),
        Column("password_hash", Text, nullable=False),
        Column("totp_secret", Text, nullable=False),
        Column("pending_key", Text, nullable=False),
        Column("identity_level", Text, nullable=False),
        Column("identity_note", Text, nullable=False),
        Column("handle", Text, nullable=False),
        Column("created", BigInteger, nullable=False),
        Column("updated", BigInteger, nullable=False),
    )
    op.create_index("ix_console_accounts_actor_id", "console_accounts", ["actor_id"])
    op.create_table(
        "console_invites",
        Column("token_hash", LargeBinary, primary_key=True),
        Column("role", Text, nullable=False),
        Column("actor_id", Text, nullable=False),
        Column("name", Text, nullable=False),
        Column("handle", Text, nullable=False),
        Column("created_by", Text, nullable=False),
        Column("created", BigInteger, nullable=False),
        Column("expires", BigInteger, nullable=False),
        Column("used", BigInteger, nullable=False),
        Column("totp_secret", Text, nullable=False),
    )
    op.create_table(
        "console_passkeys",
        Column("credential_id", Text, primary_key=True),
        Column("account_id", Text, nullable=False),
        Column("public_key", LargeBinary, nullable=False),
        Column("sign_count", BigInteger, nullable=False),
        Column("created", BigInteger, nullable=False),
    )
    op.create_index("ix_console_passkeys_account_id", "console_passkeys", ["account_id"])
    op.create_table(
        "console_sessions",
        Column("token_hash", LargeBinary, primary_key=True),
        Column("account_id", Text, nullable=False),
        Column("csrf", Text, nullable=False),
        Column("created", BigInteger, nullable=False),
        Column("last_seen", BigInteger, nullable=False),
        Column("expires", BigInteger, nullable=False),
    )
    op.create_index("ix_console_sessions_account_id", "console_sessions", ["account_id"])
    op.create_table(
        "console_challenges",
        Column("challenge_id", Text, primary_key=True),
        Column("purpose", Text, nullable=False),
        Column("challenge", LargeBinary, nullable=False),
        Column("subject", Text, nullable=False),
        Column("expires", BigInteger, nullable=False),
    )
    op.create_table(
        "console_audit",
        Column("seq", _Seq, primary_key=True, autoincrement=True),
        Column("time", BigInteger, nullable=False),
        Column("account_id", Text, nullable=False),
        Column("role", Text, nullable=False),
        Column("actor_id", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("target", Text, nullable=False),
        Column("outcome", Text, nullable=False),
        Column("detail", Text, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "console_audit",
        "console_challenges",
        "console_sessions",
        "console_passkeys",
        "console_invites",
        "console_accounts",
    ):
        op.drop_table(name)
