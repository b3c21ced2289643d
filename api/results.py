"""The JSON of a verify result and of log proofs, shared by the HTTP API and the CLI (a neutral
adapter module: it imports neither api.http nor api.cli, and no web or CLI library).

``result_json`` is the documented ``VerifyResponse`` shape (api/http/schemas.py): the verdict
(ledger/verdicts), who vouched for the context, the item with its timeline, and the inclusion
proof against a checkpoint. ``tracemark scan --json`` prints the same objects.
``inclusion_json`` and ``consistency_json`` are the RFC 9162 proofs of
``GET /v1/log/proof/*`` and of ``tracemark log prove`` / ``log consistency --json``.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.usecases.prove import ConsistencyProof, InclusionProof
    from ledger.usecases.verify import VerifyResult

__all__ = ["b64", "consistency_json", "inclusion_json", "result_json"]


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def b64(value: bytes) -> str:
    """Standard base64 text of hashes and leaves in JSON answers."""
    return base64.b64encode(value).decode("ascii")


def result_json(result: VerifyResult, witnesses: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON of a verify result (also what the viewer page renders); ``witnesses``, when
    given, says which witnesses cosigned the proof's checkpoint (``proof.witnesses``)."""
    data: dict[str, Any] = result.verdict.to_obj()
    data["source"] = result.source
    view = result.view
    if view is not None:
        data["item"] = dict(data["item"], status=view.status, custodian=view.record.custodian)
        if view.product is not None:
            data["item"]["name"] = view.product.name
        data["provenance"] = [
            {
                "index": s.index,
                "type": s.type,
                "actor": s.actor,
                "time": _iso(s.event_time),
                "summary": s.summary,
            }
            for s in view.timeline
        ]
    proof = result.proof
    if proof is not None and result.checkpoint is not None:
        data["proof"] = {
            "index": proof.index,
            "tree_size": proof.tree_size,
            "leaf_hash": b64(proof.leaf_hash),
            "inclusion_path": [b64(h) for h in proof.hashes],
            "checkpoint": result.checkpoint,
        }
        if witnesses is not None:
            data["proof"]["witnesses"] = witnesses
    return data


def inclusion_json(proof: InclusionProof) -> dict[str, Any]:
    """An inclusion proof: the entry's index and leaf hash, the tree, the path (RFC 9162)."""
    return {
        "index": proof.index,
        "tree_size": proof.tree_size,
        "leaf_hash": b64(proof.leaf_hash),
        "root_hash": b64(proof.root_hash),
        "inclusion_path": [b64(h) for h in proof.hashes],
    }


def consistency_json(proof: ConsistencyProof) -> dict[str, Any]:
    """A consistency proof from the tree of ``old_size`` entries to ``new_size`` (RFC 9162)."""
    return {
        "old_size": proof.old_size,
        "new_size": proof.new_size,
        "old_root": b64(proof.old_root),
        "new_root": b64(proof.new_root),
        "consistency_path": [b64(h) for h in proof.hashes],
    }
