"""The ``tracemark`` command line: thin commands over ledger.usecases.service.

Exit codes (documented in docs/cli.md):
    0 success · 1 unexpected failure · 2 bad input or usage · 3 verification failed
    4 conflict with the ledger's state · 5 storage unavailable
"""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from api.settings import admission_from_env, is_loopback_url, local_url, public_url_from_env
from ledger import errors
from ledger.files import private_dir
from ledger.keyfile import load_private_key, save_private_key, save_public_key
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.entries import NOTICE, sign_entry
from ledger.log.note import NoteVerifier
from ledger.log.verify import verify_consistency, verify_inclusion
from ledger.ports.log import StoredCheckpoint
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService, now_ms

__all__ = ["EXIT_CODES", "app", "main"]

EXIT_CODES: dict[type[errors.TracemarkError], int] = {
    errors.VerificationError: 3,
    errors.Conflict: 4,
    errors.StorageUnavailable: 5,
    errors.InvalidInput: 2,
    errors.NotFound: 2,
}

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


log_app = typer.Typer(help="Read the log: checkpoints, entries and proofs.", no_args_is_help=True)
app.add_typer(log_app, name="log")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]
DbOpt = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TRACEMARK_DATABASE_URL", help="SQLAlchemy URL."),
]
HomeOpt = Annotated[
    Path,
    typer.Option(envvar="TRACEMARK_HOME", help="Folder for the default database and key."),
]
KeyOpt = Annotated[
    Path | None, typer.Option("--key-file", envvar="TRACEMARK_KEY_FILE", help="Operator key.")
]


def fail(message: str, code: int) -> NoReturn:
    err.print(f"tracemark: error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code_for(exc: errors.TracemarkError) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(exc, kind):
            return code
    return 1


@contextmanager
def handled() -> Iterator[None]:
    """Turn Tracemark errors into one line on stderr and a documented exit code."""
    try:
        yield
    except errors.TracemarkError as exc:
        fail(exc.message, exit_code_for(exc))


@dataclass
class Context:
    home: Path
    database_url: str
    key_file: Path

    def store(self) -> SqlStore:
        return SqlStore(self.database_url)

    def service(self, *, with_key: bool = False) -> LogService:
        key = self.load_key() if with_key else None
        with handled():
            admission = admission_from_env()
        return LogService(self.store(), log_key=key, admission=admission)

    def load_key(self) -> PrivateKey:
        key, warnings = load_private_key(self.key_file, _passphrase())
        for warning in warnings:
            if "unencrypted" not in warning:
                err.print(f"tracemark: warning: {warning}", markup=False, soft_wrap=True)
        return key


def _passphrase() -> bytes | None:
    value = os.environ.get("TRACEMARK_KEY_PASSPHRASE")
    return value.encode("utf-8") if value else None


def context(home: Path, database_url: str | None, key_file: Path | None) -> Context:
    url = database_url or f"sqlite:///{home / 'tracemark.db'}"
    if url.startswith("sqlite:///") and ":memory:" not in url:
        folder = Path(url.removeprefix("sqlite:///")).parent
        try:
            private_dir(folder)
        except OSError as exc:
            fail(f"cannot create the folder {folder}: {exc.strerror}", 2)
    return Context(home, url, key_file or home / "operator.key")


def emit(as_json: bool, data: dict[str, Any], human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        human()


def raw(text: str) -> None:
    """Write protocol text (signed notes) byte-exact: no wrapping, no markup."""
    sys.stdout.write(text)
    sys.stdout.flush()


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


# --- commands ------------------------------------------------------------------------------


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
            for warning in save_private_key(ctx.key_file, key, _passphrase()):
                err.print(f"tracemark: warning: {warning}", markup=False, soft_wrap=True)
            save_public_key(ctx.key_file.with_suffix(".pub"), key)
        service = LogService(ctx.store())
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
        service = LogService(ctx.store(), log_key=key)
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
            fail("--every signs checkpoints; it cannot be combined with --no-sign", 2)
        if not ctx.key_file.exists():
            fail(f"--every needs the operator key; {ctx.key_file} does not exist", 2)
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
            table.add_row(name, str(data[name]))
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
        {
            "index": proof.index,
            "tree_size": proof.tree_size,
            "leaf_hash": b64(proof.leaf_hash),
            "root_hash": b64(proof.root_hash),
            "inclusion_path": [b64(h) for h in proof.hashes],
        },
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
        {
            "old_size": proof.old_size,
            "new_size": proof.new_size,
            "old_root": b64(proof.old_root),
            "new_root": b64(proof.new_root),
            "consistency_path": [b64(h) for h in proof.hashes],
        },
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
    with handled(), closing(ctx.store()) as store:
        info = LogService(store).info()
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
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Recompute every hash, the chain, the tree and every signature; exit 3 on divergence.

    With --checkpoint FILE, also prove today's log is consistent with a checkpoint kept
    elsewhere, which catches a history rewritten with every hash recomputed. With --log-key,
    check that this database is that log; with --witness, that each witness cosigned.
    """
    ctx = context(home, database_url, None)
    notes: list[str] = []
    for path in checkpoint or []:
        try:
            notes.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read checkpoint file {path}: {exc}", 2)
    with handled():
        pinned = NoteVerifier.from_vkey(log_key) if log_key else None
        witnesses = [CosignatureVerifier.from_vkey(text) for text in witness or []]
        service = ctx.service()
        with (
            closing(service.store),
            Progress(
                TextColumn("auditing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
                disable=json_out or not err.is_terminal,
            ) as progress,
        ):
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
        raise typer.Exit(3)


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
            save_private_key(ctx.key_file, PrivateKey.generate(), _passphrase())
        key = ctx.load_key()
        service = LogService(ctx.store(), log_key=key)
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
            raise typer.Exit(3)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
) -> None:
    """Run the HTTP service (scan-verify API, resolver, pages, transparency log) on uvicorn.

    Settings come from TRACEMARK_* variables (docs/operations.md); the options here set
    TRACEMARK_HOME, TRACEMARK_DATABASE_URL and TRACEMARK_KEY_FILE for the workers. Without
    TRACEMARK_PUBLIC_URL, the URLs in pages and codes name this server's port on localhost
    (http://localhost:PORT, or http://HOST:PORT for another listening address). With more
    than one worker, the workers share their metrics through a fresh directory
    (PROMETHEUS_MULTIPROC_DIR, made here and removed at the end unless given).
    """
    import shutil  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415 - only the server needs it

    from api.logs import log_config  # noqa: PLC0415
    from api.metrics import MULTIPROC_ENV, fresh_directory  # noqa: PLC0415
    from api.settings import Settings  # noqa: PLC0415

    ctx = context(home, database_url, key_file)
    os.environ["TRACEMARK_HOME"] = str(home)
    os.environ["TRACEMARK_DATABASE_URL"] = ctx.database_url
    os.environ["TRACEMARK_KEY_FILE"] = str(ctx.key_file)
    with handled():
        public = public_url_from_env()
    if public is None:
        public = local_url(host, port)
        os.environ["TRACEMARK_PUBLIC_URL"] = public
    shared, made = None, False
    if workers > 1 or os.environ.get(MULTIPROC_ENV):
        shared, made = fresh_directory(os.environ, make=True)  # before any metric exists
    with handled():
        from api.app import check_ready, from_env  # noqa: PLC0415

        check_ready(from_env())  # fail fast, with a one-line error, on bad settings
        logging_config = log_config(Settings.from_env())
        err.print(
            f"tracemark: serving on http://{host}:{port} ({workers} worker(s)); "
            f"codes and pages name {public}",
            markup=False,
            soft_wrap=True,
        )
        if is_loopback_url(public) and os.environ.get("TRACEMARK_ENV") == "production":
            err.print(
                f"tracemark: warning: the public URL {public} is this machine (loopback): "
                "set TRACEMARK_PUBLIC_URL to the address phones open",
                markup=False,
                soft_wrap=True,
            )
    if shared is not None:  # the workers are new processes: they read it when they start
        os.environ[MULTIPROC_ENV] = str(shared)
    try:
        uvicorn.run(
            "api.app:from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=logging_config,
            access_log=False,  # the app's own (api/logs.py) has request ids and no query values
            # The app reads X-Forwarded-For itself, from TRACEMARK_TRUSTED_PROXIES only
            # (api/proxies.py); uvicorn's own handling trusts any local client.
            proxy_headers=False,
        )
    finally:
        if made and shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def main() -> None:
    """Console entry point: never a traceback for a Tracemark error."""
    try:
        app()
    except errors.TracemarkError as exc:  # pragma: no cover - commands use handled()
        err.print(f"tracemark: error: {exc.message}", markup=False)
        sys.exit(exit_code_for(exc))


if __name__ == "__main__":
    # ``python -m api.cli`` runs this file as ``__main__``, a second copy of ``api.cli``: the
    # command modules import ``api.cli`` and register on its ``app``, so run that one.
    from api.cli import main as registered_main

    registered_main()
else:
    # The other commands register themselves on ``app`` (kept in their own modules).
    from api import (  # noqa: F401
        cli_codes,
        cli_db,
        cli_events,
        cli_platform,
        cli_scan,
        cli_streams,
        cli_supply,
    )
