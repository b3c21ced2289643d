"""ledger/provenance/rules/attestations.py and ledger/verdicts/{attestations,compliance}.py:
who may attest a seller's identity or a product's documents, revocation by the issuer only,
statuses at the time asked, and a session's compliance with its reasons."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.errors import InvalidInput
from ledger.log.entries import sign_entry
from ledger.provenance.events.attestations import identity_commitment
from ledger.provenance.events.names import (
    ACTOR_UPDATE,
    ATTEST_IDENTITY,
    ATTEST_QUALIFICATION,
    ATTEST_REVOKE,
    COMMISSION,
    LISTING_DECLARE,
    RECALL,
    STREAM_DECLARE,
)
from ledger.provenance.records import Attestation, StreamSession
from ledger.verdicts.attestations import identity_of, qualifications_of
from ledger.verdicts.compliance import CompliancePolicy, session_compliance
from tests.supply import gtin_for
from tests.unit.provenance.rules.harness import OPERATOR, Rules

GTIN = gtin_for("8930001", "0001")
OTHER_GTIN = gtin_for("8930002", "0001")
DAY = 86_400_000
COMMITMENT = identity_commitment(b"s" * 16, {"name": "Nguyen Van A", "id": "0123456789"})
DOC = "ab" * 32


def _world() -> Rules:
    rules = Rules()
    rules.register("fishco", "producer", prefixes=["8930001"])
    rules.register("ricecorp", "producer", prefixes=["8930002"])
    rules.register("shop", "seller", handles=["tiktok:@shop"])
    rules.register("ekyc", "identity_verifier")
    rules.register("lab", "certifier")
    return rules


def _identity(rules: Rules, attestation_id: str = "id-1", **over: Any) -> dict[str, Any]:
    return {
        "actor": "ekyc",
        "attestation_id": attestation_id,
        "subject": "shop",
        "level": "substantial",
        "commitment": COMMITMENT,
        "verified_at": rules.now,
        "valid_until": rules.now + 30 * DAY,
        "event_time": rules.now,
        **over,
    }


def _qualification(
    rules: Rules, actor: str, attestation_id: str = "q-1", **over: Any
) -> dict[str, Any]:
    return {
        "actor": actor,
        "attestation_id": attestation_id,
        "kind": "food_safety_test",
        "gtin": GTIN,
        "document": DOC,
        "valid_from": rules.now - DAY,
        "valid_until": rules.now + 10 * DAY,
        "event_time": rules.now,
        **over,
    }


def test_identity_attestation_by_a_verifier_is_valid_until_it_expires() -> None:
    rules = _world()
    rules.ok(ATTEST_IDENTITY, _identity(rules), rules.keys["ekyc"])
    now = rules.now
    [status] = identity_of(rules.view, "shop", now)
    assert status.status == "valid"
    assert status.to_obj()["level"] == "substantial"
    assert status.to_obj()["issuer_name"] == "ekyc"
    assert identity_of(rules.view, "shop", now + 31 * DAY)[0].status == "expired"


def test_a_seller_cannot_attest_its_own_identity() -> None:
    rules = _world()
    body = _identity(rules, actor="shop")
    rules.refused("wrong_role", ATTEST_IDENTITY, body, rules.keys["shop"])


def test_an_identity_verifier_cannot_attest_itself_or_a_producer() -> None:
    rules = _world()
    rules.refused(
        "self_attestation", ATTEST_IDENTITY, _identity(rules, subject="ekyc"), rules.keys["ekyc"]
    )
    rules.refused(
        "wrong_subject", ATTEST_IDENTITY, _identity(rules, subject="fishco"), rules.keys["ekyc"]
    )
    rules.refused(
        "unknown_subject", ATTEST_IDENTITY, _identity(rules, subject="ghost"), rules.keys["ekyc"]
    )


def test_attestation_ids_are_unique_per_issuer() -> None:
    rules = _world()
    rules.ok(ATTEST_IDENTITY, _identity(rules), rules.keys["ekyc"])
    rules.refused("attestation_exists", ATTEST_IDENTITY, _identity(rules), rules.keys["ekyc"])


def test_a_producer_qualifies_its_own_gtin_only_and_a_certifier_any() -> None:
    rules = _world()
    rules.ok(ATTEST_QUALIFICATION, _qualification(rules, "fishco"), rules.keys["fishco"])
    body = _qualification(rules, "ricecorp", "q-2")
    rules.refused("not_gtin_producer", ATTEST_QUALIFICATION, body, rules.keys["ricecorp"])
    rules.ok(
        ATTEST_QUALIFICATION,
        _qualification(rules, "lab", "q-3", gtin=OTHER_GTIN),
        rules.keys["lab"],
    )
    rules.refused(
        "wrong_role",
        ATTEST_QUALIFICATION,
        _qualification(rules, "shop", "q-4"),
        rules.keys["shop"],
    )
    unknown = gtin_for("8939999", "0001")
    rules.refused(
        "unknown_producer",
        ATTEST_QUALIFICATION,
        _qualification(rules, "lab", "q-5", gtin=unknown),
        rules.keys["lab"],
    )
    assert [q.attestation.issuer for q in qualifications_of(rules.view, GTIN, "", rules.now)] == [
        "fishco"
    ]


def test_only_the_issuer_revokes_and_only_once() -> None:
    rules = _world()
    rules.ok(ATTEST_IDENTITY, _identity(rules), rules.keys["ekyc"])
    revoke = {"actor": "lab", "attestation_id": "id-1", "event_time": rules.now}
    rules.refused("unknown_attestation", ATTEST_REVOKE, revoke, rules.keys["lab"])
    revoke = {"actor": "ekyc", "attestation_id": "id-1", "event_time": rules.now, "reason": "x"}
    rules.refused("signer_mismatch", ATTEST_REVOKE, revoke, rules.keys["shop"])
    before = rules.now
    rules.ok(ATTEST_REVOKE, revoke, rules.keys["ekyc"])
    revoke["event_time"] = rules.now
    rules.refused("already_revoked", ATTEST_REVOKE, revoke, rules.keys["ekyc"])
    stored = rules.view.get(Attestation, ("ekyc", "id-1"))
    assert stored is not None and stored.revoked_time == before
    assert identity_of(rules.view, "shop", rules.now)[0].status == "revoked"
    assert identity_of(rules.view, "shop", before - 1)[0].status == "valid"


def test_a_suspended_issuer_vouches_for_nothing() -> None:
    rules = _world()
    rules.ok(ATTEST_IDENTITY, _identity(rules), rules.keys["ekyc"])
    rules.ok(ACTOR_UPDATE, {"id": "ekyc", "status": "suspended", "event_time": rules.now}, OPERATOR)
    assert identity_of(rules.view, "shop", rules.now)[0].status == "issuer_suspended"


@pytest.mark.parametrize(
    "extra",
    [
        {"name": "Nguyen Van A"},
        {"national_id": "0123456789"},
        {"salt": "00" * 16},
    ],
)
def test_no_personal_data_fits_in_an_identity_attestation(extra: dict[str, str]) -> None:
    rules = _world()
    with pytest.raises(InvalidInput, match="unexpected"):
        sign_entry(ATTEST_IDENTITY, {**_identity(rules), **extra}, rules.keys["ekyc"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("commitment", "Nguyen Van A"),
        ("level", "perfect"),
        ("valid_until", 0),
    ],
)
def test_identity_bodies_are_checked(field: str, value: Any) -> None:
    rules = _world()
    with pytest.raises(InvalidInput):
        sign_entry(ATTEST_IDENTITY, {**_identity(rules), field: value}, rules.keys["ekyc"])


def test_qualification_bodies_are_checked() -> None:
    rules = _world()
    for field, value in (("kind", "horoscope"), ("document", "0" * 63), ("lot", "")):
        with pytest.raises(InvalidInput):
            sign_entry(
                ATTEST_QUALIFICATION,
                {**_qualification(rules, "lab"), field: value},
                rules.keys["lab"],
            )


def test_identity_commitment_is_salted_and_domain_separated() -> None:
    record = {"name": "A", "id": "1"}
    assert identity_commitment(b"a" * 16, record) != identity_commitment(b"b" * 16, record)
    with pytest.raises(InvalidInput):
        identity_commitment(b"short", record)


# --- a session's compliance ------------------------------------------------------------------


def _live(rules: Rules, *, serials: list[str] | None = None) -> StreamSession:
    """fishco commissions and ships to shop two items; shop lists and declares a session."""
    rules.ok(
        COMMISSION,
        rules.event("fishco", gtin=GTIN, serials={"list": ["S1", "S2"]}, lot="L1"),
        rules.keys["fishco"],
    )
    items = [f"01/{GTIN}/21/S1", f"01/{GTIN}/21/S2"]
    rules.ok(
        "event.ship",
        rules.event("fishco", shipment="sh1", to="shop", items=items),
        rules.keys["fishco"],
    )
    rules.ok(
        "event.receive",
        rules.event("shop", shipment="sh1", **{"from": "fishco"}),
        rules.keys["shop"],
    )
    listing: dict[str, Any] = {
        "actor": "shop",
        "platform": "tiktok",
        "listing_id": "L1",
        "gtin": GTIN,
        "event_time": rules.now,
    }
    listing.update({"serials": serials} if serials else {"quantity": 2})
    rules.ok(LISTING_DECLARE, listing, rules.keys["shop"])
    rules.ok(
        STREAM_DECLARE,
        {
            "actor": "shop",
            "platform": "tiktok",
            "session_id": "live-1",
            "stream_id": "st-1",
            "listings": ["L1"],
            "event_time": rules.now,
        },
        rules.keys["shop"],
    )
    session = rules.view.get(StreamSession, ("tiktok", "live-1"))
    assert session is not None
    return session


def _codes(rules: Rules, session: StreamSession, now: int, **kw: Any) -> list[str]:
    return [p.code for p in session_compliance(rules.view, session, now, **kw).problems]


def test_a_session_needs_identity_and_qualifications() -> None:
    rules = _world()
    session = _live(rules)
    assert _codes(rules, session, rules.now) == ["identity_missing", "qualification_missing"]
    rules.ok(ATTEST_IDENTITY, _identity(rules), rules.keys["ekyc"])
    rules.ok(ATTEST_QUALIFICATION, _qualification(rules, "lab"), rules.keys["lab"])
    found = session_compliance(rules.view, session, rules.now)
    assert found.compliant, found.problems
    assert found.to_obj()["listings"][0]["qualifications"][0]["status"] == "valid"
    assert (
        found.next_change
        == rules.now - rules.now + found.listings[0].qualifications[0].attestation.valid_until
    )
    # The certificate expires before the identity does.
    later = found.next_change
    assert _codes(rules, session, later) == ["qualification_expired"]
    assert _codes(rules, session, rules.now + 31 * DAY) == [
        "identity_expired",
        "qualification_expired",
    ]


def test_a_policy_names_the_kinds_it_requires() -> None:
    rules = _world()
    session = _live(rules)
    rules.ok(ATTEST_IDENTITY, _identity(rules), rules.keys["ekyc"])
    rules.ok(ATTEST_QUALIFICATION, _qualification(rules, "lab"), rules.keys["lab"])
    policy = CompliancePolicy(kinds=("food_safety_test", "certificate_of_origin"))
    found = session_compliance(rules.view, session, rules.now, policy=policy)
    assert [(p.code, p.listing_id) for p in found.problems] == [("qualification_missing", "L1")]
    assert "certificate of origin" in found.problems[0].message
    with pytest.raises(ValueError, match="horoscope"):
        CompliancePolicy(kinds=("horoscope",))


def test_a_recall_and_a_tampered_document_break_compliance() -> None:
    rules = _world()
    session = _live(rules, serials=[f"01/{GTIN}/21/S1"])
    rules.ok(ATTEST_IDENTITY, _identity(rules), rules.keys["ekyc"])
    rules.ok(ATTEST_QUALIFICATION, _qualification(rules, "lab", lot="L1"), rules.keys["lab"])
    assert _codes(rules, session, rules.now) == []  # a lot qualification backs listed items
    assert _codes(rules, session, rules.now, documents=lambda _d: "tampered") == [
        "qualification_document_tampered"
    ]
    assert _codes(rules, session, rules.now, documents=lambda _d: "missing") == [
        "qualification_document_missing"
    ]
    rules.ok(
        RECALL,
        rules.event("fishco", gtin=GTIN, scope="lot", lot="L1", reason="listeria"),
        rules.keys["fishco"],
    )
    assert _codes(rules, session, rules.now) == ["item_recalled"]


def test_a_seller_without_stock_is_told_so() -> None:
    rules = _world()
    session = _live(rules)
    rules.ok(
        "event.sell",
        rules.event("shop", items=[f"01/{GTIN}/21/S1"]),
        rules.keys["shop"],
    )
    assert "insufficient_stock" in _codes(rules, session, rules.now)
