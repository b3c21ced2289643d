"""EPCIS 2.0 export of a real chain on every backend: all, one item, one actor, a range.

The chain records every event type (commission with a range and a list, lot and expiry;
pack, unpack, ship, receive, cancel, sell with a claim code, claim, recall of items, a lot
and a GTIN, decommission, repack) among listings and notices that are not events. Each
export validates against GS1's schema with format assertion, and each eventID is the CBV 2.0
hash of its event.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import InvalidInput, LimitExceeded, NotFound
from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE
from ledger.provenance.epcis_hash import document_event_hashes, event_hash
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    DECOMMISSION,
    EVENT_TYPES,
    RECALL,
    REPACK,
    SELL,
    UNPACK,
)
from ledger.provenance.rules.custody import claim_commitment
from ledger.usecases import export
from ledger.usecases.export import export_epcis
from tests.conftest import BACKENDS, initialized, make_store
from tests.epcis_schema import validate_epcis
from tests.supply import GTIN, GTIN_B, T0, TZ, Supply, ids, sscc_for, standard

pytestmark = pytest.mark.filterwarnings("error")

CREATED = T0 + 3_600_000
CASE1, CASE2, PALLET = (f"00/{sscc_for(n)}" for n in (11, 12, 13))
FIRST = ids(GTIN, "FS000001")[0]


@dataclass
class Chain:
    supply: Supply
    at: dict[str, int] = field(default_factory=dict)  # label -> entry index

    def record(self, label: str, index: int) -> None:
        self.at[label] = index


def build(s: Supply) -> Chain:
    chain = Chain(s)
    fish, distri, shop = s.keys["fishco"], s.keys["distri"], s.keys["shop-a"]
    serials = {
        "list": ["X1", "X2"],
        "ranges": [{"prefix": "FS", "first": 1, "last": 30, "width": 6}],
    }
    chain.record(
        "commission",
        s.commission(
            "fishco",
            GTIN,
            serials,
            lot="L2611",
            expiry="271200",
            read_point="urn:epc:id:sgln:8930001.00001.0",
        ).index,
    )
    chain.record("commission-b", s.commission("fishco", GTIN_B, {"list": ["B1", "B2", "B3"]}).index)
    s.ok(NOTICE, {"title": "not an event"}, s.operator)
    fs = [f"FS{n:06d}" for n in range(1, 31)]
    chain.record("pack-case1", s.pack("fishco", CASE1, ids(GTIN, *fs[:5])).index)
    chain.record("pack-case2", s.pack("fishco", CASE2, ids(GTIN, *fs[5:10])).index)
    chain.record("pack-pallet", s.pack("fishco", PALLET, [CASE1, CASE2]).index)
    chain.record("ship-1", s.ship("fishco", "distri", [PALLET], "SHIP-1").index)
    chain.record("receive-1", s.receive("distri", "fishco", "SHIP-1").index)
    chain.record("unpack-pallet", s.ok(UNPACK, s.event("distri", parent=PALLET), distri).index)
    chain.record(
        "unpack-case1",
        s.ok(UNPACK, s.event("distri", parent=CASE1, children=ids(GTIN, *fs[:2])), distri).index,
    )
    chain.record("ship-2", s.ship("distri", "shop-a", [CASE1, *ids(GTIN, *fs[:2])], "D-7").index)
    chain.record("receive-2", s.receive("shop-a", "distri", "D-7").index)
    chain.record("ship-3", s.ship("fishco", "distri", ids(GTIN, "X1"), "C-1").index)
    chain.record(
        "cancel",
        s.ok(CANCEL, s.event("fishco", shipment="C-1", reason="wrong address"), fish).index,
    )
    s.listing("shop-a", "tiktok", "L-1", GTIN, quantity=2)
    secret = "buyer-secret-0123456789"
    body = s.event("shop-a", items=[FIRST], claims={FIRST: claim_commitment(FIRST, secret)})
    chain.record("sell", s.ok(SELL, body, shop).index)
    buyer = PrivateKey.from_seed(b"b" * 32)  # TEST ONLY
    claim = {
        "item": FIRST,
        "secret": secret,
        "key": buyer.public_key.to_text(),
        "event_time": s.now,
        "tz": TZ,
    }
    chain.record("claim", s.ok(CLAIM, claim, buyer).index)
    chain.record(
        "decommission",
        s.ok(
            DECOMMISSION, s.event("fishco", items=ids(GTIN, "FS000020"), reason="damaged"), fish
        ).index,
    )
    outputs = {"gtin": GTIN_B, "serials": {"list": ["RB1"]}, "lot": "RL1", "expiry": "280100"}
    chain.record(
        "repack",
        s.ok(
            REPACK, s.event("fishco", inputs=ids(GTIN_B, "B1", "B2"), outputs=outputs), fish
        ).index,
    )
    recall = s.event("fishco", gtin=GTIN, scope="items", serials=["X2"], reason="seal broken")
    chain.record("recall-items", s.ok(RECALL, recall, fish).index)
    recall = s.event("fishco", gtin=GTIN, scope="lot", lot="L2611", reason="histamine")
    chain.record("recall-lot", s.ok(RECALL, recall, fish).index)
    recall = s.event("fishco", gtin=GTIN_B, scope="gtin", reason="label error")
    chain.record("recall-gtin", s.ok(RECALL, recall, fish).index)
    s.ok(NOTICE, {"title": "still not an event"}, s.operator)
    return chain


@pytest.fixture(params=BACKENDS)
def chain(
    request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[Chain]:
    store = make_store(request.param, request, tmp_path)
    service = initialized(store, operator_key, now=T0 - 10_000)
    yield build(standard(service, operator_key))
    store.close()


def events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    validate_epcis(document)
    events: list[dict[str, Any]] = document["epcisBody"]["eventList"]
    assert document_event_hashes(document) == [e["eventID"] for e in events]
    for event in events:
        without_id = {k: v for k, v in event.items() if k != "eventID"}
        assert event["eventID"] == event_hash(without_id, document["@context"])
    return events


def indexes(events: list[dict[str, Any]]) -> list[int]:
    return [e["tm:logIndex"] for e in events]


def test_export_all_has_every_event_in_log_order(chain: Chain) -> None:
    service = chain.supply.service
    document = export_epcis(service, created_ms=CREATED)
    events = events_of(document)
    assert document["creationDate"] == "2025-10-09T09:53:20.000Z"
    assert document["sender"] == "tracemark.test/log"
    size = service.store.head().size
    expected = [i for i in range(size) if service.entry(i)[1].envelope.type in EVENT_TYPES]
    assert indexes(events) == expected
    assert set(chain.at.values()) <= set(expected)
    by_index = {e["tm:logIndex"]: e for e in events}
    kinds = {service.entry(i)[1].envelope.type for i in expected}
    assert kinds == set(EVENT_TYPES)
    assert len(by_index[chain.at["commission"]]["epcList"]) == 32
    assert by_index[chain.at["receive-1"]]["epcList"] == ["https://id.gs1.org/" + PALLET]
    assert by_index[chain.at["cancel"]]["bizStep"] == "void_shipping"
    assert by_index[chain.at["recall-gtin"]]["quantityList"] == [
        {"epcClass": f"https://id.gs1.org/01/{GTIN_B}"}
    ]


def test_export_one_item_is_exactly_its_history(chain: Chain) -> None:
    service = chain.supply.service
    events = events_of(export_epcis(service, item=FIRST, created_ms=CREATED))
    labels = [
        "commission",
        "pack-case1",
        "pack-pallet",
        "ship-1",
        "receive-1",
        "unpack-pallet",
        "unpack-case1",
        "ship-2",
        "receive-2",
        "sell",
        "claim",
        "recall-lot",  # a recall of its lot touches no item; the export adds it
    ]
    assert indexes(events) == [chain.at[label] for label in labels]
    timeline = [step.index for step in service.item_view(FIRST).timeline]
    assert indexes(events) == sorted([*timeline, chain.at["recall-lot"]])
    steps = [e.get("bizStep") for e in events]
    assert steps[:4] == ["commissioning", "packing", "packing", "shipping"]
    assert steps[-3:] == ["retail_selling", "https://tracemark.dev/ns/epcis/claiming", None]
    # The same events as in the full export, byte for byte.
    everything = {e["tm:logIndex"]: e for e in events_of(export_epcis(service, created_ms=CREATED))}
    assert events == [everything[i] for i in indexes(events)]


def test_export_one_repacked_item_and_one_container(chain: Chain) -> None:
    service = chain.supply.service
    output = ids(GTIN_B, "RB1")[0]
    events = events_of(export_epcis(service, item=output, created_ms=CREATED))
    assert indexes(events) == [chain.at["repack"], chain.at["recall-gtin"]]
    assert events[0]["type"] == "TransformationEvent"
    case = events_of(export_epcis(service, item=CASE1, created_ms=CREATED))
    assert indexes(case) == [
        chain.at[label]
        for label in (
            "pack-case1",
            "pack-pallet",
            "ship-1",
            "receive-1",
            "unpack-pallet",
            "unpack-case1",
            "ship-2",
            "receive-2",
        )
    ]


def test_export_one_actor_is_what_it_is_party_to(chain: Chain) -> None:
    service = chain.supply.service
    events = events_of(export_epcis(service, actor="distri", created_ms=CREATED))
    labels = ["ship-1", "receive-1", "unpack-pallet", "unpack-case1", "ship-2", "receive-2"]
    labels += ["ship-3", "cancel"]  # a shipment to distri and its cancellation by the sender
    assert indexes(events) == sorted(chain.at[label] for label in labels)
    shop = events_of(export_epcis(service, actor="shop-a", created_ms=CREATED))
    assert indexes(shop) == [chain.at[k] for k in ("ship-2", "receive-2", "sell")]


def test_export_a_range(chain: Chain) -> None:
    service = chain.supply.service
    start, end = chain.at["receive-1"], chain.at["cancel"] + 1
    events = events_of(export_epcis(service, start=start, end=end, created_ms=CREATED))
    everything = events_of(export_epcis(service, created_ms=CREATED))
    assert events == [e for e in everything if start <= e["tm:logIndex"] < end]
    assert indexes(events)[0] == start  # its ship entry is outside: found in the projection
    narrowed = events_of(export_epcis(service, actor="shop-a", start=end, created_ms=CREATED))
    assert indexes(narrowed) == [chain.at["sell"]]
    assert events_of(export_epcis(service, start=10**6, created_ms=CREATED)) == []


def test_mutating_an_exported_event_changes_its_hash(chain: Chain) -> None:
    document = export_epcis(chain.supply.service, item=FIRST, created_ms=CREATED)
    context = document["@context"]
    for event in document["epcisBody"]["eventList"]:
        changed = copy.deepcopy(event)
        changed["tm:logIndex"] += 1
        assert event_hash(changed, context) != event["eventID"]
        changed = copy.deepcopy(event)
        changed["eventTime"] = "2000-01-01T00:00:00.000Z"
        assert event_hash(changed, context) != event["eventID"]
        for name in ("epcList", "childEPCs", "inputEPCList"):
            if event.get(name):
                changed = copy.deepcopy(event)
                changed[name][0] = changed[name][0][:-1] + "9"
                assert event_hash(changed, context) != event["eventID"]


def test_selections_that_do_not_exist_or_contradict_are_refused(chain: Chain) -> None:
    service = chain.supply.service
    with pytest.raises(NotFound) as caught:
        export_epcis(service, item=ids(GTIN, "NEVER")[0], created_ms=CREATED)
    assert caught.value.code == "unknown_item"
    with pytest.raises(NotFound) as caught:
        export_epcis(service, actor="nobody", created_ms=CREATED)
    assert caught.value.code == "unknown_actor"
    with pytest.raises(InvalidInput):
        export_epcis(service, item="01/123/21/x", created_ms=CREATED)
    with pytest.raises(InvalidInput):
        export_epcis(service, item=FIRST, actor="distri", created_ms=CREATED)
    for start, end in ((-1, None), (5, 4)):
        with pytest.raises(InvalidInput):
            export_epcis(service, start=start, end=end, created_ms=CREATED)


def test_a_too_large_export_is_refused_with_a_range_to_use(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "MAX_EXPORT_EVENTS", 5)
    with pytest.raises(LimitExceeded) as caught:
        export_epcis(chain.supply.service, created_ms=CREATED)
    assert caught.value.code == "export_too_large"
    assert "range" in caught.value.message and "start=0" in caught.value.message
    monkeypatch.setattr(export, "MAX_EXPORT_EVENTS", 100)
    monkeypatch.setattr(export, "MAX_EXPORT_EPCS", 10)
    with pytest.raises(LimitExceeded):
        export_epcis(chain.supply.service, created_ms=CREATED)
