"""BabyBear and Goldilocks NTTs and polynomials against independent references:
an O(n^2) DFT in Python integers for small sizes, evaluation at random points
for large ones, naive convolution, pow(x, p - 2, p); cpu == opencl bit for
bit, scalar == AVX2, batch == per column, and every kind of bad input."""

import functools
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from zkclob import zk

P = {"babybear": zk.BABYBEAR_P, "goldilocks": zk.GOLDILOCKS_P}
DTYPE = {"babybear": np.uint32, "goldilocks": np.uint64}
GEN = {"babybear": 31, "goldilocks": 7}
FIELDS = list(P)
ORDERS = ["nn", "nr", "rn", "rr"]
OPENCL = [d.spec for d in zc.devices() if d.backend == "opencl" and d.available]


def rand_values(field, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, P[field], size=shape, dtype=np.uint64)
    flat = x.reshape(-1)
    flat[: min(3, flat.size)] = [0, 1, P[field] - 1][: min(3, flat.size)]  # the edges
    return x.astype(DTYPE[field])


def bitrev_perm(n):
    bits = n.bit_length() - 1
    return np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(n)])


@functools.lru_cache(maxsize=None)
def dft_matrix(field, n, inverse, coset):
    """Rows i of the forward DFT: (s w^i)^j; the inverse's rows j: (s^-j / n) w^-ij."""
    p = P[field]
    w = pow(GEN[field], (p - 1) // n, p) if n > 1 else 1
    s = GEN[field] if coset else 1
    if inverse:
        w, s = pow(w, p - 2, p), pow(s, p - 2, p)
    m = np.empty((n, n), dtype=object)
    for i in range(n):
        base = w if inverse else s * pow(w, i, p) % p
        x = (pow(n, p - 2, p) * pow(s, i, p) % p) if inverse else 1
        step = pow(base, i, p) if inverse else base
        for j in range(n):
            m[i, j] = x
            x = x * step % p
    return m


def naive_dft(x, field, inverse=False, coset=False):
    """Column-wise DFT in Python integers: forward y_i = sum_j x_j (s w^i)^j; inverse solves it."""
    n = x.shape[0]
    return (dft_matrix(field, n, inverse, coset).dot(x.reshape(n, -1).astype(object)) % P[field]).reshape(x.shape)


def to_order(x, rev):
    return x[bitrev_perm(x.shape[0])] if rev else x


def horner(coeffs, point, p):
    acc = 0
    for c in reversed([int(c) for c in coeffs]):
        acc = (acc * point + c) % p
    return acc


def eval_at(coeffs, point, field):
    """sum_j c_j x^j mod p in Python integers, as sum_k x^(kK) sum_i c_(kK+i) x^i (two object dot products)."""
    p, n = P[field], len(coeffs)
    k = min(n, 1024)
    small = [1]
    for _ in range(k - 1):
        small.append(small[-1] * point % p)
    step, big = small[-1] * point % p, [1]
    for _ in range((n + k - 1) // k - 1):
        big.append(big[-1] * step % p)
    c = np.zeros(len(big) * k, dtype=object)
    c[:n] = coeffs.astype(object)
    inner = c.reshape(len(big), k).dot(np.array(small, dtype=object)) % p
    return int(inner.dot(np.array(big, dtype=object)) % p)


# ---- small sizes against the naive DFT, every order, both directions, coset or not --------------------------


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("coset", [False, True])
def test_small_sizes_match_naive_dft(field, order, coset):
    for log in range(1, 9):
        n = 1 << log
        x = rand_values(field, n, seed=log)
        fwd = naive_dft(x, field, coset=coset)
        got = zk.ntt(to_order(x, order[0] == "r"), field=field, order=order, coset=coset, device="cpu")
        assert got.dtype == DTYPE[field] and got.shape == (n,)
        assert [int(v) for v in got] == [int(v) for v in to_order(fwd, order[1] == "r")]
        inv = naive_dft(x, field, inverse=True, coset=coset)
        got = zk.intt(to_order(x, order[0] == "r"), field=field, order=order, coset=coset, device="cpu")
        assert [int(v) for v in got] == [int(v) for v in to_order(inv, order[1] == "r")]


@pytest.mark.parametrize("field", FIELDS)
def test_batch_matches_naive_dft_per_column(field):
    x = rand_values(field, (32, 5), seed=3)
    np.testing.assert_array_equal(zk.ntt(x, field=field, device="cpu").astype(object), naive_dft(x, field))


# ---- large sizes: evaluation at random points ---------------------------------------------------------------


@pytest.mark.parametrize("field,log,npoints", [("babybear", 16, 4), ("babybear", 20, 3), ("goldilocks", 16, 3),
                                               ("goldilocks", 20, 2)])
def test_large_sizes_match_evaluation_at_points(field, log, npoints):
    n, p = 1 << log, P[field]
    coeffs = rand_values(field, n, seed=log)
    w = zk.two_adic_generator(log, field)
    rng = random.Random(log)
    for coset, indices in [(False, [n - 1] + [rng.randrange(n) for _ in range(npoints - 1)]),
                           (True, [rng.randrange(n)])]:
        evals = zk.ntt(coeffs, field=field, coset=coset, device="cpu")
        s = GEN[field] if coset else 1
        for i in indices:
            assert int(evals[i]) == eval_at(coeffs, s * pow(w, i, p) % p, field), (coset, i)
        np.testing.assert_array_equal(zk.intt(evals, field=field, coset=coset, device="cpu"), coeffs)


# ---- identities and layouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("order", ORDERS)
def test_inverse_of_forward_is_identity(field, order):
    for log, cols in [(0, 1), (1, 1), (5, 3), (11, 1), (12, 16), (14, 7), (17, 1)]:
        x = rand_values(field, (1 << log, cols) if cols > 1 else 1 << log, seed=log)
        for coset in (False, True):
            y = zk.ntt(x, field=field, order=order, coset=coset, device="cpu")
            back_order = order[1] + order[0]
            np.testing.assert_array_equal(zk.intt(y, field=field, order=back_order, coset=coset, device="cpu"), x)


@pytest.mark.parametrize("field", FIELDS)
def test_batch_equals_per_column(field):
    for rows, cols in [(1 << 12, 16), (1 << 10, 3), (1 << 13, 8), (64, 40)]:
        x = rand_values(field, (rows, cols), seed=rows + cols)
        for inverse, order, coset in [(False, "nn", False), (True, "nr", True), (False, "rr", True)]:
            y = zk.ntt(x, field=field, inverse=inverse, order=order, coset=coset, device="cpu")
            assert y.shape == (rows, cols)
            for c in range(cols):
                col = zk.ntt(np.ascontiguousarray(x[:, c]), field=field, inverse=inverse, order=order, coset=coset,
                             device="cpu")
                np.testing.assert_array_equal(y[:, c], col)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("blowup", zk.BLOWUPS)
def test_lde_matches_evaluation_on_coset(field, blowup):
    p = P[field]
    for n, cols in [(1, 1), (4, 1), (16, 3), (32, 1)]:
        evals = rand_values(field, (n, cols), seed=n * blowup)
        coeffs = naive_dft(evals, field, inverse=True)
        big = n * blowup
        w = zk.two_adic_generator(big.bit_length() - 1, field)
        for coset in (False, True):
            s = GEN[field] if coset else 1
            want = np.array([[horner(coeffs[:, c], s * pow(w, k, p) % p, p) for c in range(cols)]
                             for k in range(big)], dtype=object)
            for order in ORDERS:
                got = zk.lde(to_order(evals, order[0] == "r"), blowup, field=field, order=order, coset=coset,
                             device="cpu")
                assert got.shape == (big, cols)
                np.testing.assert_array_equal(got.astype(object), to_order(want, order[1] == "r"))


def test_lde_1d_and_subgroup_extension_keeps_the_values():
    x = rand_values("babybear", 1 << 10, seed=9)
    y = zk.lde(x, 4, coset=False, device="cpu")
    assert y.shape == (1 << 12,)
    np.testing.assert_array_equal(y[::4], x)  # H is the subgroup of every 4th point of H'
    # The coset LDE is the coset NTT of the zero-padded coefficients.
    coeffs = np.concatenate([zk.intt(x, device="cpu"), np.zeros(3 << 10, np.uint32)])
    np.testing.assert_array_equal(zk.lde(x, 4, device="cpu"), zk.ntt(coeffs, coset=True, device="cpu"))


# ---- polynomials --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS)
def test_poly_mul_matches_naive_convolution(field):
    p = P[field]
    for na, nb in [(1, 1), (1, 7), (2, 3), (17, 33), (64, 64), (100, 1)]:
        a, b = rand_values(field, na, seed=na), rand_values(field, nb, seed=1000 + nb)
        want = [0] * (na + nb - 1)
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                want[i + j] = (want[i + j] + int(x) * int(y)) % p
        got = zk.poly_mul(a, b, field=field, device="cpu")
        assert got.dtype == DTYPE[field]
        assert [int(v) for v in got] == want


def test_poly_mul_large_against_evaluation():
    a, b = rand_values("babybear", 3000, seed=1), rand_values("babybear", 5000, seed=2)
    c = zk.poly_mul(a, b, device="cpu")
    assert c.shape == (7999,)
    for x in (2, 12345, zk.BABYBEAR_P - 5):
        assert eval_at(c, x, "babybear") == eval_at(a, x, "babybear") * eval_at(b, x, "babybear") % zk.BABYBEAR_P


@pytest.mark.parametrize("field", FIELDS)
def test_evaluate_and_interpolate(field):
    p = P[field]
    coeffs = rand_values(field, 5000, seed=5)
    points = rand_values(field, 300, seed=6)
    got = zk.evaluate(coeffs, points, field=field, device="cpu")
    assert got.shape == (300,)
    for k in (0, 1, 2, 150, 299):
        assert int(got[k]) == horner(coeffs, int(points[k]), p)
    # evaluate at the subgroup == NTT; interpolate inverts it
    n = 256
    c = coeffs[:n].copy()
    w = zk.two_adic_generator(8, field)
    dom = np.array([pow(w, i, p) for i in range(n)], dtype=DTYPE[field])
    np.testing.assert_array_equal(zk.evaluate(c, dom, field=field, device="cpu"), zk.ntt(c, field=field))
    np.testing.assert_array_equal(zk.interpolate(zk.ntt(c, field=field), field=field), c)


@pytest.mark.parametrize("field", FIELDS)
def test_batch_inverse(field):
    p = P[field]
    x = rand_values(field, 10_000, seed=8)
    x[x == 0] = 5
    y = zk.batch_inverse(x, field=field, device="cpu")
    for k in range(0, 10_000, 97):
        assert int(y[k]) == pow(int(x[k]), p - 2, p)
    assert all(int(a) * int(b) % p == 1 for a, b in zip(x[:500], y[:500]))


def test_field_helpers(vectors):
    for field, name in [("babybear", "ntt_babybear_two_adic.json"), ("goldilocks", "ntt_goldilocks_two_adic.json")]:
        v = vectors(name)
        info = zk.field_info(field)
        assert info == {"name": field, "modulus": v["field_modulus"], "elem_size": np.dtype(DTYPE[field]).itemsize,
                        "generator": v["multiplicative_generator"], "two_adicity": v["two_adicity"]}
        assert [zk.two_adic_generator(k, field) for k in range(info["two_adicity"] + 1)] == \
            [int(g, 16) for g in v["two_adic_generators"]]
    assert zk.BABYBEAR_P == 2**31 - 2**27 + 1 and zk.GOLDILOCKS_P == 2**64 - 2**32 + 1


# ---- backends and paths bit for bit -------------------------------------------------------------------------


@pytest.mark.skipif(not OPENCL, reason="no OpenCL device")
@pytest.mark.parametrize("field", FIELDS)
def test_cpu_equals_opencl(field):
    dev = OPENCL[0]
    for shape in [2, 256, 1 << 14, (1 << 10, 4), (1 << 9, 16)]:
        x = rand_values(field, shape, seed=7)
        for inverse, order, coset in [(False, "nn", False), (True, "nn", False), (False, "nr", True),
                                      (True, "rn", True), (False, "rr", False)]:
            kw = dict(field=field, inverse=inverse, order=order, coset=coset)
            got = zk.ntt(x, device=dev, **kw)
            assert zc.devices()[zk.last_device].backend == "opencl"
            np.testing.assert_array_equal(got, zk.ntt(x, device="cpu", **kw))
    x = rand_values(field, (256, 3), seed=11)
    np.testing.assert_array_equal(zk.lde(x, 8, field=field, order="nr", device=dev),
                                  zk.lde(x, 8, field=field, order="nr", device="cpu"))
    a, b = rand_values(field, 700, seed=1), rand_values(field, 300, seed=2)
    for fn in (zk.poly_mul, zk.evaluate):
        np.testing.assert_array_equal(fn(a, b, field=field, device=dev), fn(a, b, field=field, device="cpu"))
    a[a == 0] = 1
    np.testing.assert_array_equal(zk.batch_inverse(a, field=field, device=dev),
                                  zk.batch_inverse(a, field=field, device="cpu"))


@pytest.fixture
def restore_simd():
    level = zk.simd()
    yield
    zk.set_simd(level)


@pytest.mark.skipif(zk.simd_best() != "avx2", reason="no AVX2 on this CPU")
def test_scalar_equals_avx2(restore_simd):
    for shape in [2, 4, 8, 1 << 13, 1 << 16, (1 << 12, 16), (1 << 10, 8), (1 << 11, 6), (1 << 15, 2)]:
        x = rand_values("babybear", shape, seed=13)
        for inverse, order, coset in [(False, "nn", False), (True, "nr", True), (False, "rn", True),
                                      (True, "rr", False)]:
            zk.set_simd("scalar")
            assert zk.simd() == "scalar"
            a = zk.ntt(x, inverse=inverse, order=order, coset=coset, device="cpu")
            zk.set_simd("avx2")
            b = zk.ntt(x, inverse=inverse, order=order, coset=coset, device="cpu")
            np.testing.assert_array_equal(a, b)
        zk.set_simd("scalar")
        a = zk.lde(x, 2, device="cpu")
        zk.set_simd("auto")
        np.testing.assert_array_equal(zk.lde(x, 2, device="cpu"), a)


def test_no_simd_environment_selects_scalar():
    code = "from zkclob import zk; print(zk.simd())"
    env = dict(os.environ, ZC_NO_SIMD="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "scalar"


def test_thread_count_does_not_change_results():
    x = rand_values("goldilocks", (1 << 14, 4), seed=4)
    zc.set_num_threads(1)
    one = zk.ntt(x, field="goldilocks", device="cpu")
    zc.set_num_threads(0)
    np.testing.assert_array_equal(zk.ntt(x, field="goldilocks", device="cpu"), one)


def test_results_are_zero_copy_and_inputs_untouched():
    x = rand_values("babybear", 1 << 10, seed=1)
    keep = x.copy()
    y = zk.ntt(x, device="cpu")
    assert isinstance(y.base, zc.Buffer)
    np.testing.assert_array_equal(x, keep)
    # non-contiguous inputs are accepted (copied once)
    z = rand_values("babybear", (1 << 10, 2), seed=2)
    np.testing.assert_array_equal(zk.ntt(z[:, 1], device="cpu"), zk.ntt(z[:, 1].copy(), device="cpu"))
    # lists of ints work too
    np.testing.assert_array_equal(zk.ntt([1, 2, 3, 4], device="cpu"), zk.ntt(np.arange(1, 5, dtype=np.uint32)))


# ---- properties ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(field=st.sampled_from(FIELDS), log=st.integers(0, 10), cols=st.integers(1, 5), order=st.sampled_from(ORDERS),
       coset=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_property_roundtrip(field, log, cols, order, coset, seed):
    x = rand_values(field, (1 << log, cols), seed)
    y = zk.ntt(x, field=field, order=order, coset=coset, device="cpu")
    np.testing.assert_array_equal(zk.intt(y, field=field, order=order[1] + order[0], coset=coset, device="cpu"), x)


@settings(max_examples=30, deadline=None)
@given(field=st.sampled_from(FIELDS), log=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_property_matches_naive_dft(field, log, seed):
    x = rand_values(field, 1 << log, seed)
    assert [int(v) for v in zk.ntt(x, field=field, device="cpu")] == [int(v) for v in naive_dft(x, field)]


@settings(max_examples=30, deadline=None)
@given(field=st.sampled_from(FIELDS), data=st.data())
def test_property_poly_mul(field, data):
    p = P[field]
    a = data.draw(st.lists(st.integers(0, p - 1), min_size=1, max_size=40))
    b = data.draw(st.lists(st.integers(0, p - 1), min_size=1, max_size=40))
    x = data.draw(st.integers(0, p - 1))
    c = zk.poly_mul(a, b, field=field, device="cpu")
    assert len(c) == len(a) + len(b) - 1
    assert horner(c, x, p) == horner(a, x, p) * horner(b, x, p) % p


# ---- bad input ----------------------------------------------------------------------------------------------


def test_bad_sizes():
    with pytest.raises(zc.InvalidArgumentError, match="power of two"):
        zk.ntt(np.zeros(3, np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="power of two"):
        zk.ntt(np.zeros((6, 2), np.uint64), field="goldilocks")
    with pytest.raises(zc.InvalidArgumentError, match="power of two"):
        zk.lde(np.zeros(12, np.uint32), 2)
    with pytest.raises(zc.InvalidArgumentError, match="2\\^24"):
        zk.ntt(np.zeros(1 << 25, np.uint32))  # beyond 2^24 (and calloc'd, never touched)
    with pytest.raises(zc.InvalidArgumentError, match="2\\^24"):
        zk.lde(np.zeros(1 << 22, np.uint32), 8)
    with pytest.raises(zc.InvalidArgumentError, match="two-adicity"):
        zk.two_adic_generator(28, "babybear")
    with pytest.raises(zc.InvalidArgumentError, match="two-adicity"):
        zk.two_adic_generator(33, "goldilocks")


@pytest.mark.parametrize("field", FIELDS)
def test_unreduced_values_are_rejected_not_reduced(field):
    p = P[field]
    x = np.zeros(16, DTYPE[field])
    x[11] = p
    for call in [lambda: zk.ntt(x, field=field), lambda: zk.lde(x, 2, field=field),
                 lambda: zk.evaluate(x, x[:2], field=field), lambda: zk.evaluate(x[:2], x, field=field),
                 lambda: zk.poly_mul(x, x[:3], field=field),
                 lambda: zk.batch_inverse(x + DTYPE[field](1), field=field)]:
        with pytest.raises(zc.InvalidArgumentError, match="element 11 is|element 12 is"):
            call()
    x[11] = np.iinfo(DTYPE[field]).max
    with pytest.raises(zc.InvalidArgumentError, match="not a canonical"):
        zk.ntt(x, field=field)
    with pytest.raises(zc.InvalidArgumentError, match="not a canonical"):
        zk.ntt([1, 2, 3, p], field=field)
    with pytest.raises(zc.InvalidArgumentError, match="not a canonical"):
        zk.ntt([1, 2, 3, -1], field=field)


def test_wrong_dtypes_and_shapes():
    with pytest.raises(zc.InvalidArgumentError, match="dtype uint32"):
        zk.ntt(np.arange(8, dtype=np.int64))
    with pytest.raises(zc.InvalidArgumentError, match="dtype uint32"):
        zk.ntt(np.arange(8, dtype=np.uint64))
    with pytest.raises(zc.InvalidArgumentError, match="dtype uint64"):
        zk.ntt(np.arange(8, dtype=np.uint32), field="goldilocks")
    with pytest.raises(zc.InvalidArgumentError, match="dtype uint32"):
        zk.ntt(np.arange(8, dtype=np.float64))
    with pytest.raises(zc.InvalidArgumentError, match="dimensions"):
        zk.ntt(np.zeros((2, 2, 2), np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="dimensions"):
        zk.ntt(np.uint32(3))
    with pytest.raises(zc.InvalidArgumentError, match="dimensions"):
        zk.poly_mul(np.zeros((2, 2), np.uint32), np.zeros(2, np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="integers"):
        zk.ntt([1.5, 2.0])
    with pytest.raises(zc.InvalidArgumentError, match="integers"):
        zk.ntt([True, False])
    with pytest.raises(zc.InvalidArgumentError, match="field must be"):
        zk.ntt(np.zeros(4, np.uint32), field="bn254")
    with pytest.raises(zc.InvalidArgumentError, match="order must be"):
        zk.ntt(np.zeros(4, np.uint32), order="natural")
    # the C layer checks on its own too
    with pytest.raises(zc.InvalidArgumentError, match="dtype"):
        zc._zkclob.ntt(np.zeros(4, np.int32), zc._zkclob.FIELD_BABYBEAR, False, 0, False, 0)
    with pytest.raises(zc.InvalidArgumentError, match="contiguous"):
        zc._zkclob.ntt(np.zeros(8, np.uint32)[::2], zc._zkclob.FIELD_BABYBEAR, False, 0, False, 0)


def test_empty_inputs():
    for call in [lambda: zk.ntt(np.zeros(0, np.uint32)), lambda: zk.ntt(np.zeros((4, 0), np.uint32)),
                 lambda: zk.ntt([]), lambda: zk.lde(np.zeros(0, np.uint32), 2),
                 lambda: zk.evaluate(np.zeros(0, np.uint32), np.ones(2, np.uint32)),
                 lambda: zk.evaluate(np.ones(2, np.uint32), np.zeros(0, np.uint32)),
                 lambda: zk.poly_mul(np.zeros(0, np.uint32), np.ones(2, np.uint32)),
                 lambda: zk.batch_inverse(np.zeros(0, np.uint64), field="goldilocks")]:
        with pytest.raises(zc.InvalidArgumentError, match="empty"):
            call()


def test_bad_blowup_and_zero_inverse():
    x = np.ones(8, np.uint32)
    for blowup in (1, 3, 16, True, 2.0, "2"):
        with pytest.raises(zc.InvalidArgumentError, match="blowup"):
            zk.lde(x, blowup)
    x[5] = 0
    with pytest.raises(zc.InvalidArgumentError, match="element 5 is zero"):
        zk.batch_inverse(x)
    with pytest.raises(zc.InvalidArgumentError, match="level"):
        zk.set_simd("avx512")
    with pytest.raises(zc.InvalidArgumentError, match="bits"):
        zk.two_adic_generator(-1)
