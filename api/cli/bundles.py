"""Offline proof bundles: ``tracemark item bundle`` writes one (docs/format.md, "Item
bundle"), ``tracemark verify-bundle`` checks it with no network (ledger/verdicts/bundles.py).

Exit codes (docs/cli.md): 0 every check passed, 3 a check failed, 2 not a bundle or a bad
key, file or option.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import context
from api.cli.exits import BAD_INPUT, VERIFICATION_FAILED, fail, handled
from api.cli.options import DbOpt, HomeOpt, JsonOpt, KeyOpt, item_ids, now_ms, public_url
from api.cli.output import emit, out
from api.cli.root import app
from api.cli.supply import item_app
from api.settings import DEFAULT_PUBLIC_URL
from ledger.codes.gs1 import gtin14
from ledger.codes.identifiers import item_id
from ledger.log.checkpoint import CosignatureVerifier
from ledger.verdicts.bundles import MAX_ITEM_BUNDLE_SIZE, verify_bundle

__all__ = ["item_bundle", "verify_bundle_command"]


@item_app.command("bundle")
def item_bundle(
    gtin: Annotated[str, typer.Argument(help="GTIN, or an item id / Digital Link URI.")],
    serial: Annotated[str | None, typer.Argument(help="Serial (with a GTIN).")] = None,
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the bundle (JSON).")] = (
        Path("bundle.json")
    ),
    code: Annotated[
        str | None, typer.Option(help="The item's signed code, checked and carried along.")
    ] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    key_file: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write an item's offline proof bundle: its entries with inclusion proofs to a
    (witnessed) checkpoint, the trust bundle, the code, and a statement signed with the
    operator key. Check it anywhere with ``tracemark verify-bundle``."""
    from ledger.usecases.bundles import build_item_bundle  # noqa: PLC0415 - loads the storage

    ctx = context(home, database_url, key_file)
    with handled():
        ident = item_id(gtin14(gtin), serial) if serial is not None else item_ids([gtin])[0]
        key = ctx.load_key()
        service = ctx.service(key=key)
        with closing(service.store):
            service.checkpoint(now=now_ms())
            bundle = build_item_bundle(
                service.prover,
                ident,
                log_key=key,
                resolvers=[public_url(None) or DEFAULT_PUBLIC_URL],
                code=code,
                now=now_ms(),
            )
            vkey = service.info().verifier.to_vkey()
    try:
        out_file.write_text(json.dumps(bundle, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out_file}: {exc.strerror}", BAD_INPUT)
    size = bundle["statement"]["tree_size"]
    emit(
        json_out,
        {
            "out": str(out_file),
            "item": ident,
            "entries": len(bundle["entries"]),
            "tree_size": size,
            "log_vkey": vkey,
        },
        lambda: out.print(
            f"Wrote {out_file}: {ident}, {len(bundle['entries'])} entries proven to tree size "
            f"{size}. Verifiers pin the log key:\n{vkey}",
            markup=False,
        ),
    )


@app.command("verify-bundle")
def verify_bundle_command(
    bundle_file: Annotated[Path, typer.Argument(help="The bundle (JSON) to check.")],
    log_key: Annotated[
        str,
        typer.Option(
            "--log-key",
            envvar="TRACEMARK_LOG_VKEY",
            help="The log's verifier key (origin+hash+base64) the checkpoint must be signed with.",
        ),
    ],
    witness: Annotated[
        list[str] | None,
        typer.Option("--witness", help="A witness's cosignature key (repeatable)."),
    ] = None,
    quorum: Annotated[
        int | None,
        typer.Option(help="How many of the witnesses must have cosigned (default: all given)."),
    ] = None,
    max_age_hours: Annotated[float, typer.Option(help="Refuse older trust bundles.", min=0)] = 24
    * 7,
    json_out: JsonOpt = False,
) -> None:
    """Check an item bundle offline: the checkpoint (and witnesses), every inclusion proof and
    signature, the trust bundle and code, the operator's statement, and the item's status
    recomputed from the entries. Exit 3 when a check fails. A bundle proves what the log held
    at its checkpoint, not that no later entry (a recall) exists."""
    try:
        if bundle_file.stat().st_size > MAX_ITEM_BUNDLE_SIZE:
            fail(f"{bundle_file} is larger than a bundle may be", BAD_INPUT)
        data = bundle_file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {bundle_file}: {exc.strerror}", BAD_INPUT)
    with handled():
        witnesses = [CosignatureVerifier.from_vkey(text) for text in witness or []]
        result = verify_bundle(
            data,
            log_key=log_key,
            witnesses=witnesses,
            quorum=len(witnesses) if quorum is None else quorum,
            now=now_ms(),
            max_trust_age_ms=int(max_age_hours * 3_600_000),
        )

    def human() -> None:
        mark = {True: "[green]passed[/]", False: "[red]FAILED[/]", None: "skipped"}
        for check in result.checks:
            out.print(f"{mark[check.passed]} {check.name}: ", end="")
            out.print(check.reason, markup=False)
        verdict = "[green]bundle verified[/]" if result.ok else "[red]bundle REFUSED[/]"
        out.print(f"{verdict}: {result.item}")
        out.print(result.scope, markup=False)

    emit(json_out, result.to_obj(), human)
    if not result.ok:
        raise typer.Exit(VERIFICATION_FAILED)
