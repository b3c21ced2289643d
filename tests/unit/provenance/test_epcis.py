"""The mapping of log entries to EPCIS 2.0 events (ledger.provenance.epcis), one entry type at a
time.

Entries are signed and wrapped as stored entries without a log (the mapping does not check
custody); every event is checked against GS1's schema (format assertion on) and its eventID
against the CBV 2.0 event hash.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from ledger.errors import InvalidInput
from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE, LogEntry, sign_entry
from ledger.log.hashing import leaf_hash
from ledger.provenance.epcis import (
    CONTEXT,
    EPCIS_CONTEXT_URL,
    MAX_EPCS_PER_EVENT,
    TM_NAMESPACE,
    Exporter,
    actor_uri,
    epcis_document,
    epcis_events,
    iso_time,
    log_uri,
)
from ledger.provenance.epcis_hash import document_event_hashes, event_hash
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    LISTING_DECLARE,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)
from tests.epcis_schema import validate_epcis
from tests.supply import GTIN, GTIN_B, ids, sscc_for

KEY = PrivateKey.from_seed(b"\x05" * 32)  # TEST ONLY
ORIGIN = "tracemark.test/log"
EVENT_TIME = 1_760_000_000_123  # 2025-10-09T08:53:20.123Z
RECORD_TIME = 1_760_000_001_000
DL = "https://id.gs1.org/"
PARTY = "https://tracemark.test/log/actors/"
SHIPMENT = PARTY + "fishco/shipments/S-1"
CASE = f"00/{sscc_for(11)}"


def entry(kind: str, index: int = 7, **fields: Any) -> LogEntry:
    body = {"event_time": EVENT_TIME, "tz": "+07:00", **fields}
    if kind != CLAIM:
        body.setdefault("actor", "fishco")
    envelope = sign_entry(kind, body, KEY)
    return LogEntry(index, envelope, RECORD_TIME, envelope.leaf_bytes(RECORD_TIME))


def one(log_entry: LogEntry, shipped: tuple[str, ...] = ()) -> dict[str, Any]:
    events = epcis_events(log_entry, origin=ORIGIN, shipped=shipped)
    assert len(events) == 1
    return events[0]


def check(events: list[dict[str, Any]]) -> None:
    """Valid against the schema, and each eventID is the hash of the event as exported."""
    document = epcis_document(events, created="2025-10-09T09:00:00.000Z", sender=ORIGIN)
    validate_epcis(document)
    assert document_event_hashes(document) == [e["eventID"] for e in events]
    for event in events:
        assert event["eventID"] == event_hash(event, document["@context"])


def what_and_why(event: dict[str, Any]) -> dict[str, Any]:
    """The event without the members every event has (time, ids, log extensions)."""
    common = {"eventTime", "eventTimeZoneOffset", "recordTime", "eventID", "tm:logIndex"}
    return {k: v for k, v in event.items() if k not in common | {"tm:leafHash", "tm:recordedBy"}}


# --- common members ---------------------------------------------------------------------


def test_every_event_carries_time_place_and_log_position() -> None:
    log_entry = entry(
        SELL,
        index=42,
        items=ids(GTIN, "A1"),
        read_point="urn:epc:id:sgln:8930001.00001.0",
        biz_location="https://id.gs1.org/414/8930001000014",
    )
    event = one(log_entry)
    assert event["eventTime"] == "2025-10-09T08:53:20.123Z"
    assert event["eventTimeZoneOffset"] == "+07:00"
    assert event["recordTime"] == "2025-10-09T08:53:21.000Z"
    assert event["readPoint"] == {"id": "urn:epc:id:sgln:8930001.00001.0"}
    assert event["bizLocation"] == {"id": "https://id.gs1.org/414/8930001000014"}
    assert event["tm:logIndex"] == 42
    assert event["tm:leafHash"] == base64.b64encode(leaf_hash(log_entry.leaf)).decode()
    assert event["tm:recordedBy"] == PARTY + "fishco"
    assert event["eventID"].startswith("ni:///sha-256;")
    assert list(event)[:5] == ["type", "eventTime", "eventTimeZoneOffset", "recordTime", "eventID"]
    check([event])


def test_the_event_id_ignores_record_time_but_not_the_log_position() -> None:
    event = one(entry(SELL, items=ids(GTIN, "A1")))
    assert (
        event_hash({**event, "recordTime": "2030-01-01T00:00:00.000Z"}, list(CONTEXT))
        == (event["eventID"])
    )
    assert one(entry(SELL, index=8, items=ids(GTIN, "A1")))["eventID"] != event["eventID"]


def test_non_events_map_to_nothing() -> None:
    notice = sign_entry(NOTICE, {"title": "maintenance"}, KEY)
    assert epcis_events(LogEntry(1, notice, 5, notice.leaf_bytes(5)), origin=ORIGIN) == []
    listing = sign_entry(
        LISTING_DECLARE,
        {
            "actor": "shop-a",
            "platform": "tiktok",
            "listing_id": "L-1",
            "gtin": GTIN,
            "quantity": 3,
            "event_time": 5,
        },
        KEY,
    )
    assert epcis_events(LogEntry(2, listing, 5, listing.leaf_bytes(5)), origin=ORIGIN) == []


# --- each event type -----------------------------------------------------------------------


def test_commission_expands_ranges_and_carries_lot_and_expiry() -> None:
    serials = {"list": ["X1"], "ranges": [{"prefix": "A", "first": 8, "last": 10, "width": 2}]}
    event = one(entry(COMMISSION, gtin=GTIN, serials=serials, lot="L1/2", expiry="271200"))
    assert what_and_why(event) == {
        "type": "ObjectEvent",
        "epcList": [f"{DL}01/{GTIN}/21/{s}" for s in ("X1", "A08", "A09", "A10")],
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "ilmd": {"cbvmda:lotNumber": "L1/2", "cbvmda:itemExpirationDate": "2027-12-31"},
    }
    check([event])


@pytest.mark.parametrize(
    ("expiry", "date"),
    [
        ("271215", "2027-12-15"),
        ("240200", "2024-02-29"),  # day 00: the last day of the month
        ("750101", "2075-01-01"),  # 50 years ahead of 2025: this century
        ("760101", "1976-01-01"),  # 51 years ahead: the previous century
    ],
)
def test_expiry_century_follows_gs1_relative_to_the_event(expiry: str, date: str) -> None:
    event = one(entry(COMMISSION, gtin=GTIN, serials={"list": ["X1"]}, expiry=expiry))
    assert event["ilmd"] == {"cbvmda:itemExpirationDate": date}


def test_commission_without_lot_has_no_ilmd() -> None:
    event = one(entry(COMMISSION, gtin=GTIN, serials={"list": ["X1"]}))
    assert "ilmd" not in event
    check([event])


def test_a_large_commission_is_split_into_events_of_one_entry() -> None:
    serials = {"ranges": [{"prefix": "S", "first": 1, "last": 12_000, "width": 6}]}
    events = epcis_events(entry(COMMISSION, gtin=GTIN, serials=serials), origin=ORIGIN)
    assert [len(e["epcList"]) for e in events] == [MAX_EPCS_PER_EVENT, MAX_EPCS_PER_EVENT, 2_000]
    assert {e["tm:logIndex"] for e in events} == {7}
    assert events[2]["epcList"][-1] == f"{DL}01/{GTIN}/21/S012000"
    assert len({e["eventID"] for e in events}) == 3
    check(events)


def test_pack_is_an_aggregation_add() -> None:
    event = one(entry(PACK, parent=CASE, children=ids(GTIN, "A1", "A2")))
    assert what_and_why(event) == {
        "type": "AggregationEvent",
        "parentID": DL + CASE,
        "childEPCs": [f"{DL}01/{GTIN}/21/A1", f"{DL}01/{GTIN}/21/A2"],
        "action": "ADD",
        "bizStep": "packing",
    }
    check([event])


def test_unpack_is_an_aggregation_delete_with_or_without_children() -> None:
    everything = one(entry(UNPACK, parent=CASE))
    assert what_and_why(everything) == {
        "type": "AggregationEvent",
        "parentID": DL + CASE,
        "action": "DELETE",
        "bizStep": "unpacking",
    }
    some = one(entry(UNPACK, parent=CASE, children=ids(GTIN, "A1")))
    assert some["childEPCs"] == [f"{DL}01/{GTIN}/21/A1"]
    check([everything, some])


def test_ship_names_the_parties_and_the_despatch_advice() -> None:
    event = one(entry(SHIP, shipment="S-1", to="distri", items=[CASE, *ids(GTIN, "A9")]))
    assert what_and_why(event) == {
        "type": "ObjectEvent",
        "epcList": [DL + CASE, f"{DL}01/{GTIN}/21/A9"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "bizTransactionList": [{"type": "desadv", "bizTransaction": SHIPMENT}],
        "sourceList": [{"type": "owning_party", "source": PARTY + "fishco"}],
        "destinationList": [{"type": "owning_party", "destination": PARTY + "distri"}],
    }
    check([event])


def test_receive_observes_the_shipped_items() -> None:
    receive = entry(RECEIVE, actor="distri", shipment="S-1", **{"from": "fishco"})
    event = one(receive, shipped=(CASE,))
    assert what_and_why(event) == {
        "type": "ObjectEvent",
        "epcList": [DL + CASE],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "in_progress",
        "bizTransactionList": [{"type": "desadv", "bizTransaction": SHIPMENT}],
        "sourceList": [{"type": "owning_party", "source": PARTY + "fishco"}],
        "destinationList": [{"type": "owning_party", "destination": PARTY + "distri"}],
    }
    assert event["tm:recordedBy"] == PARTY + "distri"
    check([event])


def test_cancel_voids_the_shipping() -> None:
    event = one(entry(CANCEL, shipment="S-1", reason="wrong address"), shipped=(CASE,))
    assert what_and_why(event) == {
        "type": "ObjectEvent",
        "epcList": [DL + CASE],
        "action": "OBSERVE",
        "bizStep": "void_shipping",
        "disposition": "in_progress",
        "bizTransactionList": [{"type": "desadv", "bizTransaction": SHIPMENT}],
        "tm:reason": "wrong address",
    }
    check([event])


@pytest.mark.parametrize("kind", [RECEIVE, CANCEL])
def test_receive_or_cancel_without_the_shipment_is_refused(kind: str) -> None:
    fields: dict[str, Any] = {"shipment": "S-1"}
    if kind == RECEIVE:
        fields |= {"actor": "distri", "from": "fishco"}
    with pytest.raises(InvalidInput) as caught:
        epcis_events(entry(kind, **fields), origin=ORIGIN)
    assert caught.value.code == "not_exportable"
    assert "fishco/S-1" in caught.value.message


def test_sell_is_retail_selling() -> None:
    sold = ids(GTIN, "A1")
    event = one(entry(SELL, actor="shop-a", items=sold, claims={sold[0]: "ab" * 32}))
    assert what_and_why(event) == {
        "type": "ObjectEvent",
        "epcList": [f"{DL}01/{GTIN}/21/A1"],
        "action": "OBSERVE",
        "bizStep": "retail_selling",
        "disposition": "retail_sold",
    }
    check([event])


def test_claim_uses_the_tracemark_business_step_and_hides_the_secret() -> None:
    buyer = PrivateKey.from_seed(b"b" * 32)  # TEST ONLY
    claim = entry(CLAIM, item=ids(GTIN, "A1")[0], secret="s" * 20, key=buyer.public_key.to_text())
    event = one(claim)
    assert what_and_why(event) == {
        "type": "ObjectEvent",
        "epcList": [f"{DL}01/{GTIN}/21/A1"],
        "action": "OBSERVE",
        "bizStep": TM_NAMESPACE + "claiming",
    }
    assert "tm:recordedBy" not in event
    assert "s" * 20 not in str(event)
    check([event])


@pytest.mark.parametrize(
    ("scope", "fields", "what"),
    [
        (
            "items",
            {"serials": ["A1", "A2"]},
            {"epcList": [f"{DL}01/{GTIN}/21/A{i}" for i in (1, 2)]},
        ),
        ("lot", {"lot": "L/7"}, {"quantityList": [{"epcClass": f"{DL}01/{GTIN}/10/L%2F7"}]}),
        ("gtin", {}, {"quantityList": [{"epcClass": f"{DL}01/{GTIN}"}]}),
    ],
    ids=["items", "lot", "gtin"],
)
def test_recall_names_items_or_classes(scope: str, fields: dict[str, Any], what: Any) -> None:
    event = one(entry(RECALL, gtin=GTIN, scope=scope, reason="histamine", **fields))
    assert what_and_why(event) == {
        "type": "ObjectEvent",
        **what,
        "action": "OBSERVE",
        "disposition": "recalled",
        "tm:reason": "histamine",
    }
    check([event])


@pytest.mark.parametrize(
    ("reason", "step", "disposition"),
    [
        ("destroyed", "destroying", "destroyed"),
        ("decommissioned", "decommissioning", "inactive"),
        ("damaged", "decommissioning", "damaged"),
        ("expired", "decommissioning", "expired"),
    ],
)
def test_decommission_deletes(reason: str, step: str, disposition: str) -> None:
    event = one(entry(DECOMMISSION, items=ids(GTIN, "A1"), reason=reason))
    assert what_and_why(event) == {
        "type": "ObjectEvent",
        "epcList": [f"{DL}01/{GTIN}/21/A1"],
        "action": "DELETE",
        "bizStep": step,
        "disposition": disposition,
    }
    check([event])


def test_repack_is_a_transformation() -> None:
    outputs = {"gtin": GTIN_B, "serials": {"list": ["R1"]}, "lot": "RL", "expiry": "280100"}
    event = one(entry(REPACK, inputs=ids(GTIN, "A1", "A2"), outputs=outputs))
    assert what_and_why(event) == {
        "type": "TransformationEvent",
        "inputEPCList": [f"{DL}01/{GTIN}/21/A1", f"{DL}01/{GTIN}/21/A2"],
        "outputEPCList": [f"{DL}01/{GTIN_B}/21/R1"],
        "bizStep": "repackaging",
        "disposition": "active",
        "ilmd": {"cbvmda:lotNumber": "RL", "cbvmda:itemExpirationDate": "2028-01-31"},
    }
    check([event])


def test_a_large_repack_is_split_with_a_shared_transformation_id() -> None:
    inputs = [f"01/{GTIN}/21/I{n:05d}" for n in range(4_000)]
    outputs = {
        "gtin": GTIN_B,
        "serials": {"ranges": [{"prefix": "O", "first": 1, "last": 4_000, "width": 5}]},
    }
    events = epcis_events(entry(REPACK, inputs=inputs, outputs=outputs), origin=ORIGIN)
    assert [("inputEPCList" in e, "outputEPCList" in e) for e in events] == [
        (True, False),
        (False, True),
    ]
    assert {e["transformationID"] for e in events} == {"https://tracemark.test/log/entries/7"}
    check(events)


# --- the exporter, URIs, times and documents ----------------------------------------------


def test_exporter_remembers_shipments_and_asks_for_the_others() -> None:
    asked: list[tuple[str, str]] = []

    def lookup(sender: str, shipment: str) -> tuple[str, ...] | None:
        asked.append((sender, shipment))
        return (CASE,) if shipment == "OLD" else None

    exporter = Exporter(ORIGIN, shipment_items=lookup)
    exporter.events(entry(SHIP, index=1, shipment="S-1", to="distri", items=ids(GTIN, "A1")))
    received = exporter.events(
        entry(RECEIVE, index=2, actor="distri", shipment="S-1", **{"from": "fishco"})
    )
    assert received[0]["epcList"] == [f"{DL}01/{GTIN}/21/A1"] and asked == []
    cancelled = exporter.events(entry(CANCEL, index=3, shipment="OLD"))
    assert cancelled[0]["epcList"] == [DL + CASE] and asked == [("fishco", "OLD")]
    with pytest.raises(InvalidInput):
        exporter.events(entry(CANCEL, index=4, shipment="NONE"))


def test_time_zone_offsets_epcis_refuses_become_utc() -> None:
    event = one(entry(SELL, items=ids(GTIN, "A1"), tz="+14:30"))
    assert event["eventTimeZoneOffset"] == "+00:00"
    assert one(entry(SELL, items=ids(GTIN, "A1"), tz="-14:00"))["eventTimeZoneOffset"] == "-14:00"
    check([event])


def test_places_that_are_not_uris_are_percent_encoded() -> None:
    event = one(entry(SELL, items=ids(GTIN, "A1"), read_point='urn:x:a"b{c}', biz_location="x:%zz"))
    assert event["readPoint"] == {"id": "urn:x%3Aa%22b%7Bc%7D"}
    assert event["bizLocation"] == {"id": "x:%25zz"}
    check([event])


@pytest.mark.parametrize(
    ("origin", "uri"),
    [
        ("tracemark.test/log", "https://tracemark.test/log"),
        ("example.vn", "https://example.vn"),
        ("log.example:8443/a/", "https://log.example:8443/a"),
        ("a:b:c/log", "https://a%3Ab%3Ac%2Flog"),
        ('odd"origin', "https://odd%22origin"),
    ],
)
def test_log_uri_is_always_a_uri(origin: str, uri: str) -> None:
    assert log_uri(origin) == uri
    assert actor_uri(origin, "shop-a") == uri + "/actors/shop-a"


def test_iso_time() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(EVENT_TIME) == "2025-10-09T08:53:20.123Z"
    for bad in (-1, True, 2**53):
        with pytest.raises(InvalidInput):
            iso_time(bad)


def test_document_shape_and_creation_date() -> None:
    document = epcis_document([], created="2025-10-09T09:00:00.000Z")
    assert document == {
        "@context": [EPCIS_CONTEXT_URL, {"tm": TM_NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-10-09T09:00:00.000Z",
        "epcisBody": {"eventList": []},
    }
    validate_epcis(document)
    for bad in ("yesterday", "2025-13-01T00:00:00Z", "2025-10-09T09:00:00"):
        with pytest.raises(InvalidInput):
            epcis_document([], created=bad)


def test_any_mutation_of_an_exported_event_changes_its_hash() -> None:
    event = one(entry(SHIP, shipment="S-1", to="distri", items=ids(GTIN, "A1", "A2")))
    mutations = {
        "epc": lambda e: e["epcList"].__setitem__(0, f"{DL}01/{GTIN}/21/A3"),
        "bizStep": lambda e: e.update(bizStep="receiving"),
        "eventTime": lambda e: e.update(eventTime="2025-10-09T08:53:20.124Z"),
        "destination": lambda e: e["destinationList"][0].update(destination=PARTY + "shop-x"),
        "logIndex": lambda e: e.update({"tm:logIndex": 8}),
    }
    for name, mutate in mutations.items():
        changed = copy.deepcopy(event)
        mutate(changed)
        assert event_hash(changed, list(CONTEXT)) != event["eventID"], name
