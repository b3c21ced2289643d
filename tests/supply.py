"""A test supply chain: actors with deterministic TEST ONLY keys, and one-line event helpers.

``Supply(service)`` registers nothing by itself; ``standard(service)`` registers the cast
used across the provenance tests: the operator, a producer (GS1 prefix 8930001), a
distributor, two verified sellers on different platforms, an unverified seller and a
second producer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.codes.gs1 import check_digit
from ledger.codes.identifiers import item_id
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.provenance.events.names import (
    ACTOR_REGISTER,
    COMMISSION,
    LISTING_DECLARE,
    PACK,
    RECEIVE,
    SHIP,
)
from ledger.usecases.append import Accepted, Rejected
from ledger.usecases.service import LogService

T0 = 1_760_000_000_000  # a fixed clock for tests (ms)
TZ = "+07:00"


def gtin_for(prefix: str, ref: str) -> str:
    """A GTIN-14 (indicator 0) from a company prefix and an item reference."""
    body = "0" + prefix + ref
    body = body[:13].ljust(13, "0")
    return body + check_digit(body)


PRODUCER_PREFIX = "8930001"
OTHER_PREFIX = "8930002"
GTIN = gtin_for(PRODUCER_PREFIX, "00001")
GTIN_B = gtin_for(PRODUCER_PREFIX, "00002")
OTHER_GTIN = gtin_for(OTHER_PREFIX, "00001")
SSCC_BASE = "0" + PRODUCER_PREFIX + "000000001"


def sscc_for(n: int) -> str:
    body = SSCC_BASE[: -len(str(n))] + str(n)
    return body + check_digit(body)


def key_for(name: str) -> PrivateKey:
    """A deterministic TEST ONLY key per name."""
    seed = (name.encode() * 32)[:32]
    return PrivateKey.from_seed(seed)


@dataclass
class Supply:
    service: LogService
    operator: PrivateKey
    now: int = T0
    keys: dict[str, PrivateKey] = field(default_factory=dict)
    counter: int = 0

    def tick(self, ms: int = 1_000) -> int:
        self.now += ms
        return self.now

    def submit(self, kind: str, body: dict[str, Any], key: PrivateKey) -> Accepted | Rejected:
        envelope = sign_entry(kind, body, key)
        return self.service.append([envelope], now=self.tick())[0]

    def ok(self, kind: str, body: dict[str, Any], key: PrivateKey) -> Accepted:
        outcome = self.submit(kind, body, key)
        assert isinstance(outcome, Accepted), f"{kind} rejected: {outcome}"
        return outcome

    def refused(self, code: str, kind: str, body: dict[str, Any], key: PrivateKey) -> Rejected:
        outcome = self.submit(kind, body, key)
        assert isinstance(outcome, Rejected), f"{kind} was accepted, expected {code}"
        assert outcome.code == code, f"expected {code}, got {outcome.code}: {outcome.message}"
        return outcome

    def event(self, actor: str, **fields: Any) -> dict[str, Any]:
        self.counter += 1
        return {"actor": actor, "event_time": self.now + self.counter, "tz": TZ, **fields}

    def register(
        self,
        actor_id: str,
        role: str,
        *,
        verified: bool = True,
        prefixes: tuple[str, ...] = (),
        handles: tuple[str, ...] = (),
        name: str | None = None,
    ) -> PrivateKey:
        key = key_for(actor_id)
        actor: dict[str, Any] = {
            "id": actor_id,
            "role": role,
            "name": name or actor_id.title(),
            "country": "VN",
            "verified": verified,
        }
        if prefixes:
            actor["prefixes"] = list(prefixes)
        if handles:
            actor["handles"] = list(handles)
        self.ok(
            ACTOR_REGISTER,
            {"actor": actor, "keys": [key.public_key.to_text()], "event_time": self.now},
            self.operator,
        )
        self.keys[actor_id] = key
        return key

    # --- event shorthands (actor names their own key) -----------------------------------

    def commission(self, actor: str, gtin: str, serials: dict[str, Any], **extra: Any) -> Accepted:
        return self.ok(
            COMMISSION, self.event(actor, gtin=gtin, serials=serials, **extra), self.keys[actor]
        )

    def pack(self, actor: str, parent: str, children: list[str]) -> Accepted:
        return self.ok(PACK, self.event(actor, parent=parent, children=children), self.keys[actor])

    def ship(self, actor: str, to: str, items: list[str], shipment: str) -> Accepted:
        body = self.event(actor, shipment=shipment, to=to, items=items)
        return self.ok(SHIP, body, self.keys[actor])

    def receive(self, actor: str, sender: str, shipment: str) -> Accepted:
        body = self.event(actor, shipment=shipment, **{"from": sender})
        return self.ok(RECEIVE, body, self.keys[actor])

    def listing(self, actor: str, platform: str, listing: str, gtin: str, **extra: Any) -> Accepted:
        body = {
            "actor": actor,
            "platform": platform,
            "listing_id": listing,
            "gtin": gtin,
            "event_time": self.tick(0) + 1,
            **extra,
        }
        return self.ok(LISTING_DECLARE, body, self.keys[actor])


def standard(service: LogService, operator: PrivateKey, now: int = T0) -> Supply:
    supply = Supply(service, operator, now=now)
    supply.keys["operator"] = operator
    supply.register("fishco", "producer", prefixes=(PRODUCER_PREFIX,))
    supply.register("ricecorp", "producer", prefixes=(OTHER_PREFIX,))
    supply.register("distri", "distributor")
    supply.register("shop-a", "seller", handles=("tiktok:@shopa",))
    supply.register("shop-b", "seller", handles=("shopee:12345",))
    supply.register("shop-x", "seller", verified=False, handles=("tiktok:@shopx",))
    return supply


#: The resolver and clock of the verify tests (tests/integration/conftest.py ``story``).
VERIFY_RESOLVER = "https://vt.example.vn"
VERIFY_NOW = 1_790_000_000_000


def signed_code(s: Supply, serial: str, lot: str = "L7") -> str:
    """fishco's signed code of an item of GTIN, on VERIFY_RESOLVER."""
    return issue_uri(CodeIdentity(GTIN, serial, lot), s.keys["fishco"], VERIFY_RESOLVER)


def ids(gtin: str, *serials: str) -> list[str]:
    return [item_id(gtin, s) for s in serials]
