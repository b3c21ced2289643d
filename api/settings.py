"""Settings of the Tracemark service, from ``TRACEMARK_*`` environment variables.

    TRACEMARK_ENV            development | production (production refuses to start without
                             a real, encrypted operator key)
    TRACEMARK_HOME           folder of the default database and key (./.tracemark)
    TRACEMARK_DATABASE_URL   default: SQLite in the home; postgresql://... for PostgreSQL
    TRACEMARK_KEY_FILE       the operator's log key ($TRACEMARK_HOME/operator.key); it signs
                             checkpoints, trust bundles and overlay nonces
    TRACEMARK_KEY_PASSPHRASE decrypts the key file
    TRACEMARK_RESOLVER       the public base URL codes open (http://localhost:8000)
    TRACEMARK_CORS_ORIGINS   comma-separated origins allowed to call the API from pages
    TRACEMARK_RATE_LIMIT     requests per minute per client on public endpoints (600; 0 off)
    TRACEMARK_MAX_BODY       largest request body in bytes (1048576)
    TRACEMARK_SCAN_MAX_BYTES largest image POST /v1/scan accepts, in bytes (8388608)
    TRACEMARK_CLONE_WINDOW_S window of the scan-velocity clone rule (3600)
    TRACEMARK_CLONE_MAX_STREAMS / _PLACES / _DEVICES   its limits (1 / 3 / 50)
    TRACEMARK_OVERLAY_NONCE_S lifetime of the overlay's listing-QR nonce (600)
    TRACEMARK_SCAN_SALT      salt of the coarse device hashes kept with scans (random)
    TRACEMARK_WITNESSES      cosignature verifier keys of the log's witnesses, separated by
                             commas or whitespace (none)
    TRACEMARK_SCAN_CONCURRENCY images each worker decodes at once; more get 503 (2)
    TRACEMARK_TRUSTED_PROXIES addresses or networks of the reverse proxies whose
                             X-Forwarded-For is believed (none)
    TRACEMARK_OVERLAY_FRAME_ANCESTORS  CSP sources that may frame the overlay ('self' https:)

docs/operations.md has the same table.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from api.proxies import Network, parse_trusted_proxies
from ledger.checkpoint import CosignatureVerifier
from ledger.errors import InvalidInput
from ledger.verdicts import Thresholds

__all__ = ["Settings"]


def _int(env: Mapping[str, str], name: str, default: int, low: int = 0) -> int:
    text = env.get(name, "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, got {text!r}") from None
    if value < low:
        raise InvalidInput(f"{name} must be at least {low}")
    return value


def _witnesses(env: Mapping[str, str]) -> tuple[CosignatureVerifier, ...]:
    """``TRACEMARK_WITNESSES``: C2SP cosignature (type 0x04) verifier keys
    ``<name>+<hex key id>+base64(0x04 || key)``, separated by commas or whitespace; a key
    given twice counts once. A key that does not parse stops the service from starting."""
    found: dict[tuple[str, bytes], CosignatureVerifier] = {}
    for vkey in re.split(r"[\s,]+", env.get("TRACEMARK_WITNESSES", "")):
        if not vkey:
            continue
        try:
            verifier = CosignatureVerifier.from_vkey(vkey)
        except InvalidInput as exc:
            raise InvalidInput(f"TRACEMARK_WITNESSES: {exc.message}") from None
        found[(verifier.name, verifier.key_id)] = verifier
    return tuple(found.values())


def _frame_ancestors(env: Mapping[str, str]) -> str:
    """``TRACEMARK_OVERLAY_FRAME_ANCESTORS``: CSP sources that may frame the overlay."""
    text = " ".join(env.get("TRACEMARK_OVERLAY_FRAME_ANCESTORS", "").split())
    if not text:
        return "'self' https:"
    if not re.fullmatch(r"[A-Za-z0-9'*:/._\-\[\] ]{1,1000}", text):
        raise InvalidInput(
            "TRACEMARK_OVERLAY_FRAME_ANCESTORS: CSP sources separated by spaces "
            "(e.g. 'self' https://live.example), without ; or commas"
        )
    return text


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    home: Path = Path(".tracemark")
    database_url: str = ""
    key_file: Path = Path(".tracemark/operator.key")
    passphrase: bytes | None = None
    resolver: str = "http://localhost:8000"
    cors_origins: tuple[str, ...] = ()
    rate_limit_per_minute: int = 600
    max_body_bytes: int = 1 << 20
    scan_max_bytes: int = 8 << 20
    thresholds: Thresholds = field(default_factory=Thresholds)
    scan_salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    overlay_nonce_window_s: int = 600
    witnesses: tuple[CosignatureVerifier, ...] = ()
    scan_concurrency: int = 2
    trusted_proxies: tuple[Network, ...] = ()
    overlay_frame_ancestors: str = "'self' https:"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        mode = env.get("TRACEMARK_ENV", "development")
        if mode not in ("development", "production"):
            raise InvalidInput("TRACEMARK_ENV must be development or production")
        home = Path(env.get("TRACEMARK_HOME", ".tracemark"))
        url = env.get("TRACEMARK_DATABASE_URL") or f"sqlite:///{home / 'tracemark.db'}"
        origins = tuple(
            o.strip() for o in env.get("TRACEMARK_CORS_ORIGINS", "").split(",") if o.strip()
        )
        passphrase = env.get("TRACEMARK_KEY_PASSPHRASE")
        salt = env.get("TRACEMARK_SCAN_SALT")
        return cls(
            env=mode,
            home=home,
            database_url=url,
            key_file=Path(env.get("TRACEMARK_KEY_FILE") or home / "operator.key"),
            passphrase=passphrase.encode() if passphrase else None,
            resolver=env.get("TRACEMARK_RESOLVER", "http://localhost:8000").rstrip("/"),
            cors_origins=origins,
            rate_limit_per_minute=_int(env, "TRACEMARK_RATE_LIMIT", 600),
            max_body_bytes=_int(env, "TRACEMARK_MAX_BODY", 1 << 20, low=1024),
            scan_max_bytes=_int(env, "TRACEMARK_SCAN_MAX_BYTES", 8 << 20, low=1024),
            thresholds=Thresholds(
                window_ms=_int(env, "TRACEMARK_CLONE_WINDOW_S", 3600, low=1) * 1000,
                max_streams=_int(env, "TRACEMARK_CLONE_MAX_STREAMS", 1, low=1),
                max_places=_int(env, "TRACEMARK_CLONE_MAX_PLACES", 3, low=1),
                max_devices=_int(env, "TRACEMARK_CLONE_MAX_DEVICES", 50, low=1),
            ),
            scan_salt=salt.encode() if salt else secrets.token_bytes(16),
            overlay_nonce_window_s=_int(env, "TRACEMARK_OVERLAY_NONCE_S", 600, low=60),
            witnesses=_witnesses(env),
            scan_concurrency=_int(env, "TRACEMARK_SCAN_CONCURRENCY", 2, low=1),
            trusted_proxies=parse_trusted_proxies(env.get("TRACEMARK_TRUSTED_PROXIES", "")),
            overlay_frame_ancestors=_frame_ancestors(env),
        )
