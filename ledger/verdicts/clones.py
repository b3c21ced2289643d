"""Clone rules: what the scan's own context and other vouched contexts say about a copy.

Two kinds of rule, kept apart because they answer to different evidence:

- **Own context** (any source: a request gets an honest answer about what it names)
    sold_item_offered     the item was sold to a consumer (or claimed) and is offered again
    unknown_seller        the context names a seller that is no registered actor
    seller_not_custodian  the context's seller does not hold the item
- **Elsewhere** (only vouched contexts seen since the item's latest entry, within the window)
    multiple_sellers      other sellers offered this serial
    scan_velocity         more offers (streams, listings; a session's restarts are one), or
                          more places or devices of physical scans, than one item explains

Custodian first: a context whose seller holds the item gets no reason from elsewhere. Clone
signals are charged to the contexts that are not the custodian's (and to context-free
checks, which cannot tell the item in hand from a copy), never to the custodian's own.
"""

from __future__ import annotations

from ledger.verdicts.evidence import Evidence, ScanRecord, Thresholds
from ledger.verdicts.model import Reason, Verdict

__all__ = ["CLONE_REASONS", "OWN_CONTEXT_REASONS", "clone_reasons", "context_reasons"]

#: Reasons that say a copy of the code is about (what webhooks report as clone_suspected).
CLONE_REASONS = frozenset(
    {"sold_item_offered", "seller_not_custodian", "multiple_sellers", "scan_velocity"}
)
OWN_CONTEXT_REASONS = frozenset({"sold_item_offered", "unknown_seller", "seller_not_custodian"})


def _reason(code: str, message: str, **evidence: object) -> Reason:
    return Reason(code, message, evidence)


def clone_reasons(verdict: Verdict) -> list[Reason]:
    """The clone reasons of a suspect (or recalled) verdict."""
    return [r for r in verdict.reasons if r.code in CLONE_REASONS]


def _own(evidence: Evidence) -> list[Reason]:
    item, context = evidence.item, evidence.context
    assert item is not None  # noqa: S101 - callers decide items only
    reasons: list[Reason] = []
    if context.offered and (item.status == "sold" or item.claimed):
        reasons.append(
            _reason(
                "sold_item_offered",
                "this item was already sold to a consumer; a code shown again is a copy",
                status=item.status,
                claimed=item.claimed,
            )
        )
    if context.seller and not evidence.seller_known:
        reasons.append(
            _reason(
                "unknown_seller",
                f"no registered seller has the account {context.seller}, so it cannot be "
                "shown to hold this item",
                seller=context.seller,
            )
        )
    elif context.seller and not item.holds(context.seller):
        reasons.append(
            _reason(
                "seller_not_custodian",
                f"the seller {context.seller} does not hold this item (held by {item.custodian})",
                seller=context.seller,
                custodian=item.custodian,
            )
        )
    return reasons


def _elsewhere(evidence: Evidence, limits: Thresholds) -> list[Reason]:
    item, context = evidence.item, evidence.context
    assert item is not None  # noqa: S101
    others: list[ScanRecord] = [
        r for r in evidence.recent if r.context.vouched and r.time >= item.changed_time
    ]
    reasons: list[Reason] = []
    unknown = evidence.unknown_sellers  # an unknown seller is never a second seller
    sellers = {
        r.context.seller for r in others if r.context.seller and r.context.seller not in unknown
    }
    sellers |= set(evidence.listing_sellers)
    mine = context.seller if evidence.seller_known else ""
    if mine:
        sellers.add(mine)
    elif sellers - {item.custodian, item.pending_to}:
        sellers.add(item.custodian)  # a context-free check: the holder and someone else
    if len(sellers) >= 2:
        reasons.append(
            _reason(
                "multiple_sellers",
                f"this serial was offered by {len(sellers)} different sellers",
                sellers=sorted(sellers),
            )
        )
    reasons.extend(_velocity(others, evidence, limits))
    return reasons


def _velocity(others: list[ScanRecord], evidence: Evidence, limits: Thresholds) -> list[Reason]:
    """Distinct offers (an item is offered in one place at a time) and, for physical scans
    (no offer: viewers of a stream scan the screen from anywhere), distinct places and
    devices, all among vouched contexts."""
    contexts = [r.context for r in others]
    if evidence.context.vouched:
        contexts.append(evidence.context)
    physical = [c for c in contexts if not c.offered]
    counts = {
        "offers": (len({c.offer for c in contexts if c.offered and c.offer}), limits.max_streams),
        "places": (len({c.place for c in physical if c.place}), limits.max_places),
        "devices": (len({c.device for c in physical if c.device}), limits.max_devices),
    }
    over = {name: seen for name, (seen, limit) in counts.items() if seen > limit}
    if not over:
        return []
    said = ", ".join(f"{seen} {name}" for name, seen in over.items())
    return [
        _reason(
            "scan_velocity",
            f"seen in {said} within {limits.window_ms // 60_000} minutes: more than one "
            "physical item explains",
            **over,
        )
    ]


def context_reasons(evidence: Evidence, limits: Thresholds) -> list[Reason]:
    """Every clone reason for this scan's context; custodian first."""
    item, context = evidence.item, evidence.context
    if item is None:
        return []
    reasons = _own(evidence)
    if evidence.seller_known and item.holds(context.seller):
        return reasons  # the custodian's context: nothing seen elsewhere is charged to it
    return [*reasons, *_elsewhere(evidence, limits)]
