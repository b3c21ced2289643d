"""A trailing newline never makes a lookalike id: ``re.match`` with ``^...$`` accepts
``"acme\\n"``, so every validator of an id, handle, token or hash matches the whole value."""

from __future__ import annotations

import re

import pytest

from ledger.errors import InvalidInput
from ledger.log.entries import Envelope, register_entry_type
from ledger.provenance.events.fields import ACTOR_ID, HANDLE, HEX64, PLATFORM, TOKEN, URI, match


@pytest.mark.parametrize(
    ("pattern", "good"),
    [
        (ACTOR_ID, "acme"),
        (PLATFORM, "tiktok"),
        (TOKEN, "L-100"),
        (HANDLE, "tiktok:shopa"),
        (URI, "https://x.example"),
        (HEX64, "ab" * 32),
    ],
)
def test_field_validators_refuse_a_trailing_newline(pattern: re.Pattern[str], good: str) -> None:
    assert match({"v": good}, "v", pattern, "x") == good
    with pytest.raises(InvalidInput):
        match({"v": good + "\n"}, "v", pattern, "x")


def test_entry_type_names_and_signer_key_ids_match_whole() -> None:
    with pytest.raises(InvalidInput):
        register_entry_type("test.lookalike\n", lambda body: None)
    envelope = {"body": {}, "signature": "A" * 86 + "==", "signer": "0123456789abcdef\n"}
    with pytest.raises(InvalidInput):
        Envelope.from_obj({**envelope, "type": "log.notice"})
