"""ledger/provenance/handles.py: one canonical spelling per platform account."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidInput
from ledger.provenance.handles import handle_key, normalise_handle


@pytest.mark.parametrize(
    ("text", "platform", "expected"),
    [
        ("tiktok:@ShopA", "", "tiktok:shopa"),
        ("tiktok:shopa", "", "tiktok:shopa"),
        ("TikTok:@shopa", "", "tiktok:shopa"),
        ("  tiktok:@SHOPA  ", "", "tiktok:shopa"),
        ("tiktok: @ShopA", "", "tiktok:shopa"),
        ("tiktok:@@shopa", "", "tiktok:shopa"),
        ("@ShopA", "tiktok", "tiktok:shopa"),
        ("ShopA", "TikTok", "tiktok:shopa"),
        ("tiktok:@ShopA", "tiktok", "tiktok:shopa"),
        ("shopee:@HaiSanCholon", "", "shopee:haisancholon"),
        ("Facebook:My.Page", "", "facebook:my.page"),
        ("youtube:@Channel_1", "", "youtube:channel_1"),
        ("lazada:Store-9", "", "lazada:store-9"),
        ("shopee:12345", "", "shopee:12345"),
        # Platforms not known to ignore case keep the account's case.
        ("zalo:@MixedCase", "", "zalo:MixedCase"),
        ("Zalo:MixedCase", "", "zalo:MixedCase"),
        # Only the first colon separates the platform; '@' inside the account stays.
        ("tiktok:a:b@c", "", "tiktok:a:b@c"),
        # A bare account with a colon whose head is no platform name takes the argument.
        ("@shop:1", "tiktok", "tiktok:shop:1"),
    ],
)
def test_spellings(text: str, platform: str, expected: str) -> None:
    assert normalise_handle(text, platform) == expected
    assert normalise_handle(expected) == expected


@pytest.mark.parametrize(
    ("text", "platform", "message"),
    [
        ("", "", "names no platform"),
        ("   ", "tiktok", "names no account"),
        ("@shop", "", "names no platform"),
        ("tiktok:", "", "names no account"),
        ("tiktok:@", "", "names no account"),
        ("tiktok:@@@", "", "names no account"),
        ("tiktok:shop a", "", "printable ASCII"),
        ("tiktok:cửa-hàng", "", "printable ASCII"),
        ("tiktok:" + "a" * 101, "", "printable ASCII"),
        ("tiktok:@shop", "shopee", "is a tiktok handle, not a shopee one"),
        ("shop", "t", "must be 2-32"),
        ("shop", "tik tok", "must be 2-32"),
    ],
)
def test_invalid_handles_are_refused_with_a_reason(text: str, platform: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        normalise_handle(text, platform)


def test_non_text_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="must be text"):
        normalise_handle(None)  # type: ignore[arg-type]


def test_handle_key_keeps_what_does_not_normalise() -> None:
    assert handle_key("TikTok:@ShopA") == "tiktok:shopa"
    assert handle_key("tiktok:@") == "tiktok:@"  # only an old log can hold one
