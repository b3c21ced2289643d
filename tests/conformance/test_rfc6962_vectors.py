"""RFC 6962 / RFC 9162 vectors and transparency-dev probes (tests/vectors, see README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.errors import ProofError
from ledger.log.compact import CompactRange, RightEdge, root_of
from ledger.log.hashing import EMPTY_ROOT, leaf_hash, node_hash
from ledger.log.merkle import (
    assemble,
    consistency_plan,
    inclusion_hashes,
    inclusion_path,
    node_of_key,
)
from ledger.log.verify import verify_consistency, verify_inclusion

VECTORS = Path(__file__).parents[1] / "vectors"
RFC = json.loads((VECTORS / "rfc6962-vectors.json").read_text())
PROBES = json.loads((VECTORS / "transparency-dev-probes.json").read_text())
LEAVES = [bytes.fromhex(x) for x in RFC["leaves"]]
LEAF_HASHES = [leaf_hash(x) for x in LEAVES]


def h(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def stored_nodes(size: int) -> dict[tuple[int, int], bytes]:
    """Every perfect node a sequencer would have stored for the first ``size`` leaves."""
    compact = CompactRange()
    return {(level, index): digest for level, index, digest in compact.extend(LEAF_HASHES[:size])}


def inclusion_proof(index: int, size: int) -> list[bytes]:
    """The proof as LogService assembles it: the path's stored nodes and the right edge."""
    nodes = stored_nodes(size)
    keys, fork = inclusion_path(index, size)
    edge = RightEdge.of(CompactRange.from_nodes(size, nodes))
    return inclusion_hashes(fork, [nodes[node_of_key(key)] for key in keys], edge)


@pytest.mark.parametrize("vector", RFC["hasher_vectors"], ids=lambda v: v["desc"])
def test_hasher_vectors(vector: dict) -> None:
    if vector["function"] == "empty_root":
        got = EMPTY_ROOT
    elif vector["function"] == "hash_leaf":
        got = leaf_hash(bytes.fromhex(vector["input"]))
    else:
        got = node_hash(bytes.fromhex(vector["left"]), bytes.fromhex(vector["right"]))
    assert got.hex() == vector["expected"]


def test_level_zero_node_hashes() -> None:
    assert [x.hex() for x in LEAF_HASHES] == RFC["node_hashes"]["levels"][0]


@pytest.mark.parametrize("vector", RFC["roots"], ids=lambda v: f"size-{v['tree_size']}")
def test_roots(vector: dict) -> None:
    assert root_of(LEAF_HASHES[: vector["tree_size"]]).hex() == vector["root"]


@pytest.mark.parametrize(
    "vector",
    RFC["inclusion_proofs"]["vectors"],
    ids=lambda v: f"index-{v['leaf_index']}-size-{v['tree_size']}",
)
def test_inclusion_vectors(vector: dict) -> None:
    index, size = vector["leaf_index"], vector["tree_size"]
    proof = inclusion_proof(index, size)
    assert [p.hex() for p in proof] == vector["proof"]
    leaf, root = bytes.fromhex(vector["leaf_hash"]), bytes.fromhex(vector["root"])
    verify_inclusion(index, size, leaf, proof, root)
    # Mutations named as transparency-dev names them: each must be rejected.
    with pytest.raises(ProofError):
        verify_inclusion(index + 1, size, leaf, proof, root)
    with pytest.raises(ProofError):  # treeSize mul @2 (a +1 may keep the fold: see README)
        verify_inclusion(index, size * 2, leaf, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, bytes([leaf[0] ^ 8]) + leaf[1:], proof, root)
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, flipped, root)


@pytest.mark.parametrize(
    "vector",
    RFC["consistency_proofs"]["vectors"],
    ids=lambda v: f"size-{v['size1']}-to-{v['size2']}",
)
def test_consistency_vectors(vector: dict) -> None:
    size1, size2 = vector["size1"], vector["size2"]
    proof = assemble(consistency_plan(size1, size2), stored_nodes(size2))
    assert [p.hex() for p in proof] == vector["proof"]
    root1, root2 = bytes.fromhex(vector["root1"]), bytes.fromhex(vector["root2"])
    verify_consistency(size1, size2, root1, root2, proof)
    if size1 < size2:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, root2, root1, proof)
        for i in range(len(proof)):
            flipped = list(proof)
            flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, root1, root2, flipped)


def _probe_id(probe: dict) -> str:
    return probe["upstream_file"].removeprefix("testdata/").removesuffix(".json")


@pytest.mark.parametrize("probe", PROBES["inclusion"], ids=_probe_id)
def test_inclusion_probe(probe: dict) -> None:
    args = (
        probe["leaf_index"],
        probe["tree_size"],
        bytes.fromhex(probe["leaf_hash"]),
        h(probe["proof"]),
        bytes.fromhex(probe["root"]),
    )
    if probe["want_error"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("probe", PROBES["consistency"], ids=_probe_id)
def test_consistency_probe(probe: dict) -> None:
    args = (
        probe["size1"],
        probe["size2"],
        bytes.fromhex(probe["root1"]),
        bytes.fromhex(probe["root2"]),
        h(probe["proof"]),
    )
    if probe["want_error"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_probe_counts() -> None:
    """The copied probe file is complete: 98 + 98 probes, as upstream."""
    assert len(PROBES["inclusion"]) == 98
    assert len(PROBES["consistency"]) == 98
