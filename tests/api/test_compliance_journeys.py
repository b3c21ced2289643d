"""Journeys of live-commerce compliance over HTTP (memory and SQLite stores): a seller
verified by an eKYC provider, a lab's certificate stored in the document store and attested
in the log, a stream session checked before it goes live, and a platform told by webhook
when the session falls out of compliance (a recall; an identity that expires)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.http.app import create_app
from api.http.state import AppState
from api.settings import Settings
from api.webhooks import verify_delivery
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.log.canonical import canonical_json
from ledger.log.entries import entry_type, sign_entry, signing_message
from ledger.ports.platform import new_api_key
from ledger.provenance.events.attestations import identity_commitment
from ledger.provenance.events.names import (
    ATTEST_IDENTITY,
    ATTEST_QUALIFICATION,
    ATTEST_REVOKE,
    RECALL,
    STREAM_DECLARE,
)
from ledger.storage.documents import FolderDocuments, MemoryDocuments
from ledger.storage.documents.sql import SqlDocuments
from ledger.storage.sql.log import SqlStore
from ledger.usecases.export import export_epcis
from ledger.usecases.service import LogService, now_ms
from tests.conftest import initialized, make_store
from tests.supply import GTIN, GTIN_B, T0, Supply, ids, standard

RESOLVER = "https://vt.example.test"
DAY = 86_400_000
YEAR = 365 * DAY
CERTIFICATE = b"%PDF-1.7 food safety test report no. 42, GTIN " + GTIN.encode()


@dataclass
class World:
    client: TestClient
    app: FastAPI
    supply: Supply
    service: LogService
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> AppState:
        state: AppState = self.app.state.tracemark
        return state

    def compliance(self, at: int, session: str = "live-1", **headers: str) -> Any:
        response = self.client.get(
            f"/v1/sessions/{session}/compliance",
            params={"platform": "tiktok", "at": at},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def codes(self, at: int) -> list[tuple[str, str]]:
        return [(p["code"], p.get("listing_id", "")) for p in self.compliance(at)["problems"]]


@pytest.fixture(params=["memory", "sqlite", "folder"])
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    operator_key: PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    backend = "memory" if request.param == "folder" else request.param
    store = make_store(backend, request, tmp_path)
    service = initialized(store, operator_key, now=T0 - 10_000)
    service.log_key = operator_key
    s = standard(service, operator_key)
    s.register("ekyc", "identity_verifier")
    s.register("lab", "certifier")
    s.commission("fishco", GTIN, {"list": ["F1", "F2", "F3"]}, lot="L7")
    s.commission("fishco", GTIN_B, {"list": ["B1", "B2"]}, lot="LB")
    s.ship("fishco", "shop-a", [*ids(GTIN, "F1", "F2", "F3"), *ids(GTIN_B, "B1", "B2")], "S1")
    s.receive("shop-a", "fishco", "S1")
    s.listing("shop-a", "tiktok", "L-1", GTIN, quantity=2)
    document_store = f"file://{tmp_path}/docs" if request.param == "folder" else "sql"
    settings = Settings(
        home=tmp_path,
        key_file=tmp_path / "absent.key",
        resolver=RESOLVER,
        rate_limit_per_minute=0,
        document_store=document_store,
    )
    app = create_app(settings, service=service)
    with TestClient(app) as client:
        yield World(client, app, s, service)
    store.close()


def _identity(s: Supply, until: int, attestation_id: str = "kyc-1") -> dict[str, Any]:
    salt = b"verifier-keeps-this-salt-TEST-ONLY"
    record = {"name": "Tran Thi B", "national_id": "079123456789", "dob": "1990-01-01"}
    return {
        "actor": "ekyc",
        "attestation_id": attestation_id,
        "subject": "shop-a",
        "level": "substantial",
        "commitment": identity_commitment(salt, record),
        "verified_at": s.now,
        "valid_until": until,
        "event_time": s.now,
    }


def _qualification(
    s: Supply, actor: str, document: str, attestation_id: str = "fst-42", **over: Any
) -> dict[str, Any]:
    return {
        "actor": actor,
        "attestation_id": attestation_id,
        "kind": "food_safety_test",
        "gtin": GTIN,
        "document": document,
        "title": "Food safety test 42",
        "valid_from": s.now - DAY,
        "valid_until": s.now + 10 * YEAR,
        "event_time": s.now,
        **over,
    }


def _declare(s: Supply, listings: list[str], session: str = "live-1") -> None:
    s.ok(
        STREAM_DECLARE,
        {
            "actor": "shop-a",
            "platform": "tiktok",
            "session_id": session,
            "stream_id": f"{session}-st",
            "listings": listings,
            "event_time": s.now,
        },
        s.keys["shop-a"],
    )


def _upload(w: World, data: bytes = CERTIFICATE, kind: str = "application/pdf") -> str:
    response = w.client.put("/v1/documents", content=data, headers={"content-type": kind})
    assert response.status_code == 201, response.text
    sha: str = response.json()["sha256"]
    return sha


def _tamper(w: World, sha: str, data: bytes) -> None:
    documents = w.state.documents
    if isinstance(documents, SqlDocuments):
        store = w.service.store
        assert isinstance(store, SqlStore)
        with store.engine.begin() as conn:
            conn.execute(
                text("UPDATE documents SET data = :d WHERE sha256 = :s"), {"d": data, "s": sha}
            )
    elif isinstance(documents, FolderDocuments):
        (documents.folder / sha[:2] / sha).write_bytes(data)
    else:
        assert isinstance(documents, MemoryDocuments)
        documents.blobs[sha] = (documents.blobs[sha][0], data)


def _ready(w: World) -> str:
    """The seller verified for 30 days, GTIN qualified by the lab for years, a session."""
    s = w.supply
    sha = _upload(w)
    s.ok(ATTEST_IDENTITY, _identity(s, s.now + 30 * DAY), s.keys["ekyc"])
    s.ok(ATTEST_QUALIFICATION, _qualification(s, "lab", sha), s.keys["lab"])
    _declare(s, ["L-1"])
    return sha


# --- journeys -----------------------------------------------------------------------------------


def test_a_verified_seller_with_qualified_stock_is_ready(world: World) -> None:
    sha = _ready(world)
    found = world.compliance(world.supply.now)
    assert found["compliant"] is True, found["problems"]
    assert found["seller"] == "shop-a"
    [identity] = found["identity"]
    assert (identity["issuer"], identity["issuer_name"], identity["level"]) == (
        "ekyc",
        "Ekyc",
        "substantial",
    )
    assert identity["status"] == "valid"
    [listing] = found["listings"]
    assert listing["stock"] == 3 and listing["compliant"] is True
    [q] = listing["qualifications"]
    assert (q["issuer"], q["document"], q["status"]) == ("lab", sha, "valid")


def test_an_expired_identity_makes_the_session_non_compliant(world: World) -> None:
    _ready(world)
    later = world.supply.now + 31 * DAY
    found = world.compliance(later)
    assert found["compliant"] is False
    assert [(p["code"], p["message"]) for p in found["problems"]] == [
        ("identity_expired", "shop-a's identity attestation by Ekyc is expired")
    ]
    assert found["identity"][0]["status"] == "expired"


def test_a_listing_without_a_valid_qualification_is_named(world: World) -> None:
    s = world.supply
    _ready(world)
    s.listing("shop-a", "tiktok", "L-2", GTIN_B, quantity=1)
    _declare(s, ["L-2"])  # a retry of the session's stream: L-2 joins
    assert world.codes(s.now) == [("qualification_missing", "L-2")]
    problem = world.compliance(s.now)["problems"][0]
    assert problem["message"] == f"GTIN {GTIN_B} has no valid qualification"


def test_a_revoked_attestation_shows_revoked(world: World) -> None:
    s = world.supply
    _ready(world)
    s.ok(
        ATTEST_REVOKE,
        {"actor": "lab", "attestation_id": "fst-42", "event_time": s.now, "reason": "recalled"},
        s.keys["lab"],
    )
    found = world.compliance(s.now)
    assert [p["code"] for p in found["problems"]] == ["qualification_revoked"]
    [q] = found["listings"][0]["qualifications"]
    assert (q["status"], q["revoke_reason"]) == ("revoked", "recalled")
    # The verify JSON of an item of that GTIN marks it too.
    uri = issue_uri(CodeIdentity(GTIN, "F1", "L7"), s.keys["fishco"], RESOLVER)
    answer = world.client.post(
        "/v1/verify", json={"code": uri, "context": {"platform": "tiktok", "seller": "shop-a"}}
    ).json()
    assert [x["status"] for x in answer["qualifications"]] == ["revoked"]
    assert answer["seller_identity"][0]["issuer"] == "ekyc"


def test_a_tampered_document_fails_its_hash_check(world: World) -> None:
    s = world.supply
    sha = _ready(world)
    response = world.client.get(f"/v1/documents/{sha}")
    assert response.status_code == 200 and response.content == CERTIFICATE
    assert response.headers["content-type"] == "application/pdf"
    _tamper(world, sha, CERTIFICATE.replace(b"42", b"43"))
    response = world.client.get(f"/v1/documents/{sha}")
    assert response.status_code == 422
    assert response.json()["code"] == "document_tampered"
    assert b"43" not in response.content
    world.state.attested.clear()  # the verify JSON re-checks within a minute anyway
    assert world.codes(s.now + 1) == [("qualification_document_tampered", "L-1")]


def test_verify_json_lists_valid_qualifications_by_gtin_and_lot(world: World) -> None:
    s = world.supply
    sha = _ready(world)
    lot_sha = _upload(world, b"certificate of origin, lot L7", "text/plain")
    s.ok(
        ATTEST_QUALIFICATION,
        _qualification(s, "fishco", lot_sha, "coo-l7", kind="certificate_of_origin", lot="L7"),
        s.keys["fishco"],
    )
    uri = issue_uri(CodeIdentity(GTIN, "F2", "L7"), s.keys["fishco"], RESOLVER)
    answer = world.client.post("/v1/verify", json={"code": uri}).json()
    found = {
        (q["issuer"], q["kind"], q.get("lot"), q["document"]) for q in answer["qualifications"]
    }
    assert found == {
        ("lab", "food_safety_test", None, sha),
        ("fishco", "certificate_of_origin", "L7", lot_sha),
    }
    assert all(q["status"] == "valid" for q in answer["qualifications"])
    assert "seller_identity" not in answer  # the context names no seller


def test_roles_are_enforced_over_http(world: World) -> None:
    s = world.supply
    sha = _upload(world)
    now = {"event_time": now_ms()}  # admitted at the server's clock
    own = sign_entry(
        ATTEST_IDENTITY, {**_identity(s, s.now + DAY), "actor": "shop-a", **now}, s.keys["shop-a"]
    )
    other = sign_entry(
        ATTEST_QUALIFICATION, _qualification(s, "ricecorp", sha, **now), s.keys["ricecorp"]
    )
    certifier = sign_entry(
        ATTEST_QUALIFICATION, _qualification(s, "lab", sha, **now), s.keys["lab"]
    )
    response = world.client.post(
        "/v1/entries", json={"entries": [e.to_obj() for e in (own, other, certifier)]}
    )
    results = response.json()["results"]
    assert results[0]["error"]["code"] == "wrong_role"
    assert results[1]["error"]["code"] == "not_gtin_producer"
    assert "index" in results[2]


def test_personal_data_is_refused_by_the_entry_validator(world: World) -> None:
    """A verifier's client that slips a name into the body is refused, correctly signed."""
    s = world.supply
    body = {**_identity(s, s.now + DAY), "name": "Tran Thi B", "event_time": now_ms()}
    key = s.keys["ekyc"]
    kind = entry_type(ATTEST_IDENTITY)
    signature = key.sign(signing_message(kind, canonical_json(body)))
    envelope = {
        "type": ATTEST_IDENTITY,
        "body": body,
        "signer": key.key_id,
        "signature": base64.b64encode(signature).decode(),
    }
    response = world.client.post("/v1/entries", json={"entries": [envelope]})
    text = response.text
    assert "unexpected name" in text, text
    assert world.client.get("/v1/log/entries", params={"start": 0}).text.count("Tran Thi B") == 0


def test_documents_are_bounded_and_named_by_hash(world: World) -> None:
    response = world.client.put(
        "/v1/documents", content=b"MZ\x90\x00", headers={"content-type": "application/x-msdownload"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_content_type"
    sha = _upload(world)
    again = world.client.post(
        "/v1/documents", content=CERTIFICATE, headers={"content-type": "application/pdf"}
    )
    assert again.status_code == 200 and again.json() == {
        "sha256": sha,
        "content_type": "application/pdf",
        "size": len(CERTIFICATE),
        "stored": False,
        "url": f"{RESOLVER}/v1/documents/{sha}",
    }
    assert world.client.get("/v1/documents/" + "0" * 64).status_code == 404
    assert world.client.get("/v1/documents/not-a-hash").status_code in (400, 422)
    big = b"x" * (world.state.settings.document_max_bytes + 1)
    response = world.client.put(
        "/v1/documents", content=big, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 413


def test_compliance_needs_a_platform_and_a_known_session(world: World) -> None:
    response = world.client.get("/v1/sessions/live-1/compliance")
    assert response.status_code == 400 and response.json()["code"] == "platform_required"
    response = world.client.get("/v1/sessions/nope/compliance", params={"platform": "tiktok"})
    assert response.status_code == 404 and response.json()["code"] == "unknown_session"


# --- webhooks: falling out of compliance --------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, dict[str, str]]] = []

    def __call__(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, str]:
        self.sent.append((body, dict(headers)))
        return 200, ""


def _subscribe(w: World) -> tuple[str, Recorder]:
    record, token = new_api_key("tiktok", "", secret=b"\x01" * 32, now=T0, rate_limit=6_000)
    w.state.platform.store.add_key(record)
    hook = w.client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/h", "events": ["compliance_lost"]},
        headers={"X-API-Key": token},
    )
    assert hook.status_code == 201, hook.text
    recorder = Recorder()
    w.state.platform.dispatcher.post = recorder
    # The platform may also ask with its key (no ?platform= needed).
    keyed = w.client.get("/v1/sessions/live-1/compliance", headers={"X-API-Key": token})
    assert keyed.status_code in (200, 404)
    return str(hook.json()["secret"]), recorder


def test_the_webhook_fires_when_a_recall_breaks_a_compliant_session(world: World) -> None:
    s = world.supply
    _ready(world)
    secret, recorder = _subscribe(world)
    dispatcher = world.state.platform.dispatcher
    assert dispatcher.poll_compliance(s.now, force=True) == 0  # compliant: remembered
    assert dispatcher.poll_compliance(s.now, force=True) == 0
    s.ok(
        RECALL,
        s.event("fishco", gtin=GTIN, scope="gtin", reason="listeria"),
        s.keys["fishco"],
    )
    # The log grew: the next round checks without waiting for the interval.
    assert dispatcher.poll_compliance(s.now) == 1
    assert dispatcher.poll_compliance(s.now, force=True) == 0  # told once
    assert dispatcher.deliver_pending(s.now) == 1
    body, headers = recorder.sent[0]
    verify_delivery(secret, headers, body, now_s=s.now // 1000)
    event = json.loads(body)
    assert event["type"] == "compliance_lost"
    assert event["data"]["session"] == {
        "platform": "tiktok",
        "session_id": "live-1",
        "seller": "shop-a",
    }
    codes = {p["code"] for p in event["data"]["problems"]}
    assert "product_recalled" in codes


def test_the_webhook_fires_when_time_expires_an_identity(world: World) -> None:
    s = world.supply
    _ready(world)
    _, recorder = _subscribe(world)
    dispatcher = world.state.platform.dispatcher
    assert dispatcher.poll_compliance(s.now, force=True) == 0
    # Nothing in the log changes; the clock moves past the identity's validity.
    assert dispatcher.poll_compliance(s.now + 1_000) == 0  # not due yet (interval)
    later = s.now + 31 * DAY
    assert dispatcher.poll_compliance(later) == 1
    assert dispatcher.deliver_pending(later) == 1
    event = json.loads(recorder.sent[0][0])
    assert [p["code"] for p in event["data"]["problems"]] == ["identity_expired"]


def test_listing_and_overlay_json_show_who_vouched(world: World) -> None:
    s = world.supply
    _ready(world)
    record, token = new_api_key("tiktok", "", secret=b"\x02" * 32, now=T0, rate_limit=6_000)
    world.state.platform.store.add_key(record)
    response = world.client.post(
        "/v1/listings/verify",
        json={
            "listings": [
                {
                    "seller": "tiktok:@shopa",
                    "platform": "tiktok",
                    "listing_id": "L-1",
                    "gtin": GTIN,
                    "quantity": 2,
                }
            ]
        },
        headers={"X-API-Key": token},
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    # The attestations are read at the server's clock: the identity (30 days from the test
    # clock) may have expired by then, the certificate (ten years) has not.
    assert result["seller"]["identity"][0]["issuer"] == "ekyc"
    assert result["seller"]["identity"][0]["status"] in ("valid", "expired")
    assert [q["attestation_id"] for q in result["qualifications"]] == ["fst-42"]
    assert s.now > 0


def test_the_epcis_export_skips_attestations(world: World) -> None:
    _ready(world)
    document = export_epcis(world.service, created_ms=world.supply.now)
    events = document["epcisBody"]["eventList"]
    exported = {e["tm:logIndex"] for e in events}
    store = world.service.store
    kinds = {e.index: e.entry_type for e in store.entries(0, store.head().size)}
    assert exported and all(kinds[i].startswith("event.") for i in exported)
    assert any(k.startswith("attest.") for k in kinds.values())
