"""ledger.storage.sql.nodes.NodeCache: chunks of consecutive nodes, right-edge chunks, the bound."""

from __future__ import annotations

import hashlib

import pytest

from ledger.log.merkle import node_key
from ledger.storage.sql.nodes import CHUNK, NodeCache


def digest(key: int) -> bytes:
    return hashlib.sha256(key.to_bytes(8, "big")).digest()


def rows(level: int, first: int, count: int) -> list[tuple[int, bytes]]:
    keys = [node_key(level, index) for index in range(first, first + count)]
    return [(key, digest(key)) for key in keys]


def test_an_empty_cache_misses_everything_and_says_where() -> None:
    keys = [node_key(0, 5), node_key(2, 9), node_key(7, 0)]
    assert NodeCache().lookup(keys) == ([None, None, None], [0, 1, 2])


def test_only_levels_from_min_level_up_are_read_in_chunks() -> None:
    cache = NodeCache(min_level=2)
    assert cache.chunk_of(node_key(0, 5)) is None
    assert cache.chunk_of(node_key(1, 200)) is None
    assert cache.chunk_of(node_key(2, 70)) == (node_key(2, 64), node_key(2, 127))
    assert cache.chunk_of(node_key(9, 0)) == (node_key(9, 0), node_key(9, CHUNK - 1))


def test_a_filled_chunk_answers_for_each_of_its_nodes() -> None:
    cache = NodeCache()
    cache.fill(node_key(3, 128), rows(3, 128, CHUNK))
    keys = [node_key(3, 128), node_key(3, 150), node_key(3, 191), node_key(3, 192)]
    found, missing = cache.lookup(keys)
    assert found[:3] == [digest(k) for k in keys[:3]]
    assert (found[3], missing) == (None, [3])  # the next chunk
    assert len(cache) == 1


def test_a_right_edge_chunk_grows_when_it_is_read_again() -> None:
    cache = NodeCache()
    first = node_key(4, 0)
    cache.fill(first, rows(4, 0, 10))  # the level had 10 nodes when it was read
    assert cache.lookup([node_key(4, 9), node_key(4, 10)])[1] == [1]
    cache.fill(first, rows(4, 0, 25))  # read again once the log grew
    found, missing = cache.lookup([node_key(4, 9), node_key(4, 10), node_key(4, 24)])
    assert missing == []
    assert found == [digest(node_key(4, i)) for i in (9, 10, 24)]


def test_a_gap_ends_the_chunk_so_nothing_moves_into_its_place() -> None:
    cache = NodeCache()
    with_gap = [row for row in rows(2, 0, CHUNK) if row[0] != node_key(2, 5)]
    cache.fill(node_key(2, 0), with_gap)
    found, missing = cache.lookup([node_key(2, 4), node_key(2, 5), node_key(2, 6)])
    assert found[0] == digest(node_key(2, 4))
    assert missing == [1, 2]


def test_a_hash_of_the_wrong_length_ends_the_chunk() -> None:
    cache = NodeCache()
    bad = rows(2, 0, 8)
    bad[3] = (bad[3][0], b"short")
    cache.fill(node_key(2, 0), bad)
    assert cache.lookup([node_key(2, 2), node_key(2, 3)])[1] == [1]
    cache.fill(node_key(2, 64), [])  # nothing read: nothing cached
    assert len(cache) == 1


def test_a_full_cache_drops_its_lowest_level() -> None:
    cache = NodeCache(min_level=2, max_chunks=2)
    cache.fill(node_key(2, 0), rows(2, 0, CHUNK))
    cache.fill(node_key(3, 0), rows(3, 0, CHUNK))
    cache.fill(node_key(2, 64), rows(2, 64, CHUNK))  # a third chunk: level 2 goes
    assert cache.min_level == 3
    assert cache.chunk_of(node_key(2, 0)) is None
    found, missing = cache.lookup([node_key(2, 1), node_key(3, 1), node_key(2, 65)])
    assert missing == [0, 2]
    assert found[1] == digest(node_key(3, 1))
    assert len(cache) == 1
    cache.fill(node_key(3, 0), rows(3, 0, CHUNK))  # refilling a cached chunk drops nothing
    assert (cache.min_level, len(cache)) == (3, 1)


@pytest.mark.parametrize(
    "first", [node_key(2, 3), node_key(1, 0)], ids=["inside-a-chunk", "level-not-cached"]
)
def test_fill_refuses_a_key_that_does_not_start_a_cached_chunk(first: int) -> None:
    with pytest.raises(ValueError, match="does not start a cached chunk"):
        NodeCache(min_level=2).fill(first, rows(first >> 48, first & 0xFFFF, 1))
