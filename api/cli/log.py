"""The log's commands: create it, publish notices, read and prove it, audit it.

tracemark init | notice | audit | demo-log
tracemark log checkpoint [--every SECONDS] | show | prove | consistency | key
"""

from __future__ import annotations

import json
import os
import select
import signal
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli.context import context, passphrase
from api.cli.exits import BAD_INPUT, VERIFICATION_FAILED, fail, handled
from api.cli.options import DbOpt, HomeOpt, JsonOpt, KeyOpt, now_ms
from api.cli.output import b64, cells, emit, err, out, progress_bar, raw, warn
from api.cli.root import app
from api.results import consistency_json, inclusion_json
from ledger import errors
from ledger.keyfile import save_private_key, save_public_key
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.entries import NOTICE, sign_entry
from ledger.log.note import NoteVerifier
from ledger.log.verify import verify_consistency, verify_inclusion

if TYPE_CHECKING:
    from ledger.ports.log import StoredCheckpoint
    from ledger.usecases.service import LogService

__all__ = ["log_app"]

log_app = typer.Typer(help="Read the log: checkpoints, entries and proofs.", no_args_is_help=True)
app.add_typer(log_app, name="log")


@app.command()
def init(
    origin: Annotated[
        str, typer.Option(help="The log's origin line (a schema-less URL).")
    ] = "tracemark.localhost/log",
    operator_name: Annotated[str, typer.Option(help="The operator's legal name.")] = "Operator",
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create the database, the operator key, the genesis entry and the first checkpoint.

    The key is encrypted when TRACEMARK_KEY_PASSPHRASE is set; otherwise it is written
    unencrypted with mode 0600 and a warning. An existing key file is reused, never replaced.
    """
    ctx = context(home, database_url, key_file)
    with handled():
        if ctx.key_file.exists():
            key = ctx.load_key()
        else:
            key = PrivateKey.generate()
            for warning in save_private_key(ctx.key_file, key, passphrase()):
                warn(warning)
            save_public_key(ctx.key_file.with_suffix(".pub"), key)
        service = ctx.service()
        checkpoint = service.initialize(
            origin=origin, operator_name=operator_name, key=key, now=now_ms()
        )
    emit(
        json_out,
        {
            "origin": origin,
            "database_url": ctx.database_url,
            "key_file": str(ctx.key_file),
            "key_id": key.key_id,
            "public_key": key.public_key.to_text(),
            "checkpoint": checkpoint.note,
        },
        lambda: (
            out.print(f"[green]Initialized[/] log [bold]{origin}[/] in {ctx.database_url}"),
            out.print(f"Operator key {key.key_id} in {ctx.key_file}"),
            out.print("First checkpoint:"),
            raw(checkpoint.note),
        ),
    )


@app.command()
def notice(
    title: Annotated[str, typer.Argument(help="Short title of the notice.")],
    text: Annotated[str, typer.Option(help="Body text.")] = "",
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Publish an operator notice in the log (signed with the operator key)."""
    ctx = context(home, database_url, key_file)
    with handled():
        key = ctx.load_key()
        service = ctx.service(key=key)
        body = {"title": title, "text": text} if text else {"title": title}
        accepted = service.append_one(sign_entry(NOTICE, body, key), now=now_ms())
        checkpoint = service.checkpoint(now=now_ms())
    emit(
        json_out,
        {
            "index": accepted.index,
            "leaf_hash": b64(accepted.leaf_hash),
            "tree_size": checkpoint.tree_size,
        },
        lambda: out.print(
            f"Appended notice at index {accepted.index}; tree size {checkpoint.tree_size}"
        ),
    )


@log_app.command("checkpoint")
def log_checkpoint(
    sign: Annotated[
        bool, typer.Option("--sign/--no-sign", help="Sign a new checkpoint if the log grew.")
    ] = True,
    every: Annotated[
        float | None,
        typer.Option(
            "--every",
            help="Keep running: sign a new checkpoint whenever the log grew, checking every "
            "SECONDS, until SIGTERM or SIGINT (the checkpointer of a deployment).",
            min=0.1,
            max=86_400,
            metavar="SECONDS",
        ),
    ] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print the latest signed checkpoint (C2SP signed note), signing a new one if needed."""
    ctx = context(home, database_url, key_file)
    if every is not None:
        if not sign:
            fail("--every signs checkpoints; it cannot be combined with --no-sign", BAD_INPUT)
        if not ctx.key_file.exists():
            fail(f"--every needs the operator key; {ctx.key_file} does not exist", BAD_INPUT)
        with handled():
            _checkpoint_loop(ctx.service(with_key=True), every, json_out)
        return
    with handled():
        if sign and ctx.key_file.exists():
            checkpoint = ctx.service(with_key=True).checkpoint(now=now_ms())
        else:
            checkpoint = ctx.service().latest_checkpoint()
    emit(
        json_out,
        {
            "tree_size": checkpoint.tree_size,
            "root_hash": b64(checkpoint.root_hash),
            "note": checkpoint.note,
        },
        lambda: raw(checkpoint.note),
    )


def _checkpoint_loop(service: LogService, every: float, json_out: bool) -> None:
    """Sign a checkpoint whenever the log grew, one line per new checkpoint, until SIGTERM or
    SIGINT. Any replica may append, so only polling sees growth; signing a size that another
    signer stored first is harmless (``LogService.checkpoint`` returns the stored one). A
    database outage is reported once and waited out: a supervisor restarting the loop would
    gain nothing, the next round simply tries again."""
    last_size, outage = -1, False
    with _StopSignals() as stop:
        try:
            while True:
                try:
                    checkpoint = service.checkpoint(now=now_ms())
                except errors.StorageUnavailable as exc:
                    if not outage:
                        err.print(f"tracemark: warning: {exc.message}", markup=False)
                    outage = True
                else:
                    outage = False
                    if checkpoint.tree_size != last_size:
                        last_size = checkpoint.tree_size
                        raw(_checkpoint_line(checkpoint, json_out))
                if stop.wait(every):
                    return
        finally:
            service.store.close()


def _checkpoint_line(checkpoint: StoredCheckpoint, json_out: bool) -> str:
    root = b64(checkpoint.root_hash)
    if json_out:
        data = {"tree_size": checkpoint.tree_size, "root_hash": root, "note": checkpoint.note}
        return json.dumps(data, sort_keys=True) + "\n"
    return f"checkpoint: tree size {checkpoint.tree_size}, root {root}\n"


class _StopSignals:
    """SIGTERM and SIGINT ask a loop to stop between rounds, never in the middle of one.

    The handlers only write to a pipe (a self-pipe: no lock is taken inside a signal
    handler, so the wait cannot deadlock), and ``wait`` sleeps in ``select`` on it, so a
    signal ends the pause at once. The previous handlers come back on exit.
    """

    def __enter__(self) -> _StopSignals:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous = {
            signum: signal.signal(signum, self._handle)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        return self

    def _handle(self, signum: int, frame: object) -> None:
        with suppress(BlockingIOError):  # the pipe is full: a stop is already pending
            os.write(self._write, b"!")

    def wait(self, seconds: float) -> bool:
        """Pause up to ``seconds``; True when a stop was asked for."""
        ready, _, _ = select.select([self._read], [], [], seconds)
        return bool(ready)

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        os.close(self._read)
        os.close(self._write)


@log_app.command("show")
def log_show(
    index: Annotated[int, typer.Argument(help="Entry index (0 is the genesis).", min=0)],
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show one log entry: type, signer, time, hashes and body."""
    ctx = context(home, database_url, None)
    with handled():
        stored, entry = ctx.service().entry(index)
    data = {
        "index": index,
        "type": entry.envelope.type,
        "signer": entry.envelope.signer,
        "integrated_time": entry.integrated_time,
        "leaf_hash": b64(stored.leaf_hash),
        "chain_hash": b64(stored.chain_hash),
        "body": entry.envelope.body,
        "signature": b64(entry.envelope.signature),
    }

    def human() -> None:
        table = Table(show_header=False, box=None)
        for name in ("index", "type", "signer", "integrated_time", "leaf_hash", "chain_hash"):
            table.add_row(*cells(name, data[name]))
        out.print(table)
        out.print_json(json.dumps(entry.envelope.body))

    emit(json_out, data, human)


@log_app.command("prove")
def log_prove(
    index: Annotated[int, typer.Argument(help="Entry index to prove.", min=0)],
    size: Annotated[
        int | None, typer.Option(help="Tree size (default: latest checkpoint).", min=1)
    ] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print an RFC 9162 inclusion proof of entry INDEX, verified before printing."""
    ctx = context(home, database_url, None)
    with handled():
        proof = ctx.service().inclusion_proof(index, size)
        verify_inclusion(
            proof.index, proof.tree_size, proof.leaf_hash, proof.hashes, proof.root_hash
        )
    emit(
        json_out,
        inclusion_json(proof),
        lambda: (
            out.print(f"Entry {proof.index} is in the tree of size {proof.tree_size}"),
            out.print(f"root {b64(proof.root_hash)}"),
            [out.print(f"  {b64(h)}") for h in proof.hashes],
        ),
    )


@log_app.command("consistency")
def log_consistency(
    old: Annotated[int, typer.Argument(help="Older tree size.", min=1)],
    new: Annotated[int, typer.Argument(help="Newer tree size.", min=1)],
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print an RFC 9162 consistency proof from tree size OLD to NEW, verified first."""
    ctx = context(home, database_url, None)
    with handled():
        proof = ctx.service().consistency_proof(old, new)
        verify_consistency(
            proof.old_size, proof.new_size, proof.old_root, proof.new_root, proof.hashes
        )
    emit(
        json_out,
        consistency_json(proof),
        lambda: (
            out.print(f"Tree {proof.old_size} is a prefix of tree {proof.new_size}"),
            [out.print(f"  {b64(h)}") for h in proof.hashes],
        ),
    )


@log_app.command("key")
def log_key(
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print the log's verifier key (C2SP vkey: origin+key id+base64), read from its genesis
    entry. Note it where the operator cannot change it; later audits pin it (--log-key)."""
    ctx = context(home, database_url, None)
    with handled():
        service = ctx.service()
        with closing(service.store):
            info = service.info()
    vkey = info.verifier.to_vkey()
    emit(json_out, {"origin": info.origin, "log_vkey": vkey}, lambda: raw(vkey + "\n"))


@app.command()
def audit(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(help="A checkpoint kept outside the log (repeatable).", exists=False),
    ] = None,
    log_key: Annotated[
        str | None,
        typer.Option(
            "--log-key",
            envvar="TRACEMARK_LOG_VKEY",
            help="Pin the log: its verifier key (origin+hash+base64); a database whose "
            "genesis names another key is a different log.",
        ),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            "--witness",
            help="A witness's cosignature key (name+hash+base64) that must have cosigned the "
            "latest cosigned checkpoint kept (repeatable).",
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Check a regulator report folder offline instead (needs --log-key only; "
            "no database).",
        ),
    ] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Recompute every hash, the chain, the tree and every signature; exit 3 on divergence.

    With --checkpoint FILE, also prove today's log is consistent with a checkpoint kept
    elsewhere, which catches a history rewritten with every hash recomputed. With --log-key,
    check that this database is that log; with --witness, that each witness cosigned.
    With --report DIR and --log-key, check a regulator report offline, as ``tracemark
    report verify`` does.
    """
    if report is not None:
        from api.cli.regulator import check_report_folder  # noqa: PLC0415

        if not log_key:
            fail("--report needs --log-key (the log's verifier key)", BAD_INPUT)
        check_report_folder(report, log_key, json_out=json_out)
        return
    ctx = context(home, database_url, None)
    notes: list[str] = []
    for path in checkpoint or []:
        try:
            notes.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read checkpoint file {path}: {exc}", BAD_INPUT)
    with handled():
        pinned = NoteVerifier.from_vkey(log_key) if log_key else None
        witnesses = [CosignatureVerifier.from_vkey(text) for text in witness or []]
        service = ctx.service()
        with closing(service.store), progress_bar(disable=json_out) as progress:
            task = progress.add_task("audit", total=service.store.head().size)
            report = service.audit(
                external=notes,
                progress=_Advance(lambda n: progress.advance(task, n)),
                log_key=pinned,
                witnesses=witnesses,
            )
    first = report.first()
    data = {
        "ok": report.ok,
        "tree_size": report.tree_size,
        "root_hash": b64(report.root_hash),
        "entries_checked": report.entries_checked,
        "nodes_checked": report.nodes_checked,
        "checkpoints_checked": report.checkpoints_checked,
        "first_bad_index": report.first_bad_index,
        "findings": [
            {"index": f.index, "what": f.what, "detail": f.detail} for f in report.findings
        ],
    }

    def human() -> None:
        if report.ok:
            out.print(
                f"[green]audit passed[/]: {report.entries_checked} entries, "
                f"{report.nodes_checked} nodes, {report.checkpoints_checked} checkpoints"
            )
            return
        out.print(f"[red]audit FAILED[/]: {len(report.findings)} finding(s)")
        if first is not None:
            out.print(f"first divergence: {first}", markup=False)
        for finding in report.findings[:20]:
            out.print(f"  - {finding}", markup=False)

    emit(json_out, data, human)
    if not report.ok:
        raise typer.Exit(VERIFICATION_FAILED)


@dataclass
class _Advance:
    advance: Callable[[int], None]


@app.command("demo-log")
def demo_log(
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
) -> None:
    """Initialize a local log if needed, publish a few notices, prove them and audit."""
    ctx = context(home, database_url, key_file)
    with handled():
        if not ctx.key_file.exists():
            save_private_key(ctx.key_file, PrivateKey.generate(), passphrase())
        key = ctx.load_key()
        service = ctx.service(key=key)
        if service.store.head().size == 0:
            service.initialize(
                origin="tracemark.localhost/log",
                operator_name="Demo Operator",
                key=key,
                now=now_ms(),
            )
            out.print(f"Initialized a log in {ctx.database_url}")
        before = service.checkpoint(now=now_ms())
        titles = ["Operator policy v1 published", "Producer onboarding opened", "Witness added"]
        envelopes = [
            sign_entry(NOTICE, {"title": t, "ref": f"demo-{before.tree_size}-{i}"}, key)
            for i, t in enumerate(titles)
        ]
        outcomes = service.append(envelopes, now=now_ms())
        after = service.checkpoint(now=now_ms())
        out.print(f"Appended {len(outcomes)} notices; tree {before.tree_size} -> {after.tree_size}")
        raw(after.note)
        proof = service.inclusion_proof(after.tree_size - 1)
        verify_inclusion(
            proof.index, proof.tree_size, proof.leaf_hash, proof.hashes, proof.root_hash
        )
        out.print(f"[green]✓[/] inclusion of entry {proof.index}: {len(proof.hashes)} hashes")
        cons = service.consistency_proof(before.tree_size, after.tree_size)
        verify_consistency(cons.old_size, cons.new_size, cons.old_root, cons.new_root, cons.hashes)
        out.print(f"[green]✓[/] consistency {cons.old_size} -> {cons.new_size}")
        report = service.audit()
        status = "[green]passed[/]" if report.ok else "[red]FAILED[/]"
        out.print(f"audit {status}: {report.entries_checked} entries")
        if not report.ok:
            raise typer.Exit(VERIFICATION_FAILED)


@log_app.command("export-tiles")
def log_export_tiles(
    directory: Annotated[
        Path, typer.Argument(help="Where to write checkpoint and tile/ (created if missing).")
    ],
    rewrite: Annotated[
        bool, typer.Option("--rewrite", help="Write full tiles again even if present.")
    ] = False,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write the log as static C2SP tlog-tiles files, for an object store or a CDN.

    Writes every tile and entry bundle of the latest checkpoint's tree, then the checkpoint
    itself (last, so a reader never sees a checkpoint whose tiles are missing). Full tiles
    never change: a second run writes only what is new (--rewrite writes all). Serve DIR
    as static files; see docs/operations.md, "Serving the log as tiles".
    """
    from ledger.log.tiles import tiles_of_size  # noqa: PLC0415
    from ledger.usecases.tiles import export_tiles  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        service = ctx.service()
        with closing(service.store):
            latest = service.latest_checkpoint()
            size = latest.tree_size
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise errors.InvalidInput(f"cannot create {directory}: {exc.strerror}") from None

            def write(path: str, data: bytes) -> None:
                target = directory / path
                partial = target.with_name(target.name + ".tmp")
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    partial.write_bytes(data)
                    os.replace(partial, target)
                except OSError as exc:
                    raise errors.InvalidInput(f"cannot write {target}: {exc.strerror}") from None

            def present(path: str) -> bool:
                return not rewrite and (directory / path).is_file()

            total = sum(1 for _ in tiles_of_size(size))
            written = 0
            with progress_bar(disable=json_out, label="tiles") as progress:
                task = progress.add_task("tiles", total=total)
                for _ in export_tiles(service.store, size, write, skip=present):
                    written += 1
                    progress.advance(task)
                progress.update(task, completed=total)
            write("checkpoint", latest.note.encode("utf-8"))
    data = {"directory": str(directory), "tree_size": size, "tiles": total, "written": written}
    emit(
        json_out,
        data,
        lambda: out.print(
            f"Tree of {size} entries as {total} tiles in {directory} ({written} written)",
            markup=False,
        ),
    )


@log_app.command("witness")
def log_witness(
    url: Annotated[
        str,
        typer.Argument(help="The witness's submission prefix, e.g. https://w.example/witness."),
    ],
    witness: Annotated[
        str,
        typer.Option(
            "--witness-key",
            help="The witness's cosignature verifier key (<name>+<id>+<key>), pinned.",
        ),
    ],
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ask a C2SP witness to cosign the latest checkpoint, and keep its cosignature.

    Sends add-checkpoint (with a consistency proof from the size the witness last
    cosigned), checks the answer with the pinned --witness-key, and stores the line: GET
    /checkpoint and /v1/log/checkpoint?cosigned=1 then serve it. Exit 0 cosigned, 3 the
    witness refused or answered a bad cosignature, 5 unreachable, 2 bad input.
    """
    import httpx  # noqa: PLC0415

    from ledger.usecases.cosign import ask_witness  # noqa: PLC0415

    if not url.startswith(("http://", "https://")):
        fail("the witness URL must be an http:// or https:// URL", BAD_INPUT)
    ctx = context(home, database_url, None)
    with handled():
        verifier = CosignatureVerifier.from_vkey(witness)
        service = ctx.service()

        def post(body: bytes) -> tuple[int, str, str]:
            try:
                response = httpx.post(
                    url.rstrip("/") + "/add-checkpoint",
                    content=body,
                    headers={"Content-Type": "text/plain; charset=utf-8"},
                    timeout=30.0,
                )
            except httpx.HTTPError as exc:
                raise errors.StorageUnavailable(f"witness {url} unreachable: {exc}") from None
            return response.status_code, response.headers.get("content-type", ""), response.text

        with closing(service.store):
            kept = ask_witness(service, verifier, post)
            size = service.latest_checkpoint().tree_size
    data = {"witness": kept.witness, "tree_size": size, "timestamp": kept.timestamp}
    emit(
        json_out,
        data,
        lambda: out.print(
            f"{kept.witness} cosigned the checkpoint of size {size} at {kept.timestamp}",
            markup=False,
        ),
    )
