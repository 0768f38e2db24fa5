"""Crypto: secp256k1 ECDSA batch verification, key parsing, and deterministic
(RFC 6979) signing for test and demo data.

Byte conventions follow SEC 1 and libsecp256k1: scalars, digests and coordinates are
32-byte big-endian. A *parsed* public key is 64 bytes ``x || y``; a signature is 64 bytes
``r || s``. Batches are ``uint8`` arrays with one row per item.

* :func:`ecdsa_verify_batch` runs on any backend (``device``); results are bit-identical
  on every backend. A malformed key, ``r`` or ``s`` outside ``[1, n - 1]`` or, with
  ``low_s=True``, ``s > n / 2`` make that item ``False``; they are not errors.
* Signing (:func:`sign`, :func:`sign_batch`) and :func:`pubkey_create` are constant time in
  the secret key and nonce, use RFC 6979 nonces and return low-``s`` signatures, so they
  equal libsecp256k1's (coincurve's) byte for byte. They run on the cpu thread pool.
* :func:`parse_der` is strict DER (BIP 66): anything else, BER leniencies included, is
  reported as not ok, and its zero row never verifies. Wycheproof's "acceptable" verdict
  (legacy encodings some libraries take) therefore always comes out invalid here; the
  secp256k1 Wycheproof files have no such case, and every valid/invalid verdict matches.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from . import _zkclob
from ._zkclob import InvalidArgumentError
from .devices import DeviceLike, find_device

last_device: int = -1
"""Id of the device that ran the latest verification (differs from the request after a failover)."""


def _rows(name: str, value, widths: Tuple[int, ...]) -> np.ndarray:
    """``value`` as a C-contiguous ``(n, w)`` uint8 array with ``w`` in ``widths``.

    A single row of shape ``(w,)`` and ``bytes`` objects are accepted too."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = np.frombuffer(bytes(value), dtype=np.uint8)
    elif not isinstance(value, np.ndarray):
        raise InvalidArgumentError(f"{name} must be a uint8 NumPy array or bytes, got {type(value).__name__}")
    if value.dtype != np.uint8:
        raise InvalidArgumentError(f"{name} must have dtype uint8, got {value.dtype}")
    if value.ndim == 1:
        value = value.reshape(1, -1)
    if value.ndim != 2 or value.shape[1] not in widths:
        want = " or ".join(f"(n, {w})" for w in widths)
        raise InvalidArgumentError(f"{name} must have shape {want}, got {value.shape}")
    return np.ascontiguousarray(value)


def parse_pubkeys(pubkeys) -> Tuple[np.ndarray, np.ndarray]:
    """Parse SEC 1 public keys, shape ``(n, 33)`` (compressed) or ``(n, 65)`` (uncompressed).

    Returns ``(keys, ok)``: ``keys`` of shape ``(n, 64)`` (``x || y``; zero rows where invalid)
    and ``ok``, a bool array. A key is invalid for a wrong prefix (hybrid ``0x06``/``0x07``
    included), a coordinate ``>= p``, or a point off the curve."""
    arr = _rows("pubkeys", pubkeys, (33, 65))
    keys, ok = _zkclob.secp256k1_pubkey_parse(arr)
    return keys, ok.astype(bool)


def _parsed_keys(pubkeys) -> Tuple[np.ndarray, np.ndarray]:
    arr = _rows("pubkeys", pubkeys, (33, 64, 65))
    if arr.shape[1] == 64:
        return arr, np.ones(arr.shape[0], dtype=bool)
    return parse_pubkeys(arr)


def ecdsa_verify_batch(pubkeys, digests, signatures, *, low_s: bool = False,
                       device: DeviceLike = None) -> np.ndarray:
    """Verify ECDSA signatures: a bool array, True where signature ``i`` is valid for
    ``digests[i]`` under ``pubkeys[i]``.

    ``pubkeys``: ``(n, 33)`` or ``(n, 65)`` SEC 1 bytes or ``(n, 64)`` parsed keys;
    ``digests``: ``(n, 32)``; ``signatures``: ``(n, 64)`` ``r || s`` (see :func:`parse_der`),
    all uint8. ``low_s`` rejects ``s > n / 2`` (BIP 62, libsecp256k1's policy). ``device``:
    ``None`` or ``"auto"``, ``"cpu"``, ``"opencl"``, an id or a Device."""
    global last_device
    keys, key_ok = _parsed_keys(pubkeys)
    dg = _rows("digests", digests, (32,))
    sg = _rows("signatures", signatures, (64,))
    if not keys.shape[0] == dg.shape[0] == sg.shape[0]:
        raise InvalidArgumentError("pubkeys, digests and signatures need the same number of rows: "
                                   f"{keys.shape[0]}, {dg.shape[0]} and {sg.shape[0]}")
    flags = _zkclob.ECDSA_LOW_S if low_s else 0
    valid, last_device = _zkclob.ecdsa_verify_batch(keys, dg, sg, flags,
                                                    find_device("auto" if device is None else device))
    return valid.astype(bool) & key_ok


def _seckeys(seckeys) -> np.ndarray:
    return _rows("seckeys", seckeys, (32,))


def pubkey_create(seckeys, *, compressed: bool | None = None) -> np.ndarray:
    """Public keys of secret keys (``(n, 32)`` uint8 or one 32-byte key), each in ``[1, n - 1]``.

    ``compressed=None`` gives the parsed ``(n, 64)`` form, ``True`` SEC 1 ``(n, 33)``,
    ``False`` SEC 1 ``(n, 65)``. A single key gives a single row."""
    single = isinstance(seckeys, (bytes, bytearray, memoryview)) or (
        isinstance(seckeys, np.ndarray) and seckeys.ndim == 1)
    keys = _zkclob.secp256k1_pubkey_create(_seckeys(seckeys))
    if compressed is not None:
        keys = serialize_pubkeys(keys, compressed=compressed)
    return keys[0] if single else keys


def serialize_pubkeys(keys, *, compressed: bool = True) -> np.ndarray:
    """SEC 1 encoding of parsed ``(n, 64)`` keys: ``(n, 33)`` or ``(n, 65)``."""
    arr = _rows("keys", keys, (64,))
    if compressed:
        out = np.empty((arr.shape[0], 33), dtype=np.uint8)
        out[:, 0] = 2 | (arr[:, 63] & 1)
        out[:, 1:] = arr[:, :32]
    else:
        out = np.empty((arr.shape[0], 65), dtype=np.uint8)
        out[:, 0] = 4
        out[:, 1:] = arr
    return out


def sign_batch(seckeys, digests, key_index=None) -> np.ndarray:
    """RFC 6979 low-s signatures ``(n, 64)`` of ``digests`` ``(n, 32)``.

    Item ``i`` is signed with ``seckeys[key_index[i]]`` (``key_index``: ``n`` integers in
    ``[0, len(seckeys))``), or with ``seckeys[i]`` when ``key_index`` is None."""
    keys = _seckeys(seckeys)
    dg = _rows("digests", digests, (32,))
    index = None
    if key_index is not None:
        idx = np.asarray(key_index)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise InvalidArgumentError(f"key_index must be a 1-D integer array, got dtype {idx.dtype}, "
                                       f"shape {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= keys.shape[0]):
            raise InvalidArgumentError(f"key_index entries must be in [0, {keys.shape[0]})")
        index = np.ascontiguousarray(idx, dtype=np.uint32)
    return _zkclob.ecdsa_sign_batch(keys, index, dg)


def sign(seckey, digest) -> bytes:
    """One RFC 6979 low-s signature ``r || s`` (64 bytes) of a 32-byte digest."""
    key, dg = _rows("seckey", seckey, (32,)), _rows("digest", digest, (32,))
    if key.shape[0] != 1 or dg.shape[0] != 1:
        raise InvalidArgumentError("sign takes one 32-byte key and one 32-byte digest; use sign_batch for more")
    return sign_batch(key, dg)[0].tobytes()


def parse_der(der: Sequence[bytes]) -> Tuple[np.ndarray, np.ndarray]:
    """Strict DER signatures to ``(signatures (n, 64), ok (n,) bool)``; rows of malformed
    encodings are zero (and so never verify)."""
    if isinstance(der, (bytes, bytearray, memoryview)):
        der = [der]
    sigs, ok = _zkclob.ecdsa_sig_parse_der(der)
    return sigs, ok.astype(bool)


def to_der(signatures) -> list:
    """DER encodings (``bytes``) of ``(n, 64)`` ``r || s`` signatures."""
    out = []
    for row in _rows("signatures", signatures, (64,)):
        parts = []
        for half in (row[:32].tobytes(), row[32:].tobytes()):
            v = half.lstrip(b"\0") or b"\0"
            if v[0] & 0x80:
                v = b"\0" + v
            parts.append(b"\x02" + bytes([len(v)]) + v)
        body = b"".join(parts)
        out.append(b"\x30" + bytes([len(body)]) + body)
    return out
