"""Registry and read commands of ``tracemark``: keys, actors, listings, items, reindex, submit.

Signing and submitting is shared with the event commands (``api.cli.signing``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.context import context, passphrase
from api.cli.exits import VERIFICATION_FAILED, handled
from api.cli.options import (
    ActorOpt,
    AsOpt,
    DbOpt,
    HomeOpt,
    JsonOpt,
    KeyOpt,
    OutOpt,
    ServerOpt,
    item_ids,
    now_ms,
    parse_time,
)
from api.cli.output import cells, emit, err, out
from api.cli.root import app
from api.cli.signing import make_submitter, operator_signer, signer, submit_or_write
from ledger import errors
from ledger.codes.gs1 import gtin14
from ledger.codes.identifiers import item_id
from ledger.keyfile import save_private_key, save_public_key
from ledger.keys import PrivateKey, PublicKey
from ledger.log.entries import Envelope, sign_entry
from ledger.provenance.events.names import (
    ACTOR_REGISTER,
    ACTOR_UPDATE,
    KEY_ADD,
    KEY_REVOKE,
    LISTING_CLOSE,
    LISTING_DECLARE,
)
from ledger.provenance.handles import normalise_handle

__all__ = ["actor_app", "export_app", "item_app", "key_app", "listing_app"]

key_app = typer.Typer(help="Actor keys: generate a key file, add, revoke.", no_args_is_help=True)
actor_app = typer.Typer(
    help="Actors (operator only): register, update, show.", no_args_is_help=True
)
listing_app = typer.Typer(help="Listings on platforms: declare, close, show.", no_args_is_help=True)
item_app = typer.Typer(help="Items: state and timeline.", no_args_is_help=True)
app.add_typer(key_app, name="key")
app.add_typer(actor_app, name="actor")
app.add_typer(listing_app, name="listing")
app.add_typer(item_app, name="item")

# --- keys ----------------------------------------------------------------------------------------


@key_app.command("generate")
def key_generate(
    path: Annotated[Path, typer.Argument(help="Where to write the new private key file.")],
    json_out: JsonOpt = False,
) -> None:
    """Create an Ed25519 key file for an actor (encrypted with TRACEMARK_KEY_PASSPHRASE).

    Writes PATH (0600, never overwritten) and PATH.pub; prints the public key to give the
    operator for registration.
    """
    with handled():
        key = PrivateKey.generate()
        for warning in save_private_key(path, key, passphrase()):
            err.print(f"tracemark: warning: {warning}", markup=False, soft_wrap=True)
        save_public_key(path.with_suffix(".pub"), key)
    data = {"key_id": key.key_id, "public_key": key.public_key.to_text(), "path": str(path)}
    emit(json_out, data, lambda: out.print(f"key {key.key_id}\n{key.public_key.to_text()}"))


def _public_keys(texts: Sequence[str], files: Sequence[Path]) -> list[str]:
    keys = list(texts)
    for path in files:
        try:
            keys.append(path.read_text(encoding="ascii").strip())
        except (OSError, UnicodeDecodeError) as exc:
            raise errors.InvalidInput(f"cannot read public key file {path}: {exc}") from None
    for text in keys:
        PublicKey.from_text(text)
    if not keys:
        raise errors.InvalidInput("give at least one --public-key or --public-key-file")
    return keys


@key_app.command("add")
def key_add(
    actor: Annotated[str, typer.Argument(help="The actor the new key speaks for.")],
    public_key: Annotated[list[str] | None, typer.Option(help="ed25519:<base64>")] = None,
    public_key_file: Annotated[list[Path] | None, typer.Option(help="A .pub file.")] = None,
    signing_key: AsOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a key to ACTOR, signed with one of ACTOR's current keys (or the operator's)."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        texts = _public_keys(public_key or [], public_key_file or [])
        envelopes = [
            sign_entry(KEY_ADD, {"actor": actor, "key": t, "event_time": parse_time(None)}, s.key)
            for t in texts
        ]
        s.record_all(envelopes, json_out, f"{len(envelopes)} key(s) for {actor}")


@key_app.command("revoke")
def key_revoke(
    actor: Annotated[str, typer.Argument(help="The actor whose key is revoked.")],
    key_id: Annotated[str, typer.Argument(help="The key id (16 hex digits).")],
    effective: Annotated[
        str | None, typer.Option(help="From when (ISO 8601; default now).")
    ] = None,
    compromised_since: Annotated[
        str | None, typer.Option(help="The key was compromised from this time (ISO 8601).")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why.")] = "",
    signing_key: AsOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke a key. Entries integrated from the effective time on are refused; codes and
    entries from --compromised-since on are distrusted."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body: dict[str, Any] = {
            "actor": actor,
            "key_id": key_id,
            "effective_time": parse_time(effective),
            "event_time": parse_time(None),
        }
        if compromised_since:
            body["compromised_since"] = parse_time(compromised_since)
        if reason:
            body["reason"] = reason
        s.record(KEY_REVOKE, body, json_out, f"revocation of key {key_id}")


# --- actors (operator) ---------------------------------------------------------------------------


def _canonical_handles(given: Sequence[str]) -> list[str]:
    """The handles as the ledger keeps them (``tiktok:@ShopA`` -> ``tiktok:shopa``), once."""
    return list(dict.fromkeys(normalise_handle(h) for h in given))


@actor_app.command("register")
def actor_register(
    actor_id: Annotated[str, typer.Argument(help="Actor id: lowercase letters, digits, . _ -")],
    role: Annotated[str, typer.Option(help="producer, distributor, retailer, seller or platform.")],
    name: Annotated[str, typer.Option(help="Legal name.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2, e.g. VN.")] = "VN",
    verified: Annotated[bool, typer.Option(help="Identity checked by the operator.")] = False,
    prefix: Annotated[
        list[str] | None, typer.Option(help="GS1 company prefix (producers).")
    ] = None,
    handle: Annotated[
        list[str] | None,
        typer.Option(help="Platform handle, e.g. tiktok:@shop (kept as tiktok:shop)."),
    ] = None,
    public_key: Annotated[list[str] | None, typer.Option(help="ed25519:<base64>")] = None,
    public_key_file: Annotated[list[Path] | None, typer.Option(help="A .pub file.")] = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Register an actor with its public keys (signed with the operator key)."""
    with handled():
        s = operator_signer(home, database_url, key_file, server, out_file)
        actor: dict[str, Any] = {
            "id": actor_id,
            "role": role,
            "name": name,
            "country": country,
            "verified": verified,
        }
        if prefix:
            actor["prefixes"] = prefix
        if handle:
            actor["handles"] = _canonical_handles(handle)
        keys = _public_keys(public_key or [], public_key_file or [])
        s.record(
            ACTOR_REGISTER,
            {"actor": actor, "keys": keys, "event_time": parse_time(None)},
            json_out,
            f"actor {actor_id}",
        )


@actor_app.command("update")
def actor_update(
    actor_id: Annotated[str, typer.Argument(help="The actor to change.")],
    name: Annotated[str | None, typer.Option(help="New legal name.")] = None,
    country: Annotated[str | None, typer.Option(help="New country.")] = None,
    verified: Annotated[bool | None, typer.Option("--verified/--unverified")] = None,
    suspend: Annotated[bool | None, typer.Option("--suspend/--activate")] = None,
    prefix: Annotated[list[str] | None, typer.Option(help="Replace the GS1 prefixes.")] = None,
    handle: Annotated[list[str] | None, typer.Option(help="Replace the handles.")] = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Update or suspend an actor (signed with the operator key)."""
    with handled():
        s = operator_signer(home, database_url, key_file, server, out_file)
        body: dict[str, Any] = {"id": actor_id, "event_time": parse_time(None)}
        for field, value in (
            ("name", name),
            ("country", country),
            ("verified", verified),
            ("prefixes", prefix),
            ("handles", None if handle is None else _canonical_handles(handle)),
        ):
            if value is not None:
                body[field] = value
        if suspend is not None:
            body["status"] = "suspended" if suspend else "active"
        s.record(ACTOR_UPDATE, body, json_out, f"update of {actor_id}")


@actor_app.command("show")
def actor_show(
    actor_id: Annotated[str, typer.Argument(help="The actor id.")],
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show an actor and its keys."""
    ctx = context(home, database_url, None)
    with handled():
        view = ctx.service().actor_view(actor_id)
    a = view.actor
    data = {
        "actor_id": a.actor_id,
        "role": a.role,
        "name": a.name,
        "country": a.country,
        "verified": a.verified,
        "status": a.status,
        "prefixes": list(a.prefixes),
        "handles": list(a.handles),
        "registered_index": a.registered_index,
        "keys": [
            {
                "key_id": k.key_id,
                "public_key": k.public_key,
                "added_index": k.added_index,
                "revoked": k.revoked,
                "effective_time": k.effective_time,
                "compromised_since": k.compromised_since,
            }
            for k in view.keys
        ],
    }

    def human() -> None:
        out.print(
            f"[bold]{a.name}[/] ({a.actor_id}), {a.role}, {a.country}, "
            f"{'verified' if a.verified else 'NOT verified'}, {a.status}"
        )
        if a.prefixes:
            out.print("GS1 prefixes: " + ", ".join(a.prefixes))
        if a.handles:
            out.print("handles: " + ", ".join(a.handles))
        for k in view.keys:
            out.print(f"  key {k.key_id} {'revoked' if k.revoked else 'active'}")

    emit(json_out, data, human)


# --- listings ------------------------------------------------------------------------------------


@listing_app.command("declare")
def listing_declare(
    platform: Annotated[str, typer.Argument(help="tiktok, shopee, ...")],
    listing_id: Annotated[str, typer.Argument(help="The platform's listing id.")],
    gtin: Annotated[str, typer.Option(help="The GTIN offered.")],
    quantity: Annotated[int | None, typer.Option(help="How many.", min=1)] = None,
    item: Annotated[list[str] | None, typer.Option(help="Offer exactly these items.")] = None,
    stream: Annotated[str | None, typer.Option(help="The live stream id.")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Declare a listing backed by stock you hold (verified sellers only)."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body: dict[str, Any] = {
            "actor": s.actor,
            "platform": platform,
            "listing_id": listing_id,
            "gtin": gtin14(gtin),
            "event_time": parse_time(None),
        }
        if item:
            body["serials"] = item_ids(item)
        if quantity is not None:
            body["quantity"] = quantity
        if stream:
            body["stream_id"] = stream
        s.record(LISTING_DECLARE, body, json_out, f"listing {platform}:{listing_id}")


@listing_app.command("close")
def listing_close(
    platform: Annotated[str, typer.Argument(help="The platform.")],
    listing_id: Annotated[str, typer.Argument(help="The listing id.")],
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Close your listing."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body = {
            "actor": s.actor,
            "platform": platform,
            "listing_id": listing_id,
            "event_time": parse_time(None),
        }
        s.record(LISTING_CLOSE, body, json_out, f"closing of {platform}:{listing_id}")


@listing_app.command("show")
def listing_show(
    platform: Annotated[str, typer.Argument(help="The platform.")],
    listing_id: Annotated[str, typer.Argument(help="The listing id.")],
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Is this listing backed by genuine stock, and how much? Exit 3 when it is not."""
    ctx = context(home, database_url, None)
    with handled():
        status = ctx.service().listing_status(platform, listing_id)
    lst = status.listing
    data = {
        "platform": lst.platform,
        "listing_id": lst.listing_id,
        "seller": lst.seller,
        "gtin": lst.gtin,
        "quantity": lst.quantity,
        "stream_id": lst.stream_id,
        "status": lst.status,
        "stock": status.stock,
        "backed": status.backed,
        "recalled": status.recalled,
        "reasons": status.reasons,
    }

    def human() -> None:
        mark = "[green]backed by genuine stock[/]" if status.backed else "[red]NOT backed[/]"
        out.print(
            f"{lst.platform}:{lst.listing_id} by {lst.seller}: {mark}; "
            f"{status.stock} held, {lst.quantity} offered"
        )
        for reason in status.reasons:
            out.print(f"  - {reason}", markup=False)

    emit(json_out, data, human)
    if not status.backed:
        raise typer.Exit(VERIFICATION_FAILED)


# --- items, reindex, submit ----------------------------------------------------------------------


@item_app.command("show")
def item_show(
    gtin: Annotated[str, typer.Argument(help="GTIN, or an item id / Digital Link URI.")],
    serial: Annotated[str | None, typer.Argument(help="Serial (with a GTIN).")] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print an item's state and its timeline (custody history)."""
    ctx = context(home, database_url, None)
    with handled():
        ident = item_id(gtin14(gtin), serial) if serial is not None else item_ids([gtin])[0]
        view = ctx.service().item_view(ident)
    r = view.record
    data = view.to_obj()

    def human() -> None:
        name = view.product.name if view.product else r.gtin
        out.print(
            f"[bold]{escape(name)}[/] {escape(r.item_id)}: [bold]{view.status}[/], "
            f"held by {escape(r.custodian)}"
        )
        table = Table("index", "when (UTC)", "what")
        for t in view.timeline:
            when = dt.datetime.fromtimestamp(t.event_time / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")
            table.add_row(*cells(t.index, when, t.summary))
        out.print(table)

    emit(json_out, data, human)


@item_app.command("signals")
def item_signals(
    gtin: Annotated[str, typer.Argument(help="GTIN, or an item id / Digital Link URI.")],
    serial: Annotated[str | None, typer.Argument(help="Serial (with a GTIN).")] = None,
    hours: Annotated[float, typer.Option(help="How far back.", min=0.01, max=720)] = 24,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Where an item was scanned: each distinct context, vouched or weak (anonymous).

    Weak signals come from requests nobody vouched for: they never change a verdict, but a
    producer may want to look (docs/threat-model.md)."""
    from ledger.storage.sql.scans import SCAN_FIELDS  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        ident = item_id(gtin14(gtin), serial) if serial is not None else item_ids([gtin])[0]
        since = now_ms() - int(hours * 3_600_000)
        found = ctx.store().scan_signals(ident, since)
    rows = [
        {
            "latest": r.time,
            "strength": "vouched" if r.context.vouched else "weak",
            **{name: getattr(r.context, name) for name in SCAN_FIELDS},
        }
        for r in found
    ]

    def human() -> None:
        table = Table("latest (UTC)", "strength", "source", "platform", "seller", "stream", "place")
        for row in rows:
            when = dt.datetime.fromtimestamp(row["latest"] / 1000, dt.UTC)
            table.add_row(
                *cells(
                    when.strftime("%Y-%m-%d %H:%M"),
                    row["strength"],
                    row["source"],
                    row["platform"],
                    row["seller"],
                    row["stream_id"],
                    row["place"],
                )
            )
        out.print(f"{ident}: {len(rows)} contexts in the last {hours:g} h")
        out.print(table)

    emit(json_out, {"item_id": ident, "contexts": rows}, human)


@app.command()
def reindex(
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Rebuild every projection (items, actors, keys, listings...) by replaying the log."""
    ctx = context(home, database_url, None)
    with handled():
        size = ctx.service().reindex()
    emit(
        json_out,
        {"replayed": size},
        lambda: out.print(f"Rebuilt the projections from {size} entries"),
    )


@app.command()
def submit(
    path: Annotated[Path, typer.Argument(help="A JSONL file of signed entries (from --out).")],
    server: ServerOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Append entries signed elsewhere (one JSON envelope per line), in order."""
    ctx = context(home, database_url, key_file)
    with handled():
        try:
            lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise errors.InvalidInput(f"cannot read {path}: {exc}") from None
        envelopes = [Envelope.from_json(line) for line in lines]
        submitter = make_submitter(ctx, server, operator=True)
        submit_or_write(submitter, None, envelopes, json_out, f"{len(envelopes)} entries")


export_app = typer.Typer(help="Export the ledger in industry formats.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("epcis")
def export_epcis_command(
    item: Annotated[str | None, typer.Option(help="One item (id or Digital Link URI).")] = None,
    actor: Annotated[str | None, typer.Option(help="Events recorded by or for this actor.")] = None,
    start: Annotated[int | None, typer.Option(help="First log index.", min=0)] = None,
    end: Annotated[int | None, typer.Option(help="Log index after the last.", min=0)] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here (default stdout).")
    ] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
) -> None:
    """Write an EPCIS 2.0 JSON-LD document (GS1 schema-valid; event IDs are CBV 2.0 event
    hashes): the whole log, one item with its history, one actor, or a range of indices."""
    from ledger.usecases.export import export_epcis  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        ident = item_ids([item])[0] if item else None
        document = export_epcis(
            ctx.service(),
            item=ident,
            actor=actor,
            start=start,
            end=end,
            created_ms=parse_time(None),
        )
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if out_file is None:
            sys.stdout.write(text)
        else:
            try:
                out_file.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise errors.InvalidInput(f"cannot write {out_file}: {exc.strerror}") from None
            err.print(f"wrote {len(document['epcisBody']['eventList'])} events to {out_file}")
