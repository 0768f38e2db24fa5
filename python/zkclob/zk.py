"""Proof primitives: the BabyBear and Goldilocks fields, NTTs, low-degree
extension and polynomial arithmetic, bit-identical on every backend.

Field elements are canonical integers in ``[0, p)``: ``uint32`` arrays for
BabyBear (``p = 2**31 - 2**27 + 1``) and ``uint64`` arrays for Goldilocks
(``p = 2**64 - 2**32 + 1``). Inputs are checked, never reduced: an element
``>= p`` raises :class:`zkclob.InvalidArgumentError`. A 1-D array is one
vector; a 2-D array is a batch of columns (a row-major ``rows x cols`` trace),
transformed column by column.

The NTT of ``x`` (``n`` rows, ``n`` a power of two up to ``2**24``) is
``y[i] = sum_j x[j] * (s * w**i)**j`` with ``w = two_adic_generator(log2 n)``
and ``s = 1``, or on the coset ``s = g`` (the multiplicative generator: 31 for
BabyBear, 7 for Goldilocks) with ``coset=True``; the inverse divides by ``n``.
These are Plonky3's generators and conventions. ``order`` names the input and
output index order: ``"nn"``, ``"nr"``, ``"rn"`` or ``"rr"`` (``n`` natural,
``r`` bit-reversed).

Results live in engine-owned memory; the returned NumPy arrays view it without
a copy (their ``base`` is a :class:`zkclob.Buffer`).

Batch polynomial commitments: ``c = commit(columns, field=..., blowup=...)``
extends every column (:func:`lde`), hashes every row of the extension with
Poseidon2 and builds a Merkle tree over the rows; ``c.root`` is the
commitment, ``open(c, indices)`` returns the rows with one multiproof, and
``verify(root, indices, rows, proof, lde_rows=...)`` checks them.

The hashes and trees of :mod:`zkclob.hashes` and :mod:`zkclob.merkle` are
re-exported here: ``zk.poseidon2(rows)`` (the sponge digest),
``zk.poseidon2_permute``, ``zk.poseidon2_compress``, ``zk.sha256_batch``,
``zk.keccak256_batch`` and ``zk.MerkleTree(leaves)``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _zkclob, hashes, merkle
from ._zkclob import InvalidArgumentError
from .devices import DeviceLike, find_device
from .hashes import keccak256_batch, poseidon2_compress, poseidon2_hash, poseidon2_permute, sha256_batch
from .merkle import MerkleTree

poseidon2 = poseidon2_hash
"""``zk.poseidon2(rows, instance="babybear16")``: Poseidon2 sponge digests of rows
(:func:`zkclob.hashes.poseidon2_hash`)."""

BABYBEAR_P = 2013265921
GOLDILOCKS_P = 2**64 - 2**32 + 1
MAX_LOG_ROWS = 24
ORDERS = ("nn", "nr", "rn", "rr")
BLOWUPS = (2, 4, 8)

_FIELDS = {
    # name: (C enum, dtype)
    "babybear": (_zkclob.FIELD_BABYBEAR, np.dtype(np.uint32)),
    "goldilocks": (_zkclob.FIELD_GOLDILOCKS, np.dtype(np.uint64)),
}
_ORDER_CODES = dict(zip(ORDERS, (_zkclob.NTT_NN, _zkclob.NTT_NR, _zkclob.NTT_RN, _zkclob.NTT_RR)))
_SIMD = {"scalar": _zkclob.SIMD_SCALAR, "avx2": _zkclob.SIMD_AVX2}

ArrayLike = Union[np.ndarray, Sequence]

last_device: int = -1
"""Id of the device that ran the latest call (differs from the request after a failover)."""


def _field(field: str):
    if not isinstance(field, str) or field.lower() not in _FIELDS:
        raise InvalidArgumentError(f"field must be 'babybear' or 'goldilocks', got {field!r}")
    return field.lower(), *_FIELDS[field.lower()]


def _values(values: ArrayLike, field: str, name: str, ndims: tuple) -> np.ndarray:
    """A C-contiguous array of the field's dtype (no copy when it already is one)."""
    key, _, dtype = _field(field)
    if isinstance(values, np.ndarray):
        if values.dtype != dtype:
            raise InvalidArgumentError(f"{name} must have dtype {dtype} for {key}, got {values.dtype}")
        arr = values
    else:
        try:
            obj = np.array(values, dtype=object)
        except ValueError as e:
            raise InvalidArgumentError(f"{name} must be a rectangular array of integers: {e}") from None
        if obj.ndim not in ndims:
            raise InvalidArgumentError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got {obj.ndim}")
        p = field_info(key)["modulus"]
        for v in obj.flat:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise InvalidArgumentError(f"{name} must hold integers, got {type(v).__name__}")
            if not 0 <= int(v) < p:
                raise InvalidArgumentError(f"{name} holds {int(v)}, not a canonical {key} element "
                                           f"(must be in [0, {p}))")
        arr = obj.astype(dtype) if obj.size else np.zeros(obj.shape, dtype)
    if arr.ndim not in ndims:
        raise InvalidArgumentError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got {arr.ndim}")
    if arr.size == 0:
        raise InvalidArgumentError(f"{name} is empty")
    return np.ascontiguousarray(arr)


def _order(order: str) -> int:
    if not isinstance(order, str) or order.lower() not in _ORDER_CODES:
        raise InvalidArgumentError(f"order must be one of {ORDERS}, got {order!r}")
    return _ORDER_CODES[order.lower()]


def _run(fn, *args):
    global last_device
    out, last_device = fn(*args)
    return out


def field_info(field: str = "babybear") -> dict:
    """``name``, ``modulus``, ``elem_size`` (bytes), multiplicative ``generator`` and ``two_adicity``."""
    return _zkclob.field_info(_field(field)[1])


def two_adic_generator(bits: int, field: str = "babybear") -> int:
    """The primitive ``2**bits``-th root of unity ``g**((p - 1) / 2**bits)`` (Plonky3's ``two_adic_generator``)."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 0:
        raise InvalidArgumentError(f"bits must be a non-negative integer, got {bits!r}")
    return _zkclob.two_adic_generator(_field(field)[1], int(bits))


def ntt(values: ArrayLike, field: str = "babybear", inverse: bool = False, order: str = "nn",
        coset: bool = False, device: DeviceLike = "auto") -> np.ndarray:
    """Forward NTT (coefficients to evaluations) or, with ``inverse=True``, its inverse, of each column."""
    arr = _values(values, field, "values", (1, 2))
    return _run(_zkclob.ntt, arr, _field(field)[1], bool(inverse), _order(order), bool(coset), find_device(device))


def intt(values: ArrayLike, field: str = "babybear", order: str = "nn", coset: bool = False,
         device: DeviceLike = "auto") -> np.ndarray:
    """Inverse NTT: evaluations on the subgroup (or coset) to coefficients."""
    return ntt(values, field, inverse=True, order=order, coset=coset, device=device)


def interpolate(values: ArrayLike, field: str = "babybear", order: str = "nn", coset: bool = False,
                device: DeviceLike = "auto") -> np.ndarray:
    """Coefficients of the polynomial(s) of degree < n taking ``values`` on the two-adic subgroup of size n
    (or its coset): the inverse NTT."""
    return intt(values, field, order=order, coset=coset, device=device)


def lde(values: ArrayLike, blowup: int, field: str = "babybear", order: str = "nn", coset: bool = True,
        device: DeviceLike = "auto") -> np.ndarray:
    """Low-degree extension: ``values`` are evaluations on the subgroup H of size n (input order ``order[0]``);
    the result holds the same polynomials evaluated on ``g H'`` (``coset=True``) or ``H'``, ``|H'| = n * blowup``,
    in output order ``order[1]``. ``blowup`` is 2, 4 or 8."""
    if isinstance(blowup, bool) or not isinstance(blowup, (int, np.integer)) or blowup not in BLOWUPS:
        raise InvalidArgumentError(f"blowup must be 2, 4 or 8, got {blowup!r}")
    arr = _values(values, field, "values", (1, 2))
    return _run(_zkclob.lde, arr, _field(field)[1], int(blowup), _order(order), bool(coset), find_device(device))


def evaluate(coeffs: ArrayLike, points: ArrayLike, field: str = "babybear", device: DeviceLike = "auto") -> np.ndarray:
    """``sum_j coeffs[j] * x**j`` at every ``x`` in ``points`` (parallel Horner)."""
    c = _values(coeffs, field, "coeffs", (1,))
    x = _values(points, field, "points", (1,))
    return _run(_zkclob.poly_eval, c, x, _field(field)[1], find_device(device))


def poly_mul(a: ArrayLike, b: ArrayLike, field: str = "babybear", device: DeviceLike = "auto") -> np.ndarray:
    """The product of two coefficient vectors (``len(a) + len(b) - 1`` coefficients), by NTTs."""
    x = _values(a, field, "a", (1,))
    y = _values(b, field, "b", (1,))
    return _run(_zkclob.poly_mul, x, y, _field(field)[1], find_device(device))


def batch_inverse(values: ArrayLike, field: str = "babybear", device: DeviceLike = "auto") -> np.ndarray:
    """Inverses of nonzero elements by Montgomery's trick; a zero raises naming its index."""
    arr = _values(values, field, "values", (1,))
    return _run(_zkclob.batch_inverse, arr, _field(field)[1], find_device(device))


def simd() -> str:
    """The cpu backend's vector path for field kernels now in use: ``"scalar"`` or ``"avx2"``."""
    level = _zkclob.zk_simd_get()
    return next(k for k, v in _SIMD.items() if v == level)


def simd_best() -> str:
    """The best vector path this CPU has."""
    level = _zkclob.zk_simd_best()
    return next(k for k, v in _SIMD.items() if v == level)


def set_simd(level: str) -> None:
    """Select the cpu vector path (``"scalar"``, ``"avx2"`` or ``"auto"`` for the best); results never change.

    ``ZC_NO_SIMD=1`` in the environment starts the process on the scalar path."""
    if not isinstance(level, str) or level.lower() not in (*_SIMD, "auto"):
        raise InvalidArgumentError(f"level must be 'scalar', 'avx2' or 'auto', got {level!r}")
    level = level.lower()
    _zkclob.zk_simd_set(_zkclob.zk_simd_best() if level == "auto" else _SIMD[level])


class Opening(NamedTuple):
    """Opened LDE row indices (sorted, unique, uint64), the rows ``(k, cols)`` and their multiproof ``(m, 32)``."""

    indices: np.ndarray
    rows: np.ndarray
    proof: np.ndarray


_DEFAULT_INSTANCES = {"babybear": "babybear16", "goldilocks": "goldilocks8"}


def _commit_instance(instance: Optional[str], field: str) -> str:
    key = _field(field)[0]
    instance = _DEFAULT_INSTANCES[key] if instance is None else instance
    info = hashes.instance_info(instance)
    if info["goldilocks"] != (key == "goldilocks"):
        raise InvalidArgumentError(f"Poseidon2 instance {instance!r} does not hash {key} elements")
    return instance


class Commitment:
    """A batch polynomial commitment (see :func:`commit`): the root, the LDE matrix and its Merkle tree."""

    def __init__(self, handle, field: str, blowup: int, instance: str, order: str, coset: bool, rows: int, cols: int):
        self._handle = handle
        self.field, self.blowup, self.instance, self.order, self.coset = field, blowup, instance, order, coset
        self.rows, self.cols = rows, cols
        self.lde_rows = rows * blowup

    @property
    def root(self) -> bytes:
        """The 32-byte Merkle root (the Poseidon2 digest elements, little-endian)."""
        return _zkclob.commitment_root(self._handle)

    @property
    def lde(self) -> np.ndarray:
        """The ``(rows * blowup, cols)`` LDE matrix (prover data) as a read-only view without a copy."""
        view = _zkclob.commitment_lde(self._handle)
        view.flags.writeable = False
        return view

    def open(self, indices: Sequence[int]) -> Opening:
        """The LDE rows at ``indices`` (duplicates merged, sorted) and one multiproof for all of them."""
        idx = np.unique(merkle._index_array("indices", indices))
        if idx.size == 0:
            raise InvalidArgumentError("no row indices given")
        rows, proof = _zkclob.commit_open(self._handle, idx)
        return Opening(idx, rows, proof)

    def __repr__(self) -> str:
        return (f"<Commitment {self.field} {self.rows}x{self.cols} blowup={self.blowup} {self.instance} "
                f"root={self.root.hex()}>")


def commit(columns: ArrayLike, field: str = "babybear", blowup: int = 2, order: str = "nn", coset: bool = True,
           instance: Optional[str] = None, device: DeviceLike = "auto") -> Commitment:
    """Batch polynomial commitment to the columns of a ``(rows, cols)`` matrix (a 1-D array is one column).

    The columns are evaluations on the subgroup H of size ``rows`` (a power of two); each is extended
    as by :func:`lde` (``blowup`` 2, 4 or 8, onto ``g H'`` with ``coset=True``, in output order
    ``order[1]``), each row of the LDE matrix is hashed with the Poseidon2 sponge of ``instance``
    (default ``"babybear16"`` or ``"goldilocks8"``) into a leaf, and a Merkle tree is built over the
    rows (:class:`zkclob.merkle.MerkleTree` rules). Plonky3 lays its LDEs out bit-reversed: ``order="nr"``."""
    global last_device
    key = _field(field)[0]
    if isinstance(blowup, bool) or not isinstance(blowup, (int, np.integer)) or blowup not in BLOWUPS:
        raise InvalidArgumentError(f"blowup must be 2, 4 or 8, got {blowup!r}")
    instance = _commit_instance(instance, key)
    arr = _values(columns, key, "columns", (1, 2))
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    code = _order(order)
    handle, last_device = _zkclob.commit(arr, _field(key)[1], int(blowup), code, bool(coset),
                                         hashes.INSTANCES[instance], find_device(device))
    return Commitment(handle, key, int(blowup), instance, order.lower(), bool(coset), arr.shape[0], arr.shape[1])


def open(commitment: Commitment, indices: Sequence[int]) -> Opening:
    """``commitment.open(indices)``: the LDE rows at ``indices`` and their batch Merkle proof."""
    if not isinstance(commitment, Commitment):
        raise InvalidArgumentError(f"commitment must be a Commitment, not {type(commitment).__name__}")
    return commitment.open(indices)


def verify(root, indices: Sequence[int], rows, proof, lde_rows: int, field: str = "babybear",
           instance: Optional[str] = None) -> bool:
    """Check an opening of a commitment with ``lde_rows`` LDE rows against its 32-byte ``root``.

    ``indices`` strictly increasing, ``rows`` the ``(k, cols)`` opened rows in the same order, ``proof``
    the ``(m, 32)`` multiproof. Returns ``False`` for tampered rows or proof or rows of other indices;
    raises InvalidArgumentError for malformed input (bad indices, a proof of the wrong length, values
    not reduced mod p)."""
    key = _field(field)[0]
    instance = _commit_instance(instance, key)
    if isinstance(lde_rows, bool) or not isinstance(lde_rows, (int, np.integer)) or lde_rows < 1:
        raise InvalidArgumentError(f"lde_rows must be a positive integer, got {lde_rows!r}")
    idx = merkle._index_array("indices", indices)
    opened = _values(rows, key, "rows", (2,))
    return _zkclob.commit_verify(hashes.INSTANCES[instance], merkle._root_bytes(root), int(lde_rows), idx, opened,
                                 merkle._proof_nodes(proof))


# ``open`` stays out of __all__: a star import must not shadow the builtin.
__all__ = [
    "BABYBEAR_P",
    "BLOWUPS",
    "Commitment",
    "MerkleTree",
    "Opening",
    "GOLDILOCKS_P",
    "MAX_LOG_ROWS",
    "ORDERS",
    "batch_inverse",
    "commit",
    "evaluate",
    "field_info",
    "interpolate",
    "intt",
    "keccak256_batch",
    "last_device",
    "lde",
    "ntt",
    "poly_mul",
    "poseidon2",
    "poseidon2_compress",
    "poseidon2_hash",
    "poseidon2_permute",
    "set_simd",
    "sha256_batch",
    "simd",
    "simd_best",
    "two_adic_generator",
    "verify",
]
