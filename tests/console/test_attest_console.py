"""The console's attestation screens in process (issue 20): a certifier and a producer
attest documents (the producer only for its own GTINs), an identity verifier attests a
seller, issuers revoke, and the seller's compliance screen follows: compliant, then not,
with the reason. Entries are signed here with the actors' TEST ONLY keys, as the page's
script does (the browser's own signing is tests/console/test_attest_browser.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.provenance.events.attestations import identity_commitment
from ledger.provenance.events.names import (
    ATTEST_IDENTITY,
    ATTEST_QUALIFICATION,
    ATTEST_REVOKE,
    STREAM_DECLARE,
)
from tests.console.conftest import ACTOR_KEYS, Console, Person, now
from tests.supply import GTIN, OTHER_GTIN, PRODUCER_PREFIX, Supply, ids

DAY = 86_400_000
PDF = b"%PDF-1.7 food safety test report 42 TEST ONLY"


SHOP_KEY = PrivateKey.from_seed(bytes([51] * 32))  # TEST ONLY


def _world(console: Console, people: dict[str, Person]) -> tuple[Supply, Person]:
    """A seller joined through the console (shop-c, identity checked by the operator so it
    may list); fishco (prefix 8930001) commissions three items and ships them to shop-c,
    which receives them, lists two and declares a stream session showing the listing."""
    operator = people["operator"]
    shop = console.join("seller", actor_id="shop-c", handle="tiktok:@shopc")
    assert shop.post("/console/api/key", {"public_key": SHOP_KEY.public_key.to_text()}).is_success
    account = console.state.console.accounts.store.account_named("shop-c")  # type: ignore[union-attr]
    assert account is not None
    checked = operator.post(
        f"/console/api/accounts/{account.account_id}/identity", {"level": "document"}
    )
    assert checked.status_code == 200, checked.text
    approved = operator.post(f"/console/api/accounts/{account.account_id}/approve", {})
    assert approved.status_code == 200, approved.text
    s = Supply(console.state.service, console.operator_key, now=now() - 120_000)
    s.keys["shop-c"] = SHOP_KEY
    s.register("fishco", "producer", prefixes=(PRODUCER_PREFIX,), name="Fishco")
    s.commission("fishco", GTIN, {"list": ["F1", "F2", "F3"]}, lot="L7")
    s.ship("fishco", "shop-c", ids(GTIN, "F1", "F2", "F3"), "S1")
    s.receive("shop-c", "fishco", "S1")
    s.listing("shop-c", "tiktok", "L-1", GTIN, quantity=2)
    s.ok(
        STREAM_DECLARE,
        {
            "actor": "shop-c",
            "platform": "tiktok",
            "session_id": "live-1",
            "stream_id": "live-1-a",
            "listings": ["L-1"],
            "event_time": s.tick(0) + 1,
        },
        SHOP_KEY,
    )
    return s, shop


def _signed(person: Person, kind: str, body: dict[str, Any], role: str) -> Any:
    entry = sign_entry(kind, body, ACTOR_KEYS[role])
    return person.post("/console/api/entries", {"entry": entry.to_obj()})


def _upload(person: Person, data: bytes = PDF) -> str:
    answer = person.client.put(
        "/v1/documents", content=data, headers={"content-type": "application/pdf"}
    )
    assert answer.status_code in (200, 201), answer.text
    sha: str = answer.json()["sha256"]
    return sha


def _qualification(actor: str, sha: str, attestation_id: str, **over: Any) -> dict[str, Any]:
    t = now()
    return {
        "actor": actor,
        "attestation_id": attestation_id,
        "kind": "food_safety_test",
        "gtin": GTIN,
        "document": sha,
        "title": "Phiếu kiểm nghiệm 42",
        "valid_from": t - DAY,
        "valid_until": t + 365 * DAY,
        "event_time": t,
        **over,
    }


def _identity(until: int) -> dict[str, Any]:
    t = now()
    record = {"name": "Trần Thị B", "id_number": "079123456789"}  # TEST ONLY
    return {
        "actor": "identity_verifier-one",
        "attestation_id": "kyc-1",
        "subject": "shop-c",
        "level": "substantial",
        "commitment": identity_commitment(b"salt-TEST-ONLY-0123456789", record),
        "verified_at": t,
        "valid_until": until,
        "event_time": t,
    }


def _sessions(person: Person, **params: Any) -> list[tuple[str, str, list[str]]]:
    page = person.client.get("/console/seller/compliance", params=params)
    assert page.status_code == 200, page.text
    found = []
    for m in re.finditer(
        r'data-session="([^"]+)" data-compliant="(yes|no)">(.*?)</article>', page.text, re.S
    ):
        found.append((m[1], m[2], re.findall(r'<li data-code="([^"]+)"', m[3])))
    return found


def test_certifier_verifier_and_seller_screens(console: Console, people: dict[str, Person]) -> None:
    certifier, verifier = people["certifier"], people["identity_verifier"]
    _, seller = _world(console, people)
    # Nothing attested yet: the session lacks an identity and a qualification.
    [(session, compliant, codes)] = _sessions(seller)
    assert (session, compliant) == ("live-1", "no")
    assert set(codes) == {"identity_missing", "qualification_missing"}
    # The certifier stores a document and attests it for the producer's GTIN.
    sha = _upload(certifier)
    done = _signed(
        certifier,
        ATTEST_QUALIFICATION,
        _qualification("certifier-one", sha, "q-1"),
        "certifier",
    )
    assert done.status_code == 201, done.text
    page = certifier.client.get("/console/attest/qualifications")
    assert page.status_code == 200
    assert 'data-attestation="q-1"' in page.text and 'data-status="valid"' in page.text
    assert "Food safety test: Phiếu kiểm nghiệm 42" in page.text
    # The identity verifier attests the seller: only the commitment reaches the log.
    until = now() + 30 * DAY
    done = _signed(verifier, ATTEST_IDENTITY, _identity(until), "identity_verifier")
    assert done.status_code == 201, done.text
    page = verifier.client.get("/console/attest/identity")
    assert 'data-attestation="kyc-1"' in page.text and "Identity (substantial)" in page.text
    assert "Trần Thị B" not in page.text
    [(_, compliant, codes)] = _sessions(seller)
    assert (compliant, codes) == ("yes", [])
    # A month later the identity has expired (the screen asks at another time, ?at=).
    [(_, compliant, codes)] = _sessions(seller, at=until + 1)
    assert (compliant, codes) == ("no", ["identity_expired"])
    # The certifier revokes its attestation: not compliant now, with the reason.
    revoke = {"actor": "certifier-one", "attestation_id": "q-1", "event_time": now()}
    done = _signed(certifier, ATTEST_REVOKE, revoke | {"reason": "lab error"}, "certifier")
    assert done.status_code == 201, done.text
    [(_, compliant, codes)] = _sessions(seller)
    assert (compliant, codes) == ("no", ["qualification_revoked"])
    page = seller.client.get("/console/seller/compliance")
    assert "Not compliant" in page.text and "revoked" in page.text
    page = certifier.client.get("/console/attest/qualifications")
    assert 'data-status="revoked"' in page.text
    # A revoked attestation offers no second revocation.
    assert 'data-attestation="q-1"{' not in page.text
    assert page.text.count('class="revoke"') == 0


def test_a_producer_attests_only_its_own_gtins(console: Console, people: dict[str, Person]) -> None:
    producer = people["producer"]
    s = Supply(console.state.service, console.operator_key, now=now() - 60_000)
    s.register("otherco", "producer", prefixes=("8930002",), name="Otherco")
    sha = _upload(producer)
    # producer-one owns no prefix: neither GTIN is its own.
    refused = _signed(
        producer,
        ATTEST_QUALIFICATION,
        _qualification("producer-one", sha, "p-1", gtin=OTHER_GTIN),
        "producer",
    )
    assert refused.status_code == 409 and refused.json()["code"] == "not_gtin_producer"
    # Speaking for another actor is refused before the ledger's rules.
    other = _signed(
        producer, ATTEST_QUALIFICATION, _qualification("certifier-one", sha, "p-2"), "producer"
    )
    assert other.status_code == 403 and other.json()["code"] == "not_your_actor"
    page = producer.client.get("/console/attest/qualifications")
    assert page.status_code == 200 and "None yet." in page.text


def test_the_screens_in_vietnamese_and_the_nav(people: dict[str, Person]) -> None:
    for role, path, title in (
        ("certifier", "/console/attest/qualifications", "Giấy tờ sản phẩm"),
        ("producer", "/console/attest/qualifications", "Giấy tờ sản phẩm"),
        ("identity_verifier", "/console/attest/identity", "Danh tính người bán"),
        ("seller", "/console/seller/compliance", "Tuân thủ"),
    ):
        page = people[role].client.get(path, params={"lang": "vi"})
        assert page.status_code == 200, (role, page.text)
        assert f"<h1>{title}</h1>" in page.text
        assert f'<a href="{path}" aria-current=page>' in page.text
        assert '<script src="/console/static/' in page.text and "<script>" not in page.text
    home = people["identity_verifier"].client.get("/console/")
    assert "(Tổ chức xác minh danh tính)" in home.text  # the language chosen is kept


@pytest.mark.parametrize("at", ["yesterday", "-1", "9" * 17, "1.5"])
def test_a_bad_time_is_a_problem(people: dict[str, Person], at: str) -> None:
    answer = people["seller"].client.get("/console/seller/compliance", params={"at": at})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_field"


def test_the_operator_invites_verifiers_and_certifiers(
    console: Console, people: dict[str, Person]
) -> None:
    operator = people["operator"]
    page = operator.client.get("/console/operator/invites")
    assert '<option value="identity_verifier">' in page.text
    assert '<option value="certifier">' in page.text
    made = operator.post(
        "/console/api/invites", {"role": "identity_verifier", "actor_id": "ekyc-vn", "name": "eKYC"}
    )
    assert made.status_code == 201, made.text
    # Joined and approved, the verifier is a ledger actor of that role.
    person = console.join("identity_verifier", actor_id="ekyc-2")
    key = ACTOR_KEYS["seller"].public_key  # any key not yet registered would do
    from ledger.keys import PrivateKey

    fresh = PrivateKey.from_seed(bytes([42] * 32)).public_key.to_text()  # TEST ONLY
    assert key.to_text() != fresh
    assert person.post("/console/api/key", {"public_key": fresh}).status_code == 200
    accounts = console.state.console.accounts  # type: ignore[union-attr]
    account = accounts.store.account_named("ekyc-2")
    assert account is not None
    approved = operator.post(f"/console/api/accounts/{account.account_id}/approve", {})
    assert approved.status_code == 200, approved.text
    actor = console.state.service.actor_view("ekyc-2")
    assert actor.actor.role == "identity_verifier"
