"""RFC 9162 Merkle trees: roots, proof plans, proof verification, compact ranges.

Storage keeps the hash of every *perfect* subtree: node ``(level, index)`` covers leaves
``[index * 2**level, (index + 1) * 2**level)``. Any subtree that an RFC 9162 proof needs is
either such a node or the right edge of a tree, which is the right fold of at most
log2(n) perfect nodes. So a proof is planned first, as the perfect nodes it is made of,
fetched in one read, and then assembled: O(log n) stored nodes, never a rebuild from the
leaves. Inclusion proofs, the hot path, are planned as one stored node per proof hash
(``inclusion_path``) plus at most one fold of the tree's right edge, which is the same for
every index at a given size (``RightEdge``); consistency proofs as lists of perfect nodes
that each fold into one proof hash (``consistency_plan``, ``assemble``).

Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 with transparency-dev's policy:
a leaf hash must be 32 bytes, ``index < size``, the proof must have exactly the expected
length, a consistency proof from size 0 is always an error, and from ``size1 == size2`` it
must be empty with equal roots. ``root_from_*`` compute; ``verify_*`` compare and raise
``ProofError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ledger.errors import InvalidInput, ProofError
from ledger.log.hashing import EMPTY_ROOT, HASH_SIZE, node_hash

__all__ = [
    "MAX_TREE_SIZE",
    "CompactRange",
    "NodeId",
    "ProofPlan",
    "RightEdge",
    "assemble",
    "consistency_plan",
    "frontier_ids",
    "inclusion_hashes",
    "inclusion_path",
    "node_key",
    "node_of_key",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "root_of",
    "subtree_ids",
    "verify_consistency",
    "verify_inclusion",
]

#: Node ids pack into one 63-bit integer: ``level << 48 | index``.
MAX_TREE_SIZE = 1 << 48
_INDEX_BITS = 48

NodeId = tuple[int, int]
"""``(level, index)`` of a perfect subtree."""

ProofPlan = list[list[NodeId]]
"""One list of perfect nodes per proof hash; each list right-folds into that hash."""


def node_key(level: int, index: int) -> int:
    """Pack a node id into one integer (the storage key)."""
    return (level << _INDEX_BITS) | index


def node_of_key(key: int) -> NodeId:
    return key >> _INDEX_BITS, key & (MAX_TREE_SIZE - 1)


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(size: int, what: str = "tree size") -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInput(f"{what} must be a non-negative integer")
    if size > MAX_TREE_SIZE:
        raise InvalidInput(f"{what} {size} exceeds the maximum {MAX_TREE_SIZE}")


def subtree_ids(lo: int, hi: int) -> list[NodeId]:
    """Perfect nodes whose right fold is MTH(D[lo:hi]), for subtrees RFC 9162 visits.

    Such subtrees have ``lo`` aligned to the largest power of two below ``hi - lo``, so
    they decompose by the binary digits of their size, largest first.
    """
    ids: list[NodeId] = []
    while lo < hi:
        n = hi - lo
        level = n.bit_length() - 1
        if lo % (1 << level):
            raise InvalidInput(f"subtree [{lo}, {hi}) is not one an RFC 9162 proof uses")
        ids.append((level, lo >> level))
        lo += 1 << level
    return ids


def inclusion_path(index: int, size: int) -> tuple[list[int], int]:
    """The stored nodes of PATH(index, D[size]) (RFC 9162 2.1.3.1) as keys, and the fork.

    The path climbs from the leaf to the *fork*: the largest perfect subtree that holds the
    leaf and ends within ``size``, at level ``fork = bit_length(index ^ size) - 1``. Below
    it, the proof holds the leaf's sibling at every level, all perfect nodes. Then, if the
    tree does not end where the fork does, one hash for the rest of the tree to its right:
    the fold of the tree's right edge below ``fork`` (``RightEdge.below``), the same for
    every index at this size. Last, one perfect node per set bit of ``index`` above the
    fork, the subtrees to its left, lowest first. (transparency-dev/merkle's
    ``proof.Inclusion`` splits the path the same way.) So apart from the edge, each proof
    hash is one stored node, found with a few bit operations per level.

    Returns the keys (``node_key``) of the siblings, leaf level first, followed by those of
    the left subtrees, and ``fork``: the edge's hash, if any, goes between ``keys[:fork]``
    and ``keys[fork:]`` (``inclusion_hashes``).
    """
    _check_size(size)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
        raise InvalidInput(f"leaf index {index} is outside a tree of size {size}")
    fork = (index ^ size).bit_length() - 1
    keys = [(level << _INDEX_BITS) | ((index >> level) ^ 1) for level in range(fork)]
    level = fork + 1
    rest = index >> level
    while rest:
        if rest & 1:
            keys.append((level << _INDEX_BITS) | (rest - 1))
        level += 1
        rest >>= 1
    return keys, fork


def inclusion_hashes(fork: int, path: Sequence[bytes], edge: RightEdge) -> list[bytes]:
    """The inclusion proof: the hashes of ``inclusion_path``'s nodes, in order, with the
    fold of the tree's right edge below the fork inserted where it belongs."""
    hashes = list(path)
    fold = edge.below(fork)
    if fold is not None:
        hashes.insert(fork, fold)
    return hashes


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """The plan of PROOF(size1, D[size2]) (RFC 9162 2.1.4.1)."""
    _check_size(size1, "old tree size")
    _check_size(size2, "new tree size")
    if not 0 < size1 <= size2:
        raise InvalidInput(
            f"a consistency proof needs 0 < old size <= new size, got {size1} and {size2}"
        )
    plan: ProofPlan = []
    lo, hi, complete = 0, size2, True
    while True:
        n = hi - lo
        m = size1 - lo
        if m == n:
            if not complete:
                plan.append(subtree_ids(lo, hi))
            break
        k = _split(n)
        if m <= k:
            plan.append(subtree_ids(lo + k, hi))
            hi = lo + k
        else:
            plan.append(subtree_ids(lo, lo + k))
            lo += k
            complete = False
    plan.reverse()
    return plan


def frontier_ids(size: int) -> list[NodeId]:
    """The perfect nodes of a compact range [0, size): one per set bit, largest first."""
    return subtree_ids(0, size)


def _fold(hashes: Sequence[bytes]) -> bytes:
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def assemble(plan: ProofPlan, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """Turn a plan into proof hashes, given the hashes of every node it names."""
    try:
        return [_fold([nodes[node] for node in group]) for group in plan]
    except KeyError as exc:
        raise InvalidInput(f"node {exc.args[0]} needed by the proof is missing") from None


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (iterative, O(n))."""
    if not leaf_hashes:
        return EMPTY_ROOT
    compact = CompactRange()
    compact.extend(leaf_hashes)
    return compact.root()


def _require_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 2.1.3.2 steps 1-4)."""
    if index < 0 or size < 0:
        raise ProofError("leaf index and tree size must be non-negative")
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    _require_hash(leaf_hash, "leaf hash")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof is too long: {len(proof)} hashes")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof is too short: {len(proof)} hashes")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows ``leaf_hash`` at ``index`` in the tree."""
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if computed != root:
        raise ProofError(
            f"inclusion proof for index {index} in size {size} does not match the root: "
            f"computed {computed.hex()}, expected {root.hex()}"
        )


def root_from_consistency_proof(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> bytes:
    """Check that ``proof`` reproduces ``root1`` and return the new root it implies.

    Only for ``0 < size1 < size2``; ``verify_consistency`` handles the equal-size case.
    """
    if size1 <= 0:
        raise ProofError("a consistency proof from an empty tree proves nothing")
    if size2 <= size1:
        raise ProofError(f"new size {size2} must be greater than old size {size1}")
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof is too long: {len(proof)} hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof is too short: {len(proof)} hashes")
    if fr != root1:
        raise ProofError(
            f"consistency proof does not reproduce the old root of size {size1}: "
            f"computed {fr.hex()}, expected {root1.hex()}"
        )
    return sr


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless tree (size2, root2) extends tree (size1, root1)."""
    if size1 < 0 or size2 < 0:
        raise ProofError("tree sizes must be non-negative")
    if size2 < size1:
        raise ProofError(f"new size {size2} is smaller than old size {size1}")
    if size1 == 0:
        raise ProofError("a consistency proof from an empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}")
        return
    computed = root_from_consistency_proof(size1, size2, root1, proof)
    if computed != root2:
        raise ProofError(
            f"consistency proof {size1} -> {size2} does not match the new root: "
            f"computed {computed.hex()}, expected {root2.hex()}"
        )


@dataclass(frozen=True, slots=True)
class RightEdge:
    """The right edge of the tree of ``size`` leaves, folded from every point on.

    The frontier of a tree (``frontier_ids``) is one perfect node per set bit of ``size``,
    largest first; ``folds[j]`` is the right fold of its nodes from the j-th on, so
    ``folds[0]`` is the root. An inclusion proof whose fork is at level ``f`` holds the fold
    of the frontier nodes below ``f``, which is one of these. They depend only on ``size``,
    and a tree of a given size never changes, so they can be computed once per size.
    """

    size: int
    folds: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if len(self.folds) != self.size.bit_count() or not self.folds:
            raise InvalidInput(
                f"the right edge of a tree of size {self.size} has {self.size.bit_count()} "
                f"folds, got {len(self.folds)}"
            )

    @classmethod
    def of(cls, compact: CompactRange) -> RightEdge:
        """The edge of a non-empty tree, from its compact range (its frontier's hashes)."""
        hashes = compact.hashes
        if not hashes:
            raise InvalidInput("an empty tree has no right edge")
        folds = [hashes[-1]]
        for digest in reversed(hashes[:-1]):
            folds.append(node_hash(digest, folds[-1]))
        folds.reverse()
        return cls(compact.size, tuple(folds))

    @property
    def root(self) -> bytes:
        return self.folds[0]

    def below(self, level: int) -> bytes | None:
        """The fold of the frontier nodes below ``level``; None if the tree has none (its
        size is a multiple of ``2**level``)."""
        above = (self.size >> level).bit_count()  # frontier nodes at ``level`` or higher
        return self.folds[above] if above < len(self.folds) else None


@dataclass(slots=True)
class CompactRange:
    """The right frontier of a tree [0, size): one perfect node per set bit of ``size``.

    Appending is amortized O(1) and reports every perfect node it completes, so a
    sequencer can store nodes as it goes and compute the root in O(log n).
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)
    levels: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.size and not self.levels:
            self.levels = [level for level, _ in frontier_ids(self.size)]
        if len(self.levels) != len(self.hashes):
            raise InvalidInput(
                f"a compact range of size {self.size} needs {len(self.levels)} hashes, "
                f"got {len(self.hashes)}"
            )

    @classmethod
    def from_nodes(cls, size: int, nodes: Mapping[NodeId, bytes]) -> CompactRange:
        ids = frontier_ids(size)
        try:
            return cls(size, [nodes[node] for node in ids], [level for level, _ in ids])
        except KeyError as exc:
            raise InvalidInput(f"frontier node {exc.args[0]} is missing") from None

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.hashes), list(self.levels))

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the new perfect nodes as ``(level, index, hash)``."""
        hashes, levels = self.hashes, self.levels
        size = self.size + 1
        self.size = size
        new = [(0, size - 1, leaf)]
        h, level = leaf, 0
        while levels and levels[-1] == level:
            h = node_hash(hashes.pop(), h)
            levels.pop()
            level += 1
            new.append((level, (size >> level) - 1, h))
        hashes.append(h)
        levels.append(level)
        return new

    def extend(self, leaves: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        new: list[tuple[int, int, bytes]] = []
        for leaf in leaves:
            new.extend(self.append(leaf))
        return new

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        return _fold(self.hashes)
