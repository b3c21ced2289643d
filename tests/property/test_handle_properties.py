"""Handles: normalising is idempotent and blind to case, a leading '@' and whitespace."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidInput
from ledger.provenance.handles import CASE_INSENSITIVE, normalise_handle

PLATFORMS = st.sampled_from(sorted(CASE_INSENSITIVE))
ACCOUNTS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
).filter(lambda a: a.strip("@") and not a.startswith("@"))


def _respell(draw: st.DrawFn, platform: str, account: str) -> str:
    """One of the many ways a person or a platform writes the same account."""
    flips = draw(st.lists(st.booleans(), min_size=len(account), max_size=len(account)))
    account = "".join(c.upper() if f else c.lower() for c, f in zip(account, flips, strict=True))
    ats = "@" * draw(st.integers(0, 2))
    shown = platform.upper() if draw(st.booleans()) else platform
    pad = draw(st.sampled_from(["", " ", "\t", "  "]))
    return f"{pad}{shown}:{ats}{account}{pad}"


@settings(max_examples=300)
@given(st.data())
def test_spellings_of_one_account_are_one_handle(data: st.DataObject) -> None:
    platform, account = data.draw(PLATFORMS), data.draw(ACCOUNTS)
    spelled = _respell(data.draw, platform, account)
    canonical = normalise_handle(f"{platform}:{account}")
    assert normalise_handle(spelled) == canonical
    assert canonical == f"{platform}:{account.lower()}"
    # A bare account with the platform given apart is the same handle (an account with a
    # colon of its own needs the prefix: "ab:c" alone reads as platform "ab").
    if ":" not in account:
        assert normalise_handle(spelled.split(":", 1)[1], platform) == canonical


@settings(max_examples=500)
@given(st.text(max_size=60), st.sampled_from(["", "tiktok", "zalo", "Shopee"]))
def test_normalise_is_idempotent_on_any_text(text: str, platform: str) -> None:
    try:
        once = normalise_handle(text, platform)
    except InvalidInput:
        return
    assert normalise_handle(once) == once
    assert normalise_handle(once, platform) == once
