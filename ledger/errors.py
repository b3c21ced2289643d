"""The error tree of Tracemark. Every message is safe to show to a user.

    TracemarkError                 root; never raised directly
    ├── InvalidInput               malformed or out-of-range input (parsers, codecs)
    │   └── LimitExceeded          input larger than an allowed bound
    ├── VerificationError          a signature, proof, hash or audit check failed
    │   ├── ProofError             an inclusion or consistency proof does not verify
    │   └── SignatureError         a signature does not verify or no trusted key signed
    ├── NotFound                   the thing asked for does not exist
    ├── Conflict                   the request contradicts the ledger's state
    │   └── RuleViolation          an append broke a ledger rule (carries a machine code)
    └── StorageUnavailable         the database cannot be reached or is locked too long

Codecs turn ValueError/binascii.Error into InvalidInput with ``raise ... from None``;
the mapping to HTTP statuses and CLI exit codes lives only in the adapters (api/).
A counterfeit is a verdict, not an exception.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "InvalidInput",
    "LimitExceeded",
    "NotFound",
    "ProofError",
    "RuleViolation",
    "SignatureError",
    "StorageUnavailable",
    "TracemarkError",
    "VerificationError",
]


class TracemarkError(Exception):
    """Root of all Tracemark errors. ``code`` is a stable machine-readable name."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class InvalidInput(TracemarkError):
    code = "invalid_input"


class LimitExceeded(InvalidInput):
    code = "limit_exceeded"


class VerificationError(TracemarkError):
    code = "verification_failed"


class ProofError(VerificationError):
    code = "proof_invalid"


class SignatureError(VerificationError):
    code = "signature_invalid"


class NotFound(TracemarkError):
    code = "not_found"


class Conflict(TracemarkError):
    code = "conflict"


class RuleViolation(Conflict):
    """An append broke a ledger rule; ``code`` names the rule (e.g. ``not_custodian``)."""

    code = "rule_violation"


class StorageUnavailable(TracemarkError):
    code = "storage_unavailable"
