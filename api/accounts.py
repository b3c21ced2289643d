"""Console accounts: roles, invites, passwords with TOTP, sessions and the audit trail.

Shared by the HTTP console (api/http/routes/console.py) and the CLI (``tracemark console
invite``); the tables are ``ledger/storage/sql/console.py``, the records
``ledger/ports/console.py``, passkeys ``api/passkeys.py``.

- **Roles** (``ROLES``): each console role names the ledger role its actor is registered
  with (None: the role has no ledger actor yet: the operator's people act with the
  server's operator key). Certifiers and identity verifiers are ledger actors: they sign
  attestations (``attest.*``) with their browser-held keys. Add a role here, give
  its screens a route in the route table, and it exists.
- **Invites** are one-time links: a 256-bit token, kept as its SHA-256, bound to a role and
  (for actors) an actor id and handle, expiring (``TRACEMARK_CONSOLE_INVITE_S``), redeemed
  once by a compare-and-swap.
- **Passwords** are argon2id (argon2-cffi's defaults: RFC 9106's second recommended
  parameters) and always come with TOTP (RFC 6238, pyotp; a code is accepted once, by every
  worker: the spent codes are rows of the console's challenge table).
- **Sessions** are server-side records: the cookie carries a 256-bit token, the table its
  SHA-256, with an idle and an absolute expiry; each sign-in makes a new token (rotation)
  and a new CSRF token (the synchronizer token every state-changing request sends back).
- **Audit**: who (account, role, actor), what, when, on what, and the outcome; insert only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from api.settings import ConsoleSettings
from ledger.errors import Conflict, InvalidInput, NotFound, TracemarkError
from ledger.ports.console import Account, AuditRecord, Invite, Passkey, Session
from ledger.provenance.events.fields import ACTOR_ID, HANDLE
from ledger.storage.sql.console import SqlConsoleStore

__all__ = [
    "ACTOR_ROLES",
    "IDENTITY_LEVELS",
    "ROLES",
    "Accounts",
    "ConsoleSettings",
    "SignInFailed",
    "hash_token",
    "invite_url",
]

#: Console role -> the ledger role its actor is registered with (None: no ledger actor).
ROLES: dict[str, str | None] = {
    "operator": None,
    "producer": "producer",
    "seller": "seller",
    "platform": "platform",
    "certifier": "certifier",
    "identity_verifier": "identity_verifier",
}
#: Roles whose people act for a ledger actor of their own (an invite names it).
ACTOR_ROLES = tuple(role for role, ledger_role in ROLES.items() if ledger_role is not None)
#: What the operator's identity check of an actor found (recorded on the console account).
IDENTITY_LEVELS = ("none", "document", "in_person")
_NAME_MAX = 100
_PASSWORD_MIN, _PASSWORD_MAX = 12, 256
_hasher = PasswordHasher()  # argon2id


class SignInFailed(TracemarkError):
    """The credentials did not match (one message for every reason: no oracle)."""

    code = "signin_failed"


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def invite_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/console/invite/{token}"


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= _NAME_MAX or not name.isprintable():
        raise InvalidInput(f"a name must be 1-{_NAME_MAX} printable characters")
    return name


class Accounts:
    """The console's accounts over its tables; time comes in as ``now`` (ms)."""

    def __init__(self, store: SqlConsoleStore, settings: ConsoleSettings | None = None) -> None:
        self.store = store
        self.settings = settings or ConsoleSettings()

    # --- invites -------------------------------------------------------------------------------

    def invite(
        self,
        role: str,
        *,
        now: int,
        actor_id: str = "",
        name: str = "",
        handle: str = "",
        by: str = "cli",
    ) -> tuple[Invite, str]:
        """A new invite and its token (shown once, never stored)."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", code="unknown_role")
        if role in ACTOR_ROLES:
            if not ACTOR_ID.fullmatch(actor_id):  # fullmatch: "$" allows a final \n
                raise InvalidInput(
                    "an actor's invite needs its actor id (lowercase letters, digits, . _ -)",
                    code="actor_required",
                )
            if self.store.account_named(actor_id) is not None:
                raise Conflict(f"an account for {actor_id} exists", code="name_taken")
        elif actor_id:
            raise InvalidInput(f"a {role} invite names no actor", code="no_actor")
        if handle and not HANDLE.fullmatch(handle):
            raise InvalidInput("a handle looks like platform:account, e.g. tiktok:@shop")
        name = _check_name(name or actor_id or role)
        token = secrets.token_urlsafe(32)
        invite = Invite(
            hash_token(token),
            role,
            actor_id,
            name,
            handle,
            by,
            now,
            now + self.settings.invite_s * 1000,
            0,
            pyotp.random_base32(),
        )
        self.store.add_invite(invite)
        return invite, token

    def open_invite(self, token: str, *, now: int) -> Invite:
        invite = self.store.invite(hash_token(token)) if len(token) <= 128 else None
        if invite is None:
            raise NotFound("no such invite", code="unknown_invite")
        if invite.used:
            raise Conflict("this invite was already used", code="invite_used")
        if invite.expires <= now:
            raise Conflict("this invite has expired; ask for a new one", code="invite_expired")
        return invite

    def _new_account(self, invite: Invite, now: int, password_hash: str, totp: str) -> Account:
        username = invite.actor_id or invite.name
        return Account(
            secrets.token_hex(8),
            invite.role,
            invite.actor_id,
            username,
            "active" if invite.role not in ACTOR_ROLES else "pending",
            password_hash,
            totp,
            "",
            "",
            "",
            invite.handle,
            now,
            now,
        )

    def redeem_with_passkey(
        self, token: str, passkey: Passkey, *, now: int, account_id: str
    ) -> Account:
        invite = self.open_invite(token, now=now)
        account = replace(self._new_account(invite, now, "", ""), account_id=account_id)
        self.store.redeem(invite.token_hash, now, account, replace(passkey, account_id=account_id))
        return account

    def redeem_with_password(self, token: str, password: str, code: str, *, now: int) -> Account:
        invite = self.open_invite(token, now=now)
        if not _PASSWORD_MIN <= len(password) <= _PASSWORD_MAX:
            raise InvalidInput(
                f"a password is {_PASSWORD_MIN} to {_PASSWORD_MAX} characters", code="weak_password"
            )
        if not self._totp_ok(invite.totp_secret, code, now):
            raise InvalidInput("the authenticator code is wrong; try the next one", code="bad_totp")
        account = self._new_account(invite, now, _hasher.hash(password), invite.totp_secret)
        self.store.redeem(invite.token_hash, now, account, None)
        return account

    @staticmethod
    def otpauth_uri(invite: Invite, issuer: str = "Tracemark") -> str:
        return pyotp.TOTP(invite.totp_secret).provisioning_uri(
            name=invite.actor_id or invite.name, issuer_name=issuer
        )

    def _totp_ok(self, secret: str, code: str, now: int) -> bool:
        if not secret or not code.isdigit() or len(code) != 6:
            return False
        totp = pyotp.TOTP(secret)
        for step in (0, -1, 1):  # one 30 s step of clock drift either way
            at = now // 1000 + step * 30
            if hmac.compare_digest(totp.at(at), code):
                # A code is good once, for every worker: spent in the database (keyed by a
                # hash: the secret itself is not copied).
                used = hashlib.sha256(f"tracemark/totp-used/v1:{secret}:{at // 30}".encode())
                return self.store.spend_once("totp:" + used.hexdigest()[:40], now, now + 120_000)
        return False

    # --- sign-in -------------------------------------------------------------------------------

    def sign_in_password(self, name: str, password: str, code: str, *, now: int) -> Account:
        account = self.store.account_named(name[:_NAME_MAX])
        stored = account.password_hash if account is not None else ""
        try:
            # Hash even for an unknown name, so timing says nothing about which names exist.
            ok: bool = _hasher.verify(stored or _DUMMY_HASH, password[:_PASSWORD_MAX])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if account is None or not stored or not ok:
            raise SignInFailed("the name, password or code is wrong")
        if not self._totp_ok(account.totp_secret, code, now):
            raise SignInFailed("the name, password or code is wrong")
        return self._usable(account)

    def _usable(self, account: Account) -> Account:
        if account.status == "disabled":
            raise SignInFailed("this account is disabled", code="account_disabled")
        return account

    def passkey_account(self, passkey: Passkey) -> Account:
        account = self.store.account(passkey.account_id)
        if account is None:
            raise SignInFailed("this passkey belongs to no account")
        return self._usable(account)

    # --- sessions ------------------------------------------------------------------------------

    def start_session(
        self, account: Account, *, now: int, replaces: str = ""
    ) -> tuple[str, Session]:
        """A new session (new token and CSRF token); the one it replaces ends (rotation)."""
        if replaces:
            self.store.end_session(hash_token(replaces))
        token = secrets.token_urlsafe(32)
        session = Session(
            hash_token(token),
            account.account_id,
            secrets.token_urlsafe(32),
            now,
            now,
            now + self.settings.session_max_s * 1000,
        )
        self.store.add_session(session)
        return token, session

    def current(self, token: str, *, now: int) -> tuple[Session, Account] | None:
        """The live session of a cookie and its account; None when absent or expired."""
        if not token or len(token) > 128:
            return None
        session = self.store.session(hash_token(token))
        if session is None:
            return None
        idle_ms = self.settings.session_idle_s * 1000
        if now >= session.expires or now - session.last_seen >= idle_ms:
            self.store.end_session(session.token_hash)
            return None
        account = self.store.account(session.account_id)
        if account is None or account.status == "disabled":
            return None
        if now - session.last_seen > 10_000:  # not a write on every request
            self.store.touch_session(session.token_hash, now)
        return session, account

    def end_session(self, token: str) -> None:
        self.store.end_session(hash_token(token))

    @staticmethod
    def csrf_ok(session: Session, given: str) -> bool:
        return bool(given) and hmac.compare_digest(session.csrf.encode(), given.encode()[:128])

    # --- the operator's records ----------------------------------------------------------------

    def identity_check(self, account_id: str, level: str, note: str, *, now: int) -> Account:
        if level not in IDENTITY_LEVELS:
            raise InvalidInput(f"level must be one of {', '.join(IDENTITY_LEVELS)}")
        if len(note) > 2000:
            raise InvalidInput("a note is at most 2,000 characters")
        account = self.get(account_id)
        updated = replace(account, identity_level=level, identity_note=note, updated=now)
        self.store.put_account(updated)
        return updated

    def get(self, account_id: str) -> Account:
        account = self.store.account(account_id)
        if account is None:
            raise NotFound(f"no account {account_id}", code="unknown_account")
        return account

    def audit(
        self,
        account: Account | None,
        action: str,
        *,
        now: int,
        target: str = "",
        outcome: str = "ok",
        detail: str = "",
    ) -> None:
        self.store.audit(
            AuditRecord(
                0,
                now,
                account.account_id if account else "",
                account.role if account else "",
                account.actor_id if account else "",
                action,
                target[:200],
                outcome,
                detail[:500],
            )
        )


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
