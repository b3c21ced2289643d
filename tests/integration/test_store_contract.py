"""The storage contract: the same behaviour from the fake, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import Conflict, InvalidInput, NotFound, RuleViolation
from ledger.log.entries import LogEntry
from ledger.log.merkle import frontier_ids
from ledger.log.verify import verify_consistency, verify_inclusion
from ledger.storage.sql.log import SqlStore
from ledger.usecases.append import Accepted, Rejected
from ledger.usecases.service import LogService
from tests import reference
from tests.conftest import BACKENDS, ORIGIN, SQL_BACKENDS, initialized, make_store, notices


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    s = make_store(request.param, request, tmp_path)
    yield s
    s.close()


def test_empty_store_has_an_empty_head(store) -> None:  # type: ignore[no-untyped-def]
    head = store.head()
    assert head.size == 0
    assert store.latest_checkpoint() is None
    assert store.checkpoint_size() == 0
    assert store.entries(0, 10) == []
    with pytest.raises(NotFound):
        store.entry(0)


def test_initialize_writes_genesis_and_first_checkpoint(store, operator_key) -> None:  # type: ignore[no-untyped-def]
    service = initialized(store, operator_key)
    assert store.head().size == 1
    genesis = LogEntry.from_leaf(0, store.entry(0).data)
    assert genesis.envelope.type == "log.genesis"
    info = service.info()
    assert info.origin == ORIGIN
    assert info.operator_key == operator_key.public_key
    checkpoint = service.latest_checkpoint()
    assert checkpoint.tree_size == 1
    assert service.open_checkpoint(checkpoint.note).checkpoint.root_hash == checkpoint.root_hash
    assert store.checkpoint_size() == 1
    with pytest.raises(Conflict):
        service.initialize(origin=ORIGIN, operator_name="again", key=operator_key, now=2)


def test_appends_are_dense_and_match_the_reference_tree(store, operator_key) -> None:  # type: ignore[no-untyped-def]
    service = initialized(store, operator_key)
    outcomes = service.append(notices(operator_key, 37), now=5)
    outcomes += service.append(notices(operator_key, 64, start=37), now=6)
    assert [o.index for o in outcomes if isinstance(o, Accepted)] == list(range(1, 102))
    rows = store.entries(0, 1_000)
    assert [r.index for r in rows] == list(range(102))
    assert store.counts() == (102, 2 * 102 - (102).bit_count())  # every perfect subtree
    leaves = [r.leaf_hash for r in rows]
    assert [reference.leaf(r.data) for r in rows] == leaves
    head = store.head()
    assert head.size == 102
    assert head.root() == reference.mth(leaves)
    assert store.entries(100, 200)[0].index == 100
    assert len(store.entries(100, 200)) == 2


def test_replays_and_bad_signatures_are_rejected_per_entry(store, operator_key) -> None:  # type: ignore[no-untyped-def]
    from ledger.keys import PrivateKey

    service = initialized(store, operator_key)
    first = notices(operator_key, 3)
    assert all(isinstance(o, Accepted) for o in service.append(first, now=5))
    stranger = notices(PrivateKey.generate(), 1, tag="stranger")
    mixed = [first[0], *notices(operator_key, 1, start=3), stranger[0], first[1]]
    outcomes = service.append(mixed, now=6)
    assert isinstance(outcomes[0], Rejected) and outcomes[0].code == "duplicate_entry"
    assert isinstance(outcomes[1], Accepted) and outcomes[1].index == 4
    assert isinstance(outcomes[2], Rejected) and outcomes[2].code == "unknown_key"
    assert isinstance(outcomes[3], Rejected) and outcomes[3].code == "duplicate_entry"
    # A duplicate inside one batch is caught too.
    again = notices(operator_key, 1, start=50)
    outcomes = service.append([again[0], again[0]], now=7)
    assert isinstance(outcomes[0], Accepted)
    assert isinstance(outcomes[1], Rejected)
    with pytest.raises(RuleViolation) as caught:
        service.append_one(first[2], now=8)
    assert caught.value.code == "duplicate_entry"
    assert store.head().size == 6


def test_proofs_from_storage_verify(store, operator_key) -> None:  # type: ignore[no-untyped-def]
    service = initialized(store, operator_key)
    service.append(notices(operator_key, 40), now=5)
    old = service.checkpoint(now=6)
    service.append(notices(operator_key, 30, start=40), now=7)
    new = service.checkpoint(now=8)
    assert (old.tree_size, new.tree_size) == (41, 71)
    for index in (0, 1, 40, 41, 70):
        proof = service.inclusion_proof(index)
        assert proof.tree_size == 71
        verify_inclusion(index, 71, proof.leaf_hash, proof.hashes, new.root_hash)
    proof = service.inclusion_proof(7, size=old.tree_size)
    verify_inclusion(7, 41, proof.leaf_hash, proof.hashes, old.root_hash)
    cons = service.consistency_proof(old.tree_size, new.tree_size)
    verify_consistency(41, 71, old.root_hash, new.root_hash, cons.hashes)
    with pytest.raises(InvalidInput):
        service.inclusion_proof(71)
    with pytest.raises(InvalidInput):
        service.consistency_proof(10, 500)


def test_nodes_lookup_returns_only_existing(store, operator_key) -> None:  # type: ignore[no-untyped-def]
    initialized(store, operator_key)
    service = LogService(store)
    service.append(notices(operator_key, 6), now=2)  # size 7
    found = store.nodes([(0, 6), (1, 2), (2, 0), (2, 1), (1, 3), (3, 0)])
    assert set(found) == {(0, 6), (1, 2), (2, 0)}  # (2,1), (1,3), (3,0) are not complete yet
    assert set(store.nodes(frontier_ids(7))) == {(2, 0), (1, 2), (0, 6)}


def test_checkpoints_are_stored_once_per_size(store, operator_key) -> None:  # type: ignore[no-untyped-def]
    service = initialized(store, operator_key)
    first = service.checkpoint(now=10)
    again = service.checkpoint(now=20)
    assert again == first  # no growth: the same checkpoint, not a new one
    service.append(notices(operator_key, 2), now=30)
    third = service.checkpoint(now=40)
    assert [c.tree_size for c in store.checkpoints()] == [1, 3]
    assert store.latest_checkpoint() == third


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_sql_state_survives_reopening(backend: str, request, tmp_path, operator_key) -> None:  # type: ignore[no-untyped-def]
    first = make_store(backend, request, tmp_path)
    url = first.url
    service = initialized(first, operator_key)
    service.append(notices(operator_key, 20), now=5)
    root = first.head().root()
    first.close()
    reopened = SqlStore(url)
    try:
        assert reopened.head().size == 21
        assert reopened.head().root() == root
        again = LogService(reopened, log_key=operator_key)
        outcome = again.append(notices(operator_key, 1, start=20), now=6)[0]
        assert isinstance(outcome, Accepted) and outcome.index == 21
        assert again.audit().ok
    finally:
        reopened.close()


def test_audit_passes_on_a_healthy_log(store, operator_key) -> None:  # type: ignore[no-untyped-def]
    service = initialized(store, operator_key)
    for batch in range(3):
        service.append(notices(operator_key, 25, start=batch * 25), now=10 + batch)
        service.checkpoint(now=20 + batch)
    report = service.audit(external=[store.checkpoints()[1].note])
    assert report.ok, report.findings
    assert report.entries_checked == 76
    assert report.checkpoints_checked == 5  # 4 stored + 1 external
    assert report.root_hash == store.head().root()


def test_recent_scans_are_distinct_contexts_newest_first(store) -> None:  # type: ignore[no-untyped-def]
    from ledger.verdicts import ScanContext, ScanRecord

    stream_a = ScanContext("tiktok", "live-a", "", "", "dev1", "", "platform")
    stream_b = ScanContext("tiktok", "live-b", "", "", "dev1", "", "overlay", "S-1")
    shelf = ScanContext("", "", "", "", "dev2", "VN-HN", "session")
    scans = [
        ScanRecord("01/1/21/x", 1_000, stream_a),
        ScanRecord("01/1/21/x", 2_000, stream_a),  # the same context again, later
        ScanRecord("01/1/21/x", 1_500, stream_b),
        ScanRecord("01/1/21/x", 500, shelf),  # before the window
        ScanRecord("01/1/21/y", 3_000, shelf),  # another item
    ]
    store.record_scans(scans, prune_before=0)

    recent = store.recent_scans("01/1/21/x", since=900)

    assert [(r.time, r.context) for r in recent] == [(2_000, stream_a), (1_500, stream_b)]
    assert store.recent_scans("01/1/21/x", since=900, limit=1) == [recent[0]]
    assert store.recent_scans("01/1/21/z", since=0) == []


def test_anonymous_contexts_are_kept_as_weak_signals_never_read_by_the_rules(store) -> None:  # type: ignore[no-untyped-def]
    from ledger.verdicts import ScanContext, ScanRecord

    vouched = ScanContext("shopee", "live-b", "", "shop-b", "", "", "platform")
    # A flood of anonymous contexts, newer than the vouched one: none of them may push it
    # out of the limit, and none is returned to the clone rules.
    flood = [
        ScanRecord("01/1/21/x", 2_000 + n, ScanContext("tiktok", f"x{n}", "", "rival", f"d{n}"))
        for n in range(50)
    ]
    store.record_scans([ScanRecord("01/1/21/x", 1_000, vouched), *flood])
    assert store.recent_scans("01/1/21/x", since=0, limit=5) == [
        ScanRecord("01/1/21/x", 1_000, vouched)
    ]
    signals = store.scan_signals("01/1/21/x", since=0, limit=100)
    assert len(signals) == 51 and signals[0].context.source == "anonymous"
    assert signals[-1] == ScanRecord("01/1/21/x", 1_000, vouched)


def test_recent_scans_keep_the_latest_time_across_batches_and_prune(store) -> None:  # type: ignore[no-untyped-def]
    from ledger.verdicts import ScanContext, ScanRecord

    stream = ScanContext("tiktok", "live-a", "L1", "shop", "dev1", "", "platform")
    other = ScanContext("shopee", "", "L2", "shop2", "dev1", "", "platform")
    store.record_scans([ScanRecord("01/1/21/x", 5_000, stream)])
    # A batch written later holds an older scan of the same context (buffers of two
    # workers flush in any order): the latest time must stay.
    store.record_scans(
        [ScanRecord("01/1/21/x", 4_000, stream), ScanRecord("01/1/21/x", 100, other)]
    )
    assert store.recent_scans("01/1/21/x", since=0) == [
        ScanRecord("01/1/21/x", 5_000, stream),
        ScanRecord("01/1/21/x", 100, other),
    ]
    store.record_scans([], prune_before=1_000)
    assert store.recent_scans("01/1/21/x", since=0) == [ScanRecord("01/1/21/x", 5_000, stream)]
    # Many scans of one context in one batch are one context.
    store.record_scans([ScanRecord("01/1/21/x", t, other) for t in range(6_000, 6_100)])
    assert store.recent_scans("01/1/21/x", since=0) == [
        ScanRecord("01/1/21/x", 6_099, other),
        ScanRecord("01/1/21/x", 5_000, stream),
    ]


def test_entry_types_and_touched_items_of_a_range(store, operator_key) -> None:  # type: ignore[no-untyped-def]
    from tests.supply import GTIN, ids, standard

    service = initialized(store, operator_key)
    service.log_key = operator_key
    s = standard(service, operator_key)
    start = store.head().size
    s.commission("fishco", GTIN, {"list": ["T1", "T2", "T3"]})
    middle = store.head().size
    s.ship("fishco", "distri", ids(GTIN, "T2"), "S1")
    s.receive("distri", "fishco", "S1")
    end = store.head().size

    assert store.entry_types(start, end) == {"event.commission", "event.ship", "event.receive"}
    assert store.touched_items(start, end) == set(ids(GTIN, "T1", "T2", "T3"))
    assert store.entry_types(middle, end) == {"event.ship", "event.receive"}
    assert store.touched_items(middle, end) == set(ids(GTIN, "T2"))
    assert "actor.register" in store.entry_types(0, start)
    assert store.touched_items(0, start) == set()
    assert store.entry_types(end, end + 5) == set()


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_a_projection_index_added_by_a_new_version_is_built_on_open(  # type: ignore[no-untyped-def]
    backend: str, request, tmp_path, operator_key
) -> None:
    """Projection tables whose columns are unchanged are kept on open; an index the new
    version defines on them (item_timeline_entry, for LogStore.touched_items) is built then."""
    from sqlalchemy import inspect

    first = make_store(backend, request, tmp_path)
    url = first.url
    initialized(first, operator_key)
    with first.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX item_timeline_entry")
    first.close()
    reopened = SqlStore(url)
    names = {i["name"] for i in inspect(reopened.engine).get_indexes("item_timeline")}
    assert "item_timeline_entry" in names
    assert reopened.entry_types(0, 1) == {"log.genesis"}
    assert reopened.touched_items(0, 1) == set()
    reopened.close()


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_a_failed_scan_write_is_storage_unavailable(backend: str, request, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The scan writer catches TracemarkError (a lost batch is logged, never raised into a
    verify); a driver error must arrive as one, not as the driver's own exception."""
    from ledger.errors import StorageUnavailable
    from ledger.verdicts import ScanContext, ScanRecord

    store = make_store(backend, request, tmp_path)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE scan_contexts")
    with pytest.raises(StorageUnavailable, match="database unavailable"):
        store.record_scans([ScanRecord("i", 1, ScanContext(seller="s"))])
    store.close()


def test_scan_contexts_of_a_period_and_their_prune_by_kind(store) -> None:  # type: ignore[no-untyped-def]
    """Regulator reports read the vouched contexts of a period; the prune deletes vouched
    and anonymous scans by their own cutoffs and counts them alike (docs/decisions.md 45)."""
    from ledger.verdicts import ScanContext, ScanRecord

    a = ScanContext("tiktok", "live-a", "", "shop-a", "", "", "platform")
    b = ScanContext("shopee", "", "L2", "shop-b", "", "", "session", "S-1")
    weak = ScanContext("tiktok", "live-x", "", "", "d1")
    store.record_scans(
        [
            ScanRecord("01/1/21/y", 2_000, b),
            ScanRecord("01/1/21/x", 1_000, a),
            ScanRecord("01/1/21/x", 1_500, a),  # one context: its latest time
            ScanRecord("01/1/21/x", 1_200, weak),  # anonymous: not in a report
            ScanRecord("01/1/21/x", 9_000, b),  # after the period
        ]
    )
    assert store.scan_contexts_between(1_000, 5_000) == [
        ScanRecord("01/1/21/x", 1_500, a),
        ScanRecord("01/1/21/y", 2_000, b),
    ]
    # rows, which the SQL store counts in both scan tables: at least one of each kind
    counted = store.prune({"scans": 1_600, "weak_signals": 1_300}, dry_run=True)
    assert set(counted) == {"scans", "weak_signals"} and min(counted.values()) >= 1
    assert store.scan_contexts_between(0, 10_000) != []  # a dry run deletes nothing
    store.prune({"scans": 1_600, "weak_signals": 1_300})
    assert store.scan_signals("01/1/21/x", since=0) == [ScanRecord("01/1/21/x", 9_000, b)]
    assert store.scan_contexts_between(0, 10_000) == [
        ScanRecord("01/1/21/x", 9_000, b),
        ScanRecord("01/1/21/y", 2_000, b),
    ]
    with pytest.raises(InvalidInput):
        store.prune({"log_entries": 1})


def test_a_device_salt_is_stored_once_per_period_and_pruned(store) -> None:  # type: ignore[no-untyped-def]
    first = store.device_salt(7, b"a" * 16)
    assert first == b"a" * 16
    assert store.device_salt(7, b"b" * 16) == first  # another worker's fresh salt loses
    assert store.device_salt(8, b"c" * 16) == b"c" * 16
    assert store.prune({"device_salts": 8}) == {"device_salts": 1}
    assert store.device_salt(7, b"d" * 16) == b"d" * 16  # forgotten: a new one
