"""Projection records: the state the ledger derives from its entries, and the view of it.

Everything here is derived: replaying the log through ``ledger.provenance.rules.custody.apply``
rebuilds
every record exactly (``tracemark reindex``; ``audit`` compares the stored projection with a
replay). Records are frozen dataclasses of plain values (str, int, bool, tuples of str) so
stores can keep them as rows or dicts alike.

    Actor        who takes part: role, identity check, status, GS1 prefixes, handles
    KeyRecord    an Ed25519 key of an actor, with its revocation (effective, compromised)
    Prefix       a GS1 company prefix and the producer that owns it
    Handle       a platform account handle, canonical (``tiktok:shop``), and its actor
    Product      master data of a GTIN (name, image, description)
    Item         one serialised item or container: custody, status, containment, claim
    Shipment     a shipment from sender to receiver, in transit until received or cancelled
    Listing      a seller's listing on a platform, backed by stock
    Recall       a recall of a whole GTIN (lot "") or one lot
    TimelineRow  an entry that touched an item (its custody history)
    Attestation  a signed statement by an identity verifier, certifier or producer: a
                 seller's identity check or a product qualification, and its revocation
    AttestationScope  the attestations of one subject (a seller, a GTIN, a GTIN's lot)

A ``View`` reads the projection inside the append transaction; ``Changes`` is what one
entry writes. The rules compute ``Changes`` from a ``View`` and never write themselves, so
a rejected entry leaves no trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Protocol, TypeVar

__all__ = [
    "ACTIVE",
    "CLOSED",
    "DESTROYED",
    "IN_TRANSIT",
    "OPEN",
    "RECORD_TYPES",
    "SOLD",
    "Actor",
    "Attestation",
    "AttestationScope",
    "Changes",
    "Handle",
    "Item",
    "KeyRecord",
    "Listing",
    "Prefix",
    "Product",
    "Recall",
    "Record",
    "Shipment",
    "StreamSegment",
    "StreamSession",
    "TimelineRow",
    "View",
    "record_from_row",
    "record_to_row",
]

# Item custody statuses. "recalled" is not a custody status: it is reported on top of one
# (an item can be recalled while active or in transit), see ``Item.recalled`` and Recall.
ACTIVE = "active"
IN_TRANSIT = "in_transit"
SOLD = "sold"
DESTROYED = "destroyed"
# Shipment and listing states.
OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Actor:
    TABLE: ClassVar[str] = "actors"
    KEY: ClassVar[tuple[str, ...]] = ("actor_id",)

    actor_id: str
    role: str
    name: str
    country: str
    verified: bool
    status: str  # active | suspended
    prefixes: tuple[str, ...]
    handles: tuple[str, ...]
    registered_index: int
    updated_index: int


@dataclass(frozen=True, slots=True)
class KeyRecord:
    TABLE: ClassVar[str] = "actor_keys"
    KEY: ClassVar[tuple[str, ...]] = ("key_id",)

    key_id: str
    actor_id: str
    public_key: str
    added_index: int
    added_time: int
    revoked_index: int = -1
    effective_time: int = -1  # entries integrated at or after this time are refused
    compromised_since: int = -1  # codes and entries from this time on are untrustworthy
    reason: str = ""

    @property
    def revoked(self) -> bool:
        return self.revoked_index >= 0

    def valid_at(self, time_ms: int) -> bool:
        """May this key sign something integrated (or issued) at ``time_ms``?"""
        if self.revoked_index < 0:
            return True
        if 0 <= self.compromised_since <= time_ms:
            return False
        return time_ms < self.effective_time


@dataclass(frozen=True, slots=True)
class Prefix:
    TABLE: ClassVar[str] = "gs1_prefixes"
    KEY: ClassVar[tuple[str, ...]] = ("prefix",)

    prefix: str
    actor_id: str


@dataclass(frozen=True, slots=True)
class Handle:
    TABLE: ClassVar[str] = "actor_handles"
    KEY: ClassVar[tuple[str, ...]] = ("handle",)

    handle: str
    actor_id: str


@dataclass(frozen=True, slots=True)
class Product:
    TABLE: ClassVar[str] = "products"
    KEY: ClassVar[tuple[str, ...]] = ("gtin",)

    gtin: str
    producer: str
    name: str
    image_url: str
    description: str
    updated_index: int


@dataclass(frozen=True, slots=True)
class Item:
    """An item (GTIN + serial) or a container (SSCC, or an item that holds others).

    ``root`` is the outermost container holding it (itself when it is not packed), so
    moving a container is one query for all it holds. Custody fields are kept on every
    item of a tree, so a lookup is one primary-key read.
    """

    TABLE: ClassVar[str] = "items"
    KEY: ClassVar[tuple[str, ...]] = ("item_id",)

    item_id: str
    gtin: str  # "" for an SSCC
    serial: str  # the serial, or the SSCC
    lot: str
    expiry: str
    producer: str  # the actor who commissioned it ("" for an SSCC)
    status: str
    custodian: str
    parent: str  # "" when not packed
    root: str
    pending_to: str  # the named receiver while in transit
    shipment: str  # "sender/shipment-id" while in transit
    recalled: bool
    claim_commitment: str  # hex SHA-256, set at sale
    claimed_by: str  # key id of the first owner's claim
    commissioned_index: int
    last_index: int
    packed: int = 0  # how many items are packed directly in it
    commissioned_time: int = 0  # integrated time of the commissioning (code checks need it)
    #: The latest ``event_time`` of the events that touched it (its commission's at first):
    #: admission refuses an event dated before it (``event_backdated``).
    event_time: int = 0


@dataclass(frozen=True, slots=True)
class Shipment:
    TABLE: ClassVar[str] = "shipments"
    KEY: ClassVar[tuple[str, ...]] = ("sender", "shipment_id")

    sender: str
    shipment_id: str
    receiver: str
    items: tuple[str, ...]  # the top-level ids shipped
    status: str  # in_transit | received | cancelled
    shipped_index: int
    closed_index: int


@dataclass(frozen=True, slots=True)
class Listing:
    TABLE: ClassVar[str] = "listings"
    KEY: ClassVar[tuple[str, ...]] = ("platform", "listing_id")

    platform: str
    listing_id: str
    seller: str
    stream_id: str
    gtin: str
    quantity: int
    serials: tuple[str, ...]  # item ids, when the listing names them
    status: str  # open | closed
    declared_index: int
    closed_index: int


@dataclass(frozen=True, slots=True)
class StreamSession:
    """A live stream a seller declared; each restart is a new segment (a new stream id)."""

    TABLE: ClassVar[str] = "stream_sessions"
    KEY: ClassVar[tuple[str, ...]] = ("platform", "session_id")

    platform: str
    session_id: str
    seller: str
    listings: tuple[str, ...]  # listing ids of the platform shown in the stream
    segments: int
    declared_index: int
    last_index: int


@dataclass(frozen=True, slots=True)
class StreamSegment:
    """One stream id of a session: how a context naming a stream finds its session."""

    TABLE: ClassVar[str] = "stream_segments"
    KEY: ClassVar[tuple[str, ...]] = ("platform", "stream_id")

    platform: str
    stream_id: str
    session_id: str
    seller: str
    segment: int
    declared_index: int


@dataclass(frozen=True, slots=True)
class Recall:
    TABLE: ClassVar[str] = "recalls"
    KEY: ClassVar[tuple[str, ...]] = ("gtin", "lot")

    gtin: str
    lot: str  # "" recalls every lot of the GTIN
    producer: str
    reason: str
    recall_index: int


@dataclass(frozen=True, slots=True)
class TimelineRow:
    TABLE: ClassVar[str] = "item_timeline"
    KEY: ClassVar[tuple[str, ...]] = ("item_id", "entry_index")

    item_id: str
    entry_index: int


@dataclass(frozen=True, slots=True)
class Attestation:
    """An identity attestation (``kind`` "identity", ``subject`` the seller) or a product
    qualification (``kind`` its document kind, ``subject`` the GTIN, ``lot`` or "")."""

    TABLE: ClassVar[str] = "attestations"
    KEY: ClassVar[tuple[str, ...]] = ("issuer", "attestation_id")

    issuer: str
    attestation_id: str
    kind: str
    subject: str
    lot: str
    level: str  # identity: low | substantial | high ("" for a qualification)
    digest: str  # identity: the salted commitment; qualification: the document's SHA-256
    title: str
    valid_from: int  # ms; identity: when it was verified
    valid_until: int  # ms, exclusive
    attested_index: int
    revoked_index: int = -1
    revoked_time: int = -1  # ms: revoked from this time on
    reason: str = ""

    @property
    def ref(self) -> str:
        return f"{self.issuer}/{self.attestation_id}"

    def status_at(self, time_ms: int) -> str:
        """valid | revoked | expired | not_yet_valid at ``time_ms``."""
        if 0 <= self.revoked_time <= time_ms:
            return "revoked"
        if time_ms >= self.valid_until:
            return "expired"
        if time_ms < self.valid_from:
            return "not_yet_valid"
        return "valid"


@dataclass(frozen=True, slots=True)
class AttestationScope:
    """The attestations naming one subject: ``identity:<actor>``, ``gtin:<gtin14>`` or
    ``lot:<gtin14>/<lot>``; ``refs`` are ``issuer/attestation_id``, oldest first."""

    TABLE: ClassVar[str] = "attestation_scopes"
    KEY: ClassVar[tuple[str, ...]] = ("scope",)

    scope: str
    refs: tuple[str, ...]


Record = (
    Actor
    | KeyRecord
    | Prefix
    | Handle
    | Product
    | Item
    | Shipment
    | Listing
    | Recall
    | TimelineRow
    | Attestation
    | AttestationScope
)
RECORD_TYPES: tuple[type[Any], ...] = (
    Actor,
    KeyRecord,
    Prefix,
    Handle,
    Product,
    Item,
    Shipment,
    Listing,
    StreamSession,
    StreamSegment,
    Recall,
    TimelineRow,
    Attestation,
    AttestationScope,
)
R = TypeVar("R")


_Converter = Callable[[Any], Any]
_SHAPES: dict[type[Any], tuple[tuple[str, ...], tuple[int, ...], tuple[_Converter, ...]]] = {}


def _joined(value: Any) -> tuple[str, ...]:
    return tuple(value.split("\n")) if value else ()


def _shape(kind: type[Any]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[_Converter, ...]]:
    """Field names, positions of tuple fields, and a converter per field (cached per type)."""
    shape = _SHAPES.get(kind)
    if shape is None:
        names = tuple(f.name for f in fields(kind))
        types = [str(f.type) for f in fields(kind)]
        tuples = tuple(i for i, t in enumerate(types) if t == "tuple[str, ...]")
        table: dict[str, _Converter] = {"tuple[str, ...]": _joined, "bool": bool, "int": int}
        converters = tuple(table.get(t, str) for t in types)
        shape = _SHAPES[kind] = (names, tuples, converters)
    return shape


def record_to_row(record: Any) -> tuple[Any, ...]:
    """A record as a flat row in field order; tuples of str become strings joined by \\n."""
    _, tuples, _ = _shape(type(record))
    values = [getattr(record, name) for name in record.__slots__]
    for i in tuples:
        values[i] = "\n".join(values[i])
    return tuple(values)


def record_from_row(kind: type[R], row: Sequence[Any]) -> R:
    """The inverse of ``record_to_row`` (a sequence in field order)."""
    _, _, converters = _shape(kind)
    return kind(*[convert(value) for convert, value in zip(converters, row, strict=True)])


@dataclass(slots=True)
class Changes:
    """What one entry writes to the projection: records to put and records to delete."""

    puts: list[Any] = field(default_factory=list)
    deletes: list[tuple[type[Any], tuple[Any, ...]]] = field(default_factory=list)

    def put(self, *records: Any) -> None:
        self.puts.extend(records)

    def put_all(self, records: Iterable[Any]) -> None:
        self.puts.extend(records)

    def delete(self, kind: type[Any], key: tuple[Any, ...]) -> None:
        self.deletes.append((kind, key))


class View(Protocol):
    """Reads of the projection, as of the append transaction (earlier entries applied)."""

    def get(self, kind: type[R], key: tuple[Any, ...]) -> R | None:
        """The record of ``kind`` with primary key ``key``, or None."""
        ...

    def subtree(self, root: str) -> list[Item]:
        """Every item whose ``root`` is ``root`` (the container itself included)."""
        ...

    def existing_items(self, item_ids: Sequence[str]) -> list[str]:
        """Which of these item ids exist already."""
        ...

    def stock(self, custodian: str, gtin: str) -> int:
        """Items of ``gtin`` held by ``custodian``, active and not recalled (any level)."""
        ...

    def prefixes_overlapping(self, prefix: str) -> list[Prefix]:
        """Registered GS1 company prefixes that start with ``prefix`` or that it starts with."""
        ...
