"""Report commands of ``tracemark``: what shoppers reported about a producer's items.

    tracemark reports list --producer fishco
    tracemark reports list --producer fishco --hours 24 --json

Reads the database like the other local commands (``--home``, ``--database-url``). A weak
report is an anonymous one: nobody vouched for its context, it never changes a verdict, but
the producer may want to look (docs/threat-model.md). Times are shown in
``TRACEMARK_TIMEZONE`` (Asia/Ho_Chi_Minh by default).
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from api.cli.context import context
from api.cli.exits import handled
from api.cli.options import DbOpt, HomeOpt, JsonOpt, now_ms
from api.cli.output import emit, out
from api.cli.root import app
from api.settings import DEFAULT_TIMEZONE, parse_timezone

__all__ = ["reports_app"]

reports_app = typer.Typer(
    help="Shoppers' reports about your items (kept outside the log).", no_args_is_help=True
)
app.add_typer(reports_app, name="reports")


@reports_app.command("list")
def reports_list(
    producer: Annotated[str, typer.Option(help="The producer's actor id.")],
    hours: Annotated[
        float | None, typer.Option(help="Only the last HOURS (default: all kept).", min=0.01)
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the reports about a producer's items, newest first (weak: anonymous)."""
    from ledger.usecases.reports import reports_for_producer  # noqa: PLC0415 - the storage

    ctx = context(home, database_url, None)
    with handled():
        zone = zoneinfo.ZoneInfo(
            parse_timezone(os.environ.get("TRACEMARK_TIMEZONE") or DEFAULT_TIMEZONE)
        )
        since = now_ms() - int(hours * 3_600_000) if hours is not None else 0
        found = reports_for_producer(ctx.store(), producer, since=since, limit=limit)
    rows: list[dict[str, Any]] = [
        {
            "id": r.report_id,
            "time": r.time,
            "item_id": r.item_id,
            "reason": r.reason,
            "status": r.status,
            "text": r.text,
            "contact": r.contact,
            "source": r.source,
            "weak": r.weak,
            "platform": r.platform,
            "listing_id": r.listing_id,
            "stream_id": r.stream_id,
            "seller": r.seller,
        }
        for r in found
    ]

    def human() -> None:
        if not rows:
            out.print(f"no reports about {producer}'s items", markup=False)
            return
        table = Table("when", "item", "reason", "verdict", "source", "where", "text", "contact")
        for row in rows:
            when = dt.datetime.fromtimestamp(row["time"] / 1000, zone)
            where = "/".join(v for v in (row["platform"], row["listing_id"], row["seller"]) if v)
            source = f"{row['source']} (weak)" if row["weak"] else row["source"]
            cells = (
                when.strftime("%Y-%m-%d %H:%M %Z"),
                row["item_id"],
                row["reason"],
                row["status"],
                source,
                where,
                row["text"],
                row["contact"],
            )
            # A shopper wrote these: plain text, never Rich markup ("[/x]" would crash the
            # listing, "[link=...]" draw a hyperlink the producer did not write).
            table.add_row(*(Text(str(cell)) for cell in cells))
        out.print(table)

    emit(json_out, {"producer": producer, "reports": rows}, human)
