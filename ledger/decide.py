"""The verdict engine: ``decide(evidence, thresholds) -> Verdict``. Pure: no I/O.

Evidence is what the service gathered for one scan: the offline code check, the item's state
in the ledger, the signing key's history, the scan's context (platform, stream, listing,
seller) and recent scans of the same serial. Each rule below is named; its reason code is
what API clients and pages show. Status precedence: counterfeit > recalled > suspect >
genuine (``unverified`` only comes from the offline check, when the ledger is not asked).

    counterfeit  code_*           the offline check failed (malformed, unsigned, forged, ...)
                 not_commissioned the serial was never commissioned in the ledger
                 key_not_valid_at_issue  the producer's key was revoked (or compromised)
                                  before the item was commissioned
                 item_destroyed   the item was destroyed or decommissioned
    recalled     recalled         the producer recalled the item, its lot or its GTIN
    suspect      sold_item_offered      already sold to a consumer (or claimed) and now
                                        shown in a listing or stream
                 seller_not_custodian   the listing's or stream's seller does not hold it
                 multiple_sellers       the serial was seen with two or more sellers
                 scan_velocity          more distinct streams, places or devices within
                                        the window than one physical item explains
    genuine      custody_verified the producer's signature, the ledger and the context agree
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.verdict import COUNTERFEIT, GENUINE, RECALLED, SUSPECT, Reason, Verdict

__all__ = [
    "Evidence",
    "ItemFacts",
    "KeyFacts",
    "ScanContext",
    "ScanRecord",
    "Thresholds",
    "decide",
]


@dataclass(frozen=True, slots=True)
class ScanContext:
    """Where a code was scanned: all optional. ``seller`` is an actor id (resolved from a
    platform handle by the service)."""

    platform: str = ""
    stream_id: str = ""
    listing_id: str = ""
    seller: str = ""
    device: str = ""  # a coarse, salted device hash; never personal data
    place: str = ""  # a coarse place (country or city code)

    @property
    def offered(self) -> bool:
        """Is the item being offered for sale (a listing or a live stream)?"""
        return bool(self.listing_id or self.stream_id)


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One scan, kept outside the log (bounded; never changes a log entry)."""

    item_id: str
    time: int
    context: ScanContext


@dataclass(frozen=True, slots=True)
class ItemFacts:
    item_id: str
    status: str  # active | in_transit | sold | destroyed
    custodian: str
    pending_to: str
    recalled: bool
    claimed: bool
    producer: str
    commissioned_time: int


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """The code's signing key as the ledger knows it."""

    key_id: str
    effective_time: int = -1  # revoked from (-1: never)
    compromised_since: int = -1


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Clone-signal limits (configurable per deployment, ``TRACEMARK_CLONE_*``)."""

    window_ms: int = 3_600_000
    max_streams: int = 1  # one physical item is in one stream at a time
    max_places: int = 3
    max_devices: int = 50


@dataclass(frozen=True, slots=True)
class Evidence:
    code: Verdict  # the offline check (ledger.codes.check_code)
    item: ItemFacts | None
    key: KeyFacts | None
    context: ScanContext
    recent: Sequence[ScanRecord] = ()  # earlier scans of this item within the window
    listing_sellers: frozenset[str] = field(default_factory=frozenset)  # listings naming it


def _reason(code: str, message: str, **evidence: Any) -> Reason:
    return Reason(code, message, evidence)


def _counterfeit_reasons(evidence: Evidence) -> list[Reason]:
    if evidence.code.status == COUNTERFEIT:
        return list(evidence.code.reasons)
    item, key = evidence.item, evidence.key
    if item is None:
        return [_reason("not_commissioned", "this serial was never commissioned by its producer")]
    reasons: list[Reason] = []
    if key is not None:
        issued = item.commissioned_time
        if 0 <= key.compromised_since <= issued or 0 <= key.effective_time <= issued:
            reasons.append(
                _reason(
                    "key_not_valid_at_issue",
                    "the code was signed with a key that was revoked before the item was made",
                    key_id=key.key_id,
                    commissioned_time=issued,
                )
            )
    if item.status == "destroyed":
        reasons.append(_reason("item_destroyed", "this item was destroyed or decommissioned"))
    return reasons


def _suspect_reasons(evidence: Evidence, limits: Thresholds) -> list[Reason]:
    item, context = evidence.item, evidence.context
    if item is None:
        return []
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
    if context.seller and context.seller not in (item.custodian, item.pending_to):
        reasons.append(
            _reason(
                "seller_not_custodian",
                f"the seller {context.seller} does not hold this item (held by {item.custodian})",
                seller=context.seller,
                custodian=item.custodian,
            )
        )
    sellers = set(evidence.listing_sellers)
    sellers.update(r.context.seller for r in evidence.recent if r.context.seller)
    if context.seller:
        sellers.add(context.seller)
    if len(sellers) >= 2:
        reasons.append(
            _reason(
                "multiple_sellers",
                f"this serial was offered by {len(sellers)} different sellers",
                sellers=sorted(sellers),
            )
        )
    reasons.extend(_velocity(evidence, limits))
    return reasons


def _velocity(evidence: Evidence, limits: Thresholds) -> list[Reason]:
    """Distinct streams (an item is in one stream at a time); and, for scans of the physical
    item (no stream or listing: viewers of a stream scan the screen from anywhere), distinct
    places and devices."""
    scans = [*evidence.recent, ScanRecord("", 0, evidence.context)]
    physical = [s for s in scans if not s.context.offered]
    counts = {
        "streams": (
            len({s.context.stream_id for s in scans if s.context.stream_id}),
            limits.max_streams,
        ),
        "places": (len({s.context.place for s in physical if s.context.place}), limits.max_places),
        "devices": (
            len({s.context.device for s in physical if s.context.device}),
            limits.max_devices,
        ),
    }
    over = {name: seen for name, (seen, limit) in counts.items() if seen > limit}
    if not over:
        return []
    said = ", ".join(f"{seen} {name}" for name, seen in over.items())
    return [
        _reason(
            "scan_velocity",
            f"scanned in {said} within {limits.window_ms // 60_000} minutes: more than one "
            "physical item explains",
            **over,
        )
    ]


def decide(evidence: Evidence, limits: Thresholds = Thresholds()) -> Verdict:
    """The verdict for one scan: every rule that fires is a reason; precedence picks the status."""
    item_info: Mapping[str, str] = dict(evidence.code.item)
    counterfeit = _counterfeit_reasons(evidence)
    item = evidence.item
    if counterfeit or item is None:  # no item always gives a counterfeit reason
        return Verdict(COUNTERFEIT, tuple(counterfeit), item_info)
    if item.recalled:
        recalled = _reason("recalled", "the producer recalled this item: do not buy or use it")
        return Verdict(RECALLED, (recalled, *_suspect_reasons(evidence, limits)), item_info)
    suspect = _suspect_reasons(evidence, limits)
    if suspect:
        return Verdict(SUSPECT, tuple(suspect), item_info)
    where = "held by " + item.custodian if item.status != "sold" else "sold to a consumer"
    genuine = _reason(
        "custody_verified",
        f"signed by its producer and recorded in the ledger from {item.producer} to now ({where})",
        custodian=item.custodian,
        status=item.status,
    )
    return Verdict(GENUINE, (genuine,), item_info)
