"""Listing verdicts (pure): what the ledger's facts about one listing and the verdicts of
the codes offered with it say, as one explained verdict.

``judge`` takes ``ListingFacts`` (seller, GTIN, stock, recalls, gathered by the platform
route, api/http/routes/platform.py) and code verdicts; every rule that fires is a reason, and
every reason code is in ``LISTING_REASONS`` (and docs/api.md) with the status it implies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.provenance.handles import handle_key
from ledger.provenance.records import OPEN, Actor, Listing, Recall
from ledger.verdicts.clones import clone_reasons
from ledger.verdicts.model import COUNTERFEIT, GENUINE, RECALLED, SUSPECT, Reason, Verdict

__all__ = ["LISTING_REASONS", "ListingFacts", "judge"]

#: Every reason a listing verdict can give, with the status it implies. Precedence:
#: counterfeit > recalled > suspect > genuine (as for codes, ledger.decide).
LISTING_REASONS: dict[str, str] = {
    "code_counterfeit": COUNTERFEIT,
    "gtin_recalled": RECALLED,
    "code_recalled": RECALLED,
    "listed_item_recalled": RECALLED,
    "seller_unknown": SUSPECT,
    "seller_suspended": SUSPECT,
    "seller_not_verified": SUSPECT,
    "handle_platform_mismatch": SUSPECT,
    "unknown_producer": SUSPECT,
    "insufficient_stock": SUSPECT,
    "listing_seller_mismatch": SUSPECT,
    "listing_closed": SUSPECT,
    "lot_recalled": SUSPECT,
    "code_gtin_mismatch": SUSPECT,
    "sold_item_offered": SUSPECT,
    "seller_not_custodian": SUSPECT,
    "multiple_sellers": SUSPECT,
    "scan_velocity": SUSPECT,
    "stock_verified": GENUINE,
}
_PRECEDENCE = (COUNTERFEIT, RECALLED, SUSPECT)


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What the ledger says about one listing's seller, GTIN and stock."""

    platform: str
    listing_id: str
    handle: str  # platform:account
    gtin: str
    quantity: int
    seller: Actor | None
    producer: str | None  # the GTIN's registered, active producer
    declared: Listing | None
    held: int
    listed_recalled: tuple[str, ...] = ()
    recalls: tuple[Recall, ...] = ()
    given_codes: bool = False


def _r(code: str, message: str, **evidence: Any) -> Reason:
    return Reason(code, message, evidence)


def _seller_reasons(facts: ListingFacts) -> list[Reason]:
    reasons: list[Reason] = []
    # The handle's platform as normalised ('TikTok:@ShopA' is a tiktok handle), not as spelled.
    if handle_key(facts.handle).partition(":")[0] != facts.platform:
        reasons.append(
            _r(
                "handle_platform_mismatch",
                f"the seller handle {facts.handle} is not an account on {facts.platform}",
                handle=facts.handle,
            )
        )
    seller = facts.seller
    if seller is None:
        reasons.append(
            _r(
                "seller_unknown",
                f"no registered actor has the handle {facts.handle}",
                handle=facts.handle,
            )
        )
    elif seller.status != "active":
        reasons.append(
            _r(
                "seller_suspended",
                f"the seller {seller.actor_id} is suspended",
                actor=seller.actor_id,
            )
        )
    elif not seller.verified:
        reasons.append(
            _r(
                "seller_not_verified",
                f"the seller {seller.actor_id} has not passed identity checks",
                actor=seller.actor_id,
            )
        )
    declared = facts.declared
    if declared is not None and seller is not None and declared.seller != seller.actor_id:
        reasons.append(
            _r(
                "listing_seller_mismatch",
                f"listing {facts.platform}:{facts.listing_id} was declared by {declared.seller}",
                declared_by=declared.seller,
            )
        )
    if declared is not None and declared.status != OPEN:
        reasons.append(_r("listing_closed", "the listing was closed in the ledger"))
    return reasons


def _stock_reasons(facts: ListingFacts) -> list[Reason]:
    reasons: list[Reason] = []
    gtin = facts.gtin
    if facts.producer is None:
        reasons.append(_r("unknown_producer", f"GTIN {gtin} has no registered producer", gtin=gtin))
    whole = [r for r in facts.recalls if not r.lot]
    if whole:
        reasons.append(
            _r(
                "gtin_recalled",
                f"the producer recalled GTIN {gtin}: {whole[0].reason}",
                gtin=gtin,
                index=whole[0].recall_index,
            )
        )
    elif (
        facts.recalls and not facts.given_codes and not (facts.declared and facts.declared.serials)
    ):
        lots = sorted(r.lot for r in facts.recalls)
        reasons.append(
            _r(
                "lot_recalled",
                f"lot(s) {', '.join(lots)} of GTIN {gtin} are recalled; give codes to show "
                "which items are sold",
                lots=lots,
            )
        )
    if facts.listed_recalled:
        reasons.append(
            _r(
                "listed_item_recalled",
                "items this listing names are recalled",
                items=list(facts.listed_recalled[:20]),
            )
        )
    if facts.held < facts.quantity:
        reasons.append(
            _r(
                "insufficient_stock",
                f"the seller holds {facts.held} sellable items of GTIN {gtin}; the listing offers "
                f"{facts.quantity}",
                held=facts.held,
                quantity=facts.quantity,
            )
        )
    return reasons


def _code_reasons(gtin: str, verdicts: Sequence[Verdict]) -> list[Reason]:
    """One reason per kind, naming the codes (by position) that gave it."""
    found: dict[str, tuple[str, list[int], list[str]]] = {}

    def add(code: str, message: str, position: int, verdict: Verdict) -> None:
        entry = found.setdefault(code, (message, [], []))
        entry[1].append(position)
        entry[2].append(verdict.item.get("item_id", ""))

    for position, verdict in enumerate(verdicts):
        item_gtin = verdict.item.get("gtin")
        if verdict.status == COUNTERFEIT:
            add(
                "code_counterfeit",
                "a code offered with this listing is counterfeit",
                position,
                verdict,
            )
            continue
        if item_gtin and item_gtin != gtin:
            add(
                "code_gtin_mismatch",
                "a code is for a different GTIN than the listing",
                position,
                verdict,
            )
        if verdict.status == RECALLED:
            add("code_recalled", "an item offered with this listing is recalled", position, verdict)
        for reason in clone_reasons(verdict):
            add(reason.code, reason.message, position, verdict)
    return [
        _r(code, message, codes=positions, items=items)
        for code, (message, positions, items) in found.items()
    ]


def judge(facts: ListingFacts, verdicts: Sequence[Verdict] = ()) -> Verdict:
    """The verdict for one listing: every rule that fires is a reason; precedence picks."""
    reasons = [
        *_code_reasons(facts.gtin, verdicts),
        *_seller_reasons(facts),
        *_stock_reasons(facts),
    ]
    item = {"gtin": facts.gtin}
    for status in _PRECEDENCE:
        if any(LISTING_REASONS[r.code] == status for r in reasons):
            ordered = sorted(reasons, key=lambda r: _PRECEDENCE.index(LISTING_REASONS[r.code]))
            return Verdict(status, tuple(ordered), item)
    seller = facts.seller.actor_id if facts.seller else ""
    genuine = _r(
        "stock_verified",
        f"the verified seller {seller} holds {facts.held} sellable items of GTIN {facts.gtin} "
        f"from {facts.producer}" + (" and every code checks out" if verdicts else ""),
        held=facts.held,
        producer=facts.producer,
    )
    return Verdict(GENUINE, (genuine,), item)
