"""The root ``tracemark`` command: its help, ``--version``, and nothing else. The command
modules (api/cli/*.py) add their commands and groups to ``app``; api/cli/app.py imports them
in the order ``tracemark --help`` lists them."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.output import out

__all__ = ["app"]

app = typer.Typer(
    name="tracemark",
    help="Tracemark: a transparent, append-only provenance ledger for live commerce.\n\n"
    "Settings come from options or environment variables: TRACEMARK_HOME (default "
    "./.tracemark), TRACEMARK_DATABASE_URL (default sqlite:///$TRACEMARK_HOME/tracemark.db), "
    "TRACEMARK_KEY_FILE (default $TRACEMARK_HOME/operator.key), TRACEMARK_KEY_PASSPHRASE.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain (click) help screens: typer's rich panels print a value placeholder (<bool>) after
    # every flag, --help included, as if it took a value (docs/decisions.md, 31).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version  # noqa: PLC0415 - only --version needs it

        out.print(f"tracemark {version('tracemark')}", markup=False)
        raise typer.Exit


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Tracemark: a transparent, append-only provenance ledger for live commerce."""
