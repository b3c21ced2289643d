"""Listing backing (pure): is a declared listing backed by genuine stock, and what badge
does the overlay show for it.

``backing`` takes ``BackingFacts`` (gathered from the projection by
``ledger.usecases.queries.listing_status``) and returns a ``ListingStatus``: backed or not, with
every
reason in words, and whether a buyer may receive a recalled item. ``badge_state`` is the
overlay's state of that status. The listing *verdict* of a platform check (seller, codes,
clone rules) is ``ledger.verdicts.listings.judge``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.provenance.records import OPEN, Actor, Listing

__all__ = ["BADGE_STATES", "BackingFacts", "ListingStatus", "backing", "badge_state"]

#: The overlay's badge states, in the order a viewer should worry about them.
BADGE_STATES = ("unknown", "closed", "recalled", "not_backed", "backed")


@dataclass(frozen=True, slots=True)
class BackingFacts:
    """What the projection says about one declared listing's stock."""

    listing: Listing
    seller: Actor | None
    stock: int  # sellable items the seller holds now (of the listed serials, or the GTIN)
    listed_recalled: bool  # an item the listing names is recalled
    recalled_stock: bool  # (a listing without serials) an item of the GTIN held is recalled
    gtin_recalled: bool  # the whole GTIN is recalled
    recalled_lots: tuple[str, ...]  # recalled lots of the GTIN (read when short of stock)
    has_producer: bool  # the GTIN is in a registered company prefix


@dataclass(frozen=True)
class ListingStatus:
    listing: Listing
    seller: Actor | None
    stock: int  # sellable items of the GTIN the seller holds now
    backed: bool
    reasons: list[str]
    # The GTIN is recalled, an item the listing names is, or (a listing without serials) an
    # item of the GTIN the seller holds is: a buyer may receive a recalled item.
    recalled: bool


def backing(facts: BackingFacts) -> ListingStatus:
    """Backed when nothing below fires; every rule that fires is a reason."""
    listing, seller, stock = facts.listing, facts.seller, facts.stock
    reasons: list[str] = []
    if facts.listed_recalled:
        reasons.append("listed items are recalled")
    if facts.gtin_recalled:
        reasons.append(f"GTIN {listing.gtin} is recalled")
    elif stock < listing.quantity and listing.quantity and facts.recalled_lots:
        reasons.append(f"lot(s) {', '.join(facts.recalled_lots)} recalled")
    if not facts.has_producer:
        reasons.append(f"GTIN {listing.gtin} has no registered producer")
    if listing.status != OPEN:
        reasons.append("the listing is closed")
    if seller is None or seller.status != "active":
        reasons.append("the seller is not an active registered actor")
    elif not seller.verified:
        reasons.append("the seller's identity is not verified")
    if stock < listing.quantity:
        reasons.append(
            f"the seller holds {stock} sellable items; the listing offers {listing.quantity}"
        )
    recalled = facts.listed_recalled or facts.recalled_stock or facts.gtin_recalled
    return ListingStatus(listing, seller, stock, not reasons, reasons, recalled)


def badge_state(status: ListingStatus | None) -> str:
    """unknown | closed | recalled | backed | not_backed (``BADGE_STATES``)."""
    if status is None:
        return "unknown"
    if status.listing.status != OPEN:
        return "closed"
    if status.recalled:
        return "recalled"
    return "backed" if status.backed else "not_backed"
