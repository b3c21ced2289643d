"""An independent model of custody, for the stateful test in test_custody_stateful.py.

Written from the rules' documentation (docs/format.md), not from
``ledger.provenance.rules.custody``: given
the model's state and one signed entry, ``CustodyModel.outcome`` predicts whether the log
accepts it or which rule code refuses it (the first failing check), and ``apply`` performs
an accepted entry on the model. The test compares the prediction with the log's answer
after every step, and the stored projection with the model.

The cast is the one ``tests.supply.standard`` registers: the operator (its genesis key is
``OPERATOR_KEY``), two producers with one GS1 company prefix each, a distributor, two
verified sellers and an unverified one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger.codes.identifiers import item_id
from ledger.keys import PrivateKey, PublicKey
from ledger.provenance.records import (
    ACTIVE,
    CLOSED,
    DESTROYED,
    IN_TRANSIT,
    OPEN,
    SOLD,
    Actor,
    Item,
    KeyRecord,
    Listing,
    Recall,
    Shipment,
    View,
)
from ledger.provenance.rules.custody import MAX_SKEW_MS, claim_commitment
from tests.supply import GTIN, GTIN_B, OTHER_GTIN, OTHER_PREFIX, PRODUCER_PREFIX, gtin_for

OPERATOR_KEY = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY (as the operator_key fixture)
STRANGER = PrivateKey.from_seed(b"stranger" * 4)  # TEST ONLY, never registered
#: GS1 company prefixes registered by the cast, and one that nobody registers.
PREFIXES = {PRODUCER_PREFIX: "fishco", OTHER_PREFIX: "ricecorp"}
FREE_PREFIX = "8930003"
GTIN_C = gtin_for(OTHER_PREFIX, "00002")
ORPHAN_GTIN = gtin_for(FREE_PREFIX, "00001")  # no producer owns this prefix
GTINS = (GTIN, GTIN_B, OTHER_GTIN, GTIN_C, ORPHAN_GTIN)
LISTED_SERIALS = tuple(f"S{n}" for n in range(1, 13))
NEVER = item_id(GTIN, "NEVER1")  # a well-formed item id nobody commissions
NEVER_PARENT = item_id(GTIN_B, "NEVER2")
ACTORS = ("operator", "fishco", "ricecorp", "distri", "shop-a", "shop-b", "shop-x")
PRODUCERS = ("fishco", "ricecorp")
SELLERS = ("shop-a", "shop-b", "shop-x")
PLATFORMS = ("tiktok", "shopee")
LISTING_IDS = ("L1", "L2", "L3")
HANDLES = (
    "tiktok:@shopa",
    "shopee:12345",
    "tiktok:@shopx",
    "shopee:@new",
    "tiktok:@new",
    # Other spellings of the same accounts: one handle each (docs/format.md, handles).
    "tiktok:@ShopA",
    "tiktok:shopx",
    "shopee:@New",
)


def canonical(handle: str) -> str:
    """A handle as the ledger keeps it: no leading '@'; TikTok and Shopee ignore case."""
    platform, account = handle.split(":", 1)
    account = account.lstrip("@")
    return f"{platform}:{account.lower() if platform in ('tiktok', 'shopee') else account}"


def prefix_owner(digits: str) -> str | None:
    """The producer whose company prefix follows the first digit of a GTIN-14 or SSCC."""
    return next((a for p, a in PREFIXES.items() if digits[1:].startswith(p)), None)


OWNERS = {g: owner for g in GTINS if (owner := prefix_owner(g)) is not None}


def _check_digit(body: str) -> str:
    """GS1 mod-10: weights 3, 1, 3, ... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def sscc_in(prefix: str, n: int) -> str:
    """The item id of SSCC number ``n`` in a company prefix (extension digit 0)."""
    body = "0" + prefix + str(n).rjust(16 - len(prefix), "0")
    return f"00/{body}{_check_digit(body)}"


def expand(serials: dict[str, Any]) -> list[str]:
    """The members of a serial set: its list, then each range's zero-padded numbers."""
    out = list(serials.get("list", ()))
    for r in serials.get("ranges", ()):
        out += [f"{r['prefix']}{n:0{r['width']}d}" for n in range(r["first"], r["last"] + 1)]
    return out


@dataclass
class MItem:
    gtin: str  # "" for an SSCC
    lot: str
    custodian: str
    status: str = ACTIVE
    parent: str = ""
    recalled: bool = False
    claim_commitment: str = ""
    claimed_by: str = ""
    pending_to: str = ""
    shipment: str = ""


@dataclass
class MKey:
    actor: str
    revoked: bool = False
    effective: int = -1
    compromised: int = -1

    def valid_at(self, time_ms: int) -> bool:
        if not self.revoked:
            return True
        if 0 <= self.compromised <= time_ms:
            return False
        return time_ms < self.effective


@dataclass
class MActor:
    role: str
    verified: bool
    handles: tuple[str, ...]
    status: str = "active"


@dataclass
class MShipment:
    receiver: str
    items: list[str]
    status: str = IN_TRANSIT


@dataclass
class MListing:
    seller: str
    status: str = OPEN


def _cast() -> dict[str, MActor]:
    return {
        "operator": MActor("operator", True, ()),
        "fishco": MActor("producer", True, ()),
        "ricecorp": MActor("producer", True, ()),
        "distri": MActor("distributor", True, ()),
        "shop-a": MActor("seller", True, ("tiktok:shopa",)),
        "shop-b": MActor("seller", True, ("shopee:12345",)),
        "shop-x": MActor("seller", False, ("tiktok:shopx",)),
    }


_HELD_STATUS = {IN_TRANSIT: "item_in_transit", SOLD: "item_sold", DESTROYED: "item_destroyed"}
Body = dict[str, Any]


@dataclass
class CustodyModel:
    """What exists in the log, as the documentation says the entries so far made it."""

    actors: dict[str, MActor] = field(default_factory=_cast)
    keys: dict[str, MKey] = field(default_factory=dict)
    genesis_key: str = OPERATOR_KEY.key_id
    items: dict[str, MItem] = field(default_factory=dict)
    shipments: dict[tuple[str, str], MShipment] = field(default_factory=dict)
    listings: dict[tuple[str, str], MListing] = field(default_factory=dict)
    recalls: set[tuple[str, str]] = field(default_factory=set)

    # --- queries ------------------------------------------------------------------------

    def root(self, ident: str) -> str:
        while self.items[ident].parent:
            ident = self.items[ident].parent
        return ident

    def tree(self, top: str) -> list[str]:
        return [i for i in self.items if self.root(i) == top]

    def trees(self, tops: Iterable[str]) -> list[str]:
        return [i for top in tops for i in self.tree(top)]

    def children(self, parent: str) -> list[str]:
        return [i for i, item in self.items.items() if item.parent == parent]

    def tops(self, actor: str, *, trade: bool = False) -> list[str]:
        """Top-level active items the actor holds (only trade items if ``trade``)."""
        return [
            i
            for i, item in self.items.items()
            if item.custodian == actor
            and item.status == ACTIVE
            and not item.parent
            and (item.gtin or not trade)
        ]

    def holders(self, *, trade: bool = False) -> list[str]:
        return sorted({a for a in ACTORS if self.tops(a, trade=trade)})

    def open_shipments(self) -> list[tuple[str, str]]:
        return sorted(k for k, s in self.shipments.items() if s.status == IN_TRANSIT)

    def is_recalled(self, ident: str) -> bool:
        """Recalled by item, by its lot, or by its whole GTIN."""
        item = self.items[ident]
        if item.recalled:
            return True
        if not item.gtin:
            return False
        if (item.gtin, "") in self.recalls:
            return True
        return bool(item.lot) and (item.gtin, item.lot) in self.recalls

    def stock(self, actor: str, gtin: str) -> int:
        """Sellable items of ``gtin`` the actor holds (active, not recalled)."""
        return sum(
            1
            for ident, item in self.items.items()
            if item.custodian == actor
            and item.gtin == gtin
            and item.status == ACTIVE
            and not self.is_recalled(ident)
        )

    # --- the checks every rule starts with ---------------------------------------------

    def signer_error(
        self, key: PrivateKey, at: int, roles: tuple[str, ...] = (), named: str | None = None
    ) -> tuple[str | None, str]:
        """(refusal code or None, the signing actor) for an entry integrated at ``at``."""
        record = self.keys.get(key.key_id)
        if record is None:
            return "unknown_key", ""
        if not record.valid_at(at):
            return "key_revoked", record.actor
        actor = self.actors[record.actor]
        if actor.status != "active":
            return "actor_suspended", record.actor
        if roles and actor.role not in roles:
            return ("not_operator" if roles == ("operator",) else "wrong_role"), record.actor
        if named is not None and named != record.actor and actor.role != "operator":
            return "signer_mismatch", record.actor
        return None, record.actor

    @staticmethod
    def late(body: Body, at: int) -> bool:
        return body.get("event_time", 0) > at + MAX_SKEW_MS

    def event_error(
        self, body: Body, key: PrivateKey, at: int, roles: tuple[str, ...] = ()
    ) -> str | None:
        """Events are signed by the actor they name, and not dated too far ahead."""
        error, signer = self.signer_error(key, at, roles)
        if error is None and signer != body["actor"]:
            error = "signer_mismatch"
        if error is None and self.late(body, at):
            error = "event_in_future"
        return error

    def registry_error(self, body: Body, key: PrivateKey, at: int, **who: Any) -> str | None:
        """Registry entries: signed by the operator, or (keys) by the actor they name."""
        error, _ = self.signer_error(key, at, **who)
        if error is None and self.late(body, at):
            error = "event_in_future"
        return error

    def held_error(self, actor: str, ids: list[str], *, top_level: bool = True) -> str | None:
        """The first reason the actor may not act on these items, if any."""
        for ident in ids:
            item = self.items.get(ident)
            if item is None:
                return "unknown_item"
            if item.custodian != actor:
                return "not_custodian"
            if item.status in _HELD_STATUS:
                return _HELD_STATUS[item.status]
            if top_level and item.parent:
                return "item_in_container"
        return None

    def recalled_error(self, ids: Iterable[str]) -> str | None:
        return "item_recalled" if any(self.is_recalled(i) for i in ids) else None

    # --- outcomes -------------------------------------------------------------------------

    # Each entry type ``<noun>.<verb>`` has a method ``_<verb>`` (the outcome) and
    # ``_did_<verb>`` (its changes); the verbs are all different.

    def outcome(self, kind: str, body: Body, key: PrivateKey, at: int) -> str:
        """``ok``, or the code the log refuses this entry with when integrated at ``at``."""
        rule: Callable[[Body, PrivateKey, int], str | None]
        rule = getattr(self, "_" + kind.split(".")[1])
        return rule(body, key, at) or "ok"

    def _commission(self, body: Body, key: PrivateKey, at: int) -> str | None:
        error = self.event_error(body, key, at, ("producer",))
        if error is None and OWNERS.get(body["gtin"]) != body["actor"]:
            error = "not_gtin_producer"
        if error is None and any(
            item_id(body["gtin"], s) in self.items for s in expand(body["serials"])
        ):
            error = "serial_commissioned"
        return error

    def _pack(self, body: Body, key: PrivateKey, at: int) -> str | None:
        actor, parent = body["actor"], body["parent"]
        error = self.event_error(body, key, at)
        if error is None and parent not in self.items:
            # An unknown SSCC becomes a container, in its own prefix owner's name only.
            if not parent.startswith("00/"):
                error = "unknown_item"
            elif prefix_owner(parent[3:]) not in (None, actor):
                error = "not_prefix_owner"
        elif error is None:
            error = self.held_error(actor, [parent])
        return error or self.held_error(actor, body["children"])

    def _unpack(self, body: Body, key: PrivateKey, at: int) -> str | None:
        error = self.event_error(body, key, at) or self.held_error(body["actor"], [body["parent"]])
        direct = self.children(body["parent"])
        wanted = body.get("children", direct)
        if error is None and not wanted:
            error = "nothing_to_unpack"
        if error is None and any(c not in direct for c in wanted):
            error = "not_in_container"
        return error

    def _ship(self, body: Body, key: PrivateKey, at: int) -> str | None:
        actor, to = body["actor"], body["to"]
        if (error := self.event_error(body, key, at)) is not None:
            return error
        if to not in self.actors:
            return "unknown_actor"
        if self.actors[to].status != "active":
            return "actor_suspended"
        if to == actor:
            return "self_shipment"
        if (actor, body["shipment"]) in self.shipments:
            return "shipment_exists"
        return self.held_error(actor, body["items"])

    def _receive(self, body: Body, key: PrivateKey, at: int) -> str | None:
        if (error := self.event_error(body, key, at)) is not None:
            return error
        shipment = self.shipments.get((body["from"], body["shipment"]))
        if shipment is None:
            return "unknown_shipment"
        if shipment.receiver != body["actor"]:
            return "not_receiver"
        return "shipment_closed" if shipment.status != IN_TRANSIT else None

    def _cancel_shipment(self, body: Body, key: PrivateKey, at: int) -> str | None:
        if (error := self.event_error(body, key, at)) is not None:
            return error
        shipment = self.shipments.get((body["actor"], body["shipment"]))
        if shipment is None:
            return "unknown_shipment"
        return "shipment_closed" if shipment.status != IN_TRANSIT else None

    def _sell(self, body: Body, key: PrivateKey, at: int) -> str | None:
        tops = body["items"]
        error = self.event_error(body, key, at) or self.held_error(body["actor"], tops)
        if error is None and any(not self.items[i].gtin for i in tops):
            error = "not_sellable"
        # Recalled goods may not be sold, also not inside a container.
        return error or self.recalled_error(self.trees(tops))

    def _claim(self, body: Body, key: PrivateKey, at: int) -> str | None:  # noqa: PLR0911
        item = self.items.get(body["item"])
        if self.late(body, at):
            return "event_in_future"
        if item is None:
            return "unknown_item"
        if item.status != SOLD:
            return "not_sold"
        if not item.claim_commitment:
            return "no_claim_commitment"
        if item.claimed_by:
            return "already_claimed"
        if claim_commitment(body["item"], body["secret"]) != item.claim_commitment:
            return "claim_mismatch"
        return None

    def _recall(self, body: Body, key: PrivateKey, at: int) -> str | None:
        gtin = body["gtin"]
        error = self.event_error(body, key, at, ("producer",))
        if error is None and OWNERS.get(gtin) != body["actor"]:
            error = "not_gtin_producer"
        if error is not None:
            return error
        if body["scope"] == "items":
            missing = any(item_id(gtin, s) not in self.items for s in body["serials"])
            return "unknown_item" if missing else None
        return "already_recalled" if (gtin, body.get("lot", "")) in self.recalls else None

    def _decommission(self, body: Body, key: PrivateKey, at: int) -> str | None:
        return self.event_error(body, key, at) or self.held_error(body["actor"], body["items"])

    def _repack(self, body: Body, key: PrivateKey, at: int) -> str | None:
        outputs = body["outputs"]
        error = self.event_error(body, key, at)
        if error is None and OWNERS.get(outputs["gtin"]) != body["actor"]:
            error = "not_gtin_producer"
        error = error or self.held_error(body["actor"], body["inputs"])
        # Recalled goods may not be repackaged, also not inside a container.
        error = error or self.recalled_error(self.trees(body["inputs"]))
        new = [item_id(outputs["gtin"], s) for s in expand(outputs["serials"])]
        if error is None and any(i in self.items for i in new):
            error = "serial_commissioned"
        return error

    def _declare(self, body: Body, key: PrivateKey, at: int) -> str | None:  # noqa: PLR0911
        actor, gtin = body["actor"], body["gtin"]
        if (error := self.event_error(body, key, at, ("seller", "retailer"))) is not None:
            return error
        seller = self.actors[actor]
        existing = self.listings.get((body["platform"], body["listing_id"]))
        if not seller.verified:
            return "seller_not_verified"
        if not any(h.startswith(body["platform"] + ":") for h in seller.handles):
            return "handle_not_registered"
        # A listing id is taken while open, and for good by its seller once closed.
        if existing is not None and (existing.status == OPEN or existing.seller != actor):
            return "listing_exists"
        if gtin not in OWNERS:
            return "unknown_producer"
        if (gtin, "") in self.recalls:
            return "item_recalled"
        if "serials" in body:
            serials = body["serials"]
            return self.held_error(actor, serials, top_level=False) or self.recalled_error(serials)
        return "insufficient_stock" if self.stock(actor, gtin) < body["quantity"] else None

    def _close(self, body: Body, key: PrivateKey, at: int) -> str | None:
        if (error := self.event_error(body, key, at)) is not None:
            return error
        listing = self.listings.get((body["platform"], body["listing_id"]))
        if listing is None:
            return "unknown_listing"
        if listing.seller != body["actor"] and self.actors[body["actor"]].role != "operator":
            return "not_listing_owner"
        return "listing_closed" if listing.status != OPEN else None

    def _add(self, body: Body, key: PrivateKey, at: int) -> str | None:
        error = self.registry_error(body, key, at, named=body["actor"])
        if error is None and body["actor"] not in self.actors:
            error = "unknown_actor"
        if error is None and PublicKey.from_text(body["key"]).key_id in self.keys:
            error = "key_exists"
        return error

    def _revoke(self, body: Body, key: PrivateKey, at: int) -> str | None:
        if (error := self.registry_error(body, key, at, named=body["actor"])) is not None:
            return error
        target = self.keys.get(body["key_id"])
        if target is None or target.actor != body["actor"]:
            return "not_actor_key"
        if body["key_id"] == self.genesis_key:
            return "operator_key"
        if not target.revoked:
            return None
        # A revocation may only be tightened: earlier, or compromised from earlier.
        compromised = body.get("compromised_since", -1)
        earlier = body["effective_time"] < target.effective
        worse = compromised >= 0 and (target.compromised < 0 or compromised < target.compromised)
        return None if earlier or worse else "already_revoked"

    def _update(self, body: Body, key: PrivateKey, at: int) -> str | None:
        subject = body["id"]
        error = self.registry_error(body, key, at, roles=("operator",))
        if error is not None:
            return error
        if subject not in self.actors:
            return "unknown_actor"
        if self.actors[subject].role == "operator" and body.get("status", "active") != "active":
            return "not_operator"
        others = [a.handles for name, a in self.actors.items() if name != subject]
        wanted = [canonical(h) for h in body.get("handles", ())]
        taken = any(h in handles for h in wanted for handles in others)
        return "handle_taken" if taken else None

    def assert_matches(self, view: View) -> None:
        """The stored projection holds what the model says, item by item."""
        items = {item.item_id: item for item in view.rows(Item.TABLE)}
        assert set(items) == set(self.items)
        for ident, item in self.items.items():
            have = {name: getattr(items[ident], name) for name in asdict(item)}
            assert (have, items[ident].root) == (asdict(item), self.root(ident)), ident
        for (sender, sid), shipment in self.shipments.items():
            record = view.get(Shipment, (sender, sid))
            assert record is not None and record.status == shipment.status
        for (platform, lid), listing in self.listings.items():
            found = view.get(Listing, (platform, lid))
            assert found is not None
            assert (found.seller, found.status) == (listing.seller, listing.status)
        assert {(r.gtin, r.lot) for r in view.rows(Recall.TABLE)} == self.recalls
        for actor_id, actor in self.actors.items():
            record = view.get(Actor, (actor_id,))
            assert record is not None
            assert (record.status, record.verified) == (actor.status, actor.verified)
            assert record.handles == actor.handles
        for key_id, key in self.keys.items():
            stored = view.get(KeyRecord, (key_id,))
            assert stored is not None and stored.actor_id == key.actor
            revocation = (stored.revoked, stored.effective_time, stored.compromised_since)
            assert revocation == (key.revoked, key.effective, key.compromised), key_id

    # --- accepted entries -----------------------------------------------------------------

    def apply(self, kind: str, body: Body, key: PrivateKey) -> None:
        """What an accepted entry changes (only called after the log accepted it)."""
        getattr(self, "_did_" + kind.split(".")[1])(body, key)

    def set_tree(self, top: str, **changes: Any) -> None:
        for ident in self.tree(top):
            for name, value in changes.items():
                setattr(self.items[ident], name, value)

    def _new_items(self, gtin: str, serials: dict[str, Any], lot: str, actor: str) -> None:
        for serial in expand(serials):
            self.items[item_id(gtin, serial)] = MItem(gtin, lot, actor)

    def _did_commission(self, body: Body, key: PrivateKey) -> None:
        self._new_items(body["gtin"], body["serials"], body.get("lot", ""), body["actor"])

    def _did_pack(self, body: Body, key: PrivateKey) -> None:
        if body["parent"] not in self.items:
            self.items[body["parent"]] = MItem("", "", body["actor"])
        for child in body["children"]:
            self.items[child].parent = body["parent"]

    def _did_unpack(self, body: Body, key: PrivateKey) -> None:
        for child in body.get("children", self.children(body["parent"])):
            self.items[child].parent = ""

    def _did_ship(self, body: Body, key: PrivateKey) -> None:
        actor, to, ref = body["actor"], body["to"], f"{body['actor']}/{body['shipment']}"
        for top in body["items"]:
            self.set_tree(top, status=IN_TRANSIT, pending_to=to, shipment=ref)
        self.shipments[(actor, body["shipment"])] = MShipment(to, list(body["items"]))

    def _did_receive(self, body: Body, key: PrivateKey) -> None:
        shipment = self.shipments[(body["from"], body["shipment"])]
        for top in shipment.items:
            self.set_tree(top, status=ACTIVE, custodian=body["actor"], pending_to="", shipment="")
        shipment.status = "received"

    def _did_cancel_shipment(self, body: Body, key: PrivateKey) -> None:
        shipment = self.shipments[(body["actor"], body["shipment"])]
        for top in shipment.items:
            self.set_tree(top, status=ACTIVE, pending_to="", shipment="")
        shipment.status = "cancelled"

    def _did_sell(self, body: Body, key: PrivateKey) -> None:
        claims = body.get("claims", {})
        for ident in self.trees(body["items"]):
            self.items[ident].status = SOLD
            self.items[ident].claim_commitment = claims.get(ident, "")

    def _did_claim(self, body: Body, key: PrivateKey) -> None:
        self.items[body["item"]].claimed_by = key.key_id

    def _did_recall(self, body: Body, key: PrivateKey) -> None:
        if body["scope"] == "items":
            for serial in body["serials"]:
                self.items[item_id(body["gtin"], serial)].recalled = True
        else:
            self.recalls.add((body["gtin"], body.get("lot", "")))

    def _did_decommission(self, body: Body, key: PrivateKey) -> None:
        for top in body["items"]:
            self.set_tree(top, status=DESTROYED)

    def _did_repack(self, body: Body, key: PrivateKey) -> None:
        self._did_decommission({"items": body["inputs"]}, key)
        outputs = body["outputs"]
        self._new_items(outputs["gtin"], outputs["serials"], outputs.get("lot", ""), body["actor"])

    def _did_declare(self, body: Body, key: PrivateKey) -> None:
        self.listings[(body["platform"], body["listing_id"])] = MListing(body["actor"])

    def _did_close(self, body: Body, key: PrivateKey) -> None:
        self.listings[(body["platform"], body["listing_id"])].status = CLOSED

    def _did_add(self, body: Body, key: PrivateKey) -> None:
        self.keys[PublicKey.from_text(body["key"]).key_id] = MKey(body["actor"])

    def _did_revoke(self, body: Body, key: PrivateKey) -> None:
        """The stored revocation is the tightest of all: earliest effective and compromised."""
        target = self.keys[body["key_id"]]
        effective, compromised = body["effective_time"], body.get("compromised_since", -1)
        if target.revoked:
            effective = min(effective, target.effective)
            known = [c for c in (compromised, target.compromised) if c >= 0]
            compromised = min(known, default=-1)
        target.revoked, target.effective, target.compromised = True, effective, compromised

    def _did_update(self, body: Body, key: PrivateKey) -> None:
        actor = self.actors[body["id"]]
        actor.status = body.get("status", actor.status)
        actor.verified = body.get("verified", actor.verified)
        if "handles" in body:
            actor.handles = tuple(dict.fromkeys(canonical(h) for h in body["handles"]))
