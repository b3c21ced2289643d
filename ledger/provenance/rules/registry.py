"""Rules for the registry: the genesis, operator notices, actors and their keys.

Only the operator registers, updates or suspends actors; actors add and revoke their own
keys (the operator may too). A revocation can only be tightened, and the genesis key (the
log key) cannot be revoked by an entry. Handles are kept in their canonical spelling
(``ledger.provenance.handles``), whatever spelling the entry carries, so two spellings of one
account
are one handle (``handle_taken``) and a replay of an older log keys them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from ledger.keys import PublicKey
from ledger.log.entries import GENESIS, NOTICE
from ledger.provenance.events.names import ACTOR_REGISTER, ACTOR_UPDATE, KEY_ADD, KEY_REVOKE
from ledger.provenance.handles import handle_key
from ledger.provenance.records import Actor, Handle, KeyRecord, Prefix, View
from ledger.provenance.rules.common import OPERATOR_ID, Entry, check_time, signer, violation

__all__ = ["HANDLERS"]


# --- log entries: genesis and notices ---------------------------------------------------------


def _genesis(entry: Entry) -> None:
    body = entry.body
    key = PublicKey.from_text(body["key"])
    operator = body["operator"]
    entry.changes.put(
        Actor(
            OPERATOR_ID,
            "operator",
            operator["name"],
            "",
            True,
            "active",
            (),
            (),
            entry.index,
            entry.index,
        ),
        KeyRecord(key.key_id, OPERATOR_ID, key.to_text(), entry.index, entry.now),
    )


def _notice(entry: Entry) -> None:
    signer(entry, roles=("operator",))


# --- actors and keys --------------------------------------------------------------------------


def _check_prefixes(view: View, actor_id: str, prefixes: Iterable[str]) -> None:
    for prefix in prefixes:
        for other in view.prefixes_overlapping(prefix):
            if other.actor_id != actor_id:
                raise violation(
                    "prefix_taken",
                    f"GS1 company prefix {prefix} overlaps {other.prefix}"
                    f", registered to {other.actor_id}",
                )


def _handles(given: Iterable[str]) -> tuple[str, ...]:
    """The canonical handles of an entry, in order, each once."""
    return tuple(dict.fromkeys(handle_key(h) for h in given))


def _check_handles(view: View, actor_id: str, handles: Iterable[str]) -> None:
    for handle in handles:
        other = view.get(Handle, (handle,))
        if other is not None and other.actor_id != actor_id:
            raise violation("handle_taken", f"handle {handle} belongs to {other.actor_id}")


def _register(entry: Entry) -> None:
    signer(entry, roles=("operator",))
    check_time(entry)
    data, view = entry.body["actor"], entry.view
    actor_id = data["id"]
    if view.get(Actor, (actor_id,)) is not None:
        raise violation("actor_exists", f"actor {actor_id} is already registered")
    prefixes, handles = tuple(data.get("prefixes", ())), _handles(data.get("handles", ()))
    if prefixes and data["role"] != "producer":
        raise violation("wrong_role", "only producers own GS1 company prefixes")
    _check_prefixes(view, actor_id, prefixes)
    _check_handles(view, actor_id, handles)
    actor = Actor(
        actor_id,
        data["role"],
        data["name"],
        data["country"],
        data["verified"],
        "active",
        prefixes,
        handles,
        entry.index,
        entry.index,
    )
    entry.changes.put(actor)
    entry.changes.put_all(Prefix(p, actor_id) for p in prefixes)
    entry.changes.put_all(Handle(h, actor_id) for h in handles)
    for text in entry.body["keys"]:
        key = PublicKey.from_text(text)
        if view.get(KeyRecord, (key.key_id,)) is not None:
            raise violation("key_exists", f"key {key.key_id} is already registered")
        entry.changes.put(KeyRecord(key.key_id, actor_id, text, entry.index, entry.now))


def _update(entry: Entry) -> None:
    signer(entry, roles=("operator",))
    check_time(entry)
    body, view = entry.body, entry.view
    actor = view.get(Actor, (body["id"],))
    if actor is None:
        raise violation("unknown_actor", f"actor {body['id']} is not registered")
    if actor.role == "operator" and body.get("status", "active") != "active":
        raise violation("not_operator", "the operator cannot be suspended")
    prefixes = tuple(body.get("prefixes", actor.prefixes))
    handles = _handles(body["handles"]) if "handles" in body else actor.handles
    if prefixes and actor.role != "producer":
        raise violation("wrong_role", "only producers own GS1 company prefixes")
    _check_prefixes(view, actor.actor_id, prefixes)
    _check_handles(view, actor.actor_id, handles)
    updated = replace(
        actor,
        name=body.get("name", actor.name),
        country=body.get("country", actor.country),
        verified=body.get("verified", actor.verified),
        status=body.get("status", actor.status),
        prefixes=prefixes,
        handles=handles,
        updated_index=entry.index,
    )
    entry.changes.put(updated)
    for prefix in set(actor.prefixes) - set(prefixes):
        entry.changes.delete(Prefix, (prefix,))
    entry.changes.put_all(Prefix(p, actor.actor_id) for p in prefixes if p not in actor.prefixes)
    for handle in set(actor.handles) - set(handles):
        entry.changes.delete(Handle, (handle,))
    entry.changes.put_all(Handle(h, actor.actor_id) for h in handles if h not in actor.handles)


def _key_add(entry: Entry) -> None:
    signer(entry, named=entry.body["actor"])
    check_time(entry)
    subject = entry.view.get(Actor, (entry.body["actor"],))
    if subject is None:
        raise violation("unknown_actor", f"actor {entry.body['actor']} is not registered")
    key = PublicKey.from_text(entry.body["key"])
    if entry.view.get(KeyRecord, (key.key_id,)) is not None:
        raise violation("key_exists", f"key {key.key_id} is already registered")
    entry.changes.put(
        KeyRecord(key.key_id, subject.actor_id, key.to_text(), entry.index, entry.now)
    )


def _key_revoke(entry: Entry) -> None:
    body = entry.body
    signer(entry, named=body["actor"])
    check_time(entry)
    key = entry.view.get(KeyRecord, (body["key_id"],))
    if key is None or key.actor_id != body["actor"]:
        # Not "unknown_key": that code says the *signer's* key is unknown (exit 3 in the CLI).
        raise violation("not_actor_key", f"{body['actor']} has no key {body['key_id']}")
    if key.actor_id == OPERATOR_ID and key.added_index == 0:
        raise violation("operator_key", "the log key of the genesis entry cannot be revoked")
    effective = body["effective_time"]
    compromised = body.get("compromised_since", -1)
    if key.revoked:
        # A revocation can only be tightened (earlier, or compromised from earlier), so a
        # thief who "revokes" a stolen key far in the future cannot lock its owner out.
        earlier = effective < key.effective_time
        worse = compromised >= 0 and (
            key.compromised_since < 0 or compromised < key.compromised_since
        )
        if not earlier and not worse:
            raise violation(
                "already_revoked",
                f"key {key.key_id} is already revoked from "
                f"{key.effective_time}; a new revocation must be earlier or compromised "
                "from earlier",
            )
        effective = min(effective, key.effective_time)
        if key.compromised_since >= 0:
            compromised = (
                key.compromised_since
                if compromised < 0
                else min(compromised, key.compromised_since)
            )
    entry.changes.put(
        replace(
            key,
            revoked_index=entry.index,
            effective_time=effective,
            compromised_since=compromised,
            reason=body.get("reason", key.reason),
        )
    )


HANDLERS: dict[str, Callable[[Entry], None]] = {
    GENESIS: _genesis,
    NOTICE: _notice,
    ACTOR_REGISTER: _register,
    ACTOR_UPDATE: _update,
    KEY_ADD: _key_add,
    KEY_REVOKE: _key_revoke,
}
