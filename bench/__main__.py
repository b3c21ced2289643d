"""Run the Tracemark benchmarks.

    python -m bench [--large] [--only NAME] [--repeat N] [--profile] [--rebuild] [--quick]
                    [--strict]

Each benchmark prints every figure next to the baseline measured in the same run, the ratio
and its target, in a rich table, and writes ``bench/results/<name>.json`` (a run with
``--large`` writes ``<name>-large.json`` for benchmarks whose sizes depend on it), plus a
dated copy in ``bench/results/history/``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.table import Table

from bench import append, codes, proofs, provenance, scanner, service, tiles, video
from bench.common import RESULTS_DIR, Comparison, Result, environment, write_json

BENCHMARKS: dict[str, Callable[..., Result]] = {
    "append": append.run,
    "proofs": proofs.run,
    "provenance": provenance.run,
    "codes": codes.run,
    "service": service.run,
    "video": video.run,
    "scanner": scanner.run,
    "tiles": tiles.run,
}


def _repeat(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("--repeat must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Tracemark benchmarks: figures as ratios to baselines from the same run.",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help="proofs and service at 1,000,000 (builds and caches the log the first time)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(sorted(BENCHMARKS))}",
    )
    parser.add_argument(
        "--repeat", type=_repeat, default=5, metavar="N", help="rounds per figure (default 5)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile one extra pass with cProfile (bench/results/<name>.prof)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="proofs, service: rebuild the cached logs"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="service, tiles: 3 s per load run instead of 7 s; tiles: a 100,000 log, not 1M",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    return parser


def _rate(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}"


def _verdict(comparison: Comparison) -> str:
    if comparison.passed is None:
        return "[dim]context[/dim]"
    return "[bold green]PASS[/]" if comparison.passed else "[bold red]FAIL[/]"


def _table(result: Result) -> Table:
    table = Table(title=result.title, title_justify="left", show_lines=True)
    table.add_column("Comparison")
    table.add_column("Figure (median)", justify="right")
    table.add_column("Baseline (median)", justify="right")
    table.add_column("Ratio", justify="right")
    table.add_column("Target", justify="center")
    table.add_column("Result", justify="center")
    for c in result.comparisons:
        f = c.figure
        figure = (
            f"{_rate(f.median, f.unit)}\n[dim]{min(f.samples):,.0f}-{max(f.samples):,.0f}"
            f", n={len(f.samples)}[/dim]"
        )
        if c.baseline is None:
            baseline, ratio = "-", "-"
        else:
            b = c.baseline
            baseline = f"{_rate(b.median, b.unit)}\n[dim]{b.label}[/dim]"
            ratio = f"{c.ratio:.2f}"
        name = c.name if not c.note else f"{c.name}\n[dim]{c.note}[/dim]"
        table.add_row(name, figure, baseline, ratio, str(c.target or "-"), _verdict(c))
    return table


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=150)
    names = args.only or list(BENCHMARKS)
    env = environment()
    console.print(
        f"[bold]Tracemark benchmarks[/bold]  {env['date']}  Python {env['python']}  "
        f"{env['cpu']} x{env['cpu_count']}  load {env['load_average'][0]:.2f}  "
        f"repeat {args.repeat}{'  --large' if args.large else ''}",
        highlight=False,
    )
    missed: list[str] = []
    for name in names:
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        load_before = list(os.getloadavg())
        options: dict[str, object] = {"repeat": args.repeat, "large": args.large}
        options["profile"] = args.profile
        if name in ("proofs", "service", "tiles"):
            options["rebuild"] = args.rebuild
        if name in ("service", "tiles"):
            options["quick"] = args.quick
        result = BENCHMARKS[name](console, **options)
        run_env = dict(
            env, load_average_before=load_before, load_average_after=list(os.getloadavg())
        )
        run_env["seconds"] = time.perf_counter() - started
        console.print(_table(result))
        for note in result.notes:
            console.print(note, highlight=False)
        stem = f"{result.name}-large" if result.params.get("large") else result.name
        path = RESULTS_DIR / f"{stem}.json"
        record = result.to_json(run_env)
        write_json(path, record)
        stamp = env["date"].replace(":", "").replace("+0000", "Z")
        write_json(RESULTS_DIR / "history" / f"{stamp}-{stem}.json", record)
        console.print(
            f"[dim]wrote {path.relative_to(RESULTS_DIR.parent.parent)}"
            f" in {run_env['seconds']:.0f} s[/dim]"
        )
        missed += [f"{name}: {c.name}" for c in result.comparisons if c.passed is False]
    if missed:
        console.print("[bold red]targets missed:[/] " + "; ".join(missed), highlight=False)
    else:
        console.print("[bold green]all targets met[/]")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
