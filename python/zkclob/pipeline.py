"""The end-to-end job behind ``python -m zkclob run``: a signed order stream is
generated (or read from .npy files), its signatures verified in batches, the
orders matched across symbols with a journal, market data and per-trader risk
derived from the events, the Poseidon2 state root committed after every batch
and checked against a replay of the journal.

The building blocks are usable on their own:

* :func:`generate` -- the deterministic standard workload (``zc_orders_generate``;
  the stream is specified in ``csrc/include/zkclob/book.h``), with
  :func:`engine_settings` for the engine it is made for;
* :func:`encode`, :func:`digest` -- the canonical 52-byte encoding of an order
  and its Keccak-256 digest, the message a trader signs;
* :func:`trader_keys`, :func:`sign`, :func:`verify` -- demo keys derived from a
  seed, batch signing (RFC 6979) and batch verification of order signatures;
* :func:`load_stream` -- a stream from .npy files, validated;
* :func:`run` -- the whole job, returning the report that :func:`format_report`
  prints.

``examples/embed/pipeline.c`` runs the same job through the C API and prints
the same state root for the same seed, size and batch size.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from . import _zkclob, md, risk
from ._zkclob import InternalError, InvalidArgumentError
from .book import ORDER_DTYPE, Engine, EventKind, Reason, Side
from .devices import DeviceLike, devices, find_device

ENCODED_BYTES = 52
"""Bytes of an order's canonical encoding ("ZCORDER1" + the packed ORDER_DTYPE record)."""


@dataclass(frozen=True)
class StreamConfig:
    """Parameters of a generated stream (0 selects the documented default of the C generator)."""
    orders: int = 1_000_000
    seed: int = 0
    symbols: int = 256
    traders: int = 10_000
    capacity: int = 1024
    auction_orders: int = 0
    mid: int = 100_000
    ts_step_ns: int = 1_000_000

    def _tuple(self) -> tuple:
        for name in ("orders", "seed", "symbols", "traders", "capacity", "auction_orders", "mid", "ts_step_ns"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise InvalidArgumentError(f"{name} must be a non-negative integer, got {v!r}")
        if self.seed >= 1 << 64 or self.ts_step_ns >= 1 << 64:
            raise InvalidArgumentError("seed and ts_step_ns must be below 2^64")
        for name in ("symbols", "traders", "capacity"):
            if getattr(self, name) >= 1 << 32:
                raise InvalidArgumentError(f"{name} must be below 2^32")
        if self.mid >= 1 << 63:
            raise InvalidArgumentError("mid must fit in int64")
        return (self.seed, self.symbols, self.traders, self.capacity, self.auction_orders, self.mid,
                self.ts_step_ns)


def generate(config: StreamConfig = StreamConfig()) -> np.ndarray:
    """The stream's ``config.orders`` orders (ORDER_DTYPE), bit-identical to ``zc_orders_generate``."""
    t = config._tuple()
    if config.orders >= 0xFFFFFFFF:
        raise InvalidArgumentError(f"at most 2^32 - 2 orders, got {config.orders}")
    out = np.empty(config.orders, dtype=ORDER_DTYPE)
    _zkclob.orders_generate(t, out)
    return out


def engine_settings(config: StreamConfig = StreamConfig()) -> dict:
    """Engine settings the stream is made for: symbols, capacity, tick_size, lot_size, min_price,
    max_price, ref_price."""
    return _zkclob.orders_engine_config(config._tuple())


def _orders(orders) -> np.ndarray:
    if not isinstance(orders, np.ndarray) or orders.dtype != ORDER_DTYPE:
        raise InvalidArgumentError(f"orders must be a NumPy array of ORDER_DTYPE, got "
                                   f"{getattr(orders, 'dtype', type(orders).__name__)}")
    if orders.ndim != 1:
        raise InvalidArgumentError(f"orders must be 1-D, got shape {orders.shape}")
    return np.ascontiguousarray(orders)


def _rows(name: str, a, width: int) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 2 or a.shape[1] != width:
        raise InvalidArgumentError(f"{name} must be a uint8 array of shape (n, {width}), got "
                                   f"{getattr(a, 'dtype', type(a).__name__)} {getattr(a, 'shape', '')}")
    return np.ascontiguousarray(a)


def encode(orders: np.ndarray) -> np.ndarray:
    """Canonical encodings, uint8 (n, 52): "ZCORDER1" then the packed little-endian record."""
    return _zkclob.order_encode(_orders(orders))


def digest(orders: np.ndarray, device: DeviceLike = "auto") -> np.ndarray:
    """Keccak-256 of each order's canonical encoding, uint8 (n, 32): the digest its trader signs."""
    out, _ = _zkclob.order_digest(_orders(orders), find_device(device))
    return out


def trader_keys(seed: int, traders: int) -> Tuple[np.ndarray, np.ndarray]:
    """Demo keys of traders 0 .. traders-1 under ``seed``: (secret uint8 (traders, 32), public uint8
    (traders, 64) as x || y). Secret keys derived from a seed are for tests and demos only."""
    if not 0 <= seed < 1 << 64 or not 0 <= traders < 1 << 32:
        raise InvalidArgumentError("seed must be in [0, 2^64) and traders in [0, 2^32)")
    return _zkclob.trader_keys(seed, 0, traders, False), _zkclob.trader_keys(seed, 0, traders, True)


def sign(seckeys: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Signatures uint8 (n, 64) r || s of each order by ``seckeys[trader]`` (RFC 6979, low s)."""
    return _zkclob.orders_sign(_rows("seckeys", seckeys, 32), _orders(orders))


def verify(pubkeys: np.ndarray, orders: np.ndarray, signatures: np.ndarray, low_s: bool = False,
           device: DeviceLike = "auto") -> Tuple[np.ndarray, int]:
    """(verdicts bool (n,), id of the device that ran it): signature i valid for order i under
    ``pubkeys[trader]``; a trader without a key is invalid."""
    o = _orders(orders)
    s = _rows("signatures", signatures, 64)
    if s.shape[0] != o.shape[0]:
        raise InvalidArgumentError(f"{o.shape[0]} orders but {s.shape[0]} signatures")
    ok, dev = _zkclob.orders_verify(_rows("pubkeys", pubkeys, 64), o, s, 1 if low_s else 0, find_device(device))
    return ok.view(np.bool_), dev


def _load(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InvalidArgumentError(f"{what} file {path!r} does not exist") from None
    except (ValueError, EOFError, OSError) as e:
        raise InvalidArgumentError(f"{what} file {path!r} is not a readable .npy array "
                                   f"(truncated or corrupt?): {e}") from None


def load_stream(orders_file: str, signatures_file: str, pubkeys_file: str) -> Tuple[np.ndarray, np.ndarray,
                                                                                   np.ndarray]:
    """(orders, signatures, pubkeys) from .npy files written by ``numpy.save``: ORDER_DTYPE (n,),
    uint8 (n, 64) and uint8 (traders, 64) covering every order's trader. Anything else raises
    InvalidArgumentError naming the file."""
    orders = _load(orders_file, "orders")
    sigs = _load(signatures_file, "signatures")
    keys = _load(pubkeys_file, "pubkeys")
    if orders.dtype != ORDER_DTYPE or orders.ndim != 1:
        raise InvalidArgumentError(f"orders file {orders_file!r} must hold a 1-D ORDER_DTYPE array, got "
                                   f"{orders.dtype} of shape {orders.shape}")
    if sigs.dtype != np.uint8 or sigs.shape != (orders.shape[0], 64):
        raise InvalidArgumentError(f"signatures file {signatures_file!r} must hold uint8 of shape "
                                   f"({orders.shape[0]}, 64), got {sigs.dtype} of shape {sigs.shape}")
    if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != 64:
        raise InvalidArgumentError(f"pubkeys file {pubkeys_file!r} must hold uint8 of shape (traders, 64), got "
                                   f"{keys.dtype} of shape {keys.shape}")
    if orders.size and int(orders["trader"].max()) >= keys.shape[0]:
        raise InvalidArgumentError(f"pubkeys file {pubkeys_file!r} has {keys.shape[0]} keys but the orders name "
                                   f"trader {int(orders['trader'].max())}")
    return np.ascontiguousarray(orders), np.ascontiguousarray(sigs), np.ascontiguousarray(keys)


class Progress:
    """One self-overwriting progress line on a terminal; silent otherwise."""

    def __init__(self, stream=None, enabled: Optional[bool] = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._label, self._total, self._t0, self._last = "", 0, 0.0, 0.0

    def start(self, label: str, total: int) -> None:
        self._label, self._total, self._t0, self._last = label, max(total, 1), time.perf_counter(), 0.0
        self.update(0)

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self._last < 0.1 and done < self._total):
            return
        self._last = now
        frac = min(done / self._total, 1.0)
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self._label:<12} [{bar:<30}] {frac:6.1%} {now - self._t0:6.1f}s")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 64 + "\r")
            self.stream.flush()


@dataclass
class Stage:
    stage: str
    items: int
    seconds: float
    device: str

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")


class PipelineError(InternalError):
    """The replayed journal disagrees with the live run."""


def _device_names() -> Dict[int, str]:
    return {d.id: d.spec for d in devices() if d.available}


def _chunks(n: int, size: int):
    for at in range(0, n, size):
        yield at, min(n, at + size)


def _phases(n: int, auction: int) -> List[Tuple[str, int, int]]:
    if not auction:
        return [("continuous", 0, n)]
    return [("open", 0, auction), ("continuous", auction, n - auction), ("close", n - auction, n)]


def _trades(orders: np.ndarray, events: np.ndarray, seq0: int, uncross_ts: int) -> np.ndarray:
    """Fill events as md TRADE_DTYPE rows: the taker order's ts and side (uncross fills: the phase's
    last ts, side unknown)."""
    f = events[events["kind"] == EventKind.FILL]
    t = np.zeros(f.size, dtype=md.TRADE_DTYPE)
    t["price"] = f["price"]
    t["size"] = f["qty"]
    t["symbol"] = f["symbol"]
    if orders is None:
        t["ts"] = uncross_ts
        return t
    idx = (f["seq"] - np.uint64(seq0)).astype(np.int64)
    t["ts"] = orders["ts"][idx]
    t["side"] = np.where(orders["side"][idx] == Side.BUY, 1, -1)
    return t


def _closes(bars: np.ndarray, nsym: int, bar_ns: int, t_end: int) -> np.ndarray:
    """(symbols, intervals) close prices, forward-filled over intervals without trades (NaN before a
    symbol's first trade)."""
    nbar = max(int(t_end // bar_ns) + 1, 1)
    c = np.full((nsym, nbar), np.nan)
    c[bars["symbol"], (bars["t_open"] // np.uint64(bar_ns)).astype(np.int64)] = bars["close"]
    for j in range(1, nbar):
        gap = np.isnan(c[:, j])
        c[gap, j] = c[gap, j - 1]
    return c


def _largest(tracker: "risk.PositionTracker", k: int) -> np.ndarray:
    gross = tracker.gross_notional
    order = np.argsort(-gross, kind="stable")[:k]
    return order[gross[order] > 0]


def run(config: StreamConfig = StreamConfig(), *, orders: Optional[np.ndarray] = None,
        signatures: Optional[np.ndarray] = None, pubkeys: Optional[np.ndarray] = None, batch: int = 65536,
        journal: Optional[str] = None, device: DeviceLike = "auto", low_s: bool = False,
        portfolios: int = 5, mc_paths: int = 20_000, bars: int = 100,
        progress: Optional[Progress] = None, log: Optional[Callable[[str], None]] = None) -> dict:
    """Runs the whole job and returns its report (a dict, JSON-serialisable).

    With ``orders``, ``signatures`` and ``pubkeys`` (see :func:`load_stream`) the given stream is
    used instead of a generated one (``config`` still sets the engine: symbols, capacity, mid,
    auction_orders). Batches of ``batch`` orders are verified and matched; each auction phase is
    cut at its own boundaries. ``journal`` is the journal path (default: a file in a new
    temporary directory, removed afterwards). Raises :class:`PipelineError` when the replayed
    journal does not reproduce the live state root and events.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InvalidArgumentError(f"batch must be a positive integer, got {batch!r}")
    if not isinstance(bars, int) or bars < 2:
        raise InvalidArgumentError(f"bars must be an integer >= 2, got {bars!r}")
    progress = progress or Progress(enabled=False)
    names = _device_names()
    dev = find_device(device)
    cpu = find_device("cpu")
    stages: List[Stage] = []
    t_all = time.perf_counter()

    def timed(name: str, items: int, fn, dev_id: int = cpu):
        t0 = time.perf_counter()
        r = fn()
        stages.append(Stage(name, items, time.perf_counter() - t0, names.get(dev_id, str(dev_id))))
        if log:
            log(f"{name}: {items:,} in {stages[-1].seconds:.2f}s")
        return r

    generated = orders is None
    if generated:
        if signatures is not None or pubkeys is not None:
            raise InvalidArgumentError("signatures and pubkeys come with orders")
        orders = timed("generate", config.orders, lambda: generate(config))
        seckeys, pubkeys = timed("keys", config.traders, lambda: trader_keys(config.seed, config.traders))
        progress.start("sign", orders.size)
        parts = []
        t0 = time.perf_counter()
        for a, b in _chunks(orders.size, batch):
            parts.append(sign(seckeys, orders[a:b]))
            progress.update(b)
        progress.finish()
        signatures = np.concatenate(parts) if parts else np.zeros((0, 64), np.uint8)
        stages.append(Stage("sign", orders.size, time.perf_counter() - t0, names[cpu]))
        del seckeys
    else:
        if signatures is None or pubkeys is None:
            raise InvalidArgumentError("orders need signatures and pubkeys")
        orders = _orders(orders)
        signatures = _rows("signatures", signatures, 64)
        pubkeys = _rows("pubkeys", pubkeys, 64)
        if signatures.shape[0] != orders.size:
            raise InvalidArgumentError(f"{orders.size} orders but {signatures.shape[0]} signatures")
    n = orders.size
    if config.auction_orders * 2 > n:
        raise InvalidArgumentError(f"auction_orders {config.auction_orders}: two auctions do not fit in {n} orders")

    # Verification.
    progress.start("verify", n)
    valid = np.empty(n, dtype=np.uint8)
    vdev = dev
    t0 = time.perf_counter()
    for a, b in _chunks(n, batch):
        ok, vdev = verify(pubkeys, orders[a:b], signatures[a:b], low_s, dev)
        valid[a:b] = ok
        progress.update(b)
    progress.finish()
    stages.append(Stage("verify", n, time.perf_counter() - t0, names.get(vdev, str(vdev))))

    # Matching, market data and positions per batch, the state root after each.
    es = engine_settings(config)
    tmpdir = None
    if journal is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="zkclob-run-")
        journal = os.path.join(tmpdir.name, "run.zcj")
    elif os.path.exists(journal):
        raise InvalidArgumentError(f"journal {journal!r} exists: give a new path")
    try:
        report = _match_and_commit(config, orders, valid, es, journal, dev, batch, bars, portfolios, mc_paths,
                                   names, stages, progress, log)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    report["stages"] = [dict(asdict(s), rate=s.rate) for s in stages]
    report["total_seconds"] = time.perf_counter() - t_all
    report["config"] = dict(asdict(config), orders=n, generated=generated, batch=batch,
                            device=names.get(dev, str(dev)), low_s=low_s)
    report["signatures"] = {"verified": n, "valid": int(valid.sum()), "invalid": int(n - valid.sum())}
    return report


def _match_and_commit(config, orders, valid, es, journal, dev, batch, nbars, portfolios, mc_paths, names,
                      stages, progress, log) -> dict:
    n = orders.size
    nsym = es["symbols"]
    t_match = t_root = t_md = t_risk = 0.0
    eng = Engine(symbols=nsym, capacity=es["capacity"], device=dev, journal=journal, tick_size=es["tick_size"],
                 lot_size=es["lot_size"], price_band=(es["min_price"], es["max_price"]), ref_price=es["ref_price"])
    l2 = md.L2Book(nsym, levels=es["capacity"])  # a side never has more levels than resting orders
    traders = max(config.traders, int(orders["trader"].max()) + 1 if n else 1)
    tracker = risk.PositionTracker(traders, nsym)
    trades, counts = [], np.zeros(len(EventKind), dtype=np.int64)
    bad_sig = 0
    roots = 0
    all_syms = np.arange(nsym, dtype=np.uint32)
    events_total = 0

    def account(o_acc, ev, seq0, uncross_ts):
        nonlocal t_md, t_risk, events_total
        t0 = time.perf_counter()
        l2.apply_engine(o_acc if o_acc is not None else np.zeros(0, ORDER_DTYPE), ev)
        trades.append(_trades(o_acc, ev, seq0, uncross_ts))
        t1 = time.perf_counter()
        tracker.update(o_acc, ev)
        t_risk += time.perf_counter() - t1
        t_md += t1 - t0
        counts[:] += np.bincount(ev["kind"], minlength=len(EventKind))
        events_total += ev.size

    def commit():
        nonlocal t_root, roots
        t0 = time.perf_counter()
        root = eng.state_root()
        t_root += time.perf_counter() - t0
        roots += 1
        return root

    progress.start("match", n)
    for phase, a, b in _phases(n, config.auction_orders):
        if phase != "continuous" or config.auction_orders:
            t0 = time.perf_counter()
            for s in range(nsym):
                eng.set_mode(s, "continuous" if phase == "continuous" else "auction")
            t_match += time.perf_counter() - t0
        for lo, hi in _chunks(b - a, batch):
            o, v = orders[a + lo:a + hi], valid[a + lo:a + hi]
            t0 = time.perf_counter()
            seq0 = eng.next_seq
            ev = eng.submit_verified(o, v)
            t_match += time.perf_counter() - t0
            ok = v.astype(bool)
            bad_sig += int(o.size - ok.sum())
            o_acc = o if ok.all() else np.ascontiguousarray(o[ok])
            account(o_acc, ev[ev["reason"] != Reason.BAD_SIGNATURE], seq0, 0)
            commit()
            progress.update(a + hi)
        if phase != "continuous":
            t0 = time.perf_counter()
            ev = eng.uncross(all_syms)
            t_match += time.perf_counter() - t0
            account(None, ev, 0, int(orders["ts"][b - 1]) if b else 0)
            commit()
    progress.finish()
    live_root = commit()
    info = eng.info()
    device_name = names.get(info["device"], str(info["device"]))
    stages.append(Stage("match", n, t_match, device_name))
    stages.append(Stage("state root", roots, t_root, device_name))  # the tree is hashed on the engine's device
    eng.close()

    # Market data over the whole run: bars, indicators on bar closes, order flow, depth metrics.
    t0 = time.perf_counter()
    tr = np.concatenate(trades) if trades else np.zeros(0, md.TRADE_DTYPE)
    t_end = int(orders["ts"].max()) if n else 1
    bar_ns = max(t_end // nbars + 1, 1)
    tr_sorted = tr[np.argsort(tr["ts"], kind="stable")]
    bar = md.bars(tr_sorted, "time", float(bar_ns), nsym=nsym)
    closes = _closes(bar, nsym, bar_ns, t_end)
    ind = md.compute([("ema", 20), ("rsi", 14), ("bbands", 20, 2.0, 2.0)], close=closes, device=dev)
    md_dev = md.last_device
    flow = md.order_flow(tr_sorted, nsym=nsym) if tr.size else None
    depth = l2.metrics(levels=5)
    t_md += time.perf_counter() - t0
    stages.append(Stage("market data", events_total, t_md, names.get(md_dev, str(md_dev))))

    # Risk: mark to the last trade, correlation of bar returns, Monte Carlo VaR/ES of the largest books.
    t0 = time.perf_counter()
    last = closes[:, -1]
    marks = np.where(np.isnan(last), float(es["ref_price"]), last)
    tracker.mark(marks)
    filled = np.where(np.isnan(closes), marks[:, None], closes)
    rets = np.diff(np.log(filled), axis=1).T  # (intervals, symbols)
    window = rets.shape[0]
    corr_report = {"observations": int(window)}
    cov = np.cov(rets, rowvar=False) if window >= 2 else np.eye(nsym) * 1e-6
    if window >= 8 and nsym >= 2:
        ct = risk.CorrelationTracker(nsym, window=window, short_window=max(window // 4, 2))
        ct.update(rets)
        det = ct.detect()
        c = ct.corr("rolling")
        iu = np.triu_indices(nsym, 1)
        corr_report.update(mean_pairwise=float(np.nanmean(c[iu])), alert=bool(det["alert"]),
                           breakdown_pairs=int(det["pairs"].size), max_abs_z=float(det["max_abs_z"]),
                           eig_alert=bool(det["eig_alert"]))
    # Sample covariance of fewer intervals than symbols is singular: shrink towards its diagonal.
    d = np.diag(cov).copy()
    d[d <= 0] = max(float(d[d > 0].mean()) if (d > 0).any() else 1e-8, 1e-12)
    cov = 0.8 * cov + 0.2 * np.diag(d)
    np.fill_diagonal(cov, np.maximum(np.diag(cov), 1e-12))
    pos = tracker.position
    books = []
    rdev = find_device("cpu")
    for t in _largest(tracker, portfolios):
        held = np.flatnonzero(pos[t])
        if held.size == 0:
            continue
        r = risk.monte_carlo(marks[held], cov[np.ix_(held, held)], quantities=pos[t, held].astype(np.float64),
                             confidence=0.99, paths=mc_paths, seed=int(t), device=dev)
        rdev = r.device
        books.append({"trader": int(t), "symbols": int(held.size), "gross_notional": float(tracker.gross_notional[t]),
                      "pnl": float(tracker.pnl[t]), "var_99": r.var, "es_99": r.es})
    t_risk += time.perf_counter() - t0
    stages.append(Stage("risk", int(tracker.gross_notional.size), t_risk, names.get(rdev, str(rdev))))

    # Replay the journal: the same events and the same root, or the run is wrong.
    t0 = time.perf_counter()
    replayed, rev = Engine.replay(journal, device=dev)
    replay_root = replayed.state_root()
    replayed.close()
    stages.append(Stage("replay", int(rev.size), time.perf_counter() - t0, device_name))
    if replay_root != live_root or rev.size != events_total:
        raise PipelineError(f"journal replay disagrees with the live run: root {replay_root.hex()} vs "
                            f"{live_root.hex()}, {rev.size} vs {events_total} events")

    spread = depth["spread"]
    rsi = ind["rsi(14)"][:, -1]
    market = {
        "trades": int(tr.size), "volume": float(tr["size"].sum()),
        "bars": int(bar.size), "bar_seconds": bar_ns / 1e9,
        "median_spread": float(np.nanmedian(spread)) if np.isfinite(spread).any() else None,
        "mean_imbalance_1": float(np.nanmean(depth["imbalance_1"])) if np.isfinite(depth["imbalance_1"]).any()
        else None,
        "mean_rsi_14": float(np.nanmean(rsi)) if np.isfinite(rsi).any() else None,
        "above_upper_band": int((closes[:, -1] > ind["bbands(20,2.0,2.0).upper"][:, -1]).sum()),
        "below_lower_band": int((closes[:, -1] < ind["bbands(20,2.0,2.0).lower"][:, -1]).sum()),
        "vpin_buckets": int(flow["vpin"].size) if flow else 0,
        "mean_vpin": float(np.nanmean(flow["vpin"]["vpin"])) if flow and flow["vpin"].size else None,
        "institutional_share": float(flow["institutional"].mean()) if flow else None,
    }
    return {
        "state_root": live_root.hex(), "replay_root": replay_root.hex(), "roots_match": True,
        "batches": roots - 1, "events": events_total, "resting": int(info["resting"]),
        "event_counts": {k.name.lower(): int(counts[k]) for k in EventKind},
        "bad_signature_rejects": bad_sig,
        "market": market,
        "risk": {"traders_with_fills": int((tracker.gross_notional > 0).sum()),
                 "largest": books, "correlation": corr_report},
    }


def format_report(r: dict) -> str:
    """The report as a text table of stages and headline figures."""
    rows = [("stage", "items", "seconds", "items/s", "device")]
    for s in r["stages"]:
        rows.append((s["stage"], f"{s['items']:,}", f"{s['seconds']:.3f}", f"{s['rate']:,.0f}", s["device"]))
    w = [max(len(x[i]) for x in rows) for i in range(5)]
    lines = ["  ".join(c.rjust(w[i]) if 0 < i < 4 else c.ljust(w[i]) for i, c in enumerate(x)) for x in rows]
    c, m, k = r["config"], r["market"], r["risk"]
    sig = r["signatures"]
    lines += [
        "",
        f"orders {c['orders']:,} ({'generated, seed ' + str(c['seed']) if c['generated'] else 'from files'}), "
        f"{c['symbols']} symbols, {c['traders']:,} traders, batches of {c['batch']:,}"
        + (f", auctions of {c['auction_orders']:,} orders" if c["auction_orders"] else ""),
        f"signatures: {sig['valid']:,} valid, {sig['invalid']:,} invalid (rejected, not journaled)",
        "events: " + ", ".join(f"{v:,} {k}" for k, v in r["event_counts"].items()) + f"; {r['resting']:,} resting",
        f"market: {m['trades']:,} trades, volume {m['volume']:,.0f}, {m['bars']:,} bars of {m['bar_seconds']:g}s, "
        f"median spread {_fmt(m['median_spread'])} ticks, mean RSI(14) {_fmt(m['mean_rsi_14'])}, "
        f"mean VPIN {_fmt(m['mean_vpin'], 3)}",
        f"risk: {k['traders_with_fills']:,} traders with positions; correlation "
        + (f"mean {k['correlation']['mean_pairwise']:+.3f}, breakdown pairs {k['correlation']['breakdown_pairs']}"
           if "mean_pairwise" in k["correlation"] else "not enough bars"),
    ]
    for b in k["largest"]:
        lines.append(f"  trader {b['trader']:>6}: {b['symbols']:>3} symbols, gross {b['gross_notional']:,.0f}, "
                     f"P&L {b['pnl']:+,.0f}, VaR99 {b['var_99']:,.0f}, ES99 {b['es_99']:,.0f}")
    lines += [f"state root {r['state_root']} (replay: {'match' if r['roots_match'] else 'MISMATCH'})",
              f"total {r['total_seconds']:.2f}s"]
    return "\n".join(lines)


def _fmt(v, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


__all__ = ["ENCODED_BYTES", "PipelineError", "Progress", "Stage", "StreamConfig", "digest", "encode",
           "engine_settings", "format_report", "generate", "load_stream", "run", "sign", "trader_keys", "verify"]
