"""ledger.verdicts.backing: is a declared listing backed by genuine stock (pure rules)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.provenance.records import Actor, Listing
from ledger.verdicts.backing import BADGE_STATES, BackingFacts, backing, badge_state

SELLER = Actor("shop-a", "seller", "Shop A", "VN", True, "active", (), ("tiktok:shopa",), 3, 3)
LISTING = Listing("tiktok", "L-1", "shop-a", "", "08930001000025", 5, (), "open", 9, 0)
GOOD = BackingFacts(
    listing=LISTING,
    seller=SELLER,
    stock=5,
    listed_recalled=False,
    recalled_stock=False,
    gtin_recalled=False,
    recalled_lots=(),
    has_producer=True,
)


def test_a_listing_with_its_stock_held_by_a_verified_seller_is_backed() -> None:
    status = backing(GOOD)
    assert status.backed and status.reasons == [] and not status.recalled
    assert badge_state(status) == "backed"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"stock": 4}, "the seller holds 4 sellable items; the listing offers 5"),
        ({"seller": None}, "the seller is not an active registered actor"),
        ({"seller": replace(SELLER, status="suspended")}, "not an active registered actor"),
        ({"seller": replace(SELLER, verified=False)}, "identity is not verified"),
        ({"has_producer": False}, "has no registered producer"),
        ({"listing": replace(LISTING, status="closed")}, "the listing is closed"),
        ({"gtin_recalled": True}, "GTIN 08930001000025 is recalled"),
        ({"listed_recalled": True}, "listed items are recalled"),
        ({"stock": 3, "recalled_lots": ("L7",)}, "lot(s) L7 recalled"),
    ],
)
def test_each_rule_that_fires_is_a_reason(change: dict[str, object], reason: str) -> None:
    status = backing(replace(GOOD, **change))  # type: ignore[arg-type]
    assert not status.backed
    assert any(reason in r for r in status.reasons), status.reasons


def test_recalled_stock_is_recalled_even_when_backed() -> None:
    """A listing without serials whose seller holds a recalled item of the GTIN: a buyer may
    receive it, so the badge says recalled though the stock count is met."""
    status = backing(replace(GOOD, recalled_stock=True))
    assert status.recalled and badge_state(status) == "recalled"


def test_badge_states_in_order() -> None:
    assert badge_state(None) == "unknown"
    closed = backing(replace(GOOD, listing=replace(LISTING, status="closed"), gtin_recalled=True))
    assert badge_state(closed) == "closed"  # closed before recalled
    assert badge_state(backing(replace(GOOD, stock=0))) == "not_backed"
    assert set(BADGE_STATES) == {"unknown", "closed", "recalled", "not_backed", "backed"}
