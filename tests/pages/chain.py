"""The small supply chain the page tests show: a genuine item held by a seller with a live
listing, a recalled lot, a never-commissioned (counterfeit) code, and a second listing whose
lot the tests recall while its overlay is on screen.

Names carry Vietnamese diacritics on purpose: the pages must render them, not fold them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.provenance.events.names import RECALL
from ledger.usecases.service import LogService
from tests.conftest import initialized
from tests.supply import GTIN, GTIN_B, PRODUCER_PREFIX, T0, Supply, gtin_for, ids, standard

GTIN_C = gtin_for(PRODUCER_PREFIX, "00003")
PLATFORM = "tiktok"
LISTING = "L-100"  # GTIN, backed by shop-a's stock
LIVE_LISTING = "L-200"  # GTIN_C, recalled during the overlay test
STREAM = "live-2026-11-23"
NAMES = {
    GTIN: "Nước mắm Phú Quốc 40N 500 ml",
    GTIN_B: "Cà phê rang xay Buôn Ma Thuột 500 g",
    GTIN_C: "Bánh tráng Tây Ninh",
}


@dataclass(frozen=True)
class Chain:
    supply: Supply
    genuine: str  # item codes (URIs on the resolver)
    recalled: str
    counterfeit: str


def _code(gtin: str, serial: str, lot: str, key: PrivateKey, resolver: str) -> str:
    return issue_uri(CodeIdentity(gtin, serial, lot, "271231"), key, resolver)


def build_chain(service: LogService, operator: PrivateKey, resolver: str) -> Chain:
    """Commission, ship to the distributor, on to shop-a, list; recall lot R1; checkpoint."""
    s = standard(service, operator)
    fish = s.keys["fishco"]
    for gtin, lot, prefix in ((GTIN, "L1", "G"), (GTIN_B, "R1", "R"), (GTIN_C, "O1", "O")):
        serials = [f"{prefix}{n:03d}" for n in range(1, 6)]
        s.commission(
            "fishco",
            gtin,
            {"list": serials},
            lot=lot,
            expiry="271231",
            product={"name": NAMES[gtin]},
        )
        s.ship("fishco", "distri", ids(gtin, *serials), f"S-{prefix}")
        s.receive("distri", "fishco", f"S-{prefix}")
        s.ship("distri", "shop-a", ids(gtin, *serials), f"D-{prefix}")
        s.receive("shop-a", "distri", f"D-{prefix}")
    s.listing("shop-a", PLATFORM, LISTING, GTIN, quantity=5, stream_id=STREAM)
    s.listing("shop-a", PLATFORM, LIVE_LISTING, GTIN_C, quantity=3, stream_id=STREAM)
    s.ok(RECALL, s.event("fishco", gtin=GTIN_B, scope="lot", lot="R1", reason="mould"), fish)
    service.checkpoint(now=s.tick())
    return Chain(
        supply=s,
        genuine=_code(GTIN, "G001", "L1", fish, resolver),
        recalled=_code(GTIN_B, "R002", "R1", fish, resolver),
        counterfeit=_code(GTIN, "G999", "L1", fish, resolver),  # never commissioned
    )


def recall_live_lot(chain: Chain) -> None:
    """The producer recalls the lot behind the live listing (while its overlay is shown)."""
    s = chain.supply
    body = s.event("fishco", gtin=GTIN_C, scope="lot", lot="O1", reason="foreign matter")
    s.ok(RECALL, body, s.keys["fishco"])


def fresh_service(store: object, operator: PrivateKey) -> LogService:
    service = initialized(store, operator, now=T0 - 10_000)
    service.log_key = operator
    return service
