"""Documents in memory (the fake driver): the same contract as the others, re-hashed on read."""

from __future__ import annotations

import threading

from ledger.errors import NotFound
from ledger.ports.documents import MISSING, OK, TAMPERED, Document, DocumentTampered, checked

__all__ = ["MemoryDocuments"]


class MemoryDocuments:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.blobs: dict[str, tuple[str, bytes]] = {}

    def put(self, document: Document) -> bool:
        with self._lock:
            if document.sha256 in self.blobs:
                return False
            self.blobs[document.sha256] = (document.content_type, document.data)
            return True

    def get(self, sha256: str) -> Document:
        with self._lock:
            found = self.blobs.get(sha256)
        if found is None:
            raise NotFound(f"no document {sha256}")
        return checked(sha256, found[0], found[1])

    def check(self, sha256: str) -> str:
        try:
            self.get(sha256)
        except NotFound:
            return MISSING
        except DocumentTampered:
            return TAMPERED
        return OK
