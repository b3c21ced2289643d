"""The in-process cache of stored Merkle nodes that SQL stores serve proofs from.

Perfect nodes never change once written (the log is append-only), so a cached node is
valid for as long as the process runs. What is worth caching follows from the shape of a
proof: an inclusion proof needs one node per level, so with random leaves the nodes at low
levels are almost never read twice, while the few nodes at high levels are read by every
proof. The cache therefore keeps whole levels from ``min_level`` up (2 to start with:
levels 0 and 1 are three quarters of the tree, and a proof needs only the four leaves of
its block from them, one range read; ``LogService`` hashes the level-1 sibling from two).

It keeps them in *chunks*: the hashes of 64 consecutive nodes of one level, concatenated
into one ``bytes`` (32 bytes a node instead of about 150 for a dict entry with its key and
value objects). A chunk is filled by one range read of its keys, which costs little more
than reading one of them (they are neighbours in the table's b-tree), so the cache warms
up in a few thousand reads whatever order proofs come in. A chunk at a level's right edge
holds the nodes that existed when it was read; it is read again when a proof needs one past
them.

Bound: at most ``max_chunks`` chunks. When a new chunk would exceed it, the lowest cached
level is dropped (about half of the chunks) and no longer cached. With the default, the cache
holds every level from 2 up to about 2,000,000 leaves (16 MiB of hashes at 1,000,000), and
from then on one level less per doubling of the log, never more than 32 MiB of hashes.

Thread safety: lookups and fills are single dict operations under the GIL; dropping a level
swaps in a new dict. Two threads may read the same chunk twice; nothing is ever wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import takewhile

from ledger.log.hashing import HASH_SIZE
from ledger.log.merkle import MAX_TREE_SIZE, node_key

__all__ = ["CHUNK", "MAX_CHUNKS", "MIN_LEVEL", "NodeCache"]

_CHUNK_BITS = 6
#: Nodes per chunk: consecutive indices at one level, first index a multiple of CHUNK.
CHUNK = 1 << _CHUNK_BITS
_OFFSET = CHUNK - 1
_LEVEL_SHIFT = MAX_TREE_SIZE.bit_length() - 1  # node_key: level << 48 | index
# A chunk's id is its first key >> 6 with the level XORed into the low bits. Without that,
# chunks with the same index at different levels share their low bits, which Python's dict
# uses first (an int hashes to itself): up to one collision chain per level on every lookup.
MIN_LEVEL = 2
MAX_CHUNKS = 1 << 14  # 16,384 chunks of 64 hashes: 32 MiB


class NodeCache:
    """Hashes of stored perfect nodes by key (``merkle.node_key``), in chunks per level."""

    def __init__(self, *, min_level: int = MIN_LEVEL, max_chunks: int = MAX_CHUNKS) -> None:
        if min_level < 0 or max_chunks < 1:
            raise ValueError("a node cache needs min_level >= 0 and max_chunks >= 1")
        self.min_level = min_level
        self.max_chunks = max_chunks
        self._chunks: dict[int, bytes] = {}

    def __len__(self) -> int:
        """How many chunks are cached."""
        return len(self._chunks)

    def lookup(self, keys: Sequence[int]) -> tuple[list[bytes | None], list[int]]:
        """The cached hash of each key, in order (None where it is not cached), and the
        positions of the keys that are not cached."""
        chunks = self._chunks
        found: list[bytes | None] = []
        missing: list[int] = []
        for key in keys:
            chunk = chunks.get((key >> _CHUNK_BITS) ^ (key >> _LEVEL_SHIFT))
            if chunk is not None:
                start = (key & _OFFSET) * HASH_SIZE
                digest = chunk[start : start + HASH_SIZE]
                if digest:
                    found.append(digest)
                    continue
            missing.append(len(found))
            found.append(None)
        return found, missing

    def chunk_of(self, key: int) -> tuple[int, int] | None:
        """The first and last key of the chunk that holds ``key``, to read and ``fill``;
        None if ``key``'s level is not cached (read that node on its own)."""
        if key >> _LEVEL_SHIFT < self.min_level:
            return None
        first = key & ~_OFFSET
        return first, first | _OFFSET

    def fill(self, first: int, rows: Sequence[tuple[int, bytes]]) -> None:
        """Cache the chunk that starts at key ``first`` from the rows read for it: distinct
        keys in order, as a range read of the primary key gives them. Only the run of
        consecutive keys from ``first`` is kept: a gap (a node missing from storage) must
        never shift the nodes after it into its place."""
        if first & _OFFSET or first >> _LEVEL_SHIFT < self.min_level:
            raise ValueError(f"key {first} does not start a cached chunk")
        if rows and rows[0][0] == first and rows[-1][0] == first + len(rows) - 1:
            digests = [digest for _, digest in rows[:CHUNK]]  # no gap: the common case
        else:
            digests = []
            for key, digest in rows[:CHUNK]:
                if key != first + len(digests):
                    break
                digests.append(digest)
        if set(map(len, digests)) - {HASH_SIZE}:  # a damaged hash ends the run too
            digests = list(takewhile(lambda digest: len(digest) == HASH_SIZE, digests))
        if not digests:
            return
        chunks = self._chunks
        chunk = (first >> _CHUNK_BITS) ^ (first >> _LEVEL_SHIFT)
        if chunk not in chunks and len(chunks) >= self.max_chunks:
            chunks = self._drop_lowest_level()
            if first >> _LEVEL_SHIFT < self.min_level:
                return
        chunks[chunk] = b"".join(digests)

    def _drop_lowest_level(self) -> dict[int, bytes]:
        self.min_level += 1
        floor = node_key(self.min_level, 0) >> _CHUNK_BITS
        kept = {chunk: hashes for chunk, hashes in self._chunks.items() if chunk >= floor}
        self._chunks = kept
        return kept
