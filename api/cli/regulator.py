"""Reports for regulators (docs/format.md, "Regulator report"; docs/decisions.md 45).

    tracemark report regulator --from 2026-07-01 --to 2026-07-31 --tz Asia/Ho_Chi_Minh -o DIR
    tracemark report verify DIR --log-key KEY      (offline: the folder and the key only)

``tracemark audit --report DIR`` runs the same offline check. (Shoppers' reports about items
are another thing: ``tracemark reports``, api/cli/reports.py.) Exit codes (docs/cli.md): 0
verified, 3 a check failed, 2 bad input (a period, a folder, not a report).
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import context
from api.cli.exits import BAD_INPUT, VERIFICATION_FAILED, fail, handled
from api.cli.options import DbOpt, HomeOpt, JsonOpt, KeyOpt, now_ms
from api.cli.output import emit, err, out, progress_bar
from api.cli.root import app
from api.periods import period
from ledger.verdicts.regulator import (
    EPCIS_FILE,
    LINES_FILE,
    MAX_REPORT_FILE_SIZE,
    REPORT_FILE,
    ReportResult,
    verify_report,
)

__all__ = ["check_report_folder", "report_app"]

report_app = typer.Typer(
    help="Reports for regulators: write one for a period, check one offline (shoppers' "
    "reports about items are 'tracemark reports').",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")

_FORMATS = {"csv": {"csv"}, "epcis": {"epcis"}, "both": {"csv", "epcis"}}


@report_app.command("regulator")
def report_regulator(
    start: Annotated[
        str, typer.Option("--from", help="First day (2026-07-01) or date-time of the period.")
    ],
    end: Annotated[
        str, typer.Option("--to", help="Last day (included) or date-time (excluded) of it.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="The folder to write into.")],
    tz: Annotated[str, typer.Option("--tz", help="The time zone of the dates (IANA).")] = "UTC",
    report_format: Annotated[
        str, typer.Option("--format", help="csv, epcis or both (report.json always).")
    ] = "both",
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a period's regulator report: streams, listings, items sold and claimed, recalls
    (each line bound to its log entry with an inclusion proof to a fresh checkpoint) and
    clone alerts (signed by the operator, not log-backed), as CSV and EPCIS 2.0, with the
    operator's signed statement. Check it with ``tracemark report verify``."""
    if report_format not in _FORMATS:
        fail(f"--format is csv, epcis or both, not {report_format[:40]!r}", BAD_INPUT)
    from api.settings import thresholds_from_env  # noqa: PLC0415
    from ledger.usecases.regulator import build_report  # noqa: PLC0415 - loads the storage

    ctx = context(home, database_url, key_file)
    with handled():
        span = period(start, end, tz)
        max_offers = thresholds_from_env().max_streams
        key = ctx.load_key()
        service = ctx.service(key=key)
        with closing(service.store), progress_bar(disable=json_out, label="reading") as bar:
            service.checkpoint(now=now_ms())
            task = bar.add_task("report", total=service.store.head().size)
            files = build_report(
                service.prover,
                from_ms=span.from_ms,
                to_ms=span.to_ms,
                tz=span.tz,
                from_local=span.from_local,
                to_local=span.to_local,
                log_key=key,
                now=now_ms(),
                max_offers=max_offers,
                formats=frozenset(_FORMATS[report_format]),
                progress=lambda n: bar.advance(task, n),
            )
            vkey = service.info().verifier.to_vkey()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out_dir / name).write_bytes(data)
    except OSError as exc:
        fail(f"cannot write the report into {out_dir}: {exc.strerror}", BAD_INPUT)
    emit(
        json_out,
        {"out": str(out_dir), "files": sorted(files), "log_vkey": vkey},
        lambda: out.print(
            f"Wrote {', '.join(sorted(files))} to {out_dir} for {span.from_local} .. "
            f"{span.to_local}. Regulators pin the log key:\n{vkey}",
            markup=False,
        ),
    )


def _read(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        fail(f"{folder} is not a report folder", BAD_INPUT)
    files = {}
    for name in (REPORT_FILE, LINES_FILE, EPCIS_FILE):
        path = folder / name
        try:
            if path.exists():
                if path.stat().st_size > MAX_REPORT_FILE_SIZE:
                    fail(f"{path} is larger than a report file may be", BAD_INPUT)
                files[name] = path.read_bytes()
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror}", BAD_INPUT)
    if REPORT_FILE not in files:
        fail(f"{folder} holds no {REPORT_FILE}: not a report folder", BAD_INPUT)
    return files


def check_report_folder(folder: Path, log_key: str, *, json_out: bool) -> None:
    """Check a report folder offline and print the checks; exit 3 when one fails (shared by
    ``report verify`` and ``audit --report``)."""
    files = _read(folder)
    with handled():
        result: ReportResult = verify_report(files, log_key=log_key)

    def human() -> None:
        mark = {True: "[green]passed[/]", False: "[red]FAILED[/]", None: "skipped"}
        for check in result.checks:
            out.print(f"{mark[check.passed]} {check.name}: ", end="")
            out.print(check.reason, markup=False)
        verdict = "[green]report verified[/]" if result.ok else "[red]report REFUSED[/]"
        out.print(f"{verdict}: {result.lines} lines, {result.log_backed} log-backed")
        out.print(result.scope, markup=False)

    emit(json_out, result.to_obj(), human)
    if not result.ok:
        if not json_out:
            err.print("tracemark: report verification failed", markup=False)
        raise typer.Exit(VERIFICATION_FAILED)


@report_app.command("verify")
def report_verify(
    folder: Annotated[Path, typer.Argument(help="The report folder (report.json and files).")],
    log_key: Annotated[
        str,
        typer.Option(
            "--log-key",
            envvar="TRACEMARK_LOG_VKEY",
            help="The log's verifier key (origin+hash+base64) the checkpoint must be signed with.",
        ),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Check a regulator report offline, with the folder and the pinned log key only: the
    checkpoint, the operator's statement and the file hashes it signs, every inclusion
    proof, every line against its entry, the EPCIS events against theirs. Exit 3 when a
    check fails, with its reason."""
    check_report_folder(folder, log_key, json_out=json_out)
