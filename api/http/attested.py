"""The attestation JSON routes add to their answers: a seller's identity attestations and a
product's qualifications, each with its status at the time asked. Shared by the verify,
resolver, listing and overlay routes (api/http/routes/), which never import each other.

Answers are kept per subject and log size until the earliest time one of their statuses
changes (an attestation starts, expires), and at most ``DOCUMENT_RECHECK_MS`` so that a
document altered in the store stops counting soon after: a million viewers of one item
do not re-hash its certificate each.
"""

from __future__ import annotations

from typing import Any

from api.http.state import AppState
from ledger.provenance.records import Actor
from ledger.usecases.verify import VerifyResult
from ledger.verdicts.attestations import AttestationStatus, identity_of, qualifications_of

__all__ = ["DOCUMENT_RECHECK_MS", "attested_json", "identity_json", "qualifications_json"]

DOCUMENT_RECHECK_MS = 60_000
_MAX_KEPT = 10_000


def _until(found: list[AttestationStatus], now: int) -> int:
    """The earliest time after ``now`` when a status of ``found`` changes by time alone."""
    edges = [now + DOCUMENT_RECHECK_MS]
    for s in found:
        a = s.attestation
        edges.extend(t for t in (a.valid_from, a.valid_until, a.revoked_time) if t > now)
    return min(edges)


def _kept(state: AppState, key: Any, now: int) -> Any | None:
    found = state.attested.get(key)
    if found is None or now >= found[0]:
        return None
    return found[1]


def _keep(state: AppState, key: Any, until: int, value: Any) -> None:
    if len(state.attested) >= _MAX_KEPT:
        state.attested.clear()
    state.attested[key] = (until, value)


def qualifications_json(state: AppState, gtin: str, lot: str, now: int) -> list[dict[str, Any]]:
    """The qualifications of a GTIN and its lot at ``now`` (documents checked), valid first."""
    with state.service.store.reader() as view:
        key = ("q", gtin, lot, view.log_size())
        kept = _kept(state, key, now)
        if kept is not None:
            return list(kept)
        found = qualifications_of(view, gtin, lot, now, state.documents.check)
    value = [s.to_obj() for s in found]
    _keep(state, key, _until(found, now), value)
    return value


def identity_json(state: AppState, actor_id: str, now: int) -> list[dict[str, Any]] | None:
    """A registered seller's identity attestations at ``now``, valid first; None when
    ``actor_id`` names no registered actor."""
    with state.service.store.reader() as view:
        key = ("i", actor_id, view.log_size())
        kept = _kept(state, key, now)
        if kept is not None:
            return None if kept == "unknown" else list(kept)
        if view.get(Actor, (actor_id,)) is None:
            _keep(state, key, now + DOCUMENT_RECHECK_MS, "unknown")
            return None
        found = identity_of(view, actor_id, now)
    value = [s.to_obj() for s in found]
    _keep(state, key, _until(found, now), value)
    return value


def attested_json(state: AppState, result: VerifyResult, now: int) -> dict[str, Any]:
    """What a verify answer adds: the item's ``qualifications`` (by GTIN and its lot) and,
    when the context names a registered seller, its ``seller_identity``."""
    extra: dict[str, Any] = {}
    view = result.view
    if view is not None and view.record.gtin:
        extra["qualifications"] = qualifications_json(state, view.record.gtin, view.record.lot, now)
    context = result.context
    if context is not None and context.seller and ":" not in context.seller:
        identity = identity_json(state, context.seller, now)
        if identity is not None:
            extra["seller_identity"] = identity
    return extra
