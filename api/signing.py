"""Signing and submitting for the CLI: the actor's key signs locally, entries go to the
local database, a server (``--server URL``) or a file (``--out FILE``, offline signing;
``tracemark submit FILE`` sends it later). Also the common options and argument parsers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli import Context, _passphrase, context, emit, err, fail, handled, out
from api.settings import admission_from_env
from api.submit import LocalSubmitter, RemoteSubmitter, Submitter
from ledger import errors
from ledger.codes.identifiers import parse_item_id
from ledger.keyfile import load_private_key
from ledger.keys import PrivateKey
from ledger.log.entries import Envelope, sign_entry
from ledger.usecases.service import LogService

__all__ = [
    "ActorOpt",
    "AsOpt",
    "AtOpt",
    "OutOpt",
    "ServerOpt",
    "Signer",
    "TzOpt",
    "WhereOpt",
    "item_ids",
    "local_tz",
    "make_submitter",
    "operator_signer",
    "parse_serials",
    "parse_time",
    "signer",
    "submit_or_write",
]

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
    typer.Option(
        "--at",
        help="When it happened (ISO 8601, default now). Not before the item's latest "
        "event, nor more than TRACEMARK_MAX_BACKDATE_H hours (72) ago: event_backdated.",
    ),
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


def local_tz() -> str:
    offset = time.localtime().tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    return f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def item_ids(values: Sequence[str]) -> list[str]:
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
            "tz": tz or local_tz(),
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
    if server:
        submitter: Submitter = RemoteSubmitter(server)
    else:
        with handled():
            admission = admission_from_env()
        submitter = LocalSubmitter(LogService(ctx.store(), log_key=key, admission=admission))
    return Signer(ctx, key, submitter, "operator", out_file)
