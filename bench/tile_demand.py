"""The tiles benchmark's pure helpers (no benchmark extras needed, so make test runs their
tests): which tiles an inclusion proof touches, and what N proofs ask of a shared cache."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.log.tiles import TileId, inclusion_plan, tiles_for_nodes

__all__ = ["TileDemand", "proof_tiles", "tile_demand"]


def proof_tiles(index: int, size: int) -> set[TileId]:
    """The tiles a client fetches to compute the inclusion proof of ``index`` at ``size``."""
    nodes = {node for group in inclusion_plan(index, size) for node in group}
    return tiles_for_nodes(nodes, size)


@dataclass(frozen=True, slots=True)
class TileDemand:
    """What ``proofs`` inclusion proofs ask of a shared cache: ``fetches`` tile requests,
    ``distinct`` of them different tiles (the misses of a cold cache that keeps them all)."""

    proofs: int
    fetches: int
    distinct: int

    @property
    def per_proof(self) -> float:
        return self.fetches / self.proofs if self.proofs else 0.0

    @property
    def hit_ratio(self) -> float:
        """The share of tile requests a cache that starts empty answers without the origin."""
        return 1 - self.distinct / self.fetches if self.fetches else 0.0


def tile_demand(indices: Iterable[int], size: int) -> TileDemand:
    """Tile requests and distinct tiles of the inclusion proofs of ``indices`` at ``size``."""
    proofs = fetches = 0
    seen: set[TileId] = set()
    for index in indices:
        tiles = proof_tiles(index, size)
        proofs += 1
        fetches += len(tiles)
        seen |= tiles
    return TileDemand(proofs, fetches, len(seen))
