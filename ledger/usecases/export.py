"""Export the ledger's events as one EPCIS 2.0 document: all, one item, one actor, a range.

    export_epcis(service, created_ms=...)               every supply-chain event
    export_epcis(service, item="01/.../21/...", ...)    one item's history
    export_epcis(service, actor="fishco", ...)          the events an actor is party to
    export_epcis(service, start=..., end=..., ...)      entries start <= index < end

``start`` / ``end`` also narrow an item or actor export. The selection:

- item: the entries of the item's projection timeline (every entry that touched it,
  including the moves of containers it was packed in, as they touch what they hold), plus
  the recalls of its GTIN or lot (which touch no item); NotFound if never commissioned.
- actor: the events it is party to: those whose body names it as the recording ``actor``,
  the receiver ``to`` of a shipment or the sender ``from`` of a receipt, and cancellations
  of shipments to it; NotFound if not registered. This reads the log from start to end.

Events come in log order; ``ledger.provenance.epcis`` maps each entry. An export holds at most
``MAX_EXPORT_EVENTS`` events and ``MAX_EXPORT_EPCS`` EPCs; a larger one is refused with
LimitExceeded(code="export_too_large") before the document is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ledger.codes.identifiers import parse_item_id
from ledger.errors import InvalidInput, LimitExceeded, NotFound
from ledger.log.entries import LogEntry
from ledger.ports.log import LogStore, ProjectionReader
from ledger.provenance.epcis import Exporter, epcis_document, iso_time
from ledger.provenance.events.names import CANCEL, EVENT_TYPES, RECEIVE, SHIP
from ledger.provenance.records import Actor, Item, Recall, Shipment
from ledger.usecases.service import LogService

__all__ = ["MAX_EXPORT_EPCS", "MAX_EXPORT_EVENTS", "export_epcis"]

MAX_EXPORT_EVENTS = 100_000
MAX_EXPORT_EPCS = 1_000_000
_CHUNK = 5_000
_EVENT_TYPES = frozenset(EVENT_TYPES)
_EPC_MEMBERS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")


def export_epcis(
    service: LogService,
    *,
    item: str | None = None,
    actor: str | None = None,
    start: int | None = None,
    end: int | None = None,
    created_ms: int,
) -> dict[str, Any]:
    """An EPCISDocument of the selected events (see the module docstring), created at
    ``created_ms`` (milliseconds since the epoch, the document's creationDate)."""
    if item is not None and actor is not None:
        raise InvalidInput("export one item or one actor, not both")
    store = service.store
    origin = service.info().origin
    low, high = _bounds(start, end, store.head().size)
    with store.reader() as view:
        if item is not None:
            entries = _item_entries(store, view, item, low, high)
        else:
            if actor is not None and view.get(Actor, (actor,)) is None:
                raise NotFound(f"actor {actor} is not registered", code="unknown_actor")
            entries = _log_entries(store, view, low, high, actor)

        def shipment_items(sender: str, shipment_id: str) -> tuple[str, ...] | None:
            shipment = view.get(Shipment, (sender, shipment_id))
            return shipment.items if shipment is not None else None

        exporter = Exporter(origin, shipment_items=shipment_items)
        events: list[dict[str, Any]] = []
        epcs = 0
        for entry in entries:
            for event in exporter.events(entry):
                events.append(event)
                epcs += sum(len(event.get(name, ())) for name in _EPC_MEMBERS)
            if len(events) > MAX_EXPORT_EVENTS or epcs > MAX_EXPORT_EPCS:
                raise LimitExceeded(
                    f"the export holds more than {MAX_EXPORT_EVENTS:,} EPCIS events or "
                    f"{MAX_EXPORT_EPCS:,} EPCs by entry {entry.index}: export a range "
                    f"(start={low}, end={entry.index}) and continue from there",
                    code="export_too_large",
                )
    return epcis_document(events, created=iso_time(created_ms), sender=origin)


def _bounds(start: int | None, end: int | None, size: int) -> tuple[int, int]:
    """The entry range start <= index < end; an end past the log stops at its size."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InvalidInput(f"{name} must be an entry index, not {value!r}"[:200])
    low = 0 if start is None else start
    high = size if end is None else min(end, size)
    if low < 0 or (end is not None and end < low):
        raise InvalidInput(f"the range needs 0 <= start <= end, got start={start} end={end}")
    return low, max(low, high)


def _item_entries(
    store: LogStore, view: ProjectionReader, item: str, low: int, high: int
) -> Iterator[LogEntry]:
    ident = parse_item_id(item).item_id
    record = view.get(Item, (ident,))
    if record is None:
        raise NotFound(f"{ident} was never commissioned", code="unknown_item")
    indexes = set(view.timeline(ident))
    if record.gtin:
        for lot in {record.lot, ""}:
            recall = view.get(Recall, (record.gtin, lot))
            if recall is not None:
                indexes.add(recall.recall_index)
    selected = sorted(i for i in indexes if low <= i < high)
    return (LogEntry.from_leaf(i, store.entry(i).data) for i in selected)


def _log_entries(
    store: LogStore, view: ProjectionReader, low: int, high: int, actor: str | None
) -> Iterator[LogEntry]:
    for first in range(low, high, _CHUNK):
        for row in store.entries(first, min(high, first + _CHUNK)):
            if row.entry_type not in _EVENT_TYPES:
                continue
            entry = LogEntry.from_leaf(row.index, row.data)
            if actor is None or _names(view, entry, actor):
                yield entry


def _names(view: ProjectionReader, entry: LogEntry, actor: str) -> bool:
    """Is ``actor`` party to the event: its recorder, a shipment's sender or receiver?"""
    body, kind = entry.envelope.body, entry.envelope.type
    if body.get("actor") == actor:
        return True
    if kind == SHIP:
        return bool(body["to"] == actor)
    if kind == RECEIVE:
        return bool(body["from"] == actor)
    if kind == CANCEL:
        shipment = view.get(Shipment, (body["actor"], body["shipment"]))
        return shipment is not None and shipment.receiver == actor
    return False
