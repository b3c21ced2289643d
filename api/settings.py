"""Settings of the Tracemark service, from ``TRACEMARK_*`` environment variables.

    TRACEMARK_ENV            development | production (production refuses to start without
                             a real, encrypted operator key)
    TRACEMARK_HOME           folder of the default database and key (./.tracemark)
    TRACEMARK_DATABASE_URL   default: SQLite in the home; postgresql://... for PostgreSQL
    TRACEMARK_KEY_FILE       the operator's log key ($TRACEMARK_HOME/operator.key); it signs
                             checkpoints, trust bundles and overlay nonces
    TRACEMARK_KEY_PASSPHRASE decrypts the key file
    TRACEMARK_PUBLIC_URL     the public base URL of every URL the service prints or encodes:
                             codes, pages, the overlay's QR (http://localhost:8000 in
                             development; ``tracemark serve`` derives it from its port)
    TRACEMARK_RESOLVER       its older name, still read (an error when both disagree)
    TRACEMARK_CORS_ORIGINS   comma-separated origins allowed to call the API from pages
    TRACEMARK_RATE_LIMIT     requests per minute per client on public endpoints (600; 0 off)
    TRACEMARK_MAX_BODY       largest request body in bytes (1048576)
    TRACEMARK_SCAN_MAX_BYTES largest image POST /v1/scan accepts, in bytes (8388608)
    TRACEMARK_CLONE_WINDOW_S window of the scan-velocity clone rule (3600)
    TRACEMARK_CLONE_MAX_STREAMS / _PLACES / _DEVICES   its limits (1 / 3 / 50)
    TRACEMARK_OVERLAY_NONCE_S lifetime of the overlay's listing-QR nonce (600)
    TRACEMARK_SHORT_CODE_TTL_S how long an overlay's short code (/s/CODE) lives after the
                             overlay last showed it (3600; at least 60)
    TRACEMARK_SHORT_CODE_MISSES unknown or expired short codes a client may look up per
                             minute before every lookup is refused (20; at least 1)
    TRACEMARK_SCAN_SALT      a pepper mixed into the device hashes kept with scans, never
                             stored with them (none); the salt itself rotates (below)
    TRACEMARK_DEVICE_SALT_HOURS how long one device-hash salt is used before a new random one
                             (24); past salts are forgotten by the prune
    TRACEMARK_RETAIN_SCANS_DAYS / _WEAK_SIGNALS_DAYS / _WEBHOOK_DELIVERIES_DAYS /
    _SHOPPER_REPORTS_DAYS    retention of vouched scans, anonymous scans, finished webhook
                             deliveries, shoppers' reports (30 / 7 / 30 / 90; 0 keeps them)
    TRACEMARK_PRUNE_EVERY_S  how often the server prunes past those windows (3600; 0 never)
    TRACEMARK_WITNESSES      cosignature verifier keys of the log's witnesses, separated by
                             commas or whitespace (none)
    TRACEMARK_WITNESS_QUORUM how many of TRACEMARK_WITNESSES must cosign a checkpoint for it
                             to count as witnessed (1; at most their number)
    TRACEMARK_WITNESS_NAME   this server as a C2SP witness of other logs: its key name (none:
                             not a witness); with TRACEMARK_WITNESS_KEY_FILE (its own Ed25519
                             key, not the operator's; TRACEMARK_WITNESS_KEY_PASSPHRASE) and
                             TRACEMARK_WITNESS_LOGS (note verifier keys of the logs it follows,
                             separated by commas or whitespace; a key's name is its origin)
    TRACEMARK_SECRETS_KEY    keys that encrypt webhook secrets at rest, <id>:<base64url 32
                             bytes>, the first encrypts (required in production; development
                             makes $TRACEMARK_HOME/secrets.key)
    TRACEMARK_MAX_BACKDATE_H how many hours before the log's clock an event may be dated (72);
                             the CLI's local log reads it too
    TRACEMARK_SCAN_CONCURRENCY images each worker decodes at once; more get 503 (2)
    TRACEMARK_RATE_LIMIT_STORAGE   where rate-limit counts live: memory:// (this process) or
                             redis://host:port/db, shared by all workers and replicas
    TRACEMARK_RATE_LIMIT_NAMESPACE prefix of the keys in that storage (tracemark)
    TRACEMARK_LOG_FORMAT     json | text (json in production, text in development)
    TRACEMARK_LOG_LEVEL      debug | info | warning | error (info)
    TRACEMARK_TRUSTED_PROXIES addresses or networks of the reverse proxies whose
                             X-Forwarded-For is believed (none)
    TRACEMARK_OVERLAY_FRAME_ANCESTORS  CSP sources that may frame the overlay ('self' https:)
    TRACEMARK_TIMEZONE       IANA time zone of every time the viewer pages show
                             (Asia/Ho_Chi_Minh); an unknown name stops the start-up
    TRACEMARK_WEBHOOK_WORKER / _MAX_ATTEMPTS / _TIMEOUT_S / _ALLOW_PRIVATE   webhook delivery
                             (``WebhookSettings``; 1 / 8 / 5 / 0)
    TRACEMARK_DOCUMENT_STORE where attested documents live: sql (the database), a folder
                             file:///path, or s3://bucket/prefix?endpoint=https://host (sql)
    TRACEMARK_DOCUMENT_MAX_BYTES largest document PUT /v1/documents accepts (10485760)
    TRACEMARK_COMPLIANCE_KINDS qualification kinds a session's listings need, comma-separated
                             (none: at least one valid qualification of any kind per GTIN)
    TRACEMARK_COMPLIANCE_INTERVAL_S how often the webhook worker re-checks sessions for
                             compliance lost to time (expiry) (60; 0 never)

docs/operations.md has the same table.
"""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from api.proxies import Network, parse_trusted_proxies
from ledger.errors import InvalidInput
from ledger.keyfile import load_or_create_secrets_key
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.note import NoteVerifier, check_key_name
from ledger.ports.documents import MAX_DOCUMENT_BYTES
from ledger.provenance.events.attestations import QUALIFICATION_KINDS
from ledger.provenance.rules.common import Admission
from ledger.secret_box import SecretBox
from ledger.usecases.retention import DAY_MS, Retention
from ledger.verdicts import Thresholds
from ledger.verdicts.compliance import CompliancePolicy

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "DEFAULT_TIMEZONE",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "PUBLIC_URL_HINT",
    "RATE_LIMIT_SCHEMES",
    "ConsoleSettings",
    "Settings",
    "WebhookSettings",
    "WitnessRole",
    "admission_from_env",
    "compliance_from_env",
    "console_settings_from_env",
    "is_loopback_url",
    "local_url",
    "parse_public_url",
    "parse_timezone",
    "public_url_from_env",
    "retention_from_env",
    "short_code_ttl_from_env",
    "thresholds_from_env",
    "webhook_settings_from_env",
]

#: URL schemes of TRACEMARK_RATE_LIMIT_STORAGE (api/http/ratelimit.py).
RATE_LIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("debug", "info", "warning", "error")
#: The public URL of a development server on this machine (``tracemark serve``'s default port).
DEFAULT_PUBLIC_URL = "http://localhost:8000"
#: How to set the public URL, for one-line error messages.
PUBLIC_URL_HINT = (
    "set TRACEMARK_PUBLIC_URL (or --public-url) to the address phones will open, "
    "e.g. https://verify.example.com"
)


def parse_public_url(text: str, *, name: str = "TRACEMARK_PUBLIC_URL") -> str:
    """A public base URL (``http(s)://host[:port][/path]``) without its trailing slash.

    Codes sign the GS1 element string, never the host (docs/format.md), so the URL is only
    where they open; still, a URL with credentials, a query or a fragment would be printed on
    every label, so it is refused."""
    url = text.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        well_formed = parts.port is None or parts.port > 0  # .port raises for a bad port
    except ValueError:
        well_formed = False
    if not (
        well_formed
        and parts.scheme in ("http", "https")
        and parts.hostname
        and parts.username is None
        and not parts.query
        and not parts.fragment
        and len(url) <= 200
        and not any(c.isspace() for c in url)
    ):
        raise InvalidInput(f"{name} must be an http(s)://host[:port][/path] URL, got {text!r}")
    return url


def is_loopback_url(url: str) -> bool:
    """Does ``url`` name this machine only (localhost, ``*.localhost``, 127.0.0.0/8, ::1, or
    the unspecified 0.0.0.0 / ::)? A label printed with it opens nowhere else."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def local_url(host: str, port: int) -> str:
    """The URL a browser on this machine opens for a server listening on ``host:port``."""
    if host in ("127.0.0.1", "0.0.0.0", "::", "::1", ""):  # noqa: S104 - a name, not a bind
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def public_url_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """``TRACEMARK_PUBLIC_URL``, or its older name ``TRACEMARK_RESOLVER``; None when neither
    is set. Both set to different URLs is an error: one of them would be printed on labels
    without anyone noticing."""
    env = os.environ if env is None else env
    new, old = (
        env.get("TRACEMARK_PUBLIC_URL", "").strip(),
        env.get("TRACEMARK_RESOLVER", "").strip(),
    )
    if new and old and parse_public_url(new) != parse_public_url(old, name="TRACEMARK_RESOLVER"):
        raise InvalidInput(
            f"TRACEMARK_PUBLIC_URL ({new}) and its older name TRACEMARK_RESOLVER ({old}) "
            "disagree: set only TRACEMARK_PUBLIC_URL"
        )
    if new:
        return parse_public_url(new)
    if old:
        return parse_public_url(old, name="TRACEMARK_RESOLVER")
    return None


def short_code_ttl_from_env(env: Mapping[str, str] | None = None) -> int:
    """``TRACEMARK_SHORT_CODE_TTL_S`` (3600, at least 60): the CLI reads it too."""
    return _int(os.environ if env is None else env, "TRACEMARK_SHORT_CODE_TTL_S", 3600, low=60)


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


def thresholds_from_env(env: Mapping[str, str] | None = None) -> Thresholds:
    """The clone rules' limits, ``TRACEMARK_CLONE_*``."""
    env = os.environ if env is None else env
    return Thresholds(
        window_ms=_int(env, "TRACEMARK_CLONE_WINDOW_S", 3600, low=1) * 1000,
        max_streams=_int(env, "TRACEMARK_CLONE_MAX_STREAMS", 1, low=1),
        max_places=_int(env, "TRACEMARK_CLONE_MAX_PLACES", 3, low=1),
        max_devices=_int(env, "TRACEMARK_CLONE_MAX_DEVICES", 50, low=1),
    )


def retention_from_env(env: Mapping[str, str] | None = None) -> Retention:
    """``TRACEMARK_RETAIN_*`` (days, 0 keeps), ``TRACEMARK_DEVICE_SALT_HOURS`` and
    ``TRACEMARK_PRUNE_EVERY_S`` (0: the server never prunes by itself)."""
    env = os.environ if env is None else env
    return Retention(
        scans=_int(env, "TRACEMARK_RETAIN_SCANS_DAYS", 30) * DAY_MS,
        weak_signals=_int(env, "TRACEMARK_RETAIN_WEAK_SIGNALS_DAYS", 7) * DAY_MS,
        webhook_deliveries=_int(env, "TRACEMARK_RETAIN_WEBHOOK_DELIVERIES_DAYS", 30) * DAY_MS,
        shopper_reports=_int(env, "TRACEMARK_RETAIN_SHOPPER_REPORTS_DAYS", 90) * DAY_MS,
        salt_period=_int(env, "TRACEMARK_DEVICE_SALT_HOURS", 24, low=1) * 3_600_000,
        prune_every=_int(env, "TRACEMARK_PRUNE_EVERY_S", 3600) * 1000,
    )


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


def _quorum(env: Mapping[str, str], witnesses: int) -> int:
    """``TRACEMARK_WITNESS_QUORUM``: k of the n configured witnesses (1 by default)."""
    quorum = _int(env, "TRACEMARK_WITNESS_QUORUM", 1, low=1)
    if witnesses and quorum > witnesses:
        raise InvalidInput(
            f"TRACEMARK_WITNESS_QUORUM is {quorum}, above the {witnesses} TRACEMARK_WITNESSES"
        )
    return quorum


@dataclass(frozen=True)
class WitnessRole:
    """This server as a C2SP tlog-witness of other logs (``POST /witness/add-checkpoint``)."""

    name: str
    key_file: Path
    passphrase: bytes | None
    #: The logs it follows: their note verifier keys; each key's name is the log's origin.
    logs: tuple[NoteVerifier, ...]


def _witness_role(env: Mapping[str, str], home: Path) -> WitnessRole | None:
    """``TRACEMARK_WITNESS_*``; None when TRACEMARK_WITNESS_NAME is unset."""
    name = env.get("TRACEMARK_WITNESS_NAME", "").strip()
    if not name:
        return None
    try:
        check_key_name(name)
    except InvalidInput as exc:
        raise InvalidInput(f"TRACEMARK_WITNESS_NAME: {exc.message}") from None
    logs: dict[str, NoteVerifier] = {}
    for vkey in re.split(r"[\s,]+", env.get("TRACEMARK_WITNESS_LOGS", "")):
        if not vkey:
            continue
        try:
            verifier = NoteVerifier.from_vkey(vkey)
        except InvalidInput as exc:
            raise InvalidInput(f"TRACEMARK_WITNESS_LOGS: {exc.message}") from None
        logs[vkey] = verifier
    if not logs:
        raise InvalidInput("TRACEMARK_WITNESS_NAME needs TRACEMARK_WITNESS_LOGS (logs to follow)")
    passphrase = env.get("TRACEMARK_WITNESS_KEY_PASSPHRASE")
    return WitnessRole(
        name,
        Path(env.get("TRACEMARK_WITNESS_KEY_FILE") or home / "witness.key"),
        passphrase.encode() if passphrase else None,
        tuple(logs.values()),
    )


def admission_from_env(env: Mapping[str, str] | None = None) -> Admission:
    """The admission rules' settings: ``TRACEMARK_MAX_BACKDATE_H`` (hours, default 72)."""
    env = os.environ if env is None else env
    hours = _int(env, "TRACEMARK_MAX_BACKDATE_H", 72, low=0)
    return Admission(max_backdate_ms=hours * 3_600_000)


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


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    return default if not text else text in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Webhook delivery settings (``TRACEMARK_WEBHOOK_*``; docs/api.md; api/webhooks.py).

    Development allows loopback URLs (local receivers, tests); private, link-local and other
    non-global addresses need ``TRACEMARK_WEBHOOK_ALLOW_PRIVATE=1`` in any mode.
    """

    allow_loopback: bool = True
    allow_private: bool = False
    worker: bool = True
    interval_s: float = 1.0
    max_attempts: int = 8
    base_delay_ms: int = 10_000
    max_delay_ms: int = 3_600_000
    timeout_s: float = 5.0
    lease_ms: int = 60_000
    batch: int = 50
    lanes: int = 16

    def delay_ms(self, attempts: int) -> int:
        """Wait after the ``attempts``-th failure: base, 2x base, 4x base ... (capped)."""
        return int(min(self.max_delay_ms, self.base_delay_ms * 2 ** max(0, attempts - 1)))


def webhook_settings_from_env(
    env: Mapping[str, str] | None = None, *, production: bool
) -> WebhookSettings:
    """``TRACEMARK_WEBHOOK_ALLOW_PRIVATE``, ``_WORKER``, ``_MAX_ATTEMPTS``, ``_TIMEOUT_S``."""
    env = os.environ if env is None else env
    private = _flag(env, "TRACEMARK_WEBHOOK_ALLOW_PRIVATE", False)
    try:
        attempts = int(env.get("TRACEMARK_WEBHOOK_MAX_ATTEMPTS") or 8)
        timeout = float(env.get("TRACEMARK_WEBHOOK_TIMEOUT_S") or 5)
    except ValueError:
        raise InvalidInput("TRACEMARK_WEBHOOK_* must be numbers") from None
    return WebhookSettings(
        allow_loopback=private or not production,
        allow_private=private,
        worker=_flag(env, "TRACEMARK_WEBHOOK_WORKER", True),
        max_attempts=max(1, min(attempts, 20)),
        timeout_s=max(0.5, min(timeout, 30.0)),
    )


DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


def parse_timezone(name: str) -> str:
    """An IANA time zone name (``Asia/Ho_Chi_Minh``), checked against the tz database (the
    system's, else the ``tzdata`` package); InvalidInput with the name for anything else."""
    name = name.strip()
    try:
        if not name or len(name) > 64:
            raise ValueError(name)
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise InvalidInput(
            f"TRACEMARK_TIMEZONE {name!r} is not an IANA time zone name "
            f"(like {DEFAULT_TIMEZONE} or Europe/Berlin)"
        ) from None
    return name


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The web console (TRACEMARK_CONSOLE_*): session idle and absolute lifetimes, how long
    an invite link lives, and how many sign-in attempts a client or an account name gets per
    minute."""

    session_idle_s: int = 30 * 60
    session_max_s: int = 12 * 3600
    invite_s: int = 7 * 24 * 3600
    signin_per_minute: int = 10


def console_settings_from_env(env: Mapping[str, str]) -> ConsoleSettings:
    idle = _int(env, "TRACEMARK_CONSOLE_SESSION_IDLE_S", 30 * 60, low=60)
    most = _int(env, "TRACEMARK_CONSOLE_SESSION_MAX_S", 12 * 3600, low=300)
    if idle > most:
        raise InvalidInput(
            "TRACEMARK_CONSOLE_SESSION_IDLE_S must not exceed TRACEMARK_CONSOLE_SESSION_MAX_S"
        )
    return ConsoleSettings(
        session_idle_s=idle,
        session_max_s=most,
        invite_s=_int(env, "TRACEMARK_CONSOLE_INVITE_S", 7 * 24 * 3600, low=300),
        signin_per_minute=_int(env, "TRACEMARK_CONSOLE_SIGNIN_PER_MINUTE", 10, low=1),
    )


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    home: Path = Path(".tracemark")
    database_url: str = ""
    key_file: Path = Path(".tracemark/operator.key")
    passphrase: bytes | None = None
    #: The public base URL (TRACEMARK_PUBLIC_URL, formerly TRACEMARK_RESOLVER): the resolver
    #: the codes open, and the stem of every URL the service prints or encodes.
    resolver: str = DEFAULT_PUBLIC_URL
    cors_origins: tuple[str, ...] = ()
    rate_limit_per_minute: int = 600
    max_body_bytes: int = 1 << 20
    scan_max_bytes: int = 8 << 20
    thresholds: Thresholds = field(default_factory=Thresholds)
    #: A pepper of device hashes (TRACEMARK_SCAN_SALT); the salts rotate (``retention``).
    scan_salt: bytes = b""
    #: Retention windows outside the log, the device-salt period, the prune interval.
    retention: Retention = field(default_factory=Retention)
    overlay_nonce_window_s: int = 600
    #: An overlay's short code lives this long after the overlay last showed it.
    short_code_ttl_s: int = 3600
    #: Unknown or expired short codes one client may look up per minute (enumeration).
    short_code_misses_per_minute: int = 20
    witnesses: tuple[CosignatureVerifier, ...] = ()
    #: How many of ``witnesses`` make a checkpoint witnessed (k of n).
    witness_quorum: int = 1
    #: This server as a witness of other logs (None: not a witness).
    witness_role: WitnessRole | None = None
    #: Seals webhook secrets at rest; None in development means $TRACEMARK_HOME/secrets.key.
    secrets_key: SecretBox | None = None
    admission: Admission = field(default_factory=Admission)
    scan_concurrency: int = 2
    rate_limit_storage: str = "memory://"
    rate_limit_namespace: str = "tracemark"
    log_format: str = "text"
    log_level: str = "info"
    trusted_proxies: tuple[Network, ...] = ()
    overlay_frame_ancestors: str = "'self' https:"
    #: The IANA time zone the viewer pages show times in (TRACEMARK_TIMEZONE).
    timezone: str = DEFAULT_TIMEZONE
    #: Webhook delivery; left out (None), read from TRACEMARK_WEBHOOK_* for this mode.
    webhooks: WebhookSettings = None  # type: ignore[assignment]
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    #: The document store (ledger/storage/documents): sql, file:///folder or s3://bucket.
    document_store: str = "sql"
    document_max_bytes: int = MAX_DOCUMENT_BYTES
    #: What a stream session needs to be compliant (ledger/verdicts/compliance.py).
    compliance: CompliancePolicy = field(default_factory=CompliancePolicy)
    compliance_interval_s: int = 60

    def __post_init__(self) -> None:
        if self.webhooks is None:
            webhooks = webhook_settings_from_env(production=self.production)
            object.__setattr__(self, "webhooks", webhooks)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def secrets_box(self) -> SecretBox:
        """The key that seals webhook secrets: TRACEMARK_SECRETS_KEY, or in development
        $TRACEMARK_HOME/secrets.key (made 0600 on first use)."""
        if self.secrets_key is not None:
            return self.secrets_key
        if self.production:
            raise InvalidInput("TRACEMARK_ENV=production needs TRACEMARK_SECRETS_KEY")
        return load_or_create_secrets_key(self.home / "secrets.key")

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
        secrets_text = env.get("TRACEMARK_SECRETS_KEY", "").strip()
        if not secrets_text and mode == "production":
            raise InvalidInput(
                "TRACEMARK_ENV=production needs TRACEMARK_SECRETS_KEY, the key that encrypts "
                "webhook secrets at rest (docs/operations.md, Webhook secrets at rest)"
            )
        salt = env.get("TRACEMARK_SCAN_SALT")
        return cls(
            env=mode,
            home=home,
            database_url=url,
            key_file=Path(env.get("TRACEMARK_KEY_FILE") or home / "operator.key"),
            passphrase=passphrase.encode() if passphrase else None,
            resolver=public_url_from_env(env) or DEFAULT_PUBLIC_URL,
            cors_origins=origins,
            rate_limit_per_minute=_int(env, "TRACEMARK_RATE_LIMIT", 600),
            max_body_bytes=_int(env, "TRACEMARK_MAX_BODY", 1 << 20, low=1024),
            scan_max_bytes=_int(env, "TRACEMARK_SCAN_MAX_BYTES", 8 << 20, low=1024),
            thresholds=thresholds_from_env(env),
            scan_salt=salt.encode() if salt else b"",
            retention=retention_from_env(env),
            overlay_nonce_window_s=_int(env, "TRACEMARK_OVERLAY_NONCE_S", 600, low=60),
            short_code_ttl_s=short_code_ttl_from_env(env),
            short_code_misses_per_minute=_int(env, "TRACEMARK_SHORT_CODE_MISSES", 20, low=1),
            witnesses=(witnesses := _witnesses(env)),
            witness_quorum=_quorum(env, len(witnesses)),
            witness_role=_witness_role(env, home),
            secrets_key=SecretBox.from_text(secrets_text) if secrets_text else None,
            admission=admission_from_env(env),
            scan_concurrency=_int(env, "TRACEMARK_SCAN_CONCURRENCY", 2, low=1),
            **_operations(env, production=mode == "production"),
            trusted_proxies=parse_trusted_proxies(env.get("TRACEMARK_TRUSTED_PROXIES", "")),
            overlay_frame_ancestors=_frame_ancestors(env),
            timezone=parse_timezone(env.get("TRACEMARK_TIMEZONE") or DEFAULT_TIMEZONE),
            webhooks=webhook_settings_from_env(env, production=mode == "production"),
            console=console_settings_from_env(env),
            **compliance_from_env(env),
        )


def compliance_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The document store and the compliance policy (``TRACEMARK_DOCUMENT_*``,
    ``TRACEMARK_COMPLIANCE_*``): the fields of ``Settings`` they set; the CLI reads them too."""
    env = os.environ if env is None else env
    store = (env.get("TRACEMARK_DOCUMENT_STORE") or "sql").strip()
    if not (store in ("sql", "memory") or store.startswith(("file:///", "s3://"))):
        raise InvalidInput(
            "TRACEMARK_DOCUMENT_STORE must be sql, file:///folder or s3://bucket?endpoint=..."
        )
    size = _int(env, "TRACEMARK_DOCUMENT_MAX_BYTES", MAX_DOCUMENT_BYTES, low=1024)
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"TRACEMARK_DOCUMENT_MAX_BYTES is at most {MAX_DOCUMENT_BYTES}")
    kinds = tuple(
        k.strip() for k in env.get("TRACEMARK_COMPLIANCE_KINDS", "").split(",") if k.strip()
    )
    try:
        policy = CompliancePolicy(kinds=tuple(dict.fromkeys(kinds)))
    except ValueError as exc:
        raise InvalidInput(
            f"TRACEMARK_COMPLIANCE_KINDS: {exc}; use {', '.join(QUALIFICATION_KINDS)}"
        ) from None
    return {
        "document_store": store,
        "document_max_bytes": size,
        "compliance": policy,
        "compliance_interval_s": _int(env, "TRACEMARK_COMPLIANCE_INTERVAL_S", 60),
    }


def _operations(env: Mapping[str, str], *, production: bool) -> dict[str, str]:
    """The rate-limit storage and the log settings."""
    storage = env.get("TRACEMARK_RATE_LIMIT_STORAGE") or "memory://"
    if storage.split("://", 1)[0] not in RATE_LIMIT_SCHEMES or "://" not in storage:
        raise InvalidInput(
            "TRACEMARK_RATE_LIMIT_STORAGE must be memory:// or redis://host:port/db "
            f"(schemes: {', '.join(RATE_LIMIT_SCHEMES)})"
        )
    namespace = env.get("TRACEMARK_RATE_LIMIT_NAMESPACE") or "tracemark"
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", namespace):
        raise InvalidInput("TRACEMARK_RATE_LIMIT_NAMESPACE must be 1-64 of A-Z a-z 0-9 _ . : -")
    log_format = (env.get("TRACEMARK_LOG_FORMAT") or ("json" if production else "text")).lower()
    if log_format not in LOG_FORMATS:
        raise InvalidInput("TRACEMARK_LOG_FORMAT must be json or text")
    log_level = (env.get("TRACEMARK_LOG_LEVEL") or "info").lower()
    if log_level not in LOG_LEVELS:
        raise InvalidInput(f"TRACEMARK_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return {
        "rate_limit_storage": storage,
        "rate_limit_namespace": namespace,
        "log_format": log_format,
        "log_level": log_level,
    }
