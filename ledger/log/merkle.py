"""RFC 9162 Merkle trees, server side: node ids and proof plans over stored perfect nodes.

Storage keeps the hash of every *perfect* subtree: node ``(level, index)`` covers leaves
``[index * 2**level, (index + 1) * 2**level)``. Any subtree that an RFC 9162 proof needs is
either such a node or the right edge of a tree, which is the right fold of at most
log2(n) perfect nodes. So a proof is planned first, as the perfect nodes it is made of,
fetched in one read, and then assembled: O(log n) stored nodes, never a rebuild from the
leaves. Inclusion proofs, the hot path, are planned as one stored node per proof hash
(``inclusion_path``) plus at most one fold of the tree's right edge, which is the same for
every index at a given size (``compact.RightEdge``); consistency proofs as lists of perfect
nodes that each fold into one proof hash (``consistency_plan``, ``assemble``).

As transparency-dev/merkle keeps them apart: building proofs here, checking them in
``ledger.log.verify`` (all a verifier needs), compact ranges and right edges in
``ledger.log.compact``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ledger.errors import InvalidInput
from ledger.log.hashing import node_hash

if TYPE_CHECKING:
    from ledger.log.compact import RightEdge

__all__ = [
    "MAX_TREE_SIZE",
    "NodeId",
    "ProofPlan",
    "assemble",
    "consistency_plan",
    "fold_right",
    "frontier_ids",
    "inclusion_hashes",
    "inclusion_path",
    "node_key",
    "node_of_key",
    "subtree_ids",
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


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """The right fold of perfect-node hashes: ``h0 . (h1 . (h2 ...))``."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def assemble(plan: ProofPlan, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """Turn a plan into proof hashes, given the hashes of every node it names."""
    try:
        return [fold_right([nodes[node] for node in group]) for group in plan]
    except KeyError as exc:
        raise InvalidInput(f"node {exc.args[0]} needed by the proof is missing") from None
