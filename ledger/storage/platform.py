"""The platform's tables next to a log store (``platform_store``); the records and the
``PlatformStore`` port are in ``ledger.ports.platform``, the stores in ``ledger/storage/sql/``
and ``ledger/storage/memory/``."""

from __future__ import annotations

from ledger.ports.log import LogStore
from ledger.ports.platform import PlatformStore
from ledger.secret_box import SecretBox

__all__ = ["platform_store"]


def platform_store(store: LogStore, secrets: SecretBox | None = None) -> PlatformStore:
    """The platform tables next to a log store: in its database (webhook secrets sealed by
    ``secrets``), or in memory for the fake (nothing at rest). The store decides."""
    return store.platform(secrets)
