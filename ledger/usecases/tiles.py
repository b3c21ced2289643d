"""Reading the log as C2SP tlog-tiles (use case over the storage port; see ledger/log/tiles.py).

Tiles are cut from the stored perfect nodes (one range read a tile) and entry bundles from
the stored leaves, up to the size of the latest checkpoint: a client that verified that
checkpoint can then check every tile it reads against it. A tile's content never changes
once it exists at a size (partial tiles grow by appending), so any width that the
checkpointed tree holds is served.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ledger.errors import LimitExceeded, NotFound
from ledger.log.tiles import (
    ENTRIES,
    MAX_BUNDLE_ENTRY,
    TILE_WIDTH,
    TileId,
    entry_bundle,
    node_range,
    tile_path,
    tile_width,
    tiles_of_size,
)
from ledger.ports.log import LogStore

__all__ = ["export_tiles", "read_tile"]


def read_tile(store: LogStore, tile: TileId, size: int) -> bytes:
    """The bytes of ``tile`` in the tree of ``size`` (the checkpointed size).

    NotFound when the tree has no such tile (or not that wide); LimitExceeded for an entry
    bundle holding an entry too large for the bundle format's uint16 length."""
    available = tile_width(tile.level, tile.index, size)
    if tile.width > available:
        raise NotFound(f"{tile_path(tile)} is not in the tree of size {size}")
    if tile.level == ENTRIES:
        start = tile.index * TILE_WIDTH
        rows = store.entries(start, start + tile.width)
        big = next((row.index for row in rows if len(row.data) > MAX_BUNDLE_ENTRY), None)
        if big is not None:
            raise LimitExceeded(f"entry {big} is too large for an entry bundle")
        return entry_bundle([row.data for row in rows])
    level, first, count = node_range(tile)
    ids = [(level, first + i) for i in range(count)]
    nodes = store.nodes(ids)
    return b"".join(nodes[node] for node in ids)


def export_tiles(
    store: LogStore,
    size: int,
    write: Callable[[str, bytes], None],
    *,
    skip: Callable[[str], bool] = lambda path: False,
) -> Iterator[str]:
    """Write every tile and entry bundle of the tree of ``size`` with ``write(path, data)``
    and yield each path written; ``skip(path)`` leaves out tiles already published (full
    tiles never change, so an export can resume or run again incrementally)."""
    for tile in tiles_of_size(size):
        path = tile_path(tile)
        if tile.partial or not skip(path):
            write(path, read_tile(store, tile, size))
            yield path
