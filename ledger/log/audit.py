"""The auditor: recompute the log from its stored entries and say where it diverges.

Pure and streaming: the caller feeds stored rows in index order and stored nodes and
checkpoints as it reads them; the auditor recomputes every leaf hash, the chain, the
statement hashes, the perfect Merkle nodes and the roots, verifies every entry signature
against the keys the log itself introduced, and records findings. Memory stays
O(log n) plus the key registry, so a million-entry log audits in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ledger.errors import TracemarkError
from ledger.keys import PublicKey
from ledger.log.checkpoint import CosignatureVerifier, open_checkpoint
from ledger.log.compact import CompactRange
from ledger.log.entries import GENESIS, LogEntry
from ledger.log.hashing import CHAIN_GENESIS, chain_next
from ledger.log.hashing import leaf_hash as hash_leaf
from ledger.log.note import NoteVerifier, parse_note
from ledger.provenance.events.names import ACTOR_REGISTER, CLAIM, KEY_ADD

__all__ = ["AuditReport", "Auditor", "Finding"]

MAX_FINDINGS = 100
#: Stored columns of an entry that are copies of what its signed leaf says.
_COLUMNS = ("entry_type", "signer", "integrated_time")


@dataclass(frozen=True, slots=True)
class Finding:
    """One divergence. ``index`` is the first log index it concerns (None: the whole log)."""

    index: int | None
    what: str
    detail: str

    def __str__(self) -> str:
        where = "log" if self.index is None else f"index {self.index}"
        return f"{where}: {self.what}: {self.detail}"


@dataclass(slots=True)
class AuditReport:
    tree_size: int = 0
    root_hash: bytes = b""
    entries_checked: int = 0
    nodes_checked: int = 0
    checkpoints_checked: int = 0
    projection_rows_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_index(self) -> int | None:
        indices = [f.index for f in self.findings if f.index is not None]
        return min(indices) if indices else None

    def first(self) -> Finding | None:
        if not self.findings:
            return None
        bad = self.first_bad_index
        for finding in self.findings:
            if finding.index == bad:
                return finding
        return self.findings[0]


class Auditor:
    """Feed it the stored log in order; read ``report`` at the end."""

    def __init__(self) -> None:
        self.report = AuditReport()
        self.compact = CompactRange()
        self.chain = CHAIN_GENESIS
        self.keys: dict[str, PublicKey] = {}
        self.origin: str | None = None
        self.operator_key: PublicKey | None = None
        self._statements: set[bytes] = set()
        self._expected_nodes: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        return self.compact.size

    def root(self) -> bytes:
        return self.compact.root()

    def find(self, index: int | None, what: str, detail: str) -> None:
        if len(self.report.findings) < MAX_FINDINGS:
            self.report.findings.append(Finding(index, what, detail))

    def feed(
        self,
        index: int,
        data: bytes,
        *,
        leaf_hash: bytes,
        chain_hash: bytes,
        statement_hash: bytes,
        entry_type: str,
        signer: str,
        integrated_time: int,
    ) -> None:
        """Check one stored entry: every stored column against the entry bytes (``data``).

        Rows must come in stored index order. The stored hashes are recomputed; the stored
        type, signer and integrated time must be what the signed leaf says, since readers
        (``GET /v1/log/entries``, the verifier's caches) trust those columns."""
        stored_leaf_hash, stored_chain_hash = leaf_hash, chain_hash
        expected = self.size
        if index != expected:
            what = "missing entry" if index > expected else "entry out of order"
            self.find(expected, what, f"expected index {expected}, found index {index}")
        recomputed = hash_leaf(data)
        if recomputed != stored_leaf_hash:
            self.find(index, "leaf hash", "stored leaf hash does not match the entry bytes")
        self.chain = chain_next(self.chain, recomputed)
        if self.chain != stored_chain_hash:
            self.find(index, "chain hash", "stored chain hash does not match the recomputed chain")
            # Continue from the stored value, so each break is reported once, where it is.
            self.chain = stored_chain_hash
        for level, node_index, digest in self.compact.append(recomputed):
            self._expected_nodes[(level, node_index)] = digest
        self._check_entry(index, data, statement_hash, (entry_type, signer, integrated_time))
        self.report.entries_checked += 1
        self.report.tree_size = self.size

    def _check_entry(
        self,
        index: int,
        data: bytes,
        stored_statement_hash: bytes,
        stored_columns: tuple[str, str, int],
    ) -> None:
        try:
            entry = LogEntry.from_leaf(index, data)
        except TracemarkError as exc:
            self.find(index, "entry format", exc.message)
            return
        envelope = entry.envelope
        signed = (envelope.type, envelope.signer, entry.integrated_time)
        for name, stored, value in zip(_COLUMNS, stored_columns, signed, strict=True):
            if stored != value:
                self.find(
                    index,
                    name,
                    f"stored {name} {stored!r} differs from the signed entry's {value!r}",
                )
        statement = envelope.statement_hash
        if statement != stored_statement_hash:
            self.find(index, "statement hash", "stored statement hash does not match the entry")
        if statement in self._statements:
            self.find(index, "replay", "the same signed statement appears twice in the log")
        self._statements.add(statement)
        if envelope.type == GENESIS:
            if index != 0:
                self.find(index, "genesis", "a genesis entry may only be entry 0")
                return
            introduced = PublicKey.from_text(envelope.body["key"])
            self.keys[introduced.key_id] = introduced
            self.operator_key = introduced
            self.origin = str(envelope.body["origin"])
        elif index == 0:
            self.find(index, "genesis", "entry 0 is not the log's genesis entry")
        if envelope.type == CLAIM:  # a buyer's claim carries its own key
            key: PublicKey | None = PublicKey.from_text(envelope.body["key"])
        else:
            key = self.keys.get(envelope.signer)
        if key is None:
            self.find(index, "signature", f"signed by key {envelope.signer}, unknown at the time")
        elif not envelope.verify(key):
            self.find(index, "signature", f"signature by key {envelope.signer} does not verify")
        # Keys the log introduces verify later entries (whether they were still allowed to
        # sign is the rules' question, checked by the projection replay).
        if envelope.type == ACTOR_REGISTER:
            for text in envelope.body["keys"]:
                introduced = PublicKey.from_text(text)
                self.keys[introduced.key_id] = introduced
        elif envelope.type == KEY_ADD:
            introduced = PublicKey.from_text(envelope.body["key"])
            self.keys[introduced.key_id] = introduced

    def take_expected_nodes(self) -> dict[tuple[int, int], bytes]:
        """The perfect nodes completed since the last call, to compare with storage."""
        nodes, self._expected_nodes = self._expected_nodes, {}
        return nodes

    def compare_nodes(
        self, expected: dict[tuple[int, int], bytes], stored: dict[tuple[int, int], bytes]
    ) -> None:
        """Compare recomputed perfect nodes with stored ones, lowest level first.

        A mismatching node is blamed on the earliest divergence already found among the
        leaves it covers; only when nothing below it diverged is the node itself the
        tampered record, and then it is reported at its first leaf.
        """
        for level, node_index in sorted(expected):
            digest = expected[(level, node_index)]
            got = stored.get((level, node_index))
            self.report.nodes_checked += 1
            if got == digest:
                continue
            first, last = node_index << level, (node_index + 1) << level
            below = [
                f.index
                for f in self.report.findings
                if f.index is not None and first <= f.index < last
            ]
            where = min(below) if below else first
            detail = "is missing" if got is None else "does not match the entries"
            self.find(where, "merkle node", f"stored node ({level}, {node_index}) {detail}")

    def compare_node_count(self, entries: int, nodes: int) -> None:
        """Stored counts, read together: a tree of n leaves has 2n - popcount(n) perfect
        nodes. Every expected node was compared already; this finds the rows no entry
        calls for (an inserted node would also block the append that must write its key)."""
        expected = 2 * entries - entries.bit_count()
        if nodes != expected:
            self.find(
                None,
                "merkle nodes",
                f"{nodes} nodes are stored, but {entries} entries make {expected}",
            )

    def compare_root(self, tree_size: int, root_hash: bytes, source: str) -> None:
        """Call when ``self.size == tree_size``: compare a checkpoint's root with ours."""
        if root_hash != self.root():
            self.find(
                None,
                "checkpoint root",
                f"{source} of size {tree_size} has root {root_hash.hex()}, but the stored "
                f"entries give {self.root().hex()}: history before index {tree_size} changed",
            )

    def log_verifier(self) -> NoteVerifier | None:
        """The checkpoint verifier the genesis entry names (None before a valid genesis)."""
        if self.operator_key is None or self.origin is None:
            return None
        return NoteVerifier.from_public_key(self.origin, self.operator_key)

    def check_log_key(self, pinned: NoteVerifier) -> None:
        """Is this the log whose verifier key the caller pinned? Call after entry 0."""
        found = self.log_verifier()
        if found is None:
            if self.size == 0:
                self.find(0, "log key", f"the database holds no log, not {pinned.to_vkey()}")
            return  # else the genesis entry is already a finding
        if found.to_vkey() != pinned.to_vkey():
            self.find(
                0,
                "log key",
                f"this database holds a different log: its genesis entry names the log key "
                f"{found.to_vkey()}, not the pinned {pinned.to_vkey()} (a fork of the log, "
                "or the wrong database)",
            )

    def check_cosignature(
        self,
        *,
        tree_size: int,
        witness: str,
        key_id: str,
        timestamp: int,
        line: str,
        note: str,
        witnesses: Mapping[tuple[str, bytes], CosignatureVerifier],
    ) -> tuple[str, bytes] | None:
        """Check one stored witness cosignature (a row of ``witness_cosignatures``).

        The note must be the log's signed checkpoint of ``tree_size`` (its root is compared
        with the log's by the caller, as for stored checkpoints); the name, key id and
        timestamp columns must be what the line says. The line's signature can only be
        checked with the witness's key: with one of ``witnesses`` (by name and key id) it
        must verify. Returns that witness's (name, key id) when it did, else None."""
        where = f"size {tree_size}, witness {witness!r}"
        verifier = self.log_verifier()
        if verifier is None:
            return None  # the genesis entry is already a finding
        before = len(self.report.findings)
        try:
            opened = open_checkpoint(note, verifier, origin=self.origin)
        except TracemarkError as exc:
            self.find(None, "witness cosignature", f"{where}: the cosigned note: {exc.message}")
            return None
        if opened.checkpoint.tree_size != tree_size:
            self.find(
                None,
                "witness cosignature",
                f"{where}: the cosigned note is of size {opened.checkpoint.tree_size}",
            )
        try:
            (signature,) = parse_note("-\n\n" + line).signatures
        except (TracemarkError, ValueError):
            self.find(None, "witness cosignature", f"{where}: the line is not one signature line")
            return None
        stamp = int.from_bytes(signature.signature[:8], "big")
        for name, stored, value in (
            ("line", line, signature.line),
            ("witness", witness, signature.name),
            ("key id", key_id, signature.key_id.hex()),
            ("timestamp", timestamp, stamp),
        ):
            if stored != value:
                self.find(
                    None,
                    "witness cosignature",
                    f"{where}: stored {name} {stored!r} differs from the line's {value!r}",
                )
        pinned = witnesses.get((signature.name, signature.key_id))
        if pinned is None or len(self.report.findings) > before:
            return None
        if not pinned.verify(opened.text.encode("utf-8"), signature.signature):
            self.find(
                None,
                "witness cosignature",
                f"{where}: the cosignature does not verify with the witness key {pinned.to_vkey()}",
            )
            return None
        return signature.name, signature.key_id

    def require_witnesses(
        self,
        witnesses: Mapping[tuple[str, bytes], CosignatureVerifier],
        latest: int | None,
        cosigned: set[tuple[str, bytes]],
    ) -> None:
        """Each pinned witness must have a valid cosignature (``cosigned``, from
        ``check_cosignature``) on the latest kept cosigned checkpoint, of size ``latest``."""
        for key, verifier in sorted(witnesses.items()):
            if key in cosigned:
                continue
            where = (
                "no cosigned checkpoint is kept"
                if latest is None
                else f"no valid cosignature on the latest cosigned checkpoint (size {latest})"
            )
            self.find(None, "witness", f"required witness {verifier.to_vkey()}: {where}")

    def finish(self, stored_size: int) -> AuditReport:
        if stored_size != self.size:
            self.find(
                self.size,
                "log size",
                f"the log reports {stored_size} entries but {self.size} were read in order",
            )
        self.report.tree_size = self.size
        self.report.root_hash = self.root()
        return self.report
