"""The console's screens: one shell and one renderer per screen. Pure HTML strings; every
value from outside goes through ``esc``.

The shell loads only this server's files (``/console/static/...``, no inline script or
style: the console's CSP is ``CONSOLE_CSP``). Forms are plain HTML, always
``method="post"`` (a form the browser sends before its script runs must not put a password,
code or passphrase in a URL: it gets a 405 instead); ``console.js`` sends a
form marked ``data-action`` as JSON with the session's CSRF token and shows the answer in
the form's live region; ``keys.js`` owns the signing key (WebCrypto, IndexedDB).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from api.accounts import ACTOR_ROLES, IDENTITY_LEVELS, ROLES
from api.http.console.words import say
from api.http.pages.kit import esc, qr_svg
from ledger.ports.console import Account, AuditRecord

__all__ = [
    "CONSOLE_CSP",
    "ActorKey",
    "Health",
    "accounts_screen",
    "audit_screen",
    "gone_screen",
    "health_screen",
    "home_screen",
    "invite_screen",
    "invites_screen",
    "key_screen",
    "producer_keys_screen",
    "signin_screen",
    "utc_time",
]

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

#: The sections each role sees in the shell's navigation: (href, words key).
NAV: dict[str, tuple[tuple[str, str], ...]] = {
    "operator": (
        ("/console/operator/accounts", "op.accounts"),
        ("/console/operator/invites", "op.invites"),
        ("/console/operator/health", "op.health"),
        ("/console/operator/audit", "op.audit"),
    ),
    "producer": (
        ("/console/key", "key.title"),
        ("/console/producer/keys", "pkeys.title"),
        ("/console/producer/products", "prod.title"),
        ("/console/producer/batches", "batch.title"),
        ("/console/producer/labels", "label.title"),
        ("/console/producer/ship", "ship.title"),
        ("/console/producer/dashboard", "dash.title"),
        ("/console/attest/qualifications", "at.quals"),
    ),
    "seller": (
        ("/console/key", "key.title"),
        ("/console/seller/shipments", "seller.shipments"),
        ("/console/seller/stock", "seller.stock"),
        ("/console/seller/listings", "seller.listings"),
        ("/console/seller/overlay", "seller.overlay"),
        ("/console/seller/scans", "seller.scans_title"),
        ("/console/seller/compliance", "at.compliance"),
    ),
    "platform": (("/console/key", "key.title"),),
    "certifier": (("/console/key", "key.title"), ("/console/attest/qualifications", "at.quals")),
    "identity_verifier": (("/console/key", "key.title"), ("/console/attest/identity", "at.ids")),
}


@dataclass(frozen=True, slots=True)
class ActorKey:
    key_id: str
    public_key: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class Health:
    size: int
    checkpoint_time: str  # ISO, "" when none
    checkpoint_size: int
    witnesses: tuple[str, ...]


def utc_time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def shell(
    lang: str,
    title: str,
    main: str,
    *,
    account: Account | None = None,
    csrf: str = "",
    path: str = "/console/",
    scripts: Sequence[str] = ("console.js",),
) -> str:
    other = "vi" if lang == "en" else "en"
    nav = ""
    if account is not None:
        links = "".join(
            f'<li><a href="{href}"{" aria-current=page" if href == path else ""}>'
            f"{esc(say(lang, key))}</a></li>"
            for href, key in NAV.get(account.role, ())
            if account.status == "active" or href == "/console/key"
        )
        nav = (
            f'<nav aria-label="{esc(say(lang, "nav"))}"><ul>{links}</ul>'
            f'<form method="post" data-action="/console/api/signout" data-then="/console/signin">'
            f'<button type="submit">{esc(say(lang, "signout"))}</button>'
            '<output class="out" role="status" aria-live="polite"></output></form></nav>'
        )
    who = (
        f'<p class="who">{esc(account.name)} · {esc(say(lang, "role." + account.role))}</p>'
        if account is not None
        else ""
    )
    tags = "".join(f'<script src="/console/static/{esc(s)}" defer></script>' for s in scripts)
    return (
        f'<!doctype html><html lang="{esc(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">'
        f'<meta name="csrf-token" content="{esc(csrf)}">'
        f"<title>{esc(title)} · {esc(say(lang, 'app'))}</title>"
        f'<link rel="stylesheet" href="/console/static/console.css">{tags}</head><body>'
        f'<a class="skip" href="#main">{esc(say(lang, "skip"))}</a>'
        f'<header><p class="brand">{esc(say(lang, "app"))}</p>{who}'
        f'<a class="lang" href="?lang={other}" lang="{other}">{esc(say(lang, "lang.other"))}</a>'
        f"{nav}</header>"
        f'<main id="main" tabindex="-1"><h1>{esc(title)}</h1>{main}</main></body></html>'
    )


def _field(
    lang: str, name: str, key: str, kind: str = "text", *, fid: str = "", **attrs: str
) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    ident = esc(f"f-{fid or name}")
    return (
        f'<label for="{ident}">{esc(say(lang, key))}</label>'
        f'<input id="{ident}" name="{name}" type="{kind}"{extra}>'
    )


def _out() -> str:
    return '<output class="out" role="status" aria-live="polite"></output>'


def _messages(lang: str) -> str:
    return (
        f' data-msg-done="{esc(say(lang, "done"))}"'
        f' data-msg-failed="{esc(say(lang, "failed", message="{message}"))}"'
        f' data-msg-working="{esc(say(lang, "working"))}"'
    )


#: For the screens of other modules (api/http/console/seller.py).
field_html = _field
messages = _messages
out = _out


def signin_screen(lang: str) -> str:
    main = (
        '<section class="card"><form method="post" id="passkey-signin" data-passkey="signin"'
        f"{_messages(lang)}>"
        f'<button type="submit" class="primary">{esc(say(lang, "signin.passkey"))}</button>'
        f"{_out()}</form></section>"
        f'<section class="card"><h2>{esc(say(lang, "signin.or"))}</h2>'
        f'<form method="post" id="password-signin" data-action="/console/api/signin/password" '
        f'data-then="/console/"{_messages(lang)}>'
        + _field(lang, "name", "field.name", autocomplete="username", required="")
        + _field(
            lang,
            "password",
            "field.password",
            "password",
            autocomplete="current-password",
            required="",
        )
        + _field(
            lang,
            "code",
            "field.code",
            inputmode="numeric",
            pattern="[0-9]{6}",
            autocomplete="one-time-code",
            required="",
        )
        + f'<button type="submit">{esc(say(lang, "signin.submit"))}</button>{_out()}</form>'
        "</section>"
    )
    return shell(lang, say(lang, "signin.title"), main, scripts=("console.js", "passkeys.js"))


def invite_screen(
    lang: str, *, token: str, name: str, role: str, otpauth: str, secret: str, matrix: object
) -> str:
    base = f"/console/api/invite/{esc(token)}"
    main = (
        f"<p>{esc(say(lang, 'invite.for', name=name, role=say(lang, 'role.' + role)))}</p>"
        f'<section class="card"><h2>{esc(say(lang, "invite.passkey"))}</h2>'
        f"<p>{esc(say(lang, 'invite.passkey_help'))}</p>"
        f'<form method="post" id="passkey-register" data-passkey="register" data-base="{base}"'
        f'{_messages(lang)}><button type="submit" class="primary">'
        f"{esc(say(lang, 'invite.passkey'))}</button>{_out()}</form></section>"
        f'<section class="card"><h2>{esc(say(lang, "invite.password"))}</h2>'
        f"<p>{esc(say(lang, 'invite.totp_help'))}</p>"
        f'<div class="qrbox" data-otpauth="{esc(otpauth)}">'
        f"{qr_svg(matrix, label=say(lang, 'invite.totp_help'), element_id='totp-qr')}</div>"  # type: ignore[arg-type]
        f'<p>{esc(say(lang, "invite.secret"))} <code id="totp-secret">{esc(secret)}</code></p>'
        f'<form method="post" id="password-register" data-action="{base}/password"'
        ' data-then="/console/"'
        f"{_messages(lang)}>"
        + _field(
            lang,
            "password",
            "field.password_new",
            "password",
            autocomplete="new-password",
            minlength="12",
            required="",
        )
        + _field(
            lang,
            "code",
            "field.code",
            inputmode="numeric",
            pattern="[0-9]{6}",
            autocomplete="one-time-code",
            required="",
        )
        + f'<button type="submit">{esc(say(lang, "invite.create"))}</button>{_out()}</form>'
        "</section>"
    )
    return shell(lang, say(lang, "invite.title"), main, scripts=("console.js", "passkeys.js"))


def gone_screen(lang: str, message: str) -> str:
    return shell(lang, say(lang, "invite.gone"), f'<p class="problem">{esc(message)}</p>')


def home_screen(lang: str, account: Account, csrf: str) -> str:
    role = say(lang, "role." + account.role)
    text = (
        say(lang, "home.pending")
        if account.status != "active"
        else say(lang, "home.active", name=account.name, role=role)
    )
    main = f'<p id="home-status">{esc(text)}</p>'
    return shell(lang, say(lang, "home.title"), main, account=account, csrf=csrf)


def _keys_list(lang: str, keys: Sequence[ActorKey]) -> str:
    if not keys:
        return ""
    rows = "".join(
        f'<li data-key-id="{esc(k.key_id)}"><code>{esc(k.key_id)}</code>'
        f"{' (revoked)' if k.revoked else ''}</li>"
        for k in keys
    )
    return f'<h2>{esc(say(lang, "key.registered"))}</h2><ul id="ledger-keys">{rows}</ul>'


def key_screen(lang: str, account: Account, csrf: str, keys: Sequence[ActorKey]) -> str:
    pending = (
        f'<p id="pending-key">{esc(say(lang, "key.pending", key=account.pending_key))}</p>'
        if account.pending_key
        else ""
    )
    main = (
        f"<p>{esc(say(lang, 'key.explain'))}</p>"
        f'<section class="card" id="key-state" data-actor="{esc(account.actor_id)}"'
        f' data-msg-none="{esc(say(lang, "key.none"))}"'
        f' data-msg-have="{esc(say(lang, "key.have", key_id="{key_id}"))}">'
        f'<p id="key-status" role="status" aria-live="polite"></p>{pending}'
        f"{_keys_list(lang, keys)}</section>"
        f'<section class="card"><h2>{esc(say(lang, "key.create"))}</h2>'
        f'<form method="post" id="key-create" data-keys="create"{_messages(lang)}'
        f' data-msg-created="{esc(say(lang, "key.created"))}"'
        f' data-msg-download="{esc(say(lang, "key.download"))}">'
        + _field(
            lang,
            "passphrase",
            "key.passphrase",
            "password",
            autocomplete="new-password",
            minlength="12",
            required="",
        )
        + f'<button type="submit" class="primary">{esc(say(lang, "key.create"))}</button>'
        f'{_out()}<p class="backup"></p></form></section>'
        f'<section class="card"><h2>{esc(say(lang, "key.restore"))}</h2>'
        f'<form method="post" id="key-restore" data-keys="restore"{_messages(lang)}'
        f' data-msg-restored="{esc(say(lang, "key.restored", key_id="{key_id}"))}"'
        f' data-msg-bad="{esc(say(lang, "key.bad_backup"))}">'
        + _field(
            lang, "backup", "key.backup_file", "file", accept=".json,application/json", required=""
        )
        + _field(
            lang,
            "restore_passphrase",
            "key.passphrase",
            "password",
            autocomplete="current-password",
            required="",
        )
        + f'<button type="submit">{esc(say(lang, "key.restore_submit"))}</button>{_out()}'
        "</form></section>"
        f"<p>{esc(say(lang, 'key.lost'))}</p>"
    )
    return shell(
        lang,
        say(lang, "key.title"),
        main,
        account=account,
        csrf=csrf,
        path="/console/key",
        scripts=("console.js", "keys.js"),
    )


def producer_keys_screen(lang: str, account: Account, csrf: str, keys: Sequence[ActorKey]) -> str:
    main = (
        f"<p>{esc(say(lang, 'pkeys.explain'))}</p>"
        f'<section class="card">{_keys_list(lang, keys)}</section>'
        f'<section class="card"><form method="post" id="key-add" data-sign="key.add"'
        f' data-actor="{esc(account.actor_id)}"{_messages(lang)}'
        f' data-msg-nokey="{esc(say(lang, "sign.nokey"))}"'
        f' data-msg-recorded="{esc(say(lang, "pkeys.done", index="{index}"))}">'
        + _field(
            lang,
            "key",
            "pkeys.field",
            required="",
            spellcheck="false",
            autocomplete="off",
            pattern="ed25519:[A-Za-z0-9+/=]{44}",
        )
        + f'<button type="button" data-review>{esc(say(lang, "pkeys.review"))}</button>'
        f'<div class="review" hidden><p>{esc(say(lang, "sign.summary"))}</p>'
        '<dl class="summary"></dl>'
        f'<button type="submit" class="primary">{esc(say(lang, "pkeys.sign"))}</button></div>'
        f"{_out()}</form></section>"
    )
    return shell(
        lang,
        say(lang, "pkeys.title"),
        main,
        account=account,
        csrf=csrf,
        path="/console/producer/keys",
        scripts=("console.js", "keys.js"),
    )


def accounts_screen(  # noqa: PLR0917 - a screen's facts, in the order it shows them
    lang: str,
    me: Account,
    csrf: str,
    accounts: Sequence[Account],
    keys: Mapping[str, Sequence[ActorKey]],
    registered: set[str],
) -> str:
    cards = []
    for a in accounts:
        if a.role not in ACTOR_ROLES:
            continue
        aid = esc(a.account_id)
        parts = [
            f'<article class="card account" id="acct-{aid}" data-account="{aid}">'
            f"<h2>{esc(a.name)}</h2><dl>"
            f"<dt>{esc(say(lang, 'op.role'))}</dt><dd>{esc(say(lang, 'role.' + a.role))}</dd>"
            f'<dt>{esc(say(lang, "op.status"))}</dt><dd class="status">{esc(a.status)}</dd>'
            f'<dt>{esc(say(lang, "op.level"))}</dt><dd class="level">'
            f"{esc(a.identity_level or '-')}</dd>"
            f'<dt>{esc(say(lang, "op.key_pending"))}</dt><dd><code class="pending">'
            f"{esc(a.pending_key or '-')}</code></dd></dl>"
        ]
        if a.pending_key:
            first = a.actor_id not in registered
            form = (
                '<form method="post" class="approve"'
                f' data-action="/console/api/accounts/{aid}/approve"'
                f' data-then="reload"{_messages(lang)}>'
                # The key shown is the key approved: one swapped in meanwhile is refused.
                f'<input name="key" type="hidden" value="{esc(a.pending_key)}">'
            )
            if first:
                form += _field(lang, "name", "op.display", value=a.name, fid=f"name-{aid}")
                form += _field(
                    lang,
                    "country",
                    "op.country",
                    value="VN",
                    fid=f"country-{aid}",
                    pattern="[A-Z]{2}",
                )
                if a.role == "producer":
                    form += _field(
                        lang, "prefixes", "op.prefixes", fid=f"prefixes-{aid}", inputmode="numeric"
                    )
            label = say(lang, "op.approve" if first else "op.add_key")
            parts.append(
                form + f'<button type="submit" class="primary">{esc(label)}</button>{_out()}</form>'
            )
        levels = "".join(
            f'<option value="{lvl}"{" selected" if lvl == a.identity_level else ""}>{lvl}</option>'
            for lvl in IDENTITY_LEVELS
        )
        parts.append(
            f"<details><summary>{esc(say(lang, 'op.identity'))}</summary>"
            '<form method="post" class="identity"'
            f' data-action="/console/api/accounts/{aid}/identity"'
            f' data-then="reload"{_messages(lang)}>'
            f'<label for="level-{aid}">{esc(say(lang, "op.level"))}</label>'
            f'<select id="level-{aid}" name="level">{levels}</select>'
            f'<label for="note-{aid}">{esc(say(lang, "op.note"))}</label>'
            f'<textarea id="note-{aid}" name="note" maxlength="2000">{esc(a.identity_note)}'
            f'</textarea><button type="submit">{esc(say(lang, "op.save"))}</button>{_out()}'
            "</form></details>"
        )
        for k in keys.get(a.actor_id, ()):
            if k.revoked:
                parts.append(f"<p><code>{esc(k.key_id)}</code> (revoked)</p>")
                continue
            kid = esc(k.key_id)
            parts.append(
                f'<form method="post" class="revoke" data-action="/console/api/keys/{kid}/revoke"'
                f' data-then="reload"{_messages(lang)}><p><code>{kid}</code></p>'
                + _field(lang, "reason", "op.reason", fid=f"reason-{kid}", maxlength="500")
                + _field(
                    lang,
                    "compromised_since",
                    "op.compromised",
                    "datetime-local",
                    fid=f"compromised-{kid}",
                    step="1",
                )
                + f'<button type="submit" class="danger">{esc(say(lang, "op.revoke"))}'
                f"</button>{_out()}</form>"
            )
        parts.append("</article>")
        cards.append("".join(parts))
    main = "".join(cards) or f"<p>{esc(say(lang, 'op.none'))}</p>"
    return shell(
        lang,
        say(lang, "op.accounts"),
        main,
        account=me,
        csrf=csrf,
        path="/console/operator/accounts",
    )


def invites_screen(lang: str, me: Account, csrf: str) -> str:
    options = "".join(f'<option value="{r}">{esc(say(lang, "role." + r))}</option>' for r in ROLES)
    main = (
        f'<section class="card"><form method="post" id="invite" data-action="/console/api/invites"'
        f' data-show="link"{_messages(lang)}>'
        f'<label for="f-role">{esc(say(lang, "op.role"))}</label>'
        f'<select id="f-role" name="role">{options}</select>'
        + _field(
            lang, "actor_id", "op.actor", pattern="[a-z0-9][a-z0-9._-]{1,62}", autocomplete="off"
        )
        + _field(lang, "name", "op.name", fid="invite-name", maxlength="100")
        + _field(lang, "handle", "op.handle", autocomplete="off")
        + f'<button type="submit" class="primary">{esc(say(lang, "op.invite_submit"))}'
        f'</button>{_out()}<p class="shown" hidden>{esc(say(lang, "op.invite_made"))} '
        '<code id="invite-link"></code></p></form></section>'
    )
    return shell(
        lang, say(lang, "op.invites"), main, account=me, csrf=csrf, path="/console/operator/invites"
    )


def health_screen(lang: str, me: Account, csrf: str, health: Health) -> str:
    witnesses = ", ".join(health.witnesses) or say(lang, "op.no_witness")
    checkpoint = (
        f"{health.checkpoint_time} (tree size {health.checkpoint_size})"
        if health.checkpoint_time
        else say(lang, "op.no_checkpoint")
    )
    main = (
        '<section class="card"><dl>'
        f'<dt>{esc(say(lang, "op.size"))}</dt><dd id="log-size">{health.size}</dd>'
        f'<dt>{esc(say(lang, "op.checkpoint"))}</dt><dd id="checkpoint">{esc(checkpoint)}</dd>'
        f'<dt>{esc(say(lang, "op.witnesses"))}</dt><dd id="witnesses">{esc(witnesses)}</dd>'
        "</dl></section>"
    )
    return shell(
        lang, say(lang, "op.health"), main, account=me, csrf=csrf, path="/console/operator/health"
    )


def audit_screen(
    lang: str, me: Account, csrf: str, records: Sequence[AuditRecord], names: dict[str, str]
) -> str:
    rows = "".join(
        f"<tr><td>{esc(utc_time(r.time))}</td>"
        f"<td>{esc(names.get(r.account_id, r.account_id) or '-')}</td>"
        f"<td>{esc(r.action)}</td><td>{esc(r.target)}</td>"
        f'<td class="o-{esc(r.outcome)}">{esc(r.outcome)}</td></tr>'
        for r in records
    )
    head = "".join(
        f'<th scope="col">{esc(say(lang, k))}</th>'
        for k in ("op.when", "op.who", "op.what", "op.target", "op.outcome")
    )
    main = (
        f'<div class="scroll"><table id="audit"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )
    return shell(
        lang, say(lang, "op.audit"), main, account=me, csrf=csrf, path="/console/operator/audit"
    )
