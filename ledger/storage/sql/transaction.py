"""One transaction helper and one error mapping for every SQL store (log, platform, witnesses,
scans).

    transaction(engine, write=...)   a connection inside one transaction; ``write`` makes
                                     SQLite take its write lock at BEGIN (``BEGIN IMMEDIATE``,
                                     see ``engines``), so writers queue instead of failing
    database_errors(driver_error)    what the database refused, as the ledger's errors:
                                       IntegrityError (a duplicate)  -> Conflict
                                       OperationalError, or a raw driver error when a store
                                       talks to the driver directly  -> StorageUnavailable
    reason(exc)                      the database's own message, first line only: no SQL,
                                     no parameters (so no secret reaches a log or a user)

Opening a database maps its errors itself (``SqlStore.__init__``: a bad URL or a file that is
not a database is bad input, not an outage).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ledger.errors import Conflict, StorageUnavailable

__all__ = ["database_errors", "reason", "transaction", "unavailable"]


def reason(exc: BaseException) -> str:
    """The database's own message, first line only (no SQL, no parameters)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unavailable(exc: BaseException) -> StorageUnavailable:
    """The one StorageUnavailable of a failed read or write."""
    return StorageUnavailable(f"database unavailable: {reason(exc)}")


@contextmanager
def database_errors(driver_error: type[Exception] | None = None) -> Iterator[None]:
    """Map what the database refused to the ledger's errors (module docstring)."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"the database refused the write: {reason(exc)}") from None
    except OperationalError as exc:
        raise unavailable(exc) from None
    except Exception as exc:
        if driver_error is not None and isinstance(exc, driver_error):
            raise unavailable(exc) from None
        raise


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """A connection inside one transaction, committed when the block ends without an error,
    with the error mapping of ``database_errors``."""
    with database_errors(), engine.connect() as conn:
        conn.info["write"] = write
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info["write"] = False
