"""The tiles benchmark's pure helper: which tiles a proof touches, and what N proofs ask
of a shared cache (bench/tiles.py)."""

from __future__ import annotations

import pytest

from bench.tile_demand import TileDemand, proof_tiles, tile_demand
from ledger.log.tiles import TileId, inclusion_proof_from_tiles

PERFECT = 256 * 256  # two full tile levels: every proof needs one tile of each


def test_a_proof_in_a_two_level_tree_touches_its_leaf_tile_and_the_top_tile() -> None:
    assert proof_tiles(300, PERFECT) == {TileId(0, 1), TileId(1, 0)}


@pytest.mark.parametrize(("index", "size"), [(0, 1_000), (999, 1_000), (12_345, 100_001)])
def test_proof_tiles_are_what_inclusion_proof_from_tiles_fetches(index: int, size: int) -> None:
    asked: set[TileId] = set()

    def fetch(tiles: set[TileId]) -> dict[TileId, bytes]:
        asked.update(tiles)
        return {t: bytes(32 * t.width) for t in tiles}

    inclusion_proof_from_tiles(index, size, fetch)
    assert asked == proof_tiles(index, size)


def test_demand_counts_shared_upper_tiles_once() -> None:
    demand = tile_demand([0, 256, 512], PERFECT)
    assert demand == TileDemand(proofs=3, fetches=6, distinct=4)
    assert demand.per_proof == 2
    assert demand.hit_ratio == pytest.approx(1 / 3)


def test_demand_of_proofs_in_one_leaf_tile_is_two_tiles() -> None:
    demand = tile_demand(range(256), PERFECT)
    assert (demand.fetches, demand.distinct) == (512, 2)
    assert demand.hit_ratio == pytest.approx(1 - 2 / 512)


def test_no_proofs_no_demand() -> None:
    demand = tile_demand([], PERFECT)
    assert (demand.per_proof, demand.hit_ratio) == (0.0, 0.0)
