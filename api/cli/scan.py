"""The ``tracemark scan`` command: find the QR codes in images or a video and verify each.

Decoding happens on this machine (``scanner.decode``, ``scanner.video``); each distinct code
text is then verified once, in one of three ways:

- ``--server URL``: ``POST /v1/verify`` with the context (``--listing``, ``--seller``,
  ``--stream``): the service's full verdict, which knows the item's custody, listings,
  recalls and clone signals, and records the scan there.
- ``--trust FILE --log-key VKEY``: offline, the producer's signature against a signed trust
  bundle: ``unverified`` (signature fine, state unknown) or ``counterfeit``.
- neither: the service's verifier on the local ledger (``--home``/``--database-url``), the
  same verdict a server on that database would give, without recording the scan (the
  command only reads). An uninitialized or missing local ledger is an error rather than a
  page of ``unknown_producer`` verdicts.

QR codes that are not Tracemark codes are ``unrecognised`` (ledger/verdicts/scans.py) and do
not fail the command.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.exits import UNEXPECTED, VERIFICATION_FAILED, fail, handled
from api.cli.options import (
    DEFAULT_RESOLVER,
    DbOpt,
    HomeOpt,
    JsonOpt,
    PublicUrlOpt,
    now_ms,
    open_bundle,
    public_url,
)
from api.cli.output import err, out
from api.cli.root import app
from ledger import errors
from ledger.codes.signed import check_code
from ledger.verdicts import ScanContext
from ledger.verdicts.scans import UNRECOGNISED, code_entry, fails, malformed

if TYPE_CHECKING:
    from ledger.usecases.verify import Verifier
    from scanner.video import Sighting

__all__: list[str] = []

Check = Callable[[str], dict[str, Any]]
_PLATFORM = re.compile(r"[a-z0-9_.-]{1,32}")
_ID = re.compile(r"[\x21-\x7e]{1,128}")  # listing and stream ids, as POST /v1/verify takes
_HANDLE = re.compile(r"[\x21-\x7e]{1,140}")
_COLOURS = {
    "genuine": "green",
    "unverified": "cyan",
    "suspect": "yellow",
    "counterfeit": "red",
    "recalled": "red",
    UNRECOGNISED: "dim",
}


def _context(listing: str | None, seller: str | None, stream: str | None) -> dict[str, str]:
    """The scan context of POST /v1/verify from the options; the platform comes from the
    listing (``PLATFORM:LISTING_ID``) or from a seller handle (``tiktok:@shop``)."""
    context: dict[str, str] = {}
    if listing is not None:
        platform, _, listing_id = listing.partition(":")
        if not _PLATFORM.fullmatch(platform) or not _ID.fullmatch(listing_id):
            raise errors.InvalidInput(
                f"--listing {listing!r} must be PLATFORM:LISTING_ID, e.g. tiktok:1234567890"
            )
        context.update(platform=platform, listing_id=listing_id)
    if seller is not None:
        if not _HANDLE.fullmatch(seller):
            raise errors.InvalidInput(
                f"--seller {seller!r} must be a handle like tiktok:@shop or an actor id"
            )
        context["seller"] = seller
        prefix = seller.partition(":")[0]
        if ":" in seller and _PLATFORM.fullmatch(prefix):
            context.setdefault("platform", prefix)
    if stream is not None:
        if not _ID.fullmatch(stream):
            raise errors.InvalidInput(f"--stream {stream!r} must be printable ASCII, 128 at most")
        context["stream_id"] = stream
    return context


@contextmanager
def _local_verifier(home: Path, database_url: str | None, resolver: str) -> Iterator[Verifier]:
    from ledger.storage.sql.log import SqlStore  # noqa: PLC0415
    from ledger.usecases.service import LogService  # noqa: PLC0415
    from ledger.usecases.verify import Verifier  # noqa: PLC0415

    url = database_url or f"sqlite:///{home / 'tracemark.db'}"
    no_ledger = (
        f"no ledger at {url}: verify with --server URL, or offline with --trust FILE --log-key VKEY"
    )
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise errors.InvalidInput(no_ledger)  # never create an empty database by scanning
    store = SqlStore(url)
    try:
        if store.head().size == 0:
            raise errors.InvalidInput(no_ledger)
        yield Verifier(LogService(store), resolvers=[resolver])
    finally:
        store.close()


@contextmanager
def _checker(
    *,
    server: str | None,
    trust: Path | None,
    log_key: str | None,
    max_age_hours: float,
    context: dict[str, str],
    home: Path,
    database_url: str | None,
    resolver: str,
    api_key: str | None = None,
) -> Iterator[tuple[str, Check]]:
    """How codes are verified (``server``, ``offline`` or ``local``) and the check itself."""
    from api.submit import RemoteVerifier  # noqa: PLC0415

    if server and trust:
        raise errors.InvalidInput("choose --server or --trust, not both")
    if api_key and not server:
        raise errors.InvalidInput("--api-key goes with --server")
    if server:
        remote = RemoteVerifier(server, api_key=api_key)
        yield "server", lambda text: remote.verify(text, context)
        return
    if trust is not None:
        if context:
            raise errors.InvalidInput(
                "--listing, --seller and --stream need --server or the local ledger: "
                "an offline check sees signatures only"
            )
        bundle = open_bundle(trust, log_key, max_age_hours)
        yield "offline", lambda text: check_code(text, bundle).to_obj()
        return
    from api.results import result_json  # noqa: PLC0415

    scan_context = ScanContext(
        context.get("platform", ""),
        context.get("stream_id", ""),
        context.get("listing_id", ""),
        context.get("seller", ""),
    )

    with _local_verifier(home, database_url, resolver) as verifier:

        def local(text: str) -> dict[str, Any]:
            result = verifier.verify(text, scan_context, now=now_ms(), record=False, detail=True)
            return result_json(result)

        yield "local", local


def _once(check: Check) -> Check:
    """Verify each distinct text once; texts that are no item code need no lookup at all."""
    seen: dict[str, dict[str, Any]] = {}

    def verdict(text: str) -> dict[str, Any]:
        if text not in seen:
            plain = malformed(text)
            seen[text] = plain.to_obj() if plain is not None else check(text)
        return seen[text]

    return verdict


# --- output --------------------------------------------------------------------------------


def _code(entry: Mapping[str, Any]) -> str:
    """An item code as its item (``01/<gtin>/21/<serial>``, what a person compares with the
    label); any other text as it is, cut short. JSON output has the whole text."""
    item = (entry["verdict"] or {}).get("item") or {}
    if item.get("item_id"):
        return escape(str(item["item_id"]))
    flat = " ".join(str(entry["text"]).split())
    return escape(flat if len(flat) <= 60 else flat[:57] + "...")


def _status(entry: Mapping[str, Any]) -> str:
    status = str(entry["status"])
    return f"[{_COLOURS.get(status, 'bold')}]{status}[/]"


def _reasons(entry: Mapping[str, Any]) -> str:
    if entry["verdict"] is None:
        return "not a Tracemark code: no verdict"
    return "\n".join(
        f"[bold]{escape(r['code'])}[/]: {escape(r['message'])}"
        for r in entry["verdict"].get("reasons", [])
    )


def _at(corners: Sequence[Sequence[int]]) -> str:
    """The centre of a code, in pixels."""
    x = sum(p[0] for p in corners) / len(corners)
    y = sum(p[1] for p in corners) / len(corners)
    return f"{x:.0f},{y:.0f}"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _table(name: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """One table: the code column folds, the reasons column keeps room for reason codes."""
    if not rows:
        out.print(f"{escape(name)}: no QR code found")
        return
    table = Table(title=escape(name), title_justify="left", show_lines=True)
    table.add_column(columns[0], overflow="fold", max_width=26)
    for column in columns[1:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(columns[-1], min_width=24)
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _image_table(name: str, entries: Sequence[Mapping[str, Any]]) -> None:
    rows = [(_code(e), _at(e["corners"]), _status(e), _reasons(e)) for e in entries]
    _table(name, ("code", "at x,y", "verdict", "reasons"), rows)


def _timeline_table(name: str, entries: Sequence[Mapping[str, Any]]) -> None:
    rows = [
        (
            _code(e),
            f"{_clock(e['first_s'])}-{_clock(e['last_s'])}",
            str(e["frames"]),
            _status(e),
            _reasons(e),
        )
        for e in entries
    ]
    _table(name, ("code", "seen", "frames", "verdict", "reasons"), rows)


def _json_line(data: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")
    sys.stdout.flush()


# --- the command ---------------------------------------------------------------------------


def _read(source: str, engine: str) -> list[dict[str, Any]]:
    from scanner.decode import decode_file  # noqa: PLC0415

    image = typer.get_binary_stream("stdin") if source == "-" else Path(source)
    return [d.to_obj() for d in decode_file(image, engine=engine)]


def _scan_images(
    sources: Sequence[str], engine: str, verdict: Check, mode: str, as_json: bool
) -> bool:
    found = {source: _read(source, engine) for source in dict.fromkeys(sources)}
    images: list[dict[str, Any]] = [
        {
            "image": "<stdin>" if source == "-" else source,
            "codes": [code_entry(d, verdict(str(d["text"]))) for d in detections],
        }
        for source, detections in found.items()
    ]
    if as_json:
        sys.stdout.write(json.dumps({"verified": mode, "images": images}, indent=2) + "\n")
    else:
        for image in images:
            _image_table(image["image"], image["codes"])
    return any(fails(c["status"]) for image in images for c in image["codes"])


def _scan_video(
    source: str,
    *,
    engine: str,
    sample_fps: float,
    max_duration: float | None,
    verdict: Check,
    as_json: bool,
) -> bool:
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from scanner.video import scan_video  # noqa: PLC0415

    entries: list[dict[str, Any]] = []
    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        TextColumn("{task.completed:.1f} s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    ) as bar:
        task = bar.add_task("video", total=None)

        def progress(done_s: float, total_s: float | None) -> None:
            bar.update(task, completed=done_s, total=total_s)

        scan = scan_video(
            source,
            sample_fps=sample_fps,
            engine=engine,
            max_duration_s=max_duration,
            progress=progress,
        )
        with scan:
            try:
                for sighting in scan:
                    entries.append(_sighting_entry(sighting, verdict))
                    if as_json:
                        _json_line(entries[-1])
            except KeyboardInterrupt:  # a live stream: show what was seen until now
                err.print("tracemark: stopped; codes still in view are not shown")
        if scan.stopped_by:  # a stream that ended with a read error, as live streams do
            err.print(f"tracemark: warning: {scan.stopped_by}", markup=False)
    if not as_json:
        _timeline_table(scan.name, entries)
    return any(fails(e["status"]) for e in entries)


def _sighting_entry(sighting: Sighting, verdict: Check) -> dict[str, Any]:
    return code_entry(sighting.to_obj(), verdict(sighting.text))


@app.command()
def scan(
    images: Annotated[
        list[str] | None,
        typer.Argument(
            help="Image files (PNG, JPEG, WebP, GIF, TIFF), or - for image bytes on stdin."
        ),
    ] = None,
    video: Annotated[
        str | None,
        typer.Option(help="Scan a video file or stream URL (http(s)://, HLS, rtmp://) instead."),
    ] = None,
    sample_fps: Annotated[
        float, typer.Option(help="Video frames decoded per second of video.", min=0.01, max=120)
    ] = 5.0,
    max_duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds of video.", min=0.01)
    ] = None,
    engine: Annotated[str, typer.Option(help="QR decoder: auto, zxing or zbar.")] = "auto",
    server: Annotated[
        str | None,
        typer.Option(envvar="TRACEMARK_SERVER", help="Verify with this Tracemark server (URL)."),
    ] = None,
    listing: Annotated[
        str | None,
        typer.Option(help="Seen on this listing, PLATFORM:LISTING_ID (e.g. tiktok:123)."),
    ] = None,
    seller: Annotated[
        str | None, typer.Option(help="Offered by this seller: a handle (tiktok:@shop) or id.")
    ] = None,
    stream: Annotated[str | None, typer.Option(help="Seen in this live stream (its id).")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="TRACEMARK_API_KEY",
            help="A platform API key (with --server): the platform vouches for the context, "
            "so a clone it sees counts for everyone (docs/threat-model.md).",
        ),
    ] = None,
    trust: Annotated[
        Path | None, typer.Option(help="Verify offline with this trust bundle.")
    ] = None,
    log_key: Annotated[
        str | None,
        typer.Option(envvar="TRACEMARK_LOG_VKEY", help="The log's verifier key (with --trust)."),
    ] = None,
    max_age_hours: Annotated[float, typer.Option(help="Refuse older bundles.", min=0)] = 24 * 7,
    resolver: PublicUrlOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Find the QR codes in images or a video and verify each distinct code once.

    Exit 0 when no code is counterfeit, suspect or recalled (QR codes that are not
    Tracemark codes are shown as unrecognised and do not count), 3 when one is, 2 for bad
    input (unreadable or too large image, bad option, bad or stale trust bundle), 1 when the
    server or database cannot be reached.

    Examples:

        tracemark scan label.png photo.jpg --server https://tm.example --listing tiktok:123

        adb exec-out screencap -p | tracemark scan - --seller tiktok:@shop --server URL

        tracemark scan shelf.jpg --trust bundle.json --log-key "$TRACEMARK_LOG_VKEY"

        tracemark scan --video https://live.example/s.m3u8 --max-duration 600 --json

    Without --server or --trust, codes are verified against the local ledger (--home).
    """
    from scanner.decode import ENGINES  # noqa: PLC0415

    with handled():
        if engine not in ENGINES:
            raise errors.InvalidInput(f"--engine must be one of {', '.join(ENGINES)}")
        if bool(images) == bool(video):
            raise errors.InvalidInput("give IMAGE files (or - for stdin), or --video, not both")
        checker = _checker(
            server=server,
            trust=trust,
            log_key=log_key,
            max_age_hours=max_age_hours,
            context=_context(listing, seller, stream),
            home=home,
            database_url=database_url,
            resolver=public_url(resolver) or DEFAULT_RESOLVER,
            api_key=api_key,
        )
        try:
            with checker as (mode, check):
                verdict = _once(check)
                if video is not None:
                    failed = _scan_video(
                        video,
                        engine=engine,
                        sample_fps=sample_fps,
                        max_duration=max_duration,
                        verdict=verdict,
                        as_json=json_out,
                    )
                else:
                    failed = _scan_images(images or [], engine, verdict, mode, json_out)
        except errors.StorageUnavailable as exc:  # scan's documented "other failure" is 1
            fail(exc.message, UNEXPECTED)
    if failed:
        raise typer.Exit(VERIFICATION_FAILED)
