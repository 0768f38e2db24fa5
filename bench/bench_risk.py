"""Risk throughput against NumPy anchors measured in the same run:

* mc_var: Monte Carlo VaR/ES of 100 linear positions, 1M paths x 100 correlated assets (arithmetic
  shocks, full revaluation of every position), zkclob's cpu backend on one thread (the per-core figure) and
  on all threads. Anchor: the same computation vectorised in NumPy on one thread: chunks of 20,000 paths of
  Generator(Philox).standard_normal, correlated by z @ L.T, repriced (spot * (1 + x)) @ qty, VaR by
  np.quantile(method="linear") and ES by a mask. n counts paths.
* hist_var: historical VaR/ES of 10,000 portfolios x 1,000 scenarios x 100 assets, one thread and all
  threads. Anchor: -(w @ pnl.T), np.quantile(axis=1, method="linear") and the ES mask, one thread.
  n counts portfolios.

NumPy's BLAS is limited to one thread (OPENBLAS_NUM_THREADS etc. are set before NumPy is imported).
Prints one JSON line per case: {"bench", "n", "seconds", "rate", "anchor", "ratio"} (ratio = rate /
anchor rate). Sizes: ZC_BENCH_RISK_PATHS, ZC_BENCH_RISK_ASSETS, ZC_BENCH_RISK_PORTFOLIOS,
ZC_BENCH_RISK_SCENARIOS."""

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import zkclob as zc  # noqa: E402
from zkclob import risk  # noqa: E402

PATHS = int(os.environ.get("ZC_BENCH_RISK_PATHS", 1_000_000))
ASSETS = int(os.environ.get("ZC_BENCH_RISK_ASSETS", 100))
PORTS = int(os.environ.get("ZC_BENCH_RISK_PORTFOLIOS", 10_000))
SCENS = int(os.environ.get("ZC_BENCH_RISK_SCENARIOS", 1_000))
CONF = 0.99
CHUNK = 20_000


def emit(bench, n, seconds, anchor, anchor_rate, **extra):
    rate = n / seconds
    print(json.dumps(dict(bench=bench, n=n, seconds=round(seconds, 6), rate=round(rate), anchor=anchor,
                          ratio=round(rate / anchor_rate, 3), **extra)), flush=True)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def book(n):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(n, n))
    vol = rng.uniform(0.005, 0.03, n)
    s = a @ a.T + n * np.eye(n)
    cov = s / np.sqrt(np.outer(np.diag(s), np.diag(s))) * np.outer(vol, vol)
    return rng.uniform(10, 200, n), cov, rng.integers(-1000, 1000, n).astype(float)


def numpy_mc(spot, cov, qty, paths, seed):
    L = np.linalg.cholesky(cov)
    gen = np.random.Generator(np.random.Philox(seed))
    v0 = spot @ qty
    losses = np.empty(paths)
    for p0 in range(0, paths, CHUNK):
        m = min(CHUNK, paths - p0)
        x = gen.standard_normal((m, len(spot))) @ L.T
        losses[p0:p0 + m] = v0 - (spot * (1.0 + x)) @ qty
    var = np.quantile(losses, CONF, method="linear")
    return var, losses[losses >= var].mean()


def numpy_hist(pnl, w):
    losses = -(w @ pnl.T)
    var = np.quantile(losses, CONF, axis=1, method="linear")
    mask = losses >= var[:, None]
    return var, (losses * mask).sum(axis=1) / mask.sum(axis=1)


def main():
    spot, cov, qty = book(ASSETS)
    t_np, (v_np, _) = timed(lambda: numpy_mc(spot, cov, qty, PATHS, 7))
    anchor = "numpy Generator(Philox) + matmul + quantile, 1 thread"
    for threads in (1, 0):
        zc.set_num_threads(threads)
        t, r = timed(lambda: risk.monte_carlo(spot, cov, quantities=qty, paths=PATHS, seed=7, confidence=CONF,
                                              device="cpu"))
        # Different random streams: the estimates agree within their interval, not bit for bit.
        emit("mc_var", PATHS, t, anchor, PATHS / t_np, assets=ASSETS, threads=threads or os.cpu_count(),
             var=round(r.var, 2), var_ci=[round(r.var_ci[0], 2), round(r.var_ci[1], 2)], numpy_var=round(v_np, 2))

    rng = np.random.default_rng(2)
    pnl = rng.standard_t(4, size=(SCENS, ASSETS))
    w = rng.normal(size=(PORTS, ASSETS))
    t_np, (v_np, _) = timed(lambda: numpy_hist(pnl, w))
    anchor = "numpy matmul + quantile(axis=1), 1 thread"
    for threads in (1, 0):
        zc.set_num_threads(threads)
        t, (v, _) = timed(lambda: risk.historical(pnl, w, CONF, device="cpu"))
        emit("hist_var", PORTS, t, anchor, PORTS / t_np, scenarios=SCENS, assets=ASSETS,
             threads=threads or os.cpu_count(), max_rel_diff=float(np.max(np.abs(v - v_np) / np.abs(v_np))))
    zc.set_num_threads(0)


if __name__ == "__main__":
    main()
