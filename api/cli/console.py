"""The web console's accounts (operator only): ``tracemark console invite``.

    tracemark console invite --role operator [--name NAME]
    tracemark console invite --role producer --actor ACTOR_ID [--name NAME] [--handle H]

Prints a one-time invite link (``<public URL>/console/invite/<token>``) that expires after
``TRACEMARK_CONSOLE_INVITE_S`` (default 7 days) and works once; the database keeps only the
token's SHA-256. The first operator account is made this way; later invites come from the
console's operator screens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import context
from api.cli.exits import handled
from api.cli.options import DbOpt, HomeOpt, JsonOpt, PublicUrlOpt, now_ms, public_url
from api.cli.output import emit, out
from api.cli.root import app

__all__ = ["console_app"]

console_app = typer.Typer(help="Web console accounts: invite people.", no_args_is_help=True)
app.add_typer(console_app, name="console")


@console_app.command("invite")
def console_invite(
    role: Annotated[
        str,
        typer.Option(help="operator, producer, seller, platform, certifier or identity_verifier."),
    ],
    actor: Annotated[
        str, typer.Option(help="The actor id the invited person acts for (actor roles).")
    ] = "",
    name: Annotated[str, typer.Option(help="The account's name (default: actor id or role).")] = "",
    handle: Annotated[
        str, typer.Option(help="A platform handle of the actor, e.g. tiktok:@shop.")
    ] = "",
    public_url_opt: PublicUrlOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print a one-time, expiring invite link to the web console for ROLE."""
    from api.accounts import Accounts, invite_url  # noqa: PLC0415 - loads argon2, pyotp
    from api.settings import console_settings_from_env  # noqa: PLC0415
    from ledger.storage.sql.console import SqlConsoleStore  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        import os  # noqa: PLC0415

        base = public_url(public_url_opt)
        settings = console_settings_from_env(os.environ)
        accounts = Accounts(SqlConsoleStore(ctx.store().engine), settings)
        invite, token = accounts.invite(
            role, now=now_ms(), actor_id=actor, name=name, handle=handle, by="cli"
        )
        accounts.audit(
            None, "invite.create", now=now_ms(), target=f"{role}:{actor or name}", detail="cli"
        )
    link = invite_url(base or "", token)
    data = {
        "link": link,
        "role": invite.role,
        "actor": invite.actor_id or None,
        "expires": invite.expires,
    }

    def human() -> None:
        out.print(
            f"One-time invite ({invite.role}, {invite.name}); it works once, until it expires:"
        )
        out.print(link, markup=False)

    emit(json_out, data, human)
