"""The product-level verdict: what the resolver says about ``/01/{gtin}`` and a lot.

A product URL (a GTIN, perhaps with a lot, no serial) names no item, so no signature, no
custody and no scan history can be checked: its verdict is never ``genuine``. It is
``recalled`` when a recall of the producer covers the whole GTIN or the named lot, and
otherwise ``invalid`` with the reason ``product_only``: the same status ``POST /v1/verify``
gives the same URI (it is not a Tracemark item code), with the product and its producer
named so a viewer who scanned a truncated code still learns whose product it claims to be.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.verdicts.model import INVALID, RECALLED, Reason, Verdict

__all__ = ["ProductFacts", "judge_product"]


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What the ledger holds about a GTIN (and a lot): its producer, its name, its recalls."""

    gtin: str
    lot: str
    producer: str  # the registered producer's actor id
    producer_name: str
    name: str  # "" when the producer declared no product record
    gtin_recall: str | None = None  # the reason of a recall of every lot, if any
    lot_recall: str | None = None  # the reason of a recall of ``lot``, if any


def judge_product(facts: ProductFacts) -> Verdict:
    """The verdict of a product URL: ``recalled`` or ``invalid`` (never ``genuine``)."""
    item = {"gtin": facts.gtin, "producer": facts.producer}
    if facts.lot:
        item["lot"] = facts.lot
    reasons: list[Reason] = []
    if facts.gtin_recall is not None:
        reasons.append(
            Reason(
                "product_recalled",
                f"{facts.producer} recalled every item of GTIN {facts.gtin}: {facts.gtin_recall}",
                {"gtin": facts.gtin, "reason": facts.gtin_recall},
            )
        )
    if facts.lot and facts.lot_recall is not None:
        reasons.append(
            Reason(
                "lot_recalled",
                f"{facts.producer} recalled lot {facts.lot}: {facts.lot_recall}",
                {"gtin": facts.gtin, "lot": facts.lot, "reason": facts.lot_recall},
            )
        )
    named = f"GTIN {facts.gtin}" + (f", lot {facts.lot}" if facts.lot else "")
    reasons.append(
        Reason(
            "product_only",
            f"this link names a product ({named}), not one item: only an item's own signed "
            "code can be checked",
            {"gtin": facts.gtin, "lot": facts.lot},
        )
    )
    recalled = facts.gtin_recall is not None or (bool(facts.lot) and facts.lot_recall is not None)
    return Verdict(RECALLED if recalled else INVALID, tuple(reasons), item)
