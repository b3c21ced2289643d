"""Attestation bodies: ``attest.identity`` (an identity verifier states that a seller's
identity was checked), ``attest.qualification`` (a certifier or the producer vouches for a
document about a GTIN or one of its lots) and ``attest.revoke`` (the issuer withdraws one).

No personal data enters the log. An identity attestation holds only ``commitment``, a
SHA-256 the verifier computed over a salted, canonical identity record it keeps itself
(``identity_commitment`` below is the recommended construction); names, ID numbers and the
salt stay with the verifier. The shape check refuses any field it does not know, so a
client cannot slip a name into a body. A qualification holds the SHA-256 of its document;
the document itself lives in the document store outside the log (``ledger.ports.documents``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ledger.errors import InvalidInput
from ledger.log.canonical import canonical_json
from ledger.log.entries import register_entry_type
from ledger.provenance.events.fields import (
    HEX64,
    TOKEN,
    actor_id,
    gtin_field,
    lot_expiry,
    match,
    millis,
    shape,
    text,
)
from ledger.provenance.events.names import (
    ATTEST_IDENTITY,
    ATTEST_QUALIFICATION,
    ATTEST_REVOKE,
)

__all__ = [
    "IDENTITY_COMMITMENT_DOMAIN",
    "IDENTITY_LEVELS",
    "QUALIFICATION_KINDS",
    "identity_commitment",
    "validate_identity",
    "validate_qualification",
    "validate_revoke",
]

#: Assurance levels of an identity check (the eIDAS words: low, substantial, high).
IDENTITY_LEVELS = ("low", "substantial", "high")
QUALIFICATION_KINDS = (
    "certificate_of_origin",
    "ocop_rating",
    "food_safety_test",
    "import_declaration",
    "other",
)
IDENTITY_COMMITMENT_DOMAIN = b"tracemark/identity-commitment/v1\x00"
_MIN_SALT = 16


def identity_commitment(salt: bytes, record: Mapping[str, Any]) -> str:
    """SHA-256(domain || salt || canonical JSON of the identity record), hex: what a
    verifier records. The salt (at least 16 random bytes) and the record stay with the
    verifier; whoever holds both can later show which record was checked."""
    if len(salt) < _MIN_SALT:
        raise InvalidInput(f"an identity commitment salt is at least {_MIN_SALT} bytes")
    return hashlib.sha256(IDENTITY_COMMITMENT_DOMAIN + salt + canonical_json(record)).hexdigest()


def _validity(body: Mapping[str, Any], start: str) -> None:
    begin, end = millis(body, start), millis(body, "valid_until")
    if end <= begin:
        raise InvalidInput(f"valid_until must be after {start}")


def validate_identity(body: Mapping[str, Any]) -> None:
    shape(
        body,
        ATTEST_IDENTITY,
        {
            "actor",
            "attestation_id",
            "subject",
            "level",
            "commitment",
            "verified_at",
            "valid_until",
            "event_time",
        },
        set(),
    )
    actor_id(body, "actor")
    match(body, "attestation_id", TOKEN, "an attestation id (printable ASCII, no spaces)")
    actor_id(body, "subject")
    if body["level"] not in IDENTITY_LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(IDENTITY_LEVELS)}")
    match(body, "commitment", HEX64, "a SHA-256 commitment in lowercase hex")
    _validity(body, "verified_at")
    millis(body, "event_time")


def validate_qualification(body: Mapping[str, Any]) -> None:
    shape(
        body,
        ATTEST_QUALIFICATION,
        {
            "actor",
            "attestation_id",
            "kind",
            "gtin",
            "document",
            "valid_from",
            "valid_until",
            "event_time",
        },
        {"lot", "title"},
    )
    actor_id(body, "actor")
    match(body, "attestation_id", TOKEN, "an attestation id (printable ASCII, no spaces)")
    if body["kind"] not in QUALIFICATION_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(QUALIFICATION_KINDS)}")
    gtin_field(body)
    lot_expiry(body)
    if "lot" in body and not body["lot"]:
        raise InvalidInput("lot, when given, is not empty", code="invalid_lot")
    match(body, "document", HEX64, "the document's SHA-256 in lowercase hex")
    if "title" in body:
        text(body, "title", 200)
    _validity(body, "valid_from")
    millis(body, "event_time")


def validate_revoke(body: Mapping[str, Any]) -> None:
    shape(body, ATTEST_REVOKE, {"actor", "attestation_id", "event_time"}, {"reason"})
    actor_id(body, "actor")
    match(body, "attestation_id", TOKEN, "an attestation id (printable ASCII, no spaces)")
    millis(body, "event_time")
    if "reason" in body:
        text(body, "reason", 500)


register_entry_type(ATTEST_IDENTITY, validate_identity)
register_entry_type(ATTEST_QUALIFICATION, validate_qualification)
register_entry_type(ATTEST_REVOKE, validate_revoke)
