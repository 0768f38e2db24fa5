"""Technical indicators against TA-Lib (the reference C library in the TA-Lib wheel): random walks at
several price levels, data with gaps (NaN/inf) and constant stretches; cpu == opencl; streaming == batch;
bad input."""

import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from conftest import executing_devices

talib = pytest.importorskip("talib")

OPENCL = [d.spec for d in executing_devices() if d.backend == "opencl"]


def walk(rng, nsym, n, level=100.0, flat=False, zero_volume=False):
    """OHLCV random walks; `flat` adds constant stretches (h == l == c), `zero_volume` dead stretches."""
    c = level + np.cumsum(rng.standard_normal((nsym, n)), axis=1) * level * 0.01
    c = np.abs(c) + level * 0.01
    h = c + np.abs(rng.standard_normal((nsym, n))) * level * 0.005
    lo = c - np.abs(rng.standard_normal((nsym, n))) * level * 0.005
    v = np.abs(rng.standard_normal((nsym, n))) * 1000 + 1
    if flat:
        for a in range(n // 7, n, n // 3):
            for arr in (h, lo, c):
                arr[:, a:a + n // 6] = c[:, a:a + 1]
    if zero_volume:
        v[:, n // 5:n // 5 + 40] = 0.0
    return dict(high=h, low=lo, close=c, volume=v)


# name: (zkclob call, TA-Lib call, inputs, parameter sets)
CASES = {
    "sma": (zc.md.sma, talib.SMA, "c", [(1,), (2,), (20,)]),
    "ema": (zc.md.ema, talib.EMA, "c", [(1,), (2,), (20,)]),
    "wma": (zc.md.wma, talib.WMA, "c", [(1,), (3,), (20,)]),
    "dema": (zc.md.dema, talib.DEMA, "c", [(1,), (2,), (15,)]),
    "tema": (zc.md.tema, talib.TEMA, "c", [(1,), (2,), (10,)]),
    "rsi": (zc.md.rsi, talib.RSI, "c", [(2,), (14,)]),
    "macd": (zc.md.macd, talib.MACD, "c", [(12, 26, 9), (26, 12, 9), (2, 3, 1)]),
    "bbands": (zc.md.bbands, lambda c, n, u, d: talib.BBANDS(c, n, u, d, 0), "c", [(20, 2.0, 2.0), (5, 1.5, 2.5)]),
    "atr": (zc.md.atr, talib.ATR, "hlc", [(1,), (14,)]),
    "stoch": (zc.md.stoch, lambda h, l, c, a, b, d: talib.STOCH(h, l, c, a, b, 0, d, 0), "hlc",
              [(5, 3, 3), (14, 1, 1), (1, 2, 4)]),
    "willr": (zc.md.willr, talib.WILLR, "hlc", [(2,), (14,)]),
    "cci": (zc.md.cci, talib.CCI, "hlc", [(2,), (20,)]),
    "adx": (zc.md.adx, talib.ADX, "hlc", [(2,), (14,)]),
    "mfi": (zc.md.mfi, talib.MFI, "hlcv", [(2,), (14,)]),
    "obv": (zc.md.obv, talib.OBV, "cv", [()]),
    "vwap": (zc.md.vwap, lambda h, l, c, v, n: talib.VWAP(h, l, c, v) if n == 0 else
             talib.VWMA(talib.TYPPRICE(h, l, c), v, n), "hlcv", [(0,), (1,), (20,)]),
    "stddev": (zc.md.stddev, talib.STDDEV, "c", [(2, 1.0), (20, 2.5)]),
    "zscore": (zc.md.zscore, None, "c", [(2,), (20,)]),
}
NAMES = {"h": "high", "l": "low", "c": "close", "v": "volume"}


def zscore_ref(c, n):
    """(close - TA-Lib SMA) / TA-Lib STDDEV, 0 where the deviation is 0."""
    m, s = talib.SMA(c, n), talib.STDDEV(c, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(s != 0, (c - m) / s, 0.0)
    z[np.isnan(s)] = np.nan
    return z


def ta_one(name, row_inputs, params):
    _, ref, _, _ = CASES[name]
    if name == "zscore":
        out = zscore_ref(row_inputs[0], *params)
    else:
        out = ref(*row_inputs, *params)
    return out if isinstance(out, tuple) else (out,)


def reference(name, data, params):
    """TA-Lib per symbol and per gap-free run (the documented gap rule); tuple of (nsym, n) arrays."""
    letters = CASES[name][2]
    ins = [data[NAMES[k]] for k in letters]
    nsym, n = ins[0].shape
    outs = None
    for s in range(nsym):
        rows = [a[s] for a in ins]
        ok = np.logical_and.reduce([np.isfinite(r) for r in rows])
        t = 0
        while t < n:
            if not ok[t]:
                t += 1
                continue
            e = t
            while e < n and ok[e]:
                e += 1
            res = ta_one(name, [r[t:e] for r in rows], params)
            if outs is None:
                outs = [np.full((nsym, n), np.nan) for _ in res]
            for q, r in enumerate(res):
                outs[q][s, t:e] = r
            t = e
    if outs is None:
        nout = len(ta_one(name, [np.ones(50)] * len(letters), params))
        outs = [np.full((nsym, n), np.nan) for _ in range(nout)]
    return tuple(outs)


def ours(name, data, params, device="cpu"):
    fn, _, letters, _ = CASES[name]
    res = fn(*[data[NAMES[k]] for k in letters], *params, device=device)
    return res if isinstance(res, tuple) else (res,)


def assert_matches(got, want, what):
    """Same NaN positions; 1e-10 relative, with the floor 1e-10 * max|want| for values that are
    differences near zero (MACD histogram, z-score)."""
    for q, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=f"{what}[{q}] NaN positions")
        m = ~np.isnan(w)
        if m.any():
            scale = np.abs(w[m]).max()
            np.testing.assert_allclose(g[m], w[m], rtol=1e-10, atol=1e-10 * scale, err_msg=f"{what}[{q}]")


ALL = [(name, p) for name, case in CASES.items() for p in case[3]]


@pytest.mark.parametrize("name,params", ALL)
@pytest.mark.parametrize("level", [100.0, 0.001, 5e4])
def test_random_walk_matches_talib(name, params, level):
    # 5 symbols: one group of 4 runs the cpu's 4-lane vector path, the fifth the scalar one.
    data = walk(np.random.default_rng(zlib.crc32(repr((name, params, level)).encode())), 5, 1500, level)
    assert_matches(ours(name, data, params), reference(name, data, params), f"{name}{params}")


@pytest.mark.parametrize("name,params", ALL)
def test_constant_stretches_match_talib(name, params):
    data = walk(np.random.default_rng(11), 2, 1500, 250.0, flat=True)
    assert_matches(ours(name, data, params), reference(name, data, params), f"{name}{params}")


@pytest.mark.parametrize("name,params", ALL)
def test_gaps_restart_like_talib_on_each_run(name, params):
    rng = np.random.default_rng(5)
    data = walk(rng, 3, 1200, 80.0, flat=True)
    data["close"][0, :7] = np.nan                # leading gap
    data["close"][1, 300:305] = np.nan           # interior gap
    data["high"][2, 600] = np.inf                # read only by h/l/c indicators
    data["volume"][2, 900] = np.nan              # read only by volume indicators
    got = ours(name, data, params)
    assert_matches(got, reference(name, data, params), f"{name}{params}")
    assert np.isnan(got[0][1, 300:305]).all()


def test_vwap_zero_volume_window_is_nan():
    """The one documented deviation: the reference wheel reports rounding residue there."""
    data = walk(np.random.default_rng(3), 1, 600, 100.0, zero_volume=True)
    n = 10
    got = zc.md.vwap(data["high"], data["low"], data["close"], data["volume"], n)[0]
    v = data["volume"][0]
    dead = np.array([t >= n - 1 and (v[t - n + 1:t + 1] == 0).all() for t in range(v.size)])
    assert dead.sum() > 20 and np.isnan(got[dead]).all()
    ref = reference("vwap", data, (n,))[0][0]
    live = ~dead & ~np.isnan(ref)
    np.testing.assert_allclose(got[live], ref[live], rtol=1e-10)


def test_bitwise_equal_to_talib_on_finite_data():
    """Beyond the 1e-10 contract: the same operations give the same bits as the reference wheel."""
    data = walk(np.random.default_rng(8), 5, 2000, 100.0, flat=True)
    for name, params in ALL:
        if name == "zscore":
            continue
        for g, w in zip(ours(name, data, params), reference(name, data, params)):
            np.testing.assert_array_equal(g, w, err_msg=f"{name}{params}")


@pytest.mark.parametrize("device", OPENCL)
@pytest.mark.parametrize("name,params", ALL)
def test_opencl_equals_cpu_bitwise(device, name, params):
    rng = np.random.default_rng(2)
    data = walk(rng, 5, 700, 120.0, flat=True, zero_volume=True)
    data["close"][3, 100:103] = np.nan
    for g, w in zip(ours(name, data, params, device=device), ours(name, data, params, device="cpu")):
        np.testing.assert_array_equal(g, w)


STREAM_SPECS = [("sma", 20), ("ema", 10), ("wma", 7), ("dema", 5), ("tema", 4), ("rsi", 14), ("macd", 12, 26, 9),
                ("bbands", 20, 2.0, 1.5), ("atr", 14), ("stoch", 5, 3, 3), ("willr", 14), ("cci", 20), ("adx", 14),
                ("mfi", 14), "obv", ("vwap", 20), ("vwap", 0), ("stddev", 10, 2.0), ("zscore", 15)]


def batch_columns(data, specs):
    cols = []
    for spec in specs:
        spec = (spec,) if isinstance(spec, str) else spec
        name, args = spec[0], spec[1:] or zc.md._DEFAULTS[spec[0]]
        full = tuple(args) + zc.md._DEFAULTS[name][len(args):]
        cols += list(ours(name, data, full))
    return cols


def test_streaming_bars_equal_batch():
    rng = np.random.default_rng(9)
    data = walk(rng, 4, 1300, 90.0, flat=True, zero_volume=True)
    data["close"][1, 200:210] = np.nan
    s = zc.md.Streaming(4, STREAM_SPECS)
    parts, t = [], 0
    while t < 1300:
        k = int(rng.integers(1, 150))
        chunk = {key: a[:, t:t + k] for key, a in data.items()}
        if k == 1:
            chunk = {key: a[:, 0] for key, a in chunk.items()}
        out = s.update(**chunk)
        parts.append(np.stack([o.reshape(4, -1) for o in out.values()]))
        t += k
    got = np.concatenate(parts, axis=2)
    want = np.stack(batch_columns(data, STREAM_SPECS))
    assert len(s.columns) == want.shape[0]
    # Bit for bit (the contract is 1e-12 relative).
    np.testing.assert_array_equal(got, want)


def test_streaming_ticks_interleaved_equal_batch():
    rng = np.random.default_rng(10)
    nsym, n = 5, 800
    data = walk(rng, nsym, n, 50.0, flat=True)
    order = rng.permutation(np.repeat(np.arange(nsym), n))
    idx = np.zeros(order.size, dtype=int)
    seen = np.zeros(nsym, dtype=int)
    for i, s_ in enumerate(order):
        idx[i] = seen[s_]
        seen[s_] += 1
    s = zc.md.Streaming(nsym, STREAM_SPECS)
    got = []
    for a, b in [(0, 1), (1, 1000), (1000, order.size)]:
        ticks = {key: arr[order[a:b], idx[a:b]] for key, arr in data.items()}
        out = s.update_ticks(order[a:b], **ticks)
        got.append(np.stack(list(out.values()), axis=1))
    want = np.stack(batch_columns(data, STREAM_SPECS))[:, order, idx].T
    np.testing.assert_array_equal(np.concatenate(got), want)
    s.reset()
    again = s.update_ticks(order[:50], **{key: arr[order[:50], idx[:50]] for key, arr in data.items()})
    np.testing.assert_array_equal(np.stack(list(again.values()), axis=1), want[:50])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(CASES)), n=st.integers(1, 120),
       nan_rate=st.sampled_from([0.0, 0.02, 0.2]), period=st.integers(2, 12))
def test_property_matches_talib_with_random_gaps(seed, name, n, nan_rate, period):
    rng = np.random.default_rng(seed)
    data = walk(rng, 2, n, float(rng.choice([0.01, 1.0, 1e3])))
    for key in data:
        data[key][rng.random((2, n)) < nan_rate / 4] = np.nan
    params = {"macd": (period, period + 3, max(period - 2, 1)), "stoch": (period, 3, 2),
              "bbands": (period, 2.0, 1.0), "stddev": (period, 1.0), "obv": ()}.get(name, (period,))
    assert_matches(ours(name, data, params), reference(name, data, params), f"{name}{params}")


def test_results_are_engine_memory_without_copy():
    x = walk(np.random.default_rng(1), 2, 100)["close"]
    out = zc.md.sma(x, 5)
    assert isinstance(out.base, zc.Buffer)
    assert out.shape == (2, 100) and out.dtype == np.float64
    assert zc.md.sma(x[0], 5).shape == (100,)
    assert zc.md.lookback("macd", 12, 26, 9) == 33 == np.isnan(zc.md.macd(x[0])[0]).sum()


def test_integer_and_float32_inputs_are_converted():
    x = np.arange(1, 60, dtype=np.int64)
    np.testing.assert_array_equal(zc.md.ema(x, 5), talib.EMA(x.astype(float), 5))
    np.testing.assert_array_equal(zc.md.ema(x.astype(np.float32), 5), talib.EMA(x.astype(float), 5))


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.ones(4, dtype=complex), np.ones((2, 2, 2)),
                                 np.array([object(), object()]), np.ones(3, dtype=[("a", "f8")])])
def test_bad_arrays_raise(bad):
    with pytest.raises(zc.InvalidArgumentError):
        zc.md.sma(bad, 2)


def test_bad_parameters_and_shapes_raise():
    x = np.ones((2, 50))
    with pytest.raises(zc.InvalidArgumentError):
        zc.md.sma(x, 0)
    with pytest.raises(zc.InvalidArgumentError):
        zc.md.rsi(x, 1)
    with pytest.raises(zc.InvalidArgumentError):
        zc.md.sma(x, 100001)
    with pytest.raises(zc.InvalidArgumentError):
        zc.md.sma(x, 2.5)
    with pytest.raises(zc.InvalidArgumentError):
        zc.md.atr(x, np.ones((2, 49)), x, 3)
    with pytest.raises(zc.InvalidArgumentError, match="negative"):
        zc.md.obv(x, -x)
    with pytest.raises(zc.InvalidArgumentError):
        zc.md.bbands(x, 5, np.nan, 2.0)
    with pytest.raises(zc.InvalidArgumentError):
        zc.md.Streaming(2, [("nope", 3)])
    s = zc.md.Streaming(2, ["obv"])
    with pytest.raises(zc.InvalidArgumentError):
        s.update(close=np.ones(3), volume=np.ones(3))
    with pytest.raises(zc.InvalidArgumentError, match="volume"):
        s.update(close=np.ones(2))
    with pytest.raises(zc.InvalidArgumentError):
        s.update_ticks(np.array([0, 2]), close=np.ones(2), volume=np.ones(2))
    with pytest.raises(zc.InvalidArgumentError, match="negative"):
        s.update(close=np.ones(2), volume=-np.ones(2))


@pytest.mark.parametrize("device", ["cpu"] + OPENCL)
def test_compute_several_equals_single_indicators(device):
    data = walk(np.random.default_rng(13), 6, 600, 70.0, flat=True)
    data["close"][2, 40:44] = np.nan
    got = zc.md.compute(STREAM_SPECS, device=device, **data)
    want = batch_columns(data, STREAM_SPECS)
    assert len(got) == len(want)
    for g, w in zip(got.values(), want):
        np.testing.assert_array_equal(g, w)
    one = zc.md.compute(["rsi", ("sma", 5)], close=data["close"][0])
    assert one["sma(5)"].shape == (600,)
    with pytest.raises(zc.InvalidArgumentError, match="volume"):
        zc.md.compute(["obv"], close=data["close"])


VECTOR_SPECS = [("sma", 20), ("ema", 20), ("ema", 1), ("rsi", 14), ("rsi", 2), ("macd", 12, 26, 9), ("macd", 26, 12, 9),
                ("macd", 2, 3, 1), ("bbands", 20, 2.0, 2.0), ("bbands", 5, 1.5, 2.5), ("atr", 14), ("atr", 1),
                ("stoch", 5, 3, 3), ("stoch", 1, 2, 4), ("stoch", 14, 1, 1), ("adx", 14), ("adx", 2), ("cci", 14),
                ("cci", 2), ("cci", 3), ("cci", 64), ("cci", 65), "obv", ("stddev", 2, 1.0), ("stddev", 20, 2.5),
                ("zscore", 15)]


def compute_equals_scalar(specs, data):
    """compute() through the vector path, checked bit for bit against the scalar lanes; returns its result."""
    try:
        zc.zk.set_simd("scalar")
        want = zc.md.compute(specs, device="cpu", **data)
    finally:
        zc.zk.set_simd("auto")
    got = zc.md.compute(specs, device="cpu", **data)
    for key in want:
        np.testing.assert_array_equal(got[key].view(np.int64), want[key].view(np.int64), err_msg=key)
    return got


@pytest.mark.parametrize("level", [100.0, 0.001, 5e4])
def test_vector_path_is_bitwise_talib_and_scalar(level):
    """compute() runs gap-free groups of 4 symbols in AVX2 lock step (when the CPU has it): bit for bit what the
    scalar path and TA-Lib give, with flat stretches (re-anchored variances, flat STOCH/CCI windows), a gap in one
    group (scalar fallback), a symbol count and bar count that are not multiples of 4 or of the bar tile."""
    data = walk(np.random.default_rng(int(level * 1000) % 2**32), 9, 1037, level)
    flat = walk(np.random.default_rng(4), 4, 1037, level, flat=True)
    for key in data:
        data[key][:4] = flat[key]
    data["close"][5, 100] = np.nan
    got = compute_equals_scalar(VECTOR_SPECS, data)
    ref = []
    for spec in VECTOR_SPECS:
        spec = (spec,) if isinstance(spec, str) else spec
        if spec[0] != "zscore":
            ref += list(reference(spec[0], data, spec[1:]))
    cols = [g for k, g in got.items() if not k.startswith("zscore")]
    for g, w, key in zip(cols, ref, [k for k in got if not k.startswith("zscore")]):
        np.testing.assert_array_equal(g, w, err_msg=key)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 420), period=st.integers(2, 70), a=st.integers(1, 6),
       b=st.integers(1, 6), flat=st.booleans())
def test_property_vector_path_equals_scalar(seed, n, period, a, b, flat):
    """Random periods and lengths through the AVX2 path's seeding, its steady-state loops (tiles of 16 bars and
    more), CCI's blocks of bars and the tile boundaries: the same bits as the scalar path."""
    data = walk(np.random.default_rng(seed), 5, n, 50.0, flat=flat and n >= 42)
    specs = [("sma", period), ("ema", period), ("rsi", period), ("macd", period, period + a, b),
             ("bbands", period, 2.0, 1.5), ("atr", period), ("stoch", period, a, b), ("adx", period), ("cci", period),
             "obv"]
    compute_equals_scalar(specs, data)


def test_compute_into_caller_buffer():
    data = walk(np.random.default_rng(14), 6, 300, 40.0)
    specs = [("sma", 5), ("macd", 12, 26, 9), ("stoch", 5, 3, 3), "obv"]
    want = zc.md.compute(specs, **data)
    out = np.full((len(want), 6, 300), 7.0)
    for _ in range(2):  # reused: same results, views of the caller's array
        got = zc.md.compute(specs, out=out, **data)
        for (k, g), w in zip(got.items(), want.values()):
            np.testing.assert_array_equal(g, w, err_msg=k)
            assert np.shares_memory(g, out)
    one = np.empty((1, 300))
    got = zc.md.compute([("ema", 9)], close=data["close"][2], out=one)
    np.testing.assert_array_equal(one[0], zc.md.ema(data["close"][2], 9))
    assert got["ema(9)"].shape == (300,)
    bad = [np.empty((len(want), 6, 299)), np.empty((len(want), 6, 300), np.float32),
           np.empty((len(want), 300, 6)).transpose(0, 2, 1), np.empty((len(want) - 1, 6, 300)), [[0.0]]]
    ro = np.empty((len(want), 6, 300))
    ro.flags.writeable = False
    for b in bad + [ro]:
        with pytest.raises(zc.InvalidArgumentError):
            zc.md.compute(specs, out=b, **data)
    alias = np.empty((len(want), 6, 300))
    alias[0] = data["close"]
    with pytest.raises(zc.InvalidArgumentError, match="overlap"):
        zc.md.compute([("sma", 5)], close=alias[0], out=alias[:1])
