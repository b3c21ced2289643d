"""The web console's tables in the log's database (or an in-memory SQLite for the fake log):
``SqlConsoleStore``.

Records are in ``ledger/ports/console.py``. Tokens are stored as SHA-256 hashes; an invite is
redeemed by a compare-and-swap on ``used`` (single use even under races); the audit trail
is insert-only (this store has no way to change or delete a row of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ledger.errors import Conflict
from ledger.ports.console import Account, AuditRecord, Challenge, Invite, Passkey, Session
from ledger.storage.sql.transaction import transaction

__all__ = ["SqlConsoleStore", "console_metadata", "memory_console_store"]

console_metadata = MetaData()
_Seq = BigInteger().with_variant(Integer(), "sqlite")

_accounts = Table(
    "console_accounts",
    console_metadata,
    Column("account_id", Text, primary_key=True),
    Column("role", Text, nullable=False),
    Column("actor_id", Text, nullable=False, index=True),
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
_invites = Table(
    "console_invites",
    console_metadata,
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
_passkeys = Table(
    "console_passkeys",
    console_metadata,
    Column("credential_id", Text, primary_key=True),
    Column("account_id", Text, nullable=False, index=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
)
_sessions = Table(
    "console_sessions",
    console_metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("account_id", Text, nullable=False, index=True),
    Column("csrf", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
)
_challenges = Table(
    "console_challenges",
    console_metadata,
    Column("challenge_id", Text, primary_key=True),
    Column("purpose", Text, nullable=False),
    Column("challenge", LargeBinary, nullable=False),
    Column("subject", Text, nullable=False),
    Column("expires", BigInteger, nullable=False),
)
_audit = Table(
    "console_audit",
    console_metadata,
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


def _values(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _account(row: Any) -> Account:
    return Account(*row)


class SqlConsoleStore:
    """The console tables (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with self._write() as conn:
            console_metadata.create_all(conn, checkfirst=True)

    def _write(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=True)

    def _read(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=False)

    # --- accounts ------------------------------------------------------------------------------

    def add_account(self, account: Account) -> None:
        with self._write() as conn:
            taken = conn.execute(
                select(_accounts.c.account_id).where(_accounts.c.name == account.name)
            ).first()
            if taken is not None:
                raise Conflict(f"an account named {account.name!r} exists", code="name_taken")
            conn.execute(insert(_accounts).values(_values(account)))

    def put_account(self, account: Account) -> None:
        values = _values(account)
        with self._write() as conn:
            conn.execute(
                update(_accounts).where(_accounts.c.account_id == account.account_id).values(values)
            )

    def account(self, account_id: str) -> Account | None:
        with self._read() as conn:
            row = conn.execute(
                select(_accounts).where(_accounts.c.account_id == account_id)
            ).first()
        return _account(row) if row is not None else None

    def account_named(self, name: str) -> Account | None:
        with self._read() as conn:
            row = conn.execute(select(_accounts).where(_accounts.c.name == name)).first()
        return _account(row) if row is not None else None

    def accounts(self) -> list[Account]:
        with self._read() as conn:
            rows = conn.execute(select(_accounts).order_by(_accounts.c.created)).all()
        return [_account(r) for r in rows]

    # --- invites -------------------------------------------------------------------------------

    def add_invite(self, invite: Invite) -> None:
        with self._write() as conn:
            conn.execute(insert(_invites).values(_values(invite)))

    def invite(self, token_hash: bytes) -> Invite | None:
        with self._read() as conn:
            row = conn.execute(select(_invites).where(_invites.c.token_hash == token_hash)).first()
        return Invite(bytes(row[0]), *row[1:]) if row is not None else None

    def invites(self) -> list[Invite]:
        with self._read() as conn:
            rows = conn.execute(select(_invites).order_by(_invites.c.created)).all()
        return [Invite(bytes(r[0]), *r[1:]) for r in rows]

    def redeem(
        self, token_hash: bytes, now: int, account: Account, passkey: Passkey | None
    ) -> None:
        """Use the invite once and create its account (and passkey) in one transaction."""
        with self._write() as conn:
            done = conn.execute(
                update(_invites)
                .where(
                    _invites.c.token_hash == token_hash,
                    _invites.c.used == 0,
                    _invites.c.expires > now,
                )
                .values(used=now)
            )
            if done.rowcount != 1:
                raise Conflict("this invite was used or has expired", code="invite_used")
            taken = conn.execute(
                select(_accounts.c.account_id).where(_accounts.c.name == account.name)
            ).first()
            if taken is not None:
                raise Conflict(f"an account named {account.name!r} exists", code="name_taken")
            conn.execute(insert(_accounts).values(_values(account)))
            if passkey is not None:
                conn.execute(insert(_passkeys).values(_values(passkey)))

    # --- passkeys ------------------------------------------------------------------------------

    def passkey(self, credential_id: str) -> Passkey | None:
        with self._read() as conn:
            row = conn.execute(
                select(_passkeys).where(_passkeys.c.credential_id == credential_id)
            ).first()
        return Passkey(row[0], row[1], bytes(row[2]), row[3], row[4]) if row else None

    def passkeys(self, account_id: str) -> list[Passkey]:
        with self._read() as conn:
            rows = conn.execute(select(_passkeys).where(_passkeys.c.account_id == account_id)).all()
        return [Passkey(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    def touch_passkey(self, credential_id: str, sign_count: int) -> None:
        with self._write() as conn:
            conn.execute(
                update(_passkeys)
                .where(_passkeys.c.credential_id == credential_id)
                .values(sign_count=sign_count)
            )

    # --- sessions ------------------------------------------------------------------------------

    def add_session(self, session: Session) -> None:
        with self._write() as conn:
            conn.execute(insert(_sessions).values(_values(session)))

    def session(self, token_hash: bytes) -> Session | None:
        with self._read() as conn:
            row = conn.execute(
                select(_sessions).where(_sessions.c.token_hash == token_hash)
            ).first()
        return Session(bytes(row[0]), *row[1:]) if row is not None else None

    def touch_session(self, token_hash: bytes, now: int) -> None:
        with self._write() as conn:
            conn.execute(
                update(_sessions).where(_sessions.c.token_hash == token_hash).values(last_seen=now)
            )

    def end_session(self, token_hash: bytes) -> None:
        with self._write() as conn:
            conn.execute(delete(_sessions).where(_sessions.c.token_hash == token_hash))

    def end_sessions(self, account_id: str) -> None:
        with self._write() as conn:
            conn.execute(delete(_sessions).where(_sessions.c.account_id == account_id))

    # --- WebAuthn challenges (single use) ------------------------------------------------------

    def add_challenge(self, challenge: Challenge) -> None:
        with self._write() as conn:
            conn.execute(insert(_challenges).values(_values(challenge)))

    def take_challenge(self, challenge_id: str, purpose: str, now: int) -> Challenge | None:
        """The challenge, deleted as it is read: a ceremony answers it at most once."""
        with self._write() as conn:
            row = conn.execute(
                select(_challenges).where(_challenges.c.challenge_id == challenge_id)
            ).first()
            conn.execute(delete(_challenges).where(_challenges.c.expires <= now))
            if row is None:
                return None
            gone = conn.execute(
                delete(_challenges).where(_challenges.c.challenge_id == challenge_id)
            ).rowcount
            if gone != 1:  # another answer took it between our read and our delete
                return None
        found = Challenge(row[0], row[1], bytes(row[2]), row[3], row[4])
        return found if found.purpose == purpose and found.expires > now else None

    def spend_once(self, key: str, now: int, until: int) -> bool:
        """Mark ``key`` used until ``until``; False when it was already used (a TOTP code).
        The challenge table's primary key makes this one atomic insert, shared by every
        worker and replica (an in-process set would let another worker accept it again)."""
        try:
            with self._write() as conn:
                conn.execute(delete(_challenges).where(_challenges.c.expires <= now))
                conn.execute(
                    insert(_challenges).values(
                        challenge_id=key, purpose="spent", challenge=b"", subject="", expires=until
                    )
                )
        except Conflict:
            return False
        return True

    # --- audit (append-only) -------------------------------------------------------------------

    def audit(self, record: AuditRecord) -> None:
        values = asdict(record)
        del values["seq"]
        with self._write() as conn:
            conn.execute(insert(_audit).values(values))

    def audit_trail(self, limit: int = 200) -> list[AuditRecord]:
        with self._read() as conn:
            rows = conn.execute(select(_audit).order_by(_audit.c.seq.desc()).limit(limit)).all()
        return [AuditRecord(*r) for r in rows]

    # --- for the private-key scan of the tests -------------------------------------------------

    def table_names(self) -> Sequence[str]:
        return tuple(console_metadata.tables)


def memory_console_store() -> SqlConsoleStore:
    """The console tables in a private in-memory SQLite (beside the fake log store)."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    return SqlConsoleStore(engine)
