"""Signing and submitting for the CLI: the actor's key signs locally, entries go to the
local database, a server (``--server URL``) or a file (``--out FILE``, offline signing;
``tracemark submit FILE`` sends it later). The options are api/cli/options.py's.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.cli.context import Context, context, passphrase
from api.cli.exits import BAD_INPUT, CONFLICT, VERIFICATION_FAILED, fail
from api.cli.options import local_tz, parse_time
from api.cli.output import emit, out, warn
from ledger.keyfile import load_private_key
from ledger.keys import PrivateKey
from ledger.log.entries import Envelope, sign_entry

if TYPE_CHECKING:
    from api.submit import Submitter

__all__ = ["Signer", "make_submitter", "operator_signer", "signer", "submit_or_write"]


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
        refused_signature = first["code"] in ("signature_invalid", "unknown_key")
        code = VERIFICATION_FAILED if refused_signature else CONFLICT
        fail(f"{what} refused: {first['code']}: {first['message']}", code)
    return results


def make_submitter(ctx: Context, server: str | None, *, operator: bool = False) -> Submitter:
    from api.submit import LocalSubmitter, RemoteSubmitter  # noqa: PLC0415 - loads the storage

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
        fail(
            "--as KEYFILE is required: the key that signs (or set TRACEMARK_SIGNING_KEY)", BAD_INPUT
        )
    key, warnings = load_private_key(key_path, passphrase())
    for warning in warnings:
        if "unencrypted" not in warning:
            warn(warning)
    submitter = make_submitter(ctx, server)
    if actor is None:
        actor = submitter.actor_of(key.key_id)
        if actor is None:
            fail(f"key {key.key_id} is not registered: pass --actor ID", BAD_INPUT)
    return Signer(ctx, key, submitter, actor, out_file)


def operator_signer(
    home: Path,
    database_url: str | None,
    key_file: Path | None,
    server: str | None,
    out_file: Path | None,
) -> Signer:
    from api.submit import LocalSubmitter, RemoteSubmitter  # noqa: PLC0415 - loads the storage

    ctx = context(home, database_url, key_file)
    key = ctx.load_key()
    submitter: Submitter = (
        RemoteSubmitter(server) if server else LocalSubmitter(ctx.service(key=key))
    )
    return Signer(ctx, key, submitter, "operator", out_file)
