"""Everything that decides a status, in one pure package (no I/O).

    model      Verdict, Reason and the statuses
    evidence   the scan context and its source, item and key facts, thresholds
    items      decide: the verdict of one scanned item code
    clones     the clone rules (own context, vouched contexts elsewhere; custodian first)
    listings   judge: the verdict of one listing (seller, stock, recalls, its codes)
    backing    is a declared listing backed by genuine stock; the overlay's badge state
    products   the verdict of a product URL (a GTIN, perhaps a lot): never genuine
    scans      what a scan of a picture found: unrecognised codes, failing statuses

Adapters gather evidence and present verdicts; they decide nothing.
"""

from __future__ import annotations

from ledger.verdicts.clones import CLONE_REASONS, clone_reasons, context_reasons
from ledger.verdicts.evidence import (
    ANONYMOUS,
    OVERLAY,
    PLATFORM,
    SESSION,
    SOURCES,
    VOUCHED,
    Evidence,
    ItemFacts,
    KeyFacts,
    ScanContext,
    ScanRecord,
    Thresholds,
)
from ledger.verdicts.items import decide
from ledger.verdicts.model import (
    COUNTERFEIT,
    GENUINE,
    INVALID,
    RECALLED,
    STATUSES,
    SUSPECT,
    UNVERIFIED,
    Reason,
    Verdict,
)
from ledger.verdicts.products import ProductFacts, judge_product

__all__ = [
    "ANONYMOUS",
    "CLONE_REASONS",
    "COUNTERFEIT",
    "GENUINE",
    "INVALID",
    "OVERLAY",
    "PLATFORM",
    "RECALLED",
    "SESSION",
    "SOURCES",
    "STATUSES",
    "SUSPECT",
    "UNVERIFIED",
    "VOUCHED",
    "Evidence",
    "ItemFacts",
    "KeyFacts",
    "ProductFacts",
    "Reason",
    "ScanContext",
    "ScanRecord",
    "Thresholds",
    "Verdict",
    "clone_reasons",
    "context_reasons",
    "decide",
    "judge_product",
]
