"""Stream session commands of ``tracemark``: declare a live stream, prove a scan in it.

    tracemark stream declare tiktok S-2611 --stream live-1 --listing L-1 --as shop.key
    tracemark stream declare tiktok S-2611 --stream live-2 --as shop.key   # a restart
    tracemark stream prove CODE --platform tiktok --session S-2611 --as shop.key

A restart declares the new stream id under the same session: the clone rules see one offer.
``prove`` signs one scan in the session with the seller's key (which stays on this machine)
and prints the ``session_proof`` object of ``POST /v1/verify`` (docs/api.md, docs/format.md).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.context import passphrase
from api.cli.exits import BAD_INPUT, fail, handled
from api.cli.options import (
    ActorOpt,
    AsOpt,
    DbOpt,
    HomeOpt,
    JsonOpt,
    OutOpt,
    ServerOpt,
    now_ms,
    parse_time,
)
from api.cli.root import app
from api.cli.signing import signer
from ledger.codes.signed import ItemCode
from ledger.keyfile import load_private_key
from ledger.provenance.events.names import STREAM_DECLARE
from ledger.provenance.rules.streams import sign_scan

__all__ = ["stream_app"]

stream_app = typer.Typer(
    help="Live stream sessions: declare a stream (or its restart), prove a scan in it.",
    no_args_is_help=True,
)
app.add_typer(stream_app, name="stream")


@stream_app.command("declare")
def stream_declare(
    platform: Annotated[str, typer.Argument(help="tiktok, shopee, ...")],
    session_id: Annotated[str, typer.Argument(help="Your name for this live session.")],
    stream: Annotated[str, typer.Option(help="The platform's stream id (a restart: the new one).")],
    listing: Annotated[
        list[str] | None, typer.Option(help="A listing of yours shown in the stream (repeat).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="The stream's https:// address.")] = None,
    at: Annotated[str | None, typer.Option(help="When it started (ISO 8601; default now).")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Declare a live stream and the listings it shows (verified sellers only)."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body: dict[str, Any] = {
            "actor": s.actor,
            "platform": platform,
            "session_id": session_id,
            "stream_id": stream,
            "event_time": parse_time(at),
        }
        if listing:
            body["listings"] = list(listing)
        if url:
            body["url"] = url
        s.record(STREAM_DECLARE, body, json_out, f"stream {platform}:{stream} of {session_id}")


@stream_app.command("prove")
def stream_prove(
    code: Annotated[str, typer.Argument(help="The scanned code (its full URI).")],
    platform: Annotated[str, typer.Option(help="The session's platform.")],
    session: Annotated[str, typer.Option(help="The session id you declared.")],
    signing_key: AsOpt = None,
) -> None:
    """Sign one scan in your session: prints the session_proof (JSON) for POST /v1/verify."""
    if signing_key is None:
        fail("--as KEYFILE is required: the seller key that declared the session", BAD_INPUT)
    with handled():
        ItemCode.from_uri(code.strip())  # a proof signs a code, never arbitrary text
        key, _ = load_private_key(signing_key, passphrase())
        proof = sign_scan(key, platform, session, code.strip(), now_ms())
    data = {
        "session_id": proof.session_id,
        "key_id": proof.key_id,
        "time": proof.time,
        "signature": base64.urlsafe_b64encode(proof.signature).decode("ascii").rstrip("="),
    }
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
