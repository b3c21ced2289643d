"""Short codes (ledger/usecases/short_codes.py): encoding, reading what viewers type, and the
overlay's code over both platform stores (memory and SQLite): made once, renewed after half
its life, new after it ends or is revoked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import InvalidInput, NotFound
from ledger.ports.platform import PlatformStore, ShortCode
from ledger.storage.memory.log import MemoryStore
from ledger.storage.memory.platform import MemoryPlatformStore
from ledger.storage.sql.log import SqlStore
from ledger.storage.sql.platform import SqlPlatformStore
from ledger.usecases.short_codes import (
    ALPHABET,
    ShortCodeGone,
    display,
    encode,
    overlay_code,
    parse_code,
    resolve,
)

TTL = 60_000


def test_the_alphabet_is_crockfords_without_look_alikes() -> None:
    assert len(ALPHABET) == 32 and len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_encode_takes_30_bits_into_six_characters() -> None:
    assert encode(b"\x00\x00\x00\x00") == "000000"
    assert encode(b"\xff\xff\xff\xff") == "ZZZZZZ"
    assert encode(b"\xff\xff\xff\xfc") == "ZZZZZZ"  # the last two bits are not used
    assert encode(b"\x08\x00\x00\x00") == "100000"  # bit 31 of 32: the first character
    assert encode(b"\x04\x00\x00\x00") == "0G0000"
    seen = {encode(os.urandom(4)) for _ in range(200)}
    assert len(seen) > 190 and all(len(c) == 6 and set(c) <= set(ALPHABET) for c in seen)
    with pytest.raises(InvalidInput):
        encode(b"abc")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("K7M2QX", "K7M2QX"),
        ("k7m-2qx", "K7M2QX"),
        (" K7M 2QX ", "K7M2QX"),
        ("o0iIlL", "001111"),
    ],
)
def test_typed_codes_are_read_case_insensitively(typed: str, code: str) -> None:
    assert parse_code(typed) == code
    assert display(code) == f"{code[:3]}-{code[3:]}"


@pytest.mark.parametrize(
    "typed", ["", "K7M2Q", "K7M2QXX", "K7M-2Q-X", "K7MU2Q", "K7M_2Q", "é7M2QX"]
)
def test_what_cannot_be_a_code_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_code(typed)
    assert caught.value.code == "short_code_invalid"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PlatformStore]:
    if request.param == "memory":
        yield MemoryPlatformStore(MemoryStore())
        return
    log = SqlStore(f"sqlite:///{tmp_path / 'codes.db'}")
    try:
        yield SqlPlatformStore(log)
    finally:
        log.close()


def _random(first: bytes = b"\x10\x20\x30\x40") -> bytes:
    return first + os.urandom(28)


def test_an_overlay_keeps_one_code_and_renews_it_after_half_its_life(
    store: PlatformStore,
) -> None:
    made = overlay_code(store, "tiktok", "L-1", "live-1", now=1_000, ttl_ms=TTL, random=_random())
    assert made.expires == 1_000 + TTL and made.code == encode(b"\x10\x20\x30\x40")
    again = overlay_code(store, "tiktok", "L-1", "live-1", now=20_000, ttl_ms=TTL, random=_random())
    assert again == made  # more than half its life left: untouched
    later = overlay_code(store, "tiktok", "L-1", "live-1", now=40_000, ttl_ms=TTL, random=_random())
    assert later.code == made.code and later.expires == 40_000 + TTL
    assert resolve(store, display(made.code).lower(), now=90_000).expires == 40_000 + TTL
    other = overlay_code(store, "tiktok", "L-1", "live-2", now=40_000, ttl_ms=TTL, random=_random())
    assert other.code != made.code  # the same random bytes collide: the next four are used


def test_an_ended_or_revoked_code_is_gone_and_the_overlay_gets_a_new_one(
    store: PlatformStore,
) -> None:
    made = overlay_code(store, "tiktok", "L-1", "live-1", now=0, ttl_ms=TTL, random=_random())
    with pytest.raises(ShortCodeGone):
        resolve(store, made.code, now=TTL)
    fresh = overlay_code(store, "tiktok", "L-1", "live-1", now=TTL, ttl_ms=TTL, random=_random())
    assert fresh.code != made.code and resolve(store, fresh.code, now=TTL).code == fresh.code
    revoked = store.revoke_short_code(fresh.code, TTL + 5)
    assert revoked.revoked == TTL + 5
    assert store.revoke_short_code(fresh.code, TTL + 9).revoked == TTL + 5  # first time kept
    store.renew_short_code(fresh.code, TTL * 10)  # a revoked code is not brought back
    with pytest.raises(ShortCodeGone):
        resolve(store, fresh.code, now=TTL + 6)
    with pytest.raises(NotFound) as caught:
        resolve(store, "ZZZZZZ", now=0)
    assert caught.value.code == "unknown_short_code"
    with pytest.raises(NotFound):
        store.revoke_short_code("ZZZZZZ", 0)


def test_a_stored_code_is_never_overwritten(store: PlatformStore) -> None:
    first = ShortCode("ABCDEF", "tiktok", "L-1", "s", 0, 10)
    assert store.add_short_code(first)
    assert not store.add_short_code(ShortCode("ABCDEF", "shopee", "L-9", "t", 5, 99))
    assert store.get_short_code("ABCDEF") == first
