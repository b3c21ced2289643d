"""The producer console's product table (``console_products``): the vi/en display names
and the optional picture of a producer's GTINs, outside the log.

The ledger's product model has one ``name`` (``event.commission`` ``product.name``,
docs/decisions.md 43); the console keeps the Vietnamese and English display names here and
puts the one in the page's language (Vietnamese first) into the bodies the browser signs
(docs/decisions.md 46). The picture itself is the console's re-encoded copy (PNG or JPEG,
bounded) in the content-addressed document store (``ledger.ports.documents``); this table
holds its SHA-256 name.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, select
from sqlalchemy.engine import Connection, Engine

from ledger.storage.sql.transaction import transaction

__all__ = ["ConsoleProduct", "SqlProductStore", "products_metadata"]

products_metadata = MetaData()

_products = Table(
    "console_products",
    products_metadata,
    Column("actor_id", Text, primary_key=True),
    Column("gtin", Text, primary_key=True),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("image_sha256", Text, nullable=False),
    Column("image_type", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
)


@dataclass(frozen=True, slots=True)
class ConsoleProduct:
    actor_id: str
    gtin: str  # GTIN-14
    name_vi: str
    name_en: str
    image_sha256: str  # the picture's name in the document store; "" when none
    image_type: str  # image/png, image/jpeg or ""
    created: int
    updated: int

    def name(self, lang: str) -> str:
        """The display name in ``lang``, else the other one."""
        first, second = (
            (self.name_en, self.name_vi) if lang == "en" else (self.name_vi, self.name_en)
        )
        return first or second


class SqlProductStore:
    """``console_products`` (SQLite or PostgreSQL): one row per producer and GTIN."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with self._write() as conn:
            products_metadata.create_all(conn, checkfirst=True)

    def _write(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=True)

    def _read(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=False)

    def put(self, product: ConsoleProduct) -> None:
        """Insert or replace the producer's row for the GTIN (the first ``created`` stays)."""
        with self._write() as conn:
            key = (_products.c.actor_id == product.actor_id) & (_products.c.gtin == product.gtin)
            old = conn.execute(select(_products.c.created).where(key)).first()
            values = {
                "actor_id": product.actor_id,
                "gtin": product.gtin,
                "name_vi": product.name_vi,
                "name_en": product.name_en,
                "image_sha256": product.image_sha256,
                "image_type": product.image_type,
                "created": old[0] if old else product.created,
                "updated": product.updated,
            }
            if old:
                conn.execute(_products.update().where(key).values(values))
            else:
                conn.execute(_products.insert().values(values))

    def get(self, actor_id: str, gtin: str) -> ConsoleProduct | None:
        with self._read() as conn:
            row = conn.execute(
                select(_products).where(
                    (_products.c.actor_id == actor_id) & (_products.c.gtin == gtin)
                )
            ).first()
        return ConsoleProduct(*row) if row else None

    def of(self, actor_id: str, limit: int = 500) -> list[ConsoleProduct]:
        with self._read() as conn:
            rows = conn.execute(
                select(_products)
                .where(_products.c.actor_id == actor_id)
                .order_by(_products.c.gtin)
                .limit(limit)
            ).all()
        return [ConsoleProduct(*r) for r in rows]
