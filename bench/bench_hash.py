"""Hash and Merkle throughput on the cpu backend (one thread and all threads) and opencl.
Prints one JSON line per case: {"bench", "n", "seconds", "rate", "anchor", "ratio"}.

- Poseidon2 BabyBear-16 permutations/s. No library anchor runs in this process, so the anchor
  is the issue's target of 2M permutations/s per core (ratio = rate / (2M x threads)).
- Merkle build, leaves/s, for 2^20 leaves of 8 BabyBear elements (one sponge permutation per
  leaf, one compression per node). Anchor: the same device's permutation rate / 2, the ideal
  for about 2 permutations per leaf.
- SHA-256 and Keccak-256 MB/s on the batched path for 16384 messages of 1 KiB, against
  hashlib / pycryptodome hashing the same messages one call at a time in this process
  (ratio = rate / anchor rate; the issue's target is SHA-256 >= 1/1.5 of hashlib per core).
  The SHA-256 lines also carry ratio_vs_bulk: against hashlib over one 16 MiB buffer.

On a shared, loaded machine wall time counts the time other processes hold the core, so the
one-thread lines (and the anchors) also carry cpu_seconds, the best process CPU time of the same
runs, and cpu_ratio computed from it.
"""

import hashlib
import json
import os
import time

import numpy as np
from Crypto.Hash import keccak

import zkclob as zc
from zkclob import hashes, merkle

PERMS = int(os.environ.get("ZC_BENCH_P2_N", 1 << 18))
LEAVES = int(os.environ.get("ZC_BENCH_MERKLE_N", 1 << 20))
MESSAGES, MESSAGE_BYTES = 16384, 1024
REPEATS = 3
P_BB = 2013265921
TARGET_PERMS_PER_CORE = 2e6


CPU_SECONDS = {}
"""Best process CPU seconds of the latest best_seconds call."""


def best_seconds(fn):
    fn()  # warm-up: page faults, kernel compilation on opencl
    best = cpu = float("inf")
    for _ in range(REPEATS):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    CPU_SECONDS["last"] = cpu
    return best


def cpu_fields(n_units, anchor_rate):
    """cpu_seconds and cpu_ratio (rate from CPU time / anchor_rate) of the latest best_seconds call."""
    cpu = CPU_SECONDS["last"]
    return dict(cpu_seconds=round(cpu, 6), cpu_ratio=round(n_units / cpu / anchor_rate, 3))


def emit(bench, n, seconds, rate, anchor, anchor_rate, **extra):
    print(json.dumps(dict(bench=bench, n=n, seconds=round(seconds, 6), rate=round(rate, 1), anchor=anchor,
                          ratio=round(rate / anchor_rate, 3), **extra)), flush=True)


def devices():
    """(name, device id, threads) of the cases: cpu on one thread and on all, the first opencl device."""
    cpu = zc.find_device("cpu")
    threads = zc.devices()[cpu].threads
    out = [("cpu/1thread", cpu, 1), ("cpu/all", cpu, threads)]
    for d in zc.devices():
        if d.backend == "opencl" and d.available:
            out.append((d.spec, d.id, d.compute_units))
            break
    return out


def with_threads(name, threads):
    zc.set_num_threads(threads if name == "cpu/1thread" else 0)


def main():
    rng = np.random.default_rng(1)
    states = rng.integers(0, P_BB, (PERMS, 16), dtype=np.uint32)
    leaves = rng.integers(0, P_BB, (LEAVES, 8), dtype=np.uint32)
    perm_rates = {}
    for name, dev, threads in devices():
        with_threads(name, threads)
        s = best_seconds(lambda: hashes.poseidon2_permute(states, device=dev))
        perm_rates[name] = PERMS / s
        extra = cpu_fields(PERMS, TARGET_PERMS_PER_CORE) if name == "cpu/1thread" else {}
        emit(f"poseidon2_babybear16_permute/{name}", PERMS, s, PERMS / s,
             f"target {TARGET_PERMS_PER_CORE:.0f}/s per core x {threads}", TARGET_PERMS_PER_CORE * threads,
             threads=threads, **extra)
    for name, dev, threads in devices():
        with_threads(name, threads)
        s = best_seconds(lambda: merkle.MerkleTree(leaves, device=dev))
        emit(f"merkle_poseidon2_build/{name}", LEAVES, s, LEAVES / s, "same device's permutations/s / 2",
             perm_rates[name] / 2, threads=threads)

    msgs = [rng.bytes(MESSAGE_BYTES) for _ in range(MESSAGES)]
    data, offsets = hashes.byte_strings(msgs)
    mb = MESSAGES * MESSAGE_BYTES / 1e6
    bulk = bytes(data)

    def keccak_one(m):
        k = keccak.new(digest_bits=256)
        k.update(m)
        return k.digest()

    anchors, cpu_anchors = {}, {}
    for hash, label, one in (("sha256", "hashlib.sha256 per message", lambda m: hashlib.sha256(m).digest()),
                             ("keccak256", "pycryptodome keccak256 per message", keccak_one)):
        anchors[hash] = (label, best_seconds(lambda: [one(m) for m in msgs]))
        cpu_anchors[hash] = CPU_SECONDS["last"]
    sha_bulk = best_seconds(lambda: hashlib.sha256(bulk).digest())
    for hash, fn in (("sha256", hashes.sha256_batch), ("keccak256", hashes.keccak256_batch)):
        anchor, anchor_s = anchors[hash]
        emit(f"{hash}/anchor", MESSAGES, anchor_s, mb / anchor_s, anchor, mb / anchor_s, unit="MB/s",
             cpu_seconds=round(cpu_anchors[hash], 6))
        for name, dev, threads in devices():
            with_threads(name, threads)
            s = best_seconds(lambda: fn((data, offsets), device=dev))
            extra = dict(ratio_vs_bulk=round(sha_bulk / s, 3)) if hash == "sha256" else {}
            if name == "cpu/1thread":
                extra.update(cpu_fields(mb, mb / cpu_anchors[hash]))
            emit(f"{hash}_batch/{name}", MESSAGES, s, mb / s, anchor, mb / anchor_s, unit="MB/s",
                 message_bytes=MESSAGE_BYTES, threads=threads, **extra)
    zc.set_num_threads(0)


if __name__ == "__main__":
    main()
