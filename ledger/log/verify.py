"""Checking RFC 9162 proofs, client side: all a verifier needs (no storage, no tree).

Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 with transparency-dev's policy
(transparency-dev/merkle proof/verify.go): a leaf hash must be 32 bytes, ``index < size``,
the proof must have exactly the expected length, a consistency proof from size 0 is always an
error, and from ``size1 == size2`` it must be empty with equal roots. ``root_from_*``
compute; ``verify_*`` compare and raise ``ProofError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import ProofError
from ledger.log.hashing import HASH_SIZE, node_hash

__all__ = [
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]


def _require_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 2.1.3.2 steps 1-4)."""
    if index < 0 or size < 0:
        raise ProofError("leaf index and tree size must be non-negative")
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    _require_hash(leaf_hash, "leaf hash")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof is too long: {len(proof)} hashes")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof is too short: {len(proof)} hashes")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows ``leaf_hash`` at ``index`` in the tree."""
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if computed != root:
        raise ProofError(
            f"inclusion proof for index {index} in size {size} does not match the root: "
            f"computed {computed.hex()}, expected {root.hex()}"
        )


def root_from_consistency_proof(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> bytes:
    """Check that ``proof`` reproduces ``root1`` and return the new root it implies.

    Only for ``0 < size1 < size2``; ``verify_consistency`` handles the equal-size case.
    """
    if size1 <= 0:
        raise ProofError("a consistency proof from an empty tree proves nothing")
    if size2 <= size1:
        raise ProofError(f"new size {size2} must be greater than old size {size1}")
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof is too long: {len(proof)} hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof is too short: {len(proof)} hashes")
    if fr != root1:
        raise ProofError(
            f"consistency proof does not reproduce the old root of size {size1}: "
            f"computed {fr.hex()}, expected {root1.hex()}"
        )
    return sr


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless tree (size2, root2) extends tree (size1, root1)."""
    if size1 < 0 or size2 < 0:
        raise ProofError("tree sizes must be non-negative")
    if size2 < size1:
        raise ProofError(f"new size {size2} is smaller than old size {size1}")
    if size1 == 0:
        raise ProofError("a consistency proof from an empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}")
        return
    computed = root_from_consistency_proof(size1, size2, root1, proof)
    if computed != root2:
        raise ProofError(
            f"consistency proof {size1} -> {size2} does not match the new root: "
            f"computed {computed.hex()}, expected {root2.hex()}"
        )
