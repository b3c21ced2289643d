"""Platform API keys (operator only): ``tracemark platform add|list|revoke``.

    tracemark platform add NAME [--actor ACTOR_ID] [--rate-limit N]
    tracemark platform list
    tracemark platform revoke KEY_ID

A key is printed once, when it is made; the database keeps only its SHA-256. NAME is the
platform as listings name it (``tiktok``): the key may only ask about that platform's
listings, and webhooks belong to the platform. Revoking a platform's last key deletes its
webhooks.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from api.cli.context import context
from api.cli.exits import handled
from api.cli.options import DbOpt, HomeOpt, JsonOpt, now_ms
from api.cli.output import cells, emit, out
from api.cli.root import app
from ledger import errors
from ledger.provenance.records import Actor

if TYPE_CHECKING:
    from ledger.ports.platform import ApiKey

__all__ = ["platform_app"]

platform_app = typer.Typer(
    help="Platform API keys: add (printed once), list, revoke.", no_args_is_help=True
)
app.add_typer(platform_app, name="platform")

_NAME = r"^[a-z0-9_.-]{1,32}$"


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "platform": key.platform,
        "actor": key.actor or None,
        "created": key.created,
        "rate_limit": key.rate_limit,
        "revoked": key.revoked if key.revoked >= 0 else None,
    }


@platform_app.command("add")
def platform_add(
    name: Annotated[str, typer.Argument(help="The platform, as listings name it (tiktok).")],
    actor: Annotated[
        str | None, typer.Option(help="The platform's registered actor in the ledger.")
    ] = None,
    rate_limit: Annotated[
        int, typer.Option(help="Requests per minute for this key.", min=1, max=1_000_000)
    ] = 6_000,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an API key for platform NAME and print it once (only its hash is kept)."""
    from ledger.ports.platform import new_api_key  # noqa: PLC0415
    from ledger.storage.platform import platform_store  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        if not re.fullmatch(_NAME, name):
            raise errors.InvalidInput("a platform name is 1-32 of a-z 0-9 _ . -")
        store = ctx.store()
        if actor:
            with store.reader() as view:
                if view.get(Actor, (actor,)) is None:
                    raise errors.NotFound(f"actor {actor} is not registered", code="unknown_actor")
        key, token = new_api_key(
            name, actor or "", secret=secrets.token_bytes(32), now=now_ms(), rate_limit=rate_limit
        )
        platform_store(store).add_key(key)
    data = {**_key_json(key), "api_key": token}

    def human() -> None:
        out.print(f"API key {key.key_id} for platform [bold]{name}[/]:")
        out.print(token, markup=False)
        out.print("Keep it now: it is not stored and cannot be shown again.")

    emit(json_out, data, human)


@platform_app.command("list")
def platform_list(
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List platform API keys (ids, platforms, limits, revocations; never the keys)."""
    from ledger.storage.platform import platform_store  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        keys = platform_store(ctx.store()).keys()

    def human() -> None:
        table = Table("key id", "platform", "actor", "created (UTC)", "limit/min", "status")
        for k in keys:
            status = "active" if k.active else f"revoked {_when(k.revoked)}"
            table.add_row(
                *cells(k.key_id, k.platform, k.actor or "-", _when(k.created), k.rate_limit, status)
            )
        out.print(table)

    emit(json_out, {"keys": [_key_json(k) for k in keys]}, human)


@platform_app.command("revoke")
def platform_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from 'tracemark platform list').")],
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke an API key at once; the platform's last key also takes its webhooks."""
    from ledger.storage.platform import platform_store  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        key = platform_store(ctx.store()).revoke_key(key_id, now_ms())
    emit(
        json_out,
        _key_json(key),
        lambda: out.print(f"Revoked API key {key.key_id} of {key.platform}"),
    )
