"""The auditor: recompute the log from its stored entries and say where it diverges.

Pure and streaming: the caller feeds stored rows in index order and stored nodes and
checkpoints as it reads them; the auditor recomputes every leaf hash, the chain, the
statement hashes, the perfect Merkle nodes and the roots, verifies every entry signature
against the keys the log itself introduced, and records findings. Memory stays
O(log n) plus the key registry, so a million-entry log audits in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.entries import GENESIS, LogEntry
from ledger.errors import TracemarkError
from ledger.events import ACTOR_REGISTER, CLAIM, KEY_ADD
from ledger.hashing import CHAIN_GENESIS, chain_next, leaf_hash
from ledger.keys import PublicKey
from ledger.merkle import CompactRange

__all__ = ["AuditReport", "Auditor", "Finding"]

MAX_FINDINGS = 100


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
        stored_leaf_hash: bytes,
        stored_chain_hash: bytes,
        stored_statement_hash: bytes,
    ) -> None:
        """Check one stored entry. Rows must come in stored index order."""
        expected = self.size
        if index != expected:
            what = "missing entry" if index > expected else "entry out of order"
            self.find(expected, what, f"expected index {expected}, found index {index}")
        recomputed = leaf_hash(data)
        if recomputed != stored_leaf_hash:
            self.find(index, "leaf hash", "stored leaf hash does not match the entry bytes")
        self.chain = chain_next(self.chain, recomputed)
        if self.chain != stored_chain_hash:
            self.find(index, "chain hash", "stored chain hash does not match the recomputed chain")
            # Continue from the stored value, so each break is reported once, where it is.
            self.chain = stored_chain_hash
        for level, node_index, digest in self.compact.append(recomputed):
            self._expected_nodes[(level, node_index)] = digest
        self._check_entry(index, data, stored_statement_hash)
        self.report.entries_checked += 1
        self.report.tree_size = self.size

    def _check_entry(self, index: int, data: bytes, stored_statement_hash: bytes) -> None:
        try:
            entry = LogEntry.from_leaf(index, data)
        except TracemarkError as exc:
            self.find(index, "entry format", exc.message)
            return
        envelope = entry.envelope
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

    def compare_root(self, tree_size: int, root_hash: bytes, source: str) -> None:
        """Call when ``self.size == tree_size``: compare a checkpoint's root with ours."""
        if root_hash != self.root():
            self.find(
                None,
                "checkpoint root",
                f"{source} of size {tree_size} has root {root_hash.hex()}, but the stored "
                f"entries give {self.root().hex()}: history before index {tree_size} changed",
            )

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
