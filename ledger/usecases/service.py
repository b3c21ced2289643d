"""Use cases of the log over the storage port: init, append, checkpoint, prove, audit.

Adapters (CLI, HTTP) call one function each. Time is a parameter (``now_ms``); the only
clock is ``now_ms()`` below, used by adapters that do not pass one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

from ledger.codes.identifiers import SerialSet
from ledger.errors import (
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    RuleViolation,
    TracemarkError,
)
from ledger.keys import PrivateKey, PublicKey
from ledger.log.audit import Auditor, AuditReport
from ledger.log.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    SignedCheckpoint,
    open_checkpoint,
    sign_checkpoint,
)
from ledger.log.entries import GENESIS, Envelope, LogEntry, sign_entry
from ledger.log.hashing import chain_next, leaf_hash, node_hash
from ledger.log.merkle import (
    MAX_TREE_SIZE,
    CompactRange,
    RightEdge,
    assemble,
    consistency_plan,
    frontier_ids,
    inclusion_hashes,
    inclusion_path,
    node_key,
)
from ledger.log.note import NoteSigner, NoteVerifier, parse_note
from ledger.ports.log import (
    AppendBatch,
    Head,
    LogStore,
    ProjectionWriter,
    StoredCheckpoint,
    StoredEntry,
)
from ledger.ports.witnesses import KeptCosignature
from ledger.provenance.events.names import CLAIM, COMMISSION, REPACK
from ledger.provenance.projection import MemoryProjection, ReplayFailure, replay
from ledger.provenance.records import RECORD_TYPES, KeyRecord
from ledger.provenance.rules.common import Admission
from ledger.provenance.rules.custody import apply, self_signed_key
from ledger.usecases import queries

__all__ = [
    "AUDIT_CHUNK",
    "Accepted",
    "ConsistencyProof",
    "InclusionProof",
    "LogInfo",
    "LogService",
    "Rejected",
    "now_ms",
]

AUDIT_CHUNK = 5_000
MAX_BATCH = 10_000
#: Bounds on one append call, whatever its entry count: canonical body bytes, and items that
#: commissionings and repacks create (each can create 100,000 from a small body).
MAX_BATCH_BYTES = 16 * 1024 * 1024
MAX_BATCH_NEW_ITEMS = 500_000


#: Batches at least this large verify signatures on all cores: libsodium releases the GIL,
#: so verification overlaps across threads (1.8x on 2 cores) and with the commit's fsync.
PARALLEL_VERIFY_MIN = 64
_pool: ThreadPoolExecutor | None = None


def _verify_all(keyed: Sequence[tuple[int, Envelope, PublicKey]]) -> list[bool]:
    """Check every signature; large batches are split across one thread per core."""
    global _pool  # noqa: PLW0603 - one process-wide pool, created on first use
    if len(keyed) < PARALLEL_VERIFY_MIN:
        return [envelope.verify(key) for _, envelope, key in keyed]
    workers = os.cpu_count() or 1
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify")
    step = -(-len(keyed) // workers)
    chunks = [keyed[i : i + step] for i in range(0, len(keyed), step)]
    results: list[bool] = []
    for part in _pool.map(lambda chunk: [e.verify(k) for _, e, k in chunk], chunks):
        results.extend(part)
    return results


def _check_batch_size(envelopes: Sequence[Envelope]) -> None:
    size = sum(len(e.body_bytes) for e in envelopes)
    if size > MAX_BATCH_BYTES:
        raise LimitExceeded(f"a batch holds at most {MAX_BATCH_BYTES} bytes of entry bodies")
    new_items = 0
    for envelope in envelopes:
        if envelope.type == COMMISSION:
            new_items += len(SerialSet.from_obj(envelope.body["serials"]))
        elif envelope.type == REPACK:
            new_items += len(SerialSet.from_obj(envelope.body["outputs"]["serials"]))
    if new_items > MAX_BATCH_NEW_ITEMS:
        raise LimitExceeded(
            f"a batch creates at most {MAX_BATCH_NEW_ITEMS} items; this one {new_items}: "
            "send the commissionings in several batches"
        )


def _late_signature(view: ProjectionWriter, envelope: Envelope) -> Rejected | None:
    """Check the signature of an entry whose key was unknown before the transaction."""
    record = view.get(KeyRecord, (envelope.signer,))
    if record is None:
        return Rejected("unknown_key", f"key {envelope.signer} is not registered in the log")
    if not envelope.verify(PublicKey.from_text(record.public_key)):
        return Rejected(
            "signature_invalid", f"the signature by key {envelope.signer} does not verify"
        )
    return None


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


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Accepted:
    index: int
    leaf_hash: bytes
    integrated_time: int


@dataclass(frozen=True, slots=True)
class Rejected:
    code: str
    message: str


AppendOutcome = Accepted | Rejected


@dataclass(frozen=True, slots=True)
class LogInfo:
    """What entry 0 (genesis) says: the log's origin and the operator's key."""

    origin: str
    operator_id: str
    operator_name: str
    operator_key: PublicKey

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier.from_public_key(self.origin, self.operator_key)


@dataclass(frozen=True, slots=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]
    root_hash: bytes


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    hashes: list[bytes]


#: Proofs of the leaves in one complete block of 2**_SHARED_LEVEL leaves share their upper
#: part (``LogService.inclusion_proof``); for large logs the level rises so that one tree
#: size has at most 2**_SHARED_BLOCK_BITS blocks, and _SHARED_MAX upper parts are kept in
#: all (about 1 KB each at 1,000,000 entries).
_SHARED_LEVEL = 10
_SHARED_BLOCK_BITS = 13
_SHARED_MAX = 1 << 13


class LogService:
    """The log's use cases. ``log_key`` is the operator's key; only signing needs it."""

    def __init__(
        self,
        store: LogStore,
        *,
        log_key: PrivateKey | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.store = store
        self.log_key = log_key
        #: Rules checked on submission only (time rules): docs/format.md, Time.
        self.admission = admission if admission is not None else Admission()
        self._info: LogInfo | None = None
        self._edges: dict[int, RightEdge] = {}  # trees of past sizes never change
        self._shared: dict[tuple[int, int], list[bytes]] = {}  # (size, block) -> upper path
        self._keys: dict[str, PublicKey] = {}  # key id -> public key (immutable pairs)
        if getattr(store, "projection_stale", False) and store.size():
            self.reindex()  # projection tables of an older version were remade: refill them
            store.projection_stale = False  # type: ignore[attr-defined]

    # --- set-up -----------------------------------------------------------------------

    def initialize(
        self, *, origin: str, operator_name: str, key: PrivateKey, now: int
    ) -> StoredCheckpoint:
        """Write the genesis entry (self-signed by the operator key) and the first checkpoint."""
        if self.store.head().size:
            raise Conflict("the log is already initialized", code="already_initialized")
        body = {
            "origin": origin,
            "operator": {"id": "operator", "name": operator_name},
            "key": key.public_key.to_text(),
        }
        genesis = sign_entry(GENESIS, body, key)
        self.log_key = key
        outcome = self.append([genesis], now=now, trusted_genesis=True)[0]
        if isinstance(outcome, Rejected):
            raise Conflict(outcome.message, code=outcome.code)
        return self.checkpoint(now=now)

    def info(self) -> LogInfo:
        if self._info is None:
            try:
                genesis = LogEntry.from_leaf(0, self.store.entry(0).data).envelope
            except NotFound:
                raise NotFound(
                    "the log is not initialized: run 'tracemark init'", code="not_initialized"
                ) from None
            operator = genesis.body["operator"]
            self._info = LogInfo(
                origin=genesis.body["origin"],
                operator_id=operator["id"],
                operator_name=operator["name"],
                operator_key=PublicKey.from_text(genesis.body["key"]),
            )
        return self._info

    # --- appends -----------------------------------------------------------------------

    def _public_key(self, envelope: Envelope, *, trusted_genesis: bool) -> PublicKey | None:
        """The public key to check a signature with, when known before the transaction.

        A key id names one public key forever (it is a hash of it), so found keys are
        cached; whether the key may sign *now* is decided by the rules under the lock.
        """
        if envelope.type == GENESIS:
            return self_signed_key(envelope) if trusted_genesis else None
        own = self_signed_key(envelope)
        if own is not None or envelope.type == CLAIM:
            return own
        key = self._keys.get(envelope.signer)
        if key is None:
            with self.store.reader() as view:
                record = view.get(KeyRecord, (envelope.signer,))
            if record is not None:
                key = self._keys[envelope.signer] = PublicKey.from_text(record.public_key)
        return key

    def _verified(
        self,
        envelopes: Sequence[Envelope],
        outcomes: list[AppendOutcome | None],
        *,
        trusted_genesis: bool,
    ) -> tuple[list[tuple[int, Envelope]], set[int]]:
        """Check the signatures that can be checked before the lock; reject bad ones.

        Returns the candidates in submission order and the positions whose key is not
        known yet (checked inside the transaction, after earlier entries of the batch).
        """
        keyed: list[tuple[int, Envelope, PublicKey]] = []
        deferred: list[tuple[int, Envelope]] = []
        for position, envelope in enumerate(envelopes):
            if envelope.type == GENESIS and not trusted_genesis:
                outcomes[position] = Rejected("genesis_exists", "the log already has a genesis")
                continue
            key = self._public_key(envelope, trusted_genesis=trusted_genesis)
            if key is None and envelope.type in (GENESIS, CLAIM):
                outcomes[position] = Rejected(
                    "signature_invalid", "the entry is not signed by the key it carries"
                )
            elif key is None:
                deferred.append((position, envelope))
            else:
                keyed.append((position, envelope, key))
        candidates: list[tuple[int, Envelope]] = list(deferred)
        for (position, envelope, _), valid in zip(keyed, _verify_all(keyed), strict=True):
            if valid:
                candidates.append((position, envelope))
            else:
                outcomes[position] = Rejected(
                    "signature_invalid", f"the signature by key {envelope.signer} does not verify"
                )
        candidates.sort(key=lambda pair: pair[0])
        return candidates, {position for position, _ in deferred}

    def append(
        self, envelopes: Sequence[Envelope], *, now: int, trusted_genesis: bool = False
    ) -> list[AppendOutcome]:
        """Verify, check the rules and append a batch in one transaction (group commit).

        Returns one outcome per envelope: Accepted (index, leaf hash) or Rejected (a rule
        code and message). Signatures are checked before the sequencer lock, on all cores
        for large batches; a key first registered earlier in the same batch is looked up
        and checked inside the transaction.
        """
        if len(envelopes) > MAX_BATCH:
            raise InvalidInput(f"a batch holds at most {MAX_BATCH} entries")
        _check_batch_size(envelopes)
        outcomes: list[AppendOutcome | None] = [None] * len(envelopes)
        candidates, late = self._verified(envelopes, outcomes, trusted_genesis=trusted_genesis)
        statements = [envelope.statement_hash for _, envelope in candidates]

        def build(head: Head, present: frozenset[bytes], view: ProjectionWriter) -> AppendBatch:
            rows: list[StoredEntry] = []
            nodes: list[tuple[int, int, bytes]] = []
            seen = set(present)
            compact, chain, index = head.compact, head.chain_hash, head.size
            for (position, envelope), statement in zip(candidates, statements, strict=True):
                if statement in seen:
                    outcomes[position] = Rejected(
                        "duplicate_entry", "this signed statement is already in the log"
                    )
                    continue
                if (envelope.type == GENESIS) != (index == 0):
                    outcomes[position] = Rejected(
                        "genesis_order", "entry 0 must be the genesis, and only entry 0"
                    )
                    continue
                if position in late:
                    rejected = _late_signature(view, envelope)
                    if rejected is not None:
                        outcomes[position] = rejected
                        continue
                try:
                    changes = apply(envelope, index, now, view, self.admission)
                except RuleViolation as exc:
                    outcomes[position] = Rejected(exc.code, exc.message)
                    continue
                view.apply_changes(changes)
                seen.add(statement)
                data = envelope.leaf_bytes(now)
                digest = leaf_hash(data)
                chain = chain_next(chain, digest)
                nodes.extend(compact.append(digest))
                rows.append(
                    StoredEntry(
                        index, digest, chain, statement, envelope.type, envelope.signer, now, data
                    )
                )
                outcomes[position] = Accepted(index, digest, now)
                index += 1
            return AppendBatch(rows, nodes, Head(index, compact, chain))

        self.store.append(statements, build)
        return [o if o is not None else Rejected("internal", "not processed") for o in outcomes]

    def append_one(self, envelope: Envelope, *, now: int) -> Accepted:
        outcome = self.append([envelope], now=now)[0]
        if isinstance(outcome, Rejected):
            raise RuleViolation(outcome.message, code=outcome.code)
        return outcome

    # --- checkpoints ----------------------------------------------------------------------

    def checkpoint(self, *, now: int) -> StoredCheckpoint:
        """Sign the current tree head if it grew since the latest checkpoint, and store it.

        ``now`` is not stored: a checkpoint note carries no time, and a stored time that no
        signature covers could not be audited (docs/decisions.md, 24)."""
        del now  # kept in the signature: every caller passes its clock
        if self.log_key is None:
            raise InvalidInput("signing a checkpoint needs the operator key")
        info = self.info()
        if self.log_key.public_key != info.operator_key:
            raise InvalidInput("this key is not the operator key recorded in the genesis entry")
        head = self.store.head()
        latest = self.store.latest_checkpoint()
        if latest is not None and latest.tree_size == head.size:
            return latest
        body = Checkpoint(info.origin, head.size, head.root())
        note = sign_checkpoint(body, NoteSigner(info.origin, self.log_key))
        stored = StoredCheckpoint(head.size, body.root_hash, note)
        try:
            self.store.add_checkpoint(stored)
        except Conflict:
            # Another process signed this size first (checkpoints are append-only): use it.
            latest = self.store.latest_checkpoint()
            if latest is None or latest.tree_size < head.size:
                raise
            return latest
        return stored

    def latest_checkpoint(self) -> StoredCheckpoint:
        latest = self.store.latest_checkpoint()
        if latest is None:
            raise NotFound("no checkpoint has been signed yet", code="no_checkpoint")
        return latest

    def open_checkpoint(self, note: str) -> SignedCheckpoint:
        """Verify a checkpoint note against this log's origin and operator key."""
        info = self.info()
        return open_checkpoint(note, info.verifier, origin=info.origin)

    # --- proofs ------------------------------------------------------------------------------

    def _size_or_latest(self, size: int | None) -> int:
        if size is not None:
            return size
        return self.latest_checkpoint().tree_size

    def root_at(self, size: int) -> bytes:
        """The root of the tree of ``size`` entries, from O(log n) stored nodes."""
        return self._edge(size).root

    def _edge(self, size: int) -> RightEdge:
        """The right edge of the tree of ``size`` entries, root included: one read of its
        frontier, then kept (a tree of a given size never changes). The read includes the
        last leaf, so that a size beyond the log is told apart from missing nodes."""
        edge = self._edges.get(size)
        if edge is not None:
            return edge
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_TREE_SIZE:
            raise InvalidInput(f"tree size must be between 1 and {MAX_TREE_SIZE}, got {size}")
        ids = frontier_ids(size)
        hashes = self.store.node_hashes([*(node_key(lv, ix) for lv, ix in ids), size - 1])
        if hashes[-1] is None:
            raise InvalidInput(f"tree size {size} is beyond the log's size")
        frontier = [digest for digest in hashes[:-1] if digest is not None]
        if len(frontier) != len(ids):
            raise NotFound(f"stored Merkle nodes are missing for size {size}: run audit")
        edge = RightEdge.of(CompactRange(size, frontier, [level for level, _ in ids]))
        if len(self._edges) >= 4096:
            self._edges.clear()
        self._edges[size] = edge
        return edge

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """An RFC 9162 inclusion proof: one stored node per proof hash, read in one go
        (mostly from the store's node cache), plus the tree's right edge, kept per size.

        Leaves in the same complete block of ``2**level`` leaves share every proof hash
        above ``level`` (their siblings there, the edge and the subtrees to their left are
        the block's). So the upper part is kept per (size, block), and a proof reads only
        its ``level`` lowest nodes: its cost then hardly grows with the log. ``level`` is
        ``_SHARED_LEVEL``, raised for large logs so that a size has at most
        ``2**_SHARED_BLOCK_BITS`` blocks."""
        tree_size = self._size_or_latest(size)
        keys, fork = inclusion_path(index, tree_size)
        edge = self._edge(tree_size)
        level = max(_SHARED_LEVEL, tree_size.bit_length() - _SHARED_BLOCK_BITS)
        if fork < level:  # a small tree, or the leaf is in the last, incomplete block
            leaf, path = self._read_path(index, keys, fork, tree_size)
            return InclusionProof(
                index, tree_size, leaf, inclusion_hashes(fork, path, edge), edge.root
            )
        leaf, lower = self._read_path(index, keys[:level], fork, tree_size)
        block = (tree_size, index >> level)
        shared = self._shared.get(block)
        if shared is None:
            above = self._stored(keys[level:], tree_size)
            shared = inclusion_hashes(fork, [*lower, *above], edge)[level:]
            if len(self._shared) >= _SHARED_MAX:
                self._shared.clear()
            self._shared[block] = shared
        return InclusionProof(index, tree_size, leaf, lower + shared, edge.root)

    def _read_path(
        self, index: int, keys: list[int], fork: int, size: int
    ) -> tuple[bytes, list[bytes]]:
        """The leaf's hash and the hashes of ``keys`` (nodes of its path, siblings first).

        When the path starts with siblings at levels 0 and 1 (the leaf's block of four is
        complete), the four leaves are read instead, one range of the node table, and the
        level-1 sibling is hashed from its two leaves: the leaf and a level-1 node are far
        apart in the table, and on a large log each costs a page read (bench/README.md)."""
        if fork < 2:
            hashes = self._stored([index, *keys], size)  # the leaf's key is its index
            return hashes[0], hashes[1:]
        first = index & ~3
        hashes = self._stored([first, first + 1, first + 2, first + 3, *keys[2:]], size)
        at = index & 3
        pair = (at & 2) ^ 2  # where the two leaves under the level-1 sibling start
        return hashes[at], [hashes[at ^ 1], node_hash(hashes[pair], hashes[pair + 1]), *hashes[4:]]

    def _stored(self, keys: list[int], size: int) -> list[bytes]:
        hashes = self.store.node_hashes(keys)
        if not all(hashes):  # a None: a node is missing (all() is the fast test for it)
            raise NotFound(f"stored Merkle nodes are missing for size {size}: run audit")
        return cast("list[bytes]", hashes)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        new = self._size_or_latest(new_size)
        plan = consistency_plan(old_size, new)
        new_root, old_root = self._edge(new).root, self._edge(old_size).root
        wanted = {node for group in plan for node in group}
        nodes = self.store.nodes(wanted)
        if len(nodes) != len(wanted):
            raise NotFound(f"stored Merkle nodes are missing for size {new}: run audit")
        return ConsistencyProof(old_size, new, old_root, new_root, assemble(plan, nodes))

    def entry(self, index: int) -> tuple[StoredEntry, LogEntry]:
        stored = self.store.entry(index)
        return stored, LogEntry.from_leaf(index, stored.data)

    # --- the supply chain's read models --------------------------------------------------------

    def item_view(self, item: str) -> queries.ItemView:
        return queries.item_view(self.store, item)

    def actor_view(self, actor_id: str) -> queries.ActorView:
        return queries.actor_view(self.store, actor_id)

    def listing_status(self, platform: str, listing_id: str) -> queries.ListingStatus:
        return queries.listing_status(self.store, platform, listing_id)

    # --- audit -----------------------------------------------------------------------------

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
