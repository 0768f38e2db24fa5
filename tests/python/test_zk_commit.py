"""Batch polynomial commitments (zkclob.zk.commit / open / verify): the LDE against a pure-Python
interpolation and evaluation and against the library's own NTTs, the root against a pure-Python
Poseidon2 tree and against MerkleTree, openings and their verification (tampered rows, proofs,
indices and roots rejected), cpu == opencl, typed errors on bad input, and zk's hash re-exports."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from conftest import executing_devices
from hash_reference import Poseidon2, Tree, node_function
from zkclob import hashes, merkle, zk

OPENCL = [d.spec for d in executing_devices() if d.backend == "opencl"]
FIELDS = {  # name: (modulus, multiplicative generator, dtype, default instance)
    "babybear": (2013265921, 31, np.uint32, "babybear16"),
    "goldilocks": (2**64 - 2**32 + 1, 7, np.uint64, "goldilocks8"),
}


def columns(field, rows, cols, seed=0):
    p, _, dtype, _ = FIELDS[field]
    rng = np.random.default_rng(seed)
    return rng.integers(0, p, (rows, cols), dtype=np.uint64).astype(dtype)


def bitrev_perm(n):
    bits = n.bit_length() - 1
    return np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(n)])


def naive_lde(field, values, blowup, coset, order):
    """Interpolate each column on H (O(n^2), Python ints), evaluate on s H' with |H'| = n * blowup."""
    p, g, dtype, _ = FIELDS[field]
    n, cols = values.shape
    big = n * blowup
    w_inv = pow(pow(g, (p - 1) // n, p), p - 2, p)
    W = pow(g, (p - 1) // big, p)
    n_inv = pow(n, p - 2, p)
    shift = g if coset else 1
    out = np.zeros((big, cols), dtype=object)
    for c in range(cols):
        y = [int(v) for v in values[:, c]]
        coeffs = [sum(y[i] * pow(w_inv, i * j, p) for i in range(n)) * n_inv % p for j in range(n)]
        for i in range(big):
            x, acc = shift * pow(W, i, p) % p, 0
            for a in reversed(coeffs):
                acc = (acc * x + a) % p
            out[i, c] = acc
    if order == "nr":
        out = out[bitrev_perm(big)]
    return out.astype(dtype)


def python_tree(rows, instance):
    p2 = Poseidon2(instance)
    leaves = [p2.to_bytes(p2.hash([int(x) for x in row])) for row in rows]
    return Tree(leaves, node_function("poseidon2", instance))


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("blowup,coset,order", [(2, True, "nn"), (4, False, "nn"), (8, True, "nr"),
                                                (2, False, "nr")])
def test_commit_matches_pure_python(field, blowup, coset, order):
    vals = columns(field, 4, 3, seed=blowup)
    c = zk.commit(vals, field=field, blowup=blowup, coset=coset, order=order, device="cpu")
    want = naive_lde(field, vals, blowup, coset, order)
    np.testing.assert_array_equal(c.lde, want)
    assert c.lde.dtype == FIELDS[field][2] and c.lde.shape == (4 * blowup, 3)
    assert c.lde_rows == 4 * blowup and c.instance == FIELDS[field][3]
    ref = python_tree(want, FIELDS[field][3])
    assert c.root == ref.root
    idx = [0, 3, 4, 4 * blowup - 1]
    opening = c.open(idx)
    assert [bytes(node) for node in opening.proof] == ref.multiproof(idx)
    np.testing.assert_array_equal(opening.rows, want[idx])


@pytest.mark.parametrize("field,instance", [("babybear", "babybear16"), ("babybear", "babybear24_hl"),
                                            ("goldilocks", "goldilocks8"), ("goldilocks", "goldilocks12")])
def test_commit_matches_library_primitives(field, instance):
    vals = columns(field, 256, 5, seed=7)
    c = zk.commit(vals, field=field, blowup=4, instance=instance, device="cpu")
    coeffs = zk.intt(vals, field=field, device="cpu")
    padded = np.zeros((1024, 5), dtype=vals.dtype)
    padded[:256] = coeffs
    want = zk.ntt(padded, field=field, coset=True, device="cpu")
    np.testing.assert_array_equal(c.lde, want)
    np.testing.assert_array_equal(c.lde, zk.lde(vals, 4, field=field, device="cpu"))
    assert c.root == merkle.MerkleTree(want, instance=instance, device="cpu").root


def test_one_column_vector():
    vals = columns("babybear", 16, 1)[:, 0]
    c = zk.commit(list(map(int, vals)), blowup=2)
    assert c.cols == 1 and c.lde.shape == (32, 1)
    assert c.root == zk.commit(vals.reshape(-1, 1), blowup=2).root


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_open_verify_and_tampering(field):
    p = FIELDS[field][0]
    c = zk.commit(columns(field, 64, 4, seed=3), field=field, blowup=2, order="nr")
    opening = zk.open(c, [100, 3, 3, 50, 51])
    np.testing.assert_array_equal(opening.indices, [3, 50, 51, 100])
    np.testing.assert_array_equal(opening.rows, c.lde[[3, 50, 51, 100]])
    args = dict(lde_rows=128, field=field)
    assert zk.verify(c.root, opening.indices, opening.rows, opening.proof, **args)

    rows = opening.rows.copy()
    rows[2, 1] = (int(rows[2, 1]) + 1) % p
    assert not zk.verify(c.root, opening.indices, rows, opening.proof, **args)
    proof = opening.proof.copy()
    proof[0, 0] ^= 1
    assert not zk.verify(c.root, opening.indices, opening.rows, proof, **args)
    root = bytearray(c.root)
    root[31] ^= 0x10
    assert not zk.verify(bytes(root), opening.indices, opening.rows, opening.proof, **args)
    # The same rows claimed at other indices of the same proof shape.
    assert not zk.verify(c.root, [5, 50, 51, 100], opening.rows, opening.proof, **args)
    # Another commitment's root.
    other = zk.commit(columns(field, 64, 4, seed=4), field=field, blowup=2, order="nr")
    assert not zk.verify(other.root, opening.indices, opening.rows, opening.proof, **args)

    with pytest.raises(zc.InvalidArgumentError, match="malformed proof"):
        zk.verify(c.root, opening.indices, opening.rows, opening.proof[:-1], **args)
    with pytest.raises(zc.InvalidArgumentError, match="strictly increasing"):
        zk.verify(c.root, opening.indices[::-1], opening.rows, opening.proof, **args)
    with pytest.raises(zc.InvalidArgumentError, match="out of range"):
        zk.verify(c.root, [3, 50, 51, 128], opening.rows, opening.proof, **args)
    with pytest.raises(zc.InvalidArgumentError, match="4 indices but 3 opened rows"):
        zk.verify(c.root, opening.indices, opening.rows[:3], opening.proof, **args)
    with pytest.raises(zc.InvalidArgumentError, match="power of two"):
        zk.verify(c.root, opening.indices, opening.rows, opening.proof, lde_rows=120, field=field)
    bad = opening.rows.copy()
    bad[0, 0] = p
    with pytest.raises(zc.InvalidArgumentError, match="not reduced"):
        zk.verify(c.root, opening.indices, bad, opening.proof, **args)
    with pytest.raises(zc.InvalidArgumentError, match="32 bytes"):
        zk.verify(c.root[:31], opening.indices, opening.rows, opening.proof, **args)
    with pytest.raises(zc.InvalidArgumentError, match="dtype"):
        zk.verify(c.root, opening.indices, opening.rows.astype(np.int64), opening.proof, **args)


def test_open_bad_indices():
    c = zk.commit(columns("babybear", 8, 2), blowup=2)
    with pytest.raises(zc.InvalidArgumentError, match="out of range"):
        c.open([16])
    with pytest.raises(zc.InvalidArgumentError, match="negative"):
        c.open([-1])
    with pytest.raises(zc.InvalidArgumentError, match="no row indices"):
        c.open([])
    with pytest.raises(zc.InvalidArgumentError, match="integers"):
        c.open([1.5])
    with pytest.raises(zc.InvalidArgumentError, match="must be a Commitment"):
        zk.open(c.root, [0])


def test_commit_bad_input():
    good = columns("babybear", 8, 2)
    with pytest.raises(zc.InvalidArgumentError, match="power of two"):
        zk.commit(columns("babybear", 6, 2))
    with pytest.raises(zc.InvalidArgumentError, match="blowup"):
        zk.commit(good, blowup=3)
    with pytest.raises(zc.InvalidArgumentError, match="blowup"):
        zk.commit(good, blowup=True)
    with pytest.raises(zc.InvalidArgumentError, match="dtype"):
        zk.commit(good.astype(np.int32))
    with pytest.raises(zc.InvalidArgumentError, match="dtype"):
        zk.commit(good, field="goldilocks")
    with pytest.raises(zc.InvalidArgumentError, match="empty"):
        zk.commit(np.zeros((0, 2), np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="dimensions"):
        zk.commit(good.reshape(2, 4, 2))
    with pytest.raises(zc.InvalidArgumentError, match="does not hash"):
        zk.commit(good, instance="goldilocks8")
    with pytest.raises(zc.InvalidArgumentError, match="unknown Poseidon2 instance"):
        zk.commit(good, instance="sha256")
    with pytest.raises(zc.InvalidArgumentError, match="field"):
        zk.commit(good, field="bn254")
    with pytest.raises(zc.InvalidArgumentError, match="order"):
        zk.commit(good, order="xx")
    bad = good.copy()
    bad[3, 1] = 2013265921
    with pytest.raises(zc.InvalidArgumentError, match="not a canonical"):
        zk.commit(bad)
    with pytest.raises(zc.InvalidArgumentError, match="not a canonical"):
        zk.commit([[1, 2], [3, 2013265921]])
    with pytest.raises(zc.InvalidArgumentError, match="LDE rows"):
        zk.commit(np.full((2**22, 1), 0, np.uint32), blowup=8)


def test_lde_view_is_read_only_and_outlives_commitment():
    c = zk.commit(columns("babybear", 8, 2), blowup=4)
    view = c.lde
    with pytest.raises(ValueError):
        view[0, 0] = 1
    expect = view.copy()
    del c
    np.testing.assert_array_equal(view, expect)


@pytest.mark.skipif(not OPENCL, reason="no OpenCL device")
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_cpu_and_opencl_identical(field):
    vals = columns(field, 512, 3, seed=11)
    cpu = zk.commit(vals, field=field, blowup=4, order="nr", device="cpu")
    for spec in OPENCL:
        dev = zk.commit(vals, field=field, blowup=4, order="nr", device=spec)
        assert zk.last_device == zc.find_device(spec)
        assert dev.root == cpu.root
        np.testing.assert_array_equal(dev.lde, cpu.lde)
        idx = [0, 7, 1000, 2047]
        a, b = cpu.open(idx), dev.open(idx)
        np.testing.assert_array_equal(a.proof, b.proof)


@settings(max_examples=25, deadline=None)
@given(log_rows=st.integers(0, 6), cols=st.integers(1, 20), blowup=st.sampled_from([2, 4, 8]),
       order=st.sampled_from(["nn", "nr"]), coset=st.booleans(), data=st.data())
def test_random_openings_verify(log_rows, cols, blowup, order, coset, data):
    vals = columns("babybear", 1 << log_rows, cols, seed=log_rows * 31 + cols)
    c = zk.commit(vals, blowup=blowup, order=order, coset=coset, device="cpu")
    n = c.lde_rows
    idx = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=min(n, 12)))
    opening = c.open(idx)
    assert zk.verify(c.root, opening.indices, opening.rows, opening.proof, lde_rows=n)
    expected_nodes = zc._zkclob.merkle_proof_size(n, opening.indices)
    assert opening.proof.shape == (expected_nodes, 32)


def test_zk_reexports_hashes_and_merkle():
    rows = columns("babybear", 5, 8)
    np.testing.assert_array_equal(zk.poseidon2(rows), hashes.poseidon2_hash(rows))
    p2 = Poseidon2("babybear16")
    assert [int(x) for x in zk.poseidon2(rows[0])] == p2.hash([int(x) for x in rows[0]])
    assert zk.MerkleTree is merkle.MerkleTree
    assert zk.MerkleTree(rows).root == python_tree(rows, "babybear16").root
    for name in ("poseidon2_permute", "poseidon2_compress", "sha256_batch", "keccak256_batch"):
        assert getattr(zk, name) is getattr(hashes, name)
