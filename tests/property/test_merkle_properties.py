"""Property tests: ledger.log.merkle against the recursive reference (tests/reference.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidInput, ProofError
from ledger.log.compact import CompactRange, RightEdge, root_of
from ledger.log.merkle import (
    assemble,
    consistency_plan,
    inclusion_hashes,
    inclusion_path,
    node_of_key,
)
from ledger.log.verify import verify_consistency, verify_inclusion
from tests import reference

sizes = st.integers(min_value=1, max_value=300)


def leaves_of(n: int) -> list[bytes]:
    return [reference.leaf(i.to_bytes(4, "big")) for i in range(n)]


def stored(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    return {(lv, ix): d for lv, ix, d in CompactRange().extend(leaves)}


def inclusion_proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """The proof as LogService assembles it: the path's stored nodes and the right edge."""
    nodes = stored(leaves)
    keys, fork = inclusion_path(index, len(leaves))
    edge = RightEdge.of(CompactRange.from_nodes(len(leaves), nodes))
    return inclusion_hashes(fork, [nodes[node_of_key(key)] for key in keys], edge)


def flip(value: bytes, bit: int) -> bytes:
    i = (bit // 8) % len(value)
    return value[:i] + bytes([value[i] ^ (1 << (bit % 8))]) + value[i + 1 :]


@given(sizes)
def test_root_matches_reference(n: int) -> None:
    leaves = leaves_of(n)
    assert root_of(leaves) == reference.mth(leaves)


@given(st.data())
@settings(max_examples=300)
def test_inclusion_proof_matches_reference_and_mutations_fail(data: st.DataObject) -> None:
    n = data.draw(sizes)
    index = data.draw(st.integers(0, n - 1))
    leaves = leaves_of(n)
    proof = inclusion_proof(index, leaves)
    assert proof == reference.path(index, leaves)
    root = reference.mth(leaves)
    verify_inclusion(index, n, leaves[index], proof, root)

    mutation = data.draw(
        st.sampled_from(["proof-bit", "leaf-bit", "root-bit", "index", "size", "drop", "extra"])
    )
    bit = data.draw(st.integers(0, 255))
    args = [index, n, leaves[index], proof, root]
    if mutation == "proof-bit":
        if not proof:
            return
        i = data.draw(st.integers(0, len(proof) - 1))
        args[3] = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
    elif mutation == "leaf-bit":
        args[2] = flip(leaves[index], bit)
    elif mutation == "root-bit":
        args[4] = flip(root, bit)
    elif mutation == "index":
        other = data.draw(st.integers(0, n))
        if other == index or leaves[other % n] == leaves[index]:
            return
        args[0] = other
    elif mutation == "size":
        # Sizes are mutated as transparency-dev's probes do (mul/div by 2). A size change
        # that keeps every fold direction (index 4 in size 7 or 8) yields the same root and
        # cannot be caught by the proof alone: the signed checkpoint binds size to root.
        other = n * 2 if data.draw(st.booleans()) or n // 2 <= index else n // 2
        args[1] = other
    elif mutation == "drop":
        if not proof:
            return
        args[3] = proof[:-1]
    else:
        args[3] = [*proof, root]
    with pytest.raises(ProofError):
        verify_inclusion(*args)  # type: ignore[arg-type]


@given(st.data())
@settings(max_examples=300)
def test_consistency_proof_matches_reference_and_mutations_fail(data: st.DataObject) -> None:
    n2 = data.draw(sizes)
    n1 = data.draw(st.integers(1, n2))
    leaves = leaves_of(n2)
    proof = assemble(consistency_plan(n1, n2), stored(leaves))
    assert proof == reference.consistency(n1, leaves)
    root1, root2 = reference.mth(leaves[:n1]), reference.mth(leaves)
    verify_consistency(n1, n2, root1, root2, proof)
    if n1 == n2:
        return
    mutation = data.draw(st.sampled_from(["proof-bit", "root1", "root2", "size1", "size2"]))
    bit = data.draw(st.integers(0, 255))
    args = [n1, n2, root1, root2, proof]
    if mutation == "proof-bit":
        i = data.draw(st.integers(0, len(proof) - 1))
        args[4] = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
    elif mutation == "root1":
        args[2] = flip(root1, bit)
    elif mutation == "root2":
        args[3] = flip(root2, bit)
    elif mutation == "size1":
        # mul/div by 2, as the probes do (see the inclusion test for why not +-1).
        other = n1 * 2 if n1 * 2 <= n2 and data.draw(st.booleans()) else n1 // 2
        if other in {0, n1}:
            return
        args[0] = other
    else:
        args[1] = n2 * 2 if data.draw(st.booleans()) or n2 // 2 < n1 else n2 // 2
    with pytest.raises(ProofError):
        verify_consistency(*args)  # type: ignore[arg-type]


@given(sizes, st.data())
def test_compact_range_reports_every_perfect_node_once(n: int, data: st.DataObject) -> None:
    leaves = leaves_of(n)
    nodes = stored(leaves)
    for (level, index), digest in nodes.items():
        span = leaves[index << level : (index + 1) << level]
        assert len(span) == 1 << level
        assert digest == reference.mth(span)
    # Resuming from the stored frontier gives the same root as a fresh build.
    cut = data.draw(st.integers(0, n))
    resumed = CompactRange.from_nodes(cut, stored(leaves[:cut]))
    resumed.extend(leaves[cut:])
    assert resumed.root() == reference.mth(leaves)


@pytest.mark.parametrize(
    ("index", "size"), [(0, 0), (5, 5), (-1, 3), (6, 5)], ids=["empty", "equal", "neg", "past"]
)
def test_inclusion_path_rejects_bad_positions(index: int, size: int) -> None:
    with pytest.raises(InvalidInput):
        inclusion_path(index, size)


def path_length(index: int, n: int) -> int:
    """len(PATH(index, D[n])), by the RFC's recursion (reference.path without hashing)."""
    if n == 1:
        return 0
    k = reference.split(n)
    return 1 + (path_length(index, k) if index < k else path_length(index - k, n - k))


@given(st.data())
@settings(max_examples=300)
def test_inclusion_path_names_one_stored_node_per_hash_but_the_edge(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 1 << 40))
    index = data.draw(st.integers(0, n - 1))
    keys, fork = inclusion_path(index, n)
    ids = [node_of_key(key) for key in keys]
    # Every node is a perfect subtree of the tree of size n, and none covers the leaf.
    assert all((ix + 1) << lv <= n for lv, ix in ids)
    assert not any(ix << lv <= index < (ix + 1) << lv for lv, ix in ids)
    # The siblings come first, one per level below the fork; then the subtrees left of the
    # fork, lowest (and rightmost) first.
    assert [lv for lv, _ in ids[:fork]] == list(range(fork))
    left = ids[fork:]
    assert all(lv > fork for lv, _ in left)
    assert [lv for lv, _ in left] == sorted(lv for lv, _ in left)
    # With the right edge's fold, when the tree does not end on the fork, that is one hash
    # per level of the RFC's PATH.
    edge = 1 if n % (1 << fork) else 0
    assert len(keys) + edge == path_length(index, n)


@given(sizes, st.data())
def test_right_edge_folds_the_tree_right_of_each_level(n: int, data: st.DataObject) -> None:
    leaves = leaves_of(n)
    edge = RightEdge.of(CompactRange.from_nodes(n, stored(leaves)))
    assert edge.root == reference.mth(leaves)
    level = data.draw(st.integers(0, n.bit_length() + 1))
    start = (n >> level) << level
    fold = edge.below(level)
    assert fold == (reference.mth(leaves[start:]) if start < n else None)


def test_right_edge_needs_one_fold_per_frontier_node() -> None:
    with pytest.raises(InvalidInput):
        RightEdge(7, (b"\0" * 32,) * 2)
    with pytest.raises(InvalidInput):
        RightEdge.of(CompactRange())


@pytest.mark.parametrize(("a", "b"), [(0, 5), (6, 5), (-1, 2)], ids=["zero", "shrink", "neg"])
def test_consistency_plan_rejects_bad_sizes(a: int, b: int) -> None:
    with pytest.raises(InvalidInput):
        consistency_plan(a, b)
