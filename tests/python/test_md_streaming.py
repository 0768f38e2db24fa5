"""Streaming indicators on the vector path: groups of 4 gap-free symbols advance in AVX2 lock step between calls
and fall back to the scalar state machines (exporting their state) on a gap, on ticks or when SIMD is switched off;
results stay bit for bit those of the batch computation. Also update(out=), strided inputs and bad input."""

import numpy as np
import pytest

import zkclob as zc
from test_md_indicators import VECTOR_SPECS, batch_columns, walk

SPECS = VECTOR_SPECS


def batch(data, specs=SPECS):
    try:
        zc.zk.set_simd("scalar")
        return np.stack([c.reshape(c.shape[0], -1) for c in batch_columns(data, specs)])
    finally:
        zc.zk.set_simd("auto")


def bits(a):
    return np.ascontiguousarray(a).view(np.int64)


@pytest.mark.parametrize("scenario", ["gap", "ticks", "simd_off"])
def test_vector_groups_equal_batch(scenario):
    """13 symbols (three groups of 4 and a lone one), one bar per call, then chunks. "gap": a NaN in one symbol of
    the second group after it went vector (that group falls back, the others stay in lock step); "ticks": one bar
    for every symbol through update_ticks in a shuffled order; "simd_off": SIMD switched off for a while. Every
    output equals the batch computation bit for bit."""
    rng = np.random.default_rng(21)
    nsym, n = 13, 600
    data = walk(rng, nsym, n, 80.0, flat=True)
    if scenario == "gap":
        data["high"][6, 260] = np.nan
    want = batch(data)
    s = zc.md.Streaming(nsym, SPECS)
    got = np.full_like(want, -1.0)
    t = 0

    def bars(k):
        nonlocal t
        chunk = {key: a[:, t:t + k] for key, a in data.items()}
        if k == 1:
            chunk = {key: a[:, 0] for key, a in chunk.items()}
        out = s.update(**chunk)
        got[:, :, t:t + k] = np.stack([o.reshape(nsym, -1) for o in out.values()])
        t += k

    for _ in range(150):
        bars(1)
    if scenario == "gap":
        bars(130)  # crosses the gap at 260
    elif scenario == "ticks":
        syms = rng.permutation(nsym)
        out = s.update_ticks(syms, **{key: a[syms, t] for key, a in data.items()})
        got[:, syms, t] = np.stack(list(out.values()))
        t += 1
    else:
        zc.zk.set_simd("scalar")
        try:
            for _ in range(40):
                bars(1)
        finally:
            zc.zk.set_simd("auto")
    for _ in range(20):
        bars(1)
    while t < n:
        bars(min(int(rng.integers(1, 60)), n - t))
    np.testing.assert_array_equal(bits(got), bits(want))
    # A reset starts over, in lock step again.
    s.reset()
    first = s.update(**{key: a[:, :50] for key, a in data.items()})
    np.testing.assert_array_equal(bits(np.stack(list(first.values()))), bits(want[:, :, :50]))


def test_one_bar_calls_with_out_and_strided_inputs():
    rng = np.random.default_rng(22)
    nsym, n = 12, 200
    data = walk(rng, nsym, n, 30.0)
    data["close"][3, 120] = np.inf
    want = batch(data)
    s = zc.md.Streaming(nsym, SPECS)
    out = np.empty((len(s.columns), nsym))
    first = None
    for t in range(n):
        # Columns of the (nsym, n) history: strided views, gathered by the extension.
        res = s.update(out=out, **{key: a[:, t] for key, a in data.items()})
        if first is None:
            first = res
        assert res is first  # the same dict of views of out
        assert all(np.shares_memory(v, out) for v in res.values())
        np.testing.assert_array_equal(bits(out), bits(want[:, :, t]))
    # Lists and other dtypes are converted; the result is a fresh array.
    s2 = zc.md.Streaming(2, [("sma", 3), "obv"])
    for t in range(5):
        r = s2.update(close=[1.0 + t, 2.0], volume=np.array([1, 2], np.int32))
    assert r["sma(3)"].tolist() == [4.0, 2.0] and r["obv()"].tolist() == [5.0, 2.0]


def test_update_out_and_inputs_are_checked_and_leave_state_unchanged():
    rng = np.random.default_rng(23)
    data = walk(rng, 4, 30, 10.0)
    s = zc.md.Streaming(4, [("sma", 5), ("macd", 3, 6, 2), "obv"])
    ref = zc.md.Streaming(4, [("sma", 5), ("macd", 3, 6, 2), "obv"])
    cols = len(s.columns)
    one = {key: a[:, 0] for key, a in data.items()}
    ro = np.empty((cols, 4))
    ro.flags.writeable = False
    bad_outs = [np.empty((cols, 5)), np.empty((cols - 1, 4)), np.empty((cols, 4), np.float32),
                np.empty((4, cols)).T, np.empty((cols, 4, 1)), ro, [[0.0] * 4] * cols]
    for bad in bad_outs:
        with pytest.raises(zc.InvalidArgumentError):
            s.update(out=bad, **one)
    alias = np.empty((cols, 4))
    alias[0] = one["close"]
    with pytest.raises(zc.InvalidArgumentError, match="overlap"):
        s.update(out=alias, close=alias[0], volume=one["volume"])
    with pytest.raises(zc.InvalidArgumentError):
        s.update(close=one["close"], volume=data["volume"][:, :2])
    with pytest.raises(zc.InvalidArgumentError):
        s.update(close=np.ones((4, 2, 1)), volume=np.ones((4, 2, 1)))
    with pytest.raises(zc.InvalidArgumentError):
        s.update(close=np.array(["a"] * 4), volume=one["volume"])
    with pytest.raises(zc.InvalidArgumentError, match="negative"):
        s.update(close=one["close"], volume=-one["volume"])
    # None of that moved the state.
    for t in range(30):
        bar = {key: a[:, t] for key, a in data.items()}
        a, b = s.update(**bar), ref.update(**bar)
        for k in a:
            np.testing.assert_array_equal(bits(a[k]), bits(b[k]))


def test_large_batch_output_with_streaming_stores_equals_scalar():
    """Outputs over 64 MiB are written with non-temporal stores on the vector path (rows aligned to 16 bytes) and,
    for an odd row length, with ordinary stores: all bit for bit what the scalar path gives."""
    for nbars in (9000, 9001):
        data = walk(np.random.default_rng(nbars), 100, nbars, 20.0)
        specs = [("sma", 20), ("macd", 12, 26, 9), ("bbands", 20, 2.0, 2.0), ("stoch", 5, 3, 3), ("cci", 14)]
        got = zc.md.compute(specs, device="cpu", **data)
        assert sum(v.nbytes for v in got.values()) > 64 << 20  # 11 columns x 100 x 9000 doubles
        want = batch(data, specs)
        np.testing.assert_array_equal(bits(np.stack(list(got.values()))), bits(want))
        del got
        # A NumPy buffer (16 bytes past a 32-byte boundary): 16-byte streaming stores.
        out = np.empty(want.shape)
        zc.md.compute(specs, device="cpu", out=out, **data)
        np.testing.assert_array_equal(bits(out), bits(want))


def test_late_gap_in_a_vector_group_equals_scalar():
    """The vector path checks finiteness as it loads each tile of 128 bars: a gap in a late tile (or in the last,
    partial one) abandons the group's partly written rows, which the scalar lanes then rewrite."""
    data = walk(np.random.default_rng(24), 8, 1037, 60.0)
    data["close"][2, 900] = np.nan
    data["volume"][5, 1036] = np.inf
    data["high"][6, 1030] = -np.inf  # read by ATR/STOCH/CCI/ADX only
    got = zc.md.compute(SPECS, device="cpu", **data)
    want = batch(data)
    np.testing.assert_array_equal(bits(np.stack(list(got.values()))), bits(want))


def test_one_bar_rows_of_a_time_major_history_equal_batch():
    """The feed's layout: each call gets contiguous (nsym,) rows, so a group's four lanes sit side by side (one
    vector load per input and store per output) and later groups' inputs are fetched ahead. 203 symbols: 50 groups
    and 3 lone symbols; a NaN in one symbol moves its group to the scalar path. Bad rows in between (wrong dtype,
    wrong length, 2-D of another shape, negative volume) raise typed errors and leave the state unchanged (the
    outputs after them still equal the batch's)."""
    rng = np.random.default_rng(24)
    nsym, n = 203, 160
    data = walk(rng, nsym, n, 50.0, flat=True)
    data["low"][101, 90] = np.nan
    want = batch(data)
    rows = {key: np.ascontiguousarray(a.T) for key, a in data.items()}  # (n, nsym): rows are contiguous
    s = zc.md.Streaming(nsym, SPECS)
    out = np.empty((len(s.columns), nsym))
    for t in range(n):
        bar = {key: r[t] for key, r in rows.items()}
        if t in (40, 95):
            for key, bad in [("close", bar["close"].astype(str)), ("high", bar["high"][:-1]),
                             ("low", np.ones((nsym, 2))), ("volume", -np.abs(bar["volume"]) - 1.0)]:
                with pytest.raises(zc.InvalidArgumentError):
                    s.update(**{**bar, key: bad})
        res = s.update(out=out, **bar) if t % 2 else np.stack(list(s.update(**bar).values()))
        np.testing.assert_array_equal(bits(out if t % 2 else res), bits(want[:, :, t]))
