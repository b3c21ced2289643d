"""Auditing and reindexing the log: recompute everything from the stored entries and compare
(nodes, checkpoints, chain, witness cosignatures, every stored copy, the projection), or
rebuild the projection from the log. ``ledger.log.audit.Auditor`` holds the pure checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ledger.errors import Conflict, TracemarkError
from ledger.log.audit import Auditor, AuditReport
from ledger.log.checkpoint import Checkpoint, CosignatureVerifier, SignedCheckpoint, open_checkpoint
from ledger.log.entries import LogEntry
from ledger.log.hashing import leaf_hash
from ledger.log.note import NoteVerifier, parse_note
from ledger.ports.log import LogStore, StoredCheckpoint, StoredEntry
from ledger.ports.witnesses import KeptCosignature
from ledger.provenance.projection import MemoryProjection, ReplayFailure, replay
from ledger.provenance.records import RECORD_TYPES

__all__ = ["AUDIT_CHUNK", "LogAuditor"]

AUDIT_CHUNK = 5_000


def _claimed_roots(
    checkpoints: Sequence[StoredCheckpoint], kept: Sequence[KeptCosignature]
) -> dict[int, list[tuple[bytes, str]]]:
    """The roots that stored checkpoints and cosigned notes claim, by tree size, for the
    audit to compare with the entries' (signatures are checked apart; a malformed
    cosigned note is a finding of ``Auditor.check_cosignature``)."""
    claimed: dict[int, list[tuple[bytes, str]]] = {}
    for cp in checkpoints:
        claimed.setdefault(cp.tree_size, []).append((cp.root_hash, "stored checkpoint"))
    for note in sorted({row.note for row in kept}):
        try:
            body = Checkpoint.from_text(parse_note(note).text)
        except TracemarkError:
            continue
        source = "checkpoint cosigned by a witness"
        claimed.setdefault(body.tree_size, []).append((body.root_hash, source))
    return claimed


def _first_difference(kind: Any, stored: list[Any], wanted: list[Any]) -> str:
    def key(record: Any) -> tuple[Any, ...]:
        return tuple(getattr(record, name) for name in kind.KEY)

    have = {key(r): r for r in stored}
    want = {key(r): r for r in wanted}
    for k in sorted(set(have) | set(want)):
        if k not in have:
            return f"row {'/'.join(map(str, k))} is missing"
        if k not in want:
            return f"row {'/'.join(map(str, k))} should not exist"
        if have[k] != want[k]:
            return f"row {'/'.join(map(str, k))} differs from the replay"
    return "rows differ"


class LogAuditor:
    """``audit`` (read-only, streams the log in chunks); ``reindex`` (rebuilds the projection)."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    def audit(
        self,
        *,
        external: Sequence[str] = (),
        progress: object = None,
        projection: bool = True,
        log_key: NoteVerifier | None = None,
        witnesses: Sequence[CosignatureVerifier] = (),
    ) -> AuditReport:
        """Recompute everything from the stored entries; compare nodes, checkpoints, chain,
        the kept witness cosignatures, and every stored copy of what an entry says.

        ``external`` are checkpoint notes kept elsewhere (files): each must verify with the
        operator key and its root must equal the root recomputed from today's entries.
        ``log_key`` pins the log: a genesis entry naming another key is a different log.
        ``witnesses`` are cosignature keys: their kept cosignatures must verify, and each
        must have cosigned the latest cosigned checkpoint kept.
        """
        auditor = Auditor()
        stored_checkpoints = self.store.checkpoints()
        kept = self.store.witnesses.kept()
        pending = _claimed_roots(stored_checkpoints, kept)
        head_size = self.store.size()  # counted: the stored tree itself is under audit
        start = 0
        tick = getattr(progress, "advance", None)
        while True:
            rows = self.store.entries(start, start + AUDIT_CHUNK)
            if not rows:
                break
            for row in rows:
                if auditor.size in pending:
                    for root, source in pending.pop(auditor.size):
                        auditor.compare_root(auditor.size, root, source)
                auditor.feed(
                    row.index,
                    row.data,
                    leaf_hash=row.leaf_hash,
                    chain_hash=row.chain_hash,
                    statement_hash=row.statement_hash,
                    entry_type=row.entry_type,
                    signer=row.signer,
                    integrated_time=row.integrated_time,
                )
            expected = auditor.take_expected_nodes()
            auditor.compare_nodes(expected, self.store.nodes(expected, cached=False))
            if callable(tick):
                tick(len(rows))
            start = rows[-1].index + 1
        for size, roots in pending.items():
            if size == auditor.size:
                for root, source in roots:
                    auditor.compare_root(size, root, source)
            else:
                auditor.find(
                    auditor.size if size > auditor.size else None,
                    "checkpoint size",
                    f"a checkpoint of size {size} exists but the log has {auditor.size} entries",
                )
        auditor.compare_node_count(*self.store.counts())
        self._audit_checkpoint_signatures(auditor, stored_checkpoints)
        if log_key is not None:
            auditor.check_log_key(log_key)
        self._audit_cosignatures(auditor, kept, witnesses)
        for note in external:
            self._audit_external(auditor, note)
        if projection:
            self._audit_projection(auditor)
        return auditor.finish(head_size)

    def _replay(self, rows: Iterable[StoredEntry]) -> MemoryProjection:
        return replay(LogEntry.from_leaf(row.index, row.data) for row in rows)

    def _stream(self, size: int) -> Iterator[StoredEntry]:
        for start in range(0, size, AUDIT_CHUNK):
            yield from self.store.entries(start, min(size, start + AUDIT_CHUNK))

    def _audit_projection(self, auditor: Auditor) -> None:
        """Replay the log through the rules and compare every projection table.

        The projection and the log size it reflects are read in one snapshot, and the replay
        goes exactly that far, so appends during an audit cause no false findings.
        """
        with self.store.reader() as view:
            size = view.log_size()
            stored = {kind.TABLE: view.rows(kind.TABLE) for kind in RECORD_TYPES}
        try:
            expected = self._replay(self._stream(size))
        except ReplayFailure as exc:
            auditor.find(
                exc.index,
                "projection replay",
                f"the rules refuse this entry on replay: {exc.error.message}",
            )
            return
        except TracemarkError as exc:
            auditor.find(None, "projection replay", exc.message)
            return
        for kind in RECORD_TYPES:
            wanted = expected.rows(kind.TABLE)
            auditor.report.projection_rows_checked += len(wanted)
            if stored[kind.TABLE] == wanted:
                continue
            detail = _first_difference(kind, stored[kind.TABLE], wanted)
            auditor.find(
                None, "projection", f"table {kind.TABLE}: {detail}; run 'tracemark reindex'"
            )

    def reindex(self) -> int:
        """Rebuild every projection table from the log; returns the log size replayed."""

        def rebuild(rows: Iterator[StoredEntry]) -> Iterable[Any]:
            state = self._replay(rows)
            for kind in RECORD_TYPES:
                yield from state.rows(kind.TABLE)

        try:
            return self.store.reindex(rebuild)
        except ReplayFailure as exc:
            raise Conflict(
                f"cannot reindex: {exc}; run 'tracemark audit'", code="replay_failed"
            ) from None

    def _verifier_from(self, auditor: Auditor) -> NoteVerifier | None:
        if auditor.operator_key is None or auditor.origin is None:
            auditor.find(0, "genesis", "no valid genesis entry: cannot check checkpoint signatures")
            return None
        return NoteVerifier.from_public_key(auditor.origin, auditor.operator_key)

    def _audit_checkpoint_signatures(
        self, auditor: Auditor, checkpoints: Sequence[StoredCheckpoint]
    ) -> None:
        verifier = self._verifier_from(auditor) if checkpoints else None
        if verifier is None:
            return
        for cp in checkpoints:
            try:
                opened = open_checkpoint(cp.note, verifier, origin=auditor.origin)
            except TracemarkError as exc:
                auditor.find(None, "checkpoint signature", f"size {cp.tree_size}: {exc.message}")
                continue
            body = opened.checkpoint
            if body.tree_size != cp.tree_size or body.root_hash != cp.root_hash:
                auditor.find(
                    None,
                    "checkpoint record",
                    f"stored size/root of checkpoint {cp.tree_size} differ from its signed note",
                )
            auditor.report.checkpoints_checked += 1

    def _audit_cosignatures(
        self,
        auditor: Auditor,
        kept: Sequence[KeptCosignature],
        witnesses: Sequence[CosignatureVerifier],
    ) -> None:
        pinned = {(w.name, w.key_id): w for w in witnesses}
        latest = max((row.tree_size for row in kept), default=None)
        cosigned: set[tuple[str, bytes]] = set()
        for row in kept:
            found = auditor.check_cosignature(
                tree_size=row.tree_size,
                witness=row.witness,
                key_id=row.key_id,
                timestamp=row.timestamp,
                line=row.line,
                note=row.note,
                witnesses=pinned,
            )
            if found is not None and row.tree_size == latest:
                cosigned.add(found)
        auditor.require_witnesses(pinned, latest, cosigned)

    def _audit_external(self, auditor: Auditor, note: str) -> SignedCheckpoint | None:
        verifier = self._verifier_from(auditor)
        if verifier is None:
            return None
        try:
            opened = open_checkpoint(note, verifier, origin=auditor.origin)
        except TracemarkError as exc:
            auditor.find(None, "external checkpoint", exc.message)
            return None
        size = opened.checkpoint.tree_size
        if size > auditor.size:
            auditor.find(
                auditor.size,
                "external checkpoint",
                f"the checkpoint has {size} entries but the log only {auditor.size}: "
                "the log was truncated",
            )
            return opened
        if size == 0:
            return opened
        # Recompute the root at that size from the entries, not from stored nodes.
        replay = Auditor()
        for start in range(0, size, AUDIT_CHUNK):
            for row in self.store.entries(start, min(size, start + AUDIT_CHUNK)):
                replay.compact.append(leaf_hash(row.data))
        if replay.size == size and replay.root() != opened.checkpoint.root_hash:
            auditor.find(
                None,
                "external checkpoint",
                f"the log's first {size} entries do not hash to the root of the checkpoint "
                "kept outside the log: history was rewritten",
            )
        auditor.report.checkpoints_checked += 1
        return opened
