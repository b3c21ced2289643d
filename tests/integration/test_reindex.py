"""Reindex on SQLite and PostgreSQL: the projection is derived, the log is the truth.

Projection tables are not append-only (``tracemark reindex`` rewrites them), so someone with
the database can edit them. Each named corruption below is made with raw SQL; the audit
must report a ``projection`` finding naming the table, and ``reindex`` must restore the
projection a replay gives. When the log itself holds an entry the rules refuse, reindex
must refuse too (``replay_failed``) and leave the projection as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ledger.codes.identifiers import item_id
from ledger.errors import Conflict
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.log.hashing import chain_next, leaf_hash
from ledger.provenance.events.names import LISTING_DECLARE, SHIP, UNPACK
from ledger.provenance.records import RECORD_TYPES
from ledger.storage.sql.log import SqlStore
from ledger.usecases.append import Rejected
from ledger.usecases.service import LogService
from tests.conftest import SQL_BACKENDS, initialized, make_store
from tests.integration.test_tampering import drop_append_only_triggers, insert_row
from tests.supply import GTIN, T0, Supply, ids, sscc_for, standard

R1 = item_id(GTIN, "R1")


@pytest.fixture(params=SQL_BACKENDS)
def supply(
    request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[Supply]:
    """A short chain: commission, pack, ship, receive, unpack, declare a listing."""
    store = make_store(request.param, request, tmp_path)
    s = standard(initialized(store, operator_key, now=T0 - 10_000), operator_key)
    s.commission("fishco", GTIN, {"list": ["R1", "R2", "R3"]}, lot="L1")
    case = f"00/{sscc_for(31)}"
    s.pack("fishco", case, ids(GTIN, "R1", "R2"))
    s.ship("fishco", "shop-a", [case], "RX-1")
    s.receive("shop-a", "fishco", "RX-1")
    s.ok(UNPACK, s.event("shop-a", parent=case), s.keys["shop-a"])
    s.listing("shop-a", "tiktok", "RL-1", GTIN, quantity=2)
    s.service.checkpoint(now=s.tick())
    assert s.service.audit().ok
    yield s
    store.close()


def sql_store(service: LogService) -> SqlStore:
    assert isinstance(service.store, SqlStore)
    return service.store


def projection(service: LogService) -> dict[str, list[Any]]:
    with service.store.reader() as view:
        return {kind.TABLE: view.rows(kind.TABLE) for kind in RECORD_TYPES}


# name: (table, detail of the finding, statement, parameters)
CORRUPTIONS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "item-custodian-changed": (
        "items",
        f"row {R1} differs from the replay",
        "UPDATE items SET custodian = 'shop-b' WHERE item_id = :item",
        {"item": R1},
    ),
    "listing-deleted": (
        "listings",
        "row tiktok/RL-1 is missing",
        "DELETE FROM listings WHERE platform = 'tiktok' AND listing_id = 'RL-1'",
        {},
    ),
    "bogus-prefix-inserted": (
        "gs1_prefixes",
        "row 8939999 should not exist",
        "INSERT INTO gs1_prefixes (prefix, actor_id) VALUES ('8939999', 'shop-b')",
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_audit_names_the_corrupted_table_and_reindex_repairs_it(supply: Supply, name: str) -> None:
    service = supply.service
    before = projection(service)
    table, detail, statement, parameters = CORRUPTIONS[name]
    with sql_store(service).engine.begin() as conn:
        assert conn.execute(text(statement), parameters).rowcount == 1
    assert projection(service) != before

    report = service.audit()
    assert [(f.what, f.detail) for f in report.findings] == [
        ("projection", f"table {table}: {detail}; run 'tracemark reindex'")
    ]
    assert service.reindex() == service.store.size()
    assert projection(service) == before
    assert service.audit().ok


def test_reindex_is_idempotent_on_an_intact_projection(supply: Supply) -> None:
    before = projection(supply.service)
    assert supply.service.reindex() == supply.service.store.size()
    assert supply.service.reindex() == supply.service.store.size()
    assert projection(supply.service) == before


def _forged_ship(s: Supply) -> Any:
    """A well-signed entry the rules refuse: shop-b ships an item it never held."""
    body = s.event("shop-b", shipment="F-1", to="distri", items=ids(GTIN, "R3"))
    forged = sign_entry(SHIP, body, s.keys["shop-b"])
    refused = s.service.append([forged], now=s.tick())[0]
    assert isinstance(refused, Rejected) and refused.code == "not_custodian"
    return forged


def test_reindex_refuses_an_entry_appended_around_the_rules(supply: Supply) -> None:
    """Written straight into log_entries (the triggers allow a dense insert at the tail)."""
    s, service = supply, supply.service
    store = sql_store(service)
    forged = _forged_ship(s)
    size = store.size()
    data = forged.leaf_bytes(s.tick())
    digest = leaf_hash(data)
    with store.engine.begin() as conn:
        insert_row(
            conn,
            size,
            {
                "leaf_hash": digest,
                "chain_hash": chain_next(store.entry(size - 1).chain_hash, digest),
                "statement_hash": forged.statement_hash,
                "entry_type": SHIP,
                "signer": forged.signer,
                "integrated_time": s.now,
                "data": data,
            },
        )
    before = projection(service)

    with pytest.raises(Conflict) as caught:
        service.reindex()
    assert caught.value.code == "replay_failed"
    assert f"entry {size}: not_custodian" in caught.value.message
    assert projection(service) == before  # the failed reindex rolled back
    report = service.audit()
    assert ("projection replay", size) in [(f.what, f.index) for f in report.findings]


def test_reindex_refuses_a_rewritten_entry(supply: Supply) -> None:
    """Entry k replaced in place (triggers dropped): the listing now offers 50 items."""
    s, service = supply, supply.service
    store = sql_store(service)
    size = store.size()
    k = next(i for i in range(size - 1, 0, -1) if store.entry(i).entry_type == LISTING_DECLARE)
    original = service.entry(k)[1]
    body = dict(original.envelope.body, quantity=50)
    forged = sign_entry(LISTING_DECLARE, body, s.keys["shop-a"])
    drop_append_only_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE log_entries SET data = :data WHERE idx = :idx"),
            {"data": forged.leaf_bytes(original.integrated_time), "idx": k},
        )
    before = projection(service)

    with pytest.raises(Conflict) as caught:
        service.reindex()
    assert caught.value.code == "replay_failed"
    assert f"entry {k}: insufficient_stock" in caught.value.message
    assert projection(service) == before
    report = service.audit()
    assert ("projection replay", k) in [(f.what, f.index) for f in report.findings]


def test_projection_tables_of_an_older_version_are_rebuilt(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    """Projection tables are derived: an older column layout is dropped, made again and
    refilled from the log when the store opens."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = SqlStore(url)
    supply = standard(initialized(store, operator_key, now=T0 - 10_000), operator_key)
    supply.commission("fishco", GTIN, {"list": ["OLD1"]})
    store.close()

    db = sqlite3.connect(tmp_path / "old.db")
    db.execute("ALTER TABLE items DROP COLUMN commissioned_time")  # as an older version had it
    db.commit()
    db.close()
    reopened = SqlStore(url)
    assert reopened.projection_stale
    service = LogService(reopened)
    assert not reopened.projection_stale
    assert service.item_view(ids(GTIN, "OLD1")[0]).record.custodian == "fishco"
    assert service.audit().ok
    reopened.close()
