"""Play the sample story against a running server: ``python -m samples.demo [--server URL]``.

Start the server first (``make run``: it builds the sample in ``samples/out`` and serves
it), then ``make demo`` in another terminal. Each step prints what happened and why:

     1. the producer commissions three one-litre bottles (signed locally, POST /v1/entries)
     2. their signed QR labels (ledger.codes.signed, scanner.labels)
     3. custody: producer -> distributor -> seller A (ship, receive; GET /v1/items)
     4. seller A's listing; seller B's copy of it is refused (listing.declare)
     5. a viewer scans a label (the resolver's JSON; its inclusion proof checked here)
     6. TikTok checks listings (tracemark platform add, POST /v1/listings/verify)
     7. TikTok and Shopee register webhooks (POST /v1/webhooks, a local receiver)
     8. the cloned code caught in seller B's stream (tracemark scan --video --server)
     9. the producer recalls the lot (event.recall; the recall webhook arrives)
    10. audit (a consistency proof between two checkpoints, tracemark audit)

The demo appends to the server's ledger, so every run uses new serials, lot, shipments and
listing ids (a time stamp), and revokes the API keys it made (which deletes its webhooks).
It signs with the sample's TEST ONLY keys and runs ``tracemark platform add`` and
``tracemark audit`` on the sample's database, so the server must serve that sample.
Exit codes: 0 the story went as told, 1 a step did not, 2 no server or no sample.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ledger import errors
from samples.build import DEFAULT_OUT, MANIFEST
from samples.client import DemoError, Server
from samples.scenes import Story

__all__ = ["DEFAULT_SERVER", "main"]

DEFAULT_SERVER = "http://127.0.0.1:8000"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m samples.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server", default=DEFAULT_SERVER, help="default %(default)s")
    parser.add_argument(
        "--samples", type=Path, default=DEFAULT_OUT, help="the sample the server serves"
    )
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    if not args.server.startswith(("http://", "https://")):
        print(f"samples.demo: --server {args.server!r} is not an http(s) URL", file=sys.stderr)
        return 2
    server = Server(args.server.rstrip("/"))
    try:
        manifest = json.loads((args.samples / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(
            f"samples.demo: no sample in {args.samples}: run `make run` first "
            "(or python -m samples.build)",
            file=sys.stderr,
        )
        return 2
    try:
        server.get("/healthz")
    except DemoError:
        print(
            f"samples.demo: no Tracemark server answers at {server.url}: "
            "run `make run` first (in another terminal)",
            file=sys.stderr,
        )
        return 2
    story = Story(server, args.samples, manifest, console)
    started = time.monotonic()
    try:
        story.check_server()
        story.play()
    except (DemoError, errors.TracemarkError) as exc:  # a proof that fails is a TracemarkError
        shown = exc.message if isinstance(exc, errors.TracemarkError) else str(exc)
        console.print(f"[red]✗ the demo stopped:[/] {escape(shown)}")
        return 2 if story.wrong_server else 1
    except KeyboardInterrupt:
        console.print("[yellow]the demo was interrupted[/]")
        return 130
    finally:
        story.clean_up()
    console.rule()
    console.print(
        f"[green bold]Demo finished[/]: {story.steps} steps as the story says, "
        f"in {time.monotonic() - started:.1f} s. The server keeps running with what the demo "
        "appended; run the demo again for a new round."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
