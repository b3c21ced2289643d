"""Documents as blobs in the log's database (``documents``, migration 0011): SQLite or
PostgreSQL. Rows are written once (a second put of the same bytes is a no-op) and
re-hashed on every read."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, LargeBinary, MetaData, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ledger.errors import NotFound
from ledger.ports.documents import (
    MISSING,
    OK,
    TAMPERED,
    Document,
    DocumentTampered,
    checked,
    parse_digest,
)
from ledger.storage.sql.transaction import transaction

__all__ = ["SqlDocuments", "document_metadata"]

document_metadata = MetaData()
_documents = Table(
    "documents",
    document_metadata,
    Column("sha256", Text, primary_key=True),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)


class SqlDocuments:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def put(self, document: Document) -> bool:
        values = {
            "sha256": document.sha256,
            "content_type": document.content_type,
            "size": len(document.data),
            "data": document.data,
        }
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(_documents).values(**values).on_conflict_do_nothing()
        with transaction(self.engine, write=True) as conn:
            return conn.execute(statement).rowcount == 1

    def get(self, sha256: str) -> Document:
        parse_digest(sha256)
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(
                select(_documents.c.content_type, _documents.c.data).where(
                    _documents.c.sha256 == sha256
                )
            ).first()
        if row is None:
            raise NotFound(f"no document {sha256}")
        return checked(sha256, str(row[0]), bytes(row[1]))

    def check(self, sha256: str) -> str:
        try:
            self.get(sha256)
        except NotFound:
            return MISSING
        except DocumentTampered:
            return TAMPERED
        return OK
