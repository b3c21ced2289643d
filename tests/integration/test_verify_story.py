"""The story as a test: a genuine item verified at each custody step, a cloned code caught in a
second seller's stream, a forged code, a recalled lot; on memory, SQLite and PostgreSQL,
through the Verifier and through the HTTP app in process."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from ledger.provenance.events.names import RECALL
from ledger.usecases.verify import Verifier
from ledger.verdicts import ScanContext
from tests.supply import GTIN, VERIFY_RESOLVER, Supply, ids, signed_code, sscc_for

RESOLVER = VERIFY_RESOLVER
NOWHERE = ScanContext()


def code(s: Supply, serial: str) -> str:
    return signed_code(s, serial)


def test_the_story(story: Supply) -> None:
    s = story
    verifier = Verifier(s.service, resolvers=[RESOLVER])
    s.commission(
        "fishco", GTIN, {"ranges": [{"prefix": "F", "first": 1, "last": 20, "width": 4}]}, lot="L7"
    )
    genuine = code(s, "F0001")

    def check(uri: str, context: ScanContext = NOWHERE) -> tuple[str, tuple[str, ...]]:
        s.tick()
        result = verifier.verify(uri, context, now=s.now)
        return result.verdict.status, result.verdict.codes

    assert check(genuine) == ("genuine", ("custody_verified",))
    case = f"00/{sscc_for(41)}"
    s.pack("fishco", case, ids(GTIN, "F0001", "F0002"))
    s.ship("fishco", "distri", [case], "S1")
    assert check(genuine)[0] == "genuine"  # in transit
    s.receive("distri", "fishco", "S1")
    s.ship("distri", "shop-a", [case], "S2")
    s.receive("shop-a", "distri", "S2")
    # The holder's stream, vouched by its platform (an API key): genuine.
    live_a = ScanContext("tiktok", "live-a", "", "tiktok:@shopa", source="platform")
    assert check(genuine, live_a) == ("genuine", ("custody_verified",))
    # The cloned code shown by a second seller in another stream: suspect, and why. Said
    # anonymously, it is an answer about that context only.
    live_b = ScanContext("shopee", "live-b", "", "shopee:12345")
    assert check(genuine, live_b) == ("suspect", ("seller_not_custodian", "multiple_sellers"))
    assert check(genuine) == ("genuine", ("custody_verified",))
    # Vouched by shopee, it is evidence: the clone's context gets every reason, a plain
    # verify sees two sellers, and the holder stays genuine.
    status, codes = check(
        genuine, ScanContext("shopee", "live-b", "", "shopee:12345", "", "", "platform")
    )
    assert status == "suspect"
    assert (
        "seller_not_custodian" in codes and "multiple_sellers" in codes and "scan_velocity" in codes
    )
    assert check(genuine)[1] == ("multiple_sellers", "scan_velocity")
    assert check(genuine, live_a) == ("genuine", ("custody_verified",))
    # A forged code (serial changed) is counterfeit; a never-commissioned serial too.
    assert check(genuine.replace("F0001", "F0002"))[1] == ("signature_invalid",)
    assert check(code(s, "F9999")) == ("counterfeit", ("not_commissioned",))
    # A recalled lot is recalled.
    s.ok(
        RECALL,
        s.event("fishco", gtin=GTIN, scope="lot", lot="L7", reason="histamine"),
        s.keys["fishco"],
    )
    assert check(code(s, "F0003"))[0] == "recalled"
    # The verdict comes with provenance and a proof against a signed checkpoint.
    s.service.checkpoint(now=s.now)
    detailed = verifier.verify(genuine, ScanContext(), now=s.now + 1, detail=True)
    assert detailed.view is not None and detailed.proof is not None and detailed.checkpoint
    assert [t.type for t in detailed.view.timeline][:2] == ["event.commission", "event.pack"]
    verifier.flush(s.now)  # scans are written by a background thread: finish before close


def test_the_http_resolver_and_verify_api(story: Supply, tmp_path: Path) -> None:
    s = story
    s.commission("fishco", GTIN, {"list": ["H1"]}, lot="L7", product={"name": "Nuoc mam"})
    s.service.checkpoint(now=s.now)
    # The home is the test's: an app over SQL makes its secrets key there (development).
    settings = Settings(home=tmp_path, resolver=RESOLVER, rate_limit_per_minute=0)
    app = create_app(settings, service=s.service)
    with TestClient(app) as client:
        uri = code(s, "H1")
        page = client.get(uri.removeprefix(RESOLVER), headers={"accept": "text/html"})
        assert page.status_code == 200 and "genuine" in page.text.lower()
        data = client.get(uri.removeprefix(RESOLVER)).json()
        assert data["status"] == "genuine" and data["proof"]["tree_size"] >= 1
        assert data["provenance"][0]["type"] == "event.commission"
        posted = client.post(
            "/v1/verify",
            json={
                "code": uri,
                "context": {"platform": "tiktok", "stream_id": "x", "seller": "tiktok:@shopx"},
            },
        )
        assert posted.json()["status"] == "suspect"
        assert posted.json()["source"] == "anonymous"
        batch = client.post("/v1/verify/batch", json={"codes": [uri, "hello"]}).json()["results"]
        assert [r["status"] for r in batch] == ["genuine", "invalid"]
        assert client.post("/v1/verify/batch", json={"codes": ["x"] * 1001}).status_code == 422
        assert (
            client.post("/v1/verify", json={"code": "x" * 2000}).json()["error"]["code"]
            == "invalid_request"
        )
        metrics = client.get("/metrics").text
        assert 'tracemark_verdicts_total{status="genuine"}' in metrics
