"""The seller's console screens in process: only the seller's own shipments, stock, listings,
scans and alerts; entries it signs go through ``POST /console/api/entries`` (CSRF, actor and
key checked); the overlay screen frames only this server's overlay; bad queries are 4xx.
(Wrong roles at every seller route: tests/console/test_console_routes.py, from the table.)"""

from __future__ import annotations

import re
from typing import Any

import pyotp

from api.http.console.seller import OVERLAY_CSP
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.provenance.events.names import (
    LISTING_CLOSE,
    LISTING_DECLARE,
    RECALL,
    RECEIVE,
    STREAM_DECLARE,
)
from tests.console.conftest import ORIGIN, PASSWORD, Console, Person, now
from tests.supply import GTIN, Supply, ids

SELLER_KEY = PrivateKey.from_seed(bytes([77] * 32))  # TEST ONLY
OTHER_KEY = PrivateKey.from_seed(bytes([88] * 32))  # TEST ONLY
HANDLE = "tiktok:@shop-seventy"


def join_seller(
    console: Console, actor: str = "shop-77", handle: str = HANDLE, key: PrivateKey = SELLER_KEY
) -> Person:
    """A seller invited with a handle, identity checked, approved with SELLER_KEY."""
    accounts = console.state.console.accounts  # type: ignore[union-attr]
    _, token = accounts.invite("seller", now=now(), actor_id=actor, handle=handle)
    client = console.client()
    page = client.get(f"/console/invite/{token}")
    secret = page.text.split('id="totp-secret">')[1].split("<")[0]
    answer = client.post(
        f"/console/api/invite/{token}/password",
        json={"password": PASSWORD, "code": pyotp.TOTP(secret).now()},
        headers={"origin": ORIGIN},
    )
    assert answer.status_code == 201, answer.text
    csrf = client.get("/console/").text.split('name="csrf-token" content="')[1].split('"')[0]
    who = Person(actor, "seller", client, csrf, pyotp.TOTP(secret))
    key = who.post("/console/api/key", {"public_key": key.public_key.to_text()})
    assert key.status_code == 200, key.text
    account = accounts.store.account_named(actor)
    assert account is not None
    accounts.identity_check(account.account_id, "document", "ID card seen", now=now())
    operator = console.join("operator", name=f"ops-{actor}")
    done = operator.post(f"/console/api/accounts/{account.account_id}/approve", {})
    assert done.status_code == 200, done.text
    return who


def seeded(console: Console) -> Supply:
    """A producer (registered with its key file's key) that ships to shop-77 and shop-88."""
    s = Supply(console.state.service, console.operator_key, now=now() - 600_000)
    s.keys["operator"] = console.operator_key
    s.register("fishco", "producer", prefixes=("8930001",))
    s.commission("fishco", GTIN, {"list": [f"S{n}" for n in range(1, 7)]}, lot="L1")
    s.ship("fishco", "shop-77", ids(GTIN, "S1", "S2", "S3"), "SH-77")
    s.ship("fishco", "shop-88", ids(GTIN, "S4"), "SH-88")
    return s


def signed(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"entry": sign_entry(kind, body, SELLER_KEY).to_obj()}


def test_seller_screens_show_only_its_own_and_its_entries_are_checked(console: Console) -> None:
    seller = join_seller(console)
    join_seller(console, "shop-88", "tiktok:@eighty-eight", OTHER_KEY)
    supply = seeded(console)

    page = seller.client.get("/console/seller/shipments").text
    assert "SH-77" in page and "SH-88" not in page and 'data-sign="event.receive"' in page
    assert '<script src="/console/static/seller.js" defer>' in page

    t = now()
    receive = {"actor": "shop-77", "shipment": "SH-77", "from": "fishco", "event_time": t,
               "tz": "+07:00"}  # fmt: skip
    # CSRF: a signed entry without the token is refused, as is one for another actor.
    bare = seller.client.post(
        "/console/api/entries", json=signed(RECEIVE, receive), headers={"origin": ORIGIN}
    )
    assert bare.status_code == 403 and bare.json()["code"] == "csrf_failed"
    other = seller.post("/console/api/entries", signed(RECEIVE, {**receive, "actor": "shop-88"}))
    assert other.status_code == 403 and other.json()["code"] == "not_your_actor"
    ok = seller.post("/console/api/entries", signed(RECEIVE, receive))
    assert ok.status_code == 201, ok.text
    assert "SH-77" not in seller.client.get("/console/seller/shipments").text

    supply.now = now()
    supply.ok(RECALL, supply.event("fishco", gtin=GTIN, scope="items", serials=["S3"],
              reason="seal"), supply.keys["fishco"])  # fmt: skip
    stock = seller.client.get("/console/seller/stock").text
    assert f'<tr data-gtin="{GTIN}" data-lot="L1" class=recalled>' in stock
    assert '<td class="active">2</td>' in stock and "recalled: do not sell" in stock

    listing = {"actor": "shop-77", "platform": "tiktok", "listing_id": "L-77", "gtin": GTIN,
               "quantity": 2, "event_time": now()}  # fmt: skip
    assert seller.post("/console/api/entries", signed(LISTING_DECLARE, listing)).status_code == 201
    session = {"actor": "shop-77", "platform": "tiktok", "session_id": "sess-1",
               "stream_id": "live-1", "listings": ["L-77"], "event_time": now()}  # fmt: skip
    assert seller.post("/console/api/entries", signed(STREAM_DECLARE, session)).status_code == 201
    listings = seller.client.get("/console/seller/listings").text
    assert 'data-listing="tiktok:L-77" data-status="open"' in listings
    assert '<option value="tiktok">tiktok</option>' in listings
    assert 'data-sign="listing.close"' in listings and 'data-sign="stream.declare"' in listings

    shown = seller.client.get(
        "/console/seller/overlay",
        params={"listing": "tiktok:L-77", "stream": "live-1", "pos": "tl"},
    )
    assert shown.status_code == 200
    assert shown.headers["content-security-policy"] == OVERLAY_CSP
    assert "frame-src 'self'" in OVERLAY_CSP and "frame-ancestors 'none'" in OVERLAY_CSP
    url = f"{ORIGIN}/overlay/tiktok/L-77?stream=live-1&amp;pos=tl&amp;lang="
    assert f'value="{url}' in shown.text
    assert 'src="/overlay/tiktok/L-77?stream=live-1&amp;pos=tl' in shown.text
    # The framed page lets this server's own pages frame it.
    framed = seller.client.get("/overlay/tiktok/L-77?stream=live-1&pos=tl")
    assert framed.status_code == 200
    assert "'self'" in framed.headers["content-security-policy"].split("frame-ancestors")[1]

    # Another seller's listing, and bad queries: 4xx problems.
    for params in (
        {"listing": "tiktok:nope"},
        {"listing": "tiktok:L-77", "pos": "middle"},
        {"listing": "tiktok:L-77", "stream": "has space"},
        {"listing": "x" * 500},
    ):
        refused = seller.client.get("/console/seller/overlay", params=params)
        assert refused.status_code == 400 and refused.json()["code"], params

    scans = seller.client.get("/console/seller/scans").text
    assert 'data-listing="tiktok:L-77"' in scans and 'id="scan-total"' in scans

    close = {"actor": "shop-77", "platform": "tiktok", "listing_id": "L-77", "event_time": now()}
    assert seller.post("/console/api/entries", signed(LISTING_CLOSE, close)).status_code == 201
    assert (
        'data-listing="tiktok:L-77" data-status="closed"'
        in seller.client.get("/console/seller/listings").text
    )


def test_seller_screens_have_a_strict_policy_and_no_inline_script(console: Console) -> None:
    seller = join_seller(console)
    for path in (
        "/console/seller/shipments",
        "/console/seller/stock",
        "/console/seller/listings",
        "/console/seller/overlay",
        "/console/seller/scans",
        "/console/seller/listings?lang=vi",
    ):
        answer = seller.client.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "<script>" not in answer.text and "style=" not in answer.text
        assert "http://" not in answer.text.replace(ORIGIN, "")
        assert 'href="/console/seller/overlay"' in answer.text  # in the seller's navigation
    assert 'lang="vi"' in seller.client.get("/console/seller/stock?lang=vi").text


def test_a_seller_sees_another_sellers_data_nowhere(console: Console) -> None:
    join_seller(console)
    other = join_seller(console, "shop-88", "tiktok:@eighty-eight", OTHER_KEY)
    seeded(console)
    for path in ("/console/seller/shipments", "/console/seller/stock", "/console/seller/scans"):
        page = other.client.get(path)
        assert page.status_code == 200 and "SH-77" not in page.text and "shop-77" not in page.text
    assert "SH-88" in other.client.get("/console/seller/shipments").text


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_the_overlay_screen_shows_the_overlays_own_short_code_and_layout(
    console: Console,
) -> None:
    seller = join_seller(console)
    other = join_seller(console, "shop-88", "tiktok:@eighty-eight", OTHER_KEY)
    seeded(console)
    receive = {"actor": "shop-77", "shipment": "SH-77", "from": "fishco", "event_time": now(),
               "tz": "+07:00"}  # fmt: skip
    assert seller.post("/console/api/entries", signed(RECEIVE, receive)).status_code == 201
    listing = {"actor": "shop-77", "platform": "tiktok", "listing_id": "L-77", "gtin": GTIN,
               "quantity": 2, "event_time": now()}  # fmt: skip
    assert seller.post("/console/api/entries", signed(LISTING_DECLARE, listing)).status_code == 201

    # Nothing chosen yet: the layout choice, no code (none is made for a screen without one).
    empty = seller.client.get("/console/seller/overlay").text
    assert '<select id="f-o-layout" name="layout">' in empty
    assert all(f'<option value="{x}"' in empty for x in ("corner", "portrait", "landscape"))
    assert 'id="short-code"' not in empty

    query = {"listing": "tiktok:L-77", "stream": "live-1", "layout": "portrait"}
    shown = seller.client.get("/console/seller/overlay", params=query)
    assert shown.status_code == 200 and shown.headers["content-security-policy"] == OVERLAY_CSP
    page = shown.text
    assert "<script>" not in page and "style=" not in page
    assert '<option value="portrait" selected>' in page
    url = f"{ORIGIN}/overlay/tiktok/L-77?stream=live-1&amp;pos=br&amp;lang=en&amp;layout=portrait"
    assert f'id="overlay-url" type="text" readonly value="{url}"' in page
    assert '<div class="preview l-portrait"><iframe id="overlay-preview" src="/overlay/' in page
    code = _between(page, '<b id="short-code">', "<")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}", code), code
    chat = _between(page, 'id="chat-link" type="text" readonly value="', '"')
    assert chat == f"{ORIGIN}/s/{code.replace('-', '')}"
    assert 'id="copy-chat" data-copy="chat-link" data-out="copy-chat-out"' in page

    # The same code as the overlay itself shows (one use case), and again on a second visit.
    overlay = seller.client.get("/v1/overlay/tiktok/L-77", params={"stream": "live-1"}).json()
    assert overlay["short"] == {"code": code, "url": chat}
    framed = seller.client.get("/overlay/tiktok/L-77?stream=live-1&layout=portrait").text
    assert f'<b id="code">{code}</b>' in framed and 'data-layout="portrait"' in framed
    again = seller.client.get("/console/seller/overlay", params=query).text
    assert _between(again, '<b id="short-code">', "<") == code

    # The chat link opens that listing's page, bound to its stream by a fresh nonce.
    opened = console.client().get(chat.removeprefix(ORIGIN), follow_redirects=False)
    assert opened.status_code == 303, opened.text
    target = opened.headers["location"]
    assert target.startswith("/l/tiktok/L-77?s=live-1&n="), target
    listing_page = console.client().get(target, headers={"accept": "text/html"})
    assert listing_page.status_code == 200 and "L-77" in listing_page.text

    # Another stream of the same listing has its own code.
    stream2 = seller.client.get(
        "/console/seller/overlay", params={**query, "stream": "live-2"}
    ).text
    assert _between(stream2, '<b id="short-code">', "<") != code

    # In Vietnamese.
    vi = seller.client.get("/console/seller/overlay", params={**query, "lang": "vi"}).text
    assert "Mã ngắn và liên kết cho khung chat" in vi and "Sao chép liên kết chat" in vi
    assert "dọc 1080 × 1920" in vi and _between(vi, '<b id="short-code">', "<") == code

    # Another seller: refused, and shown no code; a bad layout is refused.
    refused = other.client.get("/console/seller/overlay", params=query)
    assert refused.status_code == 400 and refused.json()["code"] == "not_your_listing"
    assert code not in refused.text
    bad = seller.client.get("/console/seller/overlay", params={**query, "layout": "sideways"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_field"
