"""Passkeys (WebAuthn) for the console, server side, with the ``webauthn`` package.

Two ceremonies, each in two steps: ``*_options`` makes a random challenge, keeps it in the
console's challenge table (single use, two minutes) and returns the options the page gives
to ``navigator.credentials``; ``finish_*`` takes the challenge back (deleting it), and
checks the browser's answer: origin, relying party id, the challenge, user presence and
verification, and for sign-in the passkey's signature with its stored public key and its
counter. Passkeys are discoverable (resident): signing in needs no name.

The relying party id is the console origin's host; the expected origin is the console
origin (``TRACEMARK_PUBLIC_URL``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ledger.errors import InvalidInput
from ledger.ports.console import Challenge, Invite, Passkey
from ledger.storage.sql.console import SqlConsoleStore

__all__ = ["MAX_OUTSTANDING", "Ceremonies", "PasskeyRefused"]

_CHALLENGE_MS = 120_000
#: Registration challenges an invite may have open at once (each is a row until it expires).
MAX_OUTSTANDING = 5
_MAX_CREDENTIAL = 16 * 1024


class PasskeyRefused(InvalidInput):
    code = "passkey_refused"


class Ceremonies:
    def __init__(self, store: SqlConsoleStore, origin: str) -> None:
        self.store = store
        self.origin = origin.rstrip("/")
        self.rp_id = urlsplit(self.origin).hostname or "localhost"

    def _remember(self, purpose: str, challenge: bytes, subject: str, now: int) -> str:
        challenge_id = secrets.token_urlsafe(16)
        self.store.add_challenge(
            Challenge(challenge_id, purpose, challenge, subject, now + _CHALLENGE_MS)
        )
        return challenge_id

    def outstanding(self, invite: Invite, *, now: int) -> int:
        """How many registration challenges of ``invite`` are open (not taken, not expired)."""
        return self.store.count_challenges("register", invite.token_hash.hex() + ":", now)

    def registration_options(self, invite: Invite, *, now: int) -> dict[str, Any]:
        user_id = secrets.token_bytes(16)
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name="Tracemark",
            user_name=invite.actor_id or invite.name,
            user_id=user_id,
            user_display_name=invite.name,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
        )
        subject = invite.token_hash.hex() + ":" + user_id.hex()
        challenge_id = self._remember("register", options.challenge, subject, now)
        return {"challenge_id": challenge_id, "publicKey": options_to_json_dict(options)}

    def finish_registration(
        self, invite: Invite, challenge_id: str, credential: Any, *, now: int
    ) -> tuple[Passkey, str]:
        """The new passkey (its account id still to be set) and the account id to give it
        (the WebAuthn user handle)."""
        found = self.store.take_challenge(challenge_id, "register", now)
        if found is None or not found.subject.startswith(invite.token_hash.hex() + ":"):
            raise PasskeyRefused("the passkey challenge expired or is unknown; try again")
        user_handle = found.subject.split(":", 1)[1]
        try:
            verified = verify_registration_response(
                credential=_bounded(credential),
                expected_challenge=found.challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise PasskeyRefused(f"the passkey was refused: {exc}") from None
        passkey = Passkey(
            bytes_to_base64url(verified.credential_id),
            "",
            verified.credential_public_key,
            verified.sign_count,
            now,
        )
        return passkey, user_handle[:16]

    def authentication_options(self, *, now: int) -> dict[str, Any]:
        options = generate_authentication_options(
            rp_id=self.rp_id, user_verification=UserVerificationRequirement.REQUIRED
        )
        challenge_id = self._remember("signin", options.challenge, "", now)
        return {"challenge_id": challenge_id, "publicKey": options_to_json_dict(options)}

    def finish_authentication(self, challenge_id: str, credential: Any, *, now: int) -> Passkey:
        found = self.store.take_challenge(challenge_id, "signin", now)
        if found is None:
            raise PasskeyRefused("the passkey challenge expired or is unknown; try again")
        credential_id = credential.get("id") if isinstance(credential, dict) else None
        passkey = self.store.passkey(credential_id) if isinstance(credential_id, str) else None
        if passkey is None:
            raise PasskeyRefused("this passkey is not known here")
        try:
            verified = verify_authentication_response(
                credential=_bounded(credential),
                expected_challenge=found.challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise PasskeyRefused(f"the passkey was refused: {exc}") from None
        self.store.touch_passkey(passkey.credential_id, verified.new_sign_count)
        return passkey


def _bounded(credential: Any) -> Any:
    if not isinstance(credential, dict) or len(json.dumps(credential)) > _MAX_CREDENTIAL:
        raise PasskeyRefused("a passkey answer must be a JSON object of at most 16 KiB")
    return credential
