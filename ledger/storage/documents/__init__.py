"""Drivers of the document store port (``ledger.ports.documents``), and ``open_documents``,
which picks one from a setting (``TRACEMARK_DOCUMENT_STORE``):

    sql                       the ``documents`` table of the log's database (SQLite/PostgreSQL)
    file:///path/to/folder    one file per document in a folder (``files.FolderDocuments``)
    s3://bucket?endpoint=...  S3-compatible object storage (``s3.S3Documents``, needs boto3)
    memory                    in memory (tests, the fake log store)
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from ledger.errors import InvalidInput
from ledger.ports.documents import DocumentStore
from ledger.ports.log import LogStore
from ledger.storage.documents.files import FolderDocuments
from ledger.storage.documents.memory import MemoryDocuments

__all__ = ["FolderDocuments", "MemoryDocuments", "open_documents"]


def open_documents(setting: str, log_store: LogStore) -> DocumentStore:
    """The document store a setting names (module docstring)."""
    setting = setting.strip()
    if setting == "sql":
        from ledger.storage.sql.log import SqlStore  # noqa: PLC0415 (the SQL driver is optional)

        if not isinstance(log_store, SqlStore):
            return MemoryDocuments()
        from ledger.storage.documents.sql import SqlDocuments  # noqa: PLC0415

        return SqlDocuments(log_store.engine)
    if setting == "memory":
        return MemoryDocuments()
    parts = urlsplit(setting)
    if parts.scheme == "file" and parts.path:
        return FolderDocuments(unquote(parts.path))
    if parts.scheme == "s3" and parts.netloc:
        from ledger.storage.documents.s3 import S3Documents  # noqa: PLC0415 (boto3 on demand)

        query = parse_qs(parts.query)
        endpoint = query.get("endpoint", [""])[0]
        region = query.get("region", [""])[0]
        prefix = parts.path.lstrip("/")
        return S3Documents(parts.netloc, prefix=prefix, endpoint=endpoint, region=region)
    raise InvalidInput(
        "TRACEMARK_DOCUMENT_STORE must be sql, memory, file:///folder or "
        "s3://bucket?endpoint=https://host"
    )
