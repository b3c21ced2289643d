"""Item-code commands of ``tracemark``: issue signed QR labels, verify codes, export trust.

    tracemark codes issue GTIN --serials SPEC --out DIR --as producer.key [--public-url URL]
    tracemark codes verify CODE... [--trust bundle.json --log-key VKEY | --server URL]
    tracemark trust export --out bundle.json

Issuing needs only the producer's key file and the commission entry (from the local
database, or ``--commission FILE`` holding the entry as ``tracemark log show --json`` prints
it or as ``--out`` wrote it): no server. Codes are refused for serials the commission does not
name.

The codes open the operator's public URL (``--public-url``, ``TRACEMARK_PUBLIC_URL``, or its
older name ``TRACEMARK_RESOLVER``). Labels outlive any test, so issuing refuses, exit 2,
without a public URL or with one on this machine (loopback), unless ``--allow-loopback``
says it is a test (then it warns).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from api.cli.context import context, passphrase
from api.cli.exits import BAD_INPUT, UNEXPECTED, VERIFICATION_FAILED, fail, handled
from api.cli.options import (
    AsOpt,
    DbOpt,
    HomeOpt,
    JsonOpt,
    KeyOpt,
    PublicUrlOpt,
    now_ms,
    open_bundle,
    parse_serials,
    parse_time,
    public_url,
)
from api.cli.output import emit, err, out
from api.cli.root import app
from api.settings import (
    DEFAULT_PUBLIC_URL,
    PUBLIC_URL_HINT,
    is_loopback_url,
    parse_public_url,
)
from ledger import errors
from ledger.codes.gs1 import gtin14
from ledger.codes.identifiers import SerialSet, item_id
from ledger.codes.signed import CodeIdentity, check_code, issue_uri
from ledger.codes.trust import TrustBundle
from ledger.keyfile import load_private_key
from ledger.keys import PrivateKey
from ledger.log.canonical import parse_json
from ledger.log.entries import Envelope, LogEntry
from ledger.provenance.events.names import COMMISSION
from ledger.provenance.records import Item, KeyRecord, Product
from ledger.verdicts import GENUINE, INVALID, UNVERIFIED
from ledger.verdicts.scans import fails

__all__ = ["codes_app", "trust_app"]

codes_app = typer.Typer(
    help="Signed item codes: issue QR labels, verify codes.", no_args_is_help=True
)
trust_app = typer.Typer(help="Trust bundles for offline verification.", no_args_is_help=True)
app.add_typer(codes_app, name="codes")
app.add_typer(trust_app, name="trust")


def _issuing_url(option: str | None, allow_loopback: bool) -> str:
    """The URL printed on labels: configured, and public unless ``--allow-loopback``."""
    url = public_url(option, default=None)
    if url is None:
        if not allow_loopback:
            raise errors.InvalidInput(f"no public URL for the codes: {PUBLIC_URL_HINT}")
        url = DEFAULT_PUBLIC_URL
    if is_loopback_url(url):
        if not allow_loopback:
            raise errors.InvalidInput(
                f"the public URL {url} is this machine (loopback): labels would open nowhere "
                f"else; {PUBLIC_URL_HINT}, or pass --allow-loopback for a test"
            )
        err.print(
            f"tracemark: warning: the codes open {url}, on this machine only (--allow-loopback)",
            markup=False,
            soft_wrap=True,
        )
    return url


def _commission_from_file(path: Path) -> dict[str, Any]:
    """The commission body in a file: the signed entry as ``--out`` wrote it, or the entry as
    ``tracemark log show --json`` printed it (its log fields checked: ``LogEntry.from_shown``)."""
    try:
        obj = parse_json(path.read_bytes(), max_size=1 << 20)
    except OSError as exc:
        raise errors.InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    if isinstance(obj, dict) and "index" in obj:
        envelope = LogEntry.from_shown(obj).envelope
    elif isinstance(obj, dict) and "signature" in obj:
        envelope = Envelope.from_obj(obj)  # the signed entry itself (validated)
    else:
        raise errors.InvalidInput(f"{path} holds neither a signed entry nor a log entry")
    if envelope.type != COMMISSION:
        raise errors.InvalidInput(f"{path} is a {envelope.type} entry, not a commissioning")
    return dict(envelope.body)


def _identities_from_commission(
    body: dict[str, Any], gtin: str, serials: Sequence[str]
) -> list[CodeIdentity]:
    if body.get("gtin") != gtin:
        raise errors.InvalidInput(f"the commission is for GTIN {body.get('gtin')}, not {gtin}")
    commissioned = SerialSet.from_obj(body["serials"])
    missing = [s for s in serials if s not in commissioned]
    if missing:
        raise errors.InvalidInput(
            f"serial {missing[0]} was not commissioned by this entry"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    return [CodeIdentity(gtin, s, body.get("lot", ""), body.get("expiry", "")) for s in serials]


def _identities_from_ledger(
    ctx: Any, key: PrivateKey, gtin: str, serials: Sequence[str]
) -> tuple[list[CodeIdentity], str]:
    service = ctx.service()
    identities: list[CodeIdentity] = []
    with service.store.reader() as view:
        record = view.get(KeyRecord, (key.key_id,))
        if record is None:
            raise errors.InvalidInput(f"key {key.key_id} is not registered in this ledger")
        product = view.get(Product, (gtin,))
        for serial in serials:
            item = view.get(Item, (item_id(gtin, serial),))
            if item is None:
                raise errors.InvalidInput(
                    f"{gtin} serial {serial} was never commissioned: "
                    "commission it first (tracemark event commission)"
                )
            if item.producer != record.actor_id:
                raise errors.InvalidInput(
                    f"{gtin} serial {serial} was commissioned by "
                    f"{item.producer}, not {record.actor_id}"
                )
            identities.append(CodeIdentity(gtin, serial, item.lot, item.expiry))
    return identities, product.name if product else ""


@codes_app.command("issue")
def codes_issue(
    gtin: Annotated[str, typer.Argument(help="The GTIN the items were commissioned under.")],
    serials: Annotated[str, typer.Option(help="Serials and ranges, e.g. FS000001..FS010000.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the label files.")],
    signing_key: AsOpt = None,
    resolver: PublicUrlOpt = None,
    allow_loopback: Annotated[
        bool,
        typer.Option(
            "--allow-loopback",
            help="Issue codes that open a loopback URL (localhost, 127.0.0.0/8, ::1): tests only.",
        ),
    ] = False,
    formats: Annotated[str, typer.Option("--format", help="png, svg or png,svg.")] = "png",
    module_px: Annotated[
        int, typer.Option(help="Pixels per QR module in PNGs.", min=2, max=40)
    ] = 4,
    sheet: Annotated[
        Path | None, typer.Option(help="Also lay out print sheets in this PDF.")
    ] = None,
    qr_mm: Annotated[
        float, typer.Option(help="QR size on the sheet, in mm.", min=5, max=200)
    ] = 20.0,
    dpi: Annotated[int, typer.Option(help="Sheet resolution (300 or 600).")] = 300,
    listing: Annotated[
        Path | None, typer.Option(help="Also write (gtin, serial, uri) as .csv or .jsonl.")
    ] = None,
    commission: Annotated[Path | None, typer.Option(help="The commission entry (offline).")] = None,
    lang: Annotated[
        str, typer.Option("--lang", help='The prompt\'s language: en ("Scan to verify") or vi.')
    ] = "en",
    workers: Annotated[
        int | None, typer.Option(help="Processes (default: all cores).", min=1)
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Skip labels already written.")
    ] = True,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sign codes for commissioned items and render labels (PNG/SVG), sheets and listings."""
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from scanner.labels import Label, render_labels, write_listing, write_sheet_pdf  # noqa: PLC0415

    with handled():
        if signing_key is None:
            raise errors.InvalidInput("--as KEYFILE is required: the producer's key")
        if dpi not in (300, 600):
            raise errors.InvalidInput("--dpi must be 300 or 600")
        if lang not in ("en", "vi"):
            raise errors.InvalidInput("--lang must be en or vi")
        stem = _issuing_url(resolver, allow_loopback)
        key, _ = load_private_key(signing_key, passphrase())
        wanted = gtin14(gtin)
        spec = SerialSet.from_obj(parse_serials(serials))
        names = list(spec)
        if commission is not None:
            body = _commission_from_file(commission)
            identities = _identities_from_commission(body, wanted, names)
            name = str(body.get("product", {}).get("name", ""))
        else:
            identities, name = _identities_from_ledger(
                context(home, database_url, None), key, wanted, names
            )
        labels = [
            Label(issue_uri(i, key, stem), i.gtin, i.serial, i.lot, i.expiry, name, lang)
            for i in identities
        ]
        kinds = tuple(f.strip() for f in formats.split(",") if f.strip())
        if not set(kinds) <= {"png", "svg"}:
            raise errors.InvalidInput("--format takes png, svg or png,svg")
        with Progress(
            TextColumn("rendering"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=json_out or not err.is_terminal,
        ) as bar:
            task = bar.add_task("labels", total=len(labels))
            report = render_labels(
                labels,
                out_dir,
                formats=kinds,
                module_px=module_px,
                workers=workers,
                resume=resume,
                progress=lambda n: bar.advance(task, n),
            )
        if sheet is not None:
            write_sheet_pdf(labels, sheet, qr_mm=qr_mm, dpi=dpi)
        if listing is not None:
            write_listing(labels, listing)
    data = {
        "issued": len(labels),
        "rendered": report.rendered,
        "skipped": report.skipped,
        "qr_version": report.version,
        "module_px": report.module_px,
        "out": str(out_dir),
        "first_uri": labels[0].uri if labels else None,
    }
    emit(
        json_out,
        data,
        lambda: out.print(
            f"Issued {len(labels)} codes ({report.rendered} rendered, "
            f"{report.skipped} already there), "
            f"QR version {report.version}, {report.module_px} px/module, in {out_dir}"
        ),
    )


@codes_app.command("verify")
def codes_verify(
    codes: Annotated[
        list[str], typer.Argument(help="Item codes (URIs), or - to read lines from stdin.")
    ],
    server: Annotated[
        str | None,
        typer.Option(
            envvar="TRACEMARK_SERVER",
            metavar="URL",
            help="The full online verdict from this Tracemark server (POST /v1/verify): "
            "custody, listings, recalls and clone signals, not only the signature.",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="TRACEMARK_API_KEY",
            help="A platform API key (with --server): the verdicts are vouched for by the "
            "platform (source: platform).",
        ),
    ] = None,
    trust: Annotated[
        Path | None, typer.Option(help="Verify offline with this trust bundle.")
    ] = None,
    log_key: Annotated[
        str | None,
        typer.Option(
            envvar="TRACEMARK_LOG_VKEY",
            help="The log's verifier key (origin+hash+base64) the bundle must be signed with.",
        ),
    ] = None,
    max_age_hours: Annotated[float, typer.Option(help="Refuse older bundles.", min=0)] = 24 * 7,
    resolver: PublicUrlOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check codes' producer signatures (locally, or offline with --trust): exit 0 when all
    verify, 3 when any is counterfeit, 2 when one cannot be read (invalid: a typo or a bad
    scan) or for a bad or stale trust bundle.

    With --server URL, the server's full verdict instead: exit 0 when none is counterfeit,
    suspect or recalled, 3 when one is, 2 when one is invalid, 1 when the server cannot be
    reached.
    """
    from ledger.usecases.queries import LedgerDirectory  # noqa: PLC0415

    if codes == ["-"]:
        codes = [line.strip() for line in typer.get_text_stream("stdin") if line.strip()][:10_000]
    if server is not None:
        _verify_online(codes, server, trust, json_out, api_key)
        return
    if api_key:
        fail("--api-key goes with --server", 2)
    with handled():
        if trust is not None:
            bundle = open_bundle(trust, log_key, max_age_hours)
            verdicts = [check_code(code, bundle) for code in codes]
        else:
            service = context(home, database_url, None).service()
            with service.store.reader() as view:
                directory = LedgerDirectory(view, [public_url(resolver) or DEFAULT_PUBLIC_URL])
                verdicts = [check_code(code, directory) for code in codes]
    found = [v.to_obj() for v in verdicts]
    _print_verdicts(codes, found, json_out)
    if any(v.status not in (UNVERIFIED, INVALID) for v in verdicts):
        raise typer.Exit(VERIFICATION_FAILED)
    if any(v.status == INVALID for v in verdicts):
        raise typer.Exit(BAD_INPUT)  # unreadable is bad input, never the counterfeit exit


def _verify_online(
    codes: Sequence[str], server: str, trust: Path | None, json_out: bool, api_key: str | None
) -> None:
    """``codes verify --server``: POST /v1/verify per code, the exit codes of ``scan``."""
    from api.submit import RemoteVerifier  # noqa: PLC0415

    with handled():
        if trust is not None:
            raise errors.InvalidInput("choose --server or --trust, not both")
        remote = RemoteVerifier(server, api_key=api_key)
        try:
            found = [remote.verify(code, {}) for code in codes]
        except errors.StorageUnavailable as exc:  # as scan: an unreachable server is 1
            fail(exc.message, UNEXPECTED)
    _print_verdicts(codes, found, json_out)
    if any(fails(str(v["status"])) for v in found):
        raise typer.Exit(VERIFICATION_FAILED)
    if any(v["status"] == INVALID for v in found):
        raise typer.Exit(BAD_INPUT)


def _print_verdicts(
    codes: Sequence[str], verdicts: Sequence[dict[str, Any]], json_out: bool
) -> None:
    if json_out:
        print(
            json.dumps(
                [dict(v, code=c[:200]) for c, v in zip(codes, verdicts, strict=True)],
                indent=2,
            )
        )
        return
    for code, verdict in zip(codes, verdicts, strict=True):
        status = str(verdict["status"])
        colour = {GENUINE: "green", UNVERIFIED: "green", INVALID: "yellow"}.get(status, "red")
        shown = code if len(code) <= 120 else code[:117] + "..."
        out.print(f"[{colour}]{escape(status)}[/] {escape(shown)}", soft_wrap=True)
        for reason in verdict.get("reasons") or []:
            out.print(f"  - {reason['code']}: {reason['message']}", markup=False)


@trust_app.command("export")
def trust_export(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the bundle.")],
    resolver: Annotated[
        list[str] | None,
        typer.Option("--resolver", help="Resolver(s) the codes open (repeatable)."),
    ] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a trust bundle signed with the operator key: producers, keys, revocations, and
    the latest checkpoint. Prints the log's verifier key that verifiers must pin."""
    from ledger.usecases.queries import trust_bundle  # noqa: PLC0415

    ctx = context(home, database_url, key_file)
    with handled():
        key = ctx.load_key()
        service = ctx.service(with_key=True)
        checkpoint = service.checkpoint(now=now_ms())
        info = service.info()
        resolvers = [parse_public_url(r, name="--resolver") for r in resolver or []] or [
            public_url(None) or DEFAULT_PUBLIC_URL
        ]
        body = trust_bundle(
            service.store,
            origin=info.origin,
            checkpoint=checkpoint.note,
            resolvers=resolvers,
            created=parse_time(None),
        )
        data = TrustBundle.sign(body, key)
        try:
            out_file.write_bytes(data)
        except OSError as exc:
            raise errors.InvalidInput(f"cannot write {out_file}: {exc.strerror}") from None
    vkey = info.verifier.to_vkey()
    emit(
        json_out,
        {
            "out": str(out_file),
            "log_vkey": vkey,
            "actors": len(body["actors"]),
            "tree_size": checkpoint.tree_size,
        },
        lambda: out.print(
            f"Wrote {out_file} ({len(body['actors'])} actors, tree size "
            f"{checkpoint.tree_size}). Verifiers pin the log key:\n{vkey}",
            markup=False,
        ),
    )


@codes_app.command("sheet")
def codes_sheet(
    codes_file: Annotated[
        Path, typer.Argument(help="Signed item codes (URIs), one per line (- for stdin).")
    ],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The sheet file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, png (zip) or svg (zip).")] = "pdf",
    producer: Annotated[
        str | None, typer.Option(help="Refuse codes signed by any other producer.")
    ] = None,
    paper: Annotated[str, typer.Option(help="a4, a5 or letter.")] = "a4",
    qr_mm: Annotated[
        float, typer.Option(help="QR size on the sheet, in mm.", min=8, max=100)
    ] = 20.0,
    dpi: Annotated[int, typer.Option(help="Resolution of PDF and PNG pages.")] = 300,
    resolver: PublicUrlOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print sheets of codes signed elsewhere (the console signs them in the browser): every
    code is checked first (a registered, valid key of the GTIN's producer; exit 3 if one is
    not), then laid out on pages as PDF, PNG pages or SVG pages, in the background with
    progress."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

    from api.jobs import DONE, JobLimits, JobRunner  # noqa: PLC0415
    from ledger.usecases.queries import LedgerDirectory  # noqa: PLC0415
    from scanner.labels import Label  # noqa: PLC0415
    from scanner.sheets import (  # noqa: PLC0415
        MAX_SHEET_CODES,
        SHEET_FORMATS,
        SheetLayout,
        render_sheet,
        signed_labels,
    )

    with handled():
        if fmt not in SHEET_FORMATS:
            raise errors.InvalidInput(f"--format is one of {', '.join(SHEET_FORMATS)}")
        layout = SheetLayout(paper=paper, qr_mm=qr_mm, dpi=dpi)
        try:
            if str(codes_file) == "-":
                lines = typer.get_text_stream("stdin").read(MAX_SHEET_CODES * 200).splitlines()
            else:
                with codes_file.open("r", encoding="utf-8") as f:
                    lines = f.read(MAX_SHEET_CODES * 200 + 1).splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise errors.InvalidInput(f"cannot read {codes_file}: {reason}") from None
        uris = [line.strip() for line in lines if line.strip()]
        service = context(home, database_url, None).service()
        with service.store.reader() as view:
            directory = LedgerDirectory(view, [public_url(resolver) or DEFAULT_PUBLIC_URL])
            labels = signed_labels(uris, directory, producer=producer, existing=view.existing_items)
            names: dict[str, str] = {}
            for gtin in {label.gtin for label in labels}:
                product = view.get(Product, (gtin,))
                if product is not None and product.name:
                    names[gtin] = product.name
        if names:
            labels = [Label.from_uri(label.uri, name=names.get(label.gtin, "")) for label in labels]
        runner = JobRunner(JobLimits(workers=1, max_pending=1))
        try:
            job_id = runner.submit(
                "sheet",
                lambda progress: render_sheet(
                    labels, fmt, layout=layout, progress=progress.advance
                ),
                total=len(labels),
            )
            with Progress(
                TextColumn("laying out"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err,
                transient=True,
                disable=json_out or not err.is_terminal,
            ) as bar:
                task = bar.add_task("sheet", total=len(labels))
                while (job := runner.wait(job_id, timeout=0.2)).state not in (DONE, "failed"):
                    bar.update(task, completed=job.done)
        finally:
            runner.shutdown()
        if job.state != DONE:
            raise errors.InvalidInput(job.error)
        try:
            out_file.write_bytes(job.result)
        except OSError as exc:
            raise errors.InvalidInput(f"cannot write {out_file}: {exc.strerror}") from None
    data = {"codes": len(labels), "format": fmt, "out": str(out_file), "bytes": len(job.result)}
    emit(
        json_out,
        data,
        lambda: out.print(f"{len(labels)} codes checked and laid out: {out_file} ({fmt})"),
    )
