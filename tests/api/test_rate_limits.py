"""Rate limits through the app: the header fields on every limited answer, 429 as a problem
with Retry-After, an API key's own policy, and the metrics of refusals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.keys import PrivateKey
from ledger.ports.platform import new_api_key
from ledger.storage.memory.log import MemoryStore
from tests.api.conftest import settings
from tests.conftest import initialized
from tests.supply import T0

OPERATOR = PrivateKey.from_seed(b"limits-TEST-ONLY-operator-seed-1")  # TEST ONLY


def client(tmp_path: Path, per_minute: int) -> TestClient:
    service = initialized(MemoryStore(), OPERATOR, now=T0 - 10_000)
    app = create_app(replace(settings(tmp_path), rate_limit_per_minute=per_minute), service=service)
    return TestClient(app)


def test_public_answers_carry_the_limit_and_429_says_when_to_retry(tmp_path: Path) -> None:
    api = client(tmp_path, 2)
    first, second, third = (api.get("/healthz") for _ in range(3))
    assert first.status_code == second.status_code == 200
    assert first.headers["RateLimit-Policy"] == '"public";q=2;w=60'
    assert first.headers["RateLimit"].startswith('"public";r=1;t=')
    assert second.headers["RateLimit"].startswith('"public";r=0;t=')
    assert "Retry-After" not in second.headers
    assert third.status_code == 429
    assert third.headers["content-type"] == "application/problem+json"
    assert third.json()["code"] == "rate_limited"
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert third.headers["RateLimit-Policy"] == '"public";q=2;w=60'
    metrics = api.get("/metrics")
    assert metrics.status_code == 429  # the scrape is a request like any other
    rendered = api.app.state.tracemark.metrics.render()  # type: ignore[attr-defined]
    assert 'tracemark_rate_limited_total{policy="public"} 2.0' in rendered


def test_a_keyed_request_carries_its_key_limit(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    api = client(tmp_path, 1)
    record, token = new_api_key("tiktok", "", secret=b"\x05" * 32, now=T0, rate_limit=2)
    api.app.state.tracemark.platform.store.add_key(record)  # type: ignore[arg-type]
    answers = [api.get("/v1/webhooks", headers={"X-API-Key": token}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"key";q=2;w=60'
    assert answers[1].headers["RateLimit"].startswith('"key";r=0;t=')
    assert answers[2].headers["RateLimit-Policy"] == '"key";q=2;w=60'
    assert int(answers[2].headers["Retry-After"]) >= 1
    # The key's requests did not spend the client's public budget of 1.
    assert api.get("/healthz").status_code == 200
