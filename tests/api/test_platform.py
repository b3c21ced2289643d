"""The platform API in process: API keys (401/429), POST /v1/listings/verify (every listing
reason), webhook registration and deliveries, the platform stores' contract, signing and URL
rules, and ``tracemark platform add|list|revoke``; on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.http.app import create_app
from api.http.state import PlatformState
from api.http.verification import observe_verdict
from api.settings import Settings, webhook_settings_from_env
from api.webhooks import check_url, verify_delivery
from ledger import errors
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.ports.platform import (
    PENDING,
    Attempt,
    Delivery,
    PlatformStore,
    Watch,
    Webhook,
    api_key_id,
    delivery_id,
    matches_api_key,
    new_api_key,
)
from ledger.provenance.events.names import RECALL
from ledger.provenance.records import Actor, Recall
from ledger.storage.memory.platform import MemoryPlatformStore
from ledger.storage.platform import platform_store
from ledger.usecases.service import LogService, now_ms
from ledger.usecases.verify import Verifier
from ledger.verdicts import ScanContext, Verdict
from ledger.verdicts.listings import LISTING_REASONS, ListingFacts, judge
from tests.conftest import BACKENDS, initialized, make_store
from tests.supply import GTIN, GTIN_B, T0, Supply, gtin_for, ids, standard

RESOLVER = "https://vt.example.test"
DOCS = Path(__file__).parents[2] / "docs" / "api.md"


def settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        home=tmp_path,
        key_file=tmp_path / "absent.key",
        resolver=RESOLVER,
        rate_limit_per_minute=0,
        **extra,
    )


def stock(s: Supply) -> None:
    """fishco makes F0001..F0010 (lot L7) and B1..B3 (GTIN_B, lot LB); shop-a holds them all
    and lists 5 of GTIN on tiktok (L-1)."""
    s.commission(
        "fishco", GTIN, {"ranges": [{"prefix": "F", "first": 1, "last": 10, "width": 4}]}, lot="L7"
    )
    s.commission("fishco", GTIN_B, {"list": ["B1", "B2", "B3"]}, lot="LB")
    s.ship(
        "fishco",
        "shop-a",
        [*ids(GTIN, *(f"F{n:04d}" for n in range(1, 11))), *ids(GTIN_B, "B1", "B2", "B3")],
        "S1",
    )
    s.receive("shop-a", "fishco", "S1")
    s.listing("shop-a", "tiktok", "L-1", GTIN, quantity=5)


def code(s: Supply, serial: str, gtin: str = GTIN, lot: str = "L7") -> str:
    return issue_uri(CodeIdentity(gtin, serial, lot), s.keys["fishco"], RESOLVER)


@dataclass
class Platform:
    client: TestClient
    app: FastAPI
    supply: Supply
    service: LogService
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> PlatformState:
        return self.app.state.tracemark.platform

    def key(self, name: str = "tiktok", rate_limit: int = 6_000) -> str:
        record, token = new_api_key(
            name, "", secret=bytes([len(self.keys)]) * 32, now=T0, rate_limit=rate_limit
        )
        self.state.store.add_key(record)
        self.keys[name] = token
        return token

    def post(self, path: str, body: Any, platform: str = "tiktok") -> Any:
        return self.client.post(path, json=body, headers={"X-API-Key": self.keys[platform]})

    def get(self, path: str, platform: str = "tiktok") -> Any:
        return self.client.get(path, headers={"X-API-Key": self.keys[platform]})

    def verify(self, *listings: Mapping[str, Any], platform: str = "tiktok") -> list[Any]:
        response = self.post("/v1/listings/verify", {"listings": list(listings)}, platform)
        assert response.status_code == 200, response.text
        results: list[Any] = response.json()["results"]
        return results

    def configure(self, **changes: Any) -> None:
        config = replace(self.state.config, **changes)
        self.state.config = config
        self.state.dispatcher.config = config


@pytest.fixture(params=BACKENDS)
def plat(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    operator_key: PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Platform]:
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    store = make_store(request.param, request, tmp_path)
    service = initialized(store, operator_key, now=T0 - 10_000)
    service.log_key = operator_key
    supply = standard(service, operator_key)
    stock(supply)
    app = create_app(settings(tmp_path), service=service)
    p = Platform(TestClient(app), app, supply, service)
    p.key("tiktok")
    p.key("shopee")
    yield p
    store.close()


def listing(**fields: Any) -> dict[str, Any]:
    base = {"seller": "tiktok:@shopa", "platform": "tiktok", "listing_id": "L-1", "gtin": GTIN}
    return {**base, "quantity": 5, **fields}


def codes_of(result: Mapping[str, Any]) -> list[str]:
    return [r["code"] for r in result["reasons"]]


def error(response: Any) -> str:
    return str(response.json()["error"]["code"])


# --- API keys ---------------------------------------------------------------------------------


def test_platform_endpoints_need_a_valid_key(plat: Platform) -> None:
    c = plat.client
    for method, path in [
        ("post", "/v1/listings/verify"),
        ("get", "/v1/webhooks"),
        ("post", "/v1/webhooks"),
        ("get", "/v1/webhooks/wh_x/deliveries"),
    ]:
        response = c.request(method, path, json={})
        assert response.status_code == 401 and error(response) == "api_key_required", path
        assert response.headers["www-authenticate"] == "ApiKey"
    token = plat.keys["tiktok"]
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in ["junk", "tmk_0123456789abcdef_x", wrong, token + "x"]:
        response = c.get("/v1/webhooks", headers={"X-API-Key": bad})
        assert response.status_code == 401 and error(response) == "api_key_invalid", bad
    assert c.get("/v1/webhooks", headers={"X-API-Key": token}).status_code == 200
    plat.state.store.revoke_key(api_key_id(token), T0)
    response = c.get("/v1/webhooks", headers={"X-API-Key": token})
    assert response.status_code == 401 and error(response) == "api_key_invalid"


def test_keys_are_hashed_and_shaped(plat: Platform) -> None:
    record, token = new_api_key("tiktok", "", secret=b"\x07" * 32, now=1, rate_limit=5)
    assert re.fullmatch(r"tmk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", token)
    assert token.encode() not in record.key_hash and len(record.key_hash) == 32
    assert api_key_id(token) == record.key_id and matches_api_key(record, token)
    assert not matches_api_key(record, token[:-1] + "A")
    with pytest.raises(errors.InvalidInput):
        new_api_key("tiktok", "", secret=b"short", now=1, rate_limit=5)


def test_each_key_has_its_own_rate_limit(plat: Platform) -> None:
    plat.key("slowtok", rate_limit=2)
    assert plat.get("/v1/webhooks", "slowtok").status_code == 200
    assert plat.get("/v1/webhooks", "slowtok").status_code == 200
    limited = plat.get("/v1/webhooks", "slowtok")
    assert limited.status_code == 429 and error(limited) == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert plat.get("/v1/webhooks", "tiktok").status_code == 200  # another key: its own bucket


def test_wrong_keys_spend_the_clients_public_tokens(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    from ledger.storage.memory.log import MemoryStore

    service = initialized(MemoryStore(), operator_key)
    app = create_app(replace(settings(tmp_path), rate_limit_per_minute=3), service=service)
    client = TestClient(app)
    answers = [
        client.get("/v1/webhooks", headers={"X-API-Key": "junk"}).status_code for _ in range(5)
    ]
    assert answers[:3] == [401, 401, 401] and answers[3:] == [429, 429]


# --- POST /v1/listings/verify -----------------------------------------------------------------


def test_a_declared_listing_backed_by_stock_is_genuine(plat: Platform) -> None:
    s = plat.supply
    [result] = plat.verify(listing(codes=[code(s, "F0001"), code(s, "F0002")]))
    assert result["status"] == "genuine", result
    assert codes_of(result) == ["stock_verified"]
    assert result["seller"] == {
        "handle": "tiktok:@shopa",
        "actor_id": "shop-a",
        "registered": True,
        "verified": True,
        "active": True,
        "identity": [],  # no identity verifier attested shop-a
    }
    assert result["stock"] == {
        "gtin": GTIN,
        "producer": "fishco",
        "held": 10,
        "quantity": 5,
        "declared": True,
        "listing_status": "open",
    }
    assert result["recalls"] == []
    assert [c["status"] for c in result["codes"]] == ["genuine", "genuine"]
    assert result["codes"][0]["item_id"] == ids(GTIN, "F0001")[0]


def test_an_undeclared_listing_is_checked_against_the_sellers_stock(plat: Platform) -> None:
    [result] = plat.verify(
        listing(listing_id="NEW-9", seller="@shopa", gtin=GTIN_B[1:], quantity=3)
    )
    assert result["status"] == "genuine" and result["stock"]["declared"] is False
    assert result["stock"]["held"] == 3 and result["stock"]["gtin"] == GTIN_B
    [short] = plat.verify(listing(listing_id="NEW-9", gtin=GTIN_B, quantity=4))
    assert short["status"] == "suspect" and codes_of(short) == ["insufficient_stock"]
    assert short["reasons"][0]["evidence"] == {"held": 3, "quantity": 4}


def test_seller_reasons(plat: Platform) -> None:
    results = plat.verify(
        listing(listing_id="X1", seller="tiktok:@nobody"),
        listing(listing_id="X2", seller="tiktok:@shopx"),
        listing(listing_id="X3", seller="shopee:12345"),
        listing(seller="tiktok:@shopx"),
    )
    assert [r["status"] for r in results] == ["suspect"] * 4
    assert codes_of(results[0]) == ["seller_unknown", "insufficient_stock"]
    assert results[0]["seller"]["registered"] is False
    assert codes_of(results[1]) == ["seller_not_verified", "insufficient_stock"]
    assert codes_of(results[2])[0] == "handle_platform_mismatch"
    assert "listing_seller_mismatch" in codes_of(results[3])


def test_unknown_producer_and_closed_listing(plat: Platform) -> None:
    s = plat.supply
    unknown = gtin_for("8939999", "00001")
    [result] = plat.verify(listing(listing_id="U1", gtin=unknown, quantity=1))
    assert codes_of(result) == ["unknown_producer", "insufficient_stock"]
    assert result["stock"]["producer"] is None
    from ledger.provenance.events.names import LISTING_CLOSE

    s.ok(
        LISTING_CLOSE,
        {"actor": "shop-a", "platform": "tiktok", "listing_id": "L-1", "event_time": s.tick()},
        s.keys["shop-a"],
    )
    [closed] = plat.verify(listing())
    assert closed["status"] == "suspect" and codes_of(closed) == ["listing_closed"]


def test_recalls(plat: Platform) -> None:
    s = plat.supply
    fish = s.keys["fishco"]
    s.ok(RECALL, s.event("fishco", gtin=GTIN, scope="lot", lot="L7", reason="histamine"), fish)
    [lot] = plat.verify(listing(listing_id="R1", quantity=1))
    assert lot["recalls"] == [
        {"gtin": GTIN, "lot": "L7", "reason": "histamine", "index": lot["recalls"][0]["index"]}
    ]
    assert lot["status"] == "suspect" and codes_of(lot) == ["lot_recalled", "insufficient_stock"]
    [with_code] = plat.verify(listing(listing_id="R1", quantity=1, codes=[code(s, "F0003")]))
    assert with_code["status"] == "recalled" and codes_of(with_code)[0] == "code_recalled"
    assert with_code["reasons"][0]["evidence"]["codes"] == [0]
    s.ok(RECALL, s.event("fishco", gtin=GTIN_B, scope="gtin", reason="mislabel"), fish)
    [whole] = plat.verify(listing(listing_id="R2", gtin=GTIN_B, quantity=1))
    assert whole["status"] == "recalled" and codes_of(whole)[0] == "gtin_recalled"


def test_counterfeit_and_clone_codes(plat: Platform) -> None:
    s = plat.supply
    forged = code(s, "F0001").replace("F0001", "F0002")
    never = code(s, "F9999")
    [fake] = plat.verify(listing(codes=[code(s, "F0001"), forged, never]))
    assert fake["status"] == "counterfeit" and codes_of(fake) == ["code_counterfeit"]
    assert fake["reasons"][0]["evidence"]["codes"] == [1, 2]
    other = code(s, "B1", GTIN_B, "LB")
    [mismatch] = plat.verify(listing(codes=[other]))
    assert mismatch["status"] == "suspect" and codes_of(mismatch) == ["code_gtin_mismatch"]
    # shop-b offers shop-a's item on shopee: a clone.
    [clone] = plat.verify(
        listing(
            platform="shopee",
            seller="shopee:12345",
            listing_id="SB-1",
            quantity=1,
            codes=[code(s, "F0004")],
        ),
        platform="shopee",
    )
    assert clone["status"] == "suspect"
    assert {"seller_not_custodian", "insufficient_stock"} <= set(codes_of(clone))


def test_request_limits(plat: Platform) -> None:
    other = listing(platform="shopee", seller="shopee:12345")
    response = plat.post("/v1/listings/verify", {"listings": [listing(), other]})
    assert response.status_code == 403 and error(response) == "platform_mismatch"
    assert "listings.1" in response.json()["error"]["message"]
    many = {"listings": [listing(listing_id=f"M{i}") for i in range(1_001)]}
    assert plat.post("/v1/listings/verify", many).status_code == 422
    codes = {"listings": [listing(listing_id=f"C{i}", codes=["x"] * 100) for i in range(21)]}
    response = plat.post("/v1/listings/verify", codes)
    assert response.status_code == 413 and error(response) == "limit_exceeded"
    bad = plat.post("/v1/listings/verify", {"listings": [listing(gtin="08930001000012")]})
    assert bad.status_code == 422 and "gtin" in bad.json()["error"]["message"]
    assert plat.post("/v1/listings/verify", {"listings": []}).status_code == 422


def test_verified_listings_are_watched(plat: Platform) -> None:
    s = plat.supply
    plat.verify(listing(listing_id="W1", codes=[code(s, "F0005")]), listing(listing_id="W2"))
    watched = plat.state.store.watches(gtin=GTIN)
    assert {(w.listing_id, w.item_id) for w in watched} == {
        ("W1", ids(GTIN, "F0005")[0]),
        ("W2", ""),
    }
    plat.verify(listing(listing_id="W1"))  # the listing's watch is replaced
    assert {(w.listing_id, w.item_id) for w in plat.state.store.watches(gtin=GTIN)} == {
        ("W1", ""),
        ("W2", ""),
    }


# --- judge (pure) -----------------------------------------------------------------------------

SELLER = Actor("shop-a", "seller", "Shop A", "VN", True, "active", (), ("tiktok:@shopa",), 1, 1)


def facts(**changes: Any) -> ListingFacts:
    base = ListingFacts("tiktok", "L", "tiktok:@shopa", GTIN, 2, SELLER, "fishco", None, 5)
    return replace(base, **changes)


def test_judge_precedence_and_every_reason_is_documented() -> None:
    assert judge(facts()).status == "genuine"
    assert judge(facts(seller=replace(SELLER, status="suspended"))).codes == ("seller_suspended",)
    counterfeit = Verdict("counterfeit", (), {"gtin": GTIN})
    recall = Recall(GTIN, "", "fishco", "bad", 9)
    verdict = judge(facts(held=0, recalls=(recall,)), [counterfeit])
    assert verdict.status == "counterfeit"
    assert verdict.codes == ("code_counterfeit", "gtin_recalled", "insufficient_stock")
    assert judge(facts(listed_recalled=("x",))).status == "recalled"
    doc = DOCS.read_text(encoding="utf-8")
    section = doc[doc.index("## Platform API") :]
    for reason in LISTING_REASONS:
        assert f"`{reason}`" in section, reason


# --- webhooks: registration and deliveries ----------------------------------------------------


def test_webhook_registration(plat: Platform) -> None:
    created = plat.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["recall"]})
    assert created.status_code == 201, created.text
    hook = created.json()
    assert re.fullmatch(r"wh_[0-9a-f]{16}", hook["id"])
    # Standard Webhooks: whsec_ + standard base64 of 32 random bytes
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", hook["secret"])
    assert hook["events"] == ["recall"]
    listed = plat.get("/v1/webhooks").json()["webhooks"]
    assert listed == [{k: hook[k] for k in ("id", "url", "events", "created")}]
    assert plat.get("/v1/webhooks", "shopee").json()["webhooks"] == []  # per platform
    other = plat.client.delete(
        f"/v1/webhooks/{hook['id']}", headers={"X-API-Key": plat.keys["shopee"]}
    )
    assert other.status_code == 404 and error(other) == "unknown_webhook"
    assert plat.get(f"/v1/webhooks/{hook['id']}/deliveries", "shopee").status_code == 404
    deleted = plat.client.delete(
        f"/v1/webhooks/{hook['id']}", headers={"X-API-Key": plat.keys["tiktok"]}
    )
    assert deleted.status_code == 204
    assert plat.get("/v1/webhooks").json()["webhooks"] == []
    assert plat.get(f"/v1/webhooks/{hook['id']}/deliveries").status_code == 404


@pytest.mark.parametrize(
    ("url", "events"),
    [
        ("ftp://127.0.0.1/x", ["recall"]),
        ("http://user:pw@127.0.0.1/x", ["recall"]),
        ("http://10.1.2.3/x", ["recall"]),
        ("http://169.254.169.254/latest", ["recall"]),
        ("http://[::ffff:10.0.0.1]/x", ["recall"]),
        ("http://0.0.0.0/x", ["recall"]),
        ("http://127.0.0.1:99999/x", ["recall"]),
    ],
)
def test_webhook_urls_are_refused(plat: Platform, url: str, events: list[str]) -> None:
    response = plat.post("/v1/webhooks", {"url": url, "events": events})
    assert response.status_code == 400 and error(response) == "webhook_url_refused", response.text


def test_webhook_input_and_count_limits(plat: Platform) -> None:
    bad = plat.post("/v1/webhooks", {"url": "http://127.0.0.1/x", "events": ["everything"]})
    assert bad.status_code == 422
    for _ in range(10):
        assert (
            plat.post(
                "/v1/webhooks", {"url": "http://127.0.0.1/x", "events": ["recall"]}
            ).status_code
            == 201
        )
    full = plat.post("/v1/webhooks", {"url": "http://127.0.0.1/x", "events": ["recall"]})
    assert full.status_code == 409 and error(full) == "too_many_webhooks"


def test_url_policy() -> None:
    dev = webhook_settings_from_env({}, production=False)
    prod = webhook_settings_from_env({}, production=True)
    private = webhook_settings_from_env({"TRACEMARK_WEBHOOK_ALLOW_PRIVATE": "1"}, production=True)
    assert check_url("http://127.0.0.1:8080/h", dev)
    with pytest.raises(errors.InvalidInput, match="development"):
        check_url("http://127.0.0.1:8080/h", prod)
    with pytest.raises(errors.InvalidInput, match="non-public"):
        check_url("http://192.168.1.5/h", dev)
    assert check_url("http://192.168.1.5/h", private) and check_url("http://[::1]/h", private)
    assert check_url("https://93.184.215.14/h", prod)
    with pytest.raises(errors.InvalidInput, match="resolve"):
        check_url("https://no-such-host.invalid/h", dev)
    assert [dev.delay_ms(n) for n in (1, 2, 3)] == [10_000, 20_000, 40_000]
    assert dev.delay_ms(30) == dev.max_delay_ms
    assert not webhook_settings_from_env({"TRACEMARK_WEBHOOK_WORKER": "0"}, production=False).worker


def later() -> int:
    """A time after every delivery the routes queued (they read the real clock)."""
    return now_ms() + 60_000


class Recorder:
    """A stand-in for urllib: answers with the given statuses, keeps what was sent."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, str]:
        self.sent.append((url, body, dict(headers)))
        status = self.statuses.pop(0) if self.statuses else 200
        return status, "" if status < 300 else f"HTTP {status}"


def test_recall_events_are_queued_delivered_and_recorded(plat: Platform) -> None:
    s = plat.supply
    plat.configure(max_attempts=2, base_delay_ms=1_000)
    recorder = Recorder(503)
    plat.state.dispatcher.post = recorder
    hook = plat.post("/v1/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["recall"]}).json()
    plat.verify(
        listing(listing_id="V-7", gtin=GTIN_B, quantity=1, codes=[code(s, "B2", GTIN_B, "LB")])
    )
    now = s.now + 10_000
    assert plat.state.dispatcher.poll_recalls(now) == 0  # nothing new yet
    fish = s.keys["fishco"]
    s.ok(RECALL, s.event("fishco", gtin=GTIN_B, scope="items", serials=["B2"], reason="x"), fish)
    s.ok(RECALL, s.event("fishco", gtin=GTIN, scope="items", serials=["F0009"], reason="y"), fish)
    assert plat.state.dispatcher.poll_recalls(now) == 2
    assert plat.state.dispatcher.poll_recalls(now) == 0  # the cursor moved
    assert plat.state.dispatcher.deliver_pending(now) == 2
    events = {json.loads(b)["data"]["recall"]["gtin"]: json.loads(b) for _, b, _ in recorder.sent}
    assert set(events) == {GTIN, GTIN_B}
    assert events[GTIN_B]["data"]["listings"] == [
        {"listing_id": "V-7", "seller": "shop-a", "source": "verified"}
    ]
    # F0009 is held by shop-a, whose declared listing L-1 names no serials: it may sell it.
    assert events[GTIN]["data"]["listings"] == [
        {"listing_id": "L-1", "seller": "shop-a", "source": "ledger"}
    ]
    for _, body, headers in recorder.sent:
        verify_delivery(hook["secret"], headers, body, now_s=now // 1000)
        assert headers["webhook-id"] == headers["X-Tracemark-Delivery"]
        assert headers["webhook-timestamp"] == str(now // 1000)
        assert "X-Tracemark-Signature" not in headers  # a new secret: the standard only
        assert headers["X-Tracemark-Event"] == "recall"
    assert plat.state.dispatcher.deliver_pending(now) == 0  # the failed one waits 1 s
    assert plat.state.dispatcher.deliver_pending(now + 1_000) == 1
    found = plat.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
    assert sorted(d["status"] for d in found) == ["delivered", "delivered"]
    history = sorted((d["history"] for d in found), key=len)
    assert [a["status_code"] for a in history[1]] == [503, 200]
    assert [a["time"] for a in history[1]] == [now, now + 1_000]


def test_clone_signals_reach_the_platforms_that_watch_the_item(plat: Platform) -> None:
    s = plat.supply
    recorder = Recorder()
    plat.state.dispatcher.post = recorder
    plat.post("/v1/webhooks", {"url": "http://127.0.0.1:9/t", "events": ["clone_suspected"]})
    plat.post(
        "/v1/webhooks", {"url": "http://127.0.0.1:9/s", "events": ["clone_suspected"]}, "shopee"
    )
    f6 = code(s, "F0006")
    plat.verify(listing(codes=[f6]))  # tiktok watches F0006 in L-1 (genuine: no event)
    assert plat.state.dispatcher.deliver_pending(later()) == 0
    offer = listing(
        platform="shopee", seller="shopee:12345", listing_id="SB-2", quantity=1, codes=[f6]
    )
    plat.verify(offer, platform="shopee")
    plat.verify(offer, platform="shopee")  # the same signal within the hour: queued once
    assert plat.state.dispatcher.deliver_pending(later()) == 2
    urls = sorted(url for url, _, _ in recorder.sent)
    assert urls == ["http://127.0.0.1:9/s", "http://127.0.0.1:9/t"]
    event = json.loads(recorder.sent[0][1])
    assert (
        event["type"] == "clone_suspected"
        and event["data"]["item"]["item_id"] == ids(GTIN, "F0006")[0]
    )
    assert "seller_not_custodian" in [r["code"] for r in event["data"]["reasons"]]
    assert event["data"]["seen"]["listing_id"] == "SB-2"
    # The hook for scans: a stream on shopee by a non-custodian. Said anonymously it reaches
    # no one; vouched by shopee (its API key), it reaches shopee.
    verifier = Verifier(plat.service, resolvers=[RESOLVER])
    said = ScanContext("shopee", "live-9", "", "shopee:12345")
    result = verifier.verify(code(s, "F0007"), said, now=s.now)
    assert result.verdict.status == "suspect"
    observe_verdict(plat.app.state.tracemark, result, s.now)
    assert plat.state.dispatcher.deliver_pending(later()) == 0
    vouched = replace(said, source="platform")
    result = verifier.verify(code(s, "F0007"), vouched, now=s.now)
    observe_verdict(plat.app.state.tracemark, result, s.now)
    verifier.flush(s.now)  # scans are written by a background thread: finish before close
    assert plat.state.dispatcher.deliver_pending(later()) == 1


def test_revoking_the_last_key_deletes_the_platforms_webhooks(plat: Platform) -> None:
    plat.post("/v1/webhooks", {"url": "http://127.0.0.1:9/t", "events": ["recall"]})
    second = plat.keys["tiktok"]
    plat.key("tiktok")
    plat.state.store.revoke_key(api_key_id(second), T0)
    assert len(plat.get("/v1/webhooks").json()["webhooks"]) == 1
    plat.state.store.revoke_key(api_key_id(plat.keys["tiktok"]), T0)
    assert plat.state.store.webhooks("tiktok") == []
    with pytest.raises(errors.NotFound):
        plat.state.store.revoke_key("0" * 16, T0)


# --- the store contract -----------------------------------------------------------------------


def delivery(n: int, now: int = 100) -> Delivery:
    return Delivery(
        delivery_id("wh_1", f"evt_{n}"), "wh_1", f"evt_{n}", "recall", "{}", PENDING, 0, now, now
    )


def test_platform_store_contract(plat: Platform) -> None:
    store: PlatformStore = plat.state.store
    if not isinstance(store, MemoryPlatformStore):
        assert isinstance(platform_store(plat.service.store), type(store))
    store.add_webhook(Webhook("wh_1", "tiktok", "http://127.0.0.1/x", ("recall",), "whsec_s", 1))
    assert store.enqueue([delivery(1), delivery(2)]) == 2
    assert store.enqueue([delivery(1), delivery(3)]) == 1  # the same event is stored once
    due = store.due(100, 10)
    assert [d.event_id for d in due] == sorted(d.event_id for d in due) or len(due) == 3
    assert store.due(99, 10) == []
    first = due[0]
    assert store.claim(first, 5_000) and not store.claim(first, 6_000)  # leased once
    assert first.delivery_id not in {d.delivery_id for d in store.due(100, 10)}
    store.finish(
        replace(first, status="delivered", attempts=1, last_code=200),
        Attempt(first.delivery_id, 1, 100, True, 200, "", 3),
    )
    [(shown, attempts)] = [
        (d, a) for d, a in store.deliveries("wh_1", 10) if d.delivery_id == first.delivery_id
    ]
    assert shown.status == "delivered" and attempts == [
        Attempt(first.delivery_id, 1, 100, True, 200, "", 3)
    ]
    store.delete_webhook("wh_1", 200)
    statuses = sorted(d.status for d, _ in store.deliveries("wh_1", 10))
    assert statuses == ["cancelled", "cancelled", "delivered"]
    start = store.cursor("recalls")
    assert start is not None
    assert not store.advance("recalls", start + 1, start + 5, [delivery(9)])
    assert store.advance("recalls", start, start + 5, [delivery(9)])
    assert store.cursor("recalls") == start + 5
    assert not store.advance("other", None, 0, []) or store.cursor("other") == 0
    assert not store.advance("other", None, 1, [])  # created once
    rows = [Watch("tiktok", "L", "", GTIN, "shop-a", 10), Watch("tiktok", "M", "i", GTIN, "", 5)]
    store.watch(rows, 0)
    assert store.watches(item_id="i") == [rows[1]]
    store.watch([Watch("tiktok", "L", "", GTIN, "shop-a", 20)], 6)  # prunes M
    assert [w.listing_id for w in store.watches(gtin=GTIN)] == ["L"]
    assert [listing.listing_id for listing in store.open_listings(GTIN)] == ["L-1"]


# --- CLI --------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_add_list_revoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operator_key: PrivateKey
) -> None:
    from api.cli import platform  # noqa: F401 - registers `tracemark platform` (api/cli/__init__.py hook
    from ledger.storage.sql.log import SqlStore

    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    home = tmp_path / "tm"
    url = f"sqlite:///{home / 'tracemark.db'}"
    home.mkdir()
    store = SqlStore(url)
    standard(initialized(store, operator_key), operator_key)

    def run(*args: str) -> Any:
        result = runner.invoke(cli_app, ["platform", *args, "--home", str(home), "--json"])
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return json.loads(result.stdout)

    added = run("add", "tiktok", "--actor", "shop-a", "--rate-limit", "100")
    token = added["api_key"]
    assert token.startswith("tmk_") and added["platform"] == "tiktok" and added["actor"] == "shop-a"
    assert token not in (home / "tracemark.db").read_bytes().decode("latin-1")
    listed = run("list")["keys"]
    assert [(k["key_id"], k["revoked"]) for k in listed] == [(added["key_id"], None)]
    assert "api_key" not in listed[0]
    human = runner.invoke(cli_app, ["platform", "list", "--home", str(home)])
    assert added["key_id"] in human.stdout and "tiktok" in human.stdout
    app = create_app(settings(tmp_path), service=LogService(store))
    client = TestClient(app)
    assert client.get("/v1/webhooks", headers={"X-API-Key": token}).status_code == 200
    revoked = run("revoke", added["key_id"])
    assert revoked["revoked"] is not None
    assert client.get("/v1/webhooks", headers={"X-API-Key": token}).status_code == 401
    for args, code in [
        (["add", "TikTok!"], 2),
        (["add", "tiktok", "--actor", "nobody"], 2),
        (["revoke", "0" * 16], 2),
    ]:
        result = runner.invoke(cli_app, ["platform", *args, "--home", str(home)])
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("tracemark: error:")
    store.close()
