"""Supply-chain commands of ``tracemark``: keys, actors, events, listings, items, reindex.

Every command that records something signs locally with the actor's key file (``--as``;
the key never leaves this machine) and submits to the local database or, with
``--server URL``, to a running server; ``--out FILE`` writes the signed entry as a JSON
line instead (offline signing; ``tracemark submit FILE`` sends it later).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli import (
    Context,
    DbOpt,
    HomeOpt,
    JsonOpt,
    KeyOpt,
    _passphrase,
    app,
    context,
    emit,
    err,
    fail,
    handled,
    out,
)
from api.submit import LocalSubmitter, RemoteSubmitter, Submitter
from ledger import errors
from ledger.custody import claim_commitment
from ledger.entries import Envelope, sign_entry
from ledger.events import (
    ACTOR_REGISTER,
    ACTOR_UPDATE,
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    KEY_ADD,
    KEY_REVOKE,
    LISTING_CLOSE,
    LISTING_DECLARE,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
    item_id,
    parse_item_id,
)
from ledger.gs1 import gtin14
from ledger.keyfile import load_private_key, save_private_key, save_public_key
from ledger.keys import PrivateKey, PublicKey
from ledger.service import LogService

__all__ = ["parse_serials", "parse_time"]

key_app = typer.Typer(help="Actor keys: generate a key file, add, revoke.", no_args_is_help=True)
actor_app = typer.Typer(
    help="Actors (operator only): register, update, show.", no_args_is_help=True
)
event_app = typer.Typer(
    help="Record supply-chain events (EPCIS-shaped), signed with your key (--as).",
    no_args_is_help=True,
)
listing_app = typer.Typer(help="Listings on platforms: declare, close, show.", no_args_is_help=True)
item_app = typer.Typer(help="Items: state and timeline.", no_args_is_help=True)
app.add_typer(key_app, name="key")
app.add_typer(actor_app, name="actor")
app.add_typer(event_app, name="event")
app.add_typer(listing_app, name="listing")
app.add_typer(item_app, name="item")

AsOpt = Annotated[
    Path | None,
    typer.Option("--as", envvar="TRACEMARK_SIGNING_KEY", help="Your key file (signs the entry)."),
]
ActorOpt = Annotated[
    str | None,
    typer.Option("--actor", help="The actor you act for (default: the actor of your key)."),
]
ServerOpt = Annotated[
    str | None,
    typer.Option("--server", envvar="TRACEMARK_SERVER", help="Submit to this server URL."),
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Append the signed entry to this JSONL file instead."),
]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="When it happened (ISO 8601, default now)."),
]
TzOpt = Annotated[
    str | None, typer.Option("--tz", help="Time zone offset like +07:00 (default: local).")
]
WhereOpt = Annotated[
    str | None, typer.Option("--biz-location", help="Where (a URI such as urn:epc:id:sgln:...).")
]

_RANGE = re.compile(r"^(.*?)(\d+)\.\.(.*?)(\d+)$")


def parse_serials(spec: str) -> dict[str, Any]:
    """``A1,A2,FS000001..FS100000`` -> {"list": [...], "ranges": [...]}."""
    listed: list[str] = []
    ranges: list[dict[str, Any]] = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        match = _RANGE.match(token)
        if match is None:
            listed.append(token)
            continue
        prefix, first, prefix2, last = match.groups()
        if prefix != prefix2 or len(first) != len(last):
            raise errors.InvalidInput(
                f"range {token!r} must have the same prefix and digit count at both ends"
            )
        ranges.append(
            {"prefix": prefix, "first": int(first), "last": int(last), "width": len(first)}
        )
    if not listed and not ranges:
        raise errors.InvalidInput("--serials names no serial")
    result: dict[str, Any] = {}
    if listed:
        result["list"] = listed
    if ranges:
        result["ranges"] = ranges
    return result


def parse_time(text: str | None) -> int:
    """ISO 8601 (with or without offset; none means local time) -> epoch milliseconds."""
    if text is None:
        return time.time_ns() // 1_000_000
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput(f"--at {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        value = value.astimezone()
    return int(value.timestamp() * 1000)


def _local_tz() -> str:
    offset = time.localtime().tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    return f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def _item_ids(values: Sequence[str]) -> list[str]:
    """Accept item ids (01/<gtin>/21/<serial>, 00/<sscc>) or Digital Link URIs."""
    result = []
    for value in values:
        text = value.split("://", 1)[1].split("/", 1)[1] if "://" in value else value
        result.append(parse_item_id(text.split("?", 1)[0]).item_id)
    return result


@dataclass
class Signer:
    """Who signs (key file), acting as which actor, and where entries go."""

    ctx: Context
    key: PrivateKey
    submitter: Submitter
    actor: str
    out_file: Path | None

    def event(
        self, at: str | None, tz: str | None, where: str | None, **fields: Any
    ) -> dict[str, Any]:
        body = {
            "actor": self.actor,
            "event_time": parse_time(at),
            "tz": tz or _local_tz(),
            **fields,
        }
        if where:
            body["biz_location"] = where
        return body

    def record(self, kind: str, body: dict[str, Any], as_json: bool, what: str) -> dict[str, Any]:
        envelope = sign_entry(kind, body, self.key)
        return submit_or_write(self.submitter, self.out_file, [envelope], as_json, what)[0]

    def record_all(self, envelopes: Sequence[Envelope], as_json: bool, what: str) -> None:
        submit_or_write(self.submitter, self.out_file, envelopes, as_json, what)


def submit_or_write(
    submitter: Submitter,
    out_file: Path | None,
    envelopes: Sequence[Envelope],
    as_json: bool,
    what: str,
) -> list[dict[str, Any]]:
    """Submit signed entries (or append them to ``out_file``); exit 4 when one is refused."""
    if out_file is not None:
        with out_file.open("a", encoding="utf-8") as handle:
            for envelope in envelopes:
                handle.write(envelope.to_json().decode("utf-8") + "\n")
        results: list[dict[str, Any]] = [{"written": str(out_file)} for _ in envelopes]
        emit(as_json, {"results": results}, lambda: out.print(f"Signed {what}; wrote {out_file}"))
        return results
    results = submitter.submit(envelopes)
    failed = [r["error"] for r in results if "error" in r]
    if as_json:
        sys.stdout.write(json.dumps({"results": results}, indent=2, sort_keys=True) + "\n")
    elif not failed:
        indices = ", ".join(str(r["index"]) for r in results)
        out.print(f"[green]Recorded[/] {what} at index {indices}")
    if failed:
        first = failed[0]
        code = 4 if first["code"] not in ("signature_invalid", "unknown_key") else 3
        fail(f"{what} refused: {first['code']}: {first['message']}", code)
    return results


def make_submitter(ctx: Context, server: str | None, *, operator: bool = False) -> Submitter:
    if server:
        return RemoteSubmitter(server)
    return LocalSubmitter(ctx.service(with_key=operator and ctx.key_file.exists()))


def signer(
    home: Path,
    database_url: str | None,
    key_path: Path | None,
    actor: str | None,
    server: str | None,
    out_file: Path | None,
) -> Signer:
    ctx = context(home, database_url, None)
    if key_path is None:
        fail("--as KEYFILE is required: the key that signs (or set TRACEMARK_SIGNING_KEY)", 2)
    key, warnings = load_private_key(key_path, _passphrase())
    for warning in warnings:
        if "unencrypted" not in warning:
            err.print(f"tracemark: warning: {warning}", markup=False, soft_wrap=True)
    submitter = make_submitter(ctx, server)
    if actor is None:
        actor = submitter.actor_of(key.key_id)
        if actor is None:
            fail(f"key {key.key_id} is not registered: pass --actor ID", 2)
    return Signer(ctx, key, submitter, actor, out_file)


def operator_signer(
    home: Path,
    database_url: str | None,
    key_file: Path | None,
    server: str | None,
    out_file: Path | None,
) -> Signer:
    ctx = context(home, database_url, key_file)
    key = ctx.load_key()
    submitter = (
        RemoteSubmitter(server) if server else LocalSubmitter(LogService(ctx.store(), log_key=key))
    )
    return Signer(ctx, key, submitter, "operator", out_file)


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
        for warning in save_private_key(path, key, _passphrase()):
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
        list[str] | None, typer.Option(help="Platform handle, e.g. tiktok:@shop.")
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
            actor["handles"] = handle
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
            ("handles", handle),
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


# --- events --------------------------------------------------------------------------------------


def _product(
    name: str | None, image_url: str | None, description: str | None
) -> dict[str, str] | None:
    if name is None:
        if image_url or description:
            raise errors.InvalidInput("--image-url and --description need --name")
        return None
    product = {"name": name}
    if image_url:
        product["image_url"] = image_url
    if description:
        product["description"] = description
    return product


@event_app.command("commission")
def commission(
    gtin: Annotated[str, typer.Argument(help="GTIN (8, 12, 13 or 14 digits).")],
    serials: Annotated[str, typer.Option(help="A1,A2 and ranges FS000001..FS100000.")],
    lot: Annotated[str | None, typer.Option(help="Batch/lot (AI 10).")] = None,
    expiry: Annotated[str | None, typer.Option(help="Expiry YYMMDD (AI 17).")] = None,
    name: Annotated[str | None, typer.Option(help="Product name (master data).")] = None,
    image_url: Annotated[str | None, typer.Option(help="Product image (https).")] = None,
    description: Annotated[str | None, typer.Option(help="Product description.")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Commission items of your GTIN: serial lists and ranges (100,000 serials in one entry)."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        extra: dict[str, Any] = {}
        if lot:
            extra["lot"] = lot
        if expiry:
            extra["expiry"] = expiry
        product = _product(name, image_url, description)
        if product:
            extra["product"] = product
        body = s.event(at, tz, where, gtin=gtin14(gtin), serials=parse_serials(serials), **extra)
        s.record(COMMISSION, body, json_out, "commissioning")


@event_app.command("pack")
def pack(
    parent: Annotated[str, typer.Argument(help="Container: 00/<sscc> or 01/<gtin>/21/<serial>.")],
    children: Annotated[list[str], typer.Argument(help="Item ids to pack.")],
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Pack items you hold into a case or pallet (EPCIS AggregationEvent ADD)."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body = s.event(at, tz, where, parent=_item_ids([parent])[0], children=_item_ids(children))
        s.record(PACK, body, json_out, f"packing into {parent}")


@event_app.command("unpack")
def unpack(
    parent: Annotated[str, typer.Argument(help="The container.")],
    children: Annotated[
        list[str] | None, typer.Argument(help="Items to take out (default all).")
    ] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Unpack a container you hold (EPCIS AggregationEvent DELETE)."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        extra = {"children": _item_ids(children)} if children else {}
        body = s.event(at, tz, where, parent=_item_ids([parent])[0], **extra)
        s.record(UNPACK, body, json_out, f"unpacking of {parent}")


@event_app.command("ship")
def ship(
    items: Annotated[list[str], typer.Argument(help="Item or container ids.")],
    to: Annotated[str, typer.Option(help="The receiving actor.")],
    shipment: Annotated[str | None, typer.Option(help="Shipment id (default generated).")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ship items you hold to another actor; they are in transit until received."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        shipment_id = shipment or "S-" + secrets.token_hex(6)
        body = s.event(at, tz, where, shipment=shipment_id, to=to, items=_item_ids(items))
        s.record(SHIP, body, json_out, f"shipment {shipment_id}")


@event_app.command("receive")
def receive(
    shipment: Annotated[str, typer.Argument(help="The shipment id.")],
    sender: Annotated[str, typer.Option("--from", help="The sending actor.")],
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Receive a shipment addressed to you: custody passes to you."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body = s.event(at, tz, where, shipment=shipment, **{"from": sender})
        s.record(RECEIVE, body, json_out, f"receipt of {shipment}")


@event_app.command("cancel")
def cancel(
    shipment: Annotated[str, typer.Argument(help="Your shipment id.")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Cancel your shipment before it is received."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        extra = {"reason": reason} if reason else {}
        s.record(
            CANCEL,
            s.event(at, tz, where, shipment=shipment, **extra),
            json_out,
            f"cancellation of {shipment}",
        )


@event_app.command("sell")
def sell(
    items: Annotated[list[str], typer.Argument(help="Item ids sold to a consumer.")],
    claim_codes: Annotated[
        bool, typer.Option("--claim-codes", help="Give each buyer a claim secret.")
    ] = False,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sell items to consumers. With --claim-codes, prints one secret per item for its buyer,
    who can later prove first ownership with `tracemark event claim`."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        ids = _item_ids(items)
        extra: dict[str, Any] = {}
        codes = {i: secrets.token_urlsafe(18) for i in ids} if claim_codes else {}
        if codes:
            extra["claims"] = {i: claim_commitment(i, code) for i, code in codes.items()}
        s.record(
            SELL,
            s.event(at, tz, where, items=ids, **extra),
            json_out,
            f"sale of {len(ids)} item(s)",
        )
    for ident, code in codes.items():
        err.print(f"claim secret for {ident}: {code}", markup=False)


@event_app.command("claim")
def claim(
    item: Annotated[str, typer.Argument(help="The item you bought.")],
    secret: Annotated[str, typer.Option(help="The claim secret you got from the seller.")],
    key_file: Annotated[Path, typer.Option("--key-file", help="Your key (created if missing).")],
    server: ServerOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Claim first ownership of an item you bought (self-signed; no registration needed)."""
    with handled():
        if key_file.exists():
            key, _ = load_private_key(key_file, _passphrase())
        else:
            key = PrivateKey.generate()
            save_private_key(key_file, key, _passphrase())
        ctx = context(home, database_url, None)
        s = Signer(ctx, key, make_submitter(ctx, server), "", None)
        body = {
            "item": _item_ids([item])[0],
            "secret": secret,
            "key": key.public_key.to_text(),
            "event_time": parse_time(None),
            "tz": _local_tz(),
        }
        s.record(CLAIM, body, json_out, f"claim of {item}")


@event_app.command("recall")
def recall(
    gtin: Annotated[str, typer.Argument(help="Your GTIN.")],
    reason: Annotated[str, typer.Option(help="Why (shown to everyone who scans).")],
    lot: Annotated[str | None, typer.Option(help="Recall one lot.")] = None,
    serial: Annotated[list[str] | None, typer.Option(help="Recall these serials.")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Recall items, a lot, or (with neither --lot nor --serial) the whole GTIN."""
    with handled():
        if lot and serial:
            raise errors.InvalidInput("give --lot or --serial, not both")
        s = signer(home, database_url, signing_key, actor, server, out_file)
        extra: dict[str, Any] = {"scope": "gtin"}
        if lot:
            extra = {"scope": "lot", "lot": lot}
        elif serial:
            extra = {"scope": "items", "serials": serial}
        body = s.event(at, tz, where, gtin=gtin14(gtin), reason=reason, **extra)
        s.record(RECALL, body, json_out, f"recall ({extra['scope']})")


@event_app.command("decommission")
def decommission(
    items: Annotated[list[str], typer.Argument(help="Item ids.")],
    reason: Annotated[
        str, typer.Option(help="destroyed, decommissioned, damaged or expired.")
    ] = "destroyed",
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Take items you hold out of the supply chain for good."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        s.record(
            DECOMMISSION,
            s.event(at, tz, where, items=_item_ids(items), reason=reason),
            json_out,
            f"{reason}: {len(items)} item(s)",
        )


@event_app.command("repack")
def repack(
    inputs: Annotated[list[str], typer.Argument(help="Items consumed.")],
    gtin: Annotated[str, typer.Option(help="GTIN of the new items (yours).")],
    serials: Annotated[str, typer.Option(help="Serials of the new items.")],
    lot: Annotated[str | None, typer.Option(help="Lot of the new items.")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    at: AtOpt = None,
    tz: TzOpt = None,
    where: WhereOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Repackage items into new items of your GTIN (EPCIS TransformationEvent)."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        outputs: dict[str, Any] = {"gtin": gtin14(gtin), "serials": parse_serials(serials)}
        if lot:
            outputs["lot"] = lot
        s.record(
            REPACK,
            s.event(at, tz, where, inputs=_item_ids(inputs), outputs=outputs),
            json_out,
            "repackaging",
        )


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
            body["serials"] = _item_ids(item)
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
        raise typer.Exit(3)


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
        ident = item_id(gtin14(gtin), serial) if serial is not None else _item_ids([gtin])[0]
        view = ctx.service().item_view(ident)
    r = view.record
    data = {
        "item_id": r.item_id,
        "gtin": r.gtin,
        "serial": r.serial,
        "lot": r.lot,
        "expiry": r.expiry,
        "status": view.status,
        "custody_status": r.status,
        "recalled": view.recalled,
        "custodian": r.custodian,
        "pending_to": r.pending_to,
        "parent": r.parent,
        "producer": r.producer,
        "claimed": bool(r.claimed_by),
        "product": None if view.product is None else {"name": view.product.name},
        "timeline": [
            {
                "index": t.index,
                "type": t.type,
                "actor": t.actor,
                "event_time": t.event_time,
                "tz": t.tz,
                "summary": t.summary,
            }
            for t in view.timeline
        ],
    }

    def human() -> None:
        name = view.product.name if view.product else r.gtin
        out.print(f"[bold]{name}[/] {r.item_id}: [bold]{view.status}[/], held by {r.custodian}")
        table = Table("index", "when (UTC)", "what")
        for t in view.timeline:
            when = dt.datetime.fromtimestamp(t.event_time / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")
            table.add_row(str(t.index), when, t.summary)
        out.print(table)

    emit(json_out, data, human)


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
