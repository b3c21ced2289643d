"""Short codes for the same-phone flow: a viewer watching a stream on the phone it would scan
with types ``K7M-2QX`` (or taps ``{public_url}/s/K7M2QX`` pinned in chat) instead of scanning.

A code is 6 characters of Crockford base32 (``0-9`` and ``A-Z`` without ``I L O U``: 30
random bits), read case-insensitively with ``O`` as ``0`` and ``I``/``L`` as ``1``, and
shown grouped as ``K7M-2QX``. It names one overlay (platform, listing, stream); the
overlay renews it while it is shown, so a code dies ``ttl`` after its stream's overlay
closes, and the streamer can revoke it. Opening it gives the listing page a fresh overlay
nonce (api/http/routes/pages.py), so what is verified from there is stream-bound.

Guessing buys little: the code opens only what the public overlay shows anyone, and the
HTTP route refuses a client after a few unknown codes a minute (docs/api.md, Short codes).
Time and randomness are parameters.
"""

from __future__ import annotations

import re

from ledger.errors import InvalidInput, NotFound
from ledger.ports.platform import PlatformStore, ShortCode

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "ShortCodeGone",
    "display",
    "encode",
    "overlay_code",
    "parse_code",
    "resolve",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_LENGTH = 6
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
#: What a typed code may look like: 4 to 8 letters or digits, optional dashes or spaces
#: between groups (the scan page's box sends ``^[0-9A-Za-z]{4,8}$``).
_TYPED = re.compile(r"^[0-9A-Za-z]{1,8}(?:[- ][0-9A-Za-z]{1,8})?$")
_ATTEMPTS = 8


class ShortCodeGone(NotFound):
    """A code that existed but has expired or was revoked (its stream is over)."""

    code = "short_code_expired"


def encode(raw: bytes) -> str:
    """``CODE_LENGTH`` characters from the first 30 bits of ``raw`` (at least 4 bytes)."""
    if len(raw) < 4:
        raise InvalidInput("a short code needs 4 random bytes")
    bits = int.from_bytes(raw[:4], "big") >> 2
    return "".join(ALPHABET[(bits >> (5 * k)) & 31] for k in reversed(range(CODE_LENGTH)))


def parse_code(text: str) -> str:
    """The canonical code of what a viewer typed: upper case, dashes and spaces dropped, the
    look-alikes O -> 0 and I, L -> 1. InvalidInput (code ``short_code_invalid``) if it
    cannot be a code at all."""
    if not isinstance(text, str) or len(text) > 17 or not _TYPED.match(text.strip()):
        raise InvalidInput(
            "a short code is 6 letters and digits, like K7M-2QX", code="short_code_invalid"
        )
    code = text.strip().replace("-", "").replace(" ", "").upper().translate(_ALIASES)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise InvalidInput(
            "a short code is 6 letters and digits, like K7M-2QX", code="short_code_invalid"
        )
    return code


def display(code: str) -> str:
    """``K7M2QX`` as shown on the overlay: ``K7M-2QX``."""
    return f"{code[:3]}-{code[3:]}"


def overlay_code(
    store: PlatformStore,
    platform: str,
    listing_id: str,
    stream_id: str,
    *,
    now: int,
    ttl_ms: int,
    random: bytes,
) -> ShortCode:
    """The overlay's live code, renewed to ``now + ttl_ms`` once half its life is spent; a
    new one (from ``random``: at least 32 bytes, 4 per attempt) when it has none."""
    for found in store.short_codes_of(platform, listing_id, stream_id):
        if found.live(now):
            if found.expires - now < ttl_ms // 2:
                store.renew_short_code(found.code, now + ttl_ms)
                return ShortCode(
                    found.code, platform, listing_id, stream_id, found.created, now + ttl_ms
                )
            return found
    if len(random) < 4 * _ATTEMPTS:
        raise InvalidInput(f"a short code needs {4 * _ATTEMPTS} random bytes")
    for k in range(_ATTEMPTS):  # 30 bits: a collision is rare, several in a row never
        made = ShortCode(
            encode(random[4 * k : 4 * k + 4]), platform, listing_id, stream_id, now, now + ttl_ms
        )
        if store.add_short_code(made):
            return made
    raise InvalidInput("no free short code; try again")  # pragma: no cover - 2^-240


def resolve(store: PlatformStore, text: str, *, now: int) -> ShortCode:
    """The live code a viewer typed. InvalidInput (not a code), NotFound (``unknown_short_code``:
    never issued), ShortCodeGone (expired or revoked)."""
    code = parse_code(text)
    found = store.get_short_code(code)
    if found is None:
        raise NotFound(f"no short code {display(code)}", code="unknown_short_code")
    if not found.live(now):
        raise ShortCodeGone(f"the short code {display(code)} has ended with its stream")
    return found
