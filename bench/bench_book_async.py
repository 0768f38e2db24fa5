"""Asynchronous device submission: a 1M-order stream in batches of 100k on an OpenCL device,
matched with Engine.submit one batch after the other (the anchor) and with Engine.submit_async
for every batch, then one sync and a wait per ticket (the case), in the same process on fresh
engines, alternating, best of REPEATS. The pipelined run overlaps the host's sequencing,
partition, staging and event merge of one batch with the device's matching of the other.

Two pairs of cases: "cold" times the whole stream on a fresh engine, so it includes the first
touch of the staging memory (the pipelined run has two staging slots to fill, the other one);
"warm" matches the first WARM batches untimed in the same way (filling both slots) and times
the rest, the steady state of a long-running engine. The stream is zkclob's standard workload
(zc_orders_generate, 100 symbols); both runs must give the same events byte for byte. Prints
one JSON line per case; ratio = rate / anchor rate (the synchronous run of the same pair)."""

import json
import os
import time

import numpy as np

import zkclob as zc
from zkclob.pipeline import StreamConfig, engine_settings, generate

N = int(os.environ.get("ZC_BENCH_BOOK_ASYNC_N", 1_000_000))
BATCH = int(os.environ.get("ZC_BENCH_BOOK_ASYNC_BATCH", 100_000))
DEVICE = os.environ.get("ZC_BENCH_BOOK_ASYNC_DEVICE", "opencl:0")
REPEATS = 5
WARM = 2
STREAM = StreamConfig(orders=N, seed=20241127, symbols=100, capacity=8192)


def make_engine():
    s = engine_settings(STREAM)
    return zc.Engine(symbols=s["symbols"], capacity=s["capacity"], device=DEVICE, tick_size=s["tick_size"],
                     lot_size=s["lot_size"], price_band=(s["min_price"], s["max_price"]),
                     ref_price=s["ref_price"])


def run_sync(parts, warm):
    with make_engine() as eng:
        events = [eng.submit(p) for p in parts[:warm]]
        t0 = time.perf_counter()
        events += [eng.submit(p) for p in parts[warm:]]
        return time.perf_counter() - t0, events


def run_async(parts, warm):
    with make_engine() as eng:
        events = [eng.wait(t) for t in [eng.submit_async(p) for p in parts[:warm]]]
        t0 = time.perf_counter()
        tickets = [eng.submit_async(p) for p in parts[warm:]]
        eng.sync()
        events += [eng.wait(t) for t in tickets]
        return time.perf_counter() - t0, events


def emit(bench, n, seconds, anchor, anchor_seconds):
    print(json.dumps(dict(bench=bench, n=n, seconds=round(seconds, 6), rate=round(n / seconds), anchor=anchor,
                          ratio=round(anchor_seconds / seconds, 3))), flush=True)


def main():
    try:
        zc.find_device(DEVICE)
    except zc.Error as exc:
        print(json.dumps(dict(bench="book/async", skipped=f"{DEVICE}: {exc}")), flush=True)
        return
    orders = generate(STREAM)
    parts = [orders[i:i + BATCH] for i in range(0, N, BATCH)]
    with make_engine() as first:  # kernel builds stay out of the timings
        first.wait(first.submit_async(parts[0][:1000]))
    for label, warm in (("cold", 0), ("warm", WARM)):
        sync_times, async_times = [], []
        for _ in range(REPEATS):
            ts, want = run_sync(parts, warm)
            ta, got = run_async(parts, warm)
            if np.concatenate(got).tobytes() != np.concatenate(want).tobytes():
                raise AssertionError("submit_async events differ from submit")
            sync_times.append(ts)
            async_times.append(ta)
        n = sum(len(p) for p in parts[warm:])
        anchor = f"book/submit/{DEVICE}/{label}"
        emit(anchor, n, min(sync_times), anchor, min(sync_times))
        emit(f"book/submit_async/{DEVICE}/{label}", n, min(async_times), anchor, min(sync_times))


if __name__ == "__main__":
    main()
