"""The ``tracemark`` application: the root command with every command module's commands, in
the order ``tracemark --help`` lists them, and the console entry point ``main``."""

from __future__ import annotations

import sys

# Imported for their commands, which they add to the root app; the order is the help's.
# isort: off
import api.cli.log
import api.cli.serve
import api.cli.codes
import api.cli.db
import api.cli.events
import api.cli.platform
import api.cli.console
import api.cli.scan
import api.cli.streams
import api.cli.attest
import api.cli.supply
import api.cli.bundles
import api.cli.imports
import api.cli.regulator
import api.cli.reports  # noqa: F401

# isort: on
from api.cli.exits import exit_code_for
from api.cli.output import err
from api.cli.root import app
from ledger import errors

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: never a traceback for a Tracemark error."""
    try:
        app()
    except errors.TracemarkError as exc:  # pragma: no cover - commands use handled()
        err.print(f"tracemark: error: {exc.message}", markup=False)
        sys.exit(exit_code_for(exc))
