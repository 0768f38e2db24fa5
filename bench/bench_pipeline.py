"""The end-to-end pipeline (``python -m zkclob run``) stage by stage.
Prints one JSON line per stage: {"bench", "n", "seconds", "rate", "anchor", "ratio"}, then one for
the whole run (rate = orders/s).

Size: ZC_BENCH_PIPELINE_N orders (default 100000; `python -m zkclob run` uses 1M), 256 symbols,
10000 traders, seed 0, device ZC_BENCH_PIPELINE_DEVICE (default cpu). Anchor: coincurve
(libsecp256k1) verifying 2000 of the same signed orders one call at a time in this process, in
verifications/s; each stage's ratio is its items/s over that rate, so ratio tells how many
single-core libsecp256k1 verifications a stage's items cost.
"""

import json
import os
import time

import coincurve

from zkclob import pipeline

N = int(os.environ.get("ZC_BENCH_PIPELINE_N", 100_000))
DEVICE = os.environ.get("ZC_BENCH_PIPELINE_DEVICE", "cpu")
ANCHOR_N = 2000


def anchor_rate(cfg: pipeline.StreamConfig) -> float:
    orders = pipeline.generate(pipeline.StreamConfig(**{**cfg.__dict__, "orders": ANCHOR_N}))
    sk, pk = pipeline.trader_keys(cfg.seed, cfg.traders)
    sigs = pipeline.sign(sk, orders)
    dig = pipeline.digest(orders)
    keys = [coincurve.PublicKey(b"\x04" + pk[t].tobytes()) for t in orders["trader"]]
    der = [coincurve.ecdsa.cdata_to_der(coincurve.ecdsa.deserialize_compact(s.tobytes())) for s in sigs]
    t0 = time.perf_counter()
    ok = all(k.verify(d, m.tobytes(), hasher=None) for k, d, m in zip(keys, der, dig))
    dt = time.perf_counter() - t0
    assert ok
    return ANCHOR_N / dt


def emit(bench, n, seconds, rate, anchor):
    print(json.dumps({"bench": bench, "n": n, "seconds": round(seconds, 6), "rate": round(rate, 1),
                      "anchor": "py/pipeline/coincurve_verify", "ratio": round(rate / anchor, 4)}), flush=True)


def main():
    cfg = pipeline.StreamConfig(orders=N)
    anchor = anchor_rate(cfg)
    emit("py/pipeline/coincurve_verify", ANCHOR_N, ANCHOR_N / anchor, anchor, anchor)
    r = pipeline.run(cfg, device=DEVICE)
    for s in r["stages"]:
        emit(f"py/pipeline/{s['stage'].replace(' ', '_')}", s["items"], s["seconds"], s["rate"], anchor)
    emit("py/pipeline/total", N, r["total_seconds"], N / r["total_seconds"], anchor)


if __name__ == "__main__":
    main()
