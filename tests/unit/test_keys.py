"""Keys: ids, text forms, PKCS#8 files with and without passphrase, permissions."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from ledger.errors import InvalidInput, NotFound
from ledger.keyfile import UNENCRYPTED_WARNING, load_private_key, save_private_key
from ledger.keys import PrivateKey, PublicKey, VerifiedSignatures, key_id_for

SEED = bytes(range(32))  # TEST ONLY


def test_key_id_is_domain_separated_hash_of_public_key() -> None:
    key = PrivateKey.from_seed(SEED)
    raw = key.public_key.raw
    assert key.key_id == hashlib.sha256(b"tracemark/key-id/v1\x00" + raw).hexdigest()[:16]
    assert key_id_for(raw) == key.key_id


def test_public_key_text_round_trip_and_rejections() -> None:
    pub = PrivateKey.from_seed(SEED).public_key
    assert PublicKey.from_text(pub.to_text()) == pub
    for bad in ["", "ed25519:", "rsa:" + pub.to_text()[8:], pub.to_text()[:-2] + "!!", 5]:
        with pytest.raises(InvalidInput):
            PublicKey.from_text(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        PublicKey.from_raw(b"\x00" * 31)


def test_signatures_verify_only_for_their_message_and_key() -> None:
    key, other = PrivateKey.from_seed(SEED), PrivateKey.from_seed(b"\x01" * 32)
    sig = key.sign(b"message")
    assert key.public_key.verify(sig, b"message")
    assert not key.public_key.verify(sig, b"messagE")
    assert not other.public_key.verify(sig, b"message")
    assert not key.public_key.verify(sig[:-1], b"message")


def test_verified_signatures_remember_only_what_verified() -> None:
    key, other = PrivateKey.from_seed(SEED), PrivateKey.from_seed(b"\x01" * 32)
    sig = key.sign(b"message")
    memo = VerifiedSignatures(max_entries=2)
    assert memo.verify(key.public_key, sig, b"message") and len(memo) == 1
    assert memo.verify(key.public_key, sig, b"message") and len(memo) == 1  # remembered
    # Any other triple is checked for itself, however close to a remembered one.
    assert not memo.verify(key.public_key, sig, b"messagE")
    assert not memo.verify(other.public_key, sig, b"message")
    assert not memo.verify(key.public_key, sig[:-1], b"message")
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    assert not memo.verify(key.public_key, flipped, b"message")
    # Bytes glued differently are a different triple too (the key is 32 bytes, fixed).
    assert not memo.verify(key.public_key, sig + b"mess", b"age")
    assert len(memo) == 1  # failures are never kept
    # Bounded: full, it starts over.
    assert memo.verify(key.public_key, key.sign(b"two"), b"two") and len(memo) == 2
    assert memo.verify(key.public_key, key.sign(b"three"), b"three") and len(memo) == 1


def test_encrypted_key_file_round_trip(tmp_path: Path) -> None:
    key = PrivateKey.from_seed(SEED)
    path = tmp_path / "k.pem"
    assert save_private_key(path, key, b"correct horse") == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded, warnings = load_private_key(path, b"correct horse")
    assert loaded.public_key == key.public_key and warnings == []
    with pytest.raises(InvalidInput, match="passphrase"):
        load_private_key(path, b"wrong")
    with pytest.raises(InvalidInput, match="passphrase"):
        load_private_key(path, None)


def test_unencrypted_key_file_warns_and_is_never_overwritten(tmp_path: Path) -> None:
    key = PrivateKey.from_seed(SEED)
    path = tmp_path / "k.pem"
    assert save_private_key(path, key, None) == [UNENCRYPTED_WARNING]
    with pytest.raises(InvalidInput, match="already exists"):
        save_private_key(path, PrivateKey.generate(), None)
    path.chmod(0o644)
    loaded, warnings = load_private_key(path, None)
    assert loaded.seed() == SEED
    assert any("readable by other users" in w for w in warnings)


def test_bad_key_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_private_key(tmp_path / "missing", None)
    junk = tmp_path / "junk"
    junk.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(InvalidInput):
        load_private_key(junk, None)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100_000)
    with pytest.raises(InvalidInput):
        load_private_key(big, None)
