"""Verdicts: what a check concludes about an item code, as a result, never an exception.

    status   genuine | suspect | counterfeit | recalled | invalid | unverified
    reasons  machine-readable code, a human sentence, and the evidence behind it

The offline check of a code (``ledger.codes.signed``) can only conclude ``invalid`` (the text
cannot be read as a Tracemark code: a length, a check digit, a missing signature: "scan it
again or type it carefully", never "fake"), ``unverified`` (the producer's signature is
valid, the item's state is unknown) or ``counterfeit`` (it parses but the signature fails);
the service adds the ledger's state, listings and vouched scan contexts to reach the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COUNTERFEIT",
    "GENUINE",
    "INVALID",
    "RECALLED",
    "STATUSES",
    "SUSPECT",
    "UNVERIFIED",
    "Reason",
    "Verdict",
]

GENUINE = "genuine"
SUSPECT = "suspect"
COUNTERFEIT = "counterfeit"
RECALLED = "recalled"
UNVERIFIED = "unverified"
INVALID = "invalid"
STATUSES = (GENUINE, SUSPECT, COUNTERFEIT, RECALLED, INVALID, UNVERIFIED)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: a stable code (``signature_valid``, ``unknown_key``, ...), a sentence, evidence."""

    code: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_obj(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "evidence": dict(self.evidence)}


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    reasons: tuple[Reason, ...]
    item: Mapping[str, str] = field(default_factory=dict)  # gtin, serial, lot, expiry, producer

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown verdict status {self.status!r}")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)

    def to_obj(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reasons": [reason.to_obj() for reason in self.reasons],
            "item": dict(self.item),
        }
