"""The ledger's supply-chain events as GS1 EPCIS 2.0 JSON-LD events and documents. Pure.

    epcis_events(entry, origin=...)    the EPCIS events of one log entry (usually one, or none)
    Exporter(origin).events(entry)     the same for entries fed in log order (remembers ships)
    epcis_document(events, created=)   an EPCISDocument (schemaVersion 2.0) holding them

Mapping (``b`` is the entry body; every EPC is a GS1 Digital Link URI on ``id.gs1.org``, the
item id behind the stem: ``https://id.gs1.org/01/<gtin>/21/<serial>``, ``.../00/<sscc>``)::

    event.commission       ObjectEvent ADD, commissioning, active; epcList = every serial
                           (ranges expanded); ilmd cbvmda:lotNumber, cbvmda:itemExpirationDate
    event.pack             AggregationEvent ADD, packing; parentID, childEPCs
    event.unpack           AggregationEvent DELETE, unpacking; parentID, childEPCs when named
                           (none named: every child, as EPCIS reads a DELETE without children)
    event.ship             ObjectEvent OBSERVE, shipping, in_transit; epcList = b.items;
                           bizTransactionList desadv <shipment>; sourceList / destinationList
                           owning_party <sender> / <receiver>
    event.receive          ObjectEvent OBSERVE, receiving, in_progress; epcList = the items of
                           the ship entry; the same desadv, source and destination
    event.cancel_shipment  ObjectEvent OBSERVE, void_shipping, in_progress; epcList = the items
                           of the ship entry; the same desadv; tm:reason
    event.sell             ObjectEvent OBSERVE, retail_selling, retail_sold (claim commitments
                           stay in the ledger)
    event.claim            ObjectEvent OBSERVE, bizStep tm:claiming (TM_NAMESPACE + "claiming");
                           epcList = the claimed item; the secret is not exported
    event.recall           ObjectEvent OBSERVE, disposition recalled, no bizStep (CBV has none
                           for recalls); scope items: epcList; lot: quantityList epcClass
                           .../01/<gtin>/10/<lot>; gtin: epcClass .../01/<gtin> (no quantity:
                           every instance); tm:reason
    event.decommission     ObjectEvent DELETE; b.reason destroyed: destroying, destroyed;
                           decommissioned: decommissioning, inactive; damaged / expired:
                           decommissioning, damaged / expired
    event.repack           TransformationEvent, repackaging, active; inputEPCList,
                           outputEPCList (serials expanded), ilmd of the outputs
    anything else          none: actors, keys, listings (a listing is an offer on a platform,
                           for which EPCIS has no event), stream sessions, attestations
                           (``attest.*``: statements about a seller or a product's documents,
                           not events of things), genesis and notices

Every event has ``eventTime`` (b.event_time in UTC with milliseconds), ``eventTimeZoneOffset``
(b.tz; an offset beyond the +-14:00 EPCIS allows is written +00:00, eventTime being exact
either way), ``recordTime`` (the log's integrated time), ``readPoint`` / ``bizLocation``
(b.read_point / b.biz_location), and three user extensions in the ``tm`` namespace
(``TM_NAMESPACE``, declared in the document's ``@context``): ``tm:logIndex`` (the entry's
index), ``tm:leafHash`` (its RFC 6962 leaf hash, standard base64 as elsewhere in Tracemark)
and ``tm:recordedBy`` (the actor the body names; a claim names none).

Parties are URIs under the log: ``https://<origin>/actors/<actor id>`` (``actor_uri``), and a
shipment is ``https://<origin>/actors/<sender>/shipments/<shipment id>``; an origin that is not
a host and path is percent-encoded into the host. ``eventID`` is the CBV 2.0 event hash ID
(``ledger.provenance.epcis_hash.event_hash``) under the document's ``@context``; CBV 8.9 leaves
eventID and
recordTime out of the pre-hash, so it is the hash of the event as exported.

An event names at most ``MAX_EPCS_PER_EVENT`` EPCs (so each stays inside the event-hash
bounds); a commissioning of more serials becomes several events of the same entry, and a
repack of more items becomes TransformationEvents sharing ``transformationID``
``https://<origin>/entries/<index>`` (inputs, then outputs): in EPCIS 2.0, events with one
transformationID are parts of one transformation.
"""

from __future__ import annotations

import base64
import calendar
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.codes.epc import ID_STEM
from ledger.codes.gs1 import uri_escape
from ledger.codes.identifiers import SerialSet, item_id
from ledger.errors import InvalidInput
from ledger.log.entries import LogEntry
from ledger.log.hashing import leaf_hash
from ledger.provenance.epcis_hash import event_hash
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)

__all__ = [
    "CONTEXT",
    "EPCIS_CONTEXT_URL",
    "MAX_EPCS_PER_EVENT",
    "TM_NAMESPACE",
    "Exporter",
    "ShipmentLookup",
    "actor_uri",
    "epcis_document",
    "epcis_events",
    "iso_time",
    "log_uri",
]

EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
TM_NAMESPACE = "https://tracemark.dev/ns/epcis/"
CONTEXT: tuple[Any, ...] = (EPCIS_CONTEXT_URL, {"tm": TM_NAMESPACE})
MAX_EPCS_PER_EVENT = 5_000
_CODE = "not_exportable"

# RFC 3986 URI (IP-literal hosts aside): what jsonschema's "uri" format accepts.
_U = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})"
_PCHAR = rf"(?:{_U}|[:@])"
_AUTHORITY = rf"(?:(?:{_U}|:)*@)?{_U}*(?::\d*)?"
_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.-]*:(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
    rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)
_OFFSET = re.compile(r"[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DECOMMISSION = {
    "destroyed": ("destroying", "destroyed"),
    "decommissioned": ("decommissioning", "inactive"),
    "damaged": ("decommissioning", "damaged"),
    "expired": ("decommissioning", "expired"),
}
# Member order of an exported event (the order of the EPCIS 2.0 examples).
_ORDER = {
    name: i
    for i, name in enumerate(
        (
            *("type", "eventTime", "eventTimeZoneOffset", "recordTime", "eventID", "parentID"),
            *("epcList", "childEPCs", "inputEPCList", "quantityList", "outputEPCList", "action"),
            *("transformationID", "bizStep", "disposition", "readPoint", "bizLocation"),
            *("bizTransactionList", "sourceList", "destinationList", "ilmd", "tm:reason"),
            *("tm:logIndex", "tm:leafHash", "tm:recordedBy"),
        )
    )
}

ShipmentLookup = Callable[[str, str], Sequence[str] | None]


def iso_time(ms: int) -> str:
    """Milliseconds since the epoch as an xsd:dateTime in UTC: ``2025-10-09T08:53:20.001Z``."""
    if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
        raise InvalidInput(f"time {ms!r} is not milliseconds since the epoch", code=_CODE)
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        raise InvalidInput(f"time {ms} ms is after the year 9999", code=_CODE) from None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def log_uri(origin: str) -> str:
    """The URI actors, shipments and entries of the log ``origin`` are named under."""
    candidate = "https://" + origin.rstrip("/")
    if _URI.fullmatch(candidate + "/actors/a"):
        return candidate
    return "https://" + uri_escape(origin)


def actor_uri(origin: str, actor_id: str) -> str:
    """The party URI of an actor of the log ``origin``: ``https://<origin>/actors/<id>``."""
    return f"{log_uri(origin)}/actors/{uri_escape(actor_id)}"


def _uri(text: str) -> str:
    """A URI from a body as EPCIS accepts it: unchanged if valid, else its rest %-encoded."""
    if _URI.fullmatch(text):
        return text
    scheme, _, rest = text.partition(":")
    return f"{scheme}:{uri_escape(rest)}"


def _offset(tz: str) -> str:
    return tz if _OFFSET.fullmatch(tz) else "+00:00"


def _expiry_date(yymmdd: str, event_ms: int) -> str:
    """A YYMMDD expiry as an ISO date; the century as GS1 General Specifications 7.12 picks
    it, relative to the event's year; day 00 is the last day of the month."""
    reference = int(iso_time(event_ms)[:4])
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    difference = yy - reference % 100
    year = reference - reference % 100 + yy
    if difference >= 51:
        year -= 100
    elif difference <= -50:
        year += 100
    last = calendar.monthrange(year, month)[1]
    return f"{year:04d}-{month:02d}-{last if day == 0 else min(day, last):02d}"


def _epcs(ids: Iterable[str]) -> list[str]:
    return [ID_STEM + ident for ident in ids]


def _serial_epcs(gtin: str, serials: object) -> list[str]:
    return [ID_STEM + item_id(gtin, serial) for serial in SerialSet.from_obj(serials)]


def _class_uri(gtin: str, lot: str = "") -> str:
    return f"{ID_STEM}01/{gtin}" + (f"/10/{uri_escape(lot)}" if lot else "")


def _chunks(epcs: list[str]) -> list[list[str]]:
    return [epcs[i : i + MAX_EPCS_PER_EVENT] for i in range(0, len(epcs), MAX_EPCS_PER_EVENT)]


def _ilmd(source: Mapping[str, Any], event_ms: int) -> dict[str, Any]:
    ilmd: dict[str, Any] = {}
    if "lot" in source:
        ilmd["cbvmda:lotNumber"] = source["lot"]
    if "expiry" in source:
        ilmd["cbvmda:itemExpirationDate"] = _expiry_date(source["expiry"], event_ms)
    return {"ilmd": ilmd} if ilmd else {}


_Parts = list[dict[str, Any]]  # the type-specific members of each event of one entry
_OBSERVE = {"type": "ObjectEvent", "action": "OBSERVE"}


class _Mapper:
    """The mapping of entries of one log: its URIs and one method per entry type."""

    def __init__(self, origin: str) -> None:
        self.base = log_uri(origin)
        self.by_type: dict[str, Callable[[LogEntry, Mapping[str, Any], Sequence[str]], _Parts]]
        self.by_type = {
            COMMISSION: self.commission,
            PACK: self.aggregation,
            UNPACK: self.aggregation,
            SHIP: self.ship,
            RECEIVE: self.shipment_end,
            CANCEL: self.shipment_end,
            SELL: self.sell,
            CLAIM: self.claim,
            RECALL: self.recall,
            DECOMMISSION: self.decommission,
            REPACK: self.repack,
        }

    def actor(self, actor_id: str) -> str:
        return f"{self.base}/actors/{uri_escape(actor_id)}"

    def shipment(self, sender: str, shipment_id: str) -> dict[str, Any]:
        uri = f"{self.actor(sender)}/shipments/{uri_escape(shipment_id)}"
        return {"bizTransactionList": [{"type": "desadv", "bizTransaction": uri}]}

    def parties(self, sender: str, receiver: str) -> dict[str, Any]:
        return {
            "sourceList": [{"type": "owning_party", "source": self.actor(sender)}],
            "destinationList": [{"type": "owning_party", "destination": self.actor(receiver)}],
        }

    def commission(self, entry: LogEntry, b: Mapping[str, Any], _: Sequence[str]) -> _Parts:
        epcs = _serial_epcs(b["gtin"], b["serials"])
        why = {"action": "ADD", "bizStep": "commissioning", "disposition": "active"}
        why |= _ilmd(b, b["event_time"])
        return [{"type": "ObjectEvent", "epcList": chunk, **why} for chunk in _chunks(epcs)]

    def aggregation(self, entry: LogEntry, b: Mapping[str, Any], _: Sequence[str]) -> _Parts:
        event: dict[str, Any] = {"type": "AggregationEvent", "parentID": ID_STEM + b["parent"]}
        if "children" in b:
            event["childEPCs"] = _epcs(b["children"])
        if entry.envelope.type == PACK:
            return [event | {"action": "ADD", "bizStep": "packing"}]
        return [event | {"action": "DELETE", "bizStep": "unpacking"}]

    def ship(self, entry: LogEntry, b: Mapping[str, Any], _: Sequence[str]) -> _Parts:
        event = _OBSERVE | {"epcList": _epcs(b["items"]), "bizStep": "shipping"}
        event |= {"disposition": "in_transit"} | self.shipment(b["actor"], b["shipment"])
        return [event | self.parties(b["actor"], b["to"])]

    def shipment_end(self, entry: LogEntry, b: Mapping[str, Any], shipped: Sequence[str]) -> _Parts:
        receive = entry.envelope.type == RECEIVE
        sender = b["from"] if receive else b["actor"]
        if not shipped:
            raise InvalidInput(
                f"entry {entry.index}: the items of shipment {sender}/{b['shipment']} are "
                "unknown: feed its ship entry first or look the shipment up",
                code=_CODE,
            )
        event = _OBSERVE | {"epcList": _epcs(shipped), "disposition": "in_progress"}
        event |= self.shipment(sender, b["shipment"])
        if receive:
            return [event | {"bizStep": "receiving"} | self.parties(sender, b["actor"])]
        reason = {"tm:reason": b["reason"]} if "reason" in b else {}
        return [event | {"bizStep": "void_shipping"} | reason]

    def sell(self, entry: LogEntry, b: Mapping[str, Any], _: Sequence[str]) -> _Parts:
        why = {"bizStep": "retail_selling", "disposition": "retail_sold"}
        return [_OBSERVE | {"epcList": _epcs(b["items"])} | why]

    def claim(self, entry: LogEntry, b: Mapping[str, Any], _: Sequence[str]) -> _Parts:
        return [_OBSERVE | {"epcList": _epcs([b["item"]]), "bizStep": TM_NAMESPACE + "claiming"}]

    def recall(self, entry: LogEntry, b: Mapping[str, Any], _: Sequence[str]) -> _Parts:
        gtin, scope = b["gtin"], b["scope"]
        what: dict[str, Any]
        if scope == "items":
            what = {"epcList": [ID_STEM + item_id(gtin, serial) for serial in b["serials"]]}
        else:
            lot = b["lot"] if scope == "lot" else ""
            what = {"quantityList": [{"epcClass": _class_uri(gtin, lot)}]}
        return [_OBSERVE | what | {"disposition": "recalled", "tm:reason": b["reason"]}]

    def decommission(self, entry: LogEntry, b: Mapping[str, Any], _: Sequence[str]) -> _Parts:
        step, disposition = _DECOMMISSION[b["reason"]]
        event = {"type": "ObjectEvent", "epcList": _epcs(b["items"]), "action": "DELETE"}
        return [event | {"bizStep": step, "disposition": disposition}]

    def repack(self, entry: LogEntry, b: Mapping[str, Any], _: Sequence[str]) -> _Parts:
        out = b["outputs"]
        inputs, outputs = _epcs(b["inputs"]), _serial_epcs(out["gtin"], out["serials"])
        common = {"type": "TransformationEvent", "bizStep": "repackaging", "disposition": "active"}
        ilmd = _ilmd(out, b["event_time"])
        if len(inputs) + len(outputs) <= MAX_EPCS_PER_EVENT:
            return [common | {"inputEPCList": inputs, "outputEPCList": outputs} | ilmd]
        common["transformationID"] = f"{self.base}/entries/{entry.index}"
        return [common | {"inputEPCList": c} for c in _chunks(inputs)] + [
            common | {"outputEPCList": c} | ilmd for c in _chunks(outputs)
        ]

    def events(self, entry: LogEntry, shipped: Sequence[str]) -> list[dict[str, Any]]:
        mapping = self.by_type.get(entry.envelope.type)
        if mapping is None:
            return []
        b = entry.envelope.body
        common: dict[str, Any] = {
            "eventTime": iso_time(b["event_time"]),
            "eventTimeZoneOffset": _offset(b["tz"]),
            "recordTime": iso_time(entry.integrated_time),
            "tm:logIndex": entry.index,
            "tm:leafHash": base64.b64encode(leaf_hash(entry.leaf)).decode("ascii"),
        }
        for name, member in (("read_point", "readPoint"), ("biz_location", "bizLocation")):
            if name in b:
                common[member] = {"id": _uri(b[name])}
        if "actor" in b:
            common["tm:recordedBy"] = self.actor(b["actor"])
        events = []
        for part in mapping(entry, b, shipped):
            event = common | part
            event["eventID"] = event_hash(event, list(CONTEXT))
            events.append(dict(sorted(event.items(), key=lambda member: _ORDER[member[0]])))
        return events


def epcis_events(
    entry: LogEntry, *, origin: str, shipped: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The EPCIS 2.0 events of one log entry, in order; [] for entries that are not events.

    ``origin`` is the log's (its genesis entry names it). A receive or cancel_shipment entry
    needs ``shipped``, the item ids its ship entry named; ``Exporter`` remembers them.
    Raises InvalidInput(code="not_exportable") when an entry cannot be expressed.
    """
    return _Mapper(origin).events(entry, shipped)


class Exporter:
    """Maps entries fed in log order, remembering each shipment's items for its receipt.

    ``shipment_items(sender, shipment_id)`` answers for shipments whose ship entry was not fed
    (an export that starts after it); the projection's ``Shipment.items`` is such an answer.
    """

    def __init__(self, origin: str, *, shipment_items: ShipmentLookup | None = None) -> None:
        self._mapper = _Mapper(origin)
        self._lookup = shipment_items
        self._shipments: dict[tuple[str, str], tuple[str, ...]] = {}

    def events(self, entry: LogEntry) -> list[dict[str, Any]]:
        """The EPCIS events of the next entry (see ``epcis_events``)."""
        kind, body = entry.envelope.type, entry.envelope.body
        shipped: Sequence[str] = ()
        if kind == SHIP:
            self._shipments[(body["actor"], body["shipment"])] = tuple(body["items"])
        elif kind in (RECEIVE, CANCEL):
            key = (body["from"] if kind == RECEIVE else body["actor"], body["shipment"])
            found = self._shipments.pop(key, None)
            if found is None and self._lookup is not None:
                found = tuple(self._lookup(*key) or ())
            shipped = found or ()
        return self._mapper.events(entry, shipped)


def _is_date_time(text: str) -> bool:
    if not _DATE_TIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def epcis_document(
    events: Iterable[Mapping[str, Any]], *, created: str, sender: str | None = None
) -> dict[str, Any]:
    """An EPCIS 2.0 EPCISDocument of ``events`` (from this module: their eventIDs hold under
    its ``@context``). ``created`` is the creationDate, an RFC 3339 date-time."""
    if not isinstance(created, str) or not _is_date_time(created):
        raise InvalidInput(
            f"creationDate must be an RFC 3339 date-time like 2025-01-31T08:00:00.000Z, "
            f"not {created!r}"[:200]
        )
    document: dict[str, Any] = {
        "@context": [EPCIS_CONTEXT_URL, dict(CONTEXT[1])],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
    }
    if sender is not None:
        document["sender"] = sender
    document["epcisBody"] = {"eventList": [dict(event) for event in events]}
    return document
