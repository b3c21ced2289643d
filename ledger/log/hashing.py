"""RFC 9162 (RFC 6962) hashing and Tracemark's running chain hash.

    leaf_hash(data)      = SHA-256(0x00 || data)
    node_hash(l, r)      = SHA-256(0x01 || l || r)
    EMPTY_ROOT           = SHA-256("")
    CHAIN_GENESIS        = SHA-256("tracemark/chain/v1")
    chain_next(c, leaf)  = SHA-256(c || leaf_hash)      c_i = chain_next(c_{i-1}, leaf_i)

The chain hash of entry 0 is ``chain_next(CHAIN_GENESIS, leaf_hash_0)``.
"""

from __future__ import annotations

import hashlib

__all__ = [
    "CHAIN_GENESIS",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "chain_next",
    "leaf_hash",
    "node_hash",
]

HASH_SIZE = 32
_sha256 = hashlib.sha256

EMPTY_ROOT: bytes = _sha256(b"").digest()
CHAIN_GENESIS: bytes = _sha256(b"tracemark/chain/v1").digest()


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of one leaf's data."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node from its two children."""
    return _sha256(b"\x01" + left + right).digest()


def chain_next(previous: bytes, leaf: bytes) -> bytes:
    """The running chain hash after appending a leaf whose hash is ``leaf``."""
    return _sha256(previous + leaf).digest()
