"""The cache of large result blocks behind engine arrays (zkclob.memory.array_cache_stats & co): a repeated
md.compute reuses the previous result's block once its last view is gone, never while a view lives; the limit,
trimming, statistics, the environment default and bad arguments."""

import os
import subprocess
import sys

import numpy as np
import pytest

import zkclob as zc
from zkclob import memory

MIB = 1 << 20
SPECS = [("sma", 5), ("macd", 12, 26, 9), ("bbands", 20, 2.0, 2.0)]  # 7 columns


@pytest.fixture
def cache():
    """A known limit and an empty cache; the previous limit is restored afterwards."""
    before = memory.array_cache_stats()["limit_bytes"]
    memory.set_array_cache_limit(256 * MIB)
    memory.trim_array_cache()
    yield
    memory.set_array_cache_limit(before)


def prices(nsym=4, n=40_000, seed=0):
    rng = np.random.default_rng(seed)
    return 100 + np.cumsum(rng.standard_normal((nsym, n)), axis=1)


def address(result):
    """Start of the engine block behind a compute() result (its first column is the block's start)."""
    return next(iter(result.values())).__array_interface__["data"][0]


def test_repeated_compute_reuses_the_block(cache):
    c = prices()  # 7 columns x 4 x 40,000 doubles: about 9 MiB of results
    first = zc.md.compute(SPECS, close=c)
    want = {k: v.copy() for k, v in first.items()}
    addr = address(first)
    s0 = memory.array_cache_stats()
    assert s0["in_use_blocks"] >= 1 and s0["cached_bytes"] == 0
    del first
    s1 = memory.array_cache_stats()
    assert s1["cached_blocks"] == 1 and s1["cached_bytes"] >= 7 * 4 * 40_000 * 8
    again = zc.md.compute(SPECS, close=c)
    s2 = memory.array_cache_stats()
    assert s2["hits"] == s1["hits"] + 1 and s2["cached_bytes"] == 0
    assert address(again) == addr
    for k in want:
        np.testing.assert_array_equal(again[k], want[k])
    g = memory.global_stats()
    assert g["array_cache_hits"] == s2["hits"] and g["array_cache_misses"] == s2["misses"]


def test_a_block_with_a_live_view_is_never_handed_out(cache):
    c = prices(seed=1)
    first = zc.md.compute(SPECS, close=c)
    view = first["macd(12,26,9).signal"][2, 1000:2000]  # keeps the whole block alive
    saved = view.copy()
    del first
    assert memory.array_cache_stats()["cached_bytes"] == 0
    second = zc.md.compute(SPECS, close=prices(seed=2))
    assert not any(np.shares_memory(view, v) for v in second.values())
    np.testing.assert_array_equal(view, saved)
    del second
    del view  # now the first block goes back too
    assert memory.array_cache_stats()["cached_blocks"] == 2


def test_limit_trim_and_off(cache):
    c = prices(seed=3)
    zc.md.compute(SPECS, close=c)
    zc.md.compute(SPECS, close=prices(nsym=8, seed=3))  # another size class
    s = memory.array_cache_stats()
    assert s["cached_blocks"] == 2
    released = memory.trim_array_cache(0)
    assert released == s["cached_bytes"]
    s2 = memory.array_cache_stats()
    assert s2["cached_bytes"] == 0 and s2["trimmed_bytes"] == s["trimmed_bytes"] + released
    memory.set_array_cache_limit(0)
    zc.md.compute(SPECS, close=c)
    assert memory.array_cache_stats()["cached_bytes"] == 0
    memory.set_array_cache_limit(12 * MIB)
    for k in range(4):
        zc.md.compute(SPECS, close=prices(nsym=4 + k, seed=k))
    s3 = memory.array_cache_stats()
    assert s3["limit_bytes"] == 12 * MIB and 0 < s3["cached_bytes"] <= 12 * MIB and s3["evictions"] > 0


def test_bad_arguments(cache):
    for bad in (-1, 2**64, 1.5, "1g", True, None):
        with pytest.raises(zc.InvalidArgumentError):
            memory.trim_array_cache(bad)
        with pytest.raises(zc.InvalidArgumentError):
            memory.set_array_cache_limit(bad)
    assert memory.array_cache_stats()["limit_bytes"] == 256 * MIB


@pytest.mark.parametrize("value,limit", [("5m", 5 * MIB), ("123456", 123456), ("0", 0), ("2G", 2 << 30),
                                         ("lots", None)])
def test_environment_default(value, limit):
    env = dict(os.environ, ZC_ARRAY_CACHE_BYTES=value, ZC_LOG_LEVEL="error")
    code = "import zkclob.memory as m; print(m.array_cache_stats()['limit_bytes'])"
    got = int(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                             text=True).stdout)
    if limit is None:  # ignored with a warning: the default, an eighth of physical memory
        pages = os.sysconf("SC_PHYS_PAGES")
        assert got == pages // 8 * os.sysconf("SC_PAGE_SIZE")
    else:
        assert got == limit
