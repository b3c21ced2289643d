"""The web console's records: accounts, invites, passkeys, sessions, challenges, audit.

State outside the log, like the platform's API keys: who may sign in to the console, as
what role and for which actor. Nothing here is a signing key: an account holds the actor's
*public* key while it waits for the operator's approval (``pending_key``), passkeys are
WebAuthn public keys, and every secret (invite and session tokens) is kept as its SHA-256.
The SQL store is ``ledger/storage/sql/console.py``; the rules are in ``api/accounts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACCOUNT_STATES",
    "Account",
    "AuditRecord",
    "Challenge",
    "Invite",
    "Passkey",
    "Session",
]

#: invited (signed in, waiting for the operator) | active | disabled
ACCOUNT_STATES = ("pending", "active", "disabled")


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    role: str
    actor_id: str  # "" for the operator's people and for roles without a ledger actor
    name: str
    status: str
    password_hash: str  # argon2id, "" for passkey-only accounts
    totp_secret: str  # base32, "" without a password
    pending_key: str  # ed25519:<base64> the browser made, waiting for approval; ""
    identity_level: str  # "" | none | document | in_person (operator's check)
    identity_note: str
    handle: str
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class Invite:
    token_hash: bytes
    role: str
    actor_id: str
    name: str
    handle: str
    created_by: str  # account id, or "cli"
    created: int
    expires: int
    used: int  # ms when redeemed, 0 while open
    totp_secret: str  # offered on the invite page, bound to this invite


@dataclass(frozen=True, slots=True)
class Passkey:
    credential_id: str  # base64url
    account_id: str
    public_key: bytes  # COSE key
    sign_count: int
    created: int


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: bytes
    account_id: str
    csrf: str
    created: int
    last_seen: int
    expires: int  # absolute expiry


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge_id: str
    purpose: str  # register | signin
    challenge: bytes
    subject: str  # the invite's token hash (hex) for register, "" for sign-in
    expires: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    time: int
    account_id: str
    role: str
    actor_id: str
    action: str
    target: str
    outcome: str  # ok | refused | failed
    detail: str
