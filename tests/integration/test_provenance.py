"""The supply chain end to end on every backend: each move, and each forbidden move.

The story: the operator registers a producer, a distributor and sellers; the producer
commissions 10,000 items as one range, packs them in cases, ships a case; the distributor
receives and ships to a seller; the seller lists them. Every forbidden move along the way is
attempted and refused with its rule code. Runs on the memory fake, SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.codes.identifiers import item_id
from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE, sign_entry
from ledger.provenance.events.names import (
    ACTOR_REGISTER,
    ACTOR_UPDATE,
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    KEY_ADD,
    KEY_REVOKE,
    LISTING_CLOSE,
    LISTING_DECLARE,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)
from ledger.provenance.records import Handle, Item, KeyRecord, Listing
from ledger.provenance.rules.custody import claim_commitment
from tests.conftest import BACKENDS, initialized, make_store
from tests.supply import (
    GTIN,
    GTIN_B,
    OTHER_GTIN,
    T0,
    TZ,
    Supply,
    ids,
    key_for,
    sscc_for,
    standard,
)

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(params=BACKENDS)
def supply(
    request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[Supply]:
    store = make_store(request.param, request, tmp_path)
    service = initialized(store, operator_key, now=T0 - 10_000)
    yield standard(service, operator_key)
    store.close()


def item(supply: Supply, ident: str) -> Item:
    with supply.service.store.reader() as view:
        found = view.get(Item, (ident,))
    assert found is not None, ident
    return found


RANGE_10K = {"ranges": [{"prefix": "FS", "first": 1, "last": 10_000, "width": 6}]}


def test_full_chain_with_every_forbidden_move(supply: Supply) -> None:
    s = supply
    fish = s.keys["fishco"]
    # Commission 10,000 serials as one small entry.
    accepted = s.commission(
        "fishco",
        GTIN,
        RANGE_10K,
        lot="L2611",
        expiry="271231",
        product={"name": "Nuoc mam Phu Quoc 40N"},
    )
    stored, _entry = s.service.entry(accepted.index)
    assert len(stored.data) < 1_000
    first, last = item_id(GTIN, "FS000001"), item_id(GTIN, "FS010000")
    assert item(s, first).custodian == "fishco" and item(s, last).lot == "L2611"
    # Each serial is commissioned once, ever; only the GTIN's producer commissions it.
    s.refused(
        "serial_commissioned",
        COMMISSION,
        s.event("fishco", gtin=GTIN, serials={"list": ["FS005000"]}),
        fish,
    )
    s.refused(
        "not_gtin_producer",
        COMMISSION,
        s.event("ricecorp", gtin=GTIN, serials={"list": ["Z1"]}),
        s.keys["ricecorp"],
    )
    s.refused(
        "wrong_role",
        COMMISSION,
        s.event("distri", gtin=GTIN, serials={"list": ["Z1"]}),
        s.keys["distri"],
    )

    # Pack the first 20 items into two cases (SSCC), then the cases onto a pallet.
    case1, case2, pallet = f"00/{sscc_for(11)}", f"00/{sscc_for(12)}", f"00/{sscc_for(13)}"
    serials = [f"FS{n:06d}" for n in range(1, 21)]
    s.pack("fishco", case1, ids(GTIN, *serials[:10]))
    s.pack("fishco", case2, ids(GTIN, *serials[10:]))
    s.refused(
        "item_in_container",
        PACK,
        s.event("fishco", parent=f"00/{sscc_for(14)}", children=ids(GTIN, serials[0])),
        fish,
    )
    s.pack("fishco", pallet, [case1, case2])
    assert item(s, first).root == pallet and item(s, first).parent == case1
    # A packed item cannot move alone.
    s.refused(
        "item_in_container",
        SHIP,
        s.event("fishco", shipment="S0", to="distri", items=ids(GTIN, serials[0])),
        fish,
    )
    # Only the custodian ships.
    s.refused(
        "not_custodian",
        SHIP,
        s.event("distri", shipment="S0", to="shop-a", items=[pallet]),
        s.keys["distri"],
    )
    # A key speaks only for its own actor.
    s.refused(
        "signer_mismatch",
        SHIP,
        s.event("fishco", shipment="S0", to="distri", items=[pallet]),
        s.keys["distri"],
    )
    s.refused(
        "unknown_actor", SHIP, s.event("fishco", shipment="S0", to="nobody", items=[pallet]), fish
    )

    # Ship the pallet: everything on it is in transit to the distributor.
    s.ship("fishco", "distri", [pallet], "SHIP-1")
    assert item(s, first).status == "in_transit" and item(s, first).pending_to == "distri"
    assert item(s, first).custodian == "fishco"
    s.refused(
        "item_in_transit", SHIP, s.event("fishco", shipment="S2", to="shop-a", items=[pallet]), fish
    )
    s.refused(
        "not_receiver",
        RECEIVE,
        s.event("shop-a", shipment="SHIP-1", **{"from": "fishco"}),
        s.keys["shop-a"],
    )
    s.refused(
        "shipment_exists",
        SHIP,
        s.event("fishco", shipment="SHIP-1", to="distri", items=ids(GTIN, "FS000100")),
        fish,
    )
    s.receive("distri", "fishco", "SHIP-1")
    assert item(s, first).custodian == "distri" and item(s, first).status == "active"
    s.refused(
        "shipment_closed",
        RECEIVE,
        s.event("distri", shipment="SHIP-1", **{"from": "fishco"}),
        s.keys["distri"],
    )

    # The distributor breaks the pallet and ships one case to seller A.
    s.ok(UNPACK, s.event("distri", parent=pallet), s.keys["distri"])
    assert item(s, case1).root == case1 and item(s, first).root == case1
    s.ship("distri", "shop-a", [case1], "D-7")
    s.receive("shop-a", "distri", "D-7")
    s.ok(UNPACK, s.event("shop-a", parent=case1), s.keys["shop-a"])
    assert item(s, first).custodian == "shop-a" and item(s, first).parent == ""

    # Listings: seller A holds 10; asking for 11 is refused; unverified sellers are refused.
    s.listing("shop-a", "tiktok", "L-1", GTIN, quantity=10, stream_id="live-1")
    s.refused(
        "listing_exists",
        LISTING_DECLARE,
        {
            "actor": "shop-a",
            "platform": "tiktok",
            "listing_id": "L-1",
            "gtin": GTIN,
            "quantity": 1,
            "event_time": s.now,
        },
        s.keys["shop-a"],
    )
    s.refused(
        "insufficient_stock",
        LISTING_DECLARE,
        {
            "actor": "shop-a",
            "platform": "tiktok",
            "listing_id": "L-2",
            "gtin": GTIN,
            "quantity": 11,
            "event_time": s.now,
        },
        s.keys["shop-a"],
    )
    s.refused(
        "handle_not_registered",
        LISTING_DECLARE,
        {
            "actor": "shop-a",
            "platform": "shopee",
            "listing_id": "L-3",
            "gtin": GTIN,
            "quantity": 1,
            "event_time": s.now,
        },
        s.keys["shop-a"],
    )
    s.refused(
        "seller_not_verified",
        LISTING_DECLARE,
        {
            "actor": "shop-x",
            "platform": "tiktok",
            "listing_id": "X-1",
            "gtin": GTIN,
            "quantity": 1,
            "event_time": s.now,
        },
        s.keys["shop-x"],
    )
    s.refused(
        "insufficient_stock",
        LISTING_DECLARE,
        {
            "actor": "shop-b",
            "platform": "shopee",
            "listing_id": "B-1",
            "gtin": GTIN,
            "quantity": 1,
            "event_time": s.now,
        },
        s.keys["shop-b"],
    )
    s.refused(
        "wrong_role",
        LISTING_DECLARE,
        {
            "actor": "distri",
            "platform": "tiktok",
            "listing_id": "D-1",
            "gtin": GTIN,
            "quantity": 1,
            "event_time": s.now,
        },
        s.keys["distri"],
    )
    listing = s.service.listing_status("tiktok", "L-1")
    assert listing.backed and listing.stock == 10 and listing.listing.quantity == 10

    # Sell with a claim code; the buyer claims first ownership; a second claim is refused.
    sold = ids(GTIN, "FS000001")[0]
    secret = "buyer-secret-0123456789"
    s.ok(
        SELL,
        s.event("shop-a", items=[sold], claims={sold: claim_commitment(sold, secret)}),
        s.keys["shop-a"],
    )
    assert item(s, sold).status == "sold"
    s.refused(
        "item_sold",
        SHIP,
        s.event("shop-a", shipment="R1", to="distri", items=[sold]),
        s.keys["shop-a"],
    )
    s.refused("item_sold", SELL, s.event("shop-a", items=[sold]), s.keys["shop-a"])
    buyer = PrivateKey.from_seed(b"b" * 32)  # TEST ONLY
    claim = {
        "item": sold,
        "secret": secret,
        "key": buyer.public_key.to_text(),
        "event_time": s.now,
        "tz": TZ,
    }
    wrong = dict(claim, secret="not-the-secret-000")
    s.refused("claim_mismatch", CLAIM, wrong, buyer)
    s.ok(CLAIM, claim, buyer)
    assert item(s, sold).claimed_by == buyer.key_id
    thief = PrivateKey.from_seed(b"t" * 32)  # TEST ONLY
    s.refused(
        "already_claimed",
        CLAIM,
        dict(claim, key=thief.public_key.to_text(), event_time=s.now + 1),
        thief,
    )
    assert s.service.listing_status("tiktok", "L-1").stock == 9

    # Recall by lot: the stock no longer backs the listing, selling is refused.
    s.refused(
        "not_gtin_producer",
        RECALL,
        s.event("ricecorp", gtin=GTIN, scope="lot", lot="L2611", reason="x"),
        s.keys["ricecorp"],
    )
    s.ok(RECALL, s.event("fishco", gtin=GTIN, scope="lot", lot="L2611", reason="histamine"), fish)
    s.refused(
        "already_recalled",
        RECALL,
        s.event("fishco", gtin=GTIN, scope="lot", lot="L2611", reason="again"),
        fish,
    )
    s.refused(
        "item_recalled", SELL, s.event("shop-a", items=ids(GTIN, "FS000002")), s.keys["shop-a"]
    )
    status = s.service.listing_status("tiktok", "L-1")
    assert not status.backed and status.stock == 0 and "recalled" in " ".join(status.reasons)
    view = s.service.item_view(ids(GTIN, "FS000002")[0])
    assert view.status == "recalled" and view.record.status == "active"
    s.ok(
        LISTING_CLOSE,
        {"actor": "shop-a", "platform": "tiktok", "listing_id": "L-1", "event_time": s.now},
        s.keys["shop-a"],
    )
    # Destroyed items cannot move.
    s.ok(
        DECOMMISSION,
        s.event("shop-a", items=ids(GTIN, "FS000003"), reason="destroyed"),
        s.keys["shop-a"],
    )
    s.refused(
        "item_destroyed",
        SHIP,
        s.event("shop-a", shipment="R2", to="distri", items=ids(GTIN, "FS000003")),
        s.keys["shop-a"],
    )
    s.refused(
        "unknown_item",
        SHIP,
        s.event("fishco", shipment="R3", to="distri", items=ids(GTIN, "NEVER1")),
        fish,
    )
    # The timeline of the first item: commission, pack, pack, ship, receive, unpack, ship,
    # receive, unpack, sell, claim.
    timeline = s.service.item_view(sold).timeline
    kinds = [e.type for e in timeline]
    assert kinds == [
        COMMISSION,
        PACK,
        PACK,
        SHIP,
        RECEIVE,
        UNPACK,
        SHIP,
        RECEIVE,
        UNPACK,
        SELL,
        CLAIM,
    ]
    report = s.service.audit()
    assert report.ok, report.findings
    assert report.projection_rows_checked > 10_000


def test_cancelled_shipment_returns_items_and_replays_are_refused(supply: Supply) -> None:
    s = supply
    s.commission("fishco", GTIN_B, {"list": ["A1", "A2"]})
    body = s.event("fishco", shipment="C-1", to="distri", items=ids(GTIN_B, "A1"))
    s.ok(SHIP, body, s.keys["fishco"])
    s.refused("duplicate_entry", SHIP, body, s.keys["fishco"])
    s.refused("unknown_shipment", CANCEL, s.event("distri", shipment="C-1"), s.keys["distri"])
    s.ok(CANCEL, s.event("fishco", shipment="C-1", reason="wrong address"), s.keys["fishco"])
    assert item(s, ids(GTIN_B, "A1")[0]).status == "active"
    s.refused(
        "unknown_shipment",
        RECEIVE,
        s.event("distri", shipment="C-9", **{"from": "fishco"}),
        s.keys["distri"],
    )
    s.refused(
        "shipment_closed",
        RECEIVE,
        s.event("distri", shipment="C-1", **{"from": "fishco"}),
        s.keys["distri"],
    )
    s.refused(
        "self_shipment",
        SHIP,
        s.event("fishco", shipment="C-2", to="fishco", items=ids(GTIN_B, "A1")),
        s.keys["fishco"],
    )
    s.refused(
        "event_in_future",
        SHIP,
        dict(
            s.event("fishco", shipment="C-3", to="distri", items=ids(GTIN_B, "A1")),
            event_time=s.now + 3_600_000,
        ),
        s.keys["fishco"],
    )


def test_replay_of_every_entry_type_is_refused(supply: Supply) -> None:
    """Submitting the same signed bytes again is refused for every entry type."""
    s = supply
    fish, shop = s.keys["fishco"], s.keys["shop-a"]
    new_key = key_for("fishco-2")
    buyer = PrivateKey.from_seed(b"c" * 32)  # TEST ONLY
    sold = ids(GTIN_B, "B3")[0]
    secret = "replay-secret-000000"
    steps = [
        (
            ACTOR_REGISTER,
            {
                "actor": {
                    "id": "newco",
                    "role": "distributor",
                    "name": "N",
                    "country": "VN",
                    "verified": True,
                },
                "keys": [key_for("newco").public_key.to_text()],
                "event_time": s.now,
            },
            s.operator,
        ),
        (ACTOR_UPDATE, {"id": "newco", "name": "Newco Ltd", "event_time": s.now}, s.operator),
        (
            KEY_ADD,
            {"actor": "fishco", "key": new_key.public_key.to_text(), "event_time": s.now},
            fish,
        ),
        (
            KEY_REVOKE,
            {
                "actor": "fishco",
                "key_id": new_key.key_id,
                "effective_time": s.now,
                "event_time": s.now,
            },
            fish,
        ),
        (NOTICE, {"title": "policy"}, s.operator),
        (COMMISSION, s.event("fishco", gtin=GTIN_B, serials={"list": ["B1", "B2", "B3"]}), fish),
        (PACK, s.event("fishco", parent=f"00/{sscc_for(21)}", children=ids(GTIN_B, "B1")), fish),
        (UNPACK, s.event("fishco", parent=f"00/{sscc_for(21)}"), fish),
        (SHIP, s.event("fishco", shipment="R-1", to="shop-a", items=ids(GTIN_B, "B2", "B3")), fish),
        (RECEIVE, s.event("shop-a", shipment="R-1", **{"from": "fishco"}), shop),
        (
            LISTING_DECLARE,
            {
                "actor": "shop-a",
                "platform": "tiktok",
                "listing_id": "RL",
                "gtin": GTIN_B,
                "quantity": 1,
                "event_time": s.now,
            },
            shop,
        ),
        (
            LISTING_CLOSE,
            {"actor": "shop-a", "platform": "tiktok", "listing_id": "RL", "event_time": s.now},
            shop,
        ),
        (
            SELL,
            s.event("shop-a", items=[sold], claims={sold: claim_commitment(sold, secret)}),
            shop,
        ),
        (
            CLAIM,
            {
                "item": sold,
                "secret": secret,
                "key": buyer.public_key.to_text(),
                "event_time": s.now,
                "tz": TZ,
            },
            buyer,
        ),
        (RECALL, s.event("fishco", gtin=GTIN_B, scope="items", serials=["B2"], reason="r"), fish),
        (DECOMMISSION, s.event("shop-a", items=ids(GTIN_B, "B2"), reason="damaged"), shop),
        (
            REPACK,
            s.event(
                "fishco",
                inputs=ids(GTIN_B, "B1"),
                outputs={"gtin": GTIN_B, "serials": {"list": ["B9"]}},
            ),
            fish,
        ),
    ]
    for kind, body, key in steps:
        envelope = sign_entry(kind, body, key)
        first = s.service.append([envelope], now=s.tick())[0]
        assert first.__class__.__name__ == "Accepted", (kind, first)
        again = s.service.append([envelope], now=s.tick())[0]
        assert again.__class__.__name__ == "Rejected" and again.code == "duplicate_entry", kind
    assert s.service.audit().ok


def test_revoked_keys_are_refused_after_their_effective_time(supply: Supply) -> None:
    s = supply
    old = s.keys["fishco"]
    new = key_for("fishco-new")
    s.ok(KEY_ADD, {"actor": "fishco", "key": new.public_key.to_text(), "event_time": s.now}, old)
    effective = s.now + 60_000
    s.ok(
        KEY_REVOKE,
        {
            "actor": "fishco",
            "key_id": old.key_id,
            "effective_time": effective,
            "event_time": s.now,
            "reason": "rotation",
        },
        old,
    )
    # Before the effective time the old key still signs.
    s.ok(COMMISSION, s.event("fishco", gtin=GTIN_B, serials={"list": ["K1"]}), old)
    s.now = effective  # at the effective time it no longer does
    s.refused(
        "key_revoked", COMMISSION, s.event("fishco", gtin=GTIN_B, serials={"list": ["K2"]}), old
    )
    s.ok(COMMISSION, s.event("fishco", gtin=GTIN_B, serials={"list": ["K2"]}), new)
    s.refused(
        "already_revoked",
        KEY_REVOKE,
        {"actor": "fishco", "key_id": old.key_id, "effective_time": s.now, "event_time": s.now},
        new,
    )
    # The operator may revoke anyone's key; another actor may not.
    s.refused(
        "signer_mismatch",
        KEY_REVOKE,
        {"actor": "fishco", "key_id": new.key_id, "effective_time": s.now, "event_time": s.now},
        s.keys["distri"],
    )
    s.ok(
        KEY_REVOKE,
        {
            "actor": "fishco",
            "key_id": new.key_id,
            "effective_time": s.now,
            "compromised_since": s.now - 5_000,
            "event_time": s.now,
        },
        s.operator,
    )
    s.refused(
        "key_revoked", COMMISSION, s.event("fishco", gtin=GTIN_B, serials={"list": ["K3"]}), new
    )
    # Unknown keys and bad signatures.
    stranger = PrivateKey.from_seed(b"s" * 32)  # TEST ONLY
    s.refused(
        "unknown_key",
        COMMISSION,
        s.event("fishco", gtin=GTIN_B, serials={"list": ["K4"]}),
        stranger,
    )
    s.refused(
        "operator_key",
        KEY_REVOKE,
        {
            "actor": "operator",
            "key_id": s.operator.key_id,
            "effective_time": s.now,
            "event_time": s.now,
        },
        s.operator,
    )
    assert s.service.audit().ok


def test_registry_rules(supply: Supply) -> None:
    s = supply
    other = key_for("imposter")
    base = {"role": "producer", "name": "X", "country": "VN", "verified": True}
    body = {
        "actor": {"id": "imposter", **base, "prefixes": ["89300015"]},
        "keys": [other.public_key.to_text()],
        "event_time": s.now,
    }
    s.refused("prefix_taken", ACTOR_REGISTER, body, s.operator)
    body = {
        "actor": {"id": "imposter", **base, "prefixes": ["8930"]},
        "keys": [other.public_key.to_text()],
        "event_time": s.now,
    }
    s.refused("prefix_taken", ACTOR_REGISTER, body, s.operator)
    body = {
        "actor": {"id": "fishco", **base},
        "keys": [other.public_key.to_text()],
        "event_time": s.now,
    }
    s.refused("actor_exists", ACTOR_REGISTER, body, s.operator)
    body = {
        "actor": {"id": "imposter", **base},
        "keys": [other.public_key.to_text()],
        "event_time": s.now,
    }
    s.refused("not_operator", ACTOR_REGISTER, body, s.keys["fishco"])
    body = {
        "actor": {"id": "imposter", **dict(base, role="seller"), "handles": ["tiktok:@shopa"]},
        "keys": [other.public_key.to_text()],
        "event_time": s.now,
    }
    s.refused("handle_taken", ACTOR_REGISTER, body, s.operator)
    # Suspension stops an actor signing anything.
    s.ok(ACTOR_UPDATE, {"id": "distri", "status": "suspended", "event_time": s.now}, s.operator)
    s.refused(
        "actor_suspended",
        KEY_ADD,
        {"actor": "distri", "key": other.public_key.to_text(), "event_time": s.now},
        s.keys["distri"],
    )
    s.refused(
        "actor_suspended",
        SHIP,
        s.event("fishco", shipment="Z", to="distri", items=ids(OTHER_GTIN, "1")),
        s.keys["fishco"],
    )
    assert s.service.actor_view("distri").actor.status == "suspended"


@pytest.mark.parametrize("spelling", ["tiktok:@ShopA", "tiktok:shopa", "tiktok:@@SHOPA"])
def test_a_handle_is_taken_in_any_spelling(supply: Supply, spelling: str) -> None:
    """shop-a registered tiktok:@shopa: another spelling of it is the same handle."""
    s = supply
    other = key_for("imposter")
    seller = {"role": "seller", "name": "X", "country": "VN", "verified": True}
    body = {
        "actor": {"id": "imposter", **seller, "handles": [spelling]},
        "keys": [other.public_key.to_text()],
        "event_time": s.now,
    }
    s.refused("handle_taken", ACTOR_REGISTER, body, s.operator)
    update = {"id": "shop-b", "handles": ["shopee:12345", spelling], "event_time": s.now}
    s.refused("handle_taken", ACTOR_UPDATE, update, s.operator)
    # The holder may respell its own handle: it is kept once, canonical.
    s.ok(ACTOR_UPDATE, {"id": "shop-a", "handles": [spelling], "event_time": s.now}, s.operator)
    assert s.service.actor_view("shop-a").actor.handles == ("tiktok:shopa",)


def test_handles_are_kept_canonical_and_once(supply: Supply) -> None:
    s = supply
    key = key_for("newshop")
    body = {
        "actor": {
            "id": "newshop",
            "role": "seller",
            "name": "New Shop",
            "country": "VN",
            "verified": True,
            "handles": ["tiktok:@NewShop", "tiktok:newshop", "zalo:@MixedCase"],
        },
        "keys": [key.public_key.to_text()],
        "event_time": s.now,
    }
    s.ok(ACTOR_REGISTER, body, s.operator)
    actor = s.service.actor_view("newshop").actor
    assert actor.handles == ("tiktok:newshop", "zalo:MixedCase")
    with s.service.store.reader() as view:
        assert view.get(Handle, ("tiktok:newshop",)) == Handle("tiktok:newshop", "newshop")
        assert view.get(Handle, ("tiktok:@NewShop",)) is None
    # Dropping a handle in any spelling frees its canonical key.
    s.ok(
        ACTOR_UPDATE,
        {"id": "newshop", "handles": ["tiktok:@NEWSHOP"], "event_time": s.now},
        s.operator,
    )
    with s.service.store.reader() as view:
        assert view.get(Handle, ("zalo:MixedCase",)) is None
        assert view.get(Handle, ("tiktok:newshop",)) == Handle("tiktok:newshop", "newshop")
    assert s.service.audit().ok


def test_batch_sees_its_own_registrations(supply: Supply) -> None:
    """A key registered earlier in the same batch signs later entries of that batch."""
    s = supply
    key = key_for("batchco")
    register = sign_entry(
        ACTOR_REGISTER,
        {
            "actor": {
                "id": "batchco",
                "role": "distributor",
                "name": "B",
                "country": "VN",
                "verified": True,
            },
            "keys": [key.public_key.to_text()],
            "event_time": s.now,
        },
        s.operator,
    )
    forged = sign_entry(
        KEY_ADD,
        {"actor": "batchco", "key": key_for("z").public_key.to_text(), "event_time": s.now},
        key_for("z"),
    )
    added = sign_entry(
        KEY_ADD,
        {"actor": "batchco", "key": key_for("y").public_key.to_text(), "event_time": s.now},
        key,
    )
    outcomes = s.service.append([register, forged, added], now=s.tick())
    assert [type(o).__name__ for o in outcomes] == ["Accepted", "Rejected", "Accepted"]
    assert outcomes[1].code == "unknown_key"  # type: ignore[union-attr]
    with s.service.store.reader() as view:
        assert view.get(Listing, ("tiktok", "none")) is None
    assert s.service.audit().ok


def test_a_thief_cannot_freeze_a_stolen_key(supply: Supply) -> None:
    """A revocation can only be tightened: a far-future 'revocation' by a thief is overridden."""
    s = supply
    stolen = s.keys["fishco"]
    spare = key_for("fishco-spare")
    s.ok(
        KEY_ADD, {"actor": "fishco", "key": spare.public_key.to_text(), "event_time": s.now}, stolen
    )
    far = 2**53 - 1
    s.ok(
        KEY_REVOKE,
        {"actor": "fishco", "key_id": stolen.key_id, "effective_time": far, "event_time": s.now},
        stolen,
    )
    loosen = {
        "actor": "fishco",
        "key_id": stolen.key_id,
        "effective_time": far,
        "event_time": s.now + 1,
    }
    s.refused("already_revoked", KEY_REVOKE, loosen, spare)
    s.ok(
        KEY_REVOKE,
        {
            "actor": "fishco",
            "key_id": stolen.key_id,
            "effective_time": s.now,
            "compromised_since": T0,
            "event_time": s.now + 2,
        },
        spare,
    )
    s.refused(
        "key_revoked", COMMISSION, s.event("fishco", gtin=GTIN_B, serials={"list": ["T1"]}), stolen
    )
    with s.service.store.reader() as view:
        record = view.get(KeyRecord, (stolen.key_id,))
    assert record is not None and record.effective_time < far and record.compromised_since == T0


def test_only_the_genesis_key_is_irrevocable(supply: Supply) -> None:
    s = supply
    second = key_for("operator-2")
    s.ok(
        KEY_ADD,
        {"actor": "operator", "key": second.public_key.to_text(), "event_time": s.now},
        s.operator,
    )
    s.ok(
        KEY_REVOKE,
        {
            "actor": "operator",
            "key_id": second.key_id,
            "effective_time": s.now,
            "event_time": s.now,
        },
        s.operator,
    )
    s.refused("key_revoked", NOTICE, {"title": "from a revoked operator key"}, second)
    s.refused(
        "operator_key",
        KEY_REVOKE,
        {
            "actor": "operator",
            "key_id": s.operator.key_id,
            "effective_time": s.now,
            "event_time": s.now,
        },
        s.operator,
    )


def test_recalled_goods_cannot_be_sold_or_repacked_inside_containers(supply: Supply) -> None:
    s = supply
    fish = s.keys["fishco"]
    s.commission("fishco", GTIN_B, {"list": ["C1", "R1", "R2"]}, lot="LR")
    s.ok(RECALL, s.event("fishco", gtin=GTIN_B, scope="items", serials=["R1"], reason="x"), fish)
    s.pack("fishco", ids(GTIN_B, "C1")[0], ids(GTIN_B, "R1"))
    s.refused("item_recalled", SELL, s.event("fishco", items=ids(GTIN_B, "C1")), fish)
    s.refused(
        "item_recalled",
        REPACK,
        s.event(
            "fishco",
            inputs=ids(GTIN_B, "C1"),
            outputs={"gtin": GTIN_B, "serials": {"list": ["N1"]}},
        ),
        fish,
    )
    s.ok(RECALL, s.event("fishco", gtin=GTIN_B, scope="lot", lot="LR", reason="y"), fish)
    s.refused(
        "item_recalled",
        REPACK,
        s.event(
            "fishco",
            inputs=ids(GTIN_B, "R2"),
            outputs={"gtin": GTIN_B, "serials": {"list": ["N2"]}},
        ),
        fish,
    )


def test_sscc_in_another_producers_prefix_is_refused(supply: Supply) -> None:
    s = supply
    s.commission("ricecorp", OTHER_GTIN, {"list": ["Q1"]})
    squat = f"00/{sscc_for(77)}"  # inside fishco's prefix 8930001
    s.refused(
        "not_prefix_owner",
        PACK,
        s.event("ricecorp", parent=squat, children=ids(OTHER_GTIN, "Q1")),
        s.keys["ricecorp"],
    )


def test_a_closed_listing_id_is_not_taken_over(supply: Supply) -> None:
    s = supply
    s.commission("fishco", GTIN_B, {"list": ["L1", "L2"]})
    s.ship("fishco", "shop-a", ids(GTIN_B, "L1", "L2"), "LS-1")
    s.receive("shop-a", "fishco", "LS-1")
    s.listing("shop-a", "tiktok", "TL", GTIN_B, quantity=1)
    s.ok(
        LISTING_CLOSE,
        {"actor": "shop-a", "platform": "tiktok", "listing_id": "TL", "event_time": s.now},
        s.keys["shop-a"],
    )
    s.listing("shop-a", "tiktok", "TL", GTIN_B, quantity=2)  # the same seller may reopen it
    s.ok(
        LISTING_CLOSE,
        {"actor": "shop-a", "platform": "tiktok", "listing_id": "TL", "event_time": s.now + 5},
        s.keys["shop-a"],
    )
    s.ok(
        ACTOR_UPDATE,
        {"id": "shop-b", "handles": ["shopee:12345", "tiktok:@shopb"], "event_time": s.now},
        s.operator,
    )
    s.ship("shop-a", "shop-b", ids(GTIN_B, "L1"), "LS-2")
    s.receive("shop-b", "shop-a", "LS-2")
    s.refused(
        "listing_exists",
        LISTING_DECLARE,
        {
            "actor": "shop-b",
            "platform": "tiktok",
            "listing_id": "TL",
            "gtin": GTIN_B,
            "quantity": 1,
            "event_time": s.now,
        },
        s.keys["shop-b"],
    )


def test_unpacking_a_plain_item_is_refused(supply: Supply) -> None:
    """An unpack that moves nothing (a plain item, or a container with nothing in it) is
    refused at admission: it would put an empty step in the item's timeline."""
    s = supply
    s.commission("fishco", GTIN, {"list": ["U1"]}, lot="L1")
    plain = ids(GTIN, "U1")[0]
    s.refused("nothing_to_unpack", UNPACK, s.event("fishco", parent=plain), s.keys["fishco"])
