"""Compliance use cases: a session's readiness, a seller's identity attestations and a
product's qualifications, read from one snapshot of the projection at a time asked; and
``ComplianceWatch``, which notices sessions falling out of compliance.

Documents are checked through a ``DocumentStore`` (re-hashed on read). The verdict logic is
pure (``ledger.verdicts.compliance``, ``ledger.verdicts.attestations``); this module reads.

**Falling out of compliance.** ``ComplianceWatch.check(platform, now)`` evaluates every
session of a platform and returns those that were compliant at the previous check and are
not now (a recall, an expired certificate or identity, a revoked attestation, a document
that fails its hash check). The previous state lives in ``StateStore`` (the platform
tables' named cursors: 1 compliant, 0 not), moved by compare-and-swap together with the
events queued for it, so replicas do not send one change twice. Expiry is time-based:
nothing in the log changes when a certificate expires, so a periodic check (the webhook
worker's loop, ``TRACEMARK_COMPLIANCE_INTERVAL_S``) finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.errors import NotFound
from ledger.ports.documents import DocumentStore
from ledger.ports.log import LogStore
from ledger.provenance.records import StreamSession
from ledger.verdicts.attestations import AttestationStatus, identity_of, qualifications_of
from ledger.verdicts.compliance import Compliance, CompliancePolicy, session_compliance

__all__ = [
    "ComplianceWatch",
    "Fallen",
    "check_session",
    "product_qualifications",
    "seller_identity",
]


def _check(documents: DocumentStore | None) -> Callable[[str], str] | None:
    return None if documents is None else documents.check


def check_session(
    store: LogStore,
    platform: str,
    session_id: str,
    now: int,
    *,
    policy: CompliancePolicy | None = None,
    documents: DocumentStore | None = None,
) -> Compliance:
    """The compliance of one session at ``now``; ``NotFound`` for an unknown session."""
    with store.reader() as view:
        session = view.get(StreamSession, (platform, session_id))
        if session is None:
            raise NotFound(f"no stream session {platform}:{session_id}", code="unknown_session")
        return session_compliance(view, session, now, policy=policy, documents=_check(documents))


def seller_identity(store: LogStore, actor_id: str, now: int) -> list[AttestationStatus]:
    with store.reader() as view:
        return identity_of(view, actor_id, now)


def product_qualifications(
    store: LogStore, gtin: str, lot: str, now: int, documents: DocumentStore | None = None
) -> list[AttestationStatus]:
    with store.reader() as view:
        return qualifications_of(view, gtin, lot, now, _check(documents))


class StateStore(Protocol):
    """Named integer cursors moved by compare-and-swap with the deliveries they queue (the
    platform store's ``cursor`` / ``advance``)."""

    def cursor(self, name: str) -> int | None: ...

    def advance(self, name: str, old: int | None, new: int, deliveries: Sequence[Any]) -> bool: ...


@dataclass(frozen=True, slots=True)
class Fallen:
    """A session that was compliant at the previous check and is not now."""

    compliance: Compliance


class ComplianceWatch:
    """Sessions falling out of compliance, per platform (module docstring). ``events``
    turns a fallen session into the deliveries to queue with the state change."""

    def __init__(
        self,
        store: LogStore,
        state: StateStore,
        *,
        policy: CompliancePolicy | None = None,
        documents: DocumentStore | None = None,
    ) -> None:
        self.store, self.state = store, state
        self.policy = policy or CompliancePolicy()
        self.documents = documents

    def sessions(self, platform: str) -> list[StreamSession]:
        with self.store.reader() as view:
            rows: list[StreamSession] = view.rows(StreamSession.TABLE)
        return [s for s in rows if s.platform == platform]

    def check(
        self,
        platform: str,
        now: int,
        events: Callable[[Compliance], Sequence[Any]] = lambda _c: (),
    ) -> list[Fallen]:
        fallen: list[Fallen] = []
        for session in self.sessions(platform):
            with self.store.reader() as view:
                found = session_compliance(
                    view, session, now, policy=self.policy, documents=_check(self.documents)
                )
            name = f"compliance:{platform}:{session.session_id}"
            old = self.state.cursor(name)
            new = 1 if found.compliant else 0
            if old == new:
                continue
            falls = old == 1 and new == 0
            deliveries = events(found) if falls else ()
            if self.state.advance(name, old, new, deliveries) and falls:
                fallen.append(Fallen(found))
        return fallen
