"""The benchmark workload: a fixed operator key, realistic small notice bodies, signing.

Everything is deterministic (key from a fixed seed, bodies from their index, fixed times),
so a log built twice has the same leaves, and a cached log can be trusted by its recipe.
"""

from __future__ import annotations

import hashlib

from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE, Envelope, sign_entry

__all__ = [
    "BODY_TEXT",
    "OPERATOR_NAME",
    "ORIGIN",
    "T0",
    "notice_body",
    "operator_key",
    "sign_notices",
]

ORIGIN = "bench.tracemark.example/log"
OPERATOR_NAME = "Tracemark benchmark operator"
#: 2026-01-01T00:00:00Z in milliseconds: the genesis time of every benchmark log.
T0 = 1_767_225_600_000
BODY_TEXT = "Items passed inspection at the Rotterdam warehouse; codes active."
_SEED = hashlib.sha256(b"tracemark/bench/operator/v1").digest()


def operator_key() -> PrivateKey:
    """The benchmark operator's key (fixed seed: never use it for anything else)."""
    return PrivateKey.from_seed(_SEED)


def notice_body(index: int) -> dict[str, str]:
    """A ``log.notice`` body of about 150 bytes of canonical JSON, unique per index."""
    return {
        "title": f"Lot {index:07d} released for sale",
        "text": BODY_TEXT,
        "ref": f"urn:tracemark:lot:{index:07d}",
    }


def sign_notices(key: PrivateKey, start: int, count: int) -> list[Envelope]:
    """Sign notices ``start .. start + count - 1`` with ``key``."""
    return [sign_entry(NOTICE, notice_body(i), key) for i in range(start, start + count)]
