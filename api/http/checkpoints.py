"""What a server remembers about its log's checkpoints, and the fresh checkpoint it serves.

A server that holds the operator key signs a fresh checkpoint whenever the log grew before
answering; a replica without the key serves the latest stored one. Recent checkpoint notes
are kept for proofs (``note_of_size``), and the signed trust bundle for a minute.
``CheckpointCache`` is one per app, built with the rest of the app's state (api/http/state.py);
the log routes and ``POST /v1/entries`` use it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ledger import errors
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.note import parse_note
from ledger.ports.log import StoredCheckpoint
from ledger.usecases.service import LogService, now_ms

__all__ = [
    "KEEP_NOTES",
    "CheckpointCache",
    "WitnessView",
    "fresh_checkpoint",
    "key_usable",
    "note_of_size",
]

log = logging.getLogger("tracemark")

#: Recent checkpoint notes kept for proofs.
KEEP_NOTES = 1_024


@dataclass
class CheckpointCache:
    notes: OrderedDict[int, str] = field(default_factory=OrderedDict)
    trust: tuple[int, int, bytes] | None = None  # (tree size, created, bundle file)
    key_checked: bool = False
    key_usable: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, checkpoint: StoredCheckpoint) -> None:
        with self.lock:
            self.notes[checkpoint.tree_size] = checkpoint.note
            self.notes.move_to_end(checkpoint.tree_size)
            while len(self.notes) > KEEP_NOTES:
                self.notes.popitem(last=False)

    def note_of(self, tree_size: int) -> str | None:
        with self.lock:
            return self.notes.get(tree_size)


@dataclass
class WitnessView:
    """Which configured witnesses cosigned the checkpoint of a tree size, and whether they
    make it witnessed (``quorum`` of them: the k-of-n policy, ``TRACEMARK_WITNESS_QUORUM``).

    Read from the kept cosignatures, which were verified when they were kept (a witness's
    POST or ``tracemark log witness``); remembered per size for ``ttl_s`` seconds, since
    cosignatures arrive after their checkpoint. None when no witness is configured."""

    service: LogService
    witnesses: tuple[CosignatureVerifier, ...]
    quorum: int
    ttl_s: float = 5.0
    _seen: dict[int, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    def of(self, tree_size: int) -> dict[str, Any] | None:
        if not self.witnesses:
            return None
        now = time.monotonic()
        seen = self._seen.get(tree_size)
        if seen is not None and seen[0] > now:
            return seen[1]
        known = {(w.name, w.key_id) for w in self.witnesses}
        note = self.service.store.witnesses.cosigned(tree_size)
        names = (
            sorted({s.name for s in parse_note(note).signatures if (s.name, s.key_id) in known})
            if note is not None
            else []
        )
        view = {
            "cosigned_by": names,
            "quorum": self.quorum,
            "of": len(self.witnesses),
            "witnessed": len(names) >= self.quorum,
        }
        if len(self._seen) > 256:
            self._seen.clear()
        self._seen[tree_size] = (now + self.ttl_s, view)
        return view


def key_usable(service: LogService, cache: CheckpointCache) -> bool:
    """Is the loaded key the operator key of this log's genesis? (checked once)"""
    if service.log_key is None:
        return False
    if not cache.key_checked:
        usable = service.log_key.public_key == service.info().operator_key
        if not usable:
            log.error("the loaded key is not the operator key in the genesis: not signing")
        cache.key_usable, cache.key_checked = usable, True
    return cache.key_usable


def fresh_checkpoint(service: LogService, cache: CheckpointCache) -> StoredCheckpoint:
    """The latest checkpoint, signed anew first when this server holds the operator key and
    the log grew. NotFound when none exists and none can be signed."""
    if not key_usable(service, cache):
        checkpoint = service.latest_checkpoint()
    else:
        try:
            checkpoint = service.checkpoint(now=now_ms())
        except errors.Conflict:
            # Another worker stored the checkpoint of this size at the same moment; Ed25519
            # is deterministic, so its note is the same bytes.
            checkpoint = service.latest_checkpoint()
    cache.remember(checkpoint)
    return checkpoint


def note_of_size(service: LogService, cache: CheckpointCache, tree_size: int) -> str | None:
    """The signed note of this tree size, when this server has it at hand."""
    note = cache.note_of(tree_size)
    if note is not None:
        return note
    latest = service.store.latest_checkpoint()
    if latest is not None and latest.tree_size == tree_size:
        cache.remember(latest)
        return latest.note
    return None
