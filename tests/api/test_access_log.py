"""The access log and request ids through the app, and no secret in any log line.

Every log record written while the app serves is formatted by the JSON formatter of
api/logs.py (what production writes) and searched for the secrets the requests carried."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.logs import JsonFormatter
from ledger.keys import PrivateKey
from ledger.ports.platform import new_api_key
from ledger.storage.memory.log import MemoryStore
from tests.api.conftest import settings
from tests.conftest import initialized
from tests.supply import T0

OPERATOR = PrivateKey.from_seed(b"access-TEST-ONLY-operator-seed-1")  # TEST ONLY
WRONG_KEY = "tmk_0123456789abcdef_d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc"  # TEST ONLY


class Lines(logging.Handler):
    """Every record of the ``tracemark`` loggers, formatted as production writes them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def access(self) -> list[dict[str, object]]:
        found = [json.loads(line) for line in self.lines]
        return [line for line in found if line["logger"] == "tracemark.access"]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("tracemark")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    service = initialized(MemoryStore(), OPERATOR, now=T0 - 10_000)
    return create_app(settings(tmp_path), service=service)


def test_each_request_has_one_access_line_with_its_id(app: FastAPI, lines: Lines) -> None:
    client = TestClient(app)
    answer = client.get("/v1/log/checkpoint?n=nonce-SECRET&platform=tiktok",
                        headers={"X-Request-ID": "req-42"})  # fmt: skip
    assert answer.headers["X-Request-ID"] == "req-42"
    (line,) = lines.access()
    assert line["request_id"] == "req-42"
    assert line["method"] == "GET" and line["path"] == "/v1/log/checkpoint"
    assert line["query"] == "n=*&platform=*"
    assert line["status"] == answer.status_code
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    # never the address: a hash salted per period (docs/privacy.md)
    assert line["client"].startswith("c-") and len(line["client"]) == 14
    assert "testclient" not in "\n".join(lines.lines)
    assert "nonce-SECRET" not in "\n".join(lines.lines)


def test_an_unfit_request_id_is_replaced(app: FastAPI, lines: Lines) -> None:
    client = TestClient(app)
    answers = [
        client.get("/healthz", headers={"X-Request-ID": "x" * 200}),
        client.get("/healthz", headers={"X-Request-ID": b"bad id\xc3\xa9"}),
        client.get("/healthz"),
    ]
    ids = [a.headers["X-Request-ID"] for a in answers]
    assert all(len(i) == 32 for i in ids) and len(set(ids)) == 3
    assert [line["request_id"] for line in lines.access()] == ids


def test_errors_and_refusals_carry_the_request_id(app: FastAPI, lines: Lines) -> None:
    client = TestClient(app)
    headers = {"X-Request-ID": "err-1", "Content-Type": "application/json"}
    bad = client.post("/v1/verify", content=b"{not json", headers=headers)
    too_big = client.post("/v1/verify", content=b"x" * (2 << 20), headers={**headers,
                          "X-Request-ID": "err-2"})  # fmt: skip
    assert (bad.status_code, bad.headers["X-Request-ID"]) == (422, "err-1")
    assert (too_big.status_code, too_big.headers["X-Request-ID"]) == (413, "err-2")
    assert [(line["request_id"], line["status"]) for line in lines.access()] == [
        ("err-1", 422),
        ("err-2", 413),
    ]


def test_an_unexpected_error_is_logged_with_the_id_and_answered_500(
    app: FastAPI, lines: Lines
) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/broken", broken)
    answer = TestClient(app).get("/broken", headers={"X-Request-ID": "boom-1"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "internal"
    assert answer.headers["X-Request-ID"] == "boom-1"
    assert "boom" not in answer.text
    errors = [json.loads(line) for line in lines.lines if '"level": "error"' in line]
    assert len(errors) == 1 and errors[0]["request_id"] == "boom-1"
    assert "RuntimeError: boom" in errors[0]["exception"]
    assert lines.access()[-1]["status"] == 500


def test_no_api_key_or_credential_reaches_the_logs(app: FastAPI, lines: Lines) -> None:
    record, token = new_api_key("tiktok", "", secret=b"\x09" * 32, now=T0, rate_limit=100)
    app.state.tracemark.platform.store.add_key(record)
    client = TestClient(app)
    secrets = {
        "X-API-Key": token,
        "Authorization": "Bearer YXV0aC1zZWNyZXQtdmFsdWU",
        "Cookie": "session=Y29va2llLXNlY3JldC12YWx1ZQ",
    }
    ok = client.get("/v1/webhooks", headers=secrets)
    hook = {"url": "https://93.184.215.14/hook", "events": ["recall"]}
    created = client.post("/v1/webhooks", headers=secrets, json=hook)
    wrong = client.get("/v1/webhooks", headers={**secrets, "X-API-Key": WRONG_KEY})
    bad_body = client.post("/v1/listings/verify", headers=secrets, content=b"{" + token.encode())
    assert [ok.status_code, wrong.status_code, bad_body.status_code] == [200, 401, 422]
    assert len(lines.access()) == 4
    logged = "\n".join(lines.lines)
    hidden = [token, WRONG_KEY, "YXV0aC1zZWNyZXQtdmFsdWU", "Y29va2llLXNlY3JldC12YWx1ZQ"]
    assert created.status_code == 201, created.text
    hidden.append(created.json()["secret"])  # the webhook's signing secret
    for secret in hidden:
        assert secret not in logged
    assert token.split("_")[2] not in logged  # not even the secret part alone
