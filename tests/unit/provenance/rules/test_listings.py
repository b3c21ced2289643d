"""ledger/provenance/rules/listings.py: a verified seller lists stock it holds, and closes it."""

from __future__ import annotations

from typing import Any

from ledger.codes.identifiers import item_id
from ledger.provenance.events.names import COMMISSION, LISTING_CLOSE, LISTING_DECLARE, RECEIVE, SHIP
from ledger.provenance.records import OPEN, Listing
from tests.supply import gtin_for
from tests.unit.provenance.rules.harness import Rules

GTIN = gtin_for("8930001", "0001")


def _stocked(held: int = 2) -> Rules:
    """fishco commissions three items; shop (verified, on tiktok) receives ``held``."""
    rules = Rules()
    rules.register("fishco", "producer", prefixes=["8930001"])
    rules.register("shop", "seller", handles=["tiktok:@shop"])
    rules.register("ghost", "seller", verified=False, handles=["tiktok:@ghost"])
    serials = {"list": ["S1", "S2", "S3"]}
    rules.ok(COMMISSION, rules.event("fishco", gtin=GTIN, serials=serials), rules.keys["fishco"])
    items = [item_id(GTIN, f"S{n}") for n in range(1, held + 1)]
    ship = rules.event("fishco", shipment="SH1", to="shop", items=items)
    rules.ok(SHIP, ship, rules.keys["fishco"])
    rules.ok(RECEIVE, rules.event("shop", shipment="SH1", **{"from": "fishco"}), rules.keys["shop"])
    return rules


def _listing(rules: Rules, seller: str = "shop", **fields: Any) -> dict[str, Any]:
    body = {"actor": seller, "platform": "tiktok", "listing_id": "L1", "gtin": GTIN}
    return {**body, "event_time": rules.now, **fields}


def test_a_listing_backed_by_held_stock_is_open() -> None:
    rules = _stocked()
    rules.ok(LISTING_DECLARE, _listing(rules, quantity=2), rules.keys["shop"])
    listing = rules.view.get(Listing, ("tiktok", "L1"))
    assert listing is not None and listing.status == OPEN and listing.quantity == 2


def test_a_listing_of_more_than_the_seller_holds_is_refused() -> None:
    rules = _stocked(held=2)
    message = rules.refused(
        "insufficient_stock", LISTING_DECLARE, _listing(rules, quantity=3), rules.keys["shop"]
    )
    assert "holds 2" in message


def test_an_unverified_seller_or_a_platform_without_its_handle_is_refused() -> None:
    rules = _stocked()
    body = _listing(rules, "ghost", quantity=1)
    rules.refused("seller_not_verified", LISTING_DECLARE, body, rules.keys["ghost"])
    body = {**_listing(rules, quantity=1), "platform": "shopee"}
    rules.refused("handle_not_registered", LISTING_DECLARE, body, rules.keys["shop"])


def test_an_open_listing_id_is_taken_and_a_closed_one_stays_closed() -> None:
    rules = _stocked()
    rules.ok(LISTING_DECLARE, _listing(rules, quantity=1), rules.keys["shop"])
    again = _listing(rules, quantity=1)
    rules.refused("listing_exists", LISTING_DECLARE, again, rules.keys["shop"])
    close = {"actor": "shop", "platform": "tiktok", "listing_id": "L1", "event_time": rules.now}
    rules.ok(LISTING_CLOSE, close, rules.keys["shop"])
    rules.refused("listing_closed", LISTING_CLOSE, close, rules.keys["shop"])
    missing = {**close, "listing_id": "L2"}
    rules.refused("unknown_listing", LISTING_CLOSE, missing, rules.keys["shop"])
