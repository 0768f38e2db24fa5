"""Counter-based random numbers (Philox), bit-identical on every backend.

``variant="4x64"`` is numpy.random.Philox: ``philox(n, key=k, counter=c)`` equals
``numpy.random.Philox(key=k, counter=c).random_raw(n)``, and ``uniform`` equals
``numpy.random.Generator(numpy.random.Philox(key=k, counter=c)).random(n)``.
``variant="4x32"`` is Random123/cuRAND Philox4x32-10: block i is computed from
counter + i, words in order x0..x3.

Results live in engine-owned memory; the returned NumPy arrays view it without
a copy (their ``base`` is a :class:`zkclob.Buffer`, which also exports DLPack).
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from . import _zkclob
from ._zkclob import InvalidArgumentError
from .devices import DeviceLike, find_device

IntOrWords = Union[int, Sequence[int], np.ndarray]

_VARIANTS = {
    # name: (C enum, key bits, counter bits, word bits for sequences)
    "4x32": (_zkclob.PHILOX_4X32, 64, 128, 32),
    "4x64": (_zkclob.PHILOX_4X64, 128, 256, 64),
}

last_device: int = -1
"""Id of the device that ran the latest call (differs from the request after a failover)."""


def _as_int(name: str, value: IntOrWords, bits: int, word_bits: int) -> int:
    """An int, or little-endian words (NumPy's convention for Philox keys and counters)."""
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be an integer or a sequence of integers, not bool")
    if isinstance(value, (int, np.integer)):
        v = int(value)
    else:
        try:
            words = [w.__index__() for w in value]
        except (TypeError, AttributeError):
            raise InvalidArgumentError(f"{name} must be an integer or a sequence of integers") from None
        if len(words) * word_bits > bits:
            raise InvalidArgumentError(f"{name} takes at most {bits // word_bits} words of {word_bits} bits")
        for w in words:
            if not 0 <= w < 1 << word_bits:
                raise InvalidArgumentError(f"{name} words must be in [0, 2**{word_bits})")
        v = sum(w << (word_bits * i) for i, w in enumerate(words))
    if not 0 <= v < 1 << bits:
        raise InvalidArgumentError(f"{name} must be in [0, 2**{bits}) for this variant, got {v}")
    return v


def _generate(n, key, counter, variant, device, output) -> np.ndarray:
    global last_device
    if variant not in _VARIANTS:
        raise InvalidArgumentError(f"variant must be '4x32' or '4x64', got {variant!r}")
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise InvalidArgumentError(f"n must be an integer, not {type(n).__name__}")
    n = n.__index__()
    if n < 0:
        raise InvalidArgumentError(f"n must be non-negative, got {n}")
    code, key_bits, ctr_bits, word_bits = _VARIANTS[variant]
    k = _as_int("key", key, key_bits, word_bits)
    c = _as_int("counter", counter, ctr_bits, word_bits)
    m = (1 << 64) - 1
    arr, last_device = _zkclob.philox(n, code, output, find_device(device), k & m, k >> 64,
                                      c & m, (c >> 64) & m, (c >> 128) & m, c >> 192)
    return arr


def philox(n: int, key: IntOrWords = 0, counter: IntOrWords = 0, variant: str = "4x64",
           device: DeviceLike = "auto") -> np.ndarray:
    """``n`` raw Philox words: uint64 for ``"4x64"``, uint32 for ``"4x32"``."""
    return _generate(n, key, counter, variant, device, _zkclob.RANDOM_RAW)


def uniform(n: int, key: IntOrWords = 0, counter: IntOrWords = 0, variant: str = "4x64",
            device: DeviceLike = "auto") -> np.ndarray:
    """``n`` doubles in [0, 1): ``(w >> 11) * 2**-53`` of each 64-bit word (NumPy's transform)."""
    return _generate(n, key, counter, variant, device, _zkclob.RANDOM_UNIFORM)


def normal(n: int, key: IntOrWords = 0, counter: IntOrWords = 0, variant: str = "4x64",
           device: DeviceLike = "auto") -> np.ndarray:
    """``n`` standard normals by Box-Muller on consecutive word pairs (a, b):
    ``sqrt(-2 ln u1) * (cos, sin)(2 pi u2)`` with ``u1 = ((a >> 11) + 1) * 2**-53`` in (0, 1]
    and ``u2 = (b >> 11) * 2**-53``. Backends agree to about 1e-12 relative (their log/cos differ in ulps)."""
    return _generate(n, key, counter, variant, device, _zkclob.RANDOM_NORMAL)


__all__ = ["philox", "uniform", "normal", "last_device"]
