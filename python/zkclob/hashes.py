"""Poseidon2, SHA-256 and Keccak-256 over many inputs per call, bit-identical on every backend.

Poseidon2 instances (constants generated from the published vectors, see ``kernels/poseidon2.h``):

=================== ==========================================================
``"babybear16"``     Plonky3 default BabyBear, width 16 (the default)
``"babybear24"``     Plonky3 default BabyBear, width 24
``"babybear16_hl"``  HorizenLabs reference BabyBear, width 16
``"babybear24_hl"``  HorizenLabs reference BabyBear, width 24
``"goldilocks8"``    Plonky3 default Goldilocks, width 8
``"goldilocks12"``   Plonky3 default Goldilocks, width 12
``"goldilocks12_hl"`` HorizenLabs reference Goldilocks, width 12
=================== ==========================================================

Field elements are ``uint32`` (BabyBear) or ``uint64`` (Goldilocks) and must be canonical
(``< p``); anything else is an error, never reduced. Lists of ints are accepted and checked.

* ``poseidon2_hash`` is Plonky3's padding-free sponge: zero state, each chunk of ``rate``
  elements overwrites the first lanes, then the state is permuted; the digest is the first
  ``digest`` lanes (BabyBear: capacity 8, digest 8, rate 8 at width 16 and 16 at width 24;
  Goldilocks: capacity 4, digest 4, rate 4 at width 8 and 8 at width 12). Without padding,
  rows that differ only by trailing zeros of their last chunk collide: hash rows of one
  length per use.
* ``poseidon2_compress`` is Plonky3's truncated permutation: ``permute(left || right || 0)``,
  first ``digest`` lanes.

Every digest is 32 bytes. Results live in engine-owned memory viewed by NumPy without a copy.
"""

from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np

from . import _zkclob
from ._zkclob import InvalidArgumentError
from .devices import DeviceLike, find_device

INSTANCES = {_zkclob.poseidon2_info(i)["name"]: i for i in range(_zkclob.POSEIDON2_INSTANCES)}
"""Poseidon2 instance names and their ids."""

DEFAULT_INSTANCE = "babybear16"

last_device: int = -1
"""Id of the device that ran the latest call (differs from the request after a failover)."""

Messages = Union[Sequence[bytes], Tuple[object, object], np.ndarray]


def instance_info(instance: str = DEFAULT_INSTANCE) -> dict:
    """Field, modulus, width, rate and digest size (in elements) of a Poseidon2 instance."""
    return dict(_zkclob.poseidon2_info(_instance_id(instance)))


def _instance_id(instance: str) -> int:
    if instance not in INSTANCES:
        raise InvalidArgumentError(f"unknown Poseidon2 instance {instance!r}; use one of {sorted(INSTANCES)}")
    return INSTANCES[instance]


def field_array(name: str, values, info: dict) -> np.ndarray:
    """``values`` as a C-contiguous array of the instance's field dtype.

    Arrays must already have that dtype; sequences of ints are checked to be canonical."""
    dtype = np.dtype(np.uint64 if info["goldilocks"] else np.uint32)
    if isinstance(values, np.ndarray):
        if values.dtype != dtype:
            raise InvalidArgumentError(f"{name} must have dtype {dtype} for {info['name']}, got {values.dtype}")
        return np.ascontiguousarray(values)
    try:
        arr = np.asarray(values, dtype=object)
    except ValueError as e:  # ragged nesting
        raise InvalidArgumentError(f"{name} must be a rectangular array of integers: {e}") from None
    flat = arr.reshape(-1)
    for i, v in enumerate(flat):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise InvalidArgumentError(f"{name} must hold integers, element {i} is {type(v).__name__}")
        if not 0 <= int(v) < info["modulus"]:
            raise InvalidArgumentError(f"{name} element {i} = {int(v)} is not reduced mod p = {info['modulus']} "
                                       "(values are never reduced silently)")
    return arr.astype(dtype)


def _matrix(name: str, values, info: dict, width: int = 0):
    """A 2-D field array and whether the input was a single 1-D vector."""
    arr = field_array(name, values, info)
    single = arr.ndim == 1
    if single:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise InvalidArgumentError(f"{name} must be 1-D or 2-D, got {arr.ndim} dimensions")
    if width and arr.shape[1] != width:
        raise InvalidArgumentError(f"{name} of {info['name']} need {width} elements each, got {arr.shape[1]}")
    return arr, single


def _run(fn, *args):
    global last_device
    out, last_device = fn(*args)
    return out


def poseidon2_permute(states, instance: str = DEFAULT_INSTANCE, device: DeviceLike = "auto") -> np.ndarray:
    """Permute states of shape ``(n, width)`` (or one state of shape ``(width,)``)."""
    info = instance_info(instance)
    arr, single = _matrix("states", states, info, info["width"])
    out = _run(_zkclob.poseidon2_permute, arr, _instance_id(instance), find_device(device))
    return out[0] if single else out


def poseidon2_hash(rows, instance: str = DEFAULT_INSTANCE, device: DeviceLike = "auto") -> np.ndarray:
    """Sponge digests ``(n, digest)`` of rows ``(n, length)``; a 1-D row gives one digest."""
    info = instance_info(instance)
    arr, single = _matrix("rows", rows, info)
    out = _run(_zkclob.poseidon2_hash, arr, _instance_id(instance), find_device(device))
    return out[0] if single else out


def poseidon2_compress(left, right, instance: str = DEFAULT_INSTANCE, device: DeviceLike = "auto") -> np.ndarray:
    """2-to-1 compression of digest pairs, each side ``(n, digest)`` or ``(digest,)``."""
    info = instance_info(instance)
    lhs, single = _matrix("left", left, info, info["digest"])
    rhs, single_r = _matrix("right", right, info, info["digest"])
    if single != single_r or lhs.shape != rhs.shape:
        raise InvalidArgumentError(f"left and right must have the same shape, got {lhs.shape} and {rhs.shape}")
    out = _run(_zkclob.poseidon2_compress, lhs, rhs, _instance_id(instance), find_device(device))
    return out[0] if single else out


def _bytes_view(name: str, obj) -> np.ndarray:
    if isinstance(obj, str):
        raise InvalidArgumentError(f"{name} must be bytes-like, not str (encode it first)")
    try:
        view = memoryview(obj)
    except TypeError:
        raise InvalidArgumentError(f"{name} must be bytes-like, not {type(obj).__name__}") from None
    if not view.c_contiguous:
        raise InvalidArgumentError(f"{name} must be contiguous")
    return np.frombuffer(view.cast("B"), dtype=np.uint8) if view.nbytes else np.zeros(0, np.uint8)


def byte_strings(messages: Messages) -> Tuple[np.ndarray, np.ndarray]:
    """``(data, offsets)`` of messages given as a sequence of bytes-like objects, a pair
    ``(buffer, offsets)`` with ``n + 1`` offsets (message i is ``buffer[offsets[i]:offsets[i+1]]``),
    or a 2-D uint8 array of fixed-length messages. Buffers are used without copying."""
    if isinstance(messages, np.ndarray):
        if messages.dtype != np.uint8 or messages.ndim != 2:
            raise InvalidArgumentError("an array of messages must be 2-D uint8 (one message per row), "
                                       f"got {messages.ndim}-D {messages.dtype}")
        n, length = messages.shape
        return np.ascontiguousarray(messages).reshape(-1), np.arange(n + 1, dtype=np.uint64) * np.uint64(length)
    if isinstance(messages, (str, bytes, bytearray, memoryview)):
        raise InvalidArgumentError("messages must be a sequence of byte strings, not a single one "
                                   "(wrap it in a list)")
    if isinstance(messages, tuple) and len(messages) == 2 and _is_offsets(messages[1]):
        data = _bytes_view("buffer", messages[0])
        offsets = np.asarray(messages[1])
        if offsets.ndim != 1 or (offsets.size and offsets.dtype.kind not in "iu"):
            raise InvalidArgumentError("offsets must be a 1-D sequence of integers (n + 1 entries)")
        if offsets.size and offsets.min() < 0:
            raise InvalidArgumentError("offsets must not be negative")
        return data, np.ascontiguousarray(offsets, dtype=np.uint64)
    try:
        parts = [_bytes_view(f"message {i}", m) for i, m in enumerate(messages)]
    except TypeError:
        raise InvalidArgumentError(f"messages must be a sequence of byte strings, not {type(messages).__name__}") \
            from None
    offsets = np.zeros(len(parts) + 1, dtype=np.uint64)
    np.cumsum([p.size for p in parts], out=offsets[1:])
    data = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    return data, offsets


def _is_offsets(obj) -> bool:
    if isinstance(obj, np.ndarray):
        return obj.dtype.kind in "iu"
    return isinstance(obj, (list, tuple, range)) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in obj)


def sha256_batch(messages: Messages, device: DeviceLike = "auto") -> np.ndarray:
    """SHA-256 digests ``(n, 32)`` uint8 of n messages (see :func:`byte_strings` for the forms)."""
    data, offsets = byte_strings(messages)
    return _run(_zkclob.bytes_hash, _zkclob.MERKLE_SHA256, data, offsets, find_device(device))


def keccak256_batch(messages: Messages, device: DeviceLike = "auto") -> np.ndarray:
    """Keccak-256 digests ``(n, 32)`` uint8 with Ethereum's original padding (0x01), not SHA3-256."""
    data, offsets = byte_strings(messages)
    return _run(_zkclob.bytes_hash, _zkclob.MERKLE_KECCAK256, data, offsets, find_device(device))


__all__ = [
    "DEFAULT_INSTANCE",
    "INSTANCES",
    "byte_strings",
    "field_array",
    "instance_info",
    "keccak256_batch",
    "last_device",
    "poseidon2_compress",
    "poseidon2_hash",
    "poseidon2_permute",
    "sha256_batch",
]
