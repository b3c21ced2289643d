"""Proofs served through the stores' node reads and SqlStore's node cache.

The cache keeps chunks of 64 consecutive nodes from level 2 up (ledger/storage/sql/nodes.py),
and a chunk at a level's right edge holds only the nodes that existed when it was read. These
tests make proofs fill such chunks, grow the log past them, and prove again; and they damage
storage under a chunk, where a missing node must be reported, never replaced by its neighbour.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.errors import NotFound
from ledger.keys import PrivateKey
from ledger.log.merkle import node_key
from ledger.ports.log import LogStore
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from tests import reference
from tests.conftest import BACKENDS, SQL_BACKENDS, initialized, make_store, notices
from tests.integration.test_tampering import drop_append_only_triggers


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    s = make_store(request.param, request, tmp_path)
    yield s
    s.close()


@pytest.fixture(params=SQL_BACKENDS)
def sql_store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    s = make_store(request.param, request, tmp_path)
    yield s
    s.close()


def assert_every_proof_matches_the_reference(
    service: LogService, store: LogStore, size: int
) -> None:
    leaves = [row.leaf_hash for row in store.entries(0, size)]
    root = reference.mth(leaves)
    assert service.root_at(size) == root
    for index in range(size):
        proof = service.inclusion_proof(index, size)
        assert (proof.leaf_hash, proof.root_hash) == (leaves[index], root)
        assert proof.hashes == reference.path(index, leaves), f"index {index} of {size}"


def test_proofs_stay_right_while_the_log_grows_past_cached_chunks(
    store: LogStore, operator_key: PrivateKey
) -> None:
    service = initialized(store, operator_key)
    service.append(notices(operator_key, 149), now=2)  # 150: 37 nodes at level 2, 18 at 3
    assert_every_proof_matches_the_reference(service, store, 150)
    # 300: level 2's first chunk is now complete (64 nodes), its second has 11.
    service.append(notices(operator_key, 150, start=149), now=3)
    assert_every_proof_matches_the_reference(service, store, 300)
    assert_every_proof_matches_the_reference(service, store, 150)  # old sizes still prove
    # A service and store that start now (empty caches) give the same proofs.
    if isinstance(store, SqlStore):
        fresh = SqlStore(store.url, create=False)
        try:
            again = LogService(fresh)
            for index in (0, 149, 150, 255, 256, 299):
                assert again.inclusion_proof(index, 300) == service.inclusion_proof(index, 300)
        finally:
            fresh.close()


def test_a_missing_node_is_reported_not_replaced_by_its_neighbour(
    sql_store: SqlStore, operator_key: PrivateKey
) -> None:
    service = initialized(sql_store, operator_key)
    service.append(notices(operator_key, 299), now=2)  # 300 entries, 75 nodes at level 2
    leaves = [row.leaf_hash for row in sql_store.entries(0, 300)]
    drop_append_only_triggers(sql_store)
    with sql_store.engine.begin() as conn:
        conn.execute(text("DELETE FROM merkle_nodes WHERE node_key = :k"), {"k": node_key(2, 5)})
    store = SqlStore(sql_store.url, create=False)  # empty caches: the chunk is read with a gap
    try:
        proving = LogService(store)
        # Leaf 16's path has node (2, 5); leaf 24's has (2, 7), after the gap in its chunk.
        with pytest.raises(NotFound, match="missing"):
            proving.inclusion_proof(16, 300)
        proof = proving.inclusion_proof(24, 300)
        assert proof.hashes == reference.path(24, leaves)
        assert proving.inclusion_proof(24, 300) == proof  # and again, through the cache
    finally:
        store.close()


def test_node_hashes_answer_in_the_order_asked(store: LogStore, operator_key: PrivateKey) -> None:
    service = initialized(store, operator_key)
    service.append(notices(operator_key, 99), now=2)  # 100 entries
    keys = [node_key(3, 11), node_key(0, 7), node_key(2, 30), node_key(5, 3), node_key(2, 3)]
    first = store.node_hashes(keys)
    assert first[1] == store.entry(7).leaf_hash
    assert first[0] is not None and first[4] is not None
    assert first[2] is None and first[3] is None  # (2, 30) and (5, 3) are not complete at 100
    assert store.node_hashes(list(reversed(keys))) == list(reversed(first))
    assert store.node_hashes(keys) == first
    assert store.nodes([(3, 11), (0, 7), (2, 30)]) == {(3, 11): first[0], (0, 7): first[1]}
