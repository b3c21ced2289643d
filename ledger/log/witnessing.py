"""C2SP tlog-witness: asking witnesses to cosign, and being one (pure: no I/O, no clock).

The ``add-checkpoint`` request (https://c2sp.org/tlog-witness)::

    old <size>\\n                 the size the witness last cosigned for this origin (or 0)
    <base64 hash>\\n ...          a consistency proof from that size, at most 63 lines
    \\n
    <signed checkpoint note>     the log's checkpoint with its signature(s)

A witness answers with its cosignature lines (C2SP tlog-cosignature, ledger/log/checkpoint.py)
or with the status the spec names: 404 unknown origin, 403 no valid signature of a key it
trusts for that origin, 400 old size above the checkpoint's, 409 old size is not the size
it last cosigned (body: that size and a newline, ``text/x.tlog.size``), 422 a non-empty
proof from 0, a proof that does not verify, or an empty tree with another root.

``judge`` is the witness's whole decision, given its record of the origin; the adapter
that calls it must read that record and store the new one atomically (the spec's rollback
race). ``accept_cosignatures`` is the log's side: the lines of an answer that verify for the
witness asked; unknown keys are ignored, as the spec says.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.errors import InvalidInput, LimitExceeded, ProofError, SignatureError
from ledger.keys import PrivateKey
from ledger.log.checkpoint import (
    Checkpoint,
    Cosignature,
    CosignatureVerifier,
    cosign_checkpoint,
    verify_cosignatures,
)
from ledger.log.hashing import EMPTY_ROOT, HASH_SIZE
from ledger.log.note import MAX_NOTE_SIZE, Verifier, note_key_id, open_note, parse_note
from ledger.log.verify import verify_consistency

__all__ = [
    "MAX_PROOF_LINES",
    "MAX_REQUEST_SIZE",
    "SIZE_CONTENT_TYPE",
    "AddCheckpoint",
    "Judgement",
    "WitnessRecord",
    "accept_cosignatures",
    "format_add_checkpoint",
    "judge",
    "parse_add_checkpoint",
]

MAX_PROOF_LINES = 63
MAX_REQUEST_SIZE = MAX_NOTE_SIZE + 64 * (MAX_PROOF_LINES + 1)
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_MAX_RESPONSE_LINES = 16
_COSIGNATURE_TYPE = 0x04


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """One ``add-checkpoint`` request."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


def _size_text(size: int) -> str:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInput("a tree size must be a non-negative integer")
    return str(size)


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The request body a log sends to a witness."""
    if len(proof) > MAX_PROOF_LINES:
        raise InvalidInput(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
    lines = [f"old {_size_text(old_size)}"]
    lines += [base64.b64encode(h).decode("ascii") for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """A request body, strictly: InvalidInput (400) for anything the spec does not allow."""
    if len(body) > MAX_REQUEST_SIZE:
        raise LimitExceeded(f"an add-checkpoint request is at most {MAX_REQUEST_SIZE} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("an add-checkpoint request must be UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise InvalidInput("an add-checkpoint request needs an empty line before the checkpoint")
    first, *proof_lines = head.split("\n")
    word, _, size = first.partition(" ")
    if word != "old" or not size.isascii() or not size.isdigit() or size != str(int(size)):
        raise InvalidInput("the first line must be 'old <size>' in decimal, no leading zeros")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise InvalidInput(f"at most {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for number, line in enumerate(proof_lines, 2):
        try:
            digest = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            digest = b""
        if len(digest) != HASH_SIZE or base64.b64encode(digest).decode("ascii") != line:
            raise InvalidInput(f"line {number} is not a base64 hash")
        proof.append(digest)
    parse_note(note)  # structure only; the witness checks the signatures
    return AddCheckpoint(int(size), tuple(proof), note)


@dataclass(frozen=True, slots=True)
class WitnessRecord:
    """What a witness keeps per origin: the checkpoint it last cosigned."""

    tree_size: int
    root_hash: bytes


@dataclass(frozen=True, slots=True)
class Judgement:
    """A witness's answer: HTTP status, body and its type, the reason in words, and the
    record to store (only on 200)."""

    status: int
    body: str
    content_type: str
    reason: str
    record: WitnessRecord | None = None


def _refuse(status: int, reason: str) -> Judgement:
    return Judgement(status, reason + "\n", "text/plain; charset=utf-8", reason)


def judge(  # noqa: PLR0911 - one return per status the spec names
    request: AddCheckpoint,
    *,
    logs: Mapping[str, Sequence[Verifier]],
    record: WitnessRecord | None,
    name: str,
    key: PrivateKey,
    now_s: int,
) -> Judgement:
    """The witness's decision on one request (C2SP tlog-witness, ``add-checkpoint``).

    ``logs`` maps each origin the witness follows to the log keys it trusts for it;
    ``record`` is what it last cosigned for the request's origin (None: never);
    ``now_s`` (seconds, > 0) is the cosignature's timestamp."""
    if now_s <= 0:
        raise InvalidInput("a cosignature timestamp must be positive")
    try:
        checkpoint = Checkpoint.from_text(parse_note(request.note).text)
    except InvalidInput as exc:
        return _refuse(400, f"not a checkpoint: {exc}")
    verifiers = logs.get(checkpoint.origin)
    if not verifiers:
        return _refuse(404, f"unknown log origin {checkpoint.origin!r}")
    try:
        open_note(request.note, verifiers)
    except SignatureError as exc:
        return _refuse(403, f"the checkpoint is not signed by a trusted key: {exc}")
    size = checkpoint.tree_size
    if request.old_size > size:
        return _refuse(400, f"old size {request.old_size} is above the checkpoint's {size}")
    known = record.tree_size if record is not None else 0
    if request.old_size != known:
        return Judgement(409, f"{known}\n", SIZE_CONTENT_TYPE, f"the last cosigned size is {known}")
    if size == 0 and checkpoint.root_hash != EMPTY_ROOT:
        return _refuse(422, "an empty tree must have the empty root")
    if request.old_size == 0:
        if request.proof:
            return _refuse(422, "a consistency proof from size 0 must be empty")
    else:
        old_root = record.root_hash if record is not None else b""  # old_size > 0: a record
        try:
            verify_consistency(
                request.old_size, size, old_root, checkpoint.root_hash, request.proof
            )
        except ProofError as exc:
            return _refuse(422, f"not consistent with size {request.old_size}: {exc}")
    cosigned = parse_note(cosign_checkpoint(request.note, name, key, now_s))
    ours = note_key_id(name, _COSIGNATURE_TYPE, key.public_key.raw)
    lines = [s.line for s in cosigned.signatures if s.name == name and s.key_id == ours]
    return Judgement(
        200,
        "".join(lines),
        "text/plain; charset=utf-8",
        f"cosigned {checkpoint.origin} at size {size}",
        WitnessRecord(size, checkpoint.root_hash),
    )


def accept_cosignatures(
    note: str, response: str, witness: CosignatureVerifier
) -> tuple[str, Cosignature] | None:
    """The cosignature line of ``witness`` (without its newline) in a witness's answer to
    ``note``, verified, with what it says; None when the answer holds none (lines of other
    keys are ignored).

    Raises SignatureError when a line of this witness's key does not verify, InvalidInput
    for an answer that is not signature lines."""
    lines = response.split("\n")
    if lines[-1] != "" or len(lines) - 1 > _MAX_RESPONSE_LINES:
        raise InvalidInput("a witness answers with up to 16 signature lines, each ending in \\n")
    text = parse_note(note).text
    found = None
    for line in lines[:-1]:
        if not line.startswith("\u2014 "):
            raise InvalidInput("a witness's answer holds only signature lines")
        candidate = text + "\n" + line + "\n"  # the checkpoint with this line alone
        signature = parse_note(candidate).signatures[-1]
        if (signature.name, signature.key_id) != (witness.name, witness.key_id):
            continue  # another key's line: ignored
        (cosignature,) = verify_cosignatures(candidate, [witness])
        if cosignature.timestamp == 0:
            raise SignatureError("a witness's cosignature must carry a timestamp")
        found = (line, cosignature)
    return found
