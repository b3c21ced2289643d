"""``tracemark import``: check a product or batch file (CSV or .xlsx) before it is signed.

``import check FILE --producer ID`` prints the row-by-row report of ``api.imports`` and, with
``--out``, writes the unsigned entry bodies the producer signs (the console signs them in
the browser). Exit 0 when every row is good, 2 when the file cannot be read (one line) or
any row has an issue (the report lists them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.context import context
from api.cli.exits import BAD_INPUT, fail, handled
from api.cli.options import DbOpt, HomeOpt, JsonOpt, now_ms
from api.cli.output import emit, out
from api.cli.root import app
from ledger import errors

__all__ = ["import_app"]

import_app = typer.Typer(
    help="Check product and batch files (CSV, Excel) before signing them.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")


def _prefixes(home: Path, database_url: str | None, producer: str) -> list[str]:
    from ledger.provenance.records import Actor  # noqa: PLC0415

    service = context(home, database_url, None).service()
    with service.store.reader() as view:
        actor = view.get(Actor, (producer,))
    if actor is None:
        raise errors.InvalidInput(f"no actor {producer!r} in this ledger")
    if actor.role != "producer":
        raise errors.InvalidInput(f"{producer} is a {actor.role}, not a producer")
    return list(actor.prefixes)


@import_app.command("check")
def import_check(
    file: Annotated[Path, typer.Argument(help="The CSV (UTF-8, , or ;) or .xlsx file.")],
    producer: Annotated[str, typer.Option(help="The producer the file is for (actor id).")],
    prefix: Annotated[
        list[str] | None,
        typer.Option(
            help="The producer's GS1 company prefixes (repeat), instead of reading them from "
            "the ledger."
        ),
    ] = None,
    tz: Annotated[
        str, typer.Option(help="The producer's IANA time zone (the entries' offset).")
    ] = "Asia/Ho_Chi_Minh",
    lang: Annotated[str, typer.Option(help="Language of the messages: en or vi.")] = "en",
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the unsigned entries (JSON lines) to this file."),
    ] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check every row of a product or batch file: a report of each bad row (row, column,
    code, message), and the unsigned event.commission bodies of the good batch rows."""
    from api.imports import ImportLimits, check_import, tz_offset  # noqa: PLC0415

    with handled():
        if lang not in ("en", "vi"):
            raise errors.InvalidInput("--lang is en or vi")
        limits = ImportLimits()
        try:
            with file.open("rb") as f:
                data = f.read(limits.max_bytes + 1)
        except OSError as exc:
            raise errors.InvalidInput(f"cannot read {file}: {exc.strerror}") from None
        prefixes = prefix if prefix else _prefixes(home, database_url, producer)
        now = now_ms()
        report = check_import(
            data,
            producer=producer,
            prefixes=prefixes,
            event_time=now,
            tz=tz_offset(tz, now),
            limits=limits,
        )
        if out_file is not None and report.entries:
            lines = (json.dumps(e, ensure_ascii=False, sort_keys=True) for e in report.entries)
            try:
                out_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            except OSError as exc:
                raise errors.InvalidInput(f"cannot write {out_file}: {exc.strerror}") from None

    def human() -> None:
        what = "batch rows" if report.kind == "batches" else "product rows"
        out.print(
            f"{report.rows} {what}: {report.rows - len({i.row for i in report.issues})} good, "
            f"{report.issue_count} issue(s); {len(report.entries)} entries, "
            f"{report.serials} serials"
        )
        for issue in report.issues:
            message = issue.message_vi if lang == "vi" else issue.message
            column = f" {issue.column}" if issue.column else ""
            out.print(f"row {issue.row}{column}: {issue.code}: {escape(message)}")
        if report.issue_count > len(report.issues):
            out.print(f"... and {report.issue_count - len(report.issues)} more")

    data_out = report.to_obj()
    if not json_out:
        emit(False, data_out, human)
    else:
        data_out.pop("entries")
        data_out["entries"] = len(report.entries)
        emit(True, data_out, human)
    if not report.ok:
        rows = len({i.row for i in report.issues})
        fail(
            f"{report.issue_count} issue(s) in {rows} row(s) of {file}: nothing to sign", BAD_INPUT
        )
