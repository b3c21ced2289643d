"""LogService.inclusion_proof against the reference, through a store of precomputed nodes.

The service keeps the upper part of the proofs of each complete block of leaves (1,024 of
them, more for large logs) and reads only the lower part per proof. These tests cross block
boundaries, the last incomplete block and the level change of large logs, and ask for the
same blocks again so that the kept parts are used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.log.compact import CompactRange, RightEdge
from ledger.log.hashing import node_hash
from ledger.log.merkle import frontier_ids, inclusion_hashes, inclusion_path, node_key, node_of_key
from ledger.log.verify import verify_inclusion
from ledger.usecases.service import LogService
from tests import reference


class NodeTable:
    """Just what proofs read from a store: node hashes by key."""

    def __init__(self, nodes: dict[int, bytes]) -> None:
        self.table = nodes

    def node_hashes(self, keys: Sequence[int]) -> list[bytes | None]:
        return [self.table.get(key) for key in keys]


def service_of(table: NodeTable) -> LogService:
    return LogService(table)  # type: ignore[arg-type]  # proofs use node reads only


def tree(n: int) -> tuple[list[bytes], NodeTable]:
    leaves = [reference.leaf(i.to_bytes(4, "big")) for i in range(n)]
    nodes = {node_key(lv, ix): h for lv, ix, h in CompactRange().extend(leaves)}
    return leaves, NodeTable(nodes)


LEAVES, TABLE = tree(5_000)  # 4 complete blocks of 1,024 and an incomplete one


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_proofs_match_the_reference_across_blocks(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, len(LEAVES)))
    leaves = LEAVES[:n]
    service = service_of(TABLE)  # the table has every node of 5,000: fine for any n <= it
    indices = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))
    indices += [i ^ 1 for i in indices if i ^ 1 < n]  # same blocks, a kept upper part
    root = reference.mth(leaves)
    for index in indices:
        proof = service.inclusion_proof(index, n)
        assert proof.hashes == reference.path(index, leaves)
        assert (proof.leaf_hash, proof.root_hash) == (leaves[index], root)


def test_every_leaf_of_a_block_and_its_neighbours_gets_its_own_proof() -> None:
    n = 4_100
    leaves = LEAVES[:n]
    service = service_of(TABLE)
    root = reference.mth(leaves)
    for index in [*range(1_020, 2_052), *range(4_090, n)]:
        proof = service.inclusion_proof(index, n)
        verify_inclusion(index, n, leaves[index], proof.hashes, root)


class SyntheticTable(NodeTable):
    """Node hashes of a huge tree, made up: a hash of the key, except that a level-1 node
    is the hash of its two leaves (the service hashes it from them). Enough to check that
    the service assembles proofs exactly as the pure core does."""

    def __init__(self) -> None:
        super().__init__({})

    def node_hashes(self, keys: Sequence[int]) -> list[bytes | None]:
        return [self.node(key) for key in keys]

    @staticmethod
    def node(key: int) -> bytes:
        level, index = node_of_key(key)
        if level == 1:
            return node_hash(SyntheticTable.node(2 * index), SyntheticTable.node(2 * index + 1))
        return hashlib.sha256(key.to_bytes(8, "big")).digest()


@given(st.integers(1 << 23, 1 << 40), st.data())
@settings(max_examples=60, deadline=None)
def test_large_logs_assemble_proofs_as_the_pure_core_does(n: int, data: st.DataObject) -> None:
    table = SyntheticTable()
    service = service_of(table)
    ids = frontier_ids(n)
    hashes = table.node_hashes([node_key(*node) for node in ids])
    edge = RightEdge.of(CompactRange(n, [h for h in hashes if h], [lv for lv, _ in ids]))
    for index in data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3)):
        keys, fork = inclusion_path(index, n)
        expected = inclusion_hashes(fork, [h for h in table.node_hashes(keys) if h], edge)
        for _ in range(2):  # the second time through the kept upper part
            proof = service.inclusion_proof(index, n)
            assert proof.hashes == expected
            assert proof.leaf_hash == table.node_hashes([index])[0]
            assert proof.root_hash == edge.root
