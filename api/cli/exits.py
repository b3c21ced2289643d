"""The CLI's exit codes: the one map from the core's errors (ledger/errors.py) to a code.

    0 success · 1 unexpected failure · 2 bad input or usage · 3 verification failed
    4 conflict with the ledger's state · 5 storage unavailable

docs/cli.md documents them; a Tracemark error is one line on stderr, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from api.cli.output import err
from ledger import errors

__all__ = [
    "BAD_INPUT",
    "CONFLICT",
    "EXIT_CODES",
    "STORAGE_UNAVAILABLE",
    "UNEXPECTED",
    "VERIFICATION_FAILED",
    "exit_code_for",
    "fail",
    "handled",
]

UNEXPECTED = 1
BAD_INPUT = 2  # also usage errors (click's own)
VERIFICATION_FAILED = 3  # a code, proof or audit that does not check out
CONFLICT = 4  # with the ledger's state
STORAGE_UNAVAILABLE = 5

EXIT_CODES: dict[type[errors.TracemarkError], int] = {
    errors.VerificationError: VERIFICATION_FAILED,
    errors.Conflict: CONFLICT,
    errors.StorageUnavailable: STORAGE_UNAVAILABLE,
    errors.InvalidInput: BAD_INPUT,
    errors.NotFound: BAD_INPUT,
}


def fail(message: str, code: int) -> NoReturn:
    err.print(f"tracemark: error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code_for(exc: errors.TracemarkError) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(exc, kind):
            return code
    return UNEXPECTED


@contextmanager
def handled() -> Iterator[None]:
    """Turn Tracemark errors into one line on stderr and a documented exit code."""
    try:
        yield
    except errors.TracemarkError as exc:
        fail(exc.message, exit_code_for(exc))
