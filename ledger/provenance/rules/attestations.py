"""Rules for attestations: who may vouch for a seller's identity or a product's documents.

    attest.identity       an ``identity_verifier`` (a platform or an eKYC provider), about a
                          registered seller or retailer, never about itself
    attest.qualification  a ``certifier`` (lab, authority, OCOP council) about any GTIN of a
                          registered producer, or a ``producer`` about its own GTINs only
    attest.revoke         the issuer, about its own attestation, once

An attestation is named by its issuer and the issuer's ``attestation_id`` (unique per
issuer, for good). Each lands in the ``AttestationScope`` of its subject (the seller, the
GTIN, or the GTIN's lot), which readers use to list them; a scope holds at most
``MAX_PER_SCOPE``, so reading a scope stays cheap.

Refusal codes: attestation_exists, unknown_subject, wrong_subject, self_attestation,
not_gtin_producer, unknown_producer, too_many_attestations, unknown_attestation,
already_revoked (plus the signer codes of ``common.signer``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ledger.provenance.events.names import ATTEST_IDENTITY, ATTEST_QUALIFICATION, ATTEST_REVOKE
from ledger.provenance.records import Actor, Attestation, AttestationScope
from ledger.provenance.rules.common import Entry, event_signer, gtin_owner, violation

__all__ = [
    "HANDLERS",
    "IDENTITY_KIND",
    "MAX_PER_SCOPE",
    "identity_scope",
    "product_scope",
]

MAX_PER_SCOPE = 200
IDENTITY_KIND = "identity"


def identity_scope(actor_id: str) -> str:
    return f"identity:{actor_id}"


def product_scope(gtin: str, lot: str = "") -> str:
    return f"lot:{gtin}/{lot}" if lot else f"gtin:{gtin}"


def _add(entry: Entry, attestation: Attestation, scope: str) -> None:
    if entry.view.get(Attestation, (attestation.issuer, attestation.attestation_id)) is not None:
        raise violation(
            "attestation_exists",
            f"{attestation.issuer} already issued attestation {attestation.attestation_id}",
        )
    found = entry.view.get(AttestationScope, (scope,))
    refs = found.refs if found is not None else ()
    if len(refs) >= MAX_PER_SCOPE:
        raise violation(
            "too_many_attestations", f"{scope} already holds {MAX_PER_SCOPE} attestations"
        )
    entry.changes.put(attestation, AttestationScope(scope, (*refs, attestation.ref)))


def _identity(entry: Entry) -> None:
    issuer = event_signer(entry, roles=("identity_verifier",))
    body = entry.body
    subject = entry.view.get(Actor, (body["subject"],))
    if subject is None:
        raise violation("unknown_subject", f"actor {body['subject']} is not registered")
    if subject.actor_id == issuer.actor_id:
        raise violation("self_attestation", "an identity verifier cannot attest its own identity")
    if subject.role not in ("seller", "retailer"):
        raise violation(
            "wrong_subject",
            f"identity attestations are about sellers and retailers, not a {subject.role}",
        )
    attestation = Attestation(
        issuer.actor_id,
        body["attestation_id"],
        IDENTITY_KIND,
        subject.actor_id,
        "",
        body["level"],
        body["commitment"],
        "",
        body["verified_at"],
        body["valid_until"],
        entry.index,
    )
    _add(entry, attestation, identity_scope(subject.actor_id))


def _qualification(entry: Entry) -> None:
    issuer = event_signer(entry, roles=("certifier", "producer"))
    body = entry.body
    gtin, lot = body["gtin"], body.get("lot", "")
    owner = gtin_owner(entry.view, gtin)
    if owner is None:
        raise violation("unknown_producer", f"GTIN {gtin} has no registered producer")
    if issuer.role == "producer" and owner.actor_id != issuer.actor_id:
        raise violation(
            "not_gtin_producer",
            f"GTIN {gtin} belongs to {owner.actor_id}: a producer qualifies only its own "
            "GTINs (a certifier may qualify any)",
        )
    attestation = Attestation(
        issuer.actor_id,
        body["attestation_id"],
        body["kind"],
        gtin,
        lot,
        "",
        body["document"],
        body.get("title", ""),
        body["valid_from"],
        body["valid_until"],
        entry.index,
    )
    _add(entry, attestation, product_scope(gtin, lot))


def _revoke(entry: Entry) -> None:
    issuer = event_signer(entry)
    body = entry.body
    found = entry.view.get(Attestation, (issuer.actor_id, body["attestation_id"]))
    if found is None:
        raise violation(
            "unknown_attestation",
            f"{issuer.actor_id} issued no attestation {body['attestation_id']}",
        )
    if found.revoked_index >= 0:
        raise violation(
            "already_revoked", f"attestation {found.ref} was revoked at entry {found.revoked_index}"
        )
    entry.changes.put(
        replace(
            found,
            revoked_index=entry.index,
            revoked_time=body["event_time"],
            reason=body.get("reason", ""),
        )
    )


HANDLERS: dict[str, Callable[[Entry], None]] = {
    ATTEST_IDENTITY: _identity,
    ATTEST_QUALIFICATION: _qualification,
    ATTEST_REVOKE: _revoke,
}
