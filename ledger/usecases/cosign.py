"""Asking a C2SP witness to cosign the log's latest checkpoint (tlog-witness, the log's side).

``ask_witness`` sends ``add-checkpoint`` with the size the witness last cosigned (learnt from
its 409 answer when unknown), proves consistency from there, verifies the cosignature line it
gets back with the witness's pinned key, and keeps it with the other cosignatures (the
``witnesses`` port), where ``GET /checkpoint`` and ``GET /v1/log/checkpoint?cosigned=1``
serve it. The transport is a parameter (``post(body) -> (status, content type, text)``), so
the CLI sends it with httpx and tests with the app's test client.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger import errors
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.witnessing import SIZE_CONTENT_TYPE, accept_cosignatures, format_add_checkpoint
from ledger.ports.witnesses import Cosignature
from ledger.usecases.service import LogService

__all__ = ["KEEP_COSIGNED", "Post", "ask_witness"]

#: Cosigned tree sizes kept in the database.
KEEP_COSIGNED = 64
_MAX_ATTEMPTS = 3

Post = Callable[[bytes], tuple[int, str, str]]
"""Sends one request body; returns the status, the content type and the text answered."""


def ask_witness(
    service: LogService, witness: CosignatureVerifier, post: Post, *, old_size: int = 0
) -> Cosignature:
    """Get ``witness``'s cosignature of the latest checkpoint and keep it.

    ``old_size`` is the size the witness is believed to have cosigned last (0: unknown).
    Raises VerificationError (SignatureError, ProofError...) when the witness refuses the
    checkpoint or answers with a cosignature that does not verify, InvalidInput when it
    answers outside the protocol, Conflict when it holds a larger tree than the log."""
    latest = service.latest_checkpoint()
    size = latest.tree_size
    for _ in range(_MAX_ATTEMPTS):
        if old_size > size:
            raise errors.Conflict(
                f"witness {witness.name} cosigned a tree of {old_size} entries; this log has "
                f"{size}: a split view or another log with the same origin",
                code="witness_ahead",
            )
        proof = () if old_size in (0, size) else service.consistency_proof(old_size, size).hashes
        status, content_type, text = post(format_add_checkpoint(old_size, proof, latest.note))
        if status == 409 and content_type.split(";")[0].strip() == SIZE_CONTENT_TYPE:
            told = text.strip()
            if not told.isascii() or not told.isdigit():
                raise errors.InvalidInput(f"witness {witness.name} answered 409 without a size")
            old_size = int(told)
            continue
        if status != 200:
            reason = text.strip().splitlines()[0][:200] if text.strip() else f"HTTP {status}"
            raise errors.SignatureError(
                f"witness {witness.name} refused the checkpoint of size {size}: {reason}",
                code="witness_refused",
            )
        found = accept_cosignatures(latest.note, text, witness)
        if found is None:
            raise errors.SignatureError(f"witness {witness.name} answered without its cosignature")
        line, cosignature = found
        kept = Cosignature(witness.name, witness.key_id, cosignature.timestamp, line + "\n")
        service.store.witnesses.add(size, latest.note, [kept], keep=KEEP_COSIGNED)
        return kept
    raise errors.Conflict(f"witness {witness.name} kept moving its size", code="witness_busy")
