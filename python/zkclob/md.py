"""Market data: technical indicators over many symbols, streaming indicator
state, L2 books with depth analytics, trade bars and order-flow analysis.

Indicators
----------
Every indicator takes 1-D (one symbol) or 2-D ``(symbols, time)`` arrays and
returns arrays of the same shape (a tuple for MACD, BBANDS and STOCH). All
symbols are computed in parallel on the chosen device; results are the
engine's memory viewed by NumPy without a copy.

Definitions are TA-Lib's (the C library in the ``TA-Lib`` 0.8.x wheels): the
same lookbacks, seeds and smoothing, and the same floating-point operations,
so outputs equal TA-Lib's bit for bit on finite data; cpu, opencl and cuda
give identical bits (no transcendental functions are involved).

NaN policy (gaps). A bar where any input the indicator reads is NaN or
infinite is a gap: its outputs are NaN and the indicator restarts after it.
Each maximal run of complete bars is therefore computed exactly as TA-Lib
computes that run on its own, with NaN over the run's lookback. Leading NaNs
are the first gap, which matches TA-Lib's Python wrapper. (Called on a whole
array with an interior NaN, TA-Lib lets the NaN into its recurrences: moving
averages stay NaN to the end, RSI reads 0 or 50 depending on its version.)

Deviation from the reference wheel, by design: a rolling VWAP window whose
volume is all zero is NaN (0/0). The 0.8.x wheel returns the rounding residue
of the bars that left the window there (TA-Lib fixed this upstream, #446).

Negative volume raises :class:`zkclob.InvalidArgumentError`; inputs must be
real numbers (float64 is used in place, integer and float32 arrays are
converted), 1-D or 2-D, all of one shape.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _zkclob
from ._zkclob import InvalidArgumentError
from .devices import DeviceLike, find_device

last_device: int = -1
"""Id of the device that ran the latest indicator call."""

# name: (kind, number of periods, number of real parameters, output names)
_KINDS = {
    "sma": (_zkclob.MD_SMA, 1, 0, ("sma",)),
    "ema": (_zkclob.MD_EMA, 1, 0, ("ema",)),
    "wma": (_zkclob.MD_WMA, 1, 0, ("wma",)),
    "dema": (_zkclob.MD_DEMA, 1, 0, ("dema",)),
    "tema": (_zkclob.MD_TEMA, 1, 0, ("tema",)),
    "rsi": (_zkclob.MD_RSI, 1, 0, ("rsi",)),
    "macd": (_zkclob.MD_MACD, 3, 0, ("macd", "signal", "hist")),
    "bbands": (_zkclob.MD_BBANDS, 1, 2, ("upper", "middle", "lower")),
    "atr": (_zkclob.MD_ATR, 1, 0, ("atr",)),
    "stoch": (_zkclob.MD_STOCH, 3, 0, ("slowk", "slowd")),
    "willr": (_zkclob.MD_WILLR, 1, 0, ("willr",)),
    "cci": (_zkclob.MD_CCI, 1, 0, ("cci",)),
    "adx": (_zkclob.MD_ADX, 1, 0, ("adx",)),
    "mfi": (_zkclob.MD_MFI, 1, 0, ("mfi",)),
    "obv": (_zkclob.MD_OBV, 0, 0, ("obv",)),
    "vwap": (_zkclob.MD_VWAP, 1, 0, ("vwap",)),
    "stddev": (_zkclob.MD_STDDEV, 1, 1, ("stddev",)),
    "zscore": (_zkclob.MD_ZSCORE, 1, 0, ("zscore",)),
}

# Inputs each indicator reads, in (high, low, close, volume) order.
_INPUTS = {
    "atr": "hlc", "stoch": "hlc", "willr": "hlc", "cci": "hlc", "adx": "hlc",
    "mfi": "hlcv", "vwap": "hlcv", "obv": "cv",
}


def _as_prices(name: str, a, shape: Optional[tuple] = None) -> np.ndarray:
    """A C-contiguous float64 view (or converted copy) of a real 1-D/2-D array."""
    if isinstance(a, np.ndarray) and a.dtype == np.float64 and a.flags.c_contiguous and a.flags.aligned \
            and a.dtype.isnative:
        arr = a
    else:
        arr = np.asarray(a)
        if arr.dtype.kind not in "fiu" or arr.dtype.names is not None:
            raise InvalidArgumentError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise InvalidArgumentError(f"{name} must be 1-D or 2-D, got {arr.ndim} dimensions")
    if shape is not None and arr.shape != shape:
        raise InvalidArgumentError(f"{name} has shape {arr.shape}, expected {shape}")
    return arr


def _int_param(name: str, v) -> int:
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise InvalidArgumentError(f"{name} must be an integer, got {type(v).__name__}")
    v = v.__index__()
    if not -2**31 <= v < 2**31:
        raise InvalidArgumentError(f"{name} = {v} is out of range")
    return v


def _spec(name: str, periods: Sequence = (), params: Sequence = ()) -> tuple:
    kind, nper, npar, _ = _KINDS[name]
    p = [_int_param(f"{name} period", x) for x in periods] + [0] * (3 - len(periods))
    d = [float(x) for x in params] + [0.0] * (2 - len(params))
    return (kind, p[0], p[1], p[2], d[0], d[1])


def _run(name: str, periods: Sequence, params: Sequence, device: DeviceLike, **inputs):
    global last_device
    needed = _INPUTS.get(name, "c")
    arrays = {}
    shape = None
    for key, letter in (("high", "h"), ("low", "l"), ("close", "c"), ("volume", "v")):
        if letter in needed:
            arrays[key] = _as_prices(key, inputs[key], shape)
            shape = arrays[key].shape
    spec = _spec(name, periods, params)
    outs, last_device = _zkclob.md_indicator(*spec, find_device(device), arrays.get("high"), arrays.get("low"),
                                             arrays.get("close"), arrays.get("volume"))
    if len(shape) == 1:
        outs = tuple(o.reshape(shape) for o in outs)
    return outs[0] if len(outs) == 1 else outs


def sma(close, timeperiod: int = 30, device: DeviceLike = "auto") -> np.ndarray:
    """Simple moving average (TA-Lib SMA)."""
    return _run("sma", (timeperiod,), (), device, close=close)


def ema(close, timeperiod: int = 30, device: DeviceLike = "auto") -> np.ndarray:
    """Exponential moving average, k = 2 / (n + 1), seeded by the SMA of the first n bars (TA-Lib EMA)."""
    return _run("ema", (timeperiod,), (), device, close=close)


def wma(close, timeperiod: int = 30, device: DeviceLike = "auto") -> np.ndarray:
    """Linearly weighted moving average (TA-Lib WMA)."""
    return _run("wma", (timeperiod,), (), device, close=close)


def dema(close, timeperiod: int = 30, device: DeviceLike = "auto") -> np.ndarray:
    """Double EMA: 2 EMA - EMA(EMA) (TA-Lib DEMA)."""
    return _run("dema", (timeperiod,), (), device, close=close)


def tema(close, timeperiod: int = 30, device: DeviceLike = "auto") -> np.ndarray:
    """Triple EMA: 3 EMA - 3 EMA(EMA) + EMA(EMA(EMA)) (TA-Lib TEMA)."""
    return _run("tema", (timeperiod,), (), device, close=close)


def rsi(close, timeperiod: int = 14, device: DeviceLike = "auto") -> np.ndarray:
    """Relative strength index with Wilder smoothing (TA-Lib RSI); 0 when there was no move at all."""
    return _run("rsi", (timeperiod,), (), device, close=close)


def macd(close, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9,
         device: DeviceLike = "auto") -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd, signal, hist) as TA-Lib MACD (periods swapped when slow < fast)."""
    return _run("macd", (fastperiod, slowperiod, signalperiod), (), device, close=close)


def bbands(close, timeperiod: int = 5, nbdevup: float = 2.0, nbdevdn: float = 2.0,
           device: DeviceLike = "auto") -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, middle, lower) Bollinger Bands over the SMA with the population deviation (TA-Lib BBANDS,
    matype=0)."""
    return _run("bbands", (timeperiod,), (nbdevup, nbdevdn), device, close=close)


def atr(high, low, close, timeperiod: int = 14, device: DeviceLike = "auto") -> np.ndarray:
    """Average true range with Wilder smoothing (TA-Lib ATR)."""
    return _run("atr", (timeperiod,), (), device, high=high, low=low, close=close)


def stoch(high, low, close, fastk_period: int = 5, slowk_period: int = 3, slowd_period: int = 3,
          device: DeviceLike = "auto") -> Tuple[np.ndarray, np.ndarray]:
    """(slowk, slowd) stochastic oscillator with SMA smoothing (TA-Lib STOCH, matypes 0)."""
    return _run("stoch", (fastk_period, slowk_period, slowd_period), (), device, high=high, low=low, close=close)


def willr(high, low, close, timeperiod: int = 14, device: DeviceLike = "auto") -> np.ndarray:
    """Williams %R (TA-Lib WILLR)."""
    return _run("willr", (timeperiod,), (), device, high=high, low=low, close=close)


def cci(high, low, close, timeperiod: int = 14, device: DeviceLike = "auto") -> np.ndarray:
    """Commodity channel index (TA-Lib CCI)."""
    return _run("cci", (timeperiod,), (), device, high=high, low=low, close=close)


def adx(high, low, close, timeperiod: int = 14, device: DeviceLike = "auto") -> np.ndarray:
    """Average directional index (TA-Lib ADX)."""
    return _run("adx", (timeperiod,), (), device, high=high, low=low, close=close)


def mfi(high, low, close, volume, timeperiod: int = 14, device: DeviceLike = "auto") -> np.ndarray:
    """Money flow index (TA-Lib MFI)."""
    return _run("mfi", (timeperiod,), (), device, high=high, low=low, close=close, volume=volume)


def obv(close, volume, device: DeviceLike = "auto") -> np.ndarray:
    """On-balance volume (TA-Lib OBV)."""
    return _run("obv", (), (), device, close=close, volume=volume)


def vwap(high, low, close, volume, timeperiod: int = 0, device: DeviceLike = "auto") -> np.ndarray:
    """VWAP of the typical price (h + l + c) / 3: over the last ``timeperiod`` bars (TA-Lib
    VWMA(TYPPRICE, volume)), or cumulative over each gap-free run when 0 (TA-Lib VWAP)."""
    return _run("vwap", (timeperiod,), (), device, high=high, low=low, close=close, volume=volume)


def stddev(close, timeperiod: int = 5, nbdev: float = 1.0, device: DeviceLike = "auto") -> np.ndarray:
    """Rolling population standard deviation times nbdev (TA-Lib STDDEV)."""
    return _run("stddev", (timeperiod,), (nbdev,), device, close=close)


def zscore(close, timeperiod: int = 20, device: DeviceLike = "auto") -> np.ndarray:
    """(close - SMA) / STDDEV over the window (population form); 0 where the deviation is 0."""
    return _run("zscore", (timeperiod,), (), device, close=close)


def lookback(name: str, *periods: int) -> int:
    """Bars consumed before the first output of a gap-free run (TA-Lib's lookback)."""
    if name not in _KINDS:
        raise InvalidArgumentError(f"unknown indicator {name!r}")
    p = list(periods) + [0] * (3 - len(periods))
    return {
        "dema": 2 * (p[0] - 1), "tema": 3 * (p[0] - 1), "rsi": p[0], "atr": p[0], "mfi": p[0],
        "macd": max(p[0], p[1]) - 1 + p[2] - 1, "stoch": p[0] + p[1] + p[2] - 3, "adx": 2 * p[0] - 1, "obv": 0,
        "vwap": max(p[0] - 1, 0),
    }.get(name, p[0] - 1)


_DEFAULTS = {
    "sma": (30,), "ema": (30,), "wma": (30,), "dema": (30,), "tema": (30,), "rsi": (14,), "macd": (12, 26, 9),
    "bbands": (5, 2.0, 2.0), "atr": (14,), "stoch": (5, 3, 3), "willr": (14,), "cci": (14,), "adx": (14,),
    "mfi": (14,), "obv": (), "vwap": (0,), "stddev": (5, 1.0), "zscore": (20,),
}


def _parse_specs(indicators):
    """(C specs, column names, inputs read) of ("name", *params) items (or bare names for the defaults)."""
    specs, names, needs = [], [], set()
    for item in indicators:
        if isinstance(item, str):
            item = (item,)
        name, args = item[0], tuple(item[1:])
        if name not in _KINDS:
            raise InvalidArgumentError(f"unknown indicator {name!r}")
        _, nper, npar, outs = _KINDS[name]
        args = args or _DEFAULTS[name]
        if len(args) > nper + npar:
            raise InvalidArgumentError(f"{name} takes at most {nper + npar} parameters, got {len(args)}")
        full = tuple(args) + _DEFAULTS[name][len(args):]
        specs.append(_spec(name, full[:nper], full[nper:]))
        label = f"{name}({','.join(str(a) for a in full)})"
        names += [label] if len(outs) == 1 else [f"{label}.{o}" for o in outs]
        needs.update(_INPUTS.get(name, "c"))
    if not specs:
        raise InvalidArgumentError("at least one indicator is needed")
    return specs, tuple(names), needs


def compute(indicators: Iterable[Union[str, Sequence]], close=None, high=None, low=None, volume=None,
            device: DeviceLike = "auto", out: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """Several indicators over the same bars in one pass: on the cpu each group of symbols runs every indicator
    while its rows are in cache. ``indicators`` as for :class:`Streaming`; returns {column: array shaped like
    the inputs}, views of one engine-owned array, equal bit for bit to the single-indicator functions.

    ``out``: a writable C-contiguous float64 array of shape ``(columns,) + inputs' shape`` (columns = outputs of
    all indicators, ``len`` of the result) that is filled in place and viewed by the result, with no allocation
    and no page faults when it is reused across calls. It must not overlap the inputs."""
    global last_device
    specs, names, needs = _parse_specs(indicators)
    arrays, shape = {}, None
    for key, letter, a in (("high", "h", high), ("low", "l", low), ("close", "c", close), ("volume", "v", volume)):
        if letter in needs:
            if a is None:
                raise InvalidArgumentError(f"these indicators need {key}")
            arrays[key] = _as_prices(key, a, shape)
            shape = arrays[key].shape
    dst = None
    if out is not None:
        want = (len(names),) + shape
        if not isinstance(out, np.ndarray) or out.dtype != np.float64 or not out.dtype.isnative \
                or not out.flags.c_contiguous or not out.flags.aligned or not out.flags.writeable:
            raise InvalidArgumentError("out must be a writable C-contiguous float64 array")
        if out.shape != want:
            raise InvalidArgumentError(f"out has shape {out.shape}, expected {want}")
        if any(np.may_share_memory(out, a) for a in arrays.values()):
            raise InvalidArgumentError("out must not overlap the inputs")
        dst = out.reshape((len(names), 1, shape[0]) if len(shape) == 1 else want)
    res, last_device = _zkclob.md_indicators(specs, find_device(device), arrays.get("high"), arrays.get("low"),
                                             arrays.get("close"), arrays.get("volume"), dst)
    return {name: res[j].reshape(shape) for j, name in enumerate(names)}


class Streaming:
    """Per-symbol streaming state for a set of indicators.

    ``Streaming(nsym, [("sma", 20), ("macd", 12, 26, 9), ("bbands", 20, 2.0, 2.0), "rsi"])`` keeps the
    state of every indicator for every symbol. Each update costs O(1) per bar and indicator (amortised for
    those that rebuild a window sum or extremes every so many bars; CCI is O(period)), and its outputs equal
    the batch functions over the whole history, bit for bit, with the same gap rule. Runs on the cpu backend.

    Outputs are dicts keyed by column name (``"sma(20)"``, ``"macd(12,26,9).signal"``...), whose values are
    views of one engine-owned array.
    """

    def __init__(self, nsym: int, indicators: Iterable[Union[str, Sequence]]):
        nsym = _int_param("nsym", nsym)
        if nsym <= 0:
            raise InvalidArgumentError(f"nsym must be positive, got {nsym}")
        specs, names, self._needs = _parse_specs(indicators)
        self.nsym = nsym
        self.columns: Tuple[str, ...] = names
        self._s = _zkclob.MDStream(nsym, specs)
        self._out: Optional[np.ndarray] = None
        self._out_dict: Dict[str, np.ndarray] = {}

    def _inputs(self, shape_of, high, low, close, volume):
        given = {"h": ("high", high), "l": ("low", low), "c": ("close", close), "v": ("volume", volume)}
        out, shape = [], None
        for letter in "hlcv":
            name, a = given[letter]
            if letter not in self._needs:
                out.append(None)
                continue
            if a is None:
                raise InvalidArgumentError(f"these indicators need {name}")
            arr = _as_prices(name, a, shape)
            shape = arr.shape
            out.append(arr)
        shape_of(shape)
        return out

    def update(self, close=None, high=None, low=None, volume=None,
               out: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """New bars for every symbol: arrays of shape (nsym,) for one bar or (nsym, k) for k bars.
        Returns {column: array of the same shape}.

        ``out``: a writable C-contiguous float64 array of shape ``(columns, nsym)`` for one bar, or
        ``(columns, nsym, k)``, filled in place: no allocation per call. The result's arrays are views of it, and
        passing the same ``out`` again returns the same dict, its views showing the new values."""
        try:
            # The extension takes float64 arrays as they come (a column of a history is gathered in C).
            res = self._s.update(high, low, close, volume, out)
        except InvalidArgumentError:
            # Anything else: convert, or raise the precise error, then the extension checks out.
            def check(shape):
                if shape[0] != self.nsym:
                    raise InvalidArgumentError(f"inputs have {shape[0]} symbols, the stream has {self.nsym}")

            ins = self._inputs(check, high, low, close, volume)
            res = self._s.update(*ins, out)
        if out is None:
            # Iterating the (columns, ...) result yields its row views, cheaper than indexing per column.
            return dict(zip(self.columns, res))
        if out is not self._out:
            self._out, self._out_dict = out, dict(zip(self.columns, res))
        return self._out_dict

    def update_ticks(self, symbols, close=None, high=None, low=None, volume=None) -> Dict[str, np.ndarray]:
        """Bars of interleaved symbols, applied in order: ``symbols[i]`` in [0, nsym) owns bar i.
        Returns {column: array of shape (n,)}."""
        sym = np.asarray(symbols)
        if sym.dtype.kind not in "iu" or sym.ndim != 1:
            raise InvalidArgumentError("symbols must be a 1-D integer array")
        if sym.size and (sym.min() < 0 or sym.max() >= self.nsym):
            raise InvalidArgumentError(f"symbols must be in [0, {self.nsym})")
        sym = np.ascontiguousarray(sym, dtype=np.uint32)

        def check(shape):
            if len(shape) != 1 or shape[0] != sym.size:
                raise InvalidArgumentError(f"inputs must be 1-D with {sym.size} values, got shape {shape}")

        out = self._s.update_ticks(sym, *self._inputs(check, high, low, close, volume))
        return {name: out[:, j] for j, name in enumerate(self.columns)}

    def reset(self) -> None:
        """Forget all history."""
        self._s.reset()


# ---------------------------------------------------------------------------------------------------------------
# L2 books
# ---------------------------------------------------------------------------------------------------------------

L2_DTYPE = np.dtype({"names": ["seq", "ts", "price", "size", "symbol", "orders", "side", "action"],
                     "formats": ["<u8", "<u8", "<f8", "<f8", "<u4", "<u4", "u1", "u1"],
                     "offsets": [0, 8, 16, 24, 32, 36, 40, 41], "itemsize": 48})
"""An L2 message: side 0 bid / 1 ask; action DELTA (0) sets the level (size 0 removes it), SNAPSHOT (1) rows
sharing a seq replace the book; orders is the order count at the level (0 when unknown)."""

QUOTE_DTYPE = np.dtype({"names": ["ts", "symbol", "flags", "bid", "bid_size", "ask", "ask_size", "mid", "spread",
                                  "microprice", "imbalance"],
                        "formats": ["<u8", "<u4", "<u4"] + ["<f8"] * 8,
                        "offsets": [0, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72], "itemsize": 80})
"""Top of book after each message (NaN for an empty side)."""

L2_EVENT_DTYPE = np.dtype({"names": ["index", "seq", "ts", "expected", "symbol", "kind"],
                           "formats": ["<u8", "<u8", "<u8", "<u8", "<u4", "<u4"],
                           "offsets": [0, 8, 16, 24, 32, 36], "itemsize": 40})

DELTA, SNAPSHOT = 0, 1
BID, ASK = 0, 1
F_APPLIED, F_DROPPED, F_HELD, F_STALE, F_CROSSED = 1, 2, 4, 8, 16
EVENT_KINDS = {1: "gap", 2: "duplicate", 3: "out_of_order", 4: "reordered", 5: "crossed", 6: "uncrossed",
               7: "resync", 8: "overflow", 9: "bad", 10: "ts_backwards"}


def _records(name: str, a, dtype: np.dtype, required: Sequence[str]) -> np.ndarray:
    """A 1-D C-contiguous array of exactly `dtype`; a structured array with the required fields is converted."""
    if not isinstance(a, np.ndarray) or a.dtype.names is None:
        raise InvalidArgumentError(f"{name} must be a NumPy structured array")
    if a.ndim != 1:
        raise InvalidArgumentError(f"{name} must be 1-D, got {a.ndim} dimensions")
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned:
        return a
    missing = [f for f in required if f not in a.dtype.names]
    if missing:
        raise InvalidArgumentError(f"{name} lacks fields {missing} (expected {dtype})")
    out = np.zeros(a.shape[0], dtype=dtype)
    for f in dtype.names:
        if f in a.dtype.names:
            if a.dtype[f].kind not in "fiu":
                raise InvalidArgumentError(f"{name}.{f} must be numeric, got {a.dtype[f]}")
            out[f] = a[f]
    return out


class L2Book:
    """Depth of many symbols maintained from L2 messages (:data:`L2_DTYPE`) or from the matching engine's events.

    Sequencing rule per symbol: deltas must come with seq = last + 1. Equal to the last seq is a duplicate, lower
    is late (out of order): both are dropped and reported. A delta ahead of the expected seq by at most
    ``reorder_window`` is held and applied in sequence when the gap fills (reported as reordered); further ahead,
    or with the hold buffer full, it is a gap: the book is marked stale and deltas are dropped until a snapshot
    resyncs it. Crossed books are applied as sent, flagged on every quote and metrics row and reported on entry
    and exit. Invalid messages (side, action, non-finite price, negative size) are dropped and reported.

    :attr:`levels` ``(symbols, 2, capacity, 3)`` [price, size, orders], best first, and :attr:`counts`
    ``(symbols, 2)`` are live zero-copy views of the engine's depth, read-only (the engine keeps the top of
    each book and the counts alongside them).
    """

    def __init__(self, symbols: int, levels: int = 128, reorder_window: int = 0, tick=None,
                 event_capacity: int = 256):
        symbols = _int_param("symbols", symbols)
        if symbols <= 0:
            raise InvalidArgumentError(f"symbols must be positive, got {symbols}")
        for name, v in (("levels", levels), ("reorder_window", reorder_window), ("event_capacity", event_capacity)):
            if _int_param(name, v) < 0:
                raise InvalidArgumentError(f"{name} must be >= 0")
        if tick is not None:
            tick = np.ascontiguousarray(np.broadcast_to(np.asarray(tick, dtype=np.float64), (symbols,)))
        self.symbols = symbols
        self._b = _zkclob.MDL2(symbols, levels, reorder_window, event_capacity, tick)
        self.levels, self.counts = self._b.depth()
        self.levels.flags.writeable = False
        self.counts.flags.writeable = False

    def apply(self, msgs: np.ndarray, topk: int = 0, out: Optional[np.ndarray] = None):
        """Applies messages; returns ``(quotes, events)`` (QUOTE_DTYPE per message, L2_EVENT_DTYPE in message
        order), plus ``topk`` levels per side after each message as ``(n, 2, k, 2)`` [price, size] when k > 0.

        ``out``: a writable C-contiguous QUOTE_DTYPE array of one row per message that receives the quotes and
        is returned as ``quotes``; reusing it from call to call saves allocating (and the kernel zeroing) a
        fresh output each time. A message with an unknown symbol fails the call and leaves the book unchanged
        (``out`` may have been written)."""
        msgs = _records("msgs", msgs, L2_DTYPE, ("seq", "price", "size", "symbol", "side"))
        k = _int_param("topk", topk)
        if k < 0:
            raise InvalidArgumentError("topk must be >= 0")
        if out is not None:
            if not isinstance(out, np.ndarray) or out.dtype != QUOTE_DTYPE:
                raise InvalidArgumentError("out must be a QUOTE_DTYPE array")
            if out.shape != msgs.shape:
                raise InvalidArgumentError(f"out has shape {out.shape}, expected {msgs.shape} (one row per message)")
            if not out.flags.c_contiguous or not out.flags.writeable or out.ctypes.data % 8:
                raise InvalidArgumentError("out must be writable, C-contiguous and 8-byte aligned")
            if np.may_share_memory(out, msgs):
                raise InvalidArgumentError("out must not overlap msgs")
            quotes, events, top = self._b.apply(msgs, False, k, out)
        else:
            quotes, events, top = self._b.apply(msgs, True, k)
            quotes = quotes.view(QUOTE_DTYPE).reshape(-1)
        events = events.view(L2_EVENT_DTYPE).reshape(-1)
        return (quotes, events, top) if k else (quotes, events)

    def apply_engine(self, orders: np.ndarray, events: np.ndarray) -> np.ndarray:
        """Depth from the matching engine: ``events`` (EVENT_DTYPE) as returned for ``orders`` (ORDER_DTYPE,
        the batches in submission order). Returns QUOTE_DTYPE rows, one per event."""
        from .book import EVENT_DTYPE, ORDER_DTYPE
        if not isinstance(orders, np.ndarray) or orders.dtype != ORDER_DTYPE:
            raise InvalidArgumentError("orders must be an ORDER_DTYPE array")
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise InvalidArgumentError("events must be an EVENT_DTYPE array")
        q = self._b.apply_engine(np.ascontiguousarray(orders), np.ascontiguousarray(events), ORDER_DTYPE.itemsize,
                                 EVENT_DTYPE.itemsize)
        return q.view(QUOTE_DTYPE).reshape(-1)

    def depth(self, symbol: int):
        """(bids, asks) of a symbol as live views ``(levels, 3)`` [price, size, orders], best first."""
        s = _int_param("symbol", symbol)
        if not 0 <= s < self.symbols:
            raise InvalidArgumentError(f"symbol must be in [0, {self.symbols})")
        return self.levels[s, 0, :self.counts[s, 0]], self.levels[s, 1, :self.counts[s, 1]]

    def counters(self, symbol: int) -> dict:
        """Messages applied and every kind of anomaly seen for a symbol."""
        return self._b.counters(_int_param("symbol", symbol))

    def metrics(self, levels: int = 5, bands_bps: Sequence[float] = (5.0, 10.0, 25.0),
                sizes: Sequence[float] = ()) -> Dict[str, np.ndarray]:
        """Depth metrics of every symbol's current book: {name: (symbols,) array}. See zkclob/md.h for the
        definitions (imbalance_k over the top k levels, bid/ask_depth within bps bands of mid, buy/sell_vwap and
        cost in bps of a market order of each size, liquidity holes, flags)."""
        bands = np.ascontiguousarray(bands_bps, dtype=np.float64).reshape(-1)
        sz = np.ascontiguousarray(sizes, dtype=np.float64).reshape(-1)
        out = self._b.metrics(_int_param("levels", levels), bands, sz)
        names = ["mid", "spread", "microprice"] + [f"imbalance_{k}" for k in range(1, levels + 1)]
        names += [f"bid_depth_{b:g}bps" for b in bands] + [f"ask_depth_{b:g}bps" for b in bands]
        names += [f"buy_vwap_{q:g}" for q in sz] + [f"sell_vwap_{q:g}" for q in sz]
        names += [f"buy_cost_bps_{q:g}" for q in sz] + [f"sell_cost_bps_{q:g}" for q in sz]
        names += ["bid_holes", "ask_holes", "bid_widest_gap", "ask_widest_gap", "flags"]
        return {n: out[:, j] for j, n in enumerate(names)}

    def process(self, msgs: np.ndarray, interval_ns: int, **metric_args):
        """Applies time-ordered messages interval by interval and takes :meth:`metrics` at the end of each
        interval that saw messages. Returns (interval_ends, {name: (intervals, symbols)}, events).
        Timestamps must not go backwards here (an error): intervals are cut on them."""
        msgs = _records("msgs", msgs, L2_DTYPE, ("seq", "price", "size", "symbol", "side"))
        interval = _int_param("interval_ns", interval_ns) if interval_ns < 2**31 else int(interval_ns)
        if interval <= 0:
            raise InvalidArgumentError("interval_ns must be positive")
        ts = msgs["ts"]
        if ts.size and np.any(ts[1:] < ts[:-1]):
            raise InvalidArgumentError("message timestamps must not go backwards to cut intervals")
        bucket = ts // np.uint64(interval)
        cuts = np.flatnonzero(np.diff(bucket)) + 1
        ends, rows, events = [], [], []
        for chunk in np.split(msgs, cuts):
            if not chunk.size:
                continue
            _, ev = self.apply(chunk)
            events.append(ev)
            ends.append((int(chunk["ts"][0]) // interval + 1) * interval)
            rows.append(self.metrics(**metric_args))
        names = rows[0].keys() if rows else self.metrics(**metric_args).keys()
        table = {n: np.stack([r[n] for r in rows]) if rows else np.empty((0, self.symbols)) for n in names}
        return np.array(ends, dtype=np.uint64), table, (np.concatenate(events) if events else
                                                         np.empty(0, L2_EVENT_DTYPE))


# ---------------------------------------------------------------------------------------------------------------
# Trades: bars and rolling statistics
# ---------------------------------------------------------------------------------------------------------------

TRADE_DTYPE = np.dtype({"names": ["ts", "price", "size", "symbol", "side"],
                        "formats": ["<u8", "<f8", "<f8", "<u4", "i1"], "offsets": [0, 8, 16, 24, 28],
                        "itemsize": 32})
"""A trade: side +1 buyer-initiated, -1 seller-initiated, 0 unknown."""

BAR_DTYPE = np.dtype({"names": ["t_open", "t_close", "symbol", "trades", "complete", "open", "high", "low",
                                "close", "volume", "notional", "vwap"],
                      "formats": ["<u8", "<u8", "<u4", "<u4", "<u4"] + ["<f8"] * 7,
                      "offsets": [0, 8, 16, 20, 24, 32, 40, 48, 56, 64, 72, 80], "itemsize": 88})

_BAR_KINDS = {"time": 0, "volume": 1, "dollar": 2}


def _trades(trades, nsym):
    t = _records("trades", trades, TRADE_DTYPE, ("ts", "price", "size", "symbol"))
    if nsym is None:
        nsym = int(t["symbol"].max()) + 1 if t.size else 1
    return t, _int_param("nsym", nsym)


def bars(trades: np.ndarray, kind: str = "time", threshold: float = 60e9, nsym: Optional[int] = None) -> np.ndarray:
    """OHLCV bars (BAR_DTYPE), by symbol then time. ``kind``: "time" (threshold = interval in ns; buckets
    floor(ts / interval), empty ones skipped), "volume" or "dollar" (a bar closes on the trade that brings its
    volume or notional to the threshold; that trade stays in it). The last bar of a symbol may be incomplete
    (``complete`` 0). Timestamps going backwards within a symbol, negative sizes or non-finite values raise."""
    if kind not in _BAR_KINDS:
        raise InvalidArgumentError(f"kind must be one of {sorted(_BAR_KINDS)}, got {kind!r}")
    t, nsym = _trades(trades, nsym)
    return _zkclob.md_bars(t, nsym, _BAR_KINDS[kind], float(threshold)).view(BAR_DTYPE).reshape(-1)


def rolling(trades: np.ndarray, window_ns: int, nsym: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Per trade: (volume, VWAP) of the symbol's trades in (ts - window_ns, ts]."""
    t, nsym = _trades(trades, nsym)
    w = int(window_ns)
    if not 0 < w < 2**64:
        raise InvalidArgumentError("window_ns must be in [1, 2**64)")
    return _zkclob.md_rolling(t, nsym, w)


# ---------------------------------------------------------------------------------------------------------------
# Order flow
# ---------------------------------------------------------------------------------------------------------------

VPIN_DTYPE = np.dtype({"names": ["ts", "symbol", "index", "buy", "sell", "vpin"],
                       "formats": ["<u8", "<u4", "<u4", "<f8", "<f8", "<f8"], "offsets": [0, 8, 12, 16, 24, 32],
                       "itemsize": 40})

PATTERN_DTYPE = np.dtype({"names": ["t_start", "t_end", "first", "kind", "symbol", "trader", "norders", "levels",
                                    "side", "qty"],
                          "formats": ["<u8", "<u8", "<u8", "<u4", "<u4", "<u4", "<u4", "<u4", "<u4", "<f8"],
                          "offsets": [0, 8, 16, 24, 28, 32, 36, 40, 44, 48], "itemsize": 56})
PATTERN_KINDS = {1: "sweep", 2: "layering", 3: "stuffing"}

RULE_BLOCK, RULE_ROUND, RULE_ODD, RULE_PARENT, RULE_ICEBERG = 1, 2, 4, 8, 16
_CLASSIFIERS = {"tick": 0, "quote": 1, "lee_ready": 2}


def _f64(name, a, size=None):
    arr = _as_prices(name, a)
    if size is not None and arr.size != size:
        raise InvalidArgumentError(f"{name} must have {size} values, got {arr.size}")
    return arr


def classify(trades: np.ndarray, method: str = "lee_ready", bid=None, ask=None,
             nsym: Optional[int] = None) -> np.ndarray:
    """Trade signs (int8: +1 buy, -1 sell, 0 unknown) by the tick rule, the quote rule or Lee-Ready (quote rule,
    tick rule at the mid). ``bid``/``ask`` are the quotes each trade is compared with (lag them as wanted)."""
    if method not in _CLASSIFIERS:
        raise InvalidArgumentError(f"method must be one of {sorted(_CLASSIFIERS)}, got {method!r}")
    t, nsym = _trades(trades, nsym)
    if method != "tick" and (bid is None or ask is None):
        raise InvalidArgumentError(f"{method} needs bid and ask")
    b = None if bid is None else _f64("bid", bid, t.size)
    a = None if ask is None else _f64("ask", ask, t.size)
    return _zkclob.md_classify(t, nsym, _CLASSIFIERS[method], b, a).view(np.int8)


def bvc(close, window: int = 50) -> np.ndarray:
    """Bulk volume classification: buy fraction per bar, Phi(dP / sigma) with sigma the population std of the
    last ``window`` bar price changes (NaN before). ``close`` is (symbols, bars) or (bars,)."""
    c = _as_prices("close", close)
    out = _zkclob.md_bvc(c.reshape(1, -1) if c.ndim == 1 else c, _int_param("window", window))
    return out.reshape(c.shape)


def ofi(symbols, bid_px, bid_sz, ask_px, ask_sz, nsym: Optional[int] = None) -> np.ndarray:
    """Order-flow imbalance (Cont, Kukanov & Stoikov) of each quote update, per level: inputs (n,) for L1 or
    (n, levels) for multi-level; returns the same shape. Sum over updates for OFI over an interval, over levels
    for the multi-level OFI."""
    sym = np.asarray(symbols)
    if sym.dtype.kind not in "iu" or sym.ndim != 1:
        raise InvalidArgumentError("symbols must be a 1-D integer array")
    if sym.size and sym.min() < 0:
        raise InvalidArgumentError("symbols must be >= 0")
    sym = np.ascontiguousarray(sym, dtype=np.uint32)
    arrs = [_as_prices(n, a) for n, a in (("bid_px", bid_px), ("bid_sz", bid_sz), ("ask_px", ask_px),
                                          ("ask_sz", ask_sz))]
    shape = arrs[0].shape
    if any(a.shape != shape for a in arrs) or shape[0] != sym.size:
        raise InvalidArgumentError("quotes must share one shape (n,) or (n, levels) with n = len(symbols)")
    levels = 1 if len(shape) == 1 else shape[1]
    if nsym is None:
        nsym = int(sym.max()) + 1 if sym.size else 1
    return _zkclob.md_ofi(sym, _int_param("nsym", nsym), levels, *arrs).reshape(shape)


def vpin(trades: np.ndarray, bucket_volume: float, window: int = 50, buy_fraction=None,
         nsym: Optional[int] = None) -> np.ndarray:
    """VPIN over volume buckets (VPIN_DTYPE, one row per completed bucket). A trade's buy volume is its size
    times ``buy_fraction`` (default from ``side``: 1, 0, or 1/2 when unknown); trades overflowing a bucket are
    split."""
    t, nsym = _trades(trades, nsym)
    f = None if buy_fraction is None else _f64("buy_fraction", buy_fraction, t.size)
    out = _zkclob.md_vpin(t, nsym, f, float(bucket_volume), _int_param("window", window))
    return out.view(VPIN_DTYPE).reshape(-1)


def kyle_lambda(dp, signed_volume, window: int = 50) -> np.ndarray:
    """Kyle's lambda: rolling OLS slope of price changes on signed volume per interval, (symbols, intervals) or
    (intervals,); NaN until the window is full or where signed volume does not vary."""
    y = _as_prices("dp", dp)
    x = _as_prices("signed_volume", signed_volume, y.shape)
    out = _zkclob.md_kyle_lambda(y.reshape(1, -1) if y.ndim == 1 else y, x.reshape(1, -1) if x.ndim == 1 else x,
                                 _int_param("window", window))
    return out.reshape(y.shape)


def size_distribution(trades: np.ndarray, edges=None, nsym: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Trade-size distribution per symbol: counts and volume per size bin (default edges 1, 2, 4, ... 2**30),
    plus the 50/90/99% size quantiles."""
    t, nsym = _trades(trades, nsym)
    e = np.ascontiguousarray(2.0 ** np.arange(31) if edges is None else edges, dtype=np.float64)
    count, volume = _zkclob.md_size_histogram(t, nsym, e)
    q = np.full((nsym, 3), np.nan)
    for s in range(nsym):
        sizes = t["size"][t["symbol"] == s]
        if sizes.size:
            q[s] = np.quantile(sizes, [0.5, 0.9, 0.99])
    return {"edges": e, "count": count, "volume": volume, "quantiles": q}


def participants(trades: np.ndarray, nsym: Optional[int] = None, block_quantile: float = 0.99,
                 round_lot: float = 100.0, child_gap_ns: int = 1_000_000_000, child_band_bps: float = 10.0,
                 min_children: int = 4, iceberg_size_tol: float = 0.1):
    """Institutional (1) vs retail (0) per trade by the documented rule set (zkclob/md.h): block size, round and
    odd lots, split parents (chains of same-side round-lot fills close in time and price) and iceberg refills.
    Returns (label uint8, confidence in [0.5, 1], rules bitmask of RULE_*)."""
    t, nsym = _trades(trades, nsym)
    cfg = (float(block_quantile), float(round_lot), int(child_gap_ns), float(child_band_bps),
           _int_param("min_children", min_children), float(iceberg_size_tol))
    return _zkclob.md_participants(t, nsym, cfg)


def patterns(orders: np.ndarray, events: np.ndarray, sweep_levels: int = 3, layer_orders: int = 3,
             layer_window_ns: int = 1_000_000_000, stuffing_msgs: int = 50, stuffing_window_ns: int = 1_000_000,
             stuffing_max_fill_ratio: float = 0.05) -> Tuple[np.ndarray, np.ndarray]:
    """Sweeps, layering/spoofing-like add-then-cancel and quote-stuffing bursts in the engine's events (with the
    orders that caused them). Returns (PATTERN_DTYPE rows, order ids): ``ids[p.first:p.first + p.norders]`` are
    the orders involved in pattern p."""
    from .book import EVENT_DTYPE, ORDER_DTYPE
    if not isinstance(orders, np.ndarray) or orders.dtype != ORDER_DTYPE:
        raise InvalidArgumentError("orders must be an ORDER_DTYPE array")
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        raise InvalidArgumentError("events must be an EVENT_DTYPE array")
    cfg = (_int_param("sweep_levels", sweep_levels), _int_param("layer_orders", layer_orders), int(layer_window_ns),
           _int_param("stuffing_msgs", stuffing_msgs), int(stuffing_window_ns), float(stuffing_max_fill_ratio))
    pat, ids = _zkclob.md_patterns(np.ascontiguousarray(orders), np.ascontiguousarray(events), ORDER_DTYPE.itemsize,
                                   EVENT_DTYPE.itemsize, cfg)
    return pat.view(PATTERN_DTYPE).reshape(-1), ids


def order_flow(trades: np.ndarray, bid=None, ask=None, bucket_volume: Optional[float] = None, window: int = 50,
               nsym: Optional[int] = None) -> dict:
    """One call for the common order-flow picture of a trade stream: signs (Lee-Ready with quotes, else the tick
    rule), VPIN buckets (bucket volume defaults to 1/50 of the mean daily-less total per symbol: total / 50),
    the trade-size distribution and the institutional/retail labels."""
    t, nsym = _trades(trades, nsym)
    sign = classify(t, "lee_ready" if bid is not None else "tick", bid, ask, nsym)
    signed = t.copy()
    signed["side"] = sign
    if bucket_volume is None:
        bucket_volume = max(float(t["size"].sum()) / nsym / 50.0, 1e-12)
    label, confidence, rules = participants(t, nsym)
    return {"sign": sign, "vpin": vpin(signed, bucket_volume, window, nsym=nsym),
            "sizes": size_distribution(t, nsym=nsym), "institutional": label, "confidence": confidence,
            "rules": rules}


__all__ = [
    "BAR_DTYPE", "L2Book", "L2_DTYPE", "L2_EVENT_DTYPE", "PATTERN_DTYPE", "QUOTE_DTYPE", "Streaming", "TRADE_DTYPE",
    "VPIN_DTYPE", "adx", "atr", "bars", "bbands", "bvc", "cci", "classify", "compute", "dema", "ema", "kyle_lambda",
    "last_device", "lookback", "macd", "mfi", "obv", "ofi", "order_flow", "participants", "patterns", "rolling",
    "rsi", "size_distribution", "sma", "stddev", "stoch", "tema", "vpin", "vwap", "willr", "wma", "zscore",
]
