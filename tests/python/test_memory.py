"""zkclob.MemoryPool: NumPy arrays over pool memory without copies, lifetime
(arrays keep the pool alive; blocks return when the last view dies), stats,
DLPack and the CUDA array interface, OpenCL unified memory, and bad input."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import zkclob as zc
from zkclob.memory import global_stats

ORDER_LIKE = np.dtype([("id", "<u8"), ("trader", "<u4"), ("symbol", "<u4"), ("side", "u1"), ("type", "u1"),
                       ("tif", "u1"), ("stp", "u1"), ("price", "<i8"), ("qty", "<i8"), ("ts", "<u8")])


def has_opencl():
    return any(d.backend == "opencl" and d.available for d in zc.devices())


def has_cuda():
    return any(d.backend == "cuda" and d.available for d in zc.devices())


def test_array_lives_in_pool_memory():
    pool = zc.MemoryPool()
    a = pool.empty((1000,), np.float64)
    block = a.base
    assert isinstance(block, zc._zkclob.Block)
    assert a.ctypes.data == block.address  # the array's data is the block, not a copy of it
    assert a.flags.c_contiguous and a.flags.writeable and not a.flags.owndata
    assert a.ctypes.data % 64 == 0
    a[:] = np.arange(1000)
    assert np.frombuffer(block, dtype=np.float64)[999] == 999.0  # the buffer protocol sees the same bytes
    assert block.__array_interface__["data"][0] == a.ctypes.data
    s = pool.stats()
    assert s["bytes_in_use"] >= 8000 and s["allocs"] == 1


def test_no_copy_according_to_tracemalloc():
    pool = zc.MemoryPool(chunk_bytes=1 << 20)
    n = 32 << 20
    tracemalloc.start()
    try:
        a = pool.zeros((n,), np.uint8)
        a[::4096] = 1
        pooled, _ = tracemalloc.get_traced_memory()
        b = np.zeros(n, np.uint8)  # NumPy's own allocation is traced: the check can see 32 MiB
        numpy_owned, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pooled < 1 << 20
    assert numpy_owned - pooled >= n
    assert int(a.sum()) == n // 4096
    del b


def test_views_keep_the_block_until_the_last_one_dies():
    pool = zc.MemoryPool()
    a = pool.empty((100, 10), np.int64)
    view = a[10:20, 3]
    flat = a.reshape(-1)
    del a
    gc.collect()
    assert pool.snapshot()["bytes_in_use"] > 0
    view[:] = 7
    assert (flat.reshape(100, 10)[10:20, 3] == 7).all()
    del view
    assert pool.snapshot()["bytes_in_use"] > 0
    del flat
    snap = pool.snapshot()
    assert snap["bytes_in_use"] == 0 and snap["frees"] == snap["allocs"] == 1


def test_array_keeps_its_pool_alive():
    before = global_stats()["pools"]
    pool = zc.MemoryPool(name="short-lived")
    a = pool.zeros((256,), np.uint32)
    inner = weakref.ref(pool._pool)
    del pool
    gc.collect()
    assert inner() is not None
    assert global_stats()["pools"] == before + 1
    a += 3
    assert int(a.sum()) == 768
    del a
    gc.collect()
    assert inner() is None
    assert global_stats()["pools"] == before


def test_zeros_dtypes_shapes_and_alignment():
    pool = zc.MemoryPool(alignment=256)
    dirty = pool.empty((64,), np.uint64)
    dirty[:] = 0xFFFFFFFFFFFFFFFF
    del dirty
    z = pool.zeros((8, 8), np.uint64)  # likely the same block again
    assert (z == 0).all() and z.shape == (8, 8)
    assert z.ctypes.data % 256 == 0
    orders = pool.zeros(10, ORDER_LIKE)
    assert orders.dtype == ORDER_LIKE and orders.shape == (10,)
    orders["price"] = np.arange(10) * 100
    assert orders[9]["price"] == 900
    scalar = pool.empty((), np.float32)
    assert scalar.shape == () and scalar.size == 1
    empty = pool.empty((0, 5), np.float64)
    assert empty.size == 0 and isinstance(empty.base, zc._zkclob.Block)


def test_typed_pools():
    orders = zc.MemoryPool(type="orders")
    rec = orders.zeros(1, ORDER_LIKE)  # 44 bytes in a 64-byte slot
    assert rec.ctypes.data % 64 == 0
    with pytest.raises(zc.InvalidArgumentError, match="64-byte slots"):
        orders.empty(2, ORDER_LIKE)  # 88 bytes do not fit a slot
    ring = zc.MemoryPool(type="md_ring", object_size=3000)
    buf = ring.empty(4096, np.uint8)  # rounded up to a power of two
    assert buf.nbytes == 4096
    vec = zc.MemoryPool(type="field_vectors").empty(1 << 12, np.uint32)
    assert vec.ctypes.data % 64 == 0
    assert orders.type == "orders" and ring.type == "md_ring"


def test_stats_dict():
    pool = zc.MemoryPool(name="stats")
    arrays = [pool.empty((n,), np.uint8) for n in (10, 100, 1000, 10_000, 300_000)]
    s = pool.stats()
    for key in ("bytes_in_use", "peak_bytes", "reserved_bytes", "allocs", "frees", "failures", "double_frees",
                "invalid_frees", "free_bytes", "largest_free_block", "fragmentation", "classes", "large_allocs"):
        assert key in s
    assert s["allocs"] == 5 and s["frees"] == 0 and s["large_allocs"] == 1
    assert s["peak_bytes"] >= s["bytes_in_use"] >= 311_110
    assert 0.0 <= s["fragmentation"] <= 1.0
    used = [c for c in s["classes"] if c["in_use"]]
    assert len(used) == 4 and all(c["block_bytes"] % 64 == 0 for c in used)
    del arrays
    s = pool.stats()
    assert s["bytes_in_use"] == 0 and s["frees"] == 5
    g = global_stats()
    assert g["pools"] >= 1 and g["allocs"] >= 5
    assert set(pool.snapshot()) <= set(s)


def test_dlpack_without_copy():
    pool = zc.MemoryPool()
    a = pool.empty((3, 4), np.int32)
    a[:] = np.arange(12).reshape(3, 4)
    assert a.base.__dlpack_device__() == (1, 0)  # kDLCPU
    b = np.from_dlpack(a.base)
    assert b.ctypes.data == a.ctypes.data
    np.testing.assert_array_equal(a, b)
    del a
    gc.collect()
    assert pool.snapshot()["bytes_in_use"] > 0  # the capsule keeps the block alive
    assert b[2, 3] == 11
    del b
    assert pool.snapshot()["bytes_in_use"] == 0
    rec = pool.empty(3, ORDER_LIKE)
    with pytest.raises(zc.InvalidArgumentError, match="DLPack"):
        rec.base.__dlpack__()


def test_cuda_interfaces_need_cuda_memory():
    host = zc.MemoryPool().empty(4, np.float32)
    assert not hasattr(host.base, "__cuda_array_interface__")
    with pytest.raises(AttributeError, match="not CUDA memory"):
        host.base.__cuda_array_interface__
    with pytest.raises(zc.UnsupportedError, match="only real on CUDA"):
        zc.MemoryPool(kind="device", device="cpu")
    if has_opencl():
        with pytest.raises(zc.UnsupportedError, match="only real on CUDA"):
            zc.MemoryPool(kind="device", device="opencl")


@pytest.mark.skipif(not has_cuda(), reason="needs a CUDA device")
def test_cuda_device_memory_interfaces():
    pool = zc.MemoryPool(kind="device", device="cuda")
    block = pool.zeros((16, 16), np.float32)
    assert isinstance(block, zc._zkclob.Block)
    cai = block.__cuda_array_interface__
    assert cai["shape"] == (16, 16) and cai["typestr"] == "<f4" and cai["data"][0] == block.address
    assert block.__dlpack_device__()[0] == 2  # kDLCUDA
    with pytest.raises(AttributeError):
        block.__array_interface__
    managed = zc.MemoryPool(kind="unified", device="cuda").zeros(8, np.int64)
    assert managed.base.__cuda_array_interface__["data"][0] == managed.ctypes.data
    assert managed.base.__dlpack_device__()[0] == 13  # kDLCUDAManaged


@pytest.mark.skipif(not has_opencl(), reason="needs an OpenCL device")
@pytest.mark.parametrize("kind", ["unified", "pinned"])
def test_opencl_shared_memory_without_copy(kind):
    pool = zc.MemoryPool(kind=kind, device="opencl", chunk_bytes=256 << 10)
    assert pool.kind == kind and pool.host_accessible
    a = pool.empty((1000,), np.float64)
    a[:] = 1.5
    assert a.ctypes.data == a.base.address and a.sum() == 1500.0
    assert pool.stats()["reserved_bytes"] >= 256 << 10
    del a
    assert pool.snapshot()["bytes_in_use"] == 0
    del pool  # before the fixture re-initialises the OpenCL backend


def test_secure_pool_hands_out_zeroed_memory():
    pool = zc.MemoryPool(secure=True)
    a = pool.empty(512, np.uint8)
    assert not a.any()
    a[:] = 0xAB
    del a
    b = pool.empty(512, np.uint8)  # the same slot, wiped on free
    assert not b.any()


def test_bad_input_raises_typed_errors():
    with pytest.raises(zc.InvalidArgumentError, match="kind"):
        zc.MemoryPool(kind="gpu")
    with pytest.raises(zc.InvalidArgumentError, match="type"):
        zc.MemoryPool(type="bids")
    with pytest.raises(zc.InvalidArgumentError, match="power of two"):
        zc.MemoryPool(alignment=48)
    with pytest.raises(zc.InvalidArgumentError, match="non-negative"):
        zc.MemoryPool(max_bytes=-1)
    with pytest.raises(zc.InvalidArgumentError):
        zc.MemoryPool(device="nonsense")
    with pytest.raises(zc.InvalidArgumentError, match="object_size"):
        zc.MemoryPool(object_size=64)
    pool = zc.MemoryPool(max_bytes=2 << 20, name="capped")
    with pytest.raises(zc.InvalidArgumentError, match="non-negative"):
        pool.empty((-1, 3))
    with pytest.raises(zc.InvalidArgumentError, match="shape"):
        pool.empty("big")
    with pytest.raises(zc.InvalidArgumentError, match="exceeds the limit"):
        pool.empty(3 << 20, np.uint8)
    with pytest.raises(zc.InvalidArgumentError, match="object"):
        pool.empty(4, object)
    keep = pool.empty(1536 << 10, np.uint8)
    with pytest.raises(zc.OutOfMemoryError, match="max_bytes"):
        pool.empty(1 << 20, np.uint8)
    s = pool.stats()
    assert s["failures"] == 2 and s["bad_requests"] == 1
    del keep
