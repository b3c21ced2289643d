"""Rules for listings: a verified seller declares a listing backed by stock it holds.

A listing names a platform (where the seller has a registered handle), a GTIN from a
registered producer, and a quantity or exact items; the seller must hold that many sellable
(active, not recalled) items. A listing id is the seller's until closed, and stays theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ledger.provenance.events.names import LISTING_CLOSE, LISTING_DECLARE
from ledger.provenance.records import CLOSED, OPEN, Listing, Recall
from ledger.provenance.rules.common import (
    Entry,
    event_signer,
    gtin_owner,
    held,
    is_recalled,
    violation,
)

__all__ = ["HANDLERS"]


# --- listings -----------------------------------------------------------------------------------


def _declare(entry: Entry) -> None:
    seller = event_signer(entry, roles=("seller", "retailer"))
    body, view = entry.body, entry.view
    platform, gtin = body["platform"], body["gtin"]
    if not seller.verified:
        raise violation("seller_not_verified", f"{seller.actor_id} has not passed identity checks")
    if not any(h.startswith(platform + ":") for h in seller.handles):
        raise violation(
            "handle_not_registered", f"{seller.actor_id} has no registered {platform} account"
        )
    existing = view.get(Listing, (platform, body["listing_id"]))
    if existing is not None and (existing.status == OPEN or existing.seller != seller.actor_id):
        raise violation(
            "listing_exists",
            f"listing {platform}:{body['listing_id']} is open (declared by {existing.seller})",
        )
    owner = gtin_owner(view, gtin)
    if owner is None:
        raise violation("unknown_producer", f"GTIN {gtin} has no registered producer")
    if view.get(Recall, (gtin, "")) is not None:
        raise violation("item_recalled", f"GTIN {gtin} is recalled")
    quantity = body.get("quantity", len(body.get("serials", ())))
    if "serials" in body:
        for item in held(entry, body["serials"], top_level=False):
            if is_recalled(view, item):
                raise violation("item_recalled", f"{item.item_id} is recalled")
    else:
        stock = view.stock(seller.actor_id, gtin)
        if stock < quantity:
            raise violation(
                "insufficient_stock",
                f"{seller.actor_id} holds {stock} sellable items "
                f"of GTIN {gtin}; the listing offers {quantity}",
            )
    entry.changes.put(
        Listing(
            platform,
            body["listing_id"],
            seller.actor_id,
            body.get("stream_id", ""),
            gtin,
            quantity,
            tuple(body.get("serials", ())),
            OPEN,
            entry.index,
            -1,
        )
    )


def _close(entry: Entry) -> None:
    actor = event_signer(entry)
    body = entry.body
    listing = entry.view.get(Listing, (body["platform"], body["listing_id"]))
    if listing is None:
        raise violation("unknown_listing", f"no listing {body['platform']}:{body['listing_id']}")
    if listing.seller != actor.actor_id and actor.role != "operator":
        raise violation(
            "not_listing_owner", f"listing {listing.listing_id} belongs to {listing.seller}"
        )
    if listing.status != OPEN:
        raise violation("listing_closed", f"listing {listing.listing_id} is already closed")
    entry.changes.put(replace(listing, status=CLOSED, closed_index=entry.index))


HANDLERS: dict[str, Callable[[Entry], None]] = {
    LISTING_DECLARE: _declare,
    LISTING_CLOSE: _close,
}
