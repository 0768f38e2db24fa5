"""Forward NTTs of BabyBear and Goldilocks vectors and of a BabyBear column
batch, natural order in and out (plus one natural-to-bit-reversed case, which
needs no permutation pass): the cpu backend on one thread and on all threads,
on the scalar and the AVX2 path, and opencl. One JSON line per case;
the anchor is the scalar one-thread cpu run of the same case in this process
(ratio = anchor seconds / seconds), and ns_per_butterfly counts the
rows / 2 * log2(rows) * cols butterflies of a transform. Timings are the best
of several runs of the public call (zkclob.zk.ntt), including its input check
and result allocation. On a shared, loaded machine wall time counts the time
other processes hold the core, so the cpu one-thread lines also carry
cpu_ns_per_butterfly and cpu_ratio from the process CPU time of the same runs.

Then a batch polynomial commitment (zkclob.zk.commit: LDE, Poseidon2 row
hashes, Merkle tree) of a 2^16 x 16 BabyBear matrix with blowup 2, in LDE rows
per second, against the same work as two public calls in this process
(zk.lde, then merkle.MerkleTree over its rows). ZC_BENCH_NTT_QUICK=1 runs
small sizes only."""

import json
import os
import time

import numpy as np

import zkclob as zc
from zkclob import merkle, zk

QUICK = os.environ.get("ZC_BENCH_NTT_QUICK") == "1"
REPEATS = 3 if QUICK else 7
# (field, log2 rows, cols, order)
CASES = [("babybear", 12, 1, "nn"), ("goldilocks", 12, 1, "nn"), ("babybear", 10, 16, "nn")] if QUICK else [
    ("babybear", 16, 1, "nn"), ("babybear", 20, 1, "nn"), ("babybear", 20, 1, "nr"), ("babybear", 22, 1, "nn"),
    ("goldilocks", 20, 1, "nn"), ("babybear", 20, 16, "nn")]


def best_times(fn):
    """Best wall and best process CPU seconds of REPEATS runs after a warm-up."""
    fn()  # warm-up: twiddle tables, page faults, kernel compilation on opencl
    wall = cpu = float("inf")
    for _ in range(REPEATS):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def best_seconds(fn):
    return best_times(fn)[0]


def main():
    cpu = zc.find_device("cpu")
    threads = zc.devices()[cpu].threads
    opencl = next((d for d in zc.devices() if d.backend == "opencl" and d.available), None)
    has_avx2 = zk.simd_best() == "avx2"
    start_simd = zk.simd()
    for field, log, cols, order in CASES:
        rows = 1 << log
        p = zk.field_info(field)["modulus"]
        dtype = np.uint32 if field == "babybear" else np.uint64
        x = np.random.default_rng(log).integers(0, p, size=(rows, cols) if cols > 1 else rows,
                                                dtype=np.uint64).astype(dtype)
        butterflies = rows // 2 * log * cols
        name = f"ntt/{field}/2^{log}" + (f"x{cols}" if cols > 1 else "") + (f"/{order}" if order != "nn" else "")
        runs = []
        # AVX2 kernels exist for BabyBear; Goldilocks runs the scalar path either way.
        paths = ["scalar", "avx2"] if has_avx2 and field == "babybear" else ["scalar"]
        cpu_anchor = None
        for nthreads, label in [(1, "1thread"), (0, "all")]:
            zc.set_num_threads(nthreads)
            for path in paths:
                zk.set_simd(path)
                seconds, cpu_seconds = best_times(lambda: zk.ntt(x, field=field, order=order, device=cpu))
                extra = {"threads": 1 if nthreads else threads}
                if nthreads == 1:
                    cpu_anchor = cpu_anchor or cpu_seconds
                    extra.update(cpu_ns_per_butterfly=round(cpu_seconds / butterflies * 1e9, 3),
                                 cpu_ratio=round(cpu_anchor / cpu_seconds, 3))
                runs.append((f"cpu/{label}/{path}", seconds, extra))
        zc.set_num_threads(0)
        zk.set_simd(start_simd)
        if opencl is not None:
            seconds = best_seconds(lambda: zk.ntt(x, field=field, order=order, device=opencl.id))
            runs.append((opencl.spec, seconds, {"device": opencl.name}))
        anchor = runs[0][1]
        for variant, seconds, extra in runs:
            print(json.dumps(dict(bench=f"{name}/{variant}", n=rows * cols, seconds=round(seconds, 6),
                                  rate=round(butterflies / seconds), anchor=f"{name}/cpu/1thread/scalar",
                                  ratio=round(anchor / seconds, 3),
                                  ns_per_butterfly=round(seconds / butterflies * 1e9, 3), **extra)), flush=True)
    commit_case(cpu, opencl)


def commit_case(cpu, opencl):
    log, cols, blowup = (10, 16, 2) if QUICK else (16, 16, 2)
    x = np.random.default_rng(5).integers(0, zk.BABYBEAR_P, size=(1 << log, cols), dtype=np.uint32)
    lde_rows = (1 << log) * blowup
    name = f"commit/babybear/2^{log}x{cols}/blowup{blowup}"
    devices = [("cpu/all", cpu)] + ([(opencl.spec, opencl.id)] if opencl is not None else [])
    for label, dev in devices:
        anchor = best_seconds(lambda: merkle.MerkleTree(zk.lde(x, blowup, device=dev), device=dev))
        seconds = best_seconds(lambda: zk.commit(x, blowup=blowup, device=dev))
        print(json.dumps(dict(bench=f"{name}/{label}", n=lde_rows, seconds=round(seconds, 6),
                              rate=round(lde_rows / seconds), anchor=f"zk.lde + merkle.MerkleTree on {label}",
                              ratio=round(anchor / seconds, 3), unit="LDE rows/s")), flush=True)


if __name__ == "__main__":
    main()
