"""Merkle trees: a pure-Python recomputation agrees with roots, levels and proofs; multiproofs;
incremental update == rebuild; cpu == opencl; tampering and malformed input."""

import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from conftest import executing_devices
from hash_reference import Tree, leaf_digests, node_function
from zkclob import hashes, merkle

DEVICES = [d.spec for d in executing_devices()]
OPENCL = [d for d in DEVICES if d.startswith("opencl")]
P_BB = 2013265921
P_GL = 2**64 - 2**32 + 1


def rows(n, length=10, seed=0, goldilocks=False):
    rng = np.random.default_rng(seed)
    if goldilocks:
        return rng.integers(0, P_GL, (n, length), dtype=np.uint64)
    return rng.integers(0, P_BB, (n, length), dtype=np.uint32)


def messages(n, seed=0):
    rng = random.Random(seed)
    return [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 150))) for _ in range(n)]


def leaves_for(hash, n, seed=0, instance="babybear16"):
    return rows(n, seed=seed, goldilocks=instance.startswith("goldilocks")) if hash == "poseidon2" \
        else messages(n, seed)


def reference(hash, leaves, instance="babybear16"):
    return Tree(leaf_digests(leaves, hash, instance), node_function(hash, instance))


def as_list(proof):
    return [bytes(node) for node in proof]


@pytest.mark.parametrize("hash", ["poseidon2", "sha256", "keccak256"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 21])
def test_tree_matches_python_recomputation(hash, n):
    leaves = leaves_for(hash, n, seed=n)
    tree = merkle.MerkleTree(leaves, hash=hash, device="cpu")
    ref = reference(hash, leaves)
    assert tree.num_leaves == n and tree.depth == ref.depth
    assert tree.root == ref.root
    for k, level in enumerate(ref.levels):
        assert as_list(tree.level(k)) == level
    for i in range(n):
        proof = tree.proof(i)
        assert proof.shape == (ref.depth, 32)
        assert as_list(proof) == ref.proof(i)
        assert merkle.verify(tree.root, i, leaves[i], proof, n, hash=hash)


@pytest.mark.parametrize("instance,other", [("babybear24", "babybear16"), ("babybear16_hl", "babybear16"),
                                            ("goldilocks8", "goldilocks12"), ("goldilocks12_hl", "goldilocks12")])
def test_other_poseidon2_instances(instance, other):
    leaves = leaves_for("poseidon2", 6, seed=3, instance=instance)
    tree = merkle.MerkleTree(leaves, instance=instance, device="cpu")
    assert tree.root == reference("poseidon2", leaves, instance).root
    assert merkle.verify(tree.root, 5, leaves[5], tree.proof(5), 6, instance=instance)
    assert not merkle.verify(tree.root, 5, leaves[5], tree.proof(5), 6, instance=other)


@pytest.mark.parametrize("hash", ["poseidon2", "sha256", "keccak256"])
def test_backends_bit_identical(hash):
    leaves = leaves_for(hash, 1000, seed=9)
    want = merkle.MerkleTree(leaves, hash=hash, device="cpu")
    for device in OPENCL:
        got = merkle.MerkleTree(leaves, hash=hash, device=device)
        assert merkle.last_device == zc.find_device(device)
        np.testing.assert_array_equal(got.nodes, want.nodes)


def test_large_tree_backends_agree():
    leaves = rows((1 << 14) + 5, length=16, seed=11)
    want = merkle.MerkleTree(leaves, device="cpu")
    got = merkle.MerkleTree(leaves, device=OPENCL[0])
    assert want.depth == 15
    np.testing.assert_array_equal(got.nodes, want.nodes)


@pytest.mark.parametrize("hash", ["poseidon2", "sha256"])
def test_multiproofs(hash):
    n = 37
    leaves = leaves_for(hash, n, seed=4)
    tree = merkle.MerkleTree(leaves, hash=hash)
    ref = reference(hash, leaves)
    for indices in ([0], [36], [0, 1], [3, 2, 3], [0, 5, 6, 7, 20, 36], list(range(n))):
        mp = tree.multiproof(indices)
        assert list(mp.indices) == sorted(set(indices)) and mp.indices.dtype == np.uint64
        assert as_list(mp.nodes) == ref.multiproof(indices)
        opened = [leaves[i] for i in mp.indices]
        if hash == "poseidon2":
            opened = np.array(opened)
        assert merkle.verify_multi(tree.root, mp.indices, opened, mp.nodes, n, hash=hash)
    # Shared siblings are sent once: opening every leaf leaves only the zero padding siblings
    # of odd levels, and nothing at all in a power-of-two tree.
    assert len(tree.multiproof(range(n)).nodes) == 4 and not tree.multiproof(range(n)).nodes.any()
    full = merkle.MerkleTree(leaves_for(hash, 32, seed=1), hash=hash)
    assert full.multiproof(range(32)).nodes.shape == (0, 32)
    assert len(tree.multiproof([0, 1]).nodes) == tree.depth - 1
    assert np.array_equal(tree.multiproof([9]).nodes, tree.proof(9))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 70), data=st.data())
def test_property_multiproof_roundtrip(n, data):
    leaves = messages(n, seed=n)
    tree = merkle.MerkleTree(leaves, hash="keccak256", device="cpu")
    indices = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
    mp = tree.multiproof(indices)
    assert as_list(mp.nodes) == reference("keccak256", leaves).multiproof(indices)
    assert merkle.verify_multi(tree.root, indices, [leaves[i] for i in indices], mp.nodes, n, hash="keccak256")
    if len(mp.nodes):
        bad = mp.nodes.copy()
        bad[data.draw(st.integers(0, len(bad) - 1)), data.draw(st.integers(0, 31))] ^= 1
        assert not merkle.verify_multi(tree.root, indices, [leaves[i] for i in indices], bad, n, hash="keccak256")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("hash", ["poseidon2", "sha256", "keccak256"])
def test_update_equals_rebuild(hash, device):
    n = 45
    leaves = leaves_for(hash, n, seed=5)
    tree = merkle.MerkleTree(leaves, hash=hash, device="cpu")
    fresh = leaves_for(hash, 6, seed=6)
    indices = [44, 0, 17, 16, 30, 3]  # any order; leaves follow it
    changed = list(leaves) if hash != "poseidon2" else leaves.copy()
    for i, leaf in zip(indices, fresh):
        changed[i] = leaf
    tree.update(indices, fresh, device=device)
    assert merkle.last_device == zc.find_device(device)
    rebuilt = merkle.MerkleTree(changed, hash=hash, device="cpu")
    np.testing.assert_array_equal(tree.nodes, rebuilt.nodes)
    assert tree.root == reference(hash, changed).root
    tree.update([], fresh[:0] if hash == "poseidon2" else [])  # nothing to do
    assert tree.root == rebuilt.root


def test_update_of_every_leaf_and_views_follow():
    leaves = rows(16, seed=1)
    tree = merkle.MerkleTree(leaves)
    view = tree.leaf_digests
    new = rows(16, seed=2)
    tree.update(np.arange(16), new)
    assert tree.root == merkle.MerkleTree(new).root
    np.testing.assert_array_equal(view, merkle.MerkleTree(new).leaf_digests)
    assert not view.flags.writeable


def test_nodes_are_zero_copy():
    tree = merkle.MerkleTree(messages(5), hash="sha256")
    nodes = tree.nodes
    assert isinstance(nodes.base, zc.Buffer)
    assert nodes.shape == (5 + 3 + 2 + 1, 32)
    assert bytes(nodes[-1]) == tree.root
    assert isinstance(tree.proof(0).base, zc.Buffer)


@pytest.mark.parametrize("hash", ["poseidon2", "sha256"])
def test_tampering_is_rejected(hash):
    n = 11
    leaves = leaves_for(hash, n, seed=7)
    tree = merkle.MerkleTree(leaves, hash=hash)
    proof = tree.proof(4)
    assert merkle.verify(tree.root, 4, leaves[4], proof, n, hash=hash)
    for level in range(tree.depth):
        bad = proof.copy()
        bad[level, 0] ^= 0x01
        assert not merkle.verify(tree.root, 4, leaves[4], bad, n, hash=hash)
    assert not merkle.verify(tree.root, 5, leaves[4], proof, n, hash=hash)  # wrong index
    assert not merkle.verify(tree.root, 4, leaves[5], proof, n, hash=hash)  # wrong leaf
    assert not merkle.verify(bytes(32), 4, leaves[4], proof, n, hash=hash)  # wrong root
    assert not merkle.verify(tree.root, 4, leaves[4], proof[::-1].copy(), n, hash=hash)  # reordered
    assert not merkle.verify(tree.root, 4, leaves[4], proof, n, hash="keccak256" if hash == "sha256" else "sha256")


def test_poseidon2_proof_with_unreduced_node_is_invalid():
    leaves = rows(4)
    tree = merkle.MerkleTree(leaves)
    bad = tree.proof(1).copy()
    bad[0, :4] = 0xFF  # element 0 = 2^32 - 1 > p: no honest proof holds it
    assert not merkle.verify(tree.root, 1, leaves[1], bad, 4)


def test_malformed_proofs_raise():
    leaves = messages(10)
    tree = merkle.MerkleTree(leaves, hash="sha256")
    proof = tree.proof(2)
    with pytest.raises(zc.InvalidArgumentError, match="malformed proof.*take 4 proof nodes, got 3"):
        merkle.verify(tree.root, 2, leaves[2], proof[:3], 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="malformed proof"):
        merkle.verify(tree.root, 2, leaves[2], np.vstack([proof, proof[:1]]), 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="proof node 1 must be 32 bytes"):
        merkle.verify(tree.root, 2, leaves[2], [bytes(32), bytes(31)], 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match=r"\(nodes, 32\) uint8"):
        merkle.verify(tree.root, 2, leaves[2], proof.astype(np.uint16), 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="out of range"):
        merkle.verify(tree.root, 10, leaves[2], proof, 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="root must be 32 bytes"):
        merkle.verify(tree.root[:31], 2, leaves[2], proof, 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="strictly increasing"):
        merkle.verify_multi(tree.root, [3, 2], [leaves[3], leaves[2]], proof, 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="expected 2 leaves"):
        merkle.verify_multi(tree.root, [2, 3], [leaves[2]], proof, 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="no leaf indices"):
        merkle.verify_multi(tree.root, [], [], proof, 10, hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="num_leaves"):
        merkle.verify(tree.root, 2, leaves[2], proof, 0, hash="sha256")


def test_bad_tree_input():
    with pytest.raises(zc.InvalidArgumentError, match="at least one leaf"):
        merkle.MerkleTree(np.zeros((0, 8), np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="at least one leaf"):
        merkle.MerkleTree([], hash="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="not reduced"):
        merkle.MerkleTree(np.full((3, 8), P_BB, np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="dtype uint32"):
        merkle.MerkleTree(np.zeros((3, 8), np.float64))
    with pytest.raises(zc.InvalidArgumentError, match="2-D array of rows"):
        merkle.MerkleTree(np.zeros(8, np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="unknown Merkle hash"):
        merkle.MerkleTree([b"a"], hash="md5")
    with pytest.raises(zc.InvalidArgumentError, match="not str"):
        merkle.MerkleTree(["a"], hash="sha256")
    tree = merkle.MerkleTree(rows(5))
    with pytest.raises(zc.InvalidArgumentError, match="out of range"):
        tree.proof(5)
    with pytest.raises(zc.InvalidArgumentError, match="not be negative"):
        tree.proof(-1)
    with pytest.raises(zc.InvalidArgumentError, match="out of range"):
        tree.multiproof([1, 5])
    with pytest.raises(zc.InvalidArgumentError, match="no leaf indices"):
        tree.multiproof([])
    root = tree.root
    with pytest.raises(zc.InvalidArgumentError, match="distinct"):
        tree.update([1, 1], rows(2))
    with pytest.raises(zc.InvalidArgumentError, match="shape"):
        tree.update([1], rows(1, length=9))
    with pytest.raises(zc.InvalidArgumentError, match="out of range"):
        tree.update([1, 5], rows(2))
    with pytest.raises(zc.InvalidArgumentError, match="not reduced"):
        tree.update([0, 1], np.full((2, 10), P_BB, np.uint32))
    assert tree.root == root  # failed updates leave the tree unchanged
    with pytest.raises(zc.InvalidArgumentError, match="level must be"):
        tree.level(tree.depth + 1)
