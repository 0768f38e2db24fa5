"""Correlation and position-tracking throughput against anchors measured in the same run:

* corr_rolling / corr_ewma: one observation of N = 500 assets into zkclob.risk.CorrelationTracker
  (rolling window of 250, or EWMA), on one thread and on all threads; anchor: numpy.corrcoef over
  the 250-observation window, recomputed for every observation (what a NumPy user does without an
  incremental tracker). n counts observations.
* corr_ewma_numpy: the anchor of the EWMA case made fair: the same O(N^2) EWMA covariance update
  vectorised in NumPy (two outer products per observation) plus the correlation of the final state.
* positions: fill-driven position updates: PositionTracker.update on the orders and events of
  random limit-order batches (1000 traders x 64 symbols); anchor: the engine matching the same
  batches (so the ratio is tracking speed relative to matching). n counts events.

Prints one JSON line per case: {"bench", "n", "seconds", "rate", "anchor", "ratio"} (ratio = rate /
anchor rate). Sizes: ZC_BENCH_CORR_N, ZC_BENCH_CORR_OBS, ZC_BENCH_POS_ORDERS."""

import json
import os
import time

import numpy as np

import zkclob as zc
from zkclob import risk

N = int(os.environ.get("ZC_BENCH_CORR_N", 500))
OBS = int(os.environ.get("ZC_BENCH_CORR_OBS", 400))
WINDOW = 250
NORDERS = int(os.environ.get("ZC_BENCH_POS_ORDERS", 400_000))
REPEATS = 3


def emit(bench, n, seconds, anchor, anchor_rate, **extra):
    rate = n / seconds
    print(json.dumps(dict(bench=bench, n=n, seconds=round(seconds, 6), rate=round(rate, 1), anchor=anchor,
                          ratio=round(rate / anchor_rate, 3), **extra)), flush=True)


def best(fn, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def corr_cases():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((WINDOW + OBS, N)) + 0.3 * rng.standard_normal((WINDOW + OBS, 1))

    def anchor():
        for k in range(WINDOW, WINDOW + OBS):
            np.corrcoef(x[k - WINDOW + 1:k + 1].T)

    t_anchor = best(anchor, 2)
    anchor_rate = OBS / t_anchor
    emit("corr_anchor_corrcoef", OBS, t_anchor, "numpy.corrcoef over the window per observation", anchor_rate,
         assets=N, window=WINDOW)

    def numpy_ewma():
        a, m, c = 0.06, x[0].copy(), np.zeros((N, N))
        for k in range(WINDOW, WINDOW + OBS):
            old = m.copy()
            m = (1 - a) * m + a * x[k]
            d, e = old - m, x[k] - m
            c = (1 - a) * (c + np.outer(d, d)) + a * np.outer(e, e)
        s = np.sqrt(np.diag(c))
        return c / np.outer(s, s)

    t = best(numpy_ewma, 2)
    emit("corr_ewma_numpy", OBS, t, "numpy.corrcoef over the window per observation", anchor_rate, assets=N)

    for threads in (1, 0):
        for kind, kw in (("rolling", dict(window=WINDOW)), ("ewma", dict(alpha=0.06))):
            tracker = risk.CorrelationTracker(N, threads=threads, **kw)
            tracker.update(x[:WINDOW])  # warm: a full window

            def run():
                for k in range(WINDOW, WINDOW + OBS):
                    tracker.update(x[k])
                tracker.corr(kind)

            t = best(run)
            emit(f"corr_{kind}", OBS, t, "numpy.corrcoef over the window per observation", anchor_rate, assets=N,
                 threads=threads or os.cpu_count())


def position_cases():
    rng = np.random.default_rng(1)
    traders, symbols, batch = 1000, 64, 10_000
    o = np.zeros(NORDERS, zc.ORDER_DTYPE)
    o["id"] = np.arange(1, NORDERS + 1)
    o["trader"] = rng.integers(0, traders, NORDERS)
    o["symbol"] = rng.integers(0, symbols, NORDERS)
    o["side"] = rng.integers(0, 2, NORDERS)
    o["price"] = rng.integers(95, 106, NORDERS)
    o["qty"] = rng.integers(1, 10, NORDERS)
    o["tif"] = np.where(rng.random(NORDERS) < 0.3, 1, 0)  # some ioc, so the books stay small
    eng = zc.Engine(symbols=symbols, capacity=1 << 16, device="cpu", threads=1, price_band=(1, 1000))
    t0 = time.perf_counter()
    batches = [(o[i:i + batch], eng.submit(o[i:i + batch])) for i in range(0, NORDERS, batch)]
    t_match = time.perf_counter() - t0
    nev = sum(len(ev) for _, ev in batches)
    fills = sum(int((ev["kind"] == 1).sum()) for _, ev in batches)
    emit("positions_anchor_matching", nev, t_match, "engine.submit of the same batches", nev / t_match,
         orders=NORDERS, fills=fills)

    def track():
        tracker = risk.PositionTracker(traders, symbols)
        tracker.set_limits(max_position=500)
        for orders, ev in batches:
            tracker.update(orders, ev)
        return tracker

    t = best(track)
    emit("positions_update", nev, t, "engine.submit of the same batches", nev / t_match, fills=fills,
         fills_per_s=round(fills / t))


if __name__ == "__main__":
    corr_cases()
    position_cases()
