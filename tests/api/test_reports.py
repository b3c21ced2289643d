"""``POST /v1/reports`` and the producer's query: validation (4xx with a code), evidence
classification as for scans (platform key, overlay nonce, anonymous), anonymous reports as
weak signals that change no verdict, the per-client report limit, ``report.received``
webhooks to the platforms concerned, ``reports_for_producer``, and no address kept."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.nonce import issue_nonce
from api.settings import Settings
from api.webhooks import verify_delivery
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.errors import InvalidInput, NotFound
from ledger.keys import PrivateKey
from ledger.ports.platform import new_api_key
from ledger.ports.reports import Report
from ledger.storage.sql.log import SqlStore
from ledger.usecases.reports import reports_for_producer
from ledger.usecases.service import LogService, now_ms
from tests.api.test_platform import Recorder, later, stock
from tests.conftest import BACKENDS, initialized, make_store
from tests.supply import GTIN, T0, Supply, ids, standard

RESOLVER = "https://vt.example.test"
F1 = ids(GTIN, "F0001")[0]


class World:
    def __init__(self, app: FastAPI, client: TestClient, s: Supply, service: LogService) -> None:
        self.app, self.client, self.supply, self.service = app, client, s, service
        self.keys: dict[str, str] = {}

    @property
    def state(self) -> Any:
        return self.app.state.tracemark

    def key(self, name: str) -> str:
        record, token = new_api_key(
            name, "", secret=bytes([len(self.keys) + 7]) * 32, now=T0, rate_limit=6_000
        )
        self.state.platform.store.add_key(record)
        self.keys[name] = token
        return token

    def code(self, serial: str) -> str:
        key = self.supply.keys["fishco"]
        return issue_uri(CodeIdentity(GTIN, serial, "L7"), key, RESOLVER)

    def report(self, body: dict[str, Any], platform: str | None = None) -> Any:
        headers = {"X-API-Key": self.keys[platform]} if platform else {}
        return self.client.post("/v1/reports", json=body, headers=headers)


def _world(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, key: PrivateKey, limit: int
) -> Iterator[World]:
    store = make_store(backend, request, tmp_path)
    service = initialized(store, key, now=T0 - 10_000)
    service.log_key = key
    s = standard(service, key)
    stock(s)  # shop-a holds F0001..F0010 and lists 5 on tiktok (L-1)
    settings = Settings(
        home=tmp_path,
        key_file=tmp_path / "absent.key",
        resolver=RESOLVER,
        rate_limit_per_minute=limit,
    )
    app = create_app(settings, service=service)
    with TestClient(app) as client:
        w = World(app, client, s, service)
        w.key("tiktok")
        w.key("shopee")
        yield w
    store.close()


@pytest.fixture(params=BACKENDS)
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    operator_key: PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    yield from _world(request.param, request, tmp_path, operator_key, 0)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "x", "reason": "nonsense"}, 422, "invalid_request"),
        ({"reason": "counterfeit"}, 400, "invalid_input"),
        ({"code": "c", "item": F1, "reason": "other"}, 400, "invalid_input"),
        ({"code": "c", "reason": "other", "text": "x" * 501}, 422, "invalid_request"),
        ({"code": "c", "reason": "other", "contact": "x" * 201}, 422, "invalid_request"),
        ({"code": "c", "reason": "other", "ip": "1.2.3.4"}, 422, "invalid_request"),
        ({"item": "01/123/21/x", "reason": "other"}, 400, "invalid_item_id"),
        ({"item": ids(GTIN, "NEVER")[0], "reason": "other"}, 404, "unknown_item"),
        ({"code": "c", "reason": "other", "text": "bell\x07"}, 400, "invalid_report"),
    ],
)
def test_bad_reports_are_refused_with_a_code(
    world: World, body: dict[str, Any], status: int, code: str
) -> None:
    response = world.report(body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert world.service.store.reports.for_producer("fishco") == []


def test_a_wrong_api_key_is_refused_not_taken_for_anonymous(world: World) -> None:
    response = world.client.post(
        "/v1/reports",
        json={"code": world.code("F0001"), "reason": "other"},
        headers={"X-API-Key": "tm_wrong"},
    )
    assert response.status_code == 401


def test_reports_are_classified_like_scans(world: World) -> None:
    code = world.code("F0001")
    anonymous = world.report(
        {"code": code, "reason": "seller_mismatch", "context": {"platform": "tiktok"}}
    )
    assert anonymous.status_code == 201, anonymous.text
    body = anonymous.json()
    assert body["source"] == "anonymous" and body["weak"] is True
    assert body["item_id"] == F1 and body["status"] == "genuine"
    keyed = world.report({"code": code, "reason": "counterfeit"}, platform="tiktok").json()
    assert keyed["source"] == "platform" and keyed["weak"] is False
    # An overlay nonce vouches only where the log backs it: L-1 is declared without a
    # stream session, so the nonce (valid as a signature) is anonymous, as for a scan.
    nonce = issue_nonce(world.state.log_key, "tiktok", "L-1", "", expiry=now_ms() + 60_000)
    context = {"platform": "tiktok", "listing_id": "L-1", "nonce": nonce.to_text()}
    overlay = world.report({"code": code, "reason": "other", "context": context}).json()
    scan = world.client.post("/v1/verify", json={"code": code, "context": context}).json()
    assert overlay["source"] == scan["source"] == "anonymous"
    kept = reports_for_producer(world.service.store, "fishco")
    assert {r.report_id: r.source for r in kept} == {
        body["id"]: "anonymous",
        keyed["id"]: "platform",
        overlay["id"]: "anonymous",
    }
    by_id = {r.report_id: r for r in kept}
    assert by_id[keyed["id"]].platform == "tiktok" and not by_id[keyed["id"]].weak
    assert by_id[body["id"]].reason == "seller_mismatch" and by_id[body["id"]].weak


def test_anonymous_reports_never_change_a_verdict(world: World) -> None:
    code = world.code("F0002")
    before = world.client.post("/v1/verify", json={"code": code}).json()
    for _ in range(25):
        context = {"platform": "shopee", "seller": "shopee:12345", "listing_id": "X-1"}
        response = world.report({"code": code, "reason": "counterfeit", "context": context})
        assert response.status_code == 201
    after = world.client.post("/v1/verify", json={"code": code}).json()
    assert before["status"] == after["status"] == "genuine"
    assert before["reasons"] == after["reasons"]
    keyed = world.client.post(
        "/v1/verify", json={"code": code}, headers={"X-API-Key": world.keys["tiktok"]}
    )
    assert keyed.json()["status"] == "genuine"
    assert len(reports_for_producer(world.service.store, "fishco")) == 25


def test_report_events_reach_the_vouching_and_watching_platforms(world: World) -> None:
    recorder = Recorder()
    dispatcher = world.state.platform.dispatcher
    dispatcher.post = recorder
    hooks = {}
    for name in ("tiktok", "shopee"):
        created = world.client.post(
            "/v1/webhooks",
            json={"url": f"http://127.0.0.1:9/{name}", "events": ["report.received"]},
            headers={"X-API-Key": world.keys[name]},
        )
        assert created.status_code == 201, created.text
        hooks[name] = created.json()
    code = world.code("F0003")
    # tiktok watches F0003 once it verified a listing carrying it.
    listing = {
        "seller": "tiktok:@shopa",
        "platform": "tiktok",
        "listing_id": "L-1",
        "gtin": GTIN,
        "quantity": 5,
        "codes": [code],
    }
    verified = world.client.post(
        "/v1/listings/verify",
        json={"listings": [listing]},
        headers={"X-API-Key": world.keys["tiktok"]},
    )
    assert verified.status_code == 200, verified.text
    contact = "buyer@example.test"
    made = world.report(
        {"code": code, "reason": "damaged", "text": "seal broken", "contact": contact},
        platform="shopee",
    ).json()
    assert dispatcher.deliver_pending(later()) == 2  # shopee vouched; tiktok watches it
    sent = {url.rsplit("/", 1)[1]: (body, headers) for url, body, headers in recorder.sent}
    assert set(sent) == {"tiktok", "shopee"}
    for name, (body, headers) in sent.items():
        verify_delivery(hooks[name]["secret"], headers, body, now_s=later() // 1000)
        event = json.loads(body)
        assert event["type"] == "report.received"
        assert event["data"]["report"]["id"] == made["id"]
        assert event["data"]["report"]["reason"] == "damaged"
        assert event["data"]["report"]["weak"] is False
        assert event["data"]["item"]["item_id"] == ids(GTIN, "F0003")[0]
        assert contact.encode() not in body  # only the producer reads a contact
    # Anonymous reports reach only watching platforms, once per item, reason and hour.
    recorder.sent.clear()
    for _ in range(3):
        world.report({"code": code, "reason": "counterfeit", "context": {"platform": "shopee"}})
    assert dispatcher.deliver_pending(later()) == 1
    ((url, body, _),) = recorder.sent
    assert url.endswith("/tiktok") and json.loads(body)["data"]["report"]["weak"] is True


def test_the_producer_reads_its_reports_newest_first(world: World) -> None:
    for serial, reason in (("F0004", "counterfeit"), ("F0005", "damaged")):
        response = world.report(
            {"code": world.code(serial), "reason": reason, "contact": "+84 90 000 0000"}
        )
        assert response.status_code == 201
    store = world.service.store
    found = reports_for_producer(store, "fishco")
    assert [r.reason for r in found] == ["damaged", "counterfeit"]
    assert found[0].contact == "+84 90 000 0000" and found[0].producer == "fishco"
    assert reports_for_producer(store, "ricecorp") == []
    assert reports_for_producer(store, "fishco", since=found[0].time + 1) == []
    assert len(reports_for_producer(store, "fishco", limit=1)) == 1
    with pytest.raises(NotFound):
        reports_for_producer(store, "nobody")
    with pytest.raises(InvalidInput):
        reports_for_producer(store, "fishco", limit=0)


def test_an_item_id_report_needs_no_code(world: World) -> None:
    response = world.report({"item": ids(GTIN, "F0006")[0], "reason": "other"}, "tiktok")
    assert response.status_code == 201, response.text
    assert response.json()["source"] == "platform" and response.json()["status"] == ""


def test_reports_are_rate_limited_per_client(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    operator_key: PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    for w in _world("memory", request, tmp_path, operator_key, 1_000):
        code = w.code("F0001")
        answers = [w.report({"code": code, "reason": "other"}) for _ in range(11)]
        assert [a.status_code for a in answers] == [201] * 10 + [429]
        refused = answers[-1]
        assert refused.json()["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
        assert len(w.service.store.reports.for_producer("fishco")) == 10
        # the form is limited by the same count
        form = w.client.post("/report", data={"code": code, "reason": "other"})
        assert form.status_code == 429 and "text/html" in form.headers["content-type"]


def test_no_address_is_stored(
    tmp_path: Path,
    operator_key: PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    for w in _world("sqlite", request, tmp_path, operator_key, 0):
        code = w.code("F0007")
        headers = {"X-Forwarded-For": "203.0.113.77", "User-Agent": "phone/203.0.113.77"}
        response = w.client.post(
            "/v1/reports", json={"code": code, "reason": "other", "text": "hi"}, headers=headers
        )
        assert response.status_code == 201
        store = w.service.store
        assert isinstance(store, SqlStore)
        path = str(store.engine.url.database)
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(item_reports)")]
        rows = db.execute("SELECT * FROM item_reports").fetchall()
    assert not {"ip", "address", "client", "device", "user_agent"} & set(columns)
    assert len(rows) == 1
    flat = " ".join(str(v) for v in rows[0])
    assert "testclient" not in flat and "203.0.113" not in flat and "127.0.0.1" not in flat
    assert set(columns) == set(Report.__dataclass_fields__)


def test_the_cli_lists_a_producers_reports(
    tmp_path: Path,
    operator_key: PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli

    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    for w in _world("sqlite", request, tmp_path, operator_key, 0):
        made = w.report(
            {"code": w.code("F0008"), "reason": "damaged", "contact": "0909 000 111"}
        ).json()
        store = w.service.store
        assert isinstance(store, SqlStore)
        url = f"sqlite:///{store.engine.url.database}"
    env = {"TRACEMARK_TIMEZONE": "Asia/Ho_Chi_Minh", "COLUMNS": "250"}
    args = ["reports", "list", "--producer", "fishco", "--database-url", url]
    result = CliRunner().invoke(cli, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)["reports"]
    assert [(r["id"], r["reason"], r["weak"]) for r in listed] == [(made["id"], "damaged", True)]
    assert listed[0]["contact"] == "0909 000 111" and listed[0]["item_id"] == ids(GTIN, "F0008")[0]
    human = CliRunner().invoke(cli, args, env=env)
    assert human.exit_code == 0 and "anonymous (weak)" in human.stdout and "+07" in human.stdout
    bad = CliRunner().invoke(cli, args, env={"TRACEMARK_TIMEZONE": "Nowhere/Else"})
    assert bad.exit_code == 2 and "TRACEMARK_TIMEZONE" in bad.stderr


def test_a_counterfeit_report_reaches_the_gtins_producer(world: World) -> None:
    forged = world.code("F9999")  # fishco's key, a serial fishco never made
    made = world.report({"code": forged, "reason": "counterfeit", "text": "bought at a market"})
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "counterfeit"
    (kept,) = reports_for_producer(world.service.store, "fishco")
    assert kept.item_id == ids(GTIN, "F9999")[0] and kept.status == "counterfeit"
    assert kept.text == "bought at a market" and kept.weak


def test_report_text_is_printed_as_written_never_as_markup(
    tmp_path: Path,
    operator_key: PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    # Anyone can file a report: its text and contact reach the producer's terminal. Read as
    # Rich markup, "[/x]" crashed the listing (a shopper could stop the producer reading any
    # report) and "[link=...]" drew a hyperlink the producer did not write.
    from typer.testing import CliRunner

    from api.cli import app as cli

    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    text = "[/x] call [link=https://phish.example]the producer[/link]"
    for w in _world("sqlite", request, tmp_path, operator_key, 0):
        answer = w.report(
            {"code": w.code("F0008"), "reason": "other", "text": text, "contact": "[bold]me"}
        )
        assert answer.status_code == 201, answer.text
        store = w.service.store
        assert isinstance(store, SqlStore)
        url = f"sqlite:///{store.engine.url.database}"
    env = {"TRACEMARK_TIMEZONE": "Asia/Ho_Chi_Minh", "COLUMNS": "400"}
    args = ["reports", "list", "--producer", "fishco", "--database-url", url]
    human = CliRunner().invoke(cli, args, env=env)
    assert human.exit_code == 0, human.output
    assert text in human.stdout and "[bold]me" in human.stdout
    assert "\x1b]8;" not in human.stdout  # no terminal hyperlink
