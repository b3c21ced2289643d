"""The log's use cases behind one object, for adapters: ``LogService`` builds them over one store
and forwards each call.

    append.py   Appender     initialize, append, append_one, checkpoint (the write side)
    prove.py    Prover       info, checkpoints, root_at, inclusion and consistency proofs,
                             entries (read-only)
    audit.py    LogAuditor   audit, reindex
    queries.py               item, actor and listing read models

Adapters (CLI, HTTP) call one method each. Time is a parameter (``now``); the only clock is
``now_ms()`` below, used by adapters that do not pass one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ledger.keys import PrivateKey
from ledger.log.audit import AuditReport
from ledger.log.checkpoint import CosignatureVerifier, SignedCheckpoint
from ledger.log.entries import Envelope, LogEntry
from ledger.log.note import NoteVerifier
from ledger.ports.log import LogStore, StoredCheckpoint, StoredEntry
from ledger.provenance.rules.common import Admission
from ledger.usecases import queries
from ledger.usecases.append import Accepted, Appender, AppendOutcome
from ledger.usecases.audit import LogAuditor
from ledger.usecases.prove import ConsistencyProof, InclusionProof, LogInfo, Prover

__all__ = ["LogService", "now_ms"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class LogService:
    """The log's use cases over one store: ``appender``, ``prover`` and ``auditor``, and the
    methods adapters call, each forwarded to one of them. ``log_key`` is the operator's key;
    only signing needs it."""

    def __init__(
        self,
        store: LogStore,
        *,
        log_key: PrivateKey | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.store = store
        self.prover = Prover(store)
        self.appender = Appender(store, self.prover, log_key=log_key, admission=admission)
        self.auditor = LogAuditor(store)
        if getattr(store, "projection_stale", False) and store.size():
            self.reindex()  # projection tables of an older version were remade: refill them
            store.projection_stale = False  # type: ignore[attr-defined]

    @property
    def log_key(self) -> PrivateKey | None:
        return self.appender.log_key

    @log_key.setter
    def log_key(self, key: PrivateKey | None) -> None:
        self.appender.log_key = key

    @property
    def admission(self) -> Admission:
        return self.appender.admission

    # --- writing: append.py ----------------------------------------------------------------

    def initialize(
        self, *, origin: str, operator_name: str, key: PrivateKey, now: int
    ) -> StoredCheckpoint:
        return self.appender.initialize(
            origin=origin, operator_name=operator_name, key=key, now=now
        )

    def append(
        self, envelopes: Sequence[Envelope], *, now: int, trusted_genesis: bool = False
    ) -> list[AppendOutcome]:
        return self.appender.append(envelopes, now=now, trusted_genesis=trusted_genesis)

    def append_one(self, envelope: Envelope, *, now: int) -> Accepted:
        return self.appender.append_one(envelope, now=now)

    def checkpoint(self, *, now: int) -> StoredCheckpoint:
        return self.appender.checkpoint(now=now)

    # --- reading and proving: prove.py -------------------------------------------------------

    def info(self) -> LogInfo:
        return self.prover.info()

    def latest_checkpoint(self) -> StoredCheckpoint:
        return self.prover.latest_checkpoint()

    def open_checkpoint(self, note: str) -> SignedCheckpoint:
        return self.prover.open_checkpoint(note)

    def root_at(self, size: int) -> bytes:
        return self.prover.root_at(size)

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        return self.prover.inclusion_proof(index, size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        return self.prover.consistency_proof(old_size, new_size)

    def entry(self, index: int) -> tuple[StoredEntry, LogEntry]:
        return self.prover.entry(index)

    # --- the supply chain's read models: queries.py --------------------------------------------

    def item_view(self, item: str) -> queries.ItemView:
        return queries.item_view(self.store, item)

    def actor_view(self, actor_id: str) -> queries.ActorView:
        return queries.actor_view(self.store, actor_id)

    def listing_status(self, platform: str, listing_id: str) -> queries.ListingStatus:
        return queries.listing_status(self.store, platform, listing_id)

    # --- audit and reindex: audit.py -------------------------------------------------------

    def audit(
        self,
        *,
        external: Sequence[str] = (),
        progress: object = None,
        projection: bool = True,
        log_key: NoteVerifier | None = None,
        witnesses: Sequence[CosignatureVerifier] = (),
    ) -> AuditReport:
        return self.auditor.audit(
            external=external,
            progress=progress,
            projection=projection,
            log_key=log_key,
            witnesses=witnesses,
        )

    def reindex(self) -> int:
        return self.auditor.reindex()
