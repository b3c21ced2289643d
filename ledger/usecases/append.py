"""Appending to the log: verify signatures, check the rules, sequence a batch in one
transaction (group commit); write the genesis; sign checkpoints with the operator key.

The store serializes appends and calls ``build`` (below) inside its write transaction with
the head, the statement hashes already logged and the projection, so the rules see the
projection exactly as of each entry and a rejected entry changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ledger.codes.identifiers import SerialSet
from ledger.errors import Conflict, InvalidInput, LimitExceeded, RuleViolation
from ledger.keys import PrivateKey, PublicKey
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.entries import GENESIS, Envelope, sign_entry
from ledger.log.hashing import chain_next, leaf_hash
from ledger.log.note import NoteSigner
from ledger.ports.log import (
    AppendBatch,
    Head,
    LogStore,
    ProjectionWriter,
    StoredCheckpoint,
    StoredEntry,
)
from ledger.provenance.events.names import CLAIM, COMMISSION, REPACK
from ledger.provenance.records import KeyRecord
from ledger.provenance.rules.common import Admission
from ledger.provenance.rules.custody import apply, self_signed_key
from ledger.usecases.prove import Prover

__all__ = ["MAX_BATCH", "Accepted", "AppendOutcome", "Appender", "Rejected"]

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


class Appender:
    """The log's write side. ``log_key`` is the operator's key; only signing needs it."""

    def __init__(
        self,
        store: LogStore,
        prover: Prover,
        *,
        log_key: PrivateKey | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.store = store
        self.prover = prover
        self.log_key = log_key
        #: Rules checked on submission only (time rules): docs/format.md, Time.
        self.admission = admission if admission is not None else Admission()
        self._keys: dict[str, PublicKey] = {}  # key id -> public key (immutable pairs)

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

    def checkpoint(self, *, now: int) -> StoredCheckpoint:
        """Sign the current tree head if it grew since the latest checkpoint, and store it.

        ``now`` is not stored: a checkpoint note carries no time, and a stored time that no
        signature covers could not be audited (docs/decisions.md, 24)."""
        del now  # kept in the signature: every caller passes its clock
        if self.log_key is None:
            raise InvalidInput("signing a checkpoint needs the operator key")
        info = self.prover.info()
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
