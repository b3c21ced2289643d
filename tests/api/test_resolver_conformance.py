"""The resolver against GS1 Digital Link resolver conventions (ISO/IEC 18975).

Cases marked "Resolver CE" follow GS1's own resolver's tests (gs1/GS1_DigitalLink_Resolver_CE,
tests/setup_test.py and its test_01_*.json entries), translated to what Tracemark serves:
Resolver CE redirects (307) to a brand's pages, Tracemark answers its own page and JSON, so
"redirected to the link of type X" becomes "answers the representation of type X".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.app import create_app
from api.http.resolver import LINKSET_JSON, MAX_AGE_S
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.provenance.events.names import RECALL
from ledger.usecases.service import LogService
from tests.conftest import initialized, make_store
from tests.supply import GTIN, GTIN_B, T0, Supply, gtin_for, ids, standard

RESOLVER = "https://vt.example.test"
VOC = "https://gs1.org/voc/"
NAME = "Cá ngừ đóng hộp 185 g"
UNOWNED_GTIN = gtin_for("8939999", "00001")  # a valid GTIN no registered producer owns


@dataclass
class World:
    client: TestClient
    supply: Supply
    service: LogService

    def code(self, serial: str, lot: str = "L7", gtin: str = GTIN) -> str:
        """The path and query of a signed item code (what the QR's URL asks the resolver)."""
        uri = issue_uri(CodeIdentity(gtin, serial, lot), self.supply.keys["fishco"], RESOLVER)
        return uri.removeprefix(RESOLVER)

    def recall(self, **scope: Any) -> None:
        s = self.supply
        s.ok(RECALL, s.event("fishco", reason="histamine", **scope), s.keys["fishco"])

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(path, headers=headers, follow_redirects=False)


@pytest.fixture(params=["memory", "sqlite"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[World]:
    """fishco commissions F0001..F0003 (lot L7, named NAME) and B0001 of GTIN_B (unnamed)."""
    yield from _world(request.param, request, tmp_path, operator_key)


@pytest.fixture
def memory_world(
    request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[World]:
    """``world`` over the memory store only (many requests, the HTTP layer alone)."""
    yield from _world("memory", request, tmp_path, operator_key)


def _world(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[World]:
    store = make_store(backend, request, tmp_path)
    service = initialized(store, operator_key, now=T0 - 10_000)
    service.log_key = operator_key
    s = standard(service, operator_key)
    ranges = {"ranges": [{"prefix": "F", "first": 1, "last": 3, "width": 4}]}
    s.commission("fishco", GTIN, ranges, lot="L7", product={"name": NAME})
    s.commission("fishco", GTIN_B, {"list": ["B0001"]})
    s.ship("fishco", "shop-a", ids(GTIN, "F0002"), "S1")
    config = Settings(
        home=tmp_path, key_file=tmp_path / "absent.key", resolver=RESOLVER, rate_limit_per_minute=0
    )
    with TestClient(create_app(config, service=service)) as client:
        yield World(client, s, service)
    store.close()


def _with(path: str, query: str) -> str:
    return path + ("&" if "?" in path else "?") + query


def _links(header: str) -> dict[str, str]:
    """rel -> href of an RFC 8288 Link header (one rel per link here, or the first)."""
    out: dict[str, str] = {}
    for part in header.split(", <"):
        href, _, params = part.lstrip("<").partition(">")
        rel = params.split('rel="', 1)[1].split('"', 1)[0]
        for name in rel.split():
            out[name] = href
    return out


# --- link types ------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["application/json", LINKSET_JSON])
def test_the_linkset_lists_every_link_with_its_attributes(world: World, accept: str) -> None:
    """Resolver CE: "get the JSON linkset for this entry - both by requesting
    application/json and application/linkset+json" (there through its API; here
    ``linkType=all``, ``linkType=linkset`` or ``Accept: application/linkset+json``)."""
    path = world.code("F0001")
    asked = (
        [_with(path, "linkType=all"), _with(path, "linkType=linkset")]
        if accept == "application/json"
        else [path]
    )
    for url in asked:
        response = world.get(url, Accept=accept)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == LINKSET_JSON
        [context] = response.json()["linkset"]
        assert context["anchor"] == RESOLVER + path  # the code itself, signature included
        assert context["itemDescription"] == NAME
        for link_type, media in (
            ("pip", "text/html"),
            ("verificationService", "application/json"),
            ("recallStatus", "application/json"),
            ("traceability", "application/json"),
            ("defaultLink", "text/html"),
        ):
            [target] = context[VOC + link_type]
            assert set(target) == {"href", "title", "type", "hreflang"}
            assert target["type"] == media and target["title"] and target["hreflang"]
        pip = context[VOC + "pip"][0]
        assert pip["hreflang"] == ["en", "vi"]
        assert pip["href"] == RESOLVER + _with(path, "linkType=gs1:pip")
        record = context[VOC + "traceability"][0]["href"]
        assert record == f"{RESOLVER}/v1/items/{GTIN}/F0001"


def test_every_link_of_the_linkset_answers_what_it_says(world: World) -> None:
    path = world.code("F0001")
    [context] = world.get(_with(path, "linkType=linkset")).json()["linkset"]
    for rel, targets in context.items():
        if rel == "anchor" or not rel.startswith(VOC):
            continue
        for target in targets:
            response = world.get(target["href"].removeprefix(RESOLVER))
            assert response.status_code == 200, (rel, response.text)
            assert response.headers["content-type"].startswith(target["type"]), rel


@pytest.mark.parametrize(
    "spelling",
    ["linkType=gs1:pip", "linktype=gs1:pip", "linkType=pip", "linkType=https://gs1.org/voc/pip"],
)
def test_gs1_pip_is_the_viewer_page_whatever_the_accept_header(world: World, spelling: str) -> None:
    """Resolver CE: ``?linktype=gs1:pip`` with ``Accept: */*`` gives the pip link (its tests
    spell the parameter ``linktype``; the standard ``linkType``)."""
    response = world.get(_with(world.code("F0001"), spelling), Accept="*/*")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-status="genuine"' in response.text and NAME in response.text


def test_gs1_verification_service_is_the_verdict_json(world: World) -> None:
    path = world.code("F0001")
    response = world.get(_with(path, "linkType=gs1:verificationService"), Accept="text/html")
    assert response.headers["content-type"] == "application/json"
    posted = world.client.post("/v1/verify", json={"code": RESOLVER + path}).json()
    assert response.json()["status"] == posted["status"] == "genuine"
    assert response.json()["reasons"] == posted["reasons"]


def test_recall_status_follows_the_ledger(world: World) -> None:
    path = _with(world.code("F0001"), "linkType=gs1:recallStatus")
    before = world.get(path).json()
    assert before["recalled"] is False and before["known"] is True
    assert before["item"] == {"gtin": GTIN, "serial": "F0001", "lot": "L7", "producer": "fishco"}
    world.recall(gtin=GTIN, scope="lot", lot="L7")
    after = world.get(path).json()
    assert after["recalled"] is True and after["status"] == "recalled"
    assert [r["code"] for r in after["reasons"]] == ["recalled"]


def test_an_unknown_link_type_is_404_not_the_default_link(world: World) -> None:
    """Resolver CE: "Request linktype gs1:safetyInfo" -> 404: "it is now considered incorrect
    to send back something you didn't ask for" (older versions sent the default link)."""
    response = world.get(_with(world.code("F0001"), "linktype=gs1:safetyInfo"))
    assert response.status_code == 404
    assert response.json()["code"] == "link_type_not_offered"
    assert "linkset" in _links(response.headers["link"])  # where to learn what is offered


def test_traceability_redirects_to_the_items_ledger_record(world: World) -> None:
    response = world.get(_with(world.code("F0002"), "linkType=gs1:traceability"))
    assert response.status_code == 307
    record = world.get(response.headers["location"].removeprefix(RESOLVER))
    assert record.status_code == 200, record.text
    assert (record.json()["serial"], record.json()["pending_to"]) == ("F0002", "shop-a")
    # A code for a serial the ledger never saw has no record to link to.
    never = world.get(_with(world.code("F0999"), "linkType=gs1:traceability"))
    assert never.status_code == 404
    [context] = world.get(_with(world.code("F0999"), "linkType=all")).json()["linkset"]
    assert VOC + "traceability" not in context


# --- Link header and HEAD --------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/html", "application/json", LINKSET_JSON])
def test_head_answers_with_the_get_headers_and_no_body(world: World, accept: str) -> None:
    path = world.code("F0001")
    got = world.get(path, Accept=accept)
    head = world.client.head(path, headers={"Accept": accept})
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    for name in ("link", "etag", "cache-control", "vary", "content-type"):
        assert head.headers[name] == got.headers[name], name
    assert int(head.headers["content-length"]) == len(got.content)


def test_every_answer_links_the_linkset_and_the_default_link(world: World) -> None:
    path = world.code("F0001")
    linkset = RESOLVER + _with(path, "linkType=linkset")
    for url in (path, _with(path, "linkType=gs1:pip"), _with(path, "linkType=all")):
        for response in (world.get(url), world.client.head(url)):
            links = _links(response.headers["link"])
            assert links["linkset"] == linkset
            assert links[VOC + "defaultLink"] == RESOLVER + _with(path, "linkType=gs1:pip")
            assert links[VOC + "verificationService"].endswith("linkType=gs1:verificationService")


def _verdict_counts(world: World) -> list[str]:
    return [line for line in world.client.get("/metrics").text.splitlines() if "genuine" in line]


def test_head_and_the_linkset_are_not_scans(world: World) -> None:
    path = world.code("F0001")
    world.get(path)
    before = _verdict_counts(world)
    assert before  # the GET was counted
    for _ in range(3):
        world.client.head(path)
        world.get(_with(path, "linkType=linkset"))
    assert _verdict_counts(world) == before
    world.get(path)
    assert _verdict_counts(world) != before  # a GET is a scan


# --- the walk up: lot and GTIN ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/10/L7"])
def test_a_product_url_names_the_product_and_never_says_genuine(world: World, suffix: str) -> None:
    """Resolver CE: ``/01/09506000134376`` and ``/01/09506000134376/10/LOT01`` resolve (the
    product's and the lot's pages) as well as the serialised ``/21/HELLOWORLD``."""
    path = f"/01/{GTIN}{suffix}"
    data = world.get(path).json()
    assert data["status"] == "invalid"  # what POST /v1/verify says: not an item code
    assert (
        data["status"]
        == world.client.post("/v1/verify", json={"code": RESOLVER + path}).json()["status"]
    )
    assert [r["code"] for r in data["reasons"]] == ["product_only"]
    assert data["item"]["name"] == NAME and data["item"]["producer"] == "fishco"
    assert data["item"].get("lot", "") == suffix.removeprefix("/10/")
    page = world.get(path, Accept="text/html", **{"Accept-Language": "vi"})
    assert page.status_code == 200 and NAME in page.text and "fishco" in page.text
    assert 'data-status="genuine"' not in page.text and "Hàng chính hãng" not in page.text
    assert "Hàng giả" not in page.text
    [context] = world.get(path + "?linkType=linkset").json()["linkset"]
    assert context["anchor"] == RESOLVER + path and context["itemDescription"] == NAME
    assert VOC + "pip" in context and VOC + "traceability" not in context


def test_a_recall_shows_on_the_product_and_lot_urls(world: World) -> None:
    world.recall(gtin=GTIN, scope="lot", lot="L7")
    lot = world.get(f"/01/{GTIN}/10/L7").json()
    assert lot["status"] == "recalled" and lot["reasons"][0]["code"] == "lot_recalled"
    other_lot = world.get(f"/01/{GTIN}/10/L8").json()
    assert other_lot["status"] == "invalid"  # another lot of the same GTIN is not recalled
    assert world.get(f"/01/{GTIN}").json()["status"] == "invalid"
    world.recall(gtin=GTIN_B, scope="gtin")
    whole = world.get(f"/01/{GTIN_B}?linkType=gs1:recallStatus").json()
    assert whole["recalled"] is True and whole["reasons"][0]["code"] == "product_recalled"
    assert world.get(f"/01/{GTIN_B}/10/ANY").json()["status"] == "recalled"


def test_a_gtin_without_a_registered_producer_is_404(world: World) -> None:
    for path in (f"/01/{UNOWNED_GTIN}", f"/01/{UNOWNED_GTIN}/10/L1"):
        response = world.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_product"
        assert UNOWNED_GTIN in response.json()["detail"]
        assert world.client.head(path).status_code == 404


def test_a_thirteen_digit_gtin_names_the_same_product(world: World) -> None:
    assert world.get(f"/01/{GTIN[1:]}").json()["item"]["gtin"] == GTIN


# --- not a Digital Link ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/01/notagtin",  # the issue's case
        f"/01/{GTIN}/badrequest",  # Resolver CE: "BAD GS1 Digital Link Request .../badrequest"
        f"/01/{GTIN[:-1]}9",  # wrong check digit
        f"/01/{GTIN}/10",  # a qualifier without its value
        f"/01/{GTIN}/10/L7/extra",
        "/01/",
    ],
)
def test_a_path_that_is_not_a_digital_link_is_400(world: World, path: str) -> None:
    response = world.get(path, Accept="text/html")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_digital_link"
    head = world.client.head(path)
    assert head.status_code == 400 and head.content == b""


def test_a_digital_link_this_resolver_does_not_answer_is_404(world: World) -> None:
    response = world.get(f"/01/{GTIN}/22/V1")  # a valid key qualifier (CPV) we do not serve
    assert response.status_code == 404 and response.json()["code"] == "not_resolvable"


def test_item_codes_keep_their_verdicts(world: World) -> None:
    """A mistyped item code is still a verdict (invalid), never a 400: scans do not change."""
    path = world.code("F0001")
    wrong = path.replace(GTIN, GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10))
    response = world.get(wrong)
    assert response.status_code == 200 and response.json()["status"] == "invalid"


# --- caching and content negotiation ---------------------------------------------------------


def test_one_url_varies_by_accept_and_language(world: World) -> None:
    path = world.code("F0001")
    html = world.get(path, Accept="text/html")
    data = world.get(path, Accept="application/json")
    assert html.headers["content-type"].startswith("text/html")
    assert data.headers["content-type"] == "application/json"
    for response in (html, data):
        vary = {v.strip() for v in response.headers["vary"].split(",")}
        assert {"Accept", "Accept-Language"} <= vary
        assert response.headers["cache-control"] == f"public, max-age={MAX_AGE_S}, must-revalidate"
    assert html.headers["etag"] != data.headers["etag"]


def test_if_none_match_gives_304_until_the_log_changes(world: World) -> None:
    path = world.code("F0001")
    first = world.get(path)
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and str(world.service.store.size()) in etag
    again = world.get(path, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and "linkset" in again.headers["link"]
    world.recall(gtin=GTIN, scope="lot", lot="L7")  # the log grows: a fresh answer
    after = world.get(path, **{"If-None-Match": etag})
    assert after.status_code == 200 and after.json()["status"] == "recalled"
    assert after.headers["etag"] != etag


@pytest.mark.parametrize(
    "query", ["platform=tiktok", "seller=tiktok:@shopa", "stream=live-1", "listing=L-1", "n=x"]
)
def test_answers_for_a_request_context_are_private(world: World, query: str) -> None:
    response = world.get(_with(world.code("F0001"), query))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert "etag" not in response.headers


def test_an_api_key_makes_the_answer_private(world: World) -> None:
    response = world.get(world.code("F0001"), **{"X-API-Key": "tm_not_a_key"})
    assert response.headers.get("cache-control") != f"public, max-age={MAX_AGE_S}, must-revalidate"
    assert "X-API-Key" in world.get(world.code("F0001")).headers["vary"]


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [
        ("vi", "vi"),
        ("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", "vi"),
        ("en-US,en;q=0.9,vi;q=0.8", "en"),
        ("en;q=0.5,vi;q=0.6", "vi"),
        # Resolver CE's negative case: no language it has, so its default language.
        ("fr-BE,fr-FR;q=0.8,fr;q=0.7", "en"),
    ],
)
def test_accept_language_chooses_vi_or_en(world: World, accept_language: str, lang: str) -> None:
    """Resolver CE: "return the link in the language that is most preferred by the web
    browser", q-values included (its issue 97), the default language when none matches."""
    path = world.code("F0001")
    page = world.get(path, Accept="text/html", **{"Accept-Language": accept_language})
    assert f'<html lang="{lang}">' in page.text
    assert f"-html-{lang}-" in page.headers["etag"]


# --- never a 500 -----------------------------------------------------------------------------

_SEGMENT = st.one_of(
    st.text(alphabet=st.sampled_from("0123456789AZaz-._~%2F!'()*+,;=:@"), max_size=24),
    st.sampled_from([GTIN, GTIN[1:], UNOWNED_GTIN, "10", "21", "22", "L7", "F0001", "%2F"]),
)


@given(
    segments=st.lists(_SEGMENT, min_size=0, max_size=6),
    link_type=st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["gs1:pip", "all"])),
    accept=st.sampled_from(["*/*", "text/html", "application/json", LINKSET_JSON, ""]),
    method=st.sampled_from(["GET", "HEAD"]),
)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_path_under_01_is_answered_without_a_server_error(
    memory_world: World, segments: list[str], link_type: str | None, accept: str, method: str
) -> None:
    path = "/01/" + "/".join(segments)
    params = {} if link_type is None else {"linkType": link_type}
    response = memory_world.client.request(
        method, path, params=params, headers={"Accept": accept}, follow_redirects=False
    )
    assert response.status_code in (200, 307, 400, 404), (path, params, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        if method == "GET":
            assert response.json()["code"]
