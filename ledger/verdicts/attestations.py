"""Attestations as readers see them at a time: a seller's identity checks and the
qualifications (documents) of a GTIN and its lot, each with its status then.

A status is one of ``valid``, ``expired``, ``revoked``, ``not_yet_valid`` (from the
attestation and the time asked), ``issuer_suspended`` (the operator suspended the issuer:
what it vouched for vouches for nothing), and for a qualification ``document_missing`` or
``document_tampered`` (the document store has no such document, or its bytes no longer
hash to the attested SHA-256). Only ``valid`` counts.

``documents`` is a function from a SHA-256 to ``ok | missing | tampered`` (the document
store's check, ``ledger.ports.documents``): the core does no I/O itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.provenance.records import Actor, Attestation, AttestationScope, View
from ledger.provenance.rules.attestations import identity_scope, product_scope

__all__ = [
    "VALID",
    "AttestationStatus",
    "DocumentCheck",
    "identity_of",
    "qualifications_of",
]

VALID = "valid"
#: A document's state in the store, by SHA-256: "ok", "missing" or "tampered".
DocumentCheck = Callable[[str], str]
_ORDER = {
    VALID: 0,
    "not_yet_valid": 1,
    "expired": 2,
    "document_missing": 3,
    "document_tampered": 3,
    "issuer_suspended": 4,
    "revoked": 5,
}


def _iso(ms: int) -> str:
    try:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return str(ms)


@dataclass(frozen=True, slots=True)
class AttestationStatus:
    attestation: Attestation
    issuer_name: str
    status: str

    @property
    def valid(self) -> bool:
        return self.status == VALID

    def to_obj(self) -> dict[str, Any]:
        a = self.attestation
        data: dict[str, Any] = {
            "issuer": a.issuer,
            "issuer_name": self.issuer_name,
            "attestation_id": a.attestation_id,
            "kind": a.kind,
            "status": self.status,
            "valid_from": _iso(a.valid_from),
            "valid_until": _iso(a.valid_until),
            "index": a.attested_index,
        }
        if a.level:
            data["level"] = a.level
        else:
            data["gtin"] = a.subject
            if a.lot:
                data["lot"] = a.lot
            data["document"] = a.digest
            if a.title:
                data["title"] = a.title
        if a.revoked_index >= 0:
            data["revoked_at"] = _iso(a.revoked_time)
            if a.reason:
                data["revoke_reason"] = a.reason
        return data


def _statuses(
    view: View, scope: str, now: int, documents: DocumentCheck | None
) -> list[AttestationStatus]:
    found = view.get(AttestationScope, (scope,))
    out: list[AttestationStatus] = []
    for ref in found.refs if found is not None else ():
        issuer_id, _, attestation_id = ref.partition("/")
        attestation = view.get(Attestation, (issuer_id, attestation_id))
        if attestation is None:  # pragma: no cover - a scope names only stored attestations
            continue
        issuer = view.get(Actor, (issuer_id,))
        status = attestation.status_at(now)
        if status == VALID and (issuer is None or issuer.status != "active"):
            status = "issuer_suspended"
        if status == VALID and documents is not None and attestation.kind != "identity":
            state = documents(attestation.digest)
            if state != "ok":
                status = "document_tampered" if state == "tampered" else "document_missing"
        name = issuer.name if issuer is not None else issuer_id
        out.append(AttestationStatus(attestation, name, status))
    # Valid first, then the latest validity first.
    out.sort(key=lambda s: (_ORDER.get(s.status, 9), -s.attestation.valid_until))
    return out


def identity_of(view: View, actor_id: str, now: int) -> list[AttestationStatus]:
    """Every identity attestation about a seller, with its status at ``now``, valid first."""
    return _statuses(view, identity_scope(actor_id), now, None)


def qualifications_of(
    view: View, gtin: str, lot: str, now: int, documents: DocumentCheck | None = None
) -> list[AttestationStatus]:
    """The qualifications of a GTIN (every lot) and of its lot ``lot`` (when given), with
    their status at ``now``, valid first. ``documents`` checks each valid one's document."""
    found = _statuses(view, product_scope(gtin), now, documents)
    if lot:
        found += _statuses(view, product_scope(gtin, lot), now, documents)
        found.sort(key=lambda s: (_ORDER.get(s.status, 9), -s.attestation.valid_until))
    return found
