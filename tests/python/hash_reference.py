"""Independent pure-Python references for the hash and Merkle tests: Poseidon2 written from the
structure the vector files describe (and their constants), Merkle trees over hashlib,
pycryptodome or that Poseidon2."""

import hashlib
import json
import pathlib

from Crypto.Hash import keccak

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "vectors"

FILES = {
    "babybear16": "poseidon2_babybear_w16_plonky3_default.json",
    "babybear24": "poseidon2_babybear_w24_plonky3_default.json",
    "babybear16_hl": "poseidon2_babybear_w16_horizenlabs.json",
    "babybear24_hl": "poseidon2_babybear_w24_horizenlabs.json",
    "goldilocks8": "poseidon2_goldilocks_w8_plonky3_default.json",
    "goldilocks12": "poseidon2_goldilocks_w12_plonky3_default.json",
    "goldilocks12_hl": "poseidon2_goldilocks_w12_horizenlabs.json",
}

ZERO = bytes(32)


def _int(v):
    return int(v, 16) if isinstance(v, str) else int(v)


class Poseidon2:
    """state = M_E x; 4 full rounds; R_P partial rounds; 4 full rounds (see the vector files)."""

    def __init__(self, instance):
        spec = json.loads((VECTORS / FILES[instance]).read_text())
        self.spec = spec
        self.p = _int(spec["field_modulus"])
        self.t = spec["width"]
        self.goldilocks = self.p > 2**32
        self.elem_bytes = 8 if self.goldilocks else 4
        self.digest = 4 if self.goldilocks else 8
        self.rate = self.t - self.digest  # capacity = digest size
        self.m4 = spec["external_matrix"]["M4"]
        self.rc_init = [[_int(x) for x in row] for row in spec["round_constants_external_initial"]]
        self.rc_internal = [_int(x) for x in spec["round_constants_internal"]]
        self.rc_term = [[_int(x) for x in row] for row in spec["round_constants_external_terminal"]]
        self.diag = [_int(x) for x in spec["internal_diag_minus_one"]]

    def kats(self):
        return [([_int(x) for x in k["input"]], [_int(x) for x in k["expected_output"]])
                for k in self.spec["known_answer_tests"]]

    def external(self, s):
        y = []
        for c in range(0, self.t, 4):
            y += [sum(m * x for m, x in zip(row, s[c:c + 4])) for row in self.m4]
        sums = [sum(y[j] for j in range(i, self.t, 4)) for i in range(4)]
        return [(y[i] + sums[i % 4]) % self.p for i in range(self.t)]

    def full_round(self, s, rc):
        return self.external([pow((x + c) % self.p, 7, self.p) for x, c in zip(s, rc)])

    def permute(self, state):
        s = self.external([x % self.p for x in state])
        for rc in self.rc_init:
            s = self.full_round(s, rc)
        for c in self.rc_internal:
            s[0] = pow((s[0] + c) % self.p, 7, self.p)
            total = sum(s)
            s = [(total + d * x) % self.p for d, x in zip(self.diag, s)]
        for rc in self.rc_term:
            s = self.full_round(s, rc)
        return s

    def hash(self, row):
        s = [0] * self.t
        for at in range(0, len(row), self.rate):
            chunk = list(row[at:at + self.rate])
            s[:len(chunk)] = chunk
            s = self.permute(s)
        return s[:self.digest]

    def compress(self, left, right):
        return self.permute(list(left) + list(right) + [0] * (self.t - 2 * self.digest))[:self.digest]

    def to_bytes(self, elems):
        return b"".join(int(x).to_bytes(self.elem_bytes, "little") for x in elems)

    def from_bytes(self, data):
        n = self.elem_bytes
        return [int.from_bytes(data[i:i + n], "little") for i in range(0, len(data), n)]


def sha256(data):
    return hashlib.sha256(bytes(data)).digest()


def keccak256(data):
    h = keccak.new(digest_bits=256)
    h.update(bytes(data))
    return h.digest()


class Tree:
    """Every level of a Merkle tree, recomputed naively."""

    def __init__(self, leaf_digests, node):
        self.levels = [list(leaf_digests)]
        while len(self.levels[-1]) > 1:
            cur = self.levels[-1]
            self.levels.append([node(cur[i], cur[i + 1] if i + 1 < len(cur) else ZERO)
                                for i in range(0, len(cur), 2)])
        self.depth = len(self.levels) - 1

    @property
    def root(self):
        return self.levels[-1][0]

    def node(self, level, i):
        return self.levels[level][i] if i < len(self.levels[level]) else ZERO

    def proof(self, index):
        return [self.node(k, (index >> k) ^ 1) for k in range(self.depth)]

    def multiproof(self, indices):
        known, out = sorted(set(indices)), []
        for k in range(self.depth):
            for i in known:
                if i ^ 1 not in known:
                    out.append(self.node(k, i ^ 1))
            known = sorted({i >> 1 for i in known})
        return out


def node_function(hash, instance="babybear16"):
    if hash == "sha256":
        return lambda left, right: sha256(left + right)
    if hash == "keccak256":
        return lambda left, right: keccak256(left + right)
    p2 = Poseidon2(instance)
    return lambda left, right: p2.to_bytes(p2.compress(p2.from_bytes(left), p2.from_bytes(right)))


def leaf_digests(leaves, hash, instance="babybear16"):
    if hash == "sha256":
        return [sha256(m) for m in leaves]
    if hash == "keccak256":
        return [keccak256(m) for m in leaves]
    p2 = Poseidon2(instance)
    return [p2.to_bytes(p2.hash([int(x) for x in row])) for row in leaves]
