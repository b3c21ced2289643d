"""Platform handles: one canonical spelling per seller account.

A handle names an account on a selling platform, ``platform:account``. People and
platforms spell the same account many ways (``TikTok:@ShopA``, ``tiktok:@shopa``,
``tiktok:shopa``); the ledger registers and looks up one form only:

- the platform is lower-case (``tiktok``, ``shopee``: letters, digits, ``_ . -``);
- the account has no leading ``@`` (the platforms show it, they do not store it);
- on platforms whose account names are case-insensitive (``CASE_INSENSITIVE``: TikTok,
  Shopee, Facebook, YouTube, Lazada, Instagram, Twitter) the account is lower-case; on any other
  platform its case is kept, as that platform may tell ``Shop`` from ``shop``;
- surrounding whitespace is dropped; the account is printable ASCII without spaces, at
  most 100 characters.

``normalise_handle`` is the one place this is decided: registration
(``ledger.provenance.rules.registry``)
and every lookup call it, so two spellings of one account are one handle. It is pure and
idempotent: ``normalise_handle(normalise_handle(h)) == normalise_handle(h)``.
"""

from __future__ import annotations

import re

from ledger.errors import InvalidInput

__all__ = ["CASE_INSENSITIVE", "handle_key", "normalise_handle"]

#: Platforms whose account names are case-insensitive: their accounts are lower-cased.
CASE_INSENSITIVE = frozenset(
    {"tiktok", "shopee", "facebook", "youtube", "lazada", "instagram", "twitter"}
)

_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
_ACCOUNT = re.compile(r"^[\x21-\x7e]{1,100}$")
_EXAMPLE = "for example tiktok:@shopname"


def normalise_handle(text: str, platform: str = "") -> str:
    """The canonical ``platform:account`` form of a handle, or ``InvalidInput``.

    ``text`` is ``platform:account`` or a bare account (``@shop``, ``shop``); a bare account
    takes ``platform``. When both name a platform they must agree.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"a handle must be text like platform:account, {_EXAMPLE}")
    given = platform.strip().lower()
    account = text.strip()
    head, colon, tail = account.partition(":")
    if colon and _PLATFORM.fullmatch(head.strip().lower()):
        named = head.strip().lower()
        if given and named != given:
            raise InvalidInput(f"handle {text.strip()!r} is a {named} handle, not a {given} one")
        given, account = named, tail.strip()
    if not given:
        raise InvalidInput(
            f"handle {text.strip()!r} names no platform: write platform:account, {_EXAMPLE}"
        )
    if not _PLATFORM.fullmatch(given):
        raise InvalidInput(
            f"platform {given!r} must be 2-32 lower-case letters, digits, '_', '.' or '-'"
        )
    account = account.lstrip("@")
    if not account:
        raise InvalidInput(f"handle {text.strip()!r} names no account, {_EXAMPLE}")
    if not _ACCOUNT.fullmatch(account):
        raise InvalidInput(
            f"the account of handle {text.strip()!r} must be 1-100 printable ASCII "
            "characters without spaces"
        )
    if given in CASE_INSENSITIVE:
        account = account.lower()
    return f"{given}:{account}"


def handle_key(text: str, platform: str = "") -> str:
    """The key a handle is kept under in the projection: its canonical form.

    The log's entry validator accepted some spellings before handles were normalised that
    do not normalise (an account of only ``@``). Replaying such a log must not fail, so a
    handle that does not normalise is kept as recorded; no new entry can carry one.
    """
    try:
        return normalise_handle(text, platform)
    except InvalidInput:
        return text
