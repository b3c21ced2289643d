"""Shared pieces of the ledger's rules: who signs, time, GS1 ownership, recalls, custody.

The rules themselves live in ``registry`` (actors and keys), ``custody`` (items) and
``listings``; ``custody.apply`` dispatches an entry to them. Each rule reads the projection
through a ``View`` and raises ``RuleViolation`` (built by ``violation``) with a
machine-readable code; docs/format.md lists every code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ledger.codes.gs1 import company_prefix_candidates
from ledger.errors import RuleViolation
from ledger.keys import PublicKey
from ledger.log.entries import GENESIS, Envelope
from ledger.provenance.events.names import CLAIM
from ledger.provenance.records import (
    DESTROYED,
    IN_TRANSIT,
    SOLD,
    Actor,
    Changes,
    Item,
    KeyRecord,
    Prefix,
    Recall,
    TimelineRow,
    View,
)

__all__ = [
    "MAX_BACKDATE_MS",
    "MAX_SKEW_MS",
    "OPERATOR_ID",
    "Admission",
    "Entry",
    "check_time",
    "claim_commitment",
    "event_signer",
    "gtin_owner",
    "held",
    "is_recalled",
    "self_signed_key",
    "signer",
    "sscc_owner",
    "status_error",
    "trees",
    "violation",
]

#: How far an event's own time may be ahead of the sequencer's clock.
MAX_SKEW_MS = 5 * 60 * 1000
#: How far, by default, an event's own time may be behind the sequencer's clock.
MAX_BACKDATE_MS = 72 * 3600 * 1000
OPERATOR_ID = "operator"
_CLAIM_CONTEXT = b"tracemark/claim/v1\x00"


def claim_commitment(item: str, secret: str) -> str:
    """The commitment a seller records at sale: SHA-256(context || item id || 0 || secret)."""
    digest = hashlib.sha256(_CLAIM_CONTEXT + item.encode() + b"\x00" + secret.encode("ascii"))
    return digest.hexdigest()


def self_signed_key(envelope: Envelope) -> PublicKey | None:
    """Entries that carry their own key (the genesis, a buyer's claim): that key."""
    if envelope.type in (GENESIS, CLAIM):
        key = PublicKey.from_text(envelope.body["key"])
        return key if key.key_id == envelope.signer else None
    return None


def gtin_owner(view: View, gtin: str) -> Prefix | None:
    """The registered company prefix (and producer) a GTIN-14 belongs to."""
    for candidate in company_prefix_candidates(gtin):
        found = view.get(Prefix, (candidate,))
        if found is not None:
            return found
    return None


def sscc_owner(view: View, sscc: str) -> Prefix | None:
    """The registered company prefix of an SSCC (after its extension digit), if any."""
    for k in range(4, 13):
        found = view.get(Prefix, (sscc[1 : 1 + k],))
        if found is not None:
            return found
    return None


def is_recalled(view: View, item: Item) -> bool:
    """Recalled by item, by its lot, or by its whole GTIN."""
    if item.recalled:
        return True
    if not item.gtin:
        return False
    if view.get(Recall, (item.gtin, "")) is not None:
        return True
    return bool(item.lot) and view.get(Recall, (item.gtin, item.lot)) is not None


def violation(code: str, message: str) -> RuleViolation:
    return RuleViolation(message, code=code)


@dataclass(frozen=True, slots=True)
class Admission:
    """Rules checked when an entry is submitted, not when the log is replayed.

    Time rules (docs/format.md, Time): an event may not be dated more than
    ``max_backdate_ms`` before the log's clock, nor before the latest event recorded for an
    item it touches (give or take ``MAX_SKEW_MS``, two devices' clocks). They are admission
    rules because the window is a setting and because entries admitted before the rules
    existed stay valid: a replay (audit, rebuild) of a log must give the same projection
    whatever this server's settings are."""

    max_backdate_ms: int = MAX_BACKDATE_MS


@dataclass(slots=True)
class Entry:
    """One entry being applied: its envelope, body, position and the signer's identity."""

    envelope: Envelope
    body: Any
    index: int
    now: int
    view: View
    changes: Changes
    key: KeyRecord | None = None
    actor: Actor | None = None
    admission: Admission | None = None  # None on replay: admission rules are not re-checked

    @property
    def actor_id(self) -> str:
        return self.actor.actor_id if self.actor is not None else ""

    @property
    def event_time(self) -> int:
        """The event's own time (0 for entries that are not events)."""
        time = self.body.get("event_time", 0) if isinstance(self.body, dict) else 0
        return time if isinstance(time, int) else 0

    def touch(self, items: Iterable[Item]) -> None:
        """Record the changed items and their timeline rows; at admission, refuse an event
        dated before the latest event of an item it touches (by more than the clocks of two
        devices may differ, ``MAX_SKEW_MS``: the same tolerance as for future times)."""
        time = self.event_time
        for item in items:
            if self.admission is not None and time and time < item.event_time - MAX_SKEW_MS:
                raise violation(
                    "event_backdated",
                    f"the event is dated {_iso(time)}, before the latest event recorded for "
                    f"{item.item_id} ({_iso(item.event_time)}): check the device's clock "
                    "or the time given",
                )
            later = max(item.event_time, time)
            self.changes.put(replace(item, last_index=self.index, event_time=later))
            self.changes.put(TimelineRow(item.item_id, self.index))


# --- who signs ---------------------------------------------------------------------------------


def signer(entry: Entry, *, roles: Sequence[str] = (), named: str | None = None) -> Actor:
    """Resolve the signing key to an active actor allowed to sign now."""
    key = entry.view.get(KeyRecord, (entry.envelope.signer,))
    if key is None:
        raise violation("unknown_key", f"key {entry.envelope.signer} is not registered in the log")
    if not key.valid_at(entry.now):
        raise violation("key_revoked", f"key {key.key_id} of {key.actor_id} is revoked")
    actor = entry.view.get(Actor, (key.actor_id,))
    if actor is None:
        raise violation("unknown_actor", f"actor {key.actor_id} is not registered")
    if actor.status != "active":
        raise violation("actor_suspended", f"actor {actor.actor_id} is suspended")
    if roles and actor.role not in roles:
        if roles == ("operator",):
            raise violation("not_operator", f"only the operator may record {entry.envelope.type}")
        raise violation(
            "wrong_role",
            f"{entry.envelope.type} is for a {' or '.join(roles)}, "
            f"not a {actor.role} ({actor.actor_id})",
        )
    if named is not None and named != actor.actor_id and actor.role != "operator":
        raise violation(
            "signer_mismatch",
            f"the entry speaks for {named} but is signed by a key of {actor.actor_id}",
        )
    entry.key, entry.actor = key, actor
    return actor


def event_signer(entry: Entry, roles: Sequence[str] = ()) -> Actor:
    """Events are recorded by the actor they name, in their own name (no proxies)."""
    actor = signer(entry, roles=roles)
    if entry.body["actor"] != actor.actor_id:
        raise violation(
            "signer_mismatch",
            f"the event names actor {entry.body['actor']} but is "
            f"signed by a key of {actor.actor_id}",
        )
    check_time(entry)
    return actor


def _iso(ms: int) -> str:
    """A time in milliseconds as ISO 8601 UTC (seconds), for messages."""
    try:
        return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"


def check_time(entry: Entry) -> None:
    event_time = entry.body.get("event_time", 0)
    if event_time > entry.now + MAX_SKEW_MS:
        raise violation(
            "event_in_future",
            f"event time {event_time} is more than "
            f"{MAX_SKEW_MS // 1000} s after the log's clock {entry.now}",
        )
    admission = entry.admission
    if admission is not None and event_time < entry.now - admission.max_backdate_ms:
        hours = admission.max_backdate_ms / 3_600_000
        raise violation(
            "event_backdated",
            f"the event is dated {_iso(event_time)}, more than {hours:g} h before the log's "
            f"clock ({_iso(entry.now)}): events are recorded when they happen",
        )


def status_error(item: Item) -> RuleViolation | None:
    if item.status == IN_TRANSIT:
        return violation("item_in_transit", f"{item.item_id} is in transit to {item.pending_to}")
    if item.status == SOLD:
        return violation("item_sold", f"{item.item_id} was sold to a consumer")
    if item.status == DESTROYED:
        return violation("item_destroyed", f"{item.item_id} was destroyed or decommissioned")
    return None


def held(entry: Entry, ids: Sequence[str], *, top_level: bool = True) -> list[Item]:
    """The items, each held by the signer, active, and (by default) not inside a container."""
    items: list[Item] = []
    for ident in ids:
        item = entry.view.get(Item, (ident,))
        if item is None:
            raise violation("unknown_item", f"{ident} was never commissioned")
        if item.custodian != entry.actor_id:
            raise violation(
                "not_custodian", f"{ident} is held by {item.custodian}, not {entry.actor_id}"
            )
        error = status_error(item)
        if error is not None:
            raise error
        if top_level and item.parent:
            raise violation(
                "item_in_container", f"{ident} is packed in {item.parent}: unpack it first"
            )
        items.append(item)
    return items


def trees(entry: Entry, tops: Iterable[Item]) -> list[Item]:
    """Every item under these top-level items, themselves included."""
    out: list[Item] = []
    for top in tops:
        out.extend(entry.view.subtree(top.item_id) if top.packed else [top])
    return out
