"""Dashboards: what a producer and a seller see of their own items, scans and listings.

Use cases over the scan store (``LogStore.scans_between``, ``scan_signals``) and the
projection; only the actor's own data: a producer's scans are those of items under its GS1
company prefixes, a seller's those whose context names it, its stock what it holds, its
shipments those sent to it, its listings its own.

Producer:
    scans over time   daily counts in the producer's time zone (a ``tzinfo``: time is a
                      parameter), per GTIN and lot when filtered
    places            counts per coarse place (the scan context keeps only a country or
                      city code, never a position)
    clone alerts      per item scanned in the window, what its scan contexts say about a
                      copy (``ledger.verdicts.clones``' reasons: sold_item_offered,
                      seller_not_custodian, multiple_sellers), split by evidence: ``vouched``
                      (platform, session, overlay contexts: what others' verdicts follow) and
                      ``weak`` (anonymous contexts: kept for the producer, never shown
                      to others; DESIGN.md section 5)
Seller:
    stock             active items held, by GTIN and lot (recalled ones counted apart)
    inbound           shipments to the seller still in transit
    listings          its listings with their scan counts in the window
    streams           scans per stream id of the seller's contexts in the window
    clone alerts      items scanned in the seller's contexts whose contexts say a copy may
                      be about, split by evidence as the producer's (``vouched`` and
                      ``weak``); a weak alert names no other seller: an anonymous context
                      is not evidence against anyone (DESIGN.md section 5)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ledger.errors import InvalidInput, NotFound
from ledger.ports.log import LogStore, ProjectionReader
from ledger.provenance.records import (
    ACTIVE,
    DESTROYED,
    IN_TRANSIT,
    SOLD,
    Actor,
    Item,
    Listing,
    Shipment,
)
from ledger.provenance.rules.common import is_recalled
from ledger.verdicts.evidence import ScanRecord

__all__ = [
    "MAX_DAYS",
    "CloneAlert",
    "ProducerDashboard",
    "SellerDashboard",
    "StockLine",
    "producer_dashboard",
    "seller_dashboard",
]

MAX_DAYS = 366
MAX_SCANS = 200_000  # scans read per dashboard
MAX_ALERT_ITEMS = 500  # items whose contexts are read for clone alerts
_DAY_MS = 86_400_000
_SOLD = (SOLD, DESTROYED)


@dataclass(frozen=True, slots=True)
class CloneAlert:
    """An item whose scan contexts say a copy may be about."""

    item_id: str
    reasons: tuple[str, ...]  # codes of ledger.verdicts.clones
    sellers: tuple[str, ...]  # the offering sellers that do not hold it
    contexts: int  # distinct offering contexts
    latest: int  # ms


@dataclass(frozen=True, slots=True)
class ProducerDashboard:
    producer: str
    since: int
    until: int
    days: tuple[tuple[str, int], ...]  # (YYYY-MM-DD in the zone, scans), every day
    places: tuple[tuple[str, int], ...]  # (coarse place, scans), most first
    by_gtin: tuple[tuple[str, int], ...]
    vouched_alerts: tuple[CloneAlert, ...]
    weak_alerts: tuple[CloneAlert, ...]
    total: int
    truncated: bool  # more than MAX_SCANS scans in the window: counts are of the first


@dataclass(frozen=True, slots=True)
class StockLine:
    gtin: str
    lot: str
    active: int
    recalled: int


@dataclass(frozen=True, slots=True)
class SellerDashboard:
    seller: str
    stock: tuple[StockLine, ...]
    inbound: tuple[Shipment, ...]
    listings: tuple[tuple[Listing, int], ...]  # (listing, scans in the window)
    since: int
    until: int
    streams: tuple[tuple[str, int], ...] = ()  # (stream id, scans), most first
    vouched_alerts: tuple[CloneAlert, ...] = ()
    weak_alerts: tuple[CloneAlert, ...] = ()
    total: int = 0  # scans in the seller's contexts in the window


def _window(since: int, until: int) -> None:
    if not 0 <= since < until:
        raise InvalidInput("the window needs 0 <= since < until")
    if until - since > MAX_DAYS * _DAY_MS:
        raise InvalidInput(f"a dashboard covers at most {MAX_DAYS} days")


def _actor(view: ProjectionReader, actor_id: str, roles: Sequence[str]) -> Actor:
    actor = view.get(Actor, (actor_id,))
    if actor is None or actor.role not in roles:
        raise NotFound(f"no {' or '.join(roles)} {actor_id!r}")
    return actor


def _days(
    scans: Sequence[ScanRecord], since: int, until: int, zone: dt.tzinfo
) -> list[tuple[str, int]]:
    def day(ms: int) -> dt.date:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).astimezone(zone).date()

    counts = Counter(day(r.time) for r in scans)
    first, last = day(since), day(until - 1)
    out = []
    current = first
    while current <= last:
        out.append((current.isoformat(), counts.get(current, 0)))
        current += dt.timedelta(days=1)
    return out


@dataclass
class _Offers:
    vouched: list[ScanRecord] = field(default_factory=list)
    weak: list[ScanRecord] = field(default_factory=list)


def _alert(item: Item, contexts: Sequence[ScanRecord]) -> CloneAlert | None:
    offered = [r for r in contexts if r.context.offered]
    if not offered:
        return None
    reasons: list[str] = []
    holders = {item.custodian, item.pending_to} - {""}
    if item.status in _SOLD:
        reasons.append("sold_item_offered")
    strangers = sorted({r.context.seller for r in offered if r.context.seller} - holders)
    if strangers and item.status not in _SOLD:
        reasons.append("seller_not_custodian")
    offers = {r.context.offer for r in offered if r.context.offer}
    if len(offers) > 1:
        reasons.append("multiple_sellers")
    if not reasons:
        return None
    return CloneAlert(
        item.item_id, tuple(reasons), tuple(strangers), len(offers), max(r.time for r in offered)
    )


def producer_dashboard(
    store: LogStore,
    producer: str,
    *,
    since: int,
    until: int,
    zone: dt.tzinfo,
    gtin: str = "",
    lot: str = "",
) -> ProducerDashboard:
    """The producer's dashboard for ``[since, until)`` (ms), days in ``zone``; only items of
    ``gtin`` (and ``lot``) when given. NotFound for an unknown producer; InvalidInput for a
    window that is empty, reversed or longer than ``MAX_DAYS``, or a GTIN of another."""
    _window(since, until)
    if lot and not gtin:
        raise InvalidInput("a lot filter needs its GTIN")
    with store.reader() as view:
        actor = _actor(view, producer, ("producer",))
        prefixes = list(actor.prefixes)
        if gtin and not any(gtin[1:].startswith(p) for p in prefixes):
            raise InvalidInput(f"GTIN {gtin} is not under a company prefix of {producer}")
        if not prefixes:
            scans: list[ScanRecord] = []
        else:
            scans = store.scans_between(
                since, until, company_prefixes=prefixes, limit=MAX_SCANS + 1
            )
        truncated = len(scans) > MAX_SCANS
        scans = scans[:MAX_SCANS]
        if gtin:
            head = f"01/{gtin}/"
            scans = [r for r in scans if r.item_id.startswith(head)]
        items: dict[str, Item | None] = {}
        for r in scans:
            if r.item_id not in items:
                items[r.item_id] = view.get(Item, (r.item_id,))
        if lot:
            scans = [r for r in scans if (i := items.get(r.item_id)) is not None and i.lot == lot]
        vouched: list[CloneAlert] = []
        weak: list[CloneAlert] = []
        offered_items = sorted({r.item_id for r in scans if r.context.offered})
        for item_id in offered_items[:MAX_ALERT_ITEMS]:
            item = items.get(item_id)
            if item is None or item.producer != producer:
                continue
            contexts = [c for c in store.scan_signals(item_id, since) if c.time < until]
            strong = _alert(item, [c for c in contexts if c.context.vouched])
            if strong is not None:
                vouched.append(strong)
                continue
            signal = _alert(item, contexts)
            if signal is not None:
                weak.append(signal)
    places = Counter(r.context.place for r in scans if r.context.place)
    by_gtin = Counter(r.item_id.split("/")[1] for r in scans)
    return ProducerDashboard(
        producer,
        since,
        until,
        tuple(_days(scans, since, until, zone)),
        tuple(sorted(places.items(), key=lambda kv: (-kv[1], kv[0]))),
        tuple(sorted(by_gtin.items())),
        tuple(vouched),
        tuple(weak),
        len(scans),
        truncated,
    )


def seller_dashboard(store: LogStore, seller: str, *, since: int, until: int) -> SellerDashboard:
    """The seller's (or distributor's, retailer's) dashboard: stock, inbound shipments, and
    listings with their scans in ``[since, until)``."""
    _window(since, until)
    with store.reader() as view:
        _actor(view, seller, ("seller", "distributor", "retailer"))
        lines: dict[tuple[str, str], list[int]] = {}
        for item in view.held_items(seller):
            if item.status != ACTIVE or not item.gtin:
                continue
            counts = lines.setdefault((item.gtin, item.lot), [0, 0])
            counts[1 if is_recalled(view, item) else 0] += 1
        inbound = [
            s for s in view.rows(Shipment.TABLE) if s.receiver == seller and s.status == IN_TRANSIT
        ]
        listings = [x for x in view.rows(Listing.TABLE) if x.seller == seller]
    scans = store.scans_between(since, until, seller=seller, limit=MAX_SCANS)
    per_listing = Counter(
        (r.context.platform, r.context.listing_id) for r in scans if r.context.listing_id
    )
    streams = Counter(r.context.stream_id for r in scans if r.context.stream_id)
    vouched: list[CloneAlert] = []
    weak: list[CloneAlert] = []
    offered_items = sorted({r.item_id for r in scans if r.context.offered})
    with store.reader() as view:
        for item_id in offered_items[:MAX_ALERT_ITEMS]:
            found = view.get(Item, (item_id,))
            if found is None:
                continue
            contexts = [c for c in store.scan_signals(item_id, since) if c.time < until]
            strong = _alert(found, [c for c in contexts if c.context.vouched])
            if strong is not None:
                vouched.append(strong)
                continue
            signal = _alert(found, contexts)
            if signal is not None:
                weak.append(replace(signal, sellers=()))
    return SellerDashboard(
        seller,
        tuple(StockLine(g, lot, a, r) for (g, lot), (a, r) in sorted(lines.items())),
        tuple(inbound),
        tuple((x, per_listing.get((x.platform, x.listing_id), 0)) for x in listings),
        since,
        until,
        tuple(sorted(streams.items(), key=lambda kv: (-kv[1], kv[0]))),
        tuple(vouched),
        tuple(weak),
        len(scans),
    )
