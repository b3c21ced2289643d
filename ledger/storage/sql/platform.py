"""The platform tables in the log's database (SQLite or PostgreSQL): ``SqlPlatformStore``.

The tables are listed in ``ledger/storage/platform.py``; ``SqlPlatformStore`` creates them
next to the log's. Webhook secrets are stored sealed (AES-GCM, ``secret_box``), bound to
their webhook id. A delivery is inserted with ON CONFLICT DO NOTHING on its derived id, a
claim is a compare-and-swap on its next attempt, and the recall cursor moves by
compare-and-swap in the same transaction that enqueues its deliveries.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    delete,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ledger.errors import Conflict, NotFound, StorageUnavailable
from ledger.ports.platform import (
    CANCELLED,
    PENDING,
    ApiKey,
    Attempt,
    Delivery,
    ShortCode,
    Watch,
    Webhook,
)
from ledger.provenance.records import OPEN, Listing, record_from_row
from ledger.secret_box import SecretBox, is_sealed
from ledger.storage.sql.engines import ADVISORY_LOCK_KEY
from ledger.storage.sql.projection import PROJECTION_TABLES
from ledger.storage.sql.tables import LogEntryRow

if TYPE_CHECKING:
    from ledger.storage.sql.log import SqlStore  # which hands out this store (store.platform)
from ledger.storage.sql.transaction import transaction

__all__ = ["SqlPlatformStore", "platform_metadata"]

platform_metadata = MetaData()
_Big = BigInteger().with_variant(Integer(), "sqlite")
_keys = Table(
    "platform_api_keys",
    platform_metadata,
    Column("key_id", Text, primary_key=True),
    Column("platform", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("key_hash", LargeBinary, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("rate_limit", Integer, nullable=False),
    Column("revoked", BigInteger, nullable=False),
)
_hooks = Table(
    "platform_webhooks",
    platform_metadata,
    Column("webhook_id", Text, primary_key=True),
    Column("platform", Text, nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("deleted", BigInteger, nullable=False),
)
_deliveries = Table(
    "platform_deliveries",
    platform_metadata,
    Column("delivery_id", Text, primary_key=True),
    Column("webhook_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("last_code", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
)
Index("platform_deliveries_due", _deliveries.c.status, _deliveries.c.next_attempt)
Index("platform_deliveries_hook", _deliveries.c.webhook_id, _deliveries.c.created)
_attempts = Table(
    "platform_attempts",
    platform_metadata,
    Column("delivery_id", Text, primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("time", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("duration_ms", Integer, nullable=False),
)
_watches = Table(
    "platform_watches",
    platform_metadata,
    Column("platform", Text, primary_key=True),
    Column("listing_id", Text, primary_key=True),
    Column("item_id", Text, primary_key=True),
    Column("gtin", Text, nullable=False, index=True),
    Column("seller", Text, nullable=False),
    Column("updated", BigInteger, nullable=False),
)
Index("platform_watches_item", _watches.c.item_id)
Index("platform_watches_updated", _watches.c.updated)
_cursors = Table(
    "platform_cursors",
    platform_metadata,
    Column("name", Text, primary_key=True),
    Column("position", _Big, nullable=False),
)
_codes = Table(
    "platform_short_codes",
    platform_metadata,
    Column("code", Text, primary_key=True),
    Column("platform", Text, nullable=False),
    Column("listing_id", Text, nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("revoked", BigInteger, nullable=False),
)
Index(
    "platform_short_codes_overlay",
    _codes.c.platform,
    _codes.c.listing_id,
    _codes.c.stream_id,
)
_E = LogEntryRow.__table__  # type: ignore[attr-defined]
_L = PROJECTION_TABLES[Listing.TABLE]


def _key(row: Any) -> ApiKey:
    return ApiKey(str(row[0]), str(row[1]), str(row[2]), bytes(row[3]), *map(int, row[4:7]))


def _hook(row: Any, box: SecretBox | None) -> Webhook:
    events = tuple(e for e in str(row[3]).split(",") if e)
    webhook_id, stored = str(row[0]), str(row[4])
    if box is not None:
        secret = box.open(stored, context=_secret_context(webhook_id))
    elif is_sealed(stored):
        raise StorageUnavailable(
            "webhook secrets are encrypted and no TRACEMARK_SECRETS_KEY was given",
            code="secrets_key_missing",
        )
    else:
        secret = stored
    return Webhook(webhook_id, str(row[1]), str(row[2]), events, secret, *map(int, row[5:7]))


def _secret_context(webhook_id: str) -> str:
    """What a webhook's sealed secret is bound to: its table and row."""
    return f"platform_webhooks/{webhook_id}"


def _delivery(row: Any) -> Delivery:
    return Delivery(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        str(row[4]),
        str(row[5]),
        int(row[6]),
        int(row[7]),
        int(row[8]),
        int(row[9]),
        str(row[10]),
    )


def _attempt(row: Any) -> Attempt:
    return Attempt(
        str(row[0]), int(row[1]), int(row[2]), bool(row[3]), int(row[4]), str(row[5]), int(row[6])
    )


def _watch(row: Any) -> Watch:
    return Watch(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), int(row[5]))


def _short(row: Any) -> ShortCode:
    return ShortCode(str(row[0]), str(row[1]), str(row[2]), str(row[3]), *map(int, row[4:7]))


def _delivery_values(d: Delivery) -> dict[str, Any]:
    return {name: getattr(d, name) for name in d.__slots__}


class SqlPlatformStore:
    """The platform tables in the log's database (SQLite or PostgreSQL)."""

    def __init__(self, store: SqlStore, secrets: SecretBox | None = None) -> None:
        """``secrets`` seals webhook secrets at rest; without it webhooks cannot be added
        nor their secrets read (commands that only manage API keys need none)."""
        self.store = store
        self.engine = store.engine
        self.dialect = store.dialect
        self.secrets = secrets
        self.create_schema()
        if secrets is not None:
            self.reseal()

    def reseal(self) -> int:
        """Seal every webhook secret that is not sealed under the current key (plain text
        from before encryption, or an older key); how many were sealed. Each row is
        replaced only if unchanged meanwhile. Raises (naming the key id) when a secret
        does not open: a missing or wrong key stops the service at start."""
        box = self.secrets
        if box is None:
            return 0
        with self._read() as conn:
            rows = conn.execute(select(_hooks.c.webhook_id, _hooks.c.secret)).all()
        sealed = 0
        for webhook_id, stored in ((str(i), str(v)) for i, v in rows):
            context = _secret_context(webhook_id)
            secret = box.open(stored, context=context)  # every row: a wrong key shows now
            if box.current(stored):
                continue
            fresh = box.seal(secret, context=context)
            with self._write() as conn:
                done = conn.execute(
                    update(_hooks)
                    .where(_hooks.c.webhook_id == webhook_id, _hooks.c.secret == stored)
                    .values(secret=fresh)
                )
                sealed += int(done.rowcount == 1)
        return sealed

    def create_schema(self) -> None:
        with self._write() as conn:
            if self.dialect == "postgresql":  # server processes start together: one at a time
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
            platform_metadata.create_all(conn, checkfirst=True)
            # Recall fan-out reads open listings by GTIN; the projection has no such index.
            # Looked up first: even CREATE INDEX IF NOT EXISTS needs to own the table, and
            # the service role owns nothing (ledger/storage/sql/roles.py).
            indexes = {i["name"] for i in inspect(conn).get_indexes("listings")}
            if "platform_listings_gtin" not in indexes:
                conn.exec_driver_sql("CREATE INDEX platform_listings_gtin ON listings (gtin)")

    def _write(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=True)

    def _read(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=False)

    # --- keys ----------------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> None:
        with self._write() as conn:
            conn.execute(insert(_keys).values({n: getattr(key, n) for n in ApiKey.__slots__}))

    def get_key(self, key_id: str) -> ApiKey | None:
        with self._read() as conn:
            row = conn.execute(select(*_keys.c).where(_keys.c.key_id == key_id)).first()
        return None if row is None else _key(row)

    def keys(self) -> list[ApiKey]:
        with self._read() as conn:
            rows = conn.execute(select(*_keys.c).order_by(_keys.c.created, _keys.c.key_id))
            return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, now: int) -> ApiKey:
        with self._write() as conn:
            row = conn.execute(select(*_keys.c).where(_keys.c.key_id == key_id)).first()
            if row is None:
                raise NotFound(f"no API key {key_id}", code="unknown_api_key")
            key = _key(row)
            if key.active:
                conn.execute(update(_keys).where(_keys.c.key_id == key_id).values(revoked=now))
                key = replace(key, revoked=now)
            others = conn.execute(
                select(_keys.c.key_id).where(_keys.c.platform == key.platform, _keys.c.revoked < 0)
            ).first()
            if others is None:
                hooks = conn.execute(
                    select(_hooks.c.webhook_id).where(
                        _hooks.c.platform == key.platform, _hooks.c.deleted < 0
                    )
                ).all()
                for (webhook_id,) in hooks:
                    self._delete_hook(conn, str(webhook_id), now)
        return key

    # --- webhooks ------------------------------------------------------------------------------

    def add_webhook(self, webhook: Webhook) -> None:
        if self.secrets is None:
            raise StorageUnavailable(
                "no key to encrypt webhook secrets with (TRACEMARK_SECRETS_KEY)",
                code="secrets_key_missing",
            )
        values = {n: getattr(webhook, n) for n in Webhook.__slots__}
        values["events"] = ",".join(webhook.events)
        values["secret"] = self.secrets.seal(
            webhook.secret, context=_secret_context(webhook.webhook_id)
        )
        with self._write() as conn:
            conn.execute(insert(_hooks).values(values))

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        with self._read() as conn:
            row = conn.execute(select(*_hooks.c).where(_hooks.c.webhook_id == webhook_id)).first()
        return None if row is None else _hook(row, self.secrets)

    def webhooks(self, platform: str) -> list[Webhook]:
        with self._read() as conn:
            rows = conn.execute(
                select(*_hooks.c)
                .where(_hooks.c.platform == platform, _hooks.c.deleted < 0)
                .order_by(_hooks.c.created, _hooks.c.webhook_id)
            )
            return [_hook(r, self.secrets) for r in rows]

    def delete_webhook(self, webhook_id: str, now: int) -> None:
        with self._write() as conn:
            self._delete_hook(conn, webhook_id, now)

    @staticmethod
    def _delete_hook(conn: Connection, webhook_id: str, now: int) -> None:
        conn.execute(
            update(_hooks)
            .where(_hooks.c.webhook_id == webhook_id, _hooks.c.deleted < 0)
            .values(deleted=now)
        )
        conn.execute(
            update(_deliveries)
            .where(_deliveries.c.webhook_id == webhook_id, _deliveries.c.status == PENDING)
            .values(status=CANCELLED)
        )

    # --- the delivery queue --------------------------------------------------------------------

    def _insert_new(self, conn: Connection, deliveries: Sequence[Delivery]) -> int:
        if not deliveries:
            return 0
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(_deliveries)
            .on_conflict_do_nothing(index_elements=["delivery_id"])
            .returning(_deliveries.c.delivery_id)
        )
        added = 0
        for delivery in deliveries:  # RETURNING counts inserted rows on every driver
            added += len(conn.execute(statement.values(_delivery_values(delivery))).all())
        return added

    def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        with self._write() as conn:
            return self._insert_new(conn, deliveries)

    def due(self, now: int, limit: int) -> list[Delivery]:
        with self._read() as conn:
            rows = conn.execute(
                select(*_deliveries.c)
                .where(_deliveries.c.status == PENDING, _deliveries.c.next_attempt <= now)
                .order_by(_deliveries.c.next_attempt, _deliveries.c.delivery_id)
                .limit(limit)
            )
            return [_delivery(r) for r in rows]

    def claim(self, delivery: Delivery, until: int) -> bool:
        with self._write() as conn:
            result = conn.execute(
                update(_deliveries)
                .where(
                    _deliveries.c.delivery_id == delivery.delivery_id,
                    _deliveries.c.status == PENDING,
                    _deliveries.c.next_attempt == delivery.next_attempt,
                )
                .values(next_attempt=until)
            )
            return bool(result.rowcount == 1)

    def finish(self, delivery: Delivery, attempt: Attempt) -> None:
        with self._write() as conn:
            conn.execute(
                insert(_attempts).values({n: getattr(attempt, n) for n in Attempt.__slots__})
            )
            values = _delivery_values(delivery)
            del values["delivery_id"]
            conn.execute(
                update(_deliveries)
                .where(_deliveries.c.delivery_id == delivery.delivery_id)
                .values(values)
            )

    def deliveries(self, webhook_id: str, limit: int) -> list[tuple[Delivery, list[Attempt]]]:
        with self._read() as conn:
            found = [
                _delivery(r)
                for r in conn.execute(
                    select(*_deliveries.c)
                    .where(_deliveries.c.webhook_id == webhook_id)
                    .order_by(_deliveries.c.created.desc(), _deliveries.c.delivery_id)
                    .limit(limit)
                )
            ]
            ids = [d.delivery_id for d in found]
            attempts: dict[str, list[Attempt]] = {i: [] for i in ids}
            if ids:
                rows = conn.execute(
                    select(*_attempts.c)
                    .where(_attempts.c.delivery_id.in_(ids))
                    .order_by(_attempts.c.delivery_id, _attempts.c.attempt)
                )
                for row in rows:
                    attempts[str(row[0])].append(_attempt(row))
        return [(d, attempts[d.delivery_id]) for d in found]

    # --- watches, listings, the log ------------------------------------------------------------

    def watch(self, rows: Sequence[Watch], prune_before: int) -> None:
        listings = sorted({(w.platform, w.listing_id) for w in rows})
        with self._write() as conn:
            for platform, listing_id in listings:
                conn.execute(
                    delete(_watches).where(
                        _watches.c.platform == platform, _watches.c.listing_id == listing_id
                    )
                )
            if rows:
                conn.execute(
                    insert(_watches), [{n: getattr(w, n) for n in Watch.__slots__} for w in rows]
                )
            conn.execute(delete(_watches).where(_watches.c.updated < prune_before))

    def watches(self, *, gtin: str = "", item_id: str = "") -> list[Watch]:
        query = select(*_watches.c)
        if gtin:
            query = query.where(_watches.c.gtin == gtin)
        if item_id:
            query = query.where(_watches.c.item_id == item_id)
        with self._read() as conn:
            return [_watch(r) for r in conn.execute(query.order_by(*_watches.primary_key))]

    def open_listings(self, gtin: str) -> list[Listing]:
        with self._read() as conn:
            rows = conn.execute(select(*_L.c).where(_L.c.gtin == gtin, _L.c.status == OPEN))
            return [record_from_row(Listing, tuple(r)) for r in rows]

    def entries_of_type(self, start: int, end: int, entry_type: str) -> list[tuple[int, bytes]]:
        with self._read() as conn:
            rows = conn.execute(
                select(_E.c.idx, _E.c.data)
                .where(_E.c.idx >= start, _E.c.idx < end, _E.c.entry_type == entry_type)
                .order_by(_E.c.idx)
            )
            return [(int(r[0]), bytes(r[1])) for r in rows]

    def log_size(self) -> int:
        return self.store.head().size

    def cursor(self, name: str) -> int | None:
        with self._read() as conn:
            row = conn.execute(select(_cursors.c.position).where(_cursors.c.name == name)).first()
        return None if row is None else int(row[0])

    def advance(self, name: str, old: int | None, new: int, deliveries: Sequence[Delivery]) -> bool:
        try:
            with self._write() as conn:
                if old is None:
                    conn.execute(insert(_cursors).values(name=name, position=new))
                else:
                    moved = conn.execute(
                        update(_cursors)
                        .where(_cursors.c.name == name, _cursors.c.position == old)
                        .values(position=new)
                    )
                    if moved.rowcount != 1:
                        return False
                self._insert_new(conn, deliveries)
        except Conflict:
            return False  # another worker created the cursor first
        return True

    # --- short codes ---------------------------------------------------------------------------

    def add_short_code(self, code: ShortCode) -> bool:
        values = {name: getattr(code, name) for name in ShortCode.__slots__}
        with self._write() as conn:
            if self.dialect == "postgresql":
                statement: Any = postgresql.insert(_codes).values(values).on_conflict_do_nothing()
            else:
                statement = sqlite.insert(_codes).values(values).on_conflict_do_nothing()
            return bool(conn.execute(statement).rowcount == 1)

    def get_short_code(self, code: str) -> ShortCode | None:
        with self._read() as conn:
            row = conn.execute(select(*_codes.c).where(_codes.c.code == code)).first()
        return None if row is None else _short(row)

    def short_codes_of(self, platform: str, listing_id: str, stream_id: str) -> list[ShortCode]:
        query = (
            select(*_codes.c)
            .where(
                _codes.c.platform == platform,
                _codes.c.listing_id == listing_id,
                _codes.c.stream_id == stream_id,
            )
            .order_by(_codes.c.created.desc(), _codes.c.code.desc())
            .limit(16)
        )
        with self._read() as conn:
            return [_short(r) for r in conn.execute(query)]

    def renew_short_code(self, code: str, expires: int) -> None:
        with self._write() as conn:
            conn.execute(
                update(_codes)
                .where(_codes.c.code == code, _codes.c.revoked < 0, _codes.c.expires < expires)
                .values(expires=expires)
            )

    def revoke_short_code(self, code: str, now: int) -> ShortCode:
        with self._write() as conn:
            row = conn.execute(select(*_codes.c).where(_codes.c.code == code)).first()
            if row is None:
                raise NotFound(f"no short code {code}", code="unknown_short_code")
            found = _short(row)
            if found.revoked < 0:
                conn.execute(update(_codes).where(_codes.c.code == code).values(revoked=now))
                found = replace(found, revoked=now)
        return found
