"""What a verdict is decided from: the scan's context, where that context comes from, the
item's and the key's facts, and what other vouched contexts saw. Pure data, no I/O.

Evidence has a source (DESIGN.md, section 5). A context is only as good as whoever vouches
for it:

    platform   the request carried a platform API key: that platform vouches for the
               stream, listing and seller it names
    overlay    the request carried a valid overlay nonce: the operator signed that this
               listing QR was shown in this stream, and the listing's seller signed it
    session    the seller of a declared stream session signed the scan context itself
    anonymous  anything else: naming a platform, seller or stream vouches for nothing

Only vouched contexts (the first three) are kept as evidence other verdicts may read; an
anonymous one is kept as a weak signal for the producer and never read by the clone rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.verdicts.model import Verdict

__all__ = [
    "ANONYMOUS",
    "OVERLAY",
    "PLATFORM",
    "SESSION",
    "SOURCES",
    "VOUCHED",
    "Evidence",
    "ItemFacts",
    "KeyFacts",
    "ScanContext",
    "ScanRecord",
    "Thresholds",
]

PLATFORM = "platform"
SESSION = "session"
OVERLAY = "overlay"
ANONYMOUS = "anonymous"
SOURCES = (PLATFORM, SESSION, OVERLAY, ANONYMOUS)
VOUCHED = frozenset({PLATFORM, SESSION, OVERLAY})


@dataclass(frozen=True, slots=True)
class ScanContext:
    """Where a code was scanned: all optional. ``seller`` is an actor id once resolved (from
    a listing, a stream session or a normalised handle by the service); ``source`` says
    who vouches for the context; ``session`` is the declared stream session it is bound to
    (a restarted stream is a new segment of the same session)."""

    platform: str = ""
    stream_id: str = ""
    listing_id: str = ""
    seller: str = ""
    device: str = ""  # a coarse, salted device hash; never personal data
    place: str = ""  # a coarse place (country or city code)
    source: str = ANONYMOUS
    session: str = ""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown evidence source {self.source!r}")

    @property
    def offered(self) -> bool:
        """Is the item being offered for sale (a listing or a live stream)?"""
        return bool(self.listing_id or self.stream_id or self.session)

    @property
    def vouched(self) -> bool:
        return self.source in VOUCHED

    @property
    def offer(self) -> str:
        """One key per offer: a seller (all its sessions, streams and listings), else a
        session (all its segments), else a stream or listing of a platform. A seller whose
        stream drops and restarts is one offer, and so is a seller's session beside a
        platform's check of the same seller's listing."""
        if self.seller:
            return f"seller:{self.seller}"
        if self.session:
            return f"session:{self.platform}:{self.session}"
        if self.stream_id:
            return f"stream:{self.platform}:{self.stream_id}"
        return f"listing:{self.platform}:{self.listing_id}" if self.listing_id else ""


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
    #: Integrated time of the item's latest entry: contexts seen before it describe an
    #: earlier custody (a seller who shipped the item on is no clone).
    changed_time: int = 0

    def holds(self, seller: str) -> bool:
        """Is ``seller`` the custodian (or the named receiver of the item in transit)?"""
        return bool(seller) and seller in (self.custodian, self.pending_to)


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
    max_streams: int = 1  # one physical item is offered in one place at a time
    max_places: int = 3
    max_devices: int = 50


@dataclass(frozen=True, slots=True)
class Evidence:
    """``code``: the offline check (ledger.codes.signed); ``seller_known``: whether the context's
    seller, if any, is a registered actor; ``recent``: other contexts that saw the item
    within the window (the service passes vouched ones only; ``decide`` checks again);
    ``unknown_sellers``: the sellers of those contexts that no registered actor is."""

    code: Verdict
    item: ItemFacts | None
    key: KeyFacts | None
    context: ScanContext
    recent: Sequence[ScanRecord] = ()
    listing_sellers: frozenset[str] = field(default_factory=frozenset)  # listings naming it
    seller_known: bool = True
    #: Sellers of ``recent`` contexts that are no registered actor (a handle nobody holds):
    #: never counted as a second seller.
    unknown_sellers: frozenset[str] = field(default_factory=frozenset)
