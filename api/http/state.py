"""The one place that builds the HTTP app's state: ``build_state(settings)``.

From the settings it builds, once per app and in this order: the operator key, the log
service over its store, the verifier, the metrics, the client rate limiter, the checkpoint
cache of the log routes, and the platform state (platform tables, webhook dispatcher and its
worker, per-key limiters). Nothing else builds state: routes receive it through the typed
dependencies of api/http/deps.py, the app's middleware gets it from api/http/app.py.

Tests inject a ready ``LogService`` (``build_state(settings, service=...)``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from api.accounts import Accounts
from api.http.checkpoints import CheckpointCache, WitnessView
from api.http.ratelimit import RateLimiter
from api.jobs import JobRunner
from api.metrics import Metrics
from api.passkeys import Ceremonies
from api.settings import Settings, WebhookSettings
from api.webhooks import Dispatcher, Worker
from ledger import errors
from ledger.keyfile import load_private_key
from ledger.keys import PrivateKey
from ledger.ports.documents import DocumentStore
from ledger.ports.platform import ApiKey, PlatformStore
from ledger.storage.documents import MemoryDocuments, open_documents
from ledger.storage.platform import platform_store
from ledger.storage.sql.console import SqlConsoleStore, memory_console_store
from ledger.storage.sql.console_products import SqlProductStore
from ledger.storage.sql.log import SqlStore
from ledger.usecases.compliance import ComplianceWatch
from ledger.usecases.retention import DeviceSalts, Pruner
from ledger.usecases.service import LogService, now_ms
from ledger.usecases.verify import Verifier

__all__ = [
    "REPORTS_PER_MINUTE",
    "AppState",
    "ConsoleState",
    "PlatformState",
    "ScanSlots",
    "build_state",
    "load_operator_key",
]

#: Reports a client may make per minute (at most; never more than TRACEMARK_RATE_LIMIT).
REPORTS_PER_MINUTE = 10


@dataclass
class PlatformState:
    """The platform API's part: its tables, the webhook dispatcher and delivery worker, and
    one rate limiter per API key (in the app limiter's storage, shared by workers)."""

    store: PlatformStore
    dispatcher: Dispatcher
    config: WebhookSettings
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    worker: Worker | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: The app's limiter: keys are limited in its storage (shared by workers and replicas).
    base_limiter: RateLimiter | None = None

    def limiter(self, key: ApiKey) -> RateLimiter:
        with self.lock:
            found = self.limiters.get(key.key_id)
            if found is None or found.per_minute != key.rate_limit:
                base = self.base_limiter
                found = self.limiters[key.key_id] = (
                    base.with_rate(key.rate_limit, "key")
                    if base is not None
                    else RateLimiter(key.rate_limit, policy="key")
                )
            return found

    def start(self) -> None:
        """Run the delivery worker (while the app serves; TRACEMARK_WEBHOOK_WORKER=0: never)."""
        if self.worker is None and self.config.worker:
            self.worker = Worker(self.dispatcher, interval_s=self.config.interval_s)
            self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


@dataclass
class ConsoleState:
    """The web console's part (api/http/routes/console.py): accounts and sessions, passkey
    ceremonies, the sign-in rate limiter, and the console's origin (the public URL)."""

    accounts: Accounts
    ceremonies: Ceremonies
    signin_limiter: RateLimiter
    origin: str
    #: The producer console's products: vi/en names and images (decision 46).
    products: SqlProductStore | None = None


class ScanSlots:
    """How many images this app (one worker) decodes at once, and at most (``POST /v1/scan``;
    counted on the event loop, so no lock)."""

    def __init__(self, size: int) -> None:
        self.size, self.busy = size, 0


@dataclass
class AppState:
    settings: Settings
    service: LogService
    verifier: Verifier
    platform: PlatformState
    metrics: Metrics = field(default_factory=Metrics)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(600))
    log_key: PrivateKey | None = None
    #: This server's own witness key, when it is a witness of other logs (settings.witness_role).
    witness_key: PrivateKey | None = None
    #: Which witnesses cosigned a tree size (None-valued when none are configured).
    witness_view: WitnessView | None = None
    #: The log routes' recent checkpoint notes, trust bundle and key check.
    checkpoints: CheckpointCache = field(default_factory=CheckpointCache)
    scan_slots: ScanSlots = field(default_factory=lambda: ScanSlots(2))
    #: Reports per client and minute (``POST /v1/reports``, the report form), on top of the
    #: public limit; None: off.
    report_limiter: RateLimiter | None = None
    #: Serialised parts of verify results by code and snapshot (api/http/verification.py).
    rendered: dict[Any, bytes] = field(default_factory=dict)
    console: ConsoleState | None = None
    #: The content-addressed document store (TRACEMARK_DOCUMENT_STORE).
    documents: DocumentStore = field(default_factory=MemoryDocuments)
    #: Attestation JSON by subject and snapshot, with the time it holds until (attested.py).
    attested: dict[Any, tuple[int, Any]] = field(default_factory=dict)
    #: Unknown short codes a client may look up per minute (``GET /s/{code}``), in the
    #: app limiter's storage; built from the settings when first needed.
    short_code_limiter: RateLimiter | None = None

    def short_codes_limit(self) -> RateLimiter:
        if self.short_code_limiter is None:
            rate = self.settings.short_code_misses_per_minute
            self.short_code_limiter = self.limiter.with_rate(rate, "short-codes")
        return self.short_code_limiter

    #: Background jobs with progress (the console's print sheets; api/jobs.py).
    jobs: JobRunner | None = None

    #: Device hashes with a rotating salt (None: built from the settings on first use).
    device_salts: DeviceSalts | None = None
    #: The background prune of data outside the log (started in the app's lifespan).
    pruner: Pruner | None = None

    def __post_init__(self) -> None:
        retention = self.settings.retention
        if self.device_salts is None:
            self.device_salts = DeviceSalts(
                self.service.store, retention.salt_period, pepper=self.settings.scan_salt
            )
        if self.pruner is None:
            self.pruner = Pruner(self.service.store, retention, now_ms)


def load_witness_key(settings: Settings) -> PrivateKey | None:
    """The witness role's own key (not the operator's); None when not a witness."""
    role = settings.witness_role
    if role is None:
        return None
    if not role.key_file.exists():
        raise errors.InvalidInput(f"TRACEMARK_WITNESS_NAME needs its key {role.key_file}")
    key, warnings = load_private_key(role.key_file, role.passphrase)
    if settings.production and warnings:
        raise errors.InvalidInput(
            f"TRACEMARK_ENV=production refuses this witness key: {warnings[0]}"
        )
    return key


def load_operator_key(settings: Settings) -> PrivateKey | None:
    """The operator key; production refuses to start without a real, encrypted one."""
    if not settings.key_file.exists():
        if settings.production:
            raise errors.InvalidInput(
                f"TRACEMARK_ENV=production needs the operator key {settings.key_file}"
            )
        return None
    key, warnings = load_private_key(settings.key_file, settings.passphrase)
    if settings.production and warnings:
        raise errors.InvalidInput(
            f"TRACEMARK_ENV=production refuses this operator key: {warnings[0]}"
        )
    return key


def build_state(settings: Settings, *, service: LogService | None = None) -> AppState:
    """Everything the app serves with, built from ``settings`` (``service`` is injected by
    tests). Fails fast on a missing or wrong operator key or secrets key: opening the
    platform tables opens (and re-seals under the current key) every stored webhook secret."""
    if service is None:
        service = LogService(
            SqlStore(settings.database_url),
            log_key=load_operator_key(settings),
            admission=settings.admission,
        )
    verifier = Verifier(
        service,
        resolvers=[settings.resolver],
        thresholds=settings.thresholds,
        retention_ms=settings.retention.longest_scans,
    )
    metrics = Metrics()
    limiter = RateLimiter(
        settings.rate_limit_per_minute,
        settings.rate_limit_storage,
        namespace=settings.rate_limit_namespace,
        on_error=metrics.rate_limit_error,
    )
    documents = open_documents(settings.document_store, service.store)
    platform = _platform(settings, service, limiter, documents)
    return AppState(
        settings,
        service,
        verifier,
        platform,
        metrics,
        limiter,
        log_key=service.log_key,
        witness_key=load_witness_key(settings),
        witness_view=WitnessView(service, settings.witnesses, settings.witness_quorum),
        scan_slots=ScanSlots(settings.scan_concurrency),
        report_limiter=limiter.with_rate(
            min(REPORTS_PER_MINUTE, settings.rate_limit_per_minute), "reports"
        ),
        console=_console(settings, service, limiter),
        documents=documents,
        jobs=JobRunner(),
    )


def _console(settings: Settings, service: LogService, limiter: RateLimiter) -> ConsoleState:
    """The console's tables beside the log's (a private in-memory SQLite beside the fake)."""
    # TOTP secrets are sealed at rest in the SQL tables, like webhook secrets.
    store = (
        SqlConsoleStore(service.store.engine, settings.secrets_box())
        if isinstance(service.store, SqlStore)
        else memory_console_store()
    )
    origin = settings.resolver.rstrip("/")
    return ConsoleState(
        Accounts(store, settings.console),
        Ceremonies(store, origin),
        limiter.with_rate(settings.console.signin_per_minute, "signin"),
        origin,
        SqlProductStore(store.engine),
    )


def _platform(
    settings: Settings, service: LogService, limiter: RateLimiter, documents: DocumentStore
) -> PlatformState:
    # Only the SQL tables seal secrets at rest; the fake keeps nothing (and makes no key file).
    secrets = settings.secrets_box() if isinstance(service.store, SqlStore) else None
    store = platform_store(service.store, secrets)
    dispatcher = Dispatcher(store, service.store, settings.webhooks)
    dispatcher.compliance = ComplianceWatch(
        service.store, store, policy=settings.compliance, documents=documents
    )
    dispatcher.compliance_interval_ms = settings.compliance_interval_s * 1000
    dispatcher.start_cursor()
    return PlatformState(store, dispatcher, settings.webhooks, base_limiter=limiter)
