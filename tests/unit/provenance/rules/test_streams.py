"""ledger/provenance/rules/streams.py: a verified seller declares stream sessions of its own
listings; a restart is the next segment of the same session; nobody adopts another's stream;
and a session scan proof vouches only within its rules."""

from __future__ import annotations

from typing import Any

from ledger.codes.identifiers import item_id
from ledger.keys import PrivateKey
from ledger.provenance.events.names import (
    ACTOR_UPDATE,
    COMMISSION,
    LISTING_CLOSE,
    LISTING_DECLARE,
    RECEIVE,
    SHIP,
    STREAM_DECLARE,
)
from ledger.provenance.records import StreamSegment, StreamSession
from ledger.provenance.rules.streams import (
    SESSION_PROOF_WINDOW_MS,
    SessionProof,
    scan_message,
    session_of_proof,
    sign_scan,
)
from tests.supply import gtin_for
from tests.unit.provenance.rules.harness import OPERATOR, Rules

GTIN = gtin_for("8930001", "0001")
CODE = "https://vt.example/01/" + GTIN + "/21/S1"


def _world() -> Rules:
    """fishco ships S1, S2 to shop (verified, on tiktok), which lists L1; rival holds L9."""
    rules = Rules()
    rules.register("fishco", "producer", prefixes=["8930001"])
    rules.register("shop", "seller", handles=["tiktok:@shop"])
    rules.register("rival", "seller", handles=["tiktok:@rival"])
    rules.register("ghost", "seller", verified=False, handles=["tiktok:@ghost"])
    rules.register("offline", "seller", handles=["shopee:1"])
    serials = {"list": ["S1", "S2", "S3"]}
    rules.ok(COMMISSION, rules.event("fishco", gtin=GTIN, serials=serials), rules.keys["fishco"])
    for seller, serial, shipment in (("shop", "S1", "SH1"), ("rival", "S3", "SH2")):
        ship = rules.event("fishco", shipment=shipment, to=seller, items=[item_id(GTIN, serial)])
        rules.ok(SHIP, ship, rules.keys["fishco"])
        got = rules.event(seller, shipment=shipment, **{"from": "fishco"})
        rules.ok(RECEIVE, got, rules.keys[seller])
    for seller, listing in (("shop", "L1"), ("rival", "L9")):
        body = {"actor": seller, "platform": "tiktok", "listing_id": listing, "gtin": GTIN}
        rules.ok(
            LISTING_DECLARE, {**body, "quantity": 1, "event_time": rules.now}, rules.keys[seller]
        )
    return rules


def _declare(rules: Rules, seller: str = "shop", **fields: Any) -> dict[str, Any]:
    body = {"actor": seller, "platform": "tiktok", "session_id": "S-1", "stream_id": "live-1"}
    return {**body, "event_time": rules.now, **fields}


def test_a_session_and_its_restart_are_one_session_of_two_segments() -> None:
    rules = _world()
    rules.ok(STREAM_DECLARE, _declare(rules, listings=["L1"]), rules.keys["shop"])
    session = rules.view.get(StreamSession, ("tiktok", "S-1"))
    assert session is not None and (session.seller, session.listings, session.segments) == (
        "shop",
        ("L1",),
        1,
    )
    rules.ok(STREAM_DECLARE, _declare(rules, stream_id="live-2"), rules.keys["shop"])
    session = rules.view.get(StreamSession, ("tiktok", "S-1"))
    assert session is not None and session.segments == 2 and session.listings == ("L1",)
    second = rules.view.get(StreamSegment, ("tiktok", "live-2"))
    assert second is not None and (second.session_id, second.segment) == ("S-1", 2)
    # the same stream declared again (a retry) is no new segment
    rules.ok(STREAM_DECLARE, _declare(rules, stream_id="live-2"), rules.keys["shop"])
    again = rules.view.get(StreamSession, ("tiktok", "S-1"))
    assert again is not None and again.segments == 2


def test_every_refusal_of_a_declaration() -> None:
    rules = _world()
    rules.refused(
        "seller_not_verified", STREAM_DECLARE, _declare(rules, "ghost"), rules.keys["ghost"]
    )
    rules.refused(
        "handle_not_registered", STREAM_DECLARE, _declare(rules, "offline"), rules.keys["offline"]
    )
    rules.refused(
        "unknown_listing", STREAM_DECLARE, _declare(rules, listings=["L404"]), rules.keys["shop"]
    )
    rules.refused(
        "not_listing_owner", STREAM_DECLARE, _declare(rules, listings=["L9"]), rules.keys["shop"]
    )
    rules.ok(STREAM_DECLARE, _declare(rules), rules.keys["shop"])
    # a rival can neither join the session nor adopt its stream under another session
    rules.refused("session_exists", STREAM_DECLARE, _declare(rules, "rival"), rules.keys["rival"])
    taken = _declare(rules, "rival", session_id="R-1")
    rules.refused("stream_taken", STREAM_DECLARE, taken, rules.keys["rival"])
    # nor can the seller move its own stream into another session
    moved = _declare(rules, session_id="S-2")
    rules.refused("stream_taken", STREAM_DECLARE, moved, rules.keys["shop"])
    close = {"actor": "shop", "platform": "tiktok", "listing_id": "L1", "event_time": rules.now}
    rules.ok(LISTING_CLOSE, close, rules.keys["shop"])
    closed = _declare(rules, session_id="S-3", stream_id="live-3", listings=["L1"])
    rules.refused("listing_closed", STREAM_DECLARE, closed, rules.keys["shop"])


def _proof(rules: Rules, key: PrivateKey, time: int, code: str = CODE) -> SessionProof:
    return sign_scan(key, "tiktok", "S-1", code, time)


def test_a_session_scan_proof_vouches_only_within_its_rules() -> None:
    rules = _world()
    rules.ok(STREAM_DECLARE, _declare(rules), rules.keys["shop"])
    now = rules.now
    good = _proof(rules, rules.keys["shop"], now)
    session = session_of_proof(rules.view, good, "tiktok", CODE, now=now)
    assert session is not None and session.session_id == "S-1"
    # another code, platform, a stale or future proof, another seller's key, a flipped byte
    assert session_of_proof(rules.view, good, "tiktok", CODE + "x", now=now) is None
    assert session_of_proof(rules.view, good, "shopee", CODE, now=now) is None
    late = now + SESSION_PROOF_WINDOW_MS + 1
    assert session_of_proof(rules.view, good, "tiktok", CODE, now=late) is None
    early = now - SESSION_PROOF_WINDOW_MS - 1
    assert session_of_proof(rules.view, good, "tiktok", CODE, now=early) is None
    rival = _proof(rules, rules.keys["rival"], now)
    assert session_of_proof(rules.view, rival, "tiktok", CODE, now=now) is None
    flipped = SessionProof(
        good.session_id, good.key_id, good.time, bytes([good.signature[0] ^ 1]) + good.signature[1:]
    )
    assert session_of_proof(rules.view, flipped, "tiktok", CODE, now=now) is None
    # a suspended seller's signature vouches for nothing
    rules.ok(ACTOR_UPDATE, {"id": "shop", "status": "suspended", "event_time": rules.now}, OPERATOR)
    assert session_of_proof(rules.view, good, "tiktok", CODE, now=now) is None


def test_the_signed_message_is_domain_separated_and_unambiguous() -> None:
    message = scan_message("tiktok", "S-1", CODE, 5)
    assert message.startswith(b"tracemark/session-scan/v1\x00")
    assert message.endswith((5).to_bytes(8, "big"))
    assert scan_message("tiktok", "S-1", CODE, 5) != scan_message("tiktok", "S-", "1" + CODE, 5)
