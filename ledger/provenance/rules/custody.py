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
    unknown_listing, not_listing_owner, listing_closed, operator_key,
    session_exists, stream_taken (ledger/provenance/rules/streams.py),
    attestation_exists, unknown_subject, wrong_subject, self_attestation,
    too_many_attestations, unknown_attestation (ledger/provenance/rules/attestations.py)
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from ledger.codes.identifiers import SerialSet, item_id, parse_item_id
from ledger.log.entries import Envelope
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)
from ledger.provenance.records import (
    ACTIVE,
    DESTROYED,
    IN_TRANSIT,
    SOLD,
    Actor,
    Changes,
    Item,
    Product,
    Recall,
    Shipment,
    TimelineRow,
    View,
)
from ledger.provenance.rules import attestations, listings, registry, streams
from ledger.provenance.rules.common import (
    MAX_SKEW_MS,
    OPERATOR_ID,
    Admission,
    Entry,
    check_time,
    claim_commitment,
    event_signer,
    gtin_owner,
    held,
    is_recalled,
    self_signed_key,
    signer,
    sscc_owner,
    trees,
    violation,
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


def apply(
    envelope: Envelope, index: int, now: int, view: View, admission: Admission | None = None
) -> Changes:
    """Check ``envelope`` as entry ``index`` integrated at ``now``; return its changes.
    ``admission``: the rules checked only when an entry is submitted (None on replay)."""
    entry = Entry(envelope, envelope.body, index, now, view, Changes(), admission=admission)
    handler = _HANDLERS.get(envelope.type)
    if handler is None:  # a registered type without rules: only the operator may write it
        signer(entry, roles=("operator",))
        return entry.changes
    handler(entry)
    return entry.changes


# --- items --------------------------------------------------------------------------------------


def _new_item(
    ident: str,
    gtin: str,
    serial: str,
    source: Any,
    *,
    owner: str,
    index: int,
    time: int,
    event_time: int = 0,
) -> Item:
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
        commissioned_time=time,
        event_time=event_time,
    )


def _new_items(entry: Entry, gtin: str, serials: Iterable[str], source: Any) -> None:
    """Commission new items of ``gtin`` for the signer (commission, repack outputs)."""
    pairs = [(item_id(gtin, serial), serial) for serial in serials]
    taken = entry.view.existing_items([ident for ident, _ in pairs])
    if taken:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise violation("serial_commissioned", f"{taken[0]} was already commissioned{more}")
    actor, index = entry.actor_id, entry.index
    put = entry.changes.puts.append
    for ident, serial in pairs:
        put(
            _new_item(
                ident,
                gtin,
                serial,
                source,
                owner=actor,
                index=index,
                time=entry.now,
                event_time=entry.event_time,
            )
        )
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


def _owned_gtin(entry: Entry, gtin: str) -> None:
    owner = gtin_owner(entry.view, gtin)
    if owner is None or owner.actor_id != entry.actor_id:
        whose = f"belongs to {owner.actor_id}" if owner else "has no registered producer"
        raise violation(
            "not_gtin_producer",
            f"GTIN {gtin} {whose}; {entry.actor_id} may not commission or recall it",
        )


def _commission(entry: Entry) -> None:
    event_signer(entry, roles=("producer",))
    body = entry.body
    _owned_gtin(entry, body["gtin"])
    _new_items(entry, body["gtin"], SerialSet.from_obj(body["serials"]), body)


def _pack(entry: Entry) -> None:
    event_signer(entry)
    body, view = entry.body, entry.view
    parent_id = body["parent"]
    parent = view.get(Item, (parent_id,))
    if parent is None:
        ref = parse_item_id(parent_id)
        if not ref.is_sscc:
            raise violation("unknown_item", f"{parent_id} was never commissioned")
        owner = sscc_owner(view, ref.serial)
        if owner is not None and owner.actor_id != entry.actor_id:
            raise violation(
                "not_prefix_owner",
                f"SSCC {ref.serial} is in the GS1 company prefix "
                f"{owner.prefix} of {owner.actor_id}",
            )
        parent = _new_item(
            parent_id, "", ref.serial, {}, owner=entry.actor_id, index=entry.index, time=entry.now
        )
    else:
        parent = held(entry, [parent_id])[0]
    children = held(entry, body["children"])
    parent = replace(parent, packed=parent.packed + len(children))
    moved = [
        replace(
            item,
            parent=parent_id if item.item_id in body["children"] else item.parent,
            root=parent_id,
        )
        for item in trees(entry, children)
    ]
    entry.touch([parent, *moved])


def _unpack(entry: Entry) -> None:
    event_signer(entry)
    body = entry.body
    parent = held(entry, [body["parent"]])[0]
    tree = entry.view.subtree(parent.item_id)
    direct = [item.item_id for item in tree if item.parent == parent.item_id]
    wanted = body.get("children", direct)
    if not wanted and entry.admission is not None:  # admission only: older logs replay
        raise violation("nothing_to_unpack", f"{parent.item_id} holds nothing to unpack")
    for ident in wanted:
        if ident not in direct:
            raise violation("not_in_container", f"{ident} is not packed in {parent.item_id}")
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


def _ship(entry: Entry) -> None:
    event_signer(entry)
    body, view = entry.body, entry.view
    receiver = view.get(Actor, (body["to"],))
    if receiver is None:
        raise violation("unknown_actor", f"receiver {body['to']} is not registered")
    if receiver.status != "active":
        raise violation("actor_suspended", f"receiver {receiver.actor_id} is suspended")
    if receiver.actor_id == entry.actor_id:
        raise violation("self_shipment", "a shipment must go to another actor")
    if view.get(Shipment, (entry.actor_id, body["shipment"])) is not None:
        raise violation(
            "shipment_exists", f"shipment {body['shipment']} of {entry.actor_id} already exists"
        )
    tops = held(entry, body["items"])
    ref = f"{entry.actor_id}/{body['shipment']}"
    entry.touch(
        replace(item, status=IN_TRANSIT, pending_to=receiver.actor_id, shipment=ref)
        for item in trees(entry, tops)
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


def _shipment_items(entry: Entry, shipment: Shipment) -> list[Item]:
    tops = [entry.view.get(Item, (ident,)) for ident in shipment.items]
    return trees(entry, [t for t in tops if t is not None])


def _receive(entry: Entry) -> None:
    event_signer(entry)
    body = entry.body
    shipment = entry.view.get(Shipment, (body["from"], body["shipment"]))
    if shipment is None:
        raise violation("unknown_shipment", f"{body['from']} has no shipment {body['shipment']}")
    if shipment.receiver != entry.actor_id:
        raise violation(
            "not_receiver",
            f"shipment {body['shipment']} is addressed to "
            f"{shipment.receiver}, not {entry.actor_id}",
        )
    if shipment.status != IN_TRANSIT:
        raise violation("shipment_closed", f"shipment {body['shipment']} was {shipment.status}")
    entry.touch(
        replace(item, status=ACTIVE, custodian=entry.actor_id, pending_to="", shipment="")
        for item in _shipment_items(entry, shipment)
    )
    entry.changes.put(replace(shipment, status="received", closed_index=entry.index))


def _cancel(entry: Entry) -> None:
    event_signer(entry)
    shipment = entry.view.get(Shipment, (entry.actor_id, entry.body["shipment"]))
    if shipment is None:
        raise violation(
            "unknown_shipment", f"{entry.actor_id} has no shipment {entry.body['shipment']}"
        )
    if shipment.status != IN_TRANSIT:
        raise violation("shipment_closed", f"shipment {shipment.shipment_id} was {shipment.status}")
    entry.touch(
        replace(item, status=ACTIVE, pending_to="", shipment="")
        for item in _shipment_items(entry, shipment)
    )
    entry.changes.put(replace(shipment, status="cancelled", closed_index=entry.index))


def _refuse_recalled(entry: Entry, items: Iterable[Item], what: str) -> None:
    """Recalled goods may not be sold or repackaged, also not inside a container."""
    for item in items:
        if is_recalled(entry.view, item):
            raise violation("item_recalled", f"{item.item_id} is recalled and may not be {what}")


def _sell(entry: Entry) -> None:
    event_signer(entry)
    body = entry.body
    tops = held(entry, body["items"])
    for item in tops:
        if not item.gtin:
            raise violation("not_sellable", f"{item.item_id} is a logistic unit, not a trade item")
    sold = trees(entry, tops)
    _refuse_recalled(entry, sold, "sold")
    claims = body.get("claims", {})
    entry.touch(
        replace(item, status=SOLD, claim_commitment=claims.get(item.item_id, "")) for item in sold
    )


def _claim(entry: Entry) -> None:
    check_time(entry)
    body = entry.body
    item = entry.view.get(Item, (body["item"],))
    if item is None:
        raise violation("unknown_item", f"{body['item']} was never commissioned")
    if item.status != SOLD:
        raise violation("not_sold", f"{item.item_id} has not been sold to a consumer")
    if not item.claim_commitment:
        raise violation("no_claim_commitment", f"{item.item_id} was sold without a claim code")
    if item.claimed_by:
        raise violation("already_claimed", f"{item.item_id} was already claimed")
    expected = claim_commitment(item.item_id, body["secret"])
    if not hmac.compare_digest(expected, item.claim_commitment):
        raise violation("claim_mismatch", "the claim secret does not match the sale's commitment")
    entry.touch([replace(item, claimed_by=entry.envelope.signer)])


def _recall(entry: Entry) -> None:
    event_signer(entry, roles=("producer",))
    body, view = entry.body, entry.view
    gtin = body["gtin"]
    _owned_gtin(entry, gtin)
    if body["scope"] == "items":
        items: list[Item] = []
        for serial in body["serials"]:
            item = view.get(Item, (item_id(gtin, serial),))
            if item is None:
                raise violation("unknown_item", f"{item_id(gtin, serial)} was never commissioned")
            items.append(replace(item, recalled=True))
        entry.touch(items)
        return
    lot = body.get("lot", "")
    if view.get(Recall, (gtin, lot)) is not None:
        what = f"lot {lot} of GTIN {gtin}" if lot else f"GTIN {gtin}"
        raise violation("already_recalled", f"{what} is already recalled")
    entry.changes.put(Recall(gtin, lot, entry.actor_id, body["reason"], entry.index))


def _decommission(entry: Entry) -> None:
    event_signer(entry)
    tops = held(entry, entry.body["items"])
    entry.touch(replace(item, status=DESTROYED) for item in trees(entry, tops))


def _repack(entry: Entry) -> None:
    event_signer(entry)
    body = entry.body
    outputs = body["outputs"]
    _owned_gtin(entry, outputs["gtin"])
    consumed = trees(entry, held(entry, body["inputs"]))
    _refuse_recalled(entry, consumed, "repackaged")
    entry.touch(replace(item, status=DESTROYED) for item in consumed)
    _new_items(entry, outputs["gtin"], SerialSet.from_obj(outputs["serials"]), outputs)


_HANDLERS: dict[str, Callable[[Entry], None]] = {
    **registry.HANDLERS,
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
    **listings.HANDLERS,
    **streams.HANDLERS,
    **attestations.HANDLERS,
}
