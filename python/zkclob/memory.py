"""Memory pools: typed, lock-free pools over host, pinned, device and unified memory.

``MemoryPool(kind="host", device="cpu")`` hands out NumPy arrays that live in
pool memory, without copying: ``pool.empty((n,), np.float64)``. An array keeps
its pool alive, and its block goes back to the pool when the last view of it
is gone. ``arr.base`` is a :class:`zkclob.Block`, which also exports DLPack and,
for CUDA memory, ``__cuda_array_interface__``.

Kinds: ``"host"`` (pageable), ``"pinned"`` (page-locked; mapped for the device on
CUDA and OpenCL), ``"unified"`` (one address for host and device: CUDA managed
memory, OpenCL SVM), ``"device"`` (CUDA device memory; not host addressable, so
``empty`` returns the Block itself).

Pool types: ``"generic"`` (size classes), ``"orders"`` and ``"price_levels"``
(fixed 64-byte slots), ``"md_ring"`` (fixed power-of-two ring buffers) and
``"field_vectors"`` (power-of-two vectors).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from . import _zkclob
from ._zkclob import InvalidArgumentError, UnsupportedError
from .devices import DeviceLike, _int_arg, devices, find_device

_KINDS = {
    "host": _zkclob.MEM_HOST,
    "pinned": _zkclob.MEM_PINNED,
    "device": _zkclob.MEM_DEVICE,
    "unified": _zkclob.MEM_UNIFIED,
}
_TYPES = {
    "generic": _zkclob.POOL_GENERIC,
    "orders": _zkclob.POOL_ORDERS,
    "price_levels": _zkclob.POOL_PRICE_LEVELS,
    "md_ring": _zkclob.POOL_MD_RING,
    "field_vectors": _zkclob.POOL_FIELD_VECTORS,
}

Shape = Union[int, Sequence[int]]


def _choice(name: str, value, table: dict) -> int:
    if not isinstance(value, str) or value not in table:
        raise InvalidArgumentError(f"{name} must be one of {sorted(table)}, got {value!r}")
    return table[value]


def _shape(shape: Shape) -> tuple:
    if isinstance(shape, bool):
        raise InvalidArgumentError("shape must be an integer or a sequence of integers, not bool")
    if hasattr(shape, "__index__"):
        return (shape.__index__(),)
    try:
        return tuple(_int_arg("shape entry", s) for s in shape)
    except TypeError:
        raise InvalidArgumentError(f"shape must be an integer or a sequence of integers, "
                                   f"not {type(shape).__name__}") from None


class MemoryPool:
    """A pool of ``kind`` memory on ``device``.

    ``secure=True`` wipes memory on free and at destruction (so arrays start
    zeroed); ``guard=True`` puts a canary after every block and reports an
    overrun when the block is freed; ``huge_pages=True`` asks for transparent
    huge pages on host memory. ``max_bytes`` caps the memory the pool takes
    from the device; beyond it allocations raise ``OutOfMemoryError``.
    """

    def __init__(self, kind: str = "host", device: DeviceLike = "cpu", type: str = "generic", *,
                 alignment: int = 64, object_size: int = 0, chunk_bytes: int = 0, max_bytes: int = 0,
                 secure: bool = False, guard: bool = False, huge_pages: bool = False,
                 name: Optional[str] = None):
        memory = _choice("kind", kind, _KINDS)
        pool_type = _choice("type", type, _TYPES)
        dev = find_device(device)
        if kind == "device":
            backend = devices()[dev].backend
            if backend != "cuda":
                raise UnsupportedError(
                    f"device memory is only real on CUDA; {backend} device {dev} cannot expose it to Python "
                    f"(its device memory is {'host memory' if backend == 'cpu' else 'a cl_mem without an address'})"
                    f": use kind='host', 'pinned' or 'unified'")
        if name is not None and not isinstance(name, str):
            raise InvalidArgumentError("name must be a string")
        flags = ((_zkclob.POOL_SECURE if secure else 0) | (_zkclob.POOL_GUARD if guard else 0)
                 | (_zkclob.POOL_HUGE_PAGES if huge_pages else 0))
        sizes = {k: _int_arg(k, v) for k, v in dict(alignment=alignment, object_size=object_size,
                                                    chunk_bytes=chunk_bytes, max_bytes=max_bytes).items()}
        for k, v in sizes.items():
            if v < 0:
                raise InvalidArgumentError(f"{k} must be non-negative, got {v}")
        self._pool = _zkclob.Pool(pool_type, memory, dev, flags=flags, name=name, **sizes)
        self._info = self._pool.info()

    def empty(self, shape: Shape, dtype=np.float64):
        """An uninitialised array over one block of the pool (the Block itself for CUDA device memory)."""
        return self._pool.empty(_shape(shape), dtype)

    def zeros(self, shape: Shape, dtype=np.float64):
        """Like :meth:`empty`, zero-filled."""
        return self._pool.empty(_shape(shape), dtype, True)

    def stats(self) -> dict:
        """Counters, the per-size-class histogram and fragmentation (1 - largest free block / free bytes)."""
        return self._pool.stats()

    def snapshot(self) -> dict:
        """The counters alone: cheap enough to poll for monitoring."""
        return self._pool.snapshot()

    def compact(self) -> dict:
        """Compact the pool's movable allocations now; returns what moved and fragmentation before/after."""
        return self._pool.compact()

    @property
    def kind(self) -> str:
        return self._info["kind"]

    @property
    def type(self) -> str:
        return self._info["type"]

    @property
    def device(self) -> int:
        return self._info["device"]

    @property
    def name(self) -> str:
        return self._info["name"]

    @property
    def alignment(self) -> int:
        return self._info["alignment"]

    @property
    def host_accessible(self) -> bool:
        return self._info["host_accessible"]

    def __repr__(self) -> str:
        i = self._info
        return (f"<MemoryPool {i['name']!r} {i['type']} {i['kind']} memory on {i['backend']} device {i['device']}, "
                f"{self.snapshot()['bytes_in_use']} bytes in use>")


def global_stats() -> dict:
    """Totals over every pool and buffer: pools, bytes in use, peak, reserved, counts, buffer copies, and the
    large-array cache's cached bytes, hits and misses."""
    return _zkclob.mem_snapshot()


def array_cache_stats() -> dict:
    """Statistics of the cache of large array blocks.

    Engine results of 64 KiB and more (``md.compute``, ``Streaming.update``, ...) live in blocks of their own
    (2 MiB aligned with transparent huge pages from 4 MiB). When the last NumPy view of such a result is gone,
    its block, already faulted in, is kept and reused by the next result of its size class, so a research loop
    that recomputes large results pays the kernel's page faults and zeroing only once. Keys: ``limit_bytes``,
    ``cached_bytes``, ``cached_blocks``, ``in_use_bytes``, ``in_use_blocks``, ``hits``, ``misses``,
    ``evictions`` (blocks unmapped to stay under the limit), ``trimmed_bytes``."""
    return _zkclob.array_cache_stats()


def trim_array_cache(keep_bytes: int = 0) -> int:
    """Give cached blocks back to the system, oldest first, until at most ``keep_bytes`` stay cached.
    Returns the bytes released."""
    return _zkclob.array_cache_trim(keep_bytes)


def set_array_cache_limit(limit_bytes: int) -> None:
    """Limit the bytes the cache keeps (0 turns caching off) and trim it to the new limit. The default is the
    environment variable ``ZC_ARRAY_CACHE_BYTES`` (bytes, with an optional k/m/g suffix) or an eighth of
    physical memory."""
    _zkclob.array_cache_set_limit(limit_bytes)


__all__ = ["MemoryPool", "global_stats", "array_cache_stats", "trim_array_cache", "set_array_cache_limit"]
