"""The cast and the facts of the sample supply chain, shared by the build and the demo.

A Phu Quoc fish-sauce producer with the OCOP label sells through a distributor to two
livestream sellers: one on TikTok Shop, one on Shopee. A counterfeiter, who never registers
with the ledger, reprints the label of a genuine bottle that the TikTok seller holds, and
the Shopee seller shows that reprint in a live stream. Names, the GS1 company prefix (893 is
GS1 Vietnam's range), listing ids and handles are invented for the demo.

Keys are TEST ONLY: each is derived from a public name (``test_key``), so anyone can
recompute it. The clock is fixed (``CLOCK_MS``) so every build makes the same ledger, codes
and labels.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from ledger.codes.gs1 import check_digit
from ledger.keys import PrivateKey

__all__ = [
    "CAST",
    "CLOCK_MS",
    "COUNTERFEITER",
    "DEFAULT_RESOLVER",
    "DISTRIBUTOR",
    "LISTING_A",
    "LISTING_B",
    "OPERATOR",
    "ORIGIN",
    "PREFIX",
    "PRODUCER",
    "PRODUCTS",
    "SELLER_A",
    "SELLER_B",
    "TZ",
    "Member",
    "Offer",
    "Product",
    "gtin_for",
    "key_file_name",
    "sscc_for",
    "test_key",
]

_KEY_CONTEXT = b"tracemark/samples/TEST-ONLY\x00"

DEFAULT_RESOLVER = "http://localhost:8000"  # what `tracemark serve` answers by default
ORIGIN = "demo.tracemark.localhost/log"
TZ = "+07:00"
#: 2026-11-16 08:00 in Vietnam: the log starts here and the story moves on from it.
CLOCK_MS = int(
    dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp() * 1000
)
PREFIX = "8936179"  # a GS1 company prefix in Vietnam's 893 range (made up)


def test_key(name: str) -> PrivateKey:
    """The TEST ONLY key of a cast member: its seed is a hash of the name, public by design."""
    return PrivateKey.from_seed(hashlib.sha256(_KEY_CONTEXT + name.encode("utf-8")).digest())


def key_file_name(name: str) -> str:
    """``<name>.TEST-ONLY.key``: the file name says what the key is worth."""
    return f"{name}.TEST-ONLY.key"


def gtin_for(prefix: str, reference: str) -> str:
    """The GTIN-14 (indicator digit 0) of a company prefix and an item reference."""
    body = "0" + prefix + reference
    if len(body) != 13:
        raise ValueError(f"prefix and reference make {len(body) - 1} digits, not 12")
    return body + check_digit(body)


def sscc_for(prefix: str, number: int) -> str:
    """The SSCC of shipping case ``number``: extension 0, the prefix, a serial reference."""
    body = "0" + prefix + str(number).zfill(16 - len(prefix))
    return body + check_digit(body)


@dataclass(frozen=True, slots=True)
class Member:
    """Someone in the story: an actor of the ledger, or (``registered`` False) not."""

    actor_id: str
    role: str
    name: str
    prefixes: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    registered: bool = True

    @property
    def key(self) -> PrivateKey:
        return test_key(self.actor_id)


@dataclass(frozen=True, slots=True)
class Product:
    """A product, its lot and the serials commissioned in it (``<prefix><0001..count>``)."""

    gtin: str
    name: str
    lot: str
    expiry: str  # YYMMDD
    serial_prefix: str
    count: int

    def serial(self, number: int) -> str:
        return f"{self.serial_prefix}{number:04d}"


@dataclass(frozen=True, slots=True)
class Offer:
    """A seller's listing on a platform, sold in a live stream."""

    seller: Member
    platform: str
    listing_id: str
    stream_id: str
    quantity: int

    @property
    def handle(self) -> str:
        return next(h for h in self.seller.handles if h.startswith(self.platform + ":"))


OPERATOR = Member("operator", "operator", "Tracemark Demo Operator (TEST ONLY)")
PRODUCER = Member(
    "thanhha-fishsauce",
    "producer",
    "Thanh Hà Phú Quốc Fish Sauce Co. (OCOP 4 sao)",
    prefixes=(PREFIX,),
)
DISTRIBUTOR = Member("mekong-distribution", "distributor", "Mekong Fresh Distribution JSC")
SELLER_A = Member(
    "bep-nha-minh", "seller", "Bếp Nhà Minh (livestream shop)", handles=("tiktok:@bepnhaminh",)
)
SELLER_B = Member(
    "hai-san-cho-lon",
    "seller",
    "Hải Sản Chợ Lớn (livestream shop)",
    handles=("shopee:haisancholon",),
)
COUNTERFEITER = Member("counterfeiter", "none", "a label printer in a back room", registered=False)
CAST = (OPERATOR, PRODUCER, DISTRIBUTOR, SELLER_A, SELLER_B, COUNTERFEITER)

PRODUCTS = (
    Product(
        gtin_for(PREFIX, "00012"),
        "Nước mắm Phú Quốc 40 độ đạm, chai 500 ml",
        "L2611A",
        "281031",
        "PQA",
        48,
    ),
    Product(
        gtin_for(PREFIX, "00029"),
        "Nước mắm Phú Quốc 35 độ đạm, chai 1 lít",
        "L2611B",
        "281130",
        "PQB",
        12,
    ),
)

LISTING_A = Offer(SELLER_A, "tiktok", "1731188402194205", "live-bepnhaminh-20261119", 10)
LISTING_B = Offer(SELLER_B, "shopee", "24518307719", "live-haisancholon-20261119", 4)
