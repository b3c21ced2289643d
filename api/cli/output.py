"""What the CLI prints: the two consoles, JSON for programs (``--json``), protocol text."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["b64", "cells", "emit", "err", "out", "progress_bar", "raw", "warn"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def cells(*values: object) -> list[Text]:
    """A table row as plain text: values from the ledger, scanners or shoppers are printed as
    written, never read as Rich markup (``[/x]`` would crash the table, ``[link=...]`` would
    draw a link nobody wrote)."""
    return [Text(str(value)) for value in values]


def emit(as_json: bool, data: dict[str, Any], human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        human()


def raw(text: str) -> None:
    """Write protocol text (signed notes) byte-exact: no wrapping, no markup."""
    sys.stdout.write(text)
    sys.stdout.flush()


def warn(message: str) -> None:
    err.print(f"tracemark: warning: {message}", markup=False, soft_wrap=True)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def progress_bar(*, disable: bool, label: str = "auditing") -> Progress:
    """A progress bar on stderr for long work (off with --json or when not a terminal)."""
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=disable or not err.is_terminal,
    )
