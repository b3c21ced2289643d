"""C2SP tlog-tiles: the log as static tiles of hashes and bundles of entries (pure).

A tile is 256 consecutive hashes of one *tile level* ``L`` (C2SP tlog-tiles, "Merkle
Tree"): at level 0 the leaf hashes, at level ``L`` the Merkle tree hashes of full tiles of
level ``L - 1``, i.e. the perfect subtrees at tree level ``8 * L``. The rightmost tile of
each level is *partial* (width 1 to 255) and is served at ``.p/<W>``; full tiles never
change, so a CDN may cache them forever. Entry bundles (``tile/entries/<N>``) hold the
entries whose leaf hashes a level-0 tile holds, each prefixed by its big-endian uint16
length.

Storage keeps every perfect node (``ledger.log.merkle``), so tile ``(L, N)`` of width ``W`` is
the stored nodes at tree level ``8 * L`` with indices ``N * 256`` to ``N * 256 + W - 1``:
``node_range`` says which. The other way round, any perfect node a proof needs is the
right fold of at most 128 hashes of one tile (``hashes_from_tiles``), so a client that
holds the tiles of a tree size can compute every inclusion and consistency proof, and the
root, without the service: ``inclusion_proof_from_tiles``, ``consistency_proof_from_tiles``,
``root_from_tiles``. Go's ``golang.org/x/mod/sumdb/tlog`` computes the same.

Paths are parsed strictly (``parse_tile_path``): decimal levels without leading zeros,
indices as ``x001/x234/067``, widths 1..255; one resource has exactly one path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ledger.errors import InvalidInput
from ledger.log.hashing import EMPTY_ROOT, HASH_SIZE, node_hash
from ledger.log.merkle import (
    MAX_TREE_SIZE,
    NodeId,
    ProofPlan,
    assemble,
    consistency_plan,
    frontier_ids,
    subtree_ids,
)

__all__ = [
    "ENTRIES",
    "MAX_BUNDLE_ENTRY",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileId",
    "consistency_proof_from_tiles",
    "entry_bundle",
    "hashes_from_tiles",
    "inclusion_plan",
    "inclusion_proof_from_tiles",
    "node_range",
    "parse_entry_bundle",
    "parse_tile_path",
    "root_from_tiles",
    "tile_path",
    "tile_width",
    "tiles_for_nodes",
    "tiles_of_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
#: The ``level`` of entry bundles in a ``TileId`` (paths say ``entries``).
ENTRIES = -1
#: Entries in a bundle carry a uint16 length, so a bundle can hold entries up to this size.
MAX_BUNDLE_ENTRY = 0xFFFF
_MAX_LEVEL = 63
_LEVEL = r"(?P<level>0|[1-9][0-9]?|entries)"
_INDEX = r"(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
_WIDTH = r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
_PATH = re.compile(rf"tile/{_LEVEL}/{_INDEX}{_WIDTH}")


@dataclass(frozen=True, slots=True, order=True)
class TileId:
    """One tile: its level (``ENTRIES`` for an entry bundle), index and width (256 when
    full)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def hash_level(self) -> int:
        """The tree level of the hashes this tile holds (entry bundles: the leaves')."""
        return TILE_HEIGHT * max(self.level, 0)


def _encode_index(index: int) -> str:
    groups = []
    while True:
        groups.append(index % 1000)
        index //= 1000
        if not index:
            break
    groups.reverse()
    return "/".join([f"x{g:03d}" for g in groups[:-1]] + [f"{groups[-1]:03d}"])


def tile_path(tile: TileId) -> str:
    """``tile/<L>/<N>[.p/<W>]`` (no leading slash), ``tile/entries/...`` for a bundle."""
    level = "entries" if tile.level == ENTRIES else str(tile.level)
    suffix = f".p/{tile.width}" if tile.partial else ""
    return f"tile/{level}/{_encode_index(tile.index)}{suffix}"


def parse_tile_path(path: str) -> TileId:
    """The tile a path names, in the one spelling ``tile_path`` writes; else InvalidInput."""
    match = _PATH.fullmatch(path) if len(path) <= 200 else None
    if match is None:
        raise InvalidInput(f"not a tile path: {path[:80]!r}")
    raw_level = match["level"]
    level = ENTRIES if raw_level == "entries" else int(raw_level)
    if level > _MAX_LEVEL:
        raise InvalidInput(f"tile level {level} is above {_MAX_LEVEL}")
    index = int(match["index"].replace("x", "").replace("/", ""))
    width = int(match["width"]) if match["width"] else TILE_WIDTH
    if width > TILE_WIDTH - 1 and match["width"]:
        raise InvalidInput(f"a partial tile is 1 to 255 hashes wide, not {width}")
    tile = TileId(level, index, width)
    if tile_path(tile) != path:  # e.g. "x000/001": an index has one encoding
        raise InvalidInput(f"not the canonical path of its tile: {path[:80]!r}")
    return tile


def tile_width(level: int, index: int, size: int) -> int:
    """The width of tile ``(level, index)`` in a tree of ``size`` leaves: 256 when full,
    1..255 when it is the level's partial tile, 0 when the tree has no such tile."""
    _check_size(size)
    hashes = size >> (TILE_HEIGHT * max(level, 0))  # hashes at this tile level
    first = index * TILE_WIDTH
    if hashes >= first + TILE_WIDTH:
        return TILE_WIDTH
    return max(hashes - first, 0)


def tiles_of_size(size: int, *, entries: bool = True) -> Iterator[TileId]:
    """Every tile a tree of ``size`` leaves has (full and partial), level by level; with
    ``entries`` also its entry bundles, first."""
    _check_size(size)
    levels = ([ENTRIES] if entries else []) + list(range(_MAX_LEVEL + 1))
    for level in levels:
        hashes = size >> (TILE_HEIGHT * max(level, 0))
        if not hashes:
            break
        full, rest = divmod(hashes, TILE_WIDTH)
        for index in range(full):
            yield TileId(level, index)
        if rest:
            yield TileId(level, full, rest)


def node_range(tile: TileId) -> tuple[int, int, int]:
    """``(tree_level, first_index, count)`` of the stored nodes a tile consists of."""
    return tile.hash_level, tile.index * TILE_WIDTH, tile.width


def _check_size(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
        raise InvalidInput(f"tree size must be an integer from 0 to {MAX_TREE_SIZE}")


def _tile_of_node(node: NodeId, size: int) -> tuple[TileId, int, int]:
    """The tile holding the hashes node ``(level, index)`` folds, and their position."""
    level, index = node
    if (index + 1) << level > size:
        raise InvalidInput(f"node {node} is not a perfect subtree of a tree of size {size}")
    tile_level, rest = divmod(level, TILE_HEIGHT)
    first = index << rest  # index of the node's first hash at the tile level
    tile_index = first >> TILE_HEIGHT
    width = tile_width(tile_level, tile_index, size)
    return TileId(tile_level, tile_index, width), first % TILE_WIDTH, 1 << rest


def tiles_for_nodes(nodes: Iterable[NodeId], size: int) -> set[TileId]:
    """The tiles (at tree size ``size``) a client must fetch to hash ``nodes``."""
    return {_tile_of_node(node, size)[0] for node in nodes}


def _merkle(hashes: Sequence[bytes]) -> bytes:
    """MTH of a power-of-two run of hashes (a perfect subtree)."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def hashes_from_tiles(
    nodes: Iterable[NodeId], size: int, tiles: Mapping[TileId, bytes]
) -> dict[NodeId, bytes]:
    """The hash of every perfect node in ``nodes``, computed from the tiles of ``size``.

    Raises InvalidInput when a tile is missing or is not ``32 * width`` bytes."""
    out: dict[NodeId, bytes] = {}
    for node in nodes:
        tile, start, count = _tile_of_node(node, size)
        data = tiles.get(tile)
        if data is None:
            raise InvalidInput(f"tile {tile_path(tile)} is needed and missing")
        if len(data) != HASH_SIZE * tile.width:
            wanted = HASH_SIZE * tile.width
            raise InvalidInput(f"tile {tile_path(tile)} is {len(data)} bytes, not {wanted}")
        run = [data[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(start, start + count)]
        out[node] = _merkle(run)
    return out


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """PATH(index, D[size]) (RFC 9162 2.1.3.1) as a plan of perfect nodes, leaf first."""
    _check_size(size)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
        raise InvalidInput(f"leaf index {index} is outside a tree of size {size}")
    plan: ProofPlan = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        if index < lo + k:
            plan.append(subtree_ids(lo + k, hi))
            hi = lo + k
        else:
            plan.append(subtree_ids(lo, lo + k))
            lo += k
    plan.reverse()
    return plan


TileFetcher = Callable[[set[TileId]], Mapping[TileId, bytes]]
"""Fetches a set of tiles (in parallel, from a cache, from files) and returns their bytes."""


def _from_plan(plan: ProofPlan, size: int, fetch: TileFetcher) -> list[bytes]:
    nodes = {node for group in plan for node in group}
    hashes = hashes_from_tiles(nodes, size, fetch(tiles_for_nodes(nodes, size)))
    return assemble(plan, hashes)


def inclusion_proof_from_tiles(index: int, size: int, fetch: TileFetcher) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size``, from tiles."""
    return _from_plan(inclusion_plan(index, size), size, fetch)


def consistency_proof_from_tiles(size1: int, size2: int, fetch: TileFetcher) -> list[bytes]:
    """The RFC 9162 consistency proof from ``size1`` to ``size2``, from the tiles of
    ``size2`` (empty when the sizes are equal)."""
    if size1 == size2:
        _check_size(size2)
        return []
    return _from_plan(consistency_plan(size1, size2), size2, fetch)


def root_from_tiles(size: int, fetch: TileFetcher) -> bytes:
    """The root hash of the tree of ``size``, from its tiles."""
    _check_size(size)
    if size == 0:
        return EMPTY_ROOT
    nodes = frontier_ids(size)
    return assemble([nodes], hashes_from_tiles(nodes, size, fetch(tiles_for_nodes(nodes, size))))[0]


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries as one bundle: each prefixed by its big-endian uint16 length."""
    if not 0 < len(entries) <= TILE_WIDTH:
        raise InvalidInput(f"an entry bundle holds 1 to {TILE_WIDTH} entries")
    parts = []
    for entry in entries:
        if len(entry) > MAX_BUNDLE_ENTRY:
            raise InvalidInput(f"an entry of {len(entry)} bytes does not fit a bundle")
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def parse_entry_bundle(data: bytes, width: int = TILE_WIDTH) -> list[bytes]:
    """The entries of a bundle that should hold ``width`` of them; InvalidInput otherwise."""
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise InvalidInput("entry bundle ends inside a length prefix")
        n = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + n > len(data):
            raise InvalidInput("entry bundle ends inside an entry")
        entries.append(data[at + 2 : at + 2 + n])
        at += 2 + n
    if len(entries) != width:
        raise InvalidInput(f"entry bundle holds {len(entries)} entries, not {width}")
    return entries
