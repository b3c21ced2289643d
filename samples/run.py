"""Serve the sample supply chain (make run):
``python -m samples.run [--out DIR] [--host H] [--port N] [--public-url URL]``.

Builds the sample into ``--out`` unless a ledger is already there (so what a demo appended
survives a restart; delete the folder to start over), prints the URLs to open, then replaces
itself with ``tracemark serve`` on that database, in the foreground until Ctrl-C.

The public URL (``--public-url``, else ``TRACEMARK_PUBLIC_URL`` or its older name
``TRACEMARK_RESOLVER``, else ``http://localhost:PORT``) is what the printed URLs, the
sample's codes, labels and video, the overlay's QR and the pages name. When it is not the one
the sample was built for, the codes are issued again for it (``samples.build.reissue``); the
ledger is kept. To open the codes from a phone, listen on every address and name this
machine: ``make run HOST=0.0.0.0 PUBLIC_URL=http://192.168.1.20:8000``.

The server runs with ``TRACEMARK_ENV=development`` and the sample's TEST ONLY operator key,
stored unencrypted: fine on a laptop, refused by ``TRACEMARK_ENV=production``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from sqlalchemy.exc import DatabaseError

from api.settings import local_url, parse_public_url, public_url_from_env
from ledger import errors
from samples.build import DATABASE, DEFAULT_OUT, MANIFEST, build, has_ledger, reissue
from samples.client import REPO

__all__ = ["SCAN_PAGE", "main", "prepare", "public_url", "urls"]

_LABELS = {
    "genuine_viewer": "a genuine bottle (viewer page)",
    "counterfeit_viewer": "a counterfeit code",
    "clone_in_seller_b_stream": "the cloned code, seen in seller B's Shopee stream",
    "overlay": "seller A's TikTok overlay (OBS browser source)",
    "listing": "seller A's listing (JSON)",
    "docs": "the API docs",
}


SCAN_PAGE = "the scan page (camera, screenshot or link; works offline once installed)"


def urls(manifest: dict[str, object], base: str) -> list[tuple[str, str]]:
    """(what, URL) of the pages worth opening on a server at ``base``."""
    paths = manifest["paths"]
    if not isinstance(paths, dict):
        raise ValueError("the manifest has no paths")
    shown = [(label, base + str(paths[name])) for name, label in _LABELS.items()]
    return [*shown, (SCAN_PAGE, base + "/scan")]  # every server has it, whatever the sample


def public_url(option: str | None, host: str, port: int) -> str:
    """The sample's public URL: the option, the environment, or this machine's ``port``."""
    if option is not None:
        return parse_public_url(option, name="--public-url")
    return public_url_from_env() or local_url(host, port)


def prepare(out: Path, public: str, console: Console) -> dict[str, object]:
    """Build the sample in ``out`` (or keep the one there, its codes issued for ``public``)
    and return its manifest."""
    if not has_ledger(out):
        console.print(f"Building the sample supply chain in {out} for {public} ...")
        return build(out, resolver=public)
    console.print(f"Serving the sample ledger already in {out} (delete it to rebuild).")
    manifest: dict[str, object] = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("resolver") != public:
        console.print(f"Issuing the sample's codes again for {public} (the ledger is kept) ...")
        manifest = reissue(out, public)
    return manifest


def _port_free(host: str, port: int) -> bool:
    """Can a server listen there? (SO_REUSEADDR, as uvicorn: connections of a server that
    just stopped do not count.)"""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def main(argv: Sequence[str] | None = None) -> int:  # noqa: RET503 - execve does not return
    parser = argparse.ArgumentParser(
        prog="python -m samples.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the sample's folder")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    parser.add_argument(
        "--public-url",
        help="the URL codes and pages name (default: TRACEMARK_PUBLIC_URL, else "
        "http://localhost:PORT)",
    )
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    out: Path = args.out.resolve()
    try:
        public = public_url(args.public_url, args.host, args.port)
    except errors.TracemarkError as exc:
        print(f"samples.run: error: {exc.message}", file=sys.stderr)
        return 2
    if not _port_free(args.host, args.port):
        print(
            f"samples.run: port {args.port} is in use (a server already running?); "
            f"stop it, or choose another: make run PORT={args.port + 1}",
            file=sys.stderr,
        )
        return 2
    try:
        manifest = prepare(out, public, console)
    except errors.TracemarkError as exc:
        print(f"samples.run: error: {exc.message} (delete {out} to rebuild)", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError, DatabaseError) as exc:
        # SqlStore does not wrap a file that is no SQLite database (yet), and an old
        # manifest may lack a field: it is a broken sample all the same
        reason = str(exc).splitlines()[0]
        print(f"samples.run: error: {out}: {reason} (delete it to rebuild)", file=sys.stderr)
        return 2
    console.rule("[bold]Tracemark demo server")
    for label, url in urls(manifest, public):
        console.print(f"  {label}:\n    [link={url}]{url}[/link]", soft_wrap=True)
    demo = "make demo" + (f" PORT={args.port}" if args.port != 8000 else "")
    console.print(
        "\nTRACEMARK_ENV=development with the sample's TEST ONLY operator key (unencrypted). "
        f"In another terminal: [bold]{demo}[/] plays the whole story. Ctrl-C stops the server."
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEMARK_")}
    env |= {
        "TRACEMARK_ENV": "development",
        "TRACEMARK_PUBLIC_URL": public,
        "PYTHONPATH": str(REPO),
    }
    command = [
        sys.executable,
        "-m",
        "api.cli",
        "serve",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--home",
        str(out),
        "--database-url",
        f"sqlite:///{out / DATABASE}",
        "--key-file",
        str(out / manifest["operator_key"]),
    ]
    sys.stdout.flush()
    os.chdir(REPO)
    os.execve(sys.executable, command, env)  # noqa: S606 - this repository's own server


if __name__ == "__main__":
    sys.exit(main())
