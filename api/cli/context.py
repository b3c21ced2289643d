"""Where a command works: the home folder, the database URL and the operator key file.

``context(home, database_url, key_file)`` resolves the common options (api/cli/options.py);
``Context.service()`` opens the log service over the database, importing the storage (and
SQLAlchemy) only then: ``tracemark --help`` never loads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli.exits import BAD_INPUT, fail, handled
from api.cli.output import warn
from ledger.files import private_dir
from ledger.keyfile import load_private_key
from ledger.keys import PrivateKey

if TYPE_CHECKING:
    from ledger.storage.sql.log import SqlStore
    from ledger.usecases.service import LogService

__all__ = ["Context", "context", "passphrase"]


@dataclass
class Context:
    home: Path
    database_url: str
    key_file: Path

    def store(self) -> SqlStore:
        from ledger.storage.sql.log import SqlStore  # noqa: PLC0415 - loads SQLAlchemy

        return SqlStore(self.database_url)

    def service(self, *, with_key: bool = False, key: PrivateKey | None = None) -> LogService:
        """The log service over this database, with the admission rules of the environment
        (``TRACEMARK_MAX_BACKDATE_H``); signing with the operator key when asked."""
        from api.settings import admission_from_env  # noqa: PLC0415
        from ledger.usecases.service import LogService  # noqa: PLC0415 - loads the storage

        if key is None and with_key:
            key = self.load_key()
        with handled():
            admission = admission_from_env()
        return LogService(self.store(), log_key=key, admission=admission)

    def load_key(self) -> PrivateKey:
        key, warnings = load_private_key(self.key_file, passphrase())
        for warning in warnings:
            if "unencrypted" not in warning:
                warn(warning)
        return key


def passphrase() -> bytes | None:
    """TRACEMARK_KEY_PASSPHRASE, which encrypts and decrypts key files."""
    value = os.environ.get("TRACEMARK_KEY_PASSPHRASE")
    return value.encode("utf-8") if value else None


def context(home: Path, database_url: str | None, key_file: Path | None) -> Context:
    url = database_url or f"sqlite:///{home / 'tracemark.db'}"
    if url.startswith("sqlite:///") and ":memory:" not in url:
        folder = Path(url.removeprefix("sqlite:///")).parent
        try:
            private_dir(folder)
        except OSError as exc:
            fail(f"cannot create the folder {folder}: {exc.strerror}", BAD_INPUT)
    return Context(home, url, key_file or home / "operator.key")
