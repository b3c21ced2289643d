"""Compact ranges and right edges of RFC 9162 trees (transparency-dev/merkle compact/).

``CompactRange`` is the frontier of a growing tree: one perfect node per set bit of its size,
so appending a leaf touches O(log n) hashes and yields the new perfect nodes to store.
``RightEdge`` is the right edge of a tree of one size, folded from every point on, which an
inclusion proof needs below its fork. ``root_of`` hashes a list of leaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ledger.errors import InvalidInput
from ledger.log.hashing import EMPTY_ROOT, node_hash
from ledger.log.merkle import NodeId, fold_right, frontier_ids

__all__ = ["CompactRange", "RightEdge", "root_of"]


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
        return fold_right(self.hashes)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (iterative, O(n))."""
    if not leaf_hashes:
        return EMPTY_ROOT
    compact = CompactRange()
    compact.extend(leaf_hashes)
    return compact.root()
