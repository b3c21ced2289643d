"""Trust bundles: what an offline verifier needs, signed by the operator.

A bundle lists every registered actor with its GS1 company prefixes and keys (with their
revocations), the operator's resolver hosts, and the latest signed checkpoint of the log, so
a phone, a scanner or a platform can check item codes without reaching the server. File
format (JSON; ``bundle`` is canonical JSON, RFC 8785)::

    {"bundle": {...}, "signature": "<base64 64 bytes>", "signer": "<operator key id>"}

    bundle = {"actors": [{"actor_id", "name", "role", "prefixes": [...],
                          "keys": [{"key", "effective_time", "compromised_since"}]}],
              "checkpoint": "<C2SP signed note>", "created": <ms>, "origin": "<log origin>",
              "resolvers": ["https://vt.example.vn"], "version": 1}

The signature covers ``"tracemark/trust/v1" || 0x00 || canonical(bundle)`` with the operator's
log key (domain-separated from entries, codes and notes). The verifier pins that key in the
log's C2SP verifier-key form (``origin+hash+base64``); it refuses a bundle that is unsigned,
signed by another key, tampered with, from another log, or older than its maximum age.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ledger.codes.signed import DirectoryKey
from ledger.errors import InvalidInput, SignatureError, VerificationError
from ledger.keys import PrivateKey, PublicKey
from ledger.log.canonical import canonical_json, parse_json
from ledger.log.checkpoint import SignedCheckpoint, open_checkpoint
from ledger.log.note import NoteVerifier
from ledger.provenance.records import Actor, KeyRecord

__all__ = ["MAX_BUNDLE_SIZE", "MAX_CLOCK_SKEW_MS", "TRUST_CONTEXT", "TrustBundle", "bundle_body"]

TRUST_CONTEXT = b"tracemark/trust/v1\x00"
MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
MAX_BUNDLE_SIZE = 8 * 1024 * 1024
_VERSION = 1


def bundle_body(
    *,
    origin: str,
    actors: Iterable[Actor],
    keys: Iterable[KeyRecord],
    checkpoint: str,
    resolvers: Sequence[str],
    created: int,
) -> dict[str, Any]:
    """The bundle object for these projection records (suspended actors are left out)."""
    by_actor: dict[str, list[dict[str, Any]]] = {}
    for key in keys:
        by_actor.setdefault(key.actor_id, []).append(
            {
                "compromised_since": key.compromised_since,
                "effective_time": key.effective_time,
                "key": key.public_key,
            }
        )
    listed: list[dict[str, Any]] = [
        {
            "actor_id": a.actor_id,
            "keys": sorted(by_actor.get(a.actor_id, []), key=lambda k: str(k["key"])),
            "name": a.name,
            "prefixes": list(a.prefixes),
            "role": a.role,
        }
        for a in sorted(actors, key=lambda a: a.actor_id)
        if a.status == "active"
    ]
    return {
        "actors": listed,
        "checkpoint": checkpoint,
        "created": created,
        "origin": origin,
        "resolvers": list(resolvers),
        "version": _VERSION,
    }


@dataclass(frozen=True)
class TrustBundle:
    """A verified trust bundle; also the ``KeyDirectory`` offline code checks use."""

    body: Mapping[str, Any]
    created: int
    origin: str
    resolvers: tuple[str, ...]
    checkpoint: SignedCheckpoint | None  # the log's signed tree head the bundle carries
    _prefixes: dict[str, tuple[str, str]] = field(repr=False)
    _hints: dict[int, list[DirectoryKey]] = field(repr=False)

    @staticmethod
    def sign(body: Mapping[str, Any], key: PrivateKey) -> bytes:
        """The bundle file for ``body``, signed with the operator's log key."""
        data = canonical_json(dict(body))
        signature = key.sign(TRUST_CONTEXT + data)
        envelope = {
            "bundle": body,
            "signature": base64.b64encode(signature).decode("ascii"),
            "signer": key.key_id,
        }
        return canonical_json(envelope) + b"\n"

    @classmethod
    def open(cls, data: bytes | str, log_vkey: str, *, now: int, max_age_ms: int) -> TrustBundle:
        """Verify a bundle file against the pinned log verifier key and its age."""
        verifier = NoteVerifier.from_vkey(log_vkey)
        obj = parse_json(data, max_size=MAX_BUNDLE_SIZE)
        if not isinstance(obj, dict) or set(obj) != {"bundle", "signature", "signer"}:
            raise InvalidInput(
                "not a trust bundle: expected bundle, signature and signer", code="invalid_bundle"
            )
        body = obj["bundle"]
        if not isinstance(body, dict) or body.get("version") != _VERSION:
            raise InvalidInput("unsupported trust bundle version", code="invalid_bundle")
        try:
            signature = base64.b64decode(str(obj["signature"]), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(
                "the bundle signature is not base64", code="invalid_bundle"
            ) from None
        if obj["signer"] != verifier.public_key.key_id or not verifier.public_key.verify(
            signature, TRUST_CONTEXT + canonical_json(body)
        ):
            raise SignatureError(
                "the trust bundle is not signed by the pinned log key "
                "(tampered with, or from another operator)",
                code="bundle_signature",
            )
        if body.get("origin") != verifier.name:
            raise VerificationError(
                f"the bundle is for log {body.get('origin')!r}, not {verifier.name!r}",
                code="bundle_origin",
            )
        created = body.get("created")
        if not isinstance(created, int) or isinstance(created, bool):
            raise InvalidInput("the bundle has no creation time", code="invalid_bundle")
        age = now - created
        if age < -MAX_CLOCK_SKEW_MS:
            raise VerificationError("the trust bundle is dated in the future: check the clock",
                                    code="bundle_from_future")  # fmt: skip
        if age > max_age_ms:
            raise VerificationError(
                f"the trust bundle is {age // 3_600_000} hours old, older "
                f"than the {max_age_ms // 3_600_000} hours allowed: fetch a "
                "new one",
                code="bundle_too_old",
            )
        checkpoint = open_checkpoint(
            str(body.get("checkpoint", "")), verifier, origin=verifier.name
        )
        return replace(cls._index(body), checkpoint=checkpoint)

    @classmethod
    def _index(cls, body: Mapping[str, Any]) -> TrustBundle:
        prefixes: dict[str, tuple[str, str]] = {}
        hints: dict[int, list[DirectoryKey]] = {}
        try:
            for actor in body["actors"]:
                owner = (str(actor["actor_id"]), str(actor["name"]))
                for prefix in actor["prefixes"]:
                    prefixes[str(prefix)] = owner
                for entry in actor["keys"]:
                    key = PublicKey.from_text(entry["key"])
                    hints.setdefault(bytes.fromhex(key.key_id[:2])[0], []).append(
                        DirectoryKey(
                            key,
                            owner[0],
                            int(entry["effective_time"]),
                            int(entry["compromised_since"]),
                        )
                    )
            resolvers = tuple(str(r).rstrip("/") for r in body["resolvers"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(
                "the trust bundle's actor list is malformed", code="invalid_bundle"
            ) from None
        return cls(
            body, int(body["created"]), str(body["origin"]), resolvers, None, prefixes, hints
        )

    # --- KeyDirectory ---------------------------------------------------------------------

    def producer_of(self, gtin: str) -> tuple[str, str] | None:
        prefixes = self._prefixes
        for k in range(4, 13):  # the GTIN was validated by the code parser
            owner = prefixes.get(gtin[1 : 1 + k])
            if owner is not None:
                return owner
        return None

    def keys_with_hint(self, hint: int) -> Sequence[DirectoryKey]:
        return self._hints.get(hint, ())

    def is_resolver(self, stem: str) -> bool:
        return stem.rstrip("/").lower() in {r.lower() for r in self.resolvers}
