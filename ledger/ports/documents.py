"""The document store port: a content-addressed blob store outside the log.

Documents (certificates of origin, test reports, later product images) are named by the
SHA-256 of their bytes; the log holds only that hash (``attest.qualification``). A store
keeps bytes and a content type and re-hashes on every read: ``get`` of bytes that no longer
hash to their name raises ``DocumentTampered`` (never serves them), ``check`` says
``ok | missing | tampered`` without returning them.

Drivers (``ledger.storage.documents``): SQL blobs (the ``documents`` table, SQLite or
PostgreSQL), a folder (``file:///path``), and S3-compatible object storage (``s3://``).
Limits: ``MAX_DOCUMENT_BYTES`` and the content types in ``CONTENT_TYPES``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from ledger.errors import InvalidInput, LimitExceeded, VerificationError
from ledger.provenance.events.fields import HEX64

__all__ = [
    "CONTENT_TYPES",
    "MAX_DOCUMENT_BYTES",
    "MISSING",
    "OK",
    "TAMPERED",
    "Document",
    "DocumentStore",
    "DocumentTampered",
    "checked",
    "document_digest",
    "parse_digest",
    "prepare",
]

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "text/plain",
    "application/octet-stream",  # any other file: served as a download, never rendered
)
OK, MISSING, TAMPERED = "ok", "missing", "tampered"


class DocumentTampered(VerificationError):
    """The stored bytes no longer hash to the document's name."""

    code = "document_tampered"


@dataclass(frozen=True, slots=True)
class Document:
    sha256: str
    content_type: str
    data: bytes


def document_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_digest(text: str) -> str:
    """A document name: 64 lowercase hex digits (SHA-256)."""
    if not isinstance(text, str) or not HEX64.fullmatch(text):
        raise InvalidInput("a document is named by its SHA-256 in 64 lowercase hex digits")
    return text


def prepare(data: bytes, content_type: str) -> Document:
    """A document to store: bounded, of an accepted type, named by its hash."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise LimitExceeded(f"a document is at most {MAX_DOCUMENT_BYTES} bytes")
    if not data:
        raise InvalidInput("a document is not empty")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in CONTENT_TYPES:
        raise InvalidInput(
            f"content type {kind or '(none)'} is not accepted; use one of "
            + ", ".join(CONTENT_TYPES),
            code="unsupported_content_type",
        )
    return Document(document_digest(data), kind, data)


def checked(sha256: str, content_type: str, data: bytes) -> Document:
    """Stored bytes, re-hashed: the document, or ``DocumentTampered``."""
    if document_digest(data) != sha256:
        raise DocumentTampered(
            f"document {sha256} fails its hash check: the stored bytes were altered"
        )
    return Document(sha256, content_type, data)


class DocumentStore(Protocol):
    def put(self, document: Document) -> bool:
        """Store a prepared document; False when it was already stored (same bytes)."""
        ...

    def get(self, sha256: str) -> Document:
        """The document, re-hashed: ``NotFound`` or ``DocumentTampered`` otherwise."""
        ...

    def check(self, sha256: str) -> str:
        """``ok``, ``missing`` or ``tampered``."""
        ...
