"""Stream session commands of ``tracemark``: declare a live stream, prove a scan in it.

    tracemark stream declare tiktok S-2611 --stream live-1 --listing L-1 --as shop.key
    tracemark stream declare tiktok S-2611 --stream live-2 --as shop.key   # a restart
    tracemark stream prove CODE --platform tiktok --session S-2611 --as shop.key
    tracemark stream overlay tiktok L-1 --stream live-1 --layout portrait
    tracemark stream revoke-code K7M-2QX

A restart declares the new stream id under the same session: the clone rules see one offer.
``prove`` signs one scan in the session with the seller's key (which stays on this machine)
and prints the ``session_proof`` object of ``POST /v1/verify`` (docs/api.md, docs/format.md).
``overlay`` prints what the streamer needs before going live: the overlay's URL for OBS (with
its layout), the short code viewers can type, and the link to pin in chat (the overlay shows
the same code and renews it while it runs); ``revoke-code`` ends a code at once.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from api.cli.context import context, passphrase
from api.cli.exits import BAD_INPUT, fail, handled
from api.cli.options import (
    ActorOpt,
    AsOpt,
    DbOpt,
    HomeOpt,
    JsonOpt,
    OutOpt,
    PublicUrlOpt,
    ServerOpt,
    now_ms,
    parse_time,
    public_url,
)
from api.cli.output import emit, out
from api.cli.root import app
from api.cli.signing import signer
from api.settings import short_code_ttl_from_env
from ledger import errors
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


_PLATFORM = re.compile(r"^[a-z0-9_.-]{1,32}$")
_FIELD = re.compile(r"^[\x21-\x7e]{1,128}$")


@stream_app.command("overlay")
def stream_overlay(
    platform: Annotated[str, typer.Argument(help="tiktok, shopee, ...")],
    listing: Annotated[str, typer.Argument(help="Your listing's id on that platform.")],
    stream: Annotated[str, typer.Option(help="The platform's stream id.")],
    layout: Annotated[
        str, typer.Option(help="portrait (1080x1920), landscape (1920x1080) or corner.")
    ] = "portrait",
    lang: Annotated[str, typer.Option(help="The overlay's language: vi or en.")] = "vi",
    resolver: PublicUrlOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print the overlay URL for OBS, the short code viewers type and the chat link to pin."""
    from ledger.storage.platform import platform_store  # noqa: PLC0415
    from ledger.usecases.short_codes import display, overlay_code  # noqa: PLC0415

    with handled():
        if not _PLATFORM.match(platform):
            raise errors.InvalidInput("a platform name is 1-32 of a-z 0-9 _ . -")
        if not _FIELD.match(listing) or "/" in listing or not _FIELD.match(stream):
            raise errors.InvalidInput("the listing and stream ids are 1-128 printable characters")
        if layout not in ("portrait", "landscape", "corner"):
            raise errors.InvalidInput("--layout is portrait, landscape or corner")
        if lang not in ("vi", "en"):
            raise errors.InvalidInput("--lang is vi or en")
        base = public_url(resolver)
        ttl_s = short_code_ttl_from_env()
        store = context(home, database_url, None).store()
        service_listing = _store_listing(store, platform, listing)
        if service_listing is None:
            raise errors.NotFound(
                f"no listing {platform}:{listing} in the ledger: declare it first "
                "(tracemark events listing)",
                code="unknown_listing",
            )
        code = overlay_code(
            platform_store(store),
            platform,
            listing,
            stream,
            now=now_ms(),
            ttl_ms=ttl_s * 1000,
            random=secrets.token_bytes(32),
        )
    path = f"{quote(platform, safe='')}/{quote(listing, safe='')}"
    overlay = f"{base}/overlay/{path}?stream={quote(stream, safe='')}&lang={lang}&layout={layout}"
    data = {
        "overlay_url": overlay,
        "short_code": display(code.code),
        "chat_link": f"{base}/s/{code.code}",
        "expires": code.expires,
        "ttl_s": ttl_s,
    }

    def human() -> None:
        out.print("OBS browser source:", markup=False)
        out.print(f"  {overlay}", markup=False)
        out.print(f"Short code viewers can type: {display(code.code)}", markup=False)
        out.print(f"Link to pin in chat: {base}/s/{code.code}", markup=False)
        out.print(
            f"The code stays while the overlay runs and ends {ttl_s} s after it closes.",
            markup=False,
        )

    emit(json_out, data, human)


def _store_listing(store: Any, platform: str, listing: str) -> Any:
    """The listing as the ledger's projection holds it (None: not declared)."""
    from ledger.provenance.records import Listing  # noqa: PLC0415

    with store.reader() as view:
        return view.get(Listing, (platform, listing))


@stream_app.command("revoke-code")
def stream_revoke_code(
    code: Annotated[str, typer.Argument(help="The short code, as shown (K7M-2QX).")],
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """End a short code at once (/s/CODE then answers 410); the overlay shows a new one."""
    from ledger.storage.platform import platform_store  # noqa: PLC0415
    from ledger.usecases.short_codes import display, parse_code  # noqa: PLC0415

    with handled():
        canonical = parse_code(code)
        store = context(home, database_url, None).store()
        found = platform_store(store).revoke_short_code(canonical, now_ms())
    data = {"short_code": display(found.code), "revoked": found.revoked}
    emit(json_out, data, lambda: out.print(f"short code {display(found.code)} revoked"))
