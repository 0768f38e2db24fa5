"""Merkle trees over 32-byte digests, built level by level on any backend.

``MerkleTree(rows)`` hashes each row of field elements with the Poseidon2 sponge and joins
nodes with Poseidon2 2-to-1 compression (``instance``, default ``"babybear16"``);
``MerkleTree(messages, hash="sha256")`` or ``hash="keccak256"`` hashes byte strings and joins
nodes as ``H(left || right)``. Roots are bit-identical on every device.

Shape: level 0 holds the n leaf digests and each level above holds ``ceil(m / 2)`` parents of
the m nodes below, up to the root; a level of odd length gets the all-zero digest as the right
sibling of its last node. Any n >= 1 works, with depth ``ceil(log2 n)``.

Proofs: ``proof(i)`` is the ``depth`` sibling digests from the leaf up (zero digests where the
sibling is padding). ``multiproof(indices)`` opens several leaves at once: its indices are
sorted and unique, and its nodes are the sibling digests that cannot be computed from the
opened leaves, in level order and by increasing index within a level; a single proof is the
multiproof of one leaf. Verification takes the number of leaves, so every proof has a fixed
shape: a proof of the wrong length is an error, a tampered one verifies as ``False``.
"""

from __future__ import annotations

import threading
from typing import NamedTuple, Sequence

import numpy as np

from . import _zkclob, hashes
from ._zkclob import InvalidArgumentError
from .devices import DeviceLike, find_device

HASHES = {"poseidon2": _zkclob.MERKLE_POSEIDON2, "sha256": _zkclob.MERKLE_SHA256,
          "keccak256": _zkclob.MERKLE_KECCAK256}
_HASH_NAMES = {v: k for k, v in HASHES.items()}
DIGEST_BYTES = 32

last_device: int = -1
"""Id of the device that ran the latest build or update."""


class MultiProof(NamedTuple):
    """Opened leaf indices (sorted, unique, uint64) and the proof nodes ``(m, 32)`` uint8."""

    indices: np.ndarray
    nodes: np.ndarray


def _hash_id(hash: str) -> int:
    if hash not in HASHES:
        raise InvalidArgumentError(f"unknown Merkle hash {hash!r}; use one of {sorted(HASHES)}")
    return HASHES[hash]


def _index_array(name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise InvalidArgumentError(f"{name} must be integers (a 1-D sequence), got {arr.dtype} with shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise InvalidArgumentError(f"{name} must not be negative, got {arr.min()}")
    return np.ascontiguousarray(arr, dtype=np.uint64)


def _leaf_rows(leaves, instance: str) -> np.ndarray:
    rows = hashes.field_array("leaves", leaves, hashes.instance_info(instance))
    if rows.ndim != 2:
        raise InvalidArgumentError(f"Poseidon2 leaves must be a 2-D array of rows (n, length), got {rows.ndim}-D")
    return rows


class MerkleTree:
    """A Merkle tree over rows of field elements (Poseidon2) or byte strings (SHA-256, Keccak-256)."""

    def __init__(self, leaves, hash: str = "poseidon2", instance: str = hashes.DEFAULT_INSTANCE,
                 device: DeviceLike = "auto"):
        global last_device
        kind = _hash_id(hash)
        dev = find_device(device)
        if kind == _zkclob.MERKLE_POSEIDON2:
            hashes.instance_info(instance)
            self._tree, last_device = _zkclob.merkle_build_rows(_leaf_rows(leaves, instance),
                                                                hashes.INSTANCES[instance], dev)
        else:
            data, offsets = hashes.byte_strings(leaves)
            self._tree, last_device = _zkclob.merkle_build_bytes(kind, data, offsets, dev)
        info = _zkclob.merkle_info(self._tree)
        self.hash = hash
        self.instance = instance if kind == _zkclob.MERKLE_POSEIDON2 else None
        self.num_leaves: int = info["num_leaves"]
        self.depth: int = info["depth"]
        self.row_length: int = info["row_len"]
        self._levels = info["levels"]
        self._lock = threading.Lock()  # updates release the GIL; readers wait for them

    @property
    def root(self) -> bytes:
        """The 32-byte root (for Poseidon2: the digest elements, little-endian)."""
        with self._lock:
            return _zkclob.merkle_root(self._tree)

    @property
    def nodes(self) -> np.ndarray:
        """Every node digest, ``(nodes, 32)`` uint8, level 0 first: a read-only view of the tree's
        memory (no copy), which later updates change in place."""
        view = _zkclob.merkle_nodes(self._tree)
        view.flags.writeable = False
        return view

    def level(self, k: int) -> np.ndarray:
        """The digests of level ``k`` (0 = leaves, ``depth`` = root) as a read-only view."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= self.depth:
            raise InvalidArgumentError(f"level must be an integer in [0, {self.depth}], got {k!r}")
        offset, size = self._levels[k]
        return self.nodes[offset:offset + size]

    @property
    def leaf_digests(self) -> np.ndarray:
        """The ``(n, 32)`` leaf digests (level 0) as a read-only view."""
        return self.level(0)

    def proof(self, index: int) -> np.ndarray:
        """The ``(depth, 32)`` uint8 sibling digests of leaf ``index``."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise InvalidArgumentError(f"index must be an integer, not {type(index).__name__}")
        if index < 0:
            raise InvalidArgumentError(f"leaf index must not be negative, got {index}")
        with self._lock:
            return _zkclob.merkle_proof(self._tree, int(index))

    def multiproof(self, indices: Sequence[int]) -> MultiProof:
        """One proof for several leaves; duplicate indices are merged and the result's indices sorted."""
        idx = np.unique(_index_array("indices", indices))
        with self._lock:
            return MultiProof(idx, _zkclob.merkle_multiproof(self._tree, idx))

    def update(self, indices: Sequence[int], new_leaves, device: DeviceLike = "auto") -> None:
        """Replace leaves ``indices[j]`` by ``new_leaves[j]``, recomputing only the paths above them.
        Indices must be distinct; on error the tree is unchanged."""
        global last_device
        idx = _index_array("indices", indices)
        order = np.argsort(idx, kind="stable")
        if idx.size > 1 and np.any(np.diff(idx[order]) == 0):
            raise InvalidArgumentError("indices must be distinct")
        dev = find_device(device)
        if self.hash == "poseidon2":
            rows = _leaf_rows(new_leaves, self.instance)
            if rows.shape[0] != idx.size:
                raise InvalidArgumentError(f"{idx.size} indices but {rows.shape[0]} leaves")
            with self._lock:
                last_device = _zkclob.merkle_update_rows(self._tree, idx[order], np.ascontiguousarray(rows[order]),
                                                         dev)
        else:
            data, offsets = hashes.byte_strings(new_leaves)
            if offsets.size - 1 != idx.size:
                raise InvalidArgumentError(f"{idx.size} indices but {offsets.size - 1} leaves")
            if np.any(order != np.arange(idx.size)):
                data, offsets = hashes.byte_strings([data[offsets[j]:offsets[j + 1]] for j in order])
            with self._lock:
                last_device = _zkclob.merkle_update_bytes(self._tree, idx[order], data, offsets, dev)

    def __repr__(self) -> str:
        what = f"poseidon2/{self.instance}" if self.instance else self.hash
        return f"<MerkleTree {what} leaves={self.num_leaves} depth={self.depth} root={self.root.hex()}>"


def _root_bytes(root) -> bytes:
    try:
        data = bytes(memoryview(root).cast("B"))
    except TypeError:
        raise InvalidArgumentError(f"root must be 32 bytes, not {type(root).__name__}") from None
    if len(data) != DIGEST_BYTES:
        raise InvalidArgumentError(f"root must be 32 bytes, got {len(data)}")
    return data


def _proof_nodes(proof) -> np.ndarray:
    """Proof nodes ``(m, 32)`` uint8 from an array or a sequence of 32-byte strings."""
    if isinstance(proof, np.ndarray):
        if proof.dtype != np.uint8 or proof.ndim != 2 or proof.shape[1] != DIGEST_BYTES:
            raise InvalidArgumentError(f"proof must be a (nodes, 32) uint8 array, got {proof.ndim}-D {proof.dtype} "
                                       f"with shape {proof.shape}")
        return np.ascontiguousarray(proof)
    try:
        items = list(proof)
    except TypeError:
        raise InvalidArgumentError(f"proof must be an array or a sequence of 32-byte nodes, not "
                                   f"{type(proof).__name__}") from None
    nodes = []
    for i, node in enumerate(items):
        try:
            data = bytes(memoryview(node).cast("B"))
        except TypeError:
            raise InvalidArgumentError(f"proof node {i} must be bytes-like, not {type(node).__name__}") from None
        if len(data) != DIGEST_BYTES:
            raise InvalidArgumentError(f"proof node {i} must be 32 bytes, got {len(data)}")
        nodes.append(data)
    return np.frombuffer(b"".join(nodes), dtype=np.uint8).reshape(len(nodes), DIGEST_BYTES)


def _leaf_digests(leaves, count: int, hash: str, instance: str) -> np.ndarray:
    """Digests of `count` opened leaves, hashed on the host."""
    if hash == "poseidon2":
        rows = hashes.field_array("leaves", leaves, hashes.instance_info(instance))
        if rows.ndim != 2 or rows.shape[0] != count:
            raise InvalidArgumentError(f"expected {count} leaf rows as a 2-D array, got shape {rows.shape}")
        digests = hashes.poseidon2_hash(rows, instance, device="cpu")
        return np.ascontiguousarray(digests).view(np.uint8).reshape(count, DIGEST_BYTES)
    data, offsets = hashes.byte_strings(leaves)
    if offsets.size - 1 != count:
        raise InvalidArgumentError(f"expected {count} leaves, got {offsets.size - 1}")
    fn = hashes.sha256_batch if hash == "sha256" else hashes.keccak256_batch
    return fn((data, offsets), device="cpu")


def verify_multi(root, indices: Sequence[int], leaves, proof, num_leaves: int, hash: str = "poseidon2",
                 instance: str = hashes.DEFAULT_INSTANCE) -> bool:
    """Check a multiproof: ``indices`` strictly increasing, ``leaves`` in the same order (rows for
    Poseidon2, byte strings otherwise), ``proof`` the ``(m, 32)`` nodes, ``num_leaves`` the tree size.

    Returns ``False`` for a proof that does not lead to ``root``; raises InvalidArgumentError for
    malformed input (bad indices, a proof of the wrong length, values not reduced mod p)."""
    kind = _hash_id(hash)
    if kind == _zkclob.MERKLE_POSEIDON2:
        hashes.instance_info(instance)
    if isinstance(num_leaves, bool) or not isinstance(num_leaves, (int, np.integer)) or num_leaves < 1:
        raise InvalidArgumentError(f"num_leaves must be a positive integer, got {num_leaves!r}")
    idx = _index_array("indices", indices)
    digests = _leaf_digests(leaves, idx.size, hash, instance)
    return _zkclob.merkle_verify(kind, hashes.INSTANCES.get(instance, 0), _root_bytes(root), int(num_leaves), idx,
                                 digests, _proof_nodes(proof))


def verify(root, index: int, leaf, proof, num_leaves: int, hash: str = "poseidon2",
           instance: str = hashes.DEFAULT_INSTANCE) -> bool:
    """Check the single proof of leaf ``index`` (a row of field elements for Poseidon2, bytes otherwise)."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise InvalidArgumentError(f"index must be an integer, not {type(index).__name__}")
    leaves = leaf[np.newaxis] if hash == "poseidon2" and isinstance(leaf, np.ndarray) else [leaf]
    return verify_multi(root, [index], leaves, proof, num_leaves, hash, instance)


__all__ = ["DIGEST_BYTES", "HASHES", "MerkleTree", "MultiProof", "last_device", "verify", "verify_multi"]
