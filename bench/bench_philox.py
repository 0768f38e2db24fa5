"""Raw Philox4x64-10 words per second: zkclob's cpu backend on one thread and on
all threads, and opencl, against numpy.random.Philox in the same process (the
anchor). Prints one JSON line per case; ratio = rate / anchor rate."""

import json
import os
import time

import numpy as np

import zkclob as zc

N = int(os.environ.get("ZC_BENCH_PHILOX_N", 1 << 24))
REPEATS = 5


def best_seconds(fn):
    fn()  # warm-up: page faults, kernel compilation on opencl
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def emit(bench, seconds, anchor_rate, **extra):
    rate = N / seconds
    print(json.dumps(dict(bench=bench, n=N, seconds=round(seconds, 6), rate=round(rate), anchor="numpy.random.Philox",
                          ratio=round(rate / anchor_rate, 3), **extra)), flush=True)


def main():
    anchor = best_seconds(lambda: np.random.Philox(key=1).random_raw(N))
    anchor_rate = N / anchor
    emit("philox4x64_raw/numpy", anchor, anchor_rate)
    cpu = zc.find_device("cpu")
    zc.set_num_threads(1)
    emit("philox4x64_raw/cpu/1thread", best_seconds(lambda: zc.random.philox(N, key=1, device=cpu)), anchor_rate)
    zc.set_num_threads(0)
    threads = zc.devices()[cpu].threads
    emit("philox4x64_raw/cpu/all", best_seconds(lambda: zc.random.philox(N, key=1, device=cpu)), anchor_rate,
         threads=threads)
    emit("philox4x32_raw/cpu/all", best_seconds(lambda: zc.random.philox(N, key=1, variant="4x32", device=cpu)),
         anchor_rate, threads=threads)
    for d in zc.devices():
        if d.backend == "opencl" and d.available:
            emit(f"philox4x64_raw/{d.spec}", best_seconds(lambda: zc.random.philox(N, key=1, device=d.id)),
                 anchor_rate, device=d.name)
            break


if __name__ == "__main__":
    main()
