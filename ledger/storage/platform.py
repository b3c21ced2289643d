"""Platform state outside the log: API keys, webhooks, their delivery queue, watched listings.

Operational state, not evidence (like scan records): it never enters the log, and losing it
loses no provenance. Six tables, created next to the log's by ``SqlPlatformStore``:

    platform_api_keys    key id, platform name, optional actor, SHA-256 of the token, revoked
    platform_webhooks    a platform's URL, events and signing secret (soft-deleted)
    platform_deliveries  one event for one webhook: the durable queue (status, next attempt)
    platform_attempts    every delivery attempt: time, HTTP status, error, duration
    platform_watches     listings a platform verified (GTIN, seller, items), for recall fan-out
    platform_cursors     how far the recall poller has read the log

The parts: ``platform_port`` (records, API keys, delivery ids, the ``PlatformStore``
protocol), ``platform_sql`` (the tables and ``SqlPlatformStore``) and ``platform_memory``
(the fake, ``MemoryPlatformStore``, over a ``MemoryStore``). This module names them all and
picks one for a log store (``platform_store``).
"""

from __future__ import annotations

from ledger.ports.log import LogStore
from ledger.ports.platform import (
    API_KEY_PREFIX,
    CANCELLED,
    DELIVERED,
    FAILED,
    PENDING,
    ApiKey,
    Attempt,
    Delivery,
    PlatformStore,
    Watch,
    Webhook,
    api_key_id,
    delivery_id,
    matches_api_key,
    new_api_key,
)
from ledger.storage.memory.platform import MemoryPlatformStore
from ledger.storage.secret_box import SecretBox
from ledger.storage.sql.log import SqlStore
from ledger.storage.sql.platform import SqlPlatformStore, platform_metadata

__all__ = [
    "API_KEY_PREFIX",
    "CANCELLED",
    "DELIVERED",
    "FAILED",
    "PENDING",
    "ApiKey",
    "Attempt",
    "Delivery",
    "MemoryPlatformStore",
    "PlatformStore",
    "SqlPlatformStore",
    "Watch",
    "Webhook",
    "api_key_id",
    "delivery_id",
    "matches_api_key",
    "new_api_key",
    "platform_metadata",
    "platform_store",
]


def platform_store(store: LogStore, secrets: SecretBox | None = None) -> PlatformStore:
    """The platform tables next to a log store: in its database (webhook secrets sealed by
    ``secrets``), or in memory for the fake (nothing at rest)."""
    if isinstance(store, SqlStore):
        return SqlPlatformStore(store, secrets)
    return MemoryPlatformStore(store)
