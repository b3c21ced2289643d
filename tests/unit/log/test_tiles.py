"""C2SP tlog-tiles (ledger/log/tiles.py) against an independent reference written from the specs.

The reference below builds tiles with the formula of C2SP tlog-tiles ("the n-th tile at
level l is MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l]) for i in 0..255") and proofs with
the recursive definitions of RFC 9162 2.1.3.1 and 2.1.4.1, using nothing from ledger.log.merkle;
the proofs computed from tiles must equal them and verify with ledger.log.merkle's verifiers.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Mapping, Sequence

import pytest

from ledger.errors import InvalidInput
from ledger.log.hashing import leaf_hash, node_hash
from ledger.log.tiles import (
    ENTRIES,
    TILE_WIDTH,
    TileId,
    consistency_proof_from_tiles,
    entry_bundle,
    inclusion_proof_from_tiles,
    parse_entry_bundle,
    parse_tile_path,
    root_from_tiles,
    tile_path,
    tile_width,
    tiles_of_size,
)
from ledger.log.verify import verify_consistency, verify_inclusion

LEAVES = [leaf_hash(b"entry %d" % i) for i in range(3000)]


@functools.cache
def mth(lo: int, hi: int) -> bytes:
    """RFC 9162 MTH(D[lo:hi]) of LEAVES, by its recursive definition."""
    if hi - lo == 1:
        return LEAVES[lo]
    k = 1 << ((hi - lo - 1).bit_length() - 1)
    return node_hash(mth(lo, lo + k), mth(lo + k, hi))


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """RFC 9162 PATH(m, D[lo:hi])."""
    if hi - lo == 1:
        return []
    k = 1 << ((hi - lo - 1).bit_length() - 1)
    if m - lo < k:
        return [*ref_path(m, lo, lo + k), mth(lo + k, hi)]
    return [*ref_path(m, lo + k, hi), mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
    """RFC 9162 SUBPROOF(m, D[lo:hi], b)."""
    n = hi - lo
    if m == n:
        return [] if complete else [mth(lo, hi)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, complete), mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), mth(lo, lo + k)]


def ref_tiles(size: int) -> dict[TileId, bytes]:
    """Every hash tile of a tree of ``size``, from the tlog-tiles formula."""
    out: dict[TileId, bytes] = {}
    level = 0
    while size >> (8 * level):
        span = TILE_WIDTH**level
        hashes = size // span
        for n in range((hashes + TILE_WIDTH - 1) // TILE_WIDTH):
            width = min(TILE_WIDTH, hashes - n * TILE_WIDTH)
            out[TileId(level, n, width)] = b"".join(
                mth((n * TILE_WIDTH + i) * span, (n * TILE_WIDTH + i + 1) * span)
                for i in range(width)
            )
        level += 1
    return out


class Fetcher:
    """Serves tiles from a dict and counts the calls and tiles asked for."""

    def __init__(self, tiles: Mapping[TileId, bytes]) -> None:
        self.tiles = tiles
        self.calls = 0
        self.asked: set[TileId] = set()

    def __call__(self, wanted: set[TileId]) -> dict[TileId, bytes]:
        self.calls += 1
        self.asked |= wanted
        return {t: self.tiles[t] for t in wanted if t in self.tiles}


def test_paths_follow_the_spec_examples() -> None:
    assert tile_path(TileId(0, 1234067)) == "tile/0/x001/x234/067"
    assert tile_path(TileId(0, 0)) == "tile/0/000"
    assert tile_path(TileId(2, 1000, 17)) == "tile/2/x001/000.p/17"
    assert tile_path(TileId(ENTRIES, 5)) == "tile/entries/005"
    for tile in (TileId(0, 1234067), TileId(63, 0, 1), TileId(ENTRIES, 999, 255)):
        assert parse_tile_path(tile_path(tile)) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/00/000",  # leading zero in the level
        "tile/64/000",  # above level 63
        "tile/0/1",  # index not 3 digits
        "tile/0/x000/001",  # a non-canonical index
        "tile/0/001/002",  # inner groups need the x
        "tile/0/000.p/0",
        "tile/0/000.p/010",
        "tile/0/000.p/256",
        "tile/0/000.p/",
        "/tile/0/000",
        "tile/-1/000",
        "tile/entrie/000",
        "tile/0/" + "x000/" * 60 + "000",
    ],
)
def test_paths_have_one_spelling(path: str) -> None:
    with pytest.raises(InvalidInput):
        parse_tile_path(path)


def test_tiles_of_size_match_the_spec_examples() -> None:
    tiles = list(tiles_of_size(70_000, entries=False))
    by_level: dict[int, list[TileId]] = {}
    for t in tiles:
        by_level.setdefault(t.level, []).append(t)
    assert [t.width for t in by_level[0]] == [256] * 273 + [112]
    assert [t.width for t in by_level[1]] == [256, 17]
    assert [t.width for t in by_level[2]] == [1]
    assert set(by_level) == {0, 1, 2}
    assert list(tiles_of_size(256, entries=False)) == [TileId(0, 0), TileId(1, 0, 1)]
    assert list(tiles_of_size(0)) == []
    assert next(iter(tiles_of_size(3))) == TileId(ENTRIES, 0, 3)
    assert (tile_width(0, 1, 300), tile_width(0, 2, 300), tile_width(1, 0, 300)) == (44, 0, 1)


SIZES = [*range(1, 300), 511, 512, 513, 767, 1024, 1025, 2047, 2048, 2049, 2999, 3000]


@pytest.mark.parametrize("size", SIZES)
def test_proofs_from_tiles_equal_rfc9162(size: int) -> None:
    tiles = ref_tiles(size)
    assert set(tiles) == set(tiles_of_size(size, entries=False))
    root = root_from_tiles(size, Fetcher(tiles))
    assert root == mth(0, size)
    rng = random.Random(size)
    indices = range(size) if size <= 64 else [*rng.sample(range(size), 24), 0, size - 1]
    for index in indices:
        fetch = Fetcher(tiles)
        proof = inclusion_proof_from_tiles(index, size, fetch)
        assert proof == ref_path(index, 0, size)
        verify_inclusion(index, size, LEAVES[index], proof, root)
        assert fetch.calls == 1  # one round trip, all tiles in parallel
    olds = range(1, size + 1) if size <= 64 else [*rng.sample(range(1, size), 12), 1, size]
    for old in olds:
        proof = consistency_proof_from_tiles(old, size, Fetcher(tiles))
        assert proof == (ref_subproof(old, 0, size, True) if old < size else [])
        verify_consistency(old, size, mth(0, old), root, proof)


def test_a_proof_reads_few_tiles() -> None:
    size = 3000
    fetch = Fetcher(ref_tiles(size))
    inclusion_proof_from_tiles(1234, size, fetch)
    # the leaf's own level-0 tile, and the partial tiles of the right edge
    assert TileId(0, 4) in fetch.asked
    assert len(fetch.asked) <= 4


def test_missing_or_wrong_tiles_are_refused() -> None:
    size = 1000
    tiles = ref_tiles(size)
    without = {t: b for t, b in tiles.items() if t != TileId(0, 1)}
    with pytest.raises(InvalidInput, match="missing"):
        inclusion_proof_from_tiles(300, size, Fetcher(without))
    short = {**tiles, TileId(0, 1): tiles[TileId(0, 1)][:-1]}
    with pytest.raises(InvalidInput, match="bytes"):
        inclusion_proof_from_tiles(300, size, Fetcher(short))
    with pytest.raises(InvalidInput):
        inclusion_proof_from_tiles(size, size, Fetcher(tiles))
    # a tampered tile gives a proof that does not verify
    bad = bytearray(tiles[TileId(0, 1)])
    bad[5] ^= 1
    proof = inclusion_proof_from_tiles(300, size, Fetcher({**tiles, TileId(0, 1): bytes(bad)}))
    with pytest.raises(Exception, match="does not match"):
        verify_inclusion(300, size, LEAVES[300], proof, mth(0, size))


def test_entry_bundles_round_trip_and_refuse_damage() -> None:
    entries: Sequence[bytes] = [hashlib.sha256(b"%d" % i).digest() * (i % 5) for i in range(256)]
    bundle = entry_bundle(entries)
    assert parse_entry_bundle(bundle) == list(entries)
    assert bundle[:2] == b"\x00\x00"  # entry 0 is empty: a zero length
    assert parse_entry_bundle(entry_bundle([b"a", b"bc"]), 2) == [b"a", b"bc"]
    with pytest.raises(InvalidInput):
        entry_bundle([b"x" * 0x10000])
    with pytest.raises(InvalidInput):
        entry_bundle([])
    with pytest.raises(InvalidInput):
        parse_entry_bundle(bundle[:-1])
    with pytest.raises(InvalidInput):
        parse_entry_bundle(bundle + b"\x00")
    with pytest.raises(InvalidInput):
        parse_entry_bundle(entry_bundle([b"a"]), 2)
