"""Deterministic multi-symbol order matching: continuous price-time priority and
call auctions, a hash-chained journal with replay, and a Poseidon2 state root.

The semantics (order types, time in force, self-trade prevention, validation
order, events, the auction clearing rule, the state-root encoding and the
journal format) are specified in ``csrc/include/zkclob/book.h``.

Orders are NumPy arrays of :data:`ORDER_DTYPE`, read in place; events and
views are engine-owned memory viewed by NumPy without copying::

    eng = zkclob.Engine(symbols=4, tick_size=1, price_band=(1, 10**6))
    o = np.zeros(2, dtype=zkclob.ORDER_DTYPE)
    o[0] = (1, 7, 0, Side.SELL, OrderType.LIMIT, TIF.GTC, STP.NONE, 100, 5, 0)
    o[1] = (2, 8, 0, Side.BUY, OrderType.LIMIT, TIF.GTC, STP.NONE, 100, 3, 0)
    events = eng.submit(o)      # ack, ack, fill
"""

from __future__ import annotations

import enum
import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _zkclob
from ._zkclob import InvalidArgumentError
from .devices import DeviceLike, find_device

ORDER_DTYPE: np.dtype = _zkclob.ORDER_DTYPE
"""Packed little-endian order record (44 bytes): id u8, trader u4, symbol u4, side u1, type u1,
tif u1, stp u1, price i8, qty i8, ts u8."""
EVENT_DTYPE: np.dtype = _zkclob.EVENT_DTYPE
"""Packed little-endian event record (55 bytes): seq u8, kind u1, symbol u4, order_id u8,
maker_id u8, price i8, qty i8, remaining i8, reason u2."""
DEPTH_DTYPE: np.dtype = _zkclob.DEPTH_DTYPE
"""One aggregated price level: price i8, qty i8, count u4."""
BOOK_DTYPE: np.dtype = _zkclob.BOOK_DTYPE
"""One resting order: id, trader, slot (state-root leaf = symbol * capacity + slot), side, tif, stp,
price, qty, seq (time priority)."""

_C = _zkclob.BOOK_CONSTANTS


def _enum(name: str, prefix: str) -> type:
    return enum.IntEnum(name, {k[len(prefix):]: v for k, v in _C.items() if k.startswith(prefix)},
                        module=__name__)


Side = _enum("Side", "SIDE_")
OrderType = _enum("OrderType", "ORDER_")
TIF = _enum("TIF", "TIF_")
STP = _enum("STP", "STP_")
EventKind = _enum("EventKind", "EVENT_")
Reason = _enum("Reason", "REASON_")
Mode = _enum("Mode", "MODE_")

MAX_QTY: int = _C["BOOK_MAX_QTY"]
MAX_PRICE: int = _C["BOOK_MAX_PRICE"]
MAX_CAPACITY: int = _C["BOOK_MAX_CAPACITY"]

_FSYNC = {"none": _C["FSYNC_NONE"], "batch": _C["FSYNC_BATCH"]}
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _count(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InvalidArgumentError(f"{name} must be an integer, not {type(value).__name__}")
    v = value.__index__()
    if not low <= v <= high:
        raise InvalidArgumentError(f"{name} must be in [{low}, {high}], got {v}")
    return v


def _per_symbol(name: str, value, symbols: int, width: int = 1) -> np.ndarray:
    """A scalar (or a width-tuple) for every symbol, or one entry per symbol."""
    try:
        a = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgumentError(f"{name} must be integers") from None
    if a.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{name} must be int64 integers, got dtype {a.dtype}")
    shape = (symbols,) if width == 1 else (symbols, width)
    single = () if width == 1 else (width,)
    if a.shape == single:
        a = np.broadcast_to(a, shape)
    if a.shape != shape:
        raise InvalidArgumentError(f"{name} must have shape {single or 'scalar'} or {shape}, got {a.shape}")
    if a.size and (int(a.min()) < _INT64[0] or int(a.max()) > _INT64[1]):
        raise InvalidArgumentError(f"{name} must fit in int64")
    return a.astype(np.int64)


def _mode(value) -> int:
    if isinstance(value, str):
        try:
            return int(Mode[value.upper()])
        except KeyError:
            raise InvalidArgumentError(f"mode must be 'continuous' or 'auction', got {value!r}") from None
    return _count("mode", value, 0, len(Mode) - 1)


class Engine(_zkclob._Engine):
    """A matching engine over ``symbols`` books of ``capacity`` resting orders each.

    ``device``: "auto", "cpu", "opencl:0", ... (books live in that device's memory).
    ``threads``: cpu matching threads (0 = all cores); results never depend on it.
    ``journal``: path of a write-ahead journal; an existing one is recovered and extended.
    ``fsync``: "none", "batch" (fdatasync after every record) or an int k (after every k).
    ``tick_size``, ``lot_size``, ``ref_price`` (auction reference) and ``mode``: one value or
    one per symbol. ``price_band``: ``(min, max)`` or one pair per symbol; None = [1, 2^62].
    ``prefault``: map all book memory up front (cpu), so matching never takes a page fault.
    """

    def __init__(self, symbols: int = 1024, capacity: int = 4096, device: DeviceLike = "auto",
                 journal: Optional[Union[str, os.PathLike]] = None, *, tick_size=1, lot_size=1,
                 price_band=None, ref_price=0, mode="continuous", threads: int = 0,
                 fsync: Union[str, int] = "none", hash_seed: int = 0, prefault: bool = False) -> None:
        symbols = _count("symbols", symbols, 1, (1 << 32) - 1)
        capacity = _count("capacity", capacity, 1, MAX_CAPACITY)
        threads = _count("threads", threads, 0, 1 << 16)
        hash_seed = _count("hash_seed", hash_seed, 0, (1 << 64) - 1)
        if isinstance(fsync, str):
            if fsync not in _FSYNC:
                raise InvalidArgumentError(f"fsync must be 'none', 'batch' or a count, got {fsync!r}")
            policy, every = _FSYNC[fsync], 0
        else:
            policy, every = _C["FSYNC_EVERY"], _count("fsync", fsync, 1, (1 << 32) - 1)
        per = np.zeros((symbols, 6), dtype=np.int64)
        per[:, 0] = _per_symbol("tick_size", tick_size, symbols)
        per[:, 1] = _per_symbol("lot_size", lot_size, symbols)
        if price_band is not None:
            per[:, 2:4] = _per_symbol("price_band", price_band, symbols, 2)
        per[:, 4] = _per_symbol("ref_price", ref_price, symbols)
        if isinstance(mode, str):
            per[:, 5] = _mode(mode)
        else:
            per[:, 5] = _per_symbol("mode", mode, symbols)
        for col, name in ((0, "tick_size"), (1, "lot_size")):
            if (per[:, col] < 1).any():
                raise InvalidArgumentError(f"{name} must be >= 1")
        path = os.fspath(journal) if journal is not None else None
        super().__init__(symbols, capacity, _device_spec(device), threads, path, policy, every, hash_seed, per,
                         bool(prefault))

    # ---- matching ----

    def submit(self, orders: np.ndarray) -> np.ndarray:
        """Matches a batch (1-D C-contiguous ORDER_DTYPE array, read in place) and returns its
        events (EVENT_DTYPE) in sequence order."""
        return self._submit(orders)

    def submit_async(self, orders: np.ndarray) -> int:
        """Queues a batch (1-D C-contiguous ORDER_DTYPE array; copied, so it may change afterwards)
        and returns its ticket without waiting for the matching. The batch is sequenced and journaled
        now, exactly as :meth:`submit` would; on an OpenCL or CUDA device its matching runs while the
        host prepares the next batch (two in flight, a third completes the oldest), on the cpu it is
        matched before this returns. The ticket is the batch's number among the engine's
        state-changing calls (``info()["batches"]`` once accepted): tickets grow with ingress order,
        also across threads. Collect the events with :meth:`wait`. An error found now (bad input, a
        stopped engine, a device error while queueing) is raised here and no ticket is issued."""
        return self._submit_async(orders)

    def wait(self, ticket: int) -> np.ndarray:
        """Completes the batch of ``ticket`` (and older ones still queued) and returns its events
        (EVENT_DTYPE) in sequence order, byte-identical to what :meth:`submit` would have returned.
        Tickets may be waited for in any order, each once; an unknown or already collected ticket
        raises InvalidArgumentError. A device error that surfaced when the batch completed is raised
        here (naming the ticket and its seq range) and stops the engine; the batches queued after
        it are not applied. Replay the journal to recover."""
        return self._wait(_count("ticket", ticket, 0, (1 << 64) - 1))

    def sync(self) -> None:
        """Completes every outstanding :meth:`submit_async` batch (their events stay for
        :meth:`wait`), so that views (:meth:`depth`, :meth:`book`) and :meth:`state_root` taken
        afterwards include them. Every synchronous call drains the outstanding batches the same way
        first. Raises the error of a batch that failed."""
        self._sync()

    def set_trader_keys(self, pubkeys: np.ndarray) -> None:
        """Public keys for :meth:`submit_signed`: a C-contiguous uint8 array (traders, 64), row t is
        trader t's parsed secp256k1 key x || y (zkclob.crypto)."""
        k = pubkeys
        if not isinstance(k, np.ndarray) or k.dtype != np.uint8 or k.ndim != 2 or k.shape[1] != 64:
            raise InvalidArgumentError("trader keys must be a uint8 array of shape (traders, 64)")
        self._trader_keys = np.ascontiguousarray(k)

    def submit_signed(self, orders: np.ndarray, signatures: np.ndarray, low_s: bool = False,
                      device: DeviceLike = "auto") -> np.ndarray:
        """Verifies each order's signature (``signatures``: uint8 (n, 64) r || s over the Keccak-256 of the
        canonical encoding, see zkclob/book.h) under its trader's key from :meth:`set_trader_keys`, then
        matches the valid orders. An invalid one becomes a reject event with Reason.BAD_SIGNATURE and
        never reaches the book or the journal. Returns the events in array order."""
        keys = getattr(self, "_trader_keys", None)
        if keys is None:
            raise InvalidArgumentError("set_trader_keys() first")
        events, _ = self._submit_signed(orders, keys, signatures, 1 if low_s else 0, find_device(device))
        return events

    def submit_verified(self, orders: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """The signature gate with verdicts already computed (``valid``: uint8 per order, e.g. from
        zkclob.pipeline.verify): orders with a zero verdict become Reason.BAD_SIGNATURE rejects."""
        return self._submit_verified(orders, valid)

    def set_mode(self, symbol: int, mode: Union[str, int]) -> None:
        """Switch a symbol to "auction" (collect without matching) or "continuous"
        (refused while the auction book is crossed: uncross first)."""
        self._set_mode(symbol, _mode(mode))

    def mode(self, symbol: int) -> str:
        return Mode(self._get_mode(symbol)).name.lower()

    def uncross(self, symbols: Union[int, Sequence[int], np.ndarray]) -> np.ndarray:
        """Runs the call auction of each listed symbol (distinct, in auction mode) at its uniform
        clearing price; returns the fills grouped by symbol in the order given."""
        s = np.atleast_1d(np.asarray(symbols))
        if s.dtype.kind not in "iu" or s.ndim != 1:
            raise InvalidArgumentError("symbols must be an integer or a 1-D sequence of integers")
        if s.size and (s.min() < 0 or s.max() >= 1 << 32):
            raise InvalidArgumentError("symbols must be in [0, 2^32)")
        return self._uncross(s.astype(np.uint32))

    # ---- views ----

    def depth(self, symbol: int, levels: int = 10) -> Tuple[np.ndarray, np.ndarray]:
        """(bids, asks) as DEPTH_DTYPE arrays, best first, at most ``levels`` each."""
        return self._depth(symbol, _count("levels", levels, 0, 1 << 62))

    def book(self, symbol: int) -> np.ndarray:
        """Every resting order of a symbol (BOOK_DTYPE): bids best first, then asks best first,
        FIFO within a price level."""
        return self._book(symbol)

    @property
    def symbols(self) -> int:
        return self.info()["symbols"]

    @property
    def capacity(self) -> int:
        return self.info()["capacity"]

    @property
    def device(self) -> int:
        """Id of the device that holds the books."""
        return self.info()["device"]

    @property
    def next_seq(self) -> int:
        return self.info()["next_seq"]

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def replay(cls, path: Union[str, os.PathLike], device: DeviceLike = "auto", threads: int = 0,
               hash_seed: int = 0) -> Tuple["Engine", np.ndarray]:
        """Rebuilds an engine from a journal: returns it and every event the journal's calls
        produced (the same events and the same state root as the original run). The file is
        not changed; a torn tail is ignored (with a warning)."""
        return _zkclob.engine_replay(cls, os.fspath(path), _device_spec(device),
                                     _count("threads", threads, 0, 1 << 16),
                                     _count("hash_seed", hash_seed, 0, (1 << 64) - 1))


def _device_spec(device: DeviceLike) -> str:
    return str(find_device(device))


def journal_check(path: Union[str, os.PathLike]) -> dict:
    """Scans a journal without changing it: records, good_bytes, file_bytes, torn. Corruption
    before the last record raises zkclob.InternalError naming its byte offset."""
    return _zkclob.journal_check(os.fspath(path))


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC32C (Castagnoli) of data, continuing from a previous crc."""
    return _zkclob.crc32c(bytes(data), _count("crc", crc, 0, (1 << 32) - 1))


__all__ = [
    "BOOK_DTYPE",
    "DEPTH_DTYPE",
    "EVENT_DTYPE",
    "ORDER_DTYPE",
    "STP",
    "TIF",
    "Engine",
    "EventKind",
    "Mode",
    "OrderType",
    "Reason",
    "Side",
    "crc32c",
    "journal_check",
]
