"""Documents in a folder: ``<folder>/<sha256[:2]>/<sha256>`` holds the bytes, and
``<sha256>.type`` the content type. Written to a temporary name and renamed (a reader never
sees half a document); re-hashed on every read."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ledger.errors import InvalidInput, NotFound, StorageUnavailable
from ledger.ports.documents import (
    MISSING,
    OK,
    TAMPERED,
    Document,
    DocumentTampered,
    checked,
    parse_digest,
)

__all__ = ["FolderDocuments"]


class FolderDocuments:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(f"cannot use {self.folder} for documents: {exc.strerror}") from None

    def _path(self, sha256: str) -> Path:
        name = parse_digest(sha256)
        return self.folder / name[:2] / name

    def put(self, document: Document) -> bool:
        path = self._path(document.sha256)
        if path.exists() and self.check(document.sha256) == OK:
            return False
        try:
            path.parent.mkdir(exist_ok=True)
            for target, data in (
                (path.with_suffix(".type"), document.content_type.encode()),
                (path, document.data),
            ):
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
        except OSError as exc:
            raise StorageUnavailable(f"cannot store the document: {exc.strerror}") from None
        return True

    def get(self, sha256: str) -> Document:
        path = self._path(sha256)
        try:
            data = path.read_bytes()
            kind = path.with_suffix(".type").read_text("utf-8").strip()
        except FileNotFoundError:
            raise NotFound(f"no document {sha256}") from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read the document: {exc.strerror}") from None
        return checked(sha256, kind, data)

    def check(self, sha256: str) -> str:
        try:
            self.get(sha256)
        except NotFound:
            return MISSING
        except DocumentTampered:
            return TAMPERED
        return OK
