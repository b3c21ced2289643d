"""Property tests: signed notes, checkpoints and cosignatures round-trip; any mutation fails."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidInput, SignatureError
from ledger.keys import PrivateKey
from ledger.log.checkpoint import (
    MAX_TIMESTAMP,
    Checkpoint,
    CosignatureVerifier,
    cosign_checkpoint,
    sign_checkpoint,
    verify_cosignatures,
)
from ledger.log.note import NoteSigner, NoteVerifier, open_note, parse_note, sign_note

SIGNER = NoteSigner("example.com/log", PrivateKey.from_seed(bytes(range(32))))
OTHER = NoteSigner("example.com/other", PrivateKey.from_seed(bytes(range(1, 33))))
WITNESS_KEY = PrivateKey.from_seed(bytes(range(2, 34)))
WITNESS = CosignatureVerifier.from_public_key("example.com/witness", WITNESS_KEY.public_key)

# Any Unicode except surrogates and the control characters a note may not hold.
line_chars = st.characters(blacklist_categories=("Cs",), min_codepoint=0x20)
lines = st.text(line_chars, max_size=40)
texts = st.lists(lines, min_size=1, max_size=8).map(lambda ls: "".join(x + "\n" for x in ls))
names = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters="+"),
    min_size=1,
    max_size=20,
).filter(lambda n: not any(c.isspace() for c in n))
seeds = st.binary(min_size=32, max_size=32)


@given(texts)
def test_sign_then_open_returns_the_text(text: str) -> None:
    opened = open_note(sign_note(text, [SIGNER]), [SIGNER.verifier])
    assert opened.text == text
    assert [s.name for s in opened.verified] == [SIGNER.name]


@given(texts)
def test_parse_then_resign_is_stable(text: str) -> None:
    note = sign_note(text, [SIGNER, OTHER])
    assert sign_note(parse_note(note), [OTHER]) == note
    assert sign_note(open_note(note, [SIGNER.verifier]), [OTHER]) == note


@given(texts, st.data())
def test_any_single_byte_change_is_rejected(text: str, data: st.DataObject) -> None:
    """Every byte of a singly signed note is in its text, the separator, or the signature
    line, so any change must make opening fail: the text no longer matches the signature,
    the signature line no longer names the key, or the note is malformed."""
    note = sign_note(text, [SIGNER]).encode("utf-8")
    index = data.draw(st.integers(0, len(note) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="mask")
    changed = note[:index] + bytes([note[index] ^ mask]) + note[index + 1 :]
    try:
        open_note(changed, [SIGNER.verifier])
    except (InvalidInput, SignatureError) as error:
        assert error.message
    else:
        raise AssertionError(f"accepted a note with byte {index} xor {mask:#04x}")


@given(texts, st.data())
def test_any_change_inside_the_signature_base64_is_rejected(text: str, data: st.DataObject) -> None:
    note = sign_note(text, [SIGNER])
    head, _, encoded = note[:-1].rpartition(" ")
    index = data.draw(st.integers(0, len(encoded) - 1), label="index")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    char = data.draw(st.sampled_from(alphabet).filter(lambda c: c != encoded[index]))
    changed = f"{head} {encoded[:index]}{char}{encoded[index + 1 :]}\n"
    try:
        open_note(changed, [SIGNER.verifier])
    except (InvalidInput, SignatureError):
        return
    raise AssertionError(f"accepted a changed signature {changed!r}")


@given(names, seeds)
def test_vkey_and_skey_round_trip(name: str, seed: bytes) -> None:
    signer = NoteSigner(name, PrivateKey.from_seed(seed))
    assert NoteVerifier.from_vkey(signer.to_vkey()) == signer.verifier
    assert NoteSigner.from_skey(signer.to_skey()).key_id == signer.key_id
    cosigning = CosignatureVerifier.from_public_key(name, signer.verifier.public_key)
    assert CosignatureVerifier.from_vkey(cosigning.to_vkey()) == cosigning
    assert cosigning.key_id != signer.key_id


checkpoints = st.builds(
    Checkpoint,
    origin=st.text(line_chars, min_size=1, max_size=40),
    tree_size=st.integers(0, (1 << 64) - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(st.text(line_chars, min_size=1, max_size=20), max_size=3).map(tuple),
)


@given(checkpoints)
def test_checkpoint_text_round_trip(checkpoint: Checkpoint) -> None:
    assert Checkpoint.from_text(checkpoint.to_text()) == checkpoint


@given(st.integers(0, (1 << 64) - 1), st.text("0123456789+- ", min_size=1, max_size=22))
def test_only_canonical_sizes_parse(size: int, size_text: str) -> None:
    root = base64.b64encode(bytes(32)).decode()
    assert Checkpoint.from_text(f"o\n{size}\n{root}\n").tree_size == size
    try:
        parsed = Checkpoint.from_text(f"o\n{size_text}\n{root}\n")
    except InvalidInput:
        return
    assert str(parsed.tree_size) == size_text


@given(checkpoints, st.integers(0, MAX_TIMESTAMP))
def test_cosign_then_verify_returns_the_timestamp(checkpoint: Checkpoint, timestamp: int) -> None:
    note = cosign_checkpoint(
        sign_checkpoint(checkpoint, SIGNER), WITNESS.name, WITNESS_KEY, timestamp
    )
    (found,) = verify_cosignatures(note, [WITNESS])
    assert (found.name, found.key_id, found.timestamp) == (WITNESS.name, WITNESS.key_id, timestamp)
