"""Supply-chain event commands of ``tracemark``: ``tracemark event commission|pack|...``.

Each signs an EPCIS-shaped event body locally with the actor's key (``--as``) and submits
it (``api.cli.supply.Signer``): to the local database, a server (``--server``), or a file
(``--out``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.context import context, passphrase
from api.cli.exits import handled
from api.cli.options import (
    ActorOpt,
    AsOpt,
    AtOpt,
    DbOpt,
    HomeOpt,
    JsonOpt,
    OutOpt,
    ServerOpt,
    TzOpt,
    WhereOpt,
    item_ids,
    local_tz,
    parse_serials,
    parse_time,
)
from api.cli.output import err
from api.cli.root import app
from api.cli.signing import Signer, make_submitter, signer
from ledger import errors
from ledger.codes.gs1 import gtin14
from ledger.keyfile import load_private_key, save_private_key
from ledger.keys import PrivateKey
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)
from ledger.provenance.rules.custody import claim_commitment

__all__ = ["event_app"]

event_app = typer.Typer(
    help="Record supply-chain events (EPCIS-shaped), signed with your key (--as).",
    no_args_is_help=True,
)
app.add_typer(event_app, name="event")


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
        body = s.event(at, tz, where, parent=item_ids([parent])[0], children=item_ids(children))
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
        extra = {"children": item_ids(children)} if children else {}
        body = s.event(at, tz, where, parent=item_ids([parent])[0], **extra)
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
        body = s.event(at, tz, where, shipment=shipment_id, to=to, items=item_ids(items))
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
        ids = item_ids(items)
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
            key, _ = load_private_key(key_file, passphrase())
        else:
            key = PrivateKey.generate()
            save_private_key(key_file, key, passphrase())
        ctx = context(home, database_url, None)
        s = Signer(ctx, key, make_submitter(ctx, server), "", None)
        body = {
            "item": item_ids([item])[0],
            "secret": secret,
            "key": key.public_key.to_text(),
            "event_time": parse_time(None),
            "tz": local_tz(),
        }
        s.record(CLAIM, body, json_out, f"claim of {item}")


@event_app.command("recall")
def recall(
    gtin: Annotated[str, typer.Argument(help="Your GTIN.")],
    reason: Annotated[str, typer.Option(help="Why (shown to everyone who scans).")],
    lot: Annotated[str | None, typer.Option(help="Recall one lot.")] = None,
    contact: Annotated[
        str | None,
        typer.Option(help="Whom buyers contact: a phone, URL or email (shown on the page)."),
    ] = None,
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
        if contact:
            extra["contact"] = contact
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
            s.event(at, tz, where, items=item_ids(items), reason=reason),
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
            s.event(at, tz, where, inputs=item_ids(inputs), outputs=outputs),
            json_out,
            "repackaging",
        )
