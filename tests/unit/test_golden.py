"""Golden vectors of docs/format.md: a fixed TEST ONLY key, fixed times, exact bytes.

If any of these change, the on-disk and wire formats changed: update docs/format.md and
treat it as a breaking change.
"""

from __future__ import annotations

from pathlib import Path

from ledger.keys import PrivateKey
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.compact import root_of
from ledger.log.entries import GENESIS, NOTICE, sign_entry
from ledger.log.hashing import CHAIN_GENESIS, chain_next, leaf_hash
from ledger.log.note import NoteSigner

KEY = PrivateKey.from_seed(b"\x42" * 32)  # TEST ONLY: seed 0x42 x 32
ORIGIN = "example.vn/log"
GENESIS_BODY = {
    "origin": ORIGIN,
    "operator": {"id": "operator", "name": "Example Operator"},
    "key": KEY.public_key.to_text(),
}
GENESIS_LEAF = (
    b'{"body":{"key":"ed25519:IVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=","operator":'
    b'{"id":"operator","name":"Example Operator"},"origin":"example.vn/log"},"signature":'
    b'"R0wmT5yxedV6gmbAuDPeoWExGAgkBqHj5RnLCA1szdYOPs7Ro5Y0r0wNB4P8xPmNaqglx6PMUlGoOvQx/Yb+AQ=="'
    b',"signer":"3ae3dcca8d8dfd75","time":1767225600000,"type":"log.genesis"}'
)
CHECKPOINT = (
    "example.vn/log\n2\nC87Z5G3w9+VZL6fLxwiLXQoL1TJO818m2DPuRbrI0hQ=\n\n"
    "— example.vn/log np0KLPwpxzVhvJ6/CtEU39y3QlT/3rACLGK9Nn6xrRewiwx60quVxBl/EPvS71OilDmY"
    "kfQoYCxqjuBug5AmSpLWOAM=\n"
)


def test_key_text_and_id() -> None:
    assert KEY.public_key.to_text() == "ed25519:IVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI="
    assert KEY.key_id == "3ae3dcca8d8dfd75"


def test_genesis_entry_bytes_hashes_and_chain() -> None:
    genesis = sign_entry(GENESIS, GENESIS_BODY, KEY)
    assert genesis.message().startswith(b"tracemark/entry/log.genesis/v1\x00{")
    leaf = genesis.leaf_bytes(1_767_225_600_000)
    assert leaf == GENESIS_LEAF
    digest = leaf_hash(leaf)
    assert digest.hex() == "3421f388ca9c82c604218ff529b28e6fc80832545aac838d0a43b43809c4148a"
    assert CHAIN_GENESIS.hex() == "07b4760d49425f6b7f2c0fb2e910cd14e63a83f8b9d65aa82fc03625e14f2172"
    chain0 = chain_next(CHAIN_GENESIS, digest)
    assert chain0.hex() == "d85bc908742756f910a1e7d7d6d6063d01db97f63beeabff8dcea9f66fd115de"
    assert genesis.statement_hash.hex() == (
        "05376c8ab4dc6c1f582a7af236650b18d2f14ae59869e4d7c9ffff8922e500cd"
    )


def test_two_entry_tree_and_signed_checkpoint() -> None:
    genesis = sign_entry(GENESIS, GENESIS_BODY, KEY).leaf_bytes(1_767_225_600_000)
    notice = sign_entry(NOTICE, {"title": "Operator policy v1"}, KEY).leaf_bytes(1_767_225_601_000)
    leaves = [leaf_hash(genesis), leaf_hash(notice)]
    assert leaves[1].hex() == "2caafaff3802830cb2c791828039b08d7677e01db8ef0ba535647bddbf194067"
    root = root_of(leaves)
    assert root.hex() == "0bced9e46df0f7e5592fa7cbc7088b5d0a0bd5324ef35f26d833ee45bac8d214"
    note = sign_checkpoint(Checkpoint(ORIGIN, 2, root), NoteSigner(ORIGIN, KEY))
    assert note == CHECKPOINT


def test_format_doc_carries_these_vectors() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "format.md").read_text(encoding="utf-8")
    assert GENESIS_LEAF.decode() in doc.replace("\n", "")
    assert CHECKPOINT in doc
    assert "3421f388ca9c82c604218ff529b28e6fc80832545aac838d0a43b43809c4148a" in doc
