"""The console's attestation screens (issue 20): certifiers and producers attest a
product's documents, identity verifiers attest a seller's identity, issuers revoke what
they attested, and a seller sees whether each of its stream sessions is compliant.

Pure HTML strings over the shared shell (api/http/console/screens.py); every value from
outside goes through ``esc``. Nothing here signs: ``attest.js`` uploads the document to
``/v1/documents``, computes an identity commitment in the page (WebCrypto SHA-256 over the
bytes docs/format.md specifies), shows every field of the body, signs it with the browser's
key (``TM.keys.sign``, keys.js) and posts it to ``/console/api/entries``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from api.http.console.attest_words import ATTEST_WORDS
from api.http.console.screens import shell
from api.http.pages.kit import esc
from ledger.ports.console import Account
from ledger.provenance.events.attestations import IDENTITY_LEVELS, QUALIFICATION_KINDS
from ledger.provenance.records import Attestation

__all__ = [
    "compliance_screen",
    "identity_screen",
    "qualifications_screen",
    "word",
]


def word(lang: str, key: str, /, **values: object) -> str:
    en, vi = ATTEST_WORDS[key]
    chosen = vi if lang == "vi" else en
    return chosen.format(**values) if values else chosen


def _date(ms: int) -> str:
    try:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def _time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _label(lang: str, fid: str, key: str) -> str:
    return f'<label for="{fid}">{esc(word(lang, key))}</label>'


def _input(lang: str, name: str, key: str, kind: str = "text", **attrs: str) -> str:
    fid = f"at-{name}"
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return _label(lang, fid, key) + f'<input id="{fid}" name="{name}" type="{kind}"{extra}>'


def _select(lang: str, name: str, key: str, options: Sequence[tuple[str, str]]) -> str:
    fid = f"at-{name}"
    rows = "".join(f'<option value="{esc(v)}">{esc(label)}</option>' for v, label in options)
    return _label(lang, fid, key) + f'<select id="{fid}" name="{name}">{rows}</select>'


def _messages(lang: str) -> str:
    msgs = {
        "working": ("…", "…"),
        "failed": ("Refused: {message}", "Bị từ chối: {message}"),
    }
    out = "".join(f' data-msg-{k}="{esc(v[1] if lang == "vi" else v[0])}"' for k, v in msgs.items())
    return (
        out
        + f' data-msg-nokey="{esc(word(lang, "at.nokey"))}"'
        + f' data-msg-recorded="{esc(word(lang, "at.recorded", index="{index}"))}"'
        + f' data-msg-uploaded="{esc(word(lang, "at.uploaded", sha256="{sha256}"))}"'
        + f' data-msg-keep="{esc(word(lang, "at.keep"))}"'
    )


def _out() -> str:
    return '<output class="out" role="status" aria-live="polite"></output>'


def _review(lang: str, sign_key: str = "at.sign") -> str:
    return (
        f'<div class="review" hidden><p>{esc(word(lang, "at.summary"))}</p>'
        f'<dl class="summary"></dl><button type="submit" class="primary">'
        f"{esc(word(lang, sign_key))}</button></div>"
    )


def _status(lang: str, a: Attestation, now: int) -> str:
    status = a.status_at(now)
    shown = esc(word(lang, "at.status." + status))
    return f'<td class="st-{esc(status)}" data-status="{esc(status)}">{shown}</td>'


def _mine(lang: str, actor: str, found: Sequence[Attestation], now: int) -> str:
    if not found:
        return (
            f'<section class="card" id="mine"><h2>{esc(word(lang, "at.mine"))}</h2>'
            f"<p>{esc(word(lang, 'at.none'))}</p></section>"
        )
    rows = []
    for a in found:
        kind_key = f"at.kind.{a.kind}"
        what = word(lang, kind_key) if kind_key in ATTEST_WORDS else a.kind
        if a.level:
            what += f" ({word(lang, 'at.level.' + a.level)})"
        if a.title:
            what += f": {a.title}"
        subject = a.subject + (f" / {a.lot}" if a.lot else "")
        revoke = ""
        if a.revoked_index < 0:
            aid = esc(a.attestation_id)
            revoke = (
                f'<form class="revoke" data-attest="attest.revoke" data-actor="{esc(actor)}"'
                f' data-attestation="{aid}"{_messages(lang)}>'
                f'<label for="reason-{aid}">{esc(word(lang, "at.reason"))}</label>'
                f'<input id="reason-{aid}" name="reason" maxlength="500">'
                f'<button type="button" data-attest-review>'
                f"{esc(word(lang, 'at.revoke_review'))}</button>"
                f"{_review(lang, 'at.revoke')}{_out()}</form>"
            )
        rows.append(
            f'<tr data-attestation="{esc(a.attestation_id)}"><td>{esc(what)}'
            f"<br><code>{esc(a.attestation_id)}</code>{revoke}</td><td>{esc(subject)}</td>"
            f"<td>{esc(_date(a.valid_from))} – {esc(_date(a.valid_until))}</td>"
            f"{_status(lang, a, now)}</tr>"
        )
    head = "".join(
        f'<th scope="col">{esc(word(lang, k))}</th>'
        for k in ("at.col.what", "at.col.subject", "at.col.valid", "at.col.status")
    )
    return (
        f'<section class="card" id="mine"><h2>{esc(word(lang, "at.mine"))}</h2>'
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


_SCRIPTS = ("console.js", "keys.js", "attest.js")


def qualifications_screen(
    lang: str, account: Account, csrf: str, found: Sequence[Attestation], now: int
) -> str:
    kinds = [(k, word(lang, f"at.kind.{k}")) for k in QUALIFICATION_KINDS]
    actor = esc(account.actor_id)
    main = (
        f"<p>{esc(word(lang, 'at.quals_explain'))}</p>"
        f'<section class="card"><form id="qual-form" data-attest="attest.qualification"'
        f' data-actor="{actor}"{_messages(lang)}>'
        + _input(
            lang,
            "document",
            "at.document",
            "file",
            accept=".pdf,.png,.jpg,.jpeg,.webp,.txt,application/pdf,image/*,text/plain",
            required="",
        )
        + _input(lang, "gtin", "at.gtin", inputmode="numeric", pattern="[0-9]{14}", required="")
        + _input(lang, "lot", "at.lot", maxlength="20")
        + _select(lang, "kind", "at.kind", kinds)
        + _input(lang, "title", "at.title", maxlength="200")
        + _input(lang, "valid_from", "at.valid_from", "date", required="")
        + _input(lang, "valid_until", "at.valid_until", "date", required="")
        + f'<button type="button" data-attest-review>{esc(word(lang, "at.review"))}</button>'
        f"{_review(lang)}{_out()}</form></section>" + _mine(lang, account.actor_id, found, now)
    )
    return shell(
        lang,
        word(lang, "at.quals"),
        main,
        account=account,
        csrf=csrf,
        path="/console/attest/qualifications",
        scripts=_SCRIPTS,
    )


def identity_screen(
    lang: str, account: Account, csrf: str, found: Sequence[Attestation], now: int
) -> str:
    levels = [(k, word(lang, f"at.level.{k}")) for k in IDENTITY_LEVELS]
    actor = esc(account.actor_id)
    main = (
        f"<p>{esc(word(lang, 'at.ids_explain'))}</p>"
        f'<section class="card"><form id="identity-form" data-attest="attest.identity"'
        f' data-actor="{actor}"{_messages(lang)}>'
        + _input(
            lang,
            "subject",
            "at.subject",
            pattern="[a-z0-9][a-z0-9._-]{1,62}",
            autocomplete="off",
            required="",
        )
        + _select(lang, "level", "at.level", levels)
        + _input(lang, "rec_name", "at.rec_name", autocomplete="off", maxlength="200", required="")
        + _input(lang, "rec_id", "at.rec_id", autocomplete="off", maxlength="64", required="")
        + _input(lang, "rec_dob", "at.rec_dob", "date", required="")
        + _input(lang, "valid_until", "at.valid_until", "date", required="")
        + f'<button type="button" data-attest-review>{esc(word(lang, "at.review_id"))}</button>'
        f'{_review(lang)}<p class="keep"></p>{_out()}</form></section>'
        + _mine(lang, account.actor_id, found, now)
    )
    return shell(
        lang,
        word(lang, "at.ids"),
        main,
        account=account,
        csrf=csrf,
        path="/console/attest/identity",
        scripts=_SCRIPTS,
    )


def _problems(problems: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f'<li data-code="{esc(p.get("code", ""))}">{esc(p.get("message", ""))}</li>'
        for p in problems
    )
    return f'<ul class="problems">{rows}</ul>' if rows else ""


def compliance_screen(
    lang: str, account: Account, csrf: str, sessions: Sequence[Mapping[str, Any]], at: int
) -> str:
    """``sessions``: the compliance JSON of each of the seller's stream sessions
    (``ledger.verdicts.compliance.Compliance.to_obj``)."""
    cards = []
    for s in sessions:
        ok = bool(s.get("compliant"))
        verdict = word(lang, "at.compliant" if ok else "at.not_compliant")
        parts = [
            f'<article class="card session" data-session="{esc(s.get("session_id", ""))}"'
            f' data-compliant="{"yes" if ok else "no"}">'
            f"<h2>{esc(s.get('platform', ''))} · {esc(s.get('session_id', ''))}</h2>"
            f'<p class="verdict {"ok" if ok else "bad"}">{esc(verdict)}</p>'
        ]
        if s.get("problems"):
            parts.append(
                f"<h3>{esc(word(lang, 'at.missing'))}</h3>{_problems(s.get('problems') or [])}"
            )
        ident = [
            f"{i.get('issuer_name', '')}: {word(lang, 'at.status.' + str(i.get('status')))}"
            if f"at.status.{i.get('status')}" in ATTEST_WORDS
            else f"{i.get('issuer_name', '')}: {i.get('status', '')}"
            for i in s.get("identity") or []
        ]
        parts.append(
            f"<dl><dt>{esc(word(lang, 'at.identity_of'))}</dt>"
            f'<dd class="identity">{esc("; ".join(ident) or "-")}</dd></dl>'
        )
        for listing in s.get("listings") or []:
            quals = ", ".join(
                f"{q.get('issuer_name', '')} ({q.get('status', '')})"
                for q in listing.get("qualifications") or []
            )
            parts.append(
                f'<p class="listing" data-listing="{esc(listing.get("listing_id", ""))}">'
                + esc(
                    word(
                        lang,
                        "at.listing",
                        listing=listing.get("listing_id", ""),
                        gtin=listing.get("gtin", ""),
                    )
                )
                + f"<br>{esc(word(lang, 'at.quals'))}: {esc(quals or '-')}</p>"
            )
        parts.append("</article>")
        cards.append("".join(parts))
    main = (
        f"<p>{esc(word(lang, 'at.compliance_explain'))}</p>"
        f'<p id="checked-at">{esc(word(lang, "at.checked_at", time=_time(at)))}</p>'
        + ("".join(cards) or f"<p>{esc(word(lang, 'at.sessions_none'))}</p>")
    )
    return shell(
        lang,
        word(lang, "at.compliance"),
        main,
        account=account,
        csrf=csrf,
        path="/console/seller/compliance",
    )
