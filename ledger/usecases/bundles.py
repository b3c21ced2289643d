"""Building an item's offline proof bundle from the store (the format and its check:
``ledger.verdicts.bundles``).

The bundle holds the item's timeline entries, the recalls of its lot and GTIN, and the
registrations of every key that signed them back to the genesis, each with an inclusion
proof to one checkpoint: the newest witnessed one if it covers those entries, else the
latest. The summary comes from the projection (``item_view``), so a verifier's replay of the
entries checks the projection too; the operator signs the statement.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ledger.codes.identifiers import parse_item_id
from ledger.codes.signed import ItemCode
from ledger.codes.trust import TrustBundle
from ledger.errors import Conflict, InvalidInput
from ledger.keys import PrivateKey
from ledger.provenance.events.names import CLAIM, RECEIVE
from ledger.provenance.records import KeyRecord, Recall
from ledger.usecases.prove import Prover
from ledger.usecases.queries import item_view, trust_bundle
from ledger.verdicts.bundles import BUNDLE_FORMAT, ItemSummary, sign_statement

__all__ = ["build_item_bundle"]


def _deciding_indices(prover: Prover, item: str) -> tuple[list[int], ItemSummary]:
    """The indices of the entries that decide the item, and its summary from the projection."""
    store = prover.store
    view = item_view(store, item)
    record = view.record
    wanted = {step.index for step in view.timeline}
    with store.reader() as reader:
        for lot in {"", record.lot} if record.gtin else ():
            recall = reader.get(Recall, (record.gtin, lot))
            if recall is not None:
                wanted.add(recall.recall_index)
        # the registrations of every signing key, back to the genesis
        todo, seen_keys = sorted(wanted), set[str]()
        wanted.add(0)
        while todo:
            index = todo.pop()
            leaf = json.loads(store.entry(index).data)
            if leaf["type"] == CLAIM or leaf["signer"] in seen_keys:
                continue
            seen_keys.add(leaf["signer"])
            key = reader.get(KeyRecord, (leaf["signer"],))
            if key is None:
                continue  # the genesis's key is the operator's, added at 0
            for found in (key.added_index, key.revoked_index):
                if found >= 0 and found not in wanted:
                    wanted.add(found)
                    todo.append(found)
    steps = view.timeline
    custody = [steps[0].actor] if steps else []
    custody += [s.actor for s in steps if s.type == RECEIVE]
    summary = ItemSummary(
        status=view.status,
        custody_status=record.status,
        recalled=view.recalled,
        producer=record.producer,
        custodian=record.custodian,
        pending_to=record.pending_to,
        custody=tuple(custody),
        claimed=bool(record.claimed_by),
    )
    return sorted(wanted), summary


def build_item_bundle(
    prover: Prover,
    item: str,
    *,
    log_key: PrivateKey,
    resolvers: list[str],
    code: str | None = None,
    now: int,
) -> dict[str, Any]:
    """The bundle of ``item`` (an item id), with ``code`` if given (it must be this item's).

    Proves against the newest witnessed checkpoint that covers the item's entries, else the
    latest checkpoint; Conflict (``not_checkpointed``) if no signed checkpoint covers them
    yet. NotFound (``unknown_item``) for an item never commissioned."""
    ref = parse_item_id(item)
    if code is not None:
        named = ItemCode.from_uri(code).identity.item_id
        if named != ref.item_id:
            raise InvalidInput(f"the code is for {named}, not {ref.item_id}", code="code_mismatch")
    indices, summary = _deciding_indices(prover, ref.item_id)
    latest = prover.latest_checkpoint()
    note, size = latest.note, latest.tree_size
    cosigned = prover.store.witnesses.cosigned()
    if cosigned is not None:
        witnessed = prover.open_checkpoint(cosigned).checkpoint.tree_size
        if witnessed > indices[-1]:
            note, size = cosigned, witnessed
    if indices[-1] >= size:
        raise Conflict(
            f"entry {indices[-1]} of {ref.item_id} is not yet under a signed checkpoint "
            f"(size {size}): try again shortly",
            code="not_checkpointed",
        )
    entries = []
    for index in indices:
        proof = prover.inclusion_proof(index, size)
        stored, _ = prover.entry(index)
        entries.append(
            {
                "index": index,
                "leaf": base64.b64encode(stored.data).decode("ascii"),
                "inclusion_proof": [base64.b64encode(h).decode("ascii") for h in proof.hashes],
            }
        )
    info = prover.info()
    trust_body = trust_bundle(
        prover.store, origin=info.origin, checkpoint=latest.note, resolvers=resolvers, created=now
    )
    statement = {
        "created": now,
        "indices": indices,
        "item": ref.item_id,
        "summary": summary.to_obj(),
        "tree_size": size,
    }
    return {
        "format": BUNDLE_FORMAT,
        "item": ref.item_id,
        "code": code,
        "trust": json.loads(TrustBundle.sign(trust_body, log_key)),
        "checkpoint": note,
        "entries": entries,
        "statement": statement,
        "signature": sign_statement(statement, log_key),
    }
