"""The ledger's rules: who may record what, and what each accepted entry changes.

``apply(envelope, index, now, view)`` checks one signed entry against the projection as of
the append (``view``) and returns the ``Changes`` it makes, or raises ``RuleViolation``
with a machine-readable code. It never writes: the store applies the changes, and a
rejected entry changes nothing. Signatures are checked by the service before this runs;
here the question is whether the signing key may speak for the actor named, at ``now``
(the sequencer's integrated time, which is inside the leaf, so replaying the log later
gives the same decisions).

Rule codes (docs/format.md lists them with their meaning):
    unknown_key, key_revoked, actor_suspended, signer_mismatch, not_operator, wrong_role,
    event_in_future, unknown_actor, actor_exists, key_exists, already_revoked,
    prefix_taken, handle_taken, not_gtin_producer, serial_commissioned, unknown_item,
    not_custodian, item_in_transit, item_sold, item_destroyed, item_in_container,
    not_in_container, item_recalled, not_sellable, self_shipment, shipment_exists,
    unknown_shipment, not_receiver, shipment_closed, not_sold, no_claim_commitment,
    already_claimed, claim_mismatch, already_recalled, unknown_producer,
    seller_not_verified, handle_not_registered, insufficient_stock, listing_exists,
    unknown_listing, not_listing_owner, listing_closed, operator_key
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ledger.entries import GENESIS, NOTICE, Envelope
from ledger.errors import RuleViolation
from ledger.events import (
    ACTOR_REGISTER,
    ACTOR_UPDATE,
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    KEY_ADD,
    KEY_REVOKE,
    LISTING_CLOSE,
    LISTING_DECLARE,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
    SerialSet,
    item_id,
    parse_item_id,
)
from ledger.gs1 import company_prefix_candidates
from ledger.keys import PublicKey
from ledger.records import (
    ACTIVE,
    CLOSED,
    DESTROYED,
    IN_TRANSIT,
    OPEN,
    SOLD,
    Actor,
    Changes,
    Handle,
    Item,
    KeyRecord,
    Listing,
    Prefix,
    Product,
    Recall,
    Shipment,
    TimelineRow,
    View,
)

__all__ = [
    "MAX_SKEW_MS",
    "OPERATOR_ID",
    "apply",
    "claim_commitment",
    "gtin_owner",
    "is_recalled",
    "self_signed_key",
]

#: How far an event's own time may be ahead of the sequencer's clock.
MAX_SKEW_MS = 5 * 60 * 1000
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


def _sscc_owner(view: View, sscc: str) -> Prefix | None:
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


def _fail(code: str, message: str) -> RuleViolation:
    return RuleViolation(message, code=code)


@dataclass(slots=True)
class _Entry:
    """One entry being applied: its envelope, body, position and the signer's identity."""

    envelope: Envelope
    body: Any
    index: int
    now: int
    view: View
    changes: Changes
    key: KeyRecord | None = None
    actor: Actor | None = None

    @property
    def actor_id(self) -> str:
        return self.actor.actor_id if self.actor is not None else ""

    def touch(self, items: Iterable[Item]) -> None:
        """Record the changed items and their timeline rows."""
        for item in items:
            self.changes.put(replace(item, last_index=self.index))
            self.changes.put(TimelineRow(item.item_id, self.index))


def apply(envelope: Envelope, index: int, now: int, view: View) -> Changes:
    """Check ``envelope`` as entry ``index`` integrated at ``now``; return its changes."""
    entry = _Entry(envelope, envelope.body, index, now, view, Changes())
    handler = _HANDLERS.get(envelope.type)
    if handler is None:  # a registered type without rules: only the operator may write it
        _signer(entry, roles=("operator",))
        return entry.changes
    handler(entry)
    return entry.changes


# --- who signs ---------------------------------------------------------------------------------


def _signer(entry: _Entry, *, roles: Sequence[str] = (), named: str | None = None) -> Actor:
    """Resolve the signing key to an active actor allowed to sign now."""
    key = entry.view.get(KeyRecord, (entry.envelope.signer,))
    if key is None:
        raise _fail("unknown_key", f"key {entry.envelope.signer} is not registered in the log")
    if not key.valid_at(entry.now):
        raise _fail("key_revoked", f"key {key.key_id} of {key.actor_id} is revoked")
    actor = entry.view.get(Actor, (key.actor_id,))
    if actor is None:
        raise _fail("unknown_actor", f"actor {key.actor_id} is not registered")
    if actor.status != "active":
        raise _fail("actor_suspended", f"actor {actor.actor_id} is suspended")
    if roles and actor.role not in roles:
        if roles == ("operator",):
            raise _fail("not_operator", f"only the operator may record {entry.envelope.type}")
        raise _fail(
            "wrong_role",
            f"{entry.envelope.type} is for a {' or '.join(roles)}, "
            f"not a {actor.role} ({actor.actor_id})",
        )
    if named is not None and named != actor.actor_id and actor.role != "operator":
        raise _fail(
            "signer_mismatch",
            f"the entry speaks for {named} but is signed by a key of {actor.actor_id}",
        )
    entry.key, entry.actor = key, actor
    return actor


def _event_signer(entry: _Entry, roles: Sequence[str] = ()) -> Actor:
    """Events are recorded by the actor they name, in their own name (no proxies)."""
    actor = _signer(entry, roles=roles)
    if entry.body["actor"] != actor.actor_id:
        raise _fail(
            "signer_mismatch",
            f"the event names actor {entry.body['actor']} but is "
            f"signed by a key of {actor.actor_id}",
        )
    _check_time(entry)
    return actor


def _check_time(entry: _Entry) -> None:
    event_time = entry.body.get("event_time", 0)
    if event_time > entry.now + MAX_SKEW_MS:
        raise _fail(
            "event_in_future",
            f"event time {event_time} is more than "
            f"{MAX_SKEW_MS // 1000} s after the log's clock {entry.now}",
        )


# --- log entries: genesis and notices ---------------------------------------------------------


def _genesis(entry: _Entry) -> None:
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


def _notice(entry: _Entry) -> None:
    _signer(entry, roles=("operator",))


# --- actors and keys --------------------------------------------------------------------------


def _check_prefixes(view: View, actor_id: str, prefixes: Iterable[str]) -> None:
    for prefix in prefixes:
        for other in view.prefixes_overlapping(prefix):
            if other.actor_id != actor_id:
                raise _fail(
                    "prefix_taken",
                    f"GS1 company prefix {prefix} overlaps {other.prefix}"
                    f", registered to {other.actor_id}",
                )


def _check_handles(view: View, actor_id: str, handles: Iterable[str]) -> None:
    for handle in handles:
        other = view.get(Handle, (handle,))
        if other is not None and other.actor_id != actor_id:
            raise _fail("handle_taken", f"handle {handle} belongs to {other.actor_id}")


def _register(entry: _Entry) -> None:
    _signer(entry, roles=("operator",))
    _check_time(entry)
    data, view = entry.body["actor"], entry.view
    actor_id = data["id"]
    if view.get(Actor, (actor_id,)) is not None:
        raise _fail("actor_exists", f"actor {actor_id} is already registered")
    prefixes, handles = tuple(data.get("prefixes", ())), tuple(data.get("handles", ()))
    if prefixes and data["role"] != "producer":
        raise _fail("wrong_role", "only producers own GS1 company prefixes")
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
            raise _fail("key_exists", f"key {key.key_id} is already registered")
        entry.changes.put(KeyRecord(key.key_id, actor_id, text, entry.index, entry.now))


def _update(entry: _Entry) -> None:
    _signer(entry, roles=("operator",))
    _check_time(entry)
    body, view = entry.body, entry.view
    actor = view.get(Actor, (body["id"],))
    if actor is None:
        raise _fail("unknown_actor", f"actor {body['id']} is not registered")
    if actor.role == "operator" and body.get("status", "active") != "active":
        raise _fail("not_operator", "the operator cannot be suspended")
    prefixes = tuple(body.get("prefixes", actor.prefixes))
    handles = tuple(body.get("handles", actor.handles))
    if prefixes and actor.role != "producer":
        raise _fail("wrong_role", "only producers own GS1 company prefixes")
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


def _key_add(entry: _Entry) -> None:
    _signer(entry, named=entry.body["actor"])
    _check_time(entry)
    subject = entry.view.get(Actor, (entry.body["actor"],))
    if subject is None:
        raise _fail("unknown_actor", f"actor {entry.body['actor']} is not registered")
    key = PublicKey.from_text(entry.body["key"])
    if entry.view.get(KeyRecord, (key.key_id,)) is not None:
        raise _fail("key_exists", f"key {key.key_id} is already registered")
    entry.changes.put(
        KeyRecord(key.key_id, subject.actor_id, key.to_text(), entry.index, entry.now)
    )


def _key_revoke(entry: _Entry) -> None:
    body = entry.body
    _signer(entry, named=body["actor"])
    _check_time(entry)
    key = entry.view.get(KeyRecord, (body["key_id"],))
    if key is None or key.actor_id != body["actor"]:
        raise _fail("unknown_key", f"{body['actor']} has no key {body['key_id']}")
    if key.actor_id == OPERATOR_ID and key.added_index == 0:
        raise _fail("operator_key", "the log key of the genesis entry cannot be revoked")
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
            raise _fail(
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


# --- items ----------------------------------------------------------------------------------------


def _status_error(item: Item) -> RuleViolation | None:
    if item.status == IN_TRANSIT:
        return _fail("item_in_transit", f"{item.item_id} is in transit to {item.pending_to}")
    if item.status == SOLD:
        return _fail("item_sold", f"{item.item_id} was sold to a consumer")
    if item.status == DESTROYED:
        return _fail("item_destroyed", f"{item.item_id} was destroyed or decommissioned")
    return None


def _held(entry: _Entry, ids: Sequence[str], *, top_level: bool = True) -> list[Item]:
    """The items, each held by the signer, active, and (by default) not inside a container."""
    items: list[Item] = []
    for ident in ids:
        item = entry.view.get(Item, (ident,))
        if item is None:
            raise _fail("unknown_item", f"{ident} was never commissioned")
        if item.custodian != entry.actor_id:
            raise _fail(
                "not_custodian", f"{ident} is held by {item.custodian}, not {entry.actor_id}"
            )
        error = _status_error(item)
        if error is not None:
            raise error
        if top_level and item.parent:
            raise _fail("item_in_container", f"{ident} is packed in {item.parent}: unpack it first")
        items.append(item)
    return items


def _trees(entry: _Entry, tops: Iterable[Item]) -> list[Item]:
    """Every item under these top-level items, themselves included."""
    out: list[Item] = []
    for top in tops:
        out.extend(entry.view.subtree(top.item_id) if top.packed else [top])
    return out


def _new_item(ident: str, gtin: str, serial: str, source: Any, *, owner: str, index: int) -> Item:
    """A newly commissioned item (or a new logistic unit), active with its custodian."""
    return Item(
        item_id=ident,
        gtin=gtin,
        serial=serial,
        lot=source.get("lot", ""),
        expiry=source.get("expiry", ""),
        producer=owner if gtin else "",
        status=ACTIVE,
        custodian=owner,
        parent="",
        root=ident,
        pending_to="",
        shipment="",
        recalled=False,
        claim_commitment="",
        claimed_by="",
        commissioned_index=index,
        last_index=index,
    )


def _new_items(entry: _Entry, gtin: str, serials: Iterable[str], source: Any) -> None:
    """Commission new items of ``gtin`` for the signer (commission, repack outputs)."""
    pairs = [(item_id(gtin, serial), serial) for serial in serials]
    taken = entry.view.existing_items([ident for ident, _ in pairs])
    if taken:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise _fail("serial_commissioned", f"{taken[0]} was already commissioned{more}")
    actor, index = entry.actor_id, entry.index
    put = entry.changes.puts.append
    for ident, serial in pairs:
        put(_new_item(ident, gtin, serial, source, owner=actor, index=index))
        put(TimelineRow(ident, index))
    if "product" in source:
        product = source["product"]
        entry.changes.put(
            Product(
                gtin,
                actor,
                product["name"],
                product.get("image_url", ""),
                product.get("description", ""),
                index,
            )
        )


def _owned_gtin(entry: _Entry, gtin: str) -> None:
    owner = gtin_owner(entry.view, gtin)
    if owner is None or owner.actor_id != entry.actor_id:
        whose = f"belongs to {owner.actor_id}" if owner else "has no registered producer"
        raise _fail(
            "not_gtin_producer",
            f"GTIN {gtin} {whose}; {entry.actor_id} may not commission or recall it",
        )


def _commission(entry: _Entry) -> None:
    _event_signer(entry, roles=("producer",))
    body = entry.body
    _owned_gtin(entry, body["gtin"])
    _new_items(entry, body["gtin"], SerialSet.from_obj(body["serials"]), body)


def _pack(entry: _Entry) -> None:
    _event_signer(entry)
    body, view = entry.body, entry.view
    parent_id = body["parent"]
    parent = view.get(Item, (parent_id,))
    if parent is None:
        ref = parse_item_id(parent_id)
        if not ref.is_sscc:
            raise _fail("unknown_item", f"{parent_id} was never commissioned")
        owner = _sscc_owner(view, ref.serial)
        if owner is not None and owner.actor_id != entry.actor_id:
            raise _fail(
                "not_prefix_owner",
                f"SSCC {ref.serial} is in the GS1 company prefix "
                f"{owner.prefix} of {owner.actor_id}",
            )
        parent = _new_item(parent_id, "", ref.serial, {}, owner=entry.actor_id, index=entry.index)
    else:
        parent = _held(entry, [parent_id])[0]
    children = _held(entry, body["children"])
    parent = replace(parent, packed=parent.packed + len(children))
    moved = [
        replace(
            item,
            parent=parent_id if item.item_id in body["children"] else item.parent,
            root=parent_id,
        )
        for item in _trees(entry, children)
    ]
    entry.touch([parent, *moved])


def _unpack(entry: _Entry) -> None:
    _event_signer(entry)
    body = entry.body
    parent = _held(entry, [body["parent"]])[0]
    tree = entry.view.subtree(parent.item_id)
    direct = [item.item_id for item in tree if item.parent == parent.item_id]
    wanted = body.get("children", direct)
    for ident in wanted:
        if ident not in direct:
            raise _fail("not_in_container", f"{ident} is not packed in {parent.item_id}")
    kids: dict[str, list[str]] = {}
    for item in tree:
        kids.setdefault(item.parent, []).append(item.item_id)
    by_id = {item.item_id: item for item in tree}
    changed: list[Item] = [replace(parent, packed=parent.packed - len(wanted))]
    for child in wanted:
        stack = [child]
        while stack:
            ident = stack.pop()
            stack.extend(kids.get(ident, ()))
            item = by_id[ident]
            changed.append(replace(item, root=child, parent="" if ident == child else item.parent))
    entry.touch(changed)


def _ship(entry: _Entry) -> None:
    _event_signer(entry)
    body, view = entry.body, entry.view
    receiver = view.get(Actor, (body["to"],))
    if receiver is None:
        raise _fail("unknown_actor", f"receiver {body['to']} is not registered")
    if receiver.status != "active":
        raise _fail("actor_suspended", f"receiver {receiver.actor_id} is suspended")
    if receiver.actor_id == entry.actor_id:
        raise _fail("self_shipment", "a shipment must go to another actor")
    if view.get(Shipment, (entry.actor_id, body["shipment"])) is not None:
        raise _fail(
            "shipment_exists", f"shipment {body['shipment']} of {entry.actor_id} already exists"
        )
    tops = _held(entry, body["items"])
    ref = f"{entry.actor_id}/{body['shipment']}"
    entry.touch(
        replace(item, status=IN_TRANSIT, pending_to=receiver.actor_id, shipment=ref)
        for item in _trees(entry, tops)
    )
    entry.changes.put(
        Shipment(
            entry.actor_id,
            body["shipment"],
            receiver.actor_id,
            tuple(body["items"]),
            IN_TRANSIT,
            entry.index,
            -1,
        )
    )


def _shipment_items(entry: _Entry, shipment: Shipment) -> list[Item]:
    tops = [entry.view.get(Item, (ident,)) for ident in shipment.items]
    return _trees(entry, [t for t in tops if t is not None])


def _receive(entry: _Entry) -> None:
    _event_signer(entry)
    body = entry.body
    shipment = entry.view.get(Shipment, (body["from"], body["shipment"]))
    if shipment is None:
        raise _fail("unknown_shipment", f"{body['from']} has no shipment {body['shipment']}")
    if shipment.receiver != entry.actor_id:
        raise _fail(
            "not_receiver",
            f"shipment {body['shipment']} is addressed to "
            f"{shipment.receiver}, not {entry.actor_id}",
        )
    if shipment.status != IN_TRANSIT:
        raise _fail("shipment_closed", f"shipment {body['shipment']} was {shipment.status}")
    entry.touch(
        replace(item, status=ACTIVE, custodian=entry.actor_id, pending_to="", shipment="")
        for item in _shipment_items(entry, shipment)
    )
    entry.changes.put(replace(shipment, status="received", closed_index=entry.index))


def _cancel(entry: _Entry) -> None:
    _event_signer(entry)
    shipment = entry.view.get(Shipment, (entry.actor_id, entry.body["shipment"]))
    if shipment is None:
        raise _fail(
            "unknown_shipment", f"{entry.actor_id} has no shipment {entry.body['shipment']}"
        )
    if shipment.status != IN_TRANSIT:
        raise _fail("shipment_closed", f"shipment {shipment.shipment_id} was {shipment.status}")
    entry.touch(
        replace(item, status=ACTIVE, pending_to="", shipment="")
        for item in _shipment_items(entry, shipment)
    )
    entry.changes.put(replace(shipment, status="cancelled", closed_index=entry.index))


def _refuse_recalled(entry: _Entry, items: Iterable[Item], what: str) -> None:
    """Recalled goods may not be sold or repackaged, also not inside a container."""
    for item in items:
        if is_recalled(entry.view, item):
            raise _fail("item_recalled", f"{item.item_id} is recalled and may not be {what}")


def _sell(entry: _Entry) -> None:
    _event_signer(entry)
    body = entry.body
    tops = _held(entry, body["items"])
    for item in tops:
        if not item.gtin:
            raise _fail("not_sellable", f"{item.item_id} is a logistic unit, not a trade item")
    sold = _trees(entry, tops)
    _refuse_recalled(entry, sold, "sold")
    claims = body.get("claims", {})
    entry.touch(
        replace(item, status=SOLD, claim_commitment=claims.get(item.item_id, "")) for item in sold
    )


def _claim(entry: _Entry) -> None:
    _check_time(entry)
    body = entry.body
    item = entry.view.get(Item, (body["item"],))
    if item is None:
        raise _fail("unknown_item", f"{body['item']} was never commissioned")
    if item.status != SOLD:
        raise _fail("not_sold", f"{item.item_id} has not been sold to a consumer")
    if not item.claim_commitment:
        raise _fail("no_claim_commitment", f"{item.item_id} was sold without a claim code")
    if item.claimed_by:
        raise _fail("already_claimed", f"{item.item_id} was already claimed")
    expected = claim_commitment(item.item_id, body["secret"])
    if not hmac.compare_digest(expected, item.claim_commitment):
        raise _fail("claim_mismatch", "the claim secret does not match the sale's commitment")
    entry.touch([replace(item, claimed_by=entry.envelope.signer)])


def _recall(entry: _Entry) -> None:
    _event_signer(entry, roles=("producer",))
    body, view = entry.body, entry.view
    gtin = body["gtin"]
    _owned_gtin(entry, gtin)
    if body["scope"] == "items":
        items: list[Item] = []
        for serial in body["serials"]:
            item = view.get(Item, (item_id(gtin, serial),))
            if item is None:
                raise _fail("unknown_item", f"{item_id(gtin, serial)} was never commissioned")
            items.append(replace(item, recalled=True))
        entry.touch(items)
        return
    lot = body.get("lot", "")
    if view.get(Recall, (gtin, lot)) is not None:
        what = f"lot {lot} of GTIN {gtin}" if lot else f"GTIN {gtin}"
        raise _fail("already_recalled", f"{what} is already recalled")
    entry.changes.put(Recall(gtin, lot, entry.actor_id, body["reason"], entry.index))


def _decommission(entry: _Entry) -> None:
    _event_signer(entry)
    tops = _held(entry, entry.body["items"])
    entry.touch(replace(item, status=DESTROYED) for item in _trees(entry, tops))


def _repack(entry: _Entry) -> None:
    _event_signer(entry)
    body = entry.body
    outputs = body["outputs"]
    _owned_gtin(entry, outputs["gtin"])
    consumed = _trees(entry, _held(entry, body["inputs"]))
    _refuse_recalled(entry, consumed, "repackaged")
    entry.touch(replace(item, status=DESTROYED) for item in consumed)
    _new_items(entry, outputs["gtin"], SerialSet.from_obj(outputs["serials"]), outputs)


# --- listings -----------------------------------------------------------------------------------


def _declare(entry: _Entry) -> None:
    seller = _event_signer(entry, roles=("seller", "retailer"))
    body, view = entry.body, entry.view
    platform, gtin = body["platform"], body["gtin"]
    if not seller.verified:
        raise _fail("seller_not_verified", f"{seller.actor_id} has not passed identity checks")
    if not any(h.startswith(platform + ":") for h in seller.handles):
        raise _fail(
            "handle_not_registered", f"{seller.actor_id} has no registered {platform} account"
        )
    existing = view.get(Listing, (platform, body["listing_id"]))
    if existing is not None and (existing.status == OPEN or existing.seller != seller.actor_id):
        raise _fail(
            "listing_exists",
            f"listing {platform}:{body['listing_id']} is open (declared by {existing.seller})",
        )
    owner = gtin_owner(view, gtin)
    if owner is None:
        raise _fail("unknown_producer", f"GTIN {gtin} has no registered producer")
    if view.get(Recall, (gtin, "")) is not None:
        raise _fail("item_recalled", f"GTIN {gtin} is recalled")
    quantity = body.get("quantity", len(body.get("serials", ())))
    if "serials" in body:
        for item in _held(entry, body["serials"], top_level=False):
            if is_recalled(view, item):
                raise _fail("item_recalled", f"{item.item_id} is recalled")
    else:
        held = view.stock(seller.actor_id, gtin)
        if held < quantity:
            raise _fail(
                "insufficient_stock",
                f"{seller.actor_id} holds {held} sellable items "
                f"of GTIN {gtin}; the listing offers {quantity}",
            )
    entry.changes.put(
        Listing(
            platform,
            body["listing_id"],
            seller.actor_id,
            body.get("stream_id", ""),
            gtin,
            quantity,
            tuple(body.get("serials", ())),
            OPEN,
            entry.index,
            -1,
        )
    )


def _close(entry: _Entry) -> None:
    actor = _event_signer(entry)
    body = entry.body
    listing = entry.view.get(Listing, (body["platform"], body["listing_id"]))
    if listing is None:
        raise _fail("unknown_listing", f"no listing {body['platform']}:{body['listing_id']}")
    if listing.seller != actor.actor_id and actor.role != "operator":
        raise _fail(
            "not_listing_owner", f"listing {listing.listing_id} belongs to {listing.seller}"
        )
    if listing.status != OPEN:
        raise _fail("listing_closed", f"listing {listing.listing_id} is already closed")
    entry.changes.put(replace(listing, status=CLOSED, closed_index=entry.index))


_HANDLERS: dict[str, Callable[[_Entry], None]] = {
    GENESIS: _genesis,
    NOTICE: _notice,
    ACTOR_REGISTER: _register,
    ACTOR_UPDATE: _update,
    KEY_ADD: _key_add,
    KEY_REVOKE: _key_revoke,
    COMMISSION: _commission,
    PACK: _pack,
    UNPACK: _unpack,
    SHIP: _ship,
    RECEIVE: _receive,
    CANCEL: _cancel,
    SELL: _sell,
    CLAIM: _claim,
    RECALL: _recall,
    DECOMMISSION: _decommission,
    REPACK: _repack,
    LISTING_DECLARE: _declare,
    LISTING_CLOSE: _close,
}
