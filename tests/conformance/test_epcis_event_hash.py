"""CBV 2.0 EPCIS event hash vectors (tests/vectors/epcis/event-hash, see tests/vectors/README.md).

From RalphTro/epcis-event-hash-generator: each document's events hash, in order, to the
lines of its ``.hashes`` file; the pre-hash strings equal the ``.prehashes`` lines except in
the three files the manifest flags as stale upstream; every event of the expected-equal
document (different JSON spellings of one event) has one hash.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import InvalidInput
from ledger.provenance.epcis_hash import (
    MAX_DEPTH,
    MAX_STRING,
    document_event_hashes,
    document_event_prehashes,
    event_hash,
    event_prehash,
)

EPCIS = Path(__file__).parents[1] / "vectors" / "epcis"
MANIFEST = json.loads((EPCIS / "manifest.json").read_text(encoding="utf-8"))
VECTORS = MANIFEST["event_hash"]["vectors"]
STALE_PREHASHES = set(MANIFEST["event_hash"]["prehashes_known_inconsistent"])
PREHASH_VECTORS = [v for v in VECTORS if "prehashes_file" in v]


def load(relative: str) -> Any:
    return json.loads((EPCIS / relative).read_text(encoding="utf-8"))


def lines(relative: str) -> list[str]:
    return [line for line in (EPCIS / relative).read_text(encoding="utf-8").splitlines() if line]


def name(vector: dict[str, Any]) -> str:
    return Path(vector["document"]).stem


def test_there_are_22_hash_documents() -> None:
    assert len(VECTORS) == 22
    assert len(STALE_PREHASHES) == 3


@pytest.mark.parametrize("vector", VECTORS, ids=name)
def test_document_hashes_match_hashes_file(vector: dict[str, Any]) -> None:
    expected = lines(vector["expected_hashes_file"])
    assert expected == vector["expected_hashes"]
    assert document_event_hashes(load(vector["document"])) == expected


@pytest.mark.parametrize("vector", PREHASH_VECTORS, ids=name)
def test_document_prehashes_match_prehashes_file(vector: dict[str, Any]) -> None:
    if vector["document"] in STALE_PREHASHES:
        pytest.skip("upstream .prehashes file is stale or garbled (manifest); .hashes checked")
    prehashes = document_event_prehashes(load(vector["document"]))
    assert prehashes == lines(vector["prehashes_file"])
    hashes = [
        f"ni:///sha-256;{hashlib.sha256(p.encode()).hexdigest()}?ver=CBV2.0" for p in prehashes
    ]
    assert hashes == vector["expected_hashes"]


@pytest.mark.parametrize(
    "equal_set", MANIFEST["event_hash"]["equal_hash_sets"], ids=lambda s: Path(s["document"]).stem
)
def test_equal_events_hash_the_same(equal_set: dict[str, Any]) -> None:
    document = load(equal_set["document"])
    hashes = document_event_hashes(document)
    assert len(hashes) == len(document["epcisBody"]["eventList"]) >= 2
    assert len(set(hashes)) == 1
    assert hashes[0] == lines("event-hash/examples/ReferenceEventHashAlgorithm.hashes")[0]


# --- Behaviour beyond the vectors ----------------------------------------------------------

BASE_DOCUMENT = "event-hash/examples/epcisDocWithSingleEvent.jsonld"


def base_event() -> tuple[dict[str, Any], Any]:
    document = load(BASE_DOCUMENT)
    return document["epcisBody"]["eventList"][0], document["@context"]


def test_event_hash_matches_document_hash_and_form() -> None:
    event, context = base_event()
    digest = event_hash(event, context)
    assert [digest] == document_event_hashes(load(BASE_DOCUMENT))
    assert digest.startswith("ni:///sha-256;") and digest.endswith("?ver=CBV2.0")
    assert len(digest) == len("ni:///sha-256;?ver=CBV2.0") + 64


MUTATIONS = {
    "changed-bizStep": lambda e: e.update(bizStep="receiving"),
    "changed-eventTime-by-1ms": lambda e: e.update(eventTime="2022-02-16T20:33:31.117-06:00"),
    "changed-epc-serial": lambda e: e["epcList"].__setitem__(
        0, "urn:epc:id:sgtin:0614141.107346.2019"
    ),
    "removed-epc": lambda e: e["epcList"].pop(),
    "changed-disposition": lambda e: e.update(disposition="in_progress"),
    "added-extension": lambda e: e.update({"gs1:extra": "1"}),
    "changed-bizTransaction-type": lambda e: e["bizTransactionList"][0].update(type="inv"),
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_any_mutation_changes_the_hash(mutate: Any) -> None:
    event, context = base_event()
    original = event_hash(event, context)
    mutated = copy.deepcopy(event)
    mutate(mutated)
    assert mutated != event
    assert event_hash(mutated, context) != original


EQUIVALENT_SPELLINGS = {
    "key-order": lambda e: dict(reversed(list(e.items()))),
    "epc-order": lambda e: {**e, "epcList": list(reversed(e["epcList"]))},
    "same-instant-in-utc": lambda e: {**e, "eventTime": "2022-02-17T02:33:31.116Z"},
    "cbv-urn-bizStep": lambda e: {**e, "bizStep": "urn:epcglobal:cbv:bizstep:shipping"},
    "cbv-uri-disposition": lambda e: {
        **e,
        "disposition": "https://ref.gs1.org/cbv/Disp-in_transit",
    },
    "digital-link-epc": lambda e: {
        **e,
        "epcList": ["https://example.com/01/10614141073464/21/2017?x=1", e["epcList"][1]],
    },
    "record-time-and-event-id": lambda e: {
        **e,
        "recordTime": "2030-01-01T00:00:00Z",
        "eventID": "urn:uuid:0b3e2b9e-6b1a-4b0e-9b1e-0b3e2b9e6b1a",
    },
    "comment": lambda e: {**e, "rdfs:comment": "not part of the event's meaning"},
}


@pytest.mark.parametrize("respell", EQUIVALENT_SPELLINGS.values(), ids=EQUIVALENT_SPELLINGS.keys())
def test_equivalent_spellings_hash_the_same(respell: Any) -> None:
    event, context = base_event()
    assert event_hash(respell(copy.deepcopy(event)), context) == event_hash(event, context)


def test_ignore_fields_only_drop_user_extensions() -> None:
    event, context = base_event()
    extended = {**event, "gs1:captureID": "abc"}
    assert event_hash(extended, context, ignore_fields=["gs1:captureID"]) == event_hash(
        event, context
    )
    with pytest.raises(InvalidInput) as caught:
        event_hash(event, context, ignore_fields=["eventTime"])
    assert caught.value.code == "invalid_epcis"


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"gs1:n": value}
    return value


MALFORMED_EVENTS = {
    "not-an-object": ["ObjectEvent"],
    "missing-type": {"eventTime": "2022-02-17T02:33:31.116Z"},
    "type-not-a-string": {"type": 7},
    "eventTime-not-a-date": {"type": "ObjectEvent", "eventTime": "yesterday"},
    "eventTime-without-offset": {"type": "ObjectEvent", "eventTime": "2022-02-17T02:33:31"},
    "eventTime-month-13": {"type": "ObjectEvent", "eventTime": "2022-13-17T02:33:31Z"},
    "nested-arrays": {"type": "ObjectEvent", "epcList": [["urn:epc:id:sscc:4012345.0000000333"]]},
    "non-json-value": {"type": "ObjectEvent", "gs1:x": {1, 2}},
    "non-string-key": {"type": "ObjectEvent", 1: "x"},
    "infinite-number": {"type": "ObjectEvent", "gs1:x": float("inf")},
    "too-deep": {"type": "ObjectEvent", "gs1:deep": nested(MAX_DEPTH + 1)},
    "too-long-string": {"type": "ObjectEvent", "gs1:x": "a" * (MAX_STRING + 1)},
    "too-many-values": {"type": "ObjectEvent", "epcList": ["x"] * 20_000},
    "unpaired-surrogate": {"type": "ObjectEvent", "gs1:x": "\ud800"},
}


@pytest.mark.parametrize("event", MALFORMED_EVENTS.values(), ids=MALFORMED_EVENTS.keys())
def test_malformed_event_raises_invalid_input(event: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        event_hash(event)
    assert caught.value.code == "invalid_epcis"


MALFORMED_DOCUMENTS = {
    "not-an-object": [],
    "no-body": {"@context": []},
    "no-event-list": {"epcisBody": {}},
    "event-list-not-array": {"epcisBody": {"eventList": {"type": "ObjectEvent"}}},
    "bad-context-entry": {"@context": [3], "epcisBody": {"eventList": []}},
    "ignore-fields-not-array": {"ex:ignoreFields": "x", "epcisBody": {"eventList": []}},
    "query-without-results-body": {"epcisBody": {"queryResults": {}}},
}


@pytest.mark.parametrize("document", MALFORMED_DOCUMENTS.values(), ids=MALFORMED_DOCUMENTS.keys())
def test_malformed_document_raises_invalid_input(document: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        document_event_hashes(document)
    assert caught.value.code == "invalid_epcis"


def test_prehash_spells_out_the_canonical_form() -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2023-02-02T12:04:03.1415+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
        "ex:weight": "12.50",
    }
    assert event_prehash(event, [{"ex": "https://ns.example.com/"}]) == (
        "eventType=ObjectEventeventTime=2023-02-02T11:04:03.142ZeventTimeZoneOffset=+01:00"
        "epcListepc=https://id.gs1.org/01/04012345111118/21/9876action=OBSERVE"
        "bizStep=https://ref.gs1.org/cbv/BizStep-shipping"
        "readPointid=https://id.gs1.org/414/4012345000054{https://ns.example.com/}weight=12.5"
    )
