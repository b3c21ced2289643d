"""Attacks on the verdicts of issue 13 (an adversarial review), through the HTTP API in
process: each test is named after the attack it plays, and checks what everyone else sees.
The app, the supply chain and the platforms are ``test_verdict_journeys``'s ``world``."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

from api.http.nonce import epoch_expiry, issue_nonce
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.provenance.events.names import ACTOR_UPDATE, DECOMMISSION, RECALL, SELL, STREAM_DECLARE
from ledger.provenance.rules.streams import sign_scan
from ledger.usecases.service import now_ms
from tests.api.test_verdict_journeys import RESOLVER, World, code, codes, declare
from tests.api.test_verdict_journeys import world as world  # noqa: PLC0414 - the fixture
from tests.supply import GTIN, ids


def check_listing(w: World, platform_key: str, **listing: Any) -> dict[str, Any]:
    response = w.client.post(
        "/v1/listings/verify",
        json={"listings": [listing]},
        headers={"X-API-Key": w.keys[platform_key]},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["results"][0]
    return result


# --- one seller is one offer -----------------------------------------------------------------


def test_a_sellers_session_and_its_listing_check_are_one_offer(world: World) -> None:
    """shop-a shows F0001 in its declared session, and its platform checks the listing with
    the same code: one seller, one offer, never scan_velocity for anyone."""
    f1 = code(world.supply, "F0001")
    declare(world, "S-1", "live-1", "L-1")
    assert world.verify(f1, "tiktok", stream_id="live-1")["status"] == "genuine"
    listing = check_listing(
        world,
        "tiktok",
        seller="tiktok:@shopa",
        platform="tiktok",
        listing_id="L-1",
        gtin=GTIN,
        codes=[f1],
    )
    assert listing["status"] == "genuine", listing
    plain = world.verify(f1)
    assert plain["status"] == "genuine", plain
    assert world.verify(f1, "tiktok", seller="tiktok:@shopa")["status"] == "genuine"
    assert world.webhook_events() == []


# --- sellers are actors, not spellings ---------------------------------------------------------


def test_a_listing_check_reads_any_spelling_of_the_sellers_handle(world: World) -> None:
    for spelling in ("tiktok:@shopa", "TikTok:@ShopA", "TIKTOK:shopa", "@ShopA", "shopa"):
        result = check_listing(
            world, "tiktok", seller=spelling, platform="tiktok", listing_id="L-1", gtin=GTIN
        )
        assert result["status"] == "genuine", (spelling, result)
        assert result["seller"]["actor_id"] == "shop-a"
    other = check_listing(
        world, "tiktok", seller="Shopee:12345", platform="tiktok", listing_id="L-1", gtin=GTIN
    )
    assert "handle_platform_mismatch" in [r["code"] for r in other["reasons"]]


def test_an_unknown_seller_vouched_by_a_platform_is_no_second_seller(world: World) -> None:
    """A platform key naming an account nobody registered (or another platform's account,
    which its key cannot speak for) gets unknown_seller for that context; a plain verify
    and the holder never see it as a second seller."""
    f1 = code(world.supply, "F0001")
    for seller in ("tiktok:@nobody123", "shopee:12345", "@@"):
        named = world.verify(f1, "tiktok", seller=seller)
        assert named["status"] == "suspect" and codes(named) == ["unknown_seller"], named
    plain = world.verify(f1)
    assert plain["status"] == "genuine", plain
    assert world.verify(f1, "tiktok", seller="tiktok:@shopa")["status"] == "genuine"
    # A known second seller still counts.
    world.verify(f1, "shopee", seller="shopee:12345", stream_id="b-live")
    assert "multiple_sellers" in codes(world.verify(f1))


# --- floods of vouched contexts ------------------------------------------------------------------

FLOOD = 510  # more distinct contexts than the clone rules read (the store's limit is 500)


def test_a_flood_through_a_public_overlay_nonce_hides_no_clone(world: World) -> None:
    """The overlay is public, so anyone can take its nonce and scan the holder's own item
    through it from 'many devices and places'. Those scans are one offer of the holder: they
    must not crowd the platform-vouched clone in shop-b's stream out of what the rules read."""
    f1 = code(world.supply, "F0001")
    declare(world, "S-1", "live-1", "L-1")
    clone = world.verify(f1, "shopee", seller="shopee:12345", stream_id="b-live")
    assert "seller_not_custodian" in codes(clone)
    overlay = world.client.get("/v1/overlay/tiktok/L-1", params={"stream": "live-1"}).json()
    nonce = parse_qs(urlsplit(overlay["qr"]["url"]).query)["n"][0]
    context = {"platform": "tiktok", "listing_id": "L-1", "stream_id": "live-1", "nonce": nonce}
    for n in range(FLOOD):
        response = world.client.post(
            "/v1/verify",
            json={"code": f1, "context": {**context, "place": f"p{n}"}},
            headers={"User-Agent": f"phone-{n}"},
        )
        assert response.json()["source"] == "overlay"
    world.app.state.tracemark.verifier.flush(now_ms())
    plain = world.verify(f1)
    assert plain["status"] == "suspect" and "multiple_sellers" in codes(plain), plain


def test_a_replayed_session_proof_names_only_the_sessions_streams(world: World) -> None:
    """A session proof signs platform, session, code and time, not the stream or listing:
    replayed with made-up stream and listing ids, it must not make new contexts (each one a
    row the rules read and a webhook event), nor tell a platform of a stream never declared."""
    s = world.supply
    f1 = code(s, "F0001")
    declare(world, "S-1", "live-1", "L-1")
    world.verify(f1, "shopee", seller="shopee:12345", stream_id="b-live")
    proof = sign_scan(s.keys["shop-a"], "tiktok", "S-1", f1, now_ms())
    body = {
        "session_id": "S-1",
        "key_id": proof.key_id,
        "time": proof.time,
        "signature": base64.urlsafe_b64encode(proof.signature).decode().rstrip("="),
    }
    for n in range(FLOOD):
        made_up = {"stream_id": f"fake-{n}", "listing_id": f"X-{n}"}
        data = world.verify(f1, platform="tiktok", session_proof=body, **made_up)
        assert data["source"] == "session" and data["status"] == "genuine"
    world.app.state.tracemark.verifier.flush(now_ms())
    plain = world.verify(f1)
    assert plain["status"] == "suspect" and "multiple_sellers" in codes(plain), plain
    seen = world.app.state.tracemark.service.store.scan_signals(
        ids(GTIN, "F0001")[0], 0, limit=10_000
    )
    streams = {r.context.stream_id for r in seen if r.context.source == "session"}
    assert streams <= {"", "live-1"}, sorted(streams)[:5]


# --- the resolver reads the code as printed ----------------------------------------------------


def test_the_resolver_reads_escaped_serials_as_printed(world: World) -> None:
    """A serial may hold any CSET 82 character; the printed code percent-encodes the ones a
    URL reserves. The resolver must verify the code as printed, not a decoded copy: '"' and
    '<' were read raw (invalid) and '/' split the path (404), for genuine items."""
    s = world.supply
    serials = ['Q"1', "Q<2>", "Q/3", "Q%4", "Q?5", "Q 6".replace(" ", "+")]
    s.commission("fishco", GTIN, {"list": serials}, lot="L/7")
    for serial in serials:
        uri = issue_uri(CodeIdentity(GTIN, serial, "L/7"), s.keys["fishco"], RESOLVER)
        assert world.verify(uri)["status"] == "genuine", uri
        path = uri.removeprefix(RESOLVER)
        response = world.client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 200, (serial, response.text)
        assert response.json()["status"] == "genuine", (serial, response.json())
        assert response.json()["item"]["serial"] == serial
        page = world.client.get(path, headers={"Accept": "text/html", "Accept-Language": "en"})
        assert page.status_code == 200 and 'data-status="genuine"' in page.text, serial


def test_a_platform_key_cannot_name_another_platforms_seller(world: World) -> None:
    """shop-b sells on shopee only. tiktok's key, naming shop-b by actor id in a verify or
    by its shopee handle in a listing check, speaks for no account of tiktok: shop-b is not
    made a second seller of shop-a's item for everyone else."""
    f1 = code(world.supply, "F0001")
    named = world.verify(f1, "tiktok", seller="shop-b", stream_id="t-1")
    assert named["status"] == "suspect" and codes(named) == ["unknown_seller"], named
    listing = check_listing(
        world,
        "tiktok",
        seller="shopee:12345",
        platform="tiktok",
        listing_id="X-1",
        gtin=GTIN,
        codes=[f1],
    )
    assert "handle_platform_mismatch" in [r["code"] for r in listing["reasons"]]
    plain = world.verify(f1)  # two offers tiktok vouched, by accounts nobody registered
    assert "multiple_sellers" not in codes(plain), plain
    assert all(e["data"]["seen"]["seller"] != "shop-b" for e in world.webhook_events())
    # shopee's own key naming shop-b is evidence.
    world.verify(f1, "shopee", seller="shop-b", stream_id="b-live")
    assert world.verify(f1)["reasons"][0]["evidence"]["sellers"] == ["shop-a", "shop-b"]


# --- custodian first, whatever the holder's vouched context ----------------------------------


def holder_contexts(w: World, f: str) -> dict[str, dict[str, Any]]:
    """The holder shop-a's item in each vouched context it can have: its platform naming the
    stream, the listing or the handle (any spelling), the overlay, a session proof, and the
    restarted stream (the session's second segment)."""
    s = w.supply
    shown = w.client.get("/v1/overlay/tiktok/L-1", params={"stream": "live-1"}).json()
    nonce = parse_qs(urlsplit(shown["qr"]["url"]).query)["n"][0]
    proof = sign_scan(s.keys["shop-a"], "tiktok", "S-1", f, now_ms())
    body = {
        "session_id": "S-1",
        "key_id": proof.key_id,
        "time": proof.time,
        "signature": base64.urlsafe_b64encode(proof.signature).decode().rstrip("="),
    }
    return {
        "stream": w.verify(f, "tiktok", stream_id="live-1"),
        "listing": w.verify(f, "tiktok", listing_id="L-1"),
        "overlay": w.verify(
            f, platform="tiktok", listing_id="L-1", stream_id="live-1", nonce=nonce
        ),
        "session": w.verify(f, platform="tiktok", stream_id="live-1", session_proof=body),
        "restart": w.verify(f, "tiktok", stream_id="live-2"),
    }


def test_the_holders_vouched_contexts_stay_genuine_and_follow_the_items_state(
    world: World,
) -> None:
    s = world.supply
    declare(world, "S-1", "live-1", "L-1")
    declare(world, "S-1", "live-2")
    wanted = {"stream", "listing", "overlay", "session", "restart"}
    f2, f3, f4 = (code(s, serial) for serial in ("F0002", "F0003", "F0004"))
    for f in (f2, f3, f4):  # vouched clones elsewhere: another seller, streams nobody declared
        world.verify(f, "shopee", seller="shopee:12345", stream_id="b-live")
        world.verify(f, "tiktok", stream_id="undeclared-x")
        world.verify(f, "shopee", listing_id="SB-1")
    assert {"multiple_sellers", "scan_velocity"} <= set(codes(world.verify(f2)))
    seen = holder_contexts(world, f2)
    assert set(seen) == wanted
    for name, data in seen.items():
        assert (data["status"], data["source"] != "anonymous") == ("genuine", True), (name, data)
    s.ok(
        RECALL,
        s.event("fishco", gtin=GTIN, scope="items", serials=["F0002"], reason="x"),
        s.keys["fishco"],
    )
    for name, data in holder_contexts(world, f2).items():
        assert (data["status"], codes(data)) == ("recalled", ["recalled"]), name
    s.ok(SELL, s.event("shop-a", items=ids(GTIN, "F0003")), s.keys["shop-a"])
    for name, data in holder_contexts(world, f3).items():
        assert (data["status"], codes(data)) == ("suspect", ["sold_item_offered"]), name
    s.ok(
        DECOMMISSION,
        s.event("shop-a", items=ids(GTIN, "F0004"), reason="damaged"),
        s.keys["shop-a"],
    )
    for name, data in holder_contexts(world, f4).items():
        assert (data["status"], codes(data)) == ("counterfeit", ["item_destroyed"]), name


# --- who may still vouch -----------------------------------------------------------------------


def session_proof(w: World, seller: str, session: str, f: str, platform: str) -> dict[str, Any]:
    proof = sign_scan(w.supply.keys[seller], platform, session, f, now_ms())
    return {
        "session_id": session,
        "key_id": proof.key_id,
        "time": proof.time,
        "signature": base64.urlsafe_b64encode(proof.signature).decode().rstrip("="),
    }


def test_a_suspended_sellers_session_proof_vouches_for_nothing(world: World) -> None:
    """shop-b declares a shopee session and signs scans of shop-a's item in it: vouched
    evidence of a second seller. Once the operator suspends shop-b, its signature vouches
    for nothing more (as a revoked platform key): its new scans are anonymous."""
    s = world.supply
    f1 = code(s, "F0001")
    body = {
        "actor": "shop-b",
        "platform": "shopee",
        "session_id": "SB-1",
        "stream_id": "b-live",
        "event_time": s.now,
    }
    s.ok(STREAM_DECLARE, body, s.keys["shop-b"])
    first = world.verify(
        f1, platform="shopee", session_proof=session_proof(world, "shop-b", "SB-1", f1, "shopee")
    )
    assert first["source"] == "session" and "seller_not_custodian" in codes(first)
    s.ok(ACTOR_UPDATE, {"id": "shop-b", "status": "suspended", "event_time": s.now}, s.operator)
    f2 = code(s, "F0002")
    later = world.verify(
        f2, platform="shopee", session_proof=session_proof(world, "shop-b", "SB-1", f2, "shopee")
    )
    assert later["source"] == "anonymous", later
    assert world.verify(f2)["status"] == "genuine"


# --- what held: anonymous requests of every kind change nothing anyone else sees --------------


def everyone_else(w: World, f: str) -> dict[str, Any]:
    """What others see of shop-a's item: a plain verify, the holder's platform, the
    overlay's badge, the platform's listing check, the item page (JSON and HTML)."""
    path = f.removeprefix(RESOLVER)
    overlay = w.client.get("/v1/overlay/tiktok/L-1", params={"stream": "live-1"}).json()
    listing = check_listing(
        w, "tiktok", seller="tiktok:@shopa", platform="tiktok", listing_id="L-1", gtin=GTIN
    )
    page = w.client.get(path, headers={"Accept": "text/html", "Accept-Language": "vi"}).text
    return {
        "plain": codes(w.verify(f)),
        "holder": codes(w.verify(f, "tiktok", stream_id="live-1")),
        "overlay": (overlay["state"], overlay["reasons"]),
        "listing": (listing["status"], [r["code"] for r in listing["reasons"]]),
        "page-json": codes(w.client.get(path, headers={"Accept": "application/json"}).json()),
        "page-html": page.count('data-status="genuine"'),
    }


def test_anonymous_requests_of_every_kind_change_nothing_anyone_else_sees(world: World) -> None:
    s = world.supply
    declare(world, "S-1", "live-1", "L-1")
    f1 = code(s, "F0001")
    before = everyone_else(world, f1)
    assert before["plain"] == ["custody_verified"] and before["page-html"] == 1
    stale = issue_nonce(world.operator, "tiktok", "L-1", "live-1", expiry=now_ms() - 1).to_text()
    other_nonce = issue_nonce(
        world.operator, "tiktok", "L-2", "live-1", expiry=epoch_expiry(now_ms(), 600_000)
    ).to_text()
    own = session_proof(world, "shop-a", "S-1", f1, "tiktok")
    other_code = session_proof(world, "shop-a", "S-1", code(s, "F0002"), "tiktok")
    old = sign_scan(s.keys["shop-a"], "tiktok", "S-1", f1, now_ms() - 11 * 60_000)
    old_body = {
        **own,
        "time": old.time,
        "signature": base64.urlsafe_b64encode(old.signature).decode().rstrip("="),
    }
    attacks: list[dict[str, Any]] = [
        # spelled sellers, confusable in ASCII, platform prefixes that do not agree
        *(
            {"platform": "tiktok", "seller": h, "stream_id": "x1"}
            for h in (
                "tiktok:@nobody123",
                "TikTok:@ShopB",
                "shopee:12345",
                "shopee:@12345",
                "@12345",
                "shop-b",
                "tiktok:@shopa.",
                "tiktok:@sh0pa",
                "tiktok:shopa:",
                "tiktok::shopa",
            )
        ),
        # a declared session or stream named without a signature, and real streams
        {"platform": "tiktok", "stream_id": "live-1", "seller": "shopee:12345"},
        {"platform": "tiktok", "listing_id": "L-1", "seller": "shop-b"},
        {"platform": "shopee", "stream_id": "live-1"},
        # nonces for another listing, expired, for another platform or stream
        {"platform": "tiktok", "listing_id": "L-1", "stream_id": "live-1", "nonce": stale},
        {"platform": "tiktok", "listing_id": "L-1", "stream_id": "live-1", "nonce": other_nonce},
        {"platform": "shopee", "listing_id": "L-1", "stream_id": "live-1", "nonce": other_nonce},
        # session proofs for another code, another platform, out of their window
        {"platform": "tiktok", "stream_id": "x9", "seller": "shop-b", "session_proof": other_code},
        {"platform": "shopee", "stream_id": "x9", "session_proof": own},
        {"platform": "tiktok", "stream_id": "x9", "session_proof": old_body},
    ]
    for n, context in enumerate(attacks):
        for place in ("VN-SG", "CN-SH", "TH", "US"):
            response = world.client.post(
                "/v1/verify",
                json={"code": f1, "context": {**context, "place": place}},
                headers={"User-Agent": f"rival-{n}-{place}"},
            )
            assert response.status_code == 200, (context, response.text)
            assert response.json()["source"] == "anonymous", context
    for query in (
        "&platform=shopee&seller=12345&stream=x",
        "&seller=shop-b&stream=x2",
        "&platform=tiktok&listing=L-1&stream=live-1&n=" + other_nonce,
    ):
        page = world.client.get(
            f1.removeprefix(RESOLVER) + query, headers={"Accept": "application/json"}
        )
        assert page.json()["source"] == "anonymous", query
    world.app.state.tracemark.verifier.flush(now_ms())
    assert everyone_else(world, f1) == before
    assert world.webhook_events() == []


# --- a restart declared after its first scans ---------------------------------------------------


def test_a_restart_declared_after_its_first_scans_is_still_one_offer(world: World) -> None:
    """The stream drops; shop-a goes live again as live-2 and tiktok vouches scans of it
    before shop-a declares the restart. Until then live-2 is a stream nobody declared; once
    the log says it is a segment of S-1, its earlier scans are shop-a's too: one offer, no
    scan_velocity for a plain verify. The same for a listing declared after its check."""
    f3 = code(world.supply, "F0003")
    declare(world, "S-1", "live-1", "L-1")
    assert world.verify(f3, "tiktok", stream_id="live-1")["status"] == "genuine"
    assert "scan_velocity" in codes(world.verify(f3, "tiktok", stream_id="live-2"))
    declare(world, "S-1", "live-2")
    assert world.verify(f3)["status"] == "genuine"
    assert world.verify(f3, "tiktok", stream_id="live-2")["status"] == "genuine"
    world.verify(f3, "tiktok", listing_id="L-9")
    assert "scan_velocity" in codes(world.verify(f3))
    world.supply.listing("shop-a", "tiktok", "L-9", GTIN, quantity=1)
    assert world.verify(f3)["status"] == "genuine"
