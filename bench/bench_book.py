"""Python Engine.submit throughput on 1M-order arrays against the same C call
(zc_engine_submit through ctypes on libzkclob, the anchor) in the same process,
on one cpu thread each, prefaulted engines, best of REPEATS fresh engines.

The stream follows bench_book.c's standard workload (100 symbols, 70% gtc limit
orders 1 + |N(0, 10)| ticks from the mid on their own side, 20% cancels of live
orders, 10% ioc orders 20 ticks through the mid), drawn from numpy's Philox
instead of zkclob's, with liveness tracked by matching it while it is drawn.
Prints one JSON line per case; ratio = rate / anchor rate."""

import ctypes
import json
import os
import pathlib
import time

import numpy as np

import zkclob as zc
from zkclob.book import EventKind, OrderType, TIF

N = int(os.environ.get("ZC_BENCH_BOOK_N", 1_000_000))
SYMBOLS, MID, SIGMA, CAPACITY, CHUNK = 100, 100_000, 10.0, 8192, 10_000
REPEATS = 3


def drop(ids, where, oid):
    i = where.pop(oid)
    last = ids.pop()
    if last != oid:
        ids[i] = last
        where[last] = i


def generate(n, seed=20240601):
    rng = np.random.Generator(np.random.Philox(key=seed))
    out = np.zeros(n, dtype=zc.ORDER_DTYPE)
    gen = zc.Engine(symbols=SYMBOLS, capacity=CAPACITY, device="cpu", price_band=(1, 2 * MID))
    live = [[] for _ in range(SYMBOLS)]  # per symbol: live ids, removed by swapping with the last
    where = {}  # id -> index in its symbol's live list
    owner, symbol_of, open_qty = {}, {}, {}
    next_id = 1
    for c0 in range(0, n, CHUNK):
        k = min(CHUNK, n - c0)
        o = out[c0:c0 + k]
        sym = rng.integers(0, SYMBOLS, k)
        u = rng.random(k)
        side = rng.integers(0, 2, k)
        z = np.abs(rng.standard_normal(k))
        pick = rng.integers(0, 1 << 62, k)
        trader = rng.integers(0, 1000, k)
        small, large = rng.integers(1, 11, k), rng.integers(10, 41, k)
        ids, traders, types = np.zeros(k, np.uint64), trader.astype(np.uint32), np.zeros(k, np.uint8)
        tifs, prices, qtys = np.zeros(k, np.uint8), np.zeros(k, np.int64), np.zeros(k, np.int64)
        for i, (s, ui, zi, buy) in enumerate(zip(sym.tolist(), u.tolist(), z.tolist(), (side == 0).tolist())):
            if 0.7 <= ui < 0.9 and live[s]:
                oid = live[s][int(pick[i]) % len(live[s])]
                drop(live[s], where, oid)
                ids[i], traders[i], types[i] = oid, owner[oid], OrderType.CANCEL
                continue
            oid = next_id
            next_id += 1
            ids[i] = oid
            owner[oid], symbol_of[oid] = int(trader[i]), s
            if ui >= 0.9:
                tifs[i], prices[i], qtys[i] = TIF.IOC, MID + 20 if buy else MID - 20, large[i]
            else:
                off = 1 + int(zi * SIGMA)
                prices[i], qtys[i] = MID - off if buy else MID + off, small[i]
                open_qty[oid] = int(small[i])
                where[oid] = len(live[s])
                live[s].append(oid)
        o["id"], o["trader"], o["symbol"], o["side"], o["type"] = ids, traders, sym, side, types
        o["tif"], o["price"], o["qty"] = tifs, prices, qtys
        ev = gen.submit(o)
        fills = ev[ev["kind"] == EventKind.FILL]
        for maker, q in zip(fills["maker_id"].tolist(), fills["qty"].tolist()):
            open_qty[maker] -= q
            if open_qty[maker] == 0 and maker in where:
                drop(live[symbol_of[maker]], where, maker)
    gen.close()
    return out


class SymbolConfig(ctypes.Structure):
    _fields_ = [("tick_size", ctypes.c_int64), ("lot_size", ctypes.c_int64), ("min_price", ctypes.c_int64),
                ("max_price", ctypes.c_int64), ("ref_price", ctypes.c_int64), ("mode", ctypes.c_uint32)]


class EngineConfig(ctypes.Structure):
    _fields_ = [("symbols", ctypes.c_uint32), ("capacity", ctypes.c_uint32), ("defaults", SymbolConfig),
                ("per_symbol", ctypes.c_void_p), ("device", ctypes.c_char_p), ("threads", ctypes.c_int),
                ("journal", ctypes.c_char_p), ("fsync", ctypes.c_int), ("fsync_every", ctypes.c_uint32),
                ("hash_seed", ctypes.c_uint64), ("prefault", ctypes.c_int)]


def c_library():
    build = pathlib.Path(os.environ.get("ZC_BUILD_DIR", pathlib.Path(__file__).resolve().parents[1] / "build"))
    lib = ctypes.CDLL(str(build / "lib" / "libzkclob.so"))
    lib.zc_engine_create.argtypes = [ctypes.POINTER(EngineConfig), ctypes.POINTER(ctypes.c_void_p)]
    lib.zc_engine_submit.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                     ctypes.POINTER(ctypes.c_void_p)]
    lib.zc_engine_destroy.argtypes = [ctypes.c_void_p]
    lib.zc_array_release.argtypes = [ctypes.c_void_p]
    lib.zc_array_nbytes.argtypes = [ctypes.c_void_p]
    lib.zc_array_nbytes.restype = ctypes.c_size_t
    return lib


def c_submit_seconds(lib, orders):
    cfg = EngineConfig(symbols=SYMBOLS, capacity=CAPACITY, device=b"cpu", threads=1, prefault=1)
    cfg.defaults.min_price, cfg.defaults.max_price = 1, 2 * MID
    eng, events = ctypes.c_void_p(), ctypes.c_void_p()
    if lib.zc_engine_create(ctypes.byref(cfg), ctypes.byref(eng)) != 0:
        raise RuntimeError("zc_engine_create failed")
    t0 = time.perf_counter()
    st = lib.zc_engine_submit(eng, orders.ctypes.data, len(orders), ctypes.byref(events))
    dt = time.perf_counter() - t0
    assert st == 0 and lib.zc_array_nbytes(events) > 0
    lib.zc_array_release(events)
    lib.zc_engine_destroy(eng)
    return dt


def py_submit_seconds(orders):
    eng = zc.Engine(symbols=SYMBOLS, capacity=CAPACITY, device="cpu", threads=1, price_band=(1, 2 * MID),
                    prefault=True)
    t0 = time.perf_counter()
    events = eng.submit(orders)
    dt = time.perf_counter() - t0
    assert len(events) > 0
    eng.close()
    return dt


def emit(bench, seconds, anchor_rate):
    rate = N / seconds
    print(json.dumps(dict(bench=bench, n=N, seconds=round(seconds, 6), rate=round(rate),
                          anchor="c/book/submit/ctypes", ratio=round(rate / anchor_rate, 3))), flush=True)


def main():
    orders = generate(N)
    lib = c_library()
    c_best = min(c_submit_seconds(lib, orders) for _ in range(REPEATS))
    py_best = min(py_submit_seconds(orders) for _ in range(REPEATS))
    anchor_rate = N / c_best
    emit("c/book/submit/ctypes", c_best, anchor_rate)
    emit("python/book/submit", py_best, anchor_rate)


if __name__ == "__main__":
    main()
