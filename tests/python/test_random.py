"""Philox on every executing backend: known answers, NumPy bit-compatibility,
cross-backend identity, zero copy, DLPack, and bad input."""

import gc
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from conftest import executing_devices

DEVICES = [d.spec for d in executing_devices()]


def test_opencl_executes_here():
    # PoCL provides two CPU devices in the test environment (POCL_DEVICES).
    assert sum(1 for d in zc.devices() if d.backend == "opencl" and d.available) >= 2


@pytest.mark.parametrize("device", DEVICES)
def test_random123_known_answers(vectors, device):
    for case in vectors("philox4x32_10.json")["cases"]:
        ctr = [int(w, 16) for w in case["ctr"]]
        key = [int(w, 16) for w in case["key"]]
        out = zc.random.philox(4, key=key, counter=ctr, variant="4x32", device=device)
        assert out.dtype == np.uint32
        assert [f"{w:08x}" for w in out] == case["out"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("key,counter", [(0, 0), (2024, 0), ([1, 2], [3, 4, 5, 6]),
                                         (2**128 - 1, 2**256 - 3),
                                         (12345, np.array([2**64 - 1, 2**64 - 1, 0, 0], dtype=np.uint64))])
def test_4x64_equals_numpy_philox(device, key, counter):
    n = 1003
    ours = zc.random.philox(n, key=key, counter=counter, device=device)
    ref = np.random.Philox(key=key, counter=counter).random_raw(n)
    assert ours.dtype == np.uint64
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("device", DEVICES)
def test_uniform_equals_numpy_generator_random(device):
    ours = zc.random.uniform(100_001, key=[7, 8], counter=99, device=device)
    ref = np.random.Generator(np.random.Philox(key=[7, 8], counter=99)).random(100_001)
    np.testing.assert_array_equal(ours, ref)
    assert ours.min() >= 0.0 and ours.max() < 1.0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 2000), key=st.integers(0, 2**128 - 1), counter=st.integers(0, 2**256 - 1))
def test_property_4x64_raw_equals_numpy(n, key, counter):
    np.testing.assert_array_equal(zc.random.philox(n, key=key, counter=counter, device="cpu"),
                                  np.random.Philox(key=key, counter=counter).random_raw(n))


@pytest.mark.parametrize("variant", ["4x32", "4x64"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 1000, 65537])
def test_backends_bit_identical(variant, n):
    key = 0x0123456789ABCDEF
    counter = 0xFEDCBA9876543210
    ref = {kind: fn(n, key=key, counter=counter, variant=variant, device="cpu")
           for kind, fn in [("raw", zc.random.philox), ("uniform", zc.random.uniform), ("normal", zc.random.normal)]}
    for device in DEVICES:
        np.testing.assert_array_equal(zc.random.philox(n, key=key, counter=counter, variant=variant, device=device),
                                      ref["raw"])
        np.testing.assert_array_equal(zc.random.uniform(n, key=key, counter=counter, variant=variant, device=device),
                                      ref["uniform"])
        # Box-Muller goes through log/cos/sin, whose last bits differ between libm and OpenCL builtins.
        np.testing.assert_allclose(zc.random.normal(n, key=key, counter=counter, variant=variant, device=device),
                                   ref["normal"], rtol=1e-12, atol=1e-12)


def test_prefix_and_offset_consistency():
    # A stream is fixed by (key, counter): a shorter request is a prefix, and
    # advancing the counter by one block skips four words.
    long = zc.random.philox(1000, key=5, counter=10, device="cpu")
    np.testing.assert_array_equal(zc.random.philox(37, key=5, counter=10, device="cpu"), long[:37])
    np.testing.assert_array_equal(zc.random.philox(996, key=5, counter=11, device="cpu"), long[4:])
    w32 = zc.random.philox(1000, key=5, counter=10, variant="4x32", device="cpu")
    np.testing.assert_array_equal(zc.random.philox(996, key=5, counter=11, variant="4x32", device="cpu"), w32[4:])


def test_uniform_4x32_transform_documented():
    words = zc.random.philox(8, key=3, variant="4x32", device="cpu").astype(np.uint64)
    w64 = words[0::2] | (words[1::2] << np.uint64(32))
    expect = (w64 >> np.uint64(11)).astype(np.float64) * 2.0**-53
    np.testing.assert_array_equal(zc.random.uniform(4, key=3, variant="4x32", device="cpu"), expect)


def test_normal_transform_documented():
    w = zc.random.philox(4, key=11, device="cpu")
    u1 = ((w[0] >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0**-53
    u2 = (w[1] >> np.uint64(11)).astype(np.float64) * 2.0**-53
    r = np.sqrt(-2.0 * np.log(u1))
    z = zc.random.normal(2, key=11, device="cpu")
    np.testing.assert_allclose(z, [r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], rtol=1e-14)


def test_normal_distribution():
    from scipy import stats

    for variant in ("4x32", "4x64"):
        z = zc.random.normal(400_000, key=77, variant=variant)
        assert abs(z.mean()) < 0.01
        assert abs(z.std() - 1) < 0.01
        assert stats.kstest(z, "norm").pvalue > 1e-3


def test_thread_count_does_not_change_results():
    n = 300_007
    zc.set_num_threads(1)
    one = zc.random.normal(n, key=9, device="cpu")
    zc.set_num_threads(0)
    many = zc.random.normal(n, key=9, device="cpu")
    np.testing.assert_array_equal(one, many)


def test_zero_copy_result_is_engine_memory():
    n = 4_000_000
    tracemalloc.start()
    try:
        a = zc.random.philox(n, key=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # NumPy reports its own data allocations to tracemalloc: a copy of 32 MB would show.
    assert peak < n * 8 // 10
    base = a.base
    assert isinstance(base, zc.Buffer)
    assert a.ctypes.data == base.address
    assert a.__array_interface__["data"][0] == base.address
    assert base.nbytes == n * 8
    assert base.__array_interface__["data"][0] == base.address
    view = np.asarray(memoryview(base))
    assert np.shares_memory(view, a)
    assert a.flags.writeable and a.flags.c_contiguous and not a.flags.owndata
    # The buffer outlives the array that created it, and writes are shared.
    del a
    gc.collect()
    view[0] = 42
    assert np.asarray(base)[0] == 42


def test_dlpack_export_without_copy():
    a = zc.random.uniform(1000, key=2)
    assert a.base.__dlpack_device__() == (1, 0)
    b = np.from_dlpack(a.base)
    assert b.ctypes.data == a.ctypes.data
    np.testing.assert_array_equal(a, b)
    w = zc.random.philox(10, variant="4x32")
    c = np.from_dlpack(w.base)
    assert c.dtype == np.uint32 and c.ctypes.data == w.ctypes.data
    with pytest.raises(zc.InvalidArgumentError):
        a.base.__dlpack__(stream=1)
    with pytest.raises(zc.InvalidArgumentError):
        a.base.__dlpack__(copy=True)


def test_dlpack_capsule_unconsumed_is_freed():
    a = zc.random.philox(100)
    for _ in range(1000):
        a.base.__dlpack__()  # dropped capsules release their reference


def test_empty_request():
    a = zc.random.philox(0)
    assert a.shape == (0,) and a.dtype == np.uint64


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=-1), "non-negative"),
    (dict(n=1.5), "integer"),
    (dict(n=True), "integer"),
    (dict(n=4, variant="2x64"), "variant"),
    (dict(n=4, key=-1), r"key must be in \[0, 2\*\*128\)"),
    (dict(n=4, key=2**128), "key"),
    (dict(n=4, key=2**64, variant="4x32"), r"2\*\*64"),
    (dict(n=4, counter=2**128, variant="4x32"), "counter"),
    (dict(n=4, key=[1, 2, 3]), "at most 2 words"),
    (dict(n=4, key=[2**32], variant="4x32"), "words must be in"),
    (dict(n=4, key="abc"), "integer"),
    (dict(n=4, key=1.0), "integer"),
])
def test_bad_arguments_raise_typed_errors(kwargs, match):
    with pytest.raises(zc.InvalidArgumentError, match=match) as info:
        zc.random.philox(**kwargs)
    assert isinstance(info.value, ValueError)


def test_unknown_device_raises():
    with pytest.raises(zc.InvalidArgumentError, match="unknown device"):
        zc.random.philox(4, device="tpu")
    with pytest.raises(zc.InvalidArgumentError, match="no device with id"):
        zc.random.philox(4, device=999)
    with pytest.raises(zc.InvalidArgumentError, match="device must be"):
        zc.random.philox(4, device=1.5)


def test_unavailable_backend_raises_unsupported():
    cuda = [d for d in zc.devices() if d.backend == "cuda"]
    if cuda and cuda[0].available:
        pytest.skip("a CUDA driver is present")
    with pytest.raises(zc.UnsupportedError, match="unavailable") as info:
        zc.random.philox(4, device="cuda")
    assert info.value.error_class == "unsupported"
    assert info.value.status == "ZC_ERR_BACKEND_UNAVAILABLE"


def test_huge_request_is_rejected_cleanly():
    with pytest.raises((zc.InvalidArgumentError, zc.OutOfMemoryError)):
        zc.random.philox(2**62)
