"""Market data throughput against anchors measured in the same run:

* indicators: the 10 most used indicators over 1000 symbols x 10,000 bars, zkclob's cpu backend on one
  thread and on all threads (and opencl when present) against TA-Lib called per symbol (the anchor);
  n counts bar-indicator updates. On one thread: the process's first call (fresh memory for the 1.2 GB
  result), repeated calls with a fresh result each (served by the array cache), and a reused out= buffer.
* streaming: one new bar for every symbol per call, all 10 indicators, on one thread, through the Python
  wrapper (bars as columns of a symbol-major history, as contiguous rows, and as rows with out=) and
  through the C path alone (the extension call with contiguous inputs); anchor: TA-Lib's talib.stream
  functions per symbol and indicator (each recomputes its window from the history it is given).
* L2: deltas applied per second with top-of-book metrics (mid, spread, microprice, imbalance) on every
  message, on one thread, two threads (where the pool has more) and all threads, each run into a new book
  with a fresh quote array, and on one thread into a reused out= quote array; anchor: a dict-based Python
  book on a slice of the stream.

Prints one JSON line per case: {"bench", "n", "seconds", "rate", "anchor", "ratio"} (ratio = rate / anchor
rate; seconds are wall clock), some with the CPU time of the process (cpu_seconds, cpu_ratio, cpu_rate).
Sizes: ZC_BENCH_MD_SYMBOLS, ZC_BENCH_MD_BARS, ZC_BENCH_MD_DELTAS."""

import json
import os
import time

import numpy as np

import zkclob as zc

try:
    import talib
    import talib.stream as tstream
except ImportError:  # the anchor is required: say so instead of printing ratios against nothing
    raise SystemExit("bench_md needs TA-Lib (pip install TA-Lib)")

NSYM = int(os.environ.get("ZC_BENCH_MD_SYMBOLS", 1000))
NBARS = int(os.environ.get("ZC_BENCH_MD_BARS", 10_000))
NDELTAS = int(os.environ.get("ZC_BENCH_MD_DELTAS", 4_000_000))
REPEATS = 3

TEN = [  # (name, zkclob args, TA-Lib call for one symbol)
    ("sma", (20,), lambda h, l, c, v: talib.SMA(c, 20)),
    ("ema", (20,), lambda h, l, c, v: talib.EMA(c, 20)),
    ("rsi", (14,), lambda h, l, c, v: talib.RSI(c, 14)),
    ("macd", (12, 26, 9), lambda h, l, c, v: talib.MACD(c, 12, 26, 9)),
    ("bbands", (20, 2.0, 2.0), lambda h, l, c, v: talib.BBANDS(c, 20, 2.0, 2.0, 0)),
    ("atr", (14,), lambda h, l, c, v: talib.ATR(h, l, c, 14)),
    ("stoch", (5, 3, 3), lambda h, l, c, v: talib.STOCH(h, l, c, 5, 3, 0, 3, 0)),
    ("adx", (14,), lambda h, l, c, v: talib.ADX(h, l, c, 14)),
    ("cci", (14,), lambda h, l, c, v: talib.CCI(h, l, c, 14)),
    ("obv", (), lambda h, l, c, v: talib.OBV(c, v)),
]
STREAM_ANCHOR = {
    "sma": lambda h, l, c, v: tstream.SMA(c, 20), "ema": lambda h, l, c, v: tstream.EMA(c, 20),
    "rsi": lambda h, l, c, v: tstream.RSI(c, 14), "macd": lambda h, l, c, v: tstream.MACD(c, 12, 26, 9),
    "bbands": lambda h, l, c, v: tstream.BBANDS(c, 20, 2.0, 2.0, 0), "atr": lambda h, l, c, v: tstream.ATR(h, l, c, 14),
    "stoch": lambda h, l, c, v: tstream.STOCH(h, l, c, 5, 3, 0, 3, 0), "adx": lambda h, l, c, v: tstream.ADX(h, l, c, 14),
    "cci": lambda h, l, c, v: tstream.CCI(h, l, c, 14), "obv": lambda h, l, c, v: tstream.OBV(c, v),
}


def emit(bench, n, seconds, anchor, anchor_rate, **extra):
    rate = n / seconds
    print(json.dumps(dict(bench=bench, n=n, seconds=round(seconds, 6), rate=round(rate), anchor=anchor,
                          ratio=round(rate / anchor_rate, 3), **extra)), flush=True)


class Clock:
    """Wall-clock and CPU time (time.process_time) of one timed section: on a shared machine the CPU time of the
    process is the steadier of the two."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w0, time.process_time() - self.c0


def best(fn, repeats=REPEATS):
    fn()
    t = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def best_cpu(fn, repeats=REPEATS):
    """The fastest of `repeats` runs after a warm-up, as (wall seconds, CPU seconds of that run)."""
    fn()
    runs = []
    for _ in range(repeats):
        with Clock() as c:
            fn()
        runs.append((c.wall, c.cpu))
    return min(runs)


def data(nsym, n, seed=1):
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.standard_normal((nsym, n)), axis=1) * 0.5
    c = np.abs(c) + 1
    h = c + np.abs(rng.standard_normal((nsym, n))) * 0.3
    l = c - np.abs(rng.standard_normal((nsym, n))) * 0.3
    v = np.abs(rng.standard_normal((nsym, n))) * 1000 + 1
    return h, l, c, v


def run_one(name, args, h, l, c, v, device):
    fn = getattr(zc.md, name)
    if name in ("atr", "stoch", "adx", "cci"):
        return fn(h, l, c, *args, device=device)
    if name == "obv":
        return fn(c, v, device=device)
    return fn(c, *args, device=device)


def run_ten(h, l, c, v, device, out=None):
    """All ten in one call: each group of symbols runs every indicator while its rows are in cache."""
    return zc.md.compute([(name,) + args for name, args, _ in TEN], close=c, high=h, low=l, volume=v,
                         device=device, out=out)


def bench_indicators():
    h, l, c, v = data(NSYM, NBARS)
    n = NSYM * NBARS * len(TEN)

    def anchor():
        for s in range(NSYM):
            row = (h[s], l[s], c[s], v[s])
            for _, _, ta in TEN:
                ta(*row)

    t_anchor, c_anchor = best_cpu(anchor, 1)
    anchor_rate = n / t_anchor
    emit("indicators10/talib_per_symbol", n, t_anchor, "talib", anchor_rate, cpu_seconds=round(c_anchor, 6))
    cpu = zc.find_device("cpu")
    zc.set_num_threads(1)

    def ten_cpu(label, wall, cpu_s, **extra):
        emit(label, n, wall, "talib", anchor_rate, cpu_seconds=round(cpu_s, 6),
             cpu_ratio=round(c_anchor / cpu_s, 3), **extra)

    # The first call of the process: its 1.2 GB result is fresh memory, faulted in (2 MiB huge pages where the
    # kernel has them) and zeroed by the kernel.
    with Clock() as cold:
        run_ten(h, l, c, v, cpu)
    ten_cpu("indicators10/cpu/1thread/first_call", cold.wall, cold.cpu)
    # Repeated calls with a fresh result each (a research loop): the previous result's block comes back from
    # the array cache once its last view is gone, already faulted in.
    hits = zc.memory.array_cache_stats()["hits"]
    wall, cpu_s = best_cpu(lambda: run_ten(h, l, c, v, cpu))
    ten_cpu("indicators10/cpu/1thread", wall, cpu_s, cache_hits=zc.memory.array_cache_stats()["hits"] - hits)
    # Into a reused caller buffer (out=).
    out = np.empty((15, NSYM, NBARS))
    wall, cpu_s = best_cpu(lambda: run_ten(h, l, c, v, cpu, out))
    ten_cpu("indicators10/cpu/1thread/out_reused", wall, cpu_s)
    del out
    # Per indicator on one thread, each against its own TA-Lib anchor.
    for name, args, ta in TEN:
        t_ta = best(lambda: [ta(h[s], l[s], c[s], v[s]) for s in range(NSYM)], 1)
        t_zc = best(lambda: run_one(name, args, h, l, c, v, cpu))
        emit(f"indicator/{name}/cpu/1thread", NSYM * NBARS, t_zc, "talib", NSYM * NBARS / t_ta)
    zc.set_num_threads(0)
    threads = zc.devices()[cpu].threads
    emit("indicators10/cpu/all", n, best(lambda: run_ten(h, l, c, v, cpu)), "talib", anchor_rate, threads=threads)
    for d in zc.devices():
        if d.backend in ("opencl", "cuda") and d.available:
            emit(f"indicators10/{d.spec}", n, best(lambda: run_ten(h, l, c, v, d.id), 1), "talib", anchor_rate,
                 device=d.name)
            break


def bench_streaming():
    hist = 300
    h, l, c, v = data(NSYM, hist + 200, seed=2)
    specs = [(name,) + args for name, args, _ in TEN]
    s = zc.md.Streaming(NSYM, specs)
    zc.set_num_threads(1)
    steps = 200
    n = NSYM * steps * len(TEN)
    # Bars as a feed delivers them: one contiguous (nsym,) array per input and bar (rows of a time-major history).
    hT, lT, cT, vT = (np.ascontiguousarray(a.T) for a in (h, l, c, v))
    out = np.empty((15, NSYM))
    cols = [[np.ascontiguousarray(a[:, t:t + 1]) for a in (h, l, c, v)] for t in range(hist, hist + steps)]
    def columns():  # of the symbol-major (nsym, bars) history: 4 strided gathers of nsym values per call
        for t in range(hist, hist + steps):
            s.update(close=c[:, t], high=h[:, t], low=l[:, t], volume=v[:, t])

    def rows():
        for t in range(hist, hist + steps):
            s.update(close=cT[t], high=hT[t], low=lT[t], volume=vT[t])

    def rows_out():
        for t in range(hist, hist + steps):
            s.update(close=cT[t], high=hT[t], low=lT[t], volume=vT[t], out=out)

    def c_path():  # the extension's update with contiguous (nsym, 1) inputs, no Python wrapper
        for ins in cols:
            s._s.update(*ins)

    # Each result is dropped before the next call, as a consumer that reads and moves on does.
    cases = {"": columns, "/rows": rows, "/rows_out": rows_out, "/c_path": c_path}
    timed = {}
    for label, fn in cases.items():
        runs = []
        for _ in range(REPEATS):
            s.reset()
            s.update(close=c[:, :hist], high=h[:, :hist], low=l[:, :hist], volume=v[:, :hist])
            with Clock() as k:
                fn()
            runs.append((k.wall, k.cpu))
        timed[label] = min(runs)
    # Anchor: talib.stream on the last 300 bars, per symbol and indicator, over a slice of the symbols.
    sub = min(NSYM, 50)
    t0 = time.perf_counter()
    for t in range(hist, hist + 20):
        for k in range(sub):
            row = (h[k, t - hist:t + 1], l[k, t - hist:t + 1], c[k, t - hist:t + 1], v[k, t - hist:t + 1])
            for name, _, _ in TEN:
                STREAM_ANCHOR[name](*row)
    t_anchor = time.perf_counter() - t0
    anchor_rate = sub * 20 * len(TEN) / t_anchor
    emit("streaming/talib.stream", sub * 20 * len(TEN), t_anchor, "talib.stream", anchor_rate)
    for label, (wall, cpu_s) in timed.items():
        emit("streaming/cpu/1thread/1bar_per_call" + label, n, wall, "talib.stream", anchor_rate, symbols=NSYM,
             cpu_seconds=round(cpu_s, 6), cpu_rate=round(n / cpu_s))
    big = 100
    t_big = best(lambda: s.update(close=c[:, :big], high=h[:, :big], low=l[:, :big], volume=v[:, :big]), 2)
    emit("streaming/cpu/1thread/100bars_per_call", NSYM * big * len(TEN), t_big, "talib.stream", anchor_rate)
    zc.set_num_threads(0)


def deltas(nsym, n, seed=3):
    rng = np.random.default_rng(seed)
    m = np.zeros(n, zc.md.L2_DTYPE)
    sym = rng.integers(0, nsym, n).astype(np.uint32)
    m["symbol"] = sym
    order = np.argsort(sym, kind="stable")
    seq = np.empty(n, np.uint64)
    counts = np.bincount(sym, minlength=nsym)
    seq[order] = np.concatenate([np.arange(1, k + 1) for k in counts])
    m["seq"] = seq
    m["ts"] = np.arange(n)
    side = rng.integers(0, 2, n)
    m["side"] = side
    off = rng.integers(1, 20, n)
    m["price"] = np.where(side == 0, 1000 - off, 1000 + off) * 0.01
    m["size"] = np.where(rng.random(n) < 0.2, 0.0, rng.integers(1, 100, n).astype(float))
    m["orders"] = 1
    return m


class PyBook:
    """The anchor: a plain dict book per symbol with top-of-book metrics per message."""

    def __init__(self, nsym):
        self.b = [({}, {}) for _ in range(nsym)]

    def apply(self, msgs):
        out = []
        for s, side, p, q in zip(msgs["symbol"].tolist(), msgs["side"].tolist(), msgs["price"].tolist(),
                                 msgs["size"].tolist()):
            lv = self.b[s][side]
            if q == 0:
                lv.pop(p, None)
            else:
                lv[p] = q
            bids, asks = self.b[s]
            if bids and asks:
                bb, ba = max(bids), min(asks)
                bs, as_ = bids[bb], asks[ba]
                out.append(((bb + ba) / 2, ba - bb, (bb * as_ + ba * bs) / (bs + as_), (bs - as_) / (bs + as_)))
        return out


def bench_l2():
    m = deltas(NSYM, NDELTAS)
    sub = m[:200_000]
    t_anchor = best(lambda: PyBook(NSYM).apply(sub), 1)
    anchor_rate = sub.size / t_anchor
    emit("l2/python_dict_book", sub.size, t_anchor, "python dict book", anchor_rate)
    pool = zc.devices()[zc.find_device("cpu")].threads
    # 1 thread, 2 threads (rate: wall clock; cpu_rate: deltas per CPU second of the process) and the whole pool.
    for threads in (1, 2, 0) if pool > 2 else (1, 0):
        zc.set_num_threads(threads)
        t, cpu_s = best_cpu(lambda: zc.md.L2Book(NSYM, levels=64).apply(m), 2)
        label = {1: "1thread", 2: "2threads"}.get(threads, "all")
        emit(f"l2/cpu/{label}/deltas_with_l1_metrics", m.size, t, "python dict book", anchor_rate,
             threads=threads or pool, cpu_seconds=round(cpu_s, 6), cpu_rate=round(m.size / cpu_s))
        if threads == 1:
            # The quotes into one caller-owned array, reused from call to call (apply(out=)).
            out = np.empty(m.size, zc.md.QUOTE_DTYPE)
            t, cpu_s = best_cpu(lambda: zc.md.L2Book(NSYM, levels=64).apply(m, out=out), 2)
            emit("l2/cpu/1thread/deltas_with_l1_metrics/out_reused", m.size, t, "python dict book", anchor_rate,
                 threads=1, cpu_seconds=round(cpu_s, 6), cpu_rate=round(m.size / cpu_s))
            del out
    zc.set_num_threads(0)
    book = zc.md.L2Book(NSYM, levels=64)
    book.apply(m)
    t = best(lambda: book.metrics(levels=10, bands_bps=(5, 10, 25, 50), sizes=(100, 500)))
    emit("l2/metrics_snapshot_all_symbols", NSYM, t, "python dict book", anchor_rate, note="symbols per second")


def main():
    bench_indicators()
    bench_streaming()
    bench_l2()


if __name__ == "__main__":
    main()
