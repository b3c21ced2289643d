"""The sample supply chain written into a ledger through the real service (``LogService``).

``record_story(service)`` appends, at fixed times from ``story.CLOCK_MS``, what the
producer, the distributor and the two sellers did in the week of the story: the genesis,
the registrations, commissioning, packing, shipping and receiving, and the two sellers'
listings. Every entry is signed with its author's TEST ONLY key and goes through the same
rules as on a server; a refusal is a bug of the sample (or of a rule change) and stops the
build with the rule's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import errors
from ledger.codes.identifiers import item_id
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.provenance.events.names import (
    ACTOR_REGISTER,
    COMMISSION,
    LISTING_DECLARE,
    PACK,
    RECEIVE,
    SHIP,
    UNPACK,
)
from ledger.usecases.append import Accepted
from ledger.usecases.service import LogService
from samples.story import (
    CLOCK_MS,
    DISTRIBUTOR,
    LISTING_A,
    LISTING_B,
    OPERATOR,
    ORIGIN,
    PREFIX,
    PRODUCER,
    PRODUCTS,
    SELLER_A,
    SELLER_B,
    TZ,
    Member,
    Offer,
    sscc_for,
)

__all__ = ["CASES", "SELLER_A_ITEMS", "SELLER_B_ITEMS", "record_story", "story_time"]

_HOUR = 3_600_000
_ENTRY_DELAY_MS = 20_000  # an event reaches the log a little after it happened

FISH, LITRE = PRODUCTS
#: The shipping cases (SSCC) the producer packs: 24 bottles each of the 500 ml sauce.
CASES = (f"00/{sscc_for(PREFIX, 1)}", f"00/{sscc_for(PREFIX, 2)}")
SELLER_A_ITEMS = [item_id(FISH.gtin, FISH.serial(n)) for n in range(1, 25)] + [
    item_id(LITRE.gtin, LITRE.serial(n)) for n in range(1, 4)
]
SELLER_B_ITEMS = [item_id(FISH.gtin, FISH.serial(n)) for n in range(25, 31)] + [
    item_id(LITRE.gtin, LITRE.serial(n)) for n in range(4, 7)
]


def story_time(day: int, hour: int, minute: int = 0) -> int:
    """Milliseconds since the epoch at ``hour:minute`` (Vietnam time) on day ``day`` of the
    story (day 0 starts at 08:00 on ``CLOCK_MS``)."""
    return CLOCK_MS + day * 24 * _HOUR + (hour - 8) * _HOUR + minute * 60_000


@dataclass
class _Recorder:
    service: LogService

    def record(self, kind: str, body: dict[str, Any], key: PrivateKey, at: int) -> Accepted:
        outcome = self.service.append([sign_entry(kind, body, key)], now=at + _ENTRY_DELAY_MS)[0]
        if not isinstance(outcome, Accepted):
            raise errors.Conflict(f"sample {kind} refused: {outcome.code}: {outcome.message}")
        return outcome

    def event(self, kind: str, who: Member, at: int, **fields: Any) -> Accepted:
        body = {"actor": who.actor_id, "event_time": at, "tz": TZ, **fields}
        return self.record(kind, body, who.key, at)

    def register(self, member: Member, at: int) -> None:
        actor: dict[str, Any] = {
            "id": member.actor_id,
            "role": member.role,
            "name": member.name,
            "country": "VN",
            "verified": True,
        }
        if member.prefixes:
            actor["prefixes"] = list(member.prefixes)
        if member.handles:
            actor["handles"] = list(member.handles)
        body = {"actor": actor, "keys": [member.key.public_key.to_text()], "event_time": at}
        self.record(ACTOR_REGISTER, body, OPERATOR.key, at)

    def ship(
        self, sender: Member, to: Member, items: Sequence[str], shipment: str, at: int
    ) -> None:
        self.event(SHIP, sender, at, shipment=shipment, to=to.actor_id, items=list(items))

    def receive(self, receiver: Member, sender: Member, shipment: str, at: int) -> None:
        self.event(RECEIVE, receiver, at, shipment=shipment, **{"from": sender.actor_id})

    def declare(self, offer: Offer, at: int) -> None:
        body = {
            "actor": offer.seller.actor_id,
            "platform": offer.platform,
            "listing_id": offer.listing_id,
            "gtin": FISH.gtin,
            "quantity": offer.quantity,
            "stream_id": offer.stream_id,
            "event_time": at,
        }
        self.record(LISTING_DECLARE, body, offer.seller.key, at)


def _commission(r: _Recorder, at: int) -> None:
    for k, product in enumerate(PRODUCTS):
        serials = {
            "ranges": [
                {"prefix": product.serial_prefix, "first": 1, "last": product.count, "width": 4}
            ]
        }
        r.event(
            COMMISSION,
            PRODUCER,
            at + k * 300_000,
            gtin=product.gtin,
            serials=serials,
            lot=product.lot,
            expiry=product.expiry,
            product={"name": product.name},
        )


def record_story(service: LogService) -> int:
    """Append the week of the story to an empty log; returns the tree size afterwards."""
    service.initialize(
        origin=ORIGIN, operator_name=OPERATOR.name, key=OPERATOR.key, now=story_time(0, 8)
    )
    r = _Recorder(service)
    for k, member in enumerate((PRODUCER, DISTRIBUTOR, SELLER_A, SELLER_B)):
        r.register(member, story_time(0, 8, 5 + 5 * k))
    _commission(r, story_time(0, 9))
    fish = [item_id(FISH.gtin, FISH.serial(n)) for n in range(1, FISH.count + 1)]
    r.event(PACK, PRODUCER, story_time(0, 14), parent=CASES[0], children=fish[:24])
    r.event(PACK, PRODUCER, story_time(0, 14, 10), parent=CASES[1], children=fish[24:])
    litre = [item_id(LITRE.gtin, LITRE.serial(n)) for n in range(1, LITRE.count + 1)]
    r.ship(PRODUCER, DISTRIBUTOR, [*CASES, *litre], "SHP-261116-01", story_time(0, 16))
    r.receive(DISTRIBUTOR, PRODUCER, "SHP-261116-01", story_time(1, 9, 30))
    # Seller A gets a whole case; seller B six bottles from the second case.
    r.ship(DISTRIBUTOR, SELLER_A, [CASES[0], *litre[:3]], "MKD-261117-07", story_time(1, 14))
    r.event(UNPACK, DISTRIBUTOR, story_time(1, 14, 5), parent=CASES[1])
    r.ship(DISTRIBUTOR, SELLER_B, SELLER_B_ITEMS, "MKD-261117-08", story_time(1, 14, 10))
    r.receive(SELLER_A, DISTRIBUTOR, "MKD-261117-07", story_time(2, 10))
    r.receive(SELLER_B, DISTRIBUTOR, "MKD-261117-08", story_time(2, 11))
    r.declare(LISTING_A, story_time(3, 18))
    r.declare(LISTING_B, story_time(3, 18, 30))
    return service.checkpoint(now=story_time(3, 19)).tree_size
