"""Read models over the projection: an item with its timeline, an actor, a listing's backing.

These answer the questions people ask the ledger ("where has this item been?", "is this
listing backed by genuine stock, and how much?") from O(1) projection reads plus the
entries an item's timeline names; nothing here scans the log.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.codes.signed import DirectoryKey
from ledger.codes.trust import bundle_body
from ledger.errors import NotFound
from ledger.keys import PublicKey
from ledger.ports.log import LogStore, ProjectionReader
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
from ledger.provenance.records import Actor, Item, KeyRecord, Listing, Product, Recall
from ledger.provenance.rules.custody import gtin_owner, is_recalled
from ledger.verdicts.backing import BackingFacts, ListingStatus, backing
from ledger.verdicts.products import ProductFacts

__all__ = [
    "ActorView",
    "ItemView",
    "LedgerDirectory",
    "ListingStatus",
    "RecallNotice",
    "TimelineStep",
    "actor_names",
    "actor_view",
    "item_view",
    "listing_status",
    "product_facts",
    "recall_notice",
    "summarize",
    "trust_bundle",
]


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One entry in an item's history."""

    index: int
    type: str
    actor: str
    integrated_time: int
    event_time: int
    tz: str
    summary: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ItemView:
    record: Item
    status: str  # the custody status, or "recalled" on top of active / in transit
    recalled: bool
    product: Product | None
    producer: Actor | None
    timeline: list[TimelineStep]

    def to_obj(self) -> dict[str, Any]:
        """The item as JSON (``tracemark item show --json`` and ``GET /v1/items/...``)."""
        r = self.record
        return {
            "item_id": r.item_id,
            "gtin": r.gtin,
            "serial": r.serial,
            "lot": r.lot,
            "expiry": r.expiry,
            "status": self.status,
            "custody_status": r.status,
            "recalled": self.recalled,
            "custodian": r.custodian,
            "pending_to": r.pending_to,
            "parent": r.parent,
            "producer": r.producer,
            "claimed": bool(r.claimed_by),
            "product": None if self.product is None else {"name": self.product.name},
            "timeline": [
                {
                    "index": t.index,
                    "type": t.type,
                    "actor": t.actor,
                    "event_time": t.event_time,
                    "integrated_time": t.integrated_time,
                    "tz": t.tz,
                    "summary": t.summary,
                }
                for t in self.timeline
            ],
        }


@dataclass(frozen=True, slots=True)
class ActorView:
    actor: Actor
    keys: list[KeyRecord]


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    COMMISSION: lambda b: (
        f"commissioned by {b['actor']}" + (f", lot {b['lot']}" if "lot" in b else "")
    ),
    PACK: lambda b: f"packed into {b['parent']} by {b['actor']}",
    UNPACK: lambda b: f"unpacked from {b['parent']} by {b['actor']}",
    SHIP: lambda b: f"shipped by {b['actor']} to {b['to']} (shipment {b['shipment']})",
    RECEIVE: lambda b: f"received by {b['actor']} from {b['from']}",
    CANCEL: lambda b: f"shipment {b['shipment']} cancelled by {b['actor']}",
    SELL: lambda b: f"sold to a consumer by {b['actor']}",
    CLAIM: lambda b: "first ownership claimed by the buyer",
    RECALL: lambda b: f"recalled by {b['actor']}: {b['reason']}",
    DECOMMISSION: lambda b: f"{b['reason']} by {b['actor']}",
    REPACK: lambda b: f"repackaged by {b['actor']}",
}


def summarize(kind: str, body: dict[str, Any]) -> str:
    """A short human sentence for an event body."""
    render = _SUMMARIES.get(kind)
    return render(body) if render is not None else kind


def _timeline(
    store: LogStore,
    view: ProjectionReader,
    item: str,
    known: MutableMapping[int, TimelineStep] | None = None,
) -> list[TimelineStep]:
    """The item's steps, from the entries the projection says touched it.

    The stored leaves were validated, signature included, when they were appended, and
    ``audit`` re-checks them against the tree; here they are only read for display, so a
    plain ``json.loads`` replaces the full envelope validation (which re-parsed every item
    id of a shipment on each verify). An entry never changes once logged, so a caller may
    pass ``known``, steps already built by index, to skip reading them again."""
    indices = view.timeline(item)
    known = {} if known is None else known
    missing = [i for i in indices if i not in known]
    for stored in store.entries_at(missing) if missing else ():
        leaf = json.loads(stored.data)
        kind = str(leaf["type"])
        body = leaf["body"]
        known[stored.index] = TimelineStep(
            index=stored.index,
            type=kind,
            actor=str(body.get("actor", "")),
            integrated_time=stored.integrated_time,
            event_time=int(body.get("event_time", stored.integrated_time)),
            tz=str(body.get("tz", "+00:00")),
            summary=summarize(kind, body),
            body=body,
        )
    return [known[i] for i in indices if i in known]


def item_view(
    store: LogStore, item: str, known_steps: MutableMapping[int, TimelineStep] | None = None
) -> ItemView:
    """An item's state, product, producer and timeline; NotFound if never commissioned.
    ``known_steps``: a cache of timeline steps by entry index (see ``_timeline``)."""
    with store.reader() as view:
        record = view.get(Item, (item,))
        if record is None:
            raise NotFound(f"{item} was never commissioned", code="unknown_item")
        recalled = is_recalled(view, record)
        product = view.get(Product, (record.gtin,)) if record.gtin else None
        producer = view.get(Actor, (record.producer,)) if record.producer else None
        timeline = _timeline(store, view, item, known_steps)
    status = record.status
    if recalled and status in ("active", "in_transit"):
        status = "recalled"
    return ItemView(record, status, recalled, product, producer, timeline)


def actor_view(store: LogStore, actor_id: str) -> ActorView:
    with store.reader() as view:
        actor = view.get(Actor, (actor_id,))
        if actor is None:
            raise NotFound(f"actor {actor_id} is not registered", code="unknown_actor")
        keys = [k for k in view.rows(KeyRecord.TABLE) if k.actor_id == actor_id]
    return ActorView(actor, keys)


def actor_names(store: LogStore, actor_ids: Sequence[str]) -> dict[str, str]:
    """The display names of those of ``actor_ids`` that are registered actors (an actor
    without a name is left out): what pages show instead of ids. At most 64 are read."""
    names: dict[str, str] = {}
    with store.reader() as view:
        for actor_id in list(dict.fromkeys(a for a in actor_ids if a))[:64]:
            actor = view.get(Actor, (actor_id,))
            if actor is not None and actor.name:
                names[actor_id] = actor.name
    return names


@dataclass(frozen=True, slots=True)
class RecallNotice:
    """Why an item is recalled and whom to contact, from the recall entry itself."""

    scope: str  # items | lot | gtin
    reason: str
    contact: str  # "" for recalls made before the field existed, or without one
    actor: str
    event_time: int
    index: int


def recall_notice(store: LogStore, item: str) -> RecallNotice | None:
    """The recall that covers ``item`` (its own, its lot's or its GTIN's; the item's own
    first), or None when it is not recalled or never commissioned."""
    with store.reader() as view:
        record = view.get(Item, (item,))
        if record is None or not is_recalled(view, record):
            return None
        index = -1
        if record.recalled:
            steps = view.timeline(item)
            for stored in reversed(list(store.entries_at(steps) if steps else ())):
                if json.loads(stored.data).get("type") == RECALL:
                    index = stored.index
                    break
        lots = (record.lot, "") if record.lot else ("",)
        for lot in lots if index < 0 and record.gtin else ():
            found = view.get(Recall, (record.gtin, lot))
            if found is not None:
                index = found.recall_index
                break
        if index < 0:
            return None
        stored = store.entry(index)
    body = json.loads(stored.data)["body"]
    return RecallNotice(
        str(body.get("scope", "")),
        str(body.get("reason", "")),
        str(body.get("contact", "")),
        str(body.get("actor", "")),
        int(body.get("event_time", stored.integrated_time)),
        index,
    )


def listing_status(store: LogStore, platform: str, listing_id: str) -> ListingStatus:
    """Is this listing backed by genuine stock, and how much? (the facts are gathered
    here; ``ledger.verdicts.backing`` decides)."""
    with store.reader() as view:
        listing = view.get(Listing, (platform, listing_id))
        if listing is None:
            raise NotFound(f"no listing {platform}:{listing_id}", code="unknown_listing")
        seller = view.get(Actor, (listing.seller,))
        listed_recalled = recalled_stock = False
        if listing.serials:
            held = [view.get(Item, (ident,)) for ident in listing.serials]
            stock = sum(
                1
                for i in held
                if i is not None
                and i.custodian == listing.seller
                and i.status == "active"
                and not is_recalled(view, i)
            )
            listed_recalled = any(i is not None and is_recalled(view, i) for i in held)
        else:
            stock = view.stock(listing.seller, listing.gtin)
            recalled_stock = view.recalled_stock(listing.seller, listing.gtin) > 0
        gtin_recalled = view.get(Recall, (listing.gtin, "")) is not None
        lots: tuple[str, ...] = ()
        if not gtin_recalled and listing.quantity > 0 and stock < listing.quantity:
            # read only when short of stock: the one case the reasons name the lots
            lots = tuple(r.lot for r in view.rows(Recall.TABLE) if r.gtin == listing.gtin)
        facts = BackingFacts(
            listing=listing,
            seller=seller,
            stock=stock,
            listed_recalled=listed_recalled,
            recalled_stock=recalled_stock,
            gtin_recalled=gtin_recalled,
            recalled_lots=lots,
            has_producer=gtin_owner(view, listing.gtin) is not None,
        )
    return backing(facts)


@functools.lru_cache(maxsize=4096)
def product_facts(store: LogStore, gtin: str, lot: str = "") -> tuple[int, ProductFacts] | None:
    """The log size and what the ledger holds about a GTIN (and a lot), from one snapshot;
    None when no registered, active producer owns the GTIN's company prefix."""
    with store.reader() as view:
        size = view.log_size()
        owner = gtin_owner(view, gtin)
        actor = None if owner is None else view.get(Actor, (owner.actor_id,))
        if actor is None or actor.status != "active":
            return None
        product = view.get(Product, (gtin,))
        whole = view.get(Recall, (gtin, ""))
        of_lot = view.get(Recall, (gtin, lot)) if lot else None
    return size, ProductFacts(
        gtin=gtin,
        lot=lot,
        producer=actor.actor_id,
        producer_name=actor.name,
        name=product.name if product is not None and product.producer == actor.actor_id else "",
        gtin_recall=None if whole is None else whole.reason,
        lot_recall=None if of_lot is None else of_lot.reason,
    )


def _public_key(text: str) -> PublicKey:
    """Parsed public keys: a key's text never changes meaning, and parsing it is not free."""
    return PublicKey.from_text(text)


class LedgerDirectory:
    """The ledger's own projection as a ``codes.KeyDirectory`` (online code checks)."""

    def __init__(self, view: ProjectionReader, resolvers: Sequence[str]) -> None:
        self.view = view
        self.resolvers = {r.rstrip("/").lower() for r in resolvers}

    def producer_of(self, gtin: str) -> tuple[str, str] | None:
        owner = gtin_owner(self.view, gtin)
        if owner is None:
            return None
        actor = self.view.get(Actor, (owner.actor_id,))
        if actor is None or actor.status != "active":
            return None
        return actor.actor_id, actor.name

    def keys_with_hint(self, hint: int) -> list[DirectoryKey]:
        return [
            DirectoryKey(
                _public_key(k.public_key), k.actor_id, k.effective_time, k.compromised_since
            )
            for k in self.view.keys_with_hint(hint)
        ]

    def is_resolver(self, stem: str) -> bool:
        return stem.rstrip("/").lower() in self.resolvers


def trust_bundle(
    store: LogStore, *, origin: str, checkpoint: str, resolvers: Sequence[str], created: int
) -> dict[str, Any]:
    """The body of a trust bundle from the projection (sign it with ``TrustBundle.sign``)."""
    with store.reader() as view:
        actors = view.rows(Actor.TABLE)
        keys = view.rows(KeyRecord.TABLE)
    return bundle_body(
        origin=origin,
        actors=actors,
        keys=keys,
        checkpoint=checkpoint,
        resolvers=resolvers,
        created=created,
    )
