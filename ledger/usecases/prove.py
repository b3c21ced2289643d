"""Reading and proving the log: what genesis says, checkpoints, roots, inclusion and
consistency proofs (RFC 9162), entries. Read-only over the ``LogStore`` port.

``Prover`` keeps what never changes in memory: the genesis facts, the right edge of each
tree size, the upper part of proofs shared by a block of leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from ledger.errors import InvalidInput, NotFound
from ledger.keys import PublicKey
from ledger.log.checkpoint import SignedCheckpoint, open_checkpoint
from ledger.log.compact import CompactRange, RightEdge
from ledger.log.entries import LogEntry
from ledger.log.hashing import node_hash
from ledger.log.merkle import (
    MAX_TREE_SIZE,
    assemble,
    consistency_plan,
    frontier_ids,
    inclusion_hashes,
    inclusion_path,
    node_key,
)
from ledger.log.note import NoteVerifier
from ledger.ports.log import LogStore, StoredCheckpoint, StoredEntry

__all__ = ["ConsistencyProof", "InclusionProof", "LogInfo", "Prover"]


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
#: part (``Prover.inclusion_proof``); for large logs the level rises so that one tree
#: size has at most 2**_SHARED_BLOCK_BITS blocks, and _SHARED_MAX upper parts are kept in
#: all (about 1 KB each at 1,000,000 entries).
_SHARED_LEVEL = 10
_SHARED_BLOCK_BITS = 13
_SHARED_MAX = 1 << 13


class Prover:
    """The log's read side: genesis facts, checkpoints, roots, proofs and entries."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._info: LogInfo | None = None
        self._edges: dict[int, RightEdge] = {}  # trees of past sizes never change
        self._shared: dict[tuple[int, int], list[bytes]] = {}  # (size, block) -> upper path

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

    def latest_checkpoint(self) -> StoredCheckpoint:
        latest = self.store.latest_checkpoint()
        if latest is None:
            raise NotFound("no checkpoint has been signed yet", code="no_checkpoint")
        return latest

    def open_checkpoint(self, note: str) -> SignedCheckpoint:
        """Verify a checkpoint note against this log's origin and operator key."""
        info = self.info()
        return open_checkpoint(note, info.verifier, origin=info.origin)

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
