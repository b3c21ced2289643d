"""Short codes (issue 18, same-phone flow): the overlay shows one, ``/s/{code}`` opens the
listing page bound to the stream with a fresh nonce, case-insensitively; unknown codes are
404, ended or revoked ones 410, lookups of a client that misses too often 429; and what a
viewer verifies from the listing page it opened carries the stream-bound ``overlay`` source."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.nonce import open_nonce
from api.settings import Settings
from ledger.keys import PrivateKey
from ledger.ports.platform import ShortCode
from ledger.provenance.events.names import STREAM_DECLARE
from ledger.storage.memory.log import MemoryStore
from ledger.usecases.service import now_ms
from tests.pages.chain import LISTING, PLATFORM, STREAM, Chain, build_chain, fresh_service
from tests.pages.conftest import HTML, RESOLVER, page_settings

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}$")


class Site:
    def __init__(self, client: TestClient, chain: Chain, operator: PrivateKey) -> None:
        self.client, self.chain, self.operator = client, chain, operator

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.tracemark.platform.store  # type: ignore[attr-defined]

    def overlay(self, listing: str = LISTING) -> dict:  # type: ignore[type-arg]
        response = self.client.get(f"/v1/overlay/{PLATFORM}/{listing}", params={"stream": STREAM})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def open(self, code: str, **headers: str):  # type: ignore[no-untyped-def]
        return self.client.get(f"/s/{code}", headers=headers, follow_redirects=False)


def _site(tmp_path: Path, operator: PrivateKey, settings: Settings) -> Iterator[Site]:
    service = fresh_service(MemoryStore(), operator)
    chain = build_chain(service, operator, RESOLVER)
    app = create_app(settings, service=service)
    with TestClient(app, base_url=RESOLVER) as client:
        yield Site(client, chain, operator)


@pytest.fixture
def site(tmp_path: Path, operator_key: PrivateKey) -> Iterator[Site]:
    yield from _site(tmp_path, operator_key, page_settings(tmp_path))


def test_the_overlay_shows_a_grouped_short_code_and_a_chat_link(site: Site) -> None:
    short = site.overlay()["short"]
    assert CODE.match(short["code"]), short
    assert short["url"] == f"{RESOLVER}/s/{short['code'].replace('-', '')}"
    assert site.overlay()["short"] == short  # the same code while the overlay runs
    page = site.client.get(f"/overlay/{PLATFORM}/{LISTING}", params={"stream": STREAM}).text
    assert f'<b id="code">{short["code"]}</b>' in page


def test_a_code_opens_the_listing_page_bound_to_its_stream(site: Site) -> None:
    code = site.overlay()["short"]["code"]
    answer = site.open(code.replace("-", ""))
    assert answer.status_code == 303 and answer.headers["cache-control"] == "no-store"
    target = urlsplit(answer.headers["location"])
    assert target.path == f"/l/{PLATFORM}/{LISTING}"
    query = parse_qs(target.query)
    assert query["s"] == [STREAM]
    nonce = open_nonce(
        query["n"][0], site.operator.public_key, PLATFORM, LISTING, STREAM, now=now_ms()
    )
    assert nonce.expiry > now_ms()
    page = site.client.get(answer.headers["location"], headers=HTML)
    assert page.status_code == 200 and 'data-state="backed"' in page.text


@pytest.mark.parametrize("typed", ["lower", "dashed", "spaced", "look-alike"])
def test_codes_are_read_case_insensitively_and_with_look_alikes(site: Site, typed: str) -> None:
    code = site.overlay()["short"]["code"]
    text = {
        "lower": code.replace("-", "").lower(),
        "dashed": code.lower(),
        "spaced": code.replace("-", " "),
        "look-alike": code.replace("0", "o").replace("1", "l"),
    }[typed]
    answer = site.open(text)
    assert answer.status_code == 303, (text, answer.text)
    assert answer.headers["location"].startswith(f"/l/{PLATFORM}/{LISTING}?s={STREAM}&n=")


def test_an_unknown_code_is_404_and_a_malformed_one_400(site: Site) -> None:
    live = site.overlay()["short"]["code"].replace("-", "")
    unknown = next(c for c in ("ZZZZZZ", "YYYYYY") if c != live)
    answer = site.open(unknown)
    assert answer.status_code == 404
    assert answer.json()["code"] == "unknown_short_code"
    assert answer.headers["content-type"].startswith("application/problem+json")
    page = site.open(unknown, **HTML)
    assert page.status_code == 404
    assert "No live stream has this code" in page.text
    assert 'class="banner v-unverified"' in page.text  # neutral: a typo says nothing of goods
    for bad in ("ABC", "ABCDEFGHI", "AB$DEF", "UUUUUU"):
        answer = site.open(bad)
        assert answer.status_code == 400, bad
        assert answer.json()["code"] == "short_code_invalid"


def test_an_expired_or_revoked_code_is_410(site: Site) -> None:
    now = now_ms()
    site.store.add_short_code(ShortCode("EXP1RE", PLATFORM, LISTING, "old", now - 9, now - 1))
    answer = site.open("EXP1RE")
    assert answer.status_code == 410 and answer.json()["code"] == "short_code_expired"
    page = site.open("exp-1re", **{**HTML, "accept-language": "vi"})
    assert page.status_code == 410 and "Mã của phiên live này đã hết hạn" in page.text
    code = site.overlay()["short"]["code"].replace("-", "")
    site.store.revoke_short_code(code, now_ms())
    assert site.open(code).status_code == 410
    # The overlay of the same stream then shows a new code.
    fresh = site.overlay()["short"]["code"].replace("-", "")
    assert fresh != code and site.open(fresh).status_code == 303


def test_an_unknown_listing_gets_no_code(site: Site) -> None:
    assert site.overlay("NOPE")["short"] is None
    assert site.store.short_codes_of(PLATFORM, "NOPE", STREAM) == []


def test_misses_are_rate_limited_and_then_every_lookup_waits(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    settings = page_settings(tmp_path)
    limited = Settings(**{**settings.__dict__, "short_code_misses_per_minute": 3})
    for site in _site(tmp_path, operator_key, limited):
        code = site.overlay()["short"]["code"]
        for guess in ("ZZZZZ1", "ZZZZZ2", "ZZZZZ3"):
            assert site.open(guess).status_code in (404, 429)
        refused = site.open("ZZZZZ4")
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        # A client over its budget learns nothing, not even which codes exist.
        assert site.open(code).status_code == 429
        assert "Too many wrong codes" in site.open("ZZZZZ5", **HTML).text


def test_what_is_verified_from_the_opened_page_is_stream_bound(site: Site) -> None:
    s = site.chain.supply
    body = {
        "actor": "shop-a",
        "platform": PLATFORM,
        "session_id": "S-1",
        "stream_id": STREAM,
        "event_time": s.now,
        "listings": [LISTING],
    }
    s.ok(STREAM_DECLARE, body, s.keys["shop-a"])  # the seller streams this listing
    code = site.overlay()["short"]["code"]
    location = site.open(code).headers["location"]
    query = parse_qs(urlsplit(location).query)
    context = {
        "platform": PLATFORM,
        "listing_id": LISTING,
        "stream_id": query["s"][0],
        "nonce": query["n"][0],
    }
    bound = site.client.post("/v1/verify", json={"code": site.chain.genuine, "context": context})
    assert bound.status_code == 200 and bound.json()["source"] == "overlay"
    unbound = {**context, "nonce": ""}
    plain = site.client.post("/v1/verify", json={"code": site.chain.genuine, "context": unbound})
    assert plain.json()["source"] == "anonymous"
    # The listing page links the scan with the same context.
    page = site.client.get(location, headers=HTML).text
    assert f"n={query['n'][0]}" in page and "/scan?" in page
