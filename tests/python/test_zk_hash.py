"""Poseidon2, SHA-256 and Keccak-256: every vector file, an independent pure-Python Poseidon2,
hashlib and pycryptodome on random and block-boundary inputs, cpu == opencl bit for bit,
zero copy, and bad input."""

import hashlib
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from conftest import executing_devices
from hash_reference import FILES, Poseidon2, keccak256, sha256
from zkclob import hashes

DEVICES = [d.spec for d in executing_devices()]
OPENCL = [d for d in DEVICES if d.startswith("opencl")]
REF = {name: Poseidon2(name) for name in FILES}


def dtype_of(instance):
    return np.uint64 if REF[instance].goldilocks else np.uint32


def random_states(instance, n, width=None, seed=1):
    ref = REF[instance]
    rng = random.Random(seed)
    width = width if width is not None else ref.t
    return np.array([[rng.randrange(ref.p) for _ in range(width)] for _ in range(n)], dtype=dtype_of(instance))


def test_opencl_executes_here():
    assert OPENCL, "PoCL devices are expected in the test environment (POCL_DEVICES)"


@pytest.mark.parametrize("instance", sorted(FILES))
def test_reference_reproduces_vector_files(instance):
    # The pure-Python reference is checked against the published answers before it checks us.
    ref = REF[instance]
    for inp, want in ref.kats():
        assert ref.permute(inp) == want


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("instance", sorted(FILES))
def test_known_answers(vectors, instance, device):
    spec = vectors(FILES[instance])
    info = hashes.instance_info(instance)
    assert info["width"] == spec["width"]
    for case in spec["known_answer_tests"]:
        # Plonky3's width-24 BabyBear input holds 2026927696 > p, which BabyBear::new_array reduces.
        state = np.array([int(str(x), 0) % info["modulus"] for x in case["input"]], dtype=dtype_of(instance))
        out = hashes.poseidon2_permute(state, instance, device=device)
        assert [int(x) for x in out] == [int(str(x), 0) for x in case["expected_output"]], case["name"]


@pytest.mark.parametrize("instance", sorted(FILES))
def test_permutation_matches_reference_on_random_states(instance):
    states = random_states(instance, 9, seed=sorted(FILES).index(instance))
    out = hashes.poseidon2_permute(states, instance, device="cpu")
    for s, o in zip(states, out):
        assert [int(x) for x in o] == REF[instance].permute([int(x) for x in s])


@pytest.mark.parametrize("instance", sorted(FILES))
def test_sponge_and_compression_match_reference(instance):
    ref = REF[instance]
    for length in (0, 1, ref.rate - 1, ref.rate, ref.rate + 1, 3 * ref.rate + 2):
        rows = random_states(instance, 3, width=length, seed=length)
        digests = hashes.poseidon2_hash(rows, instance, device="cpu")
        assert digests.shape == (3, ref.digest)
        for row, d in zip(rows, digests):
            assert [int(x) for x in d] == ref.hash([int(x) for x in row])
    left, right = random_states(instance, 5, width=ref.digest, seed=7), random_states(instance, 5, ref.digest, 8)
    out = hashes.poseidon2_compress(left, right, instance, device="cpu")
    for l, r, o in zip(left, right, out):
        assert [int(x) for x in o] == ref.compress([int(x) for x in l], [int(x) for x in r])
    # One state, row or pair in, one result out.
    assert hashes.poseidon2_compress(left[0], right[0], instance).shape == (ref.digest,)
    assert hashes.poseidon2_hash(rows[0], instance).shape == (ref.digest,)


def test_empty_row_hashes_to_zeros_and_empty_batches():
    # Plonky3's padding-free sponge absorbs nothing and returns the zero state.
    assert not hashes.poseidon2_hash(np.zeros((2, 0), np.uint32)).any()
    assert hashes.poseidon2_hash(np.zeros((0, 8), np.uint32)).shape == (0, 8)
    assert hashes.poseidon2_permute(np.zeros((0, 16), np.uint32)).shape == (0, 16)
    assert hashes.sha256_batch([]).shape == (0, 32)


@pytest.mark.parametrize("instance", sorted(FILES))
def test_backends_bit_identical(instance):
    states = random_states(instance, 41, seed=3)
    rows = random_states(instance, 23, width=2 * REF[instance].rate + 3, seed=4)
    want_p = hashes.poseidon2_permute(states, instance, device="cpu")
    want_h = hashes.poseidon2_hash(rows, instance, device="cpu")
    for device in OPENCL:
        np.testing.assert_array_equal(hashes.poseidon2_permute(states, instance, device=device), want_p)
        np.testing.assert_array_equal(hashes.poseidon2_hash(rows, instance, device=device), want_h)


BOUNDARY_LENGTHS = [0, 1, 3, 31, 32, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 135, 136, 137, 191, 192,
                    271, 272, 273, 1000, 4097]


def boundary_messages(seed=0):
    rng = random.Random(seed)
    return [bytes(rng.getrandbits(8) for _ in range(n)) for n in BOUNDARY_LENGTHS]


@pytest.mark.parametrize("device", DEVICES)
def test_sha256_equals_hashlib(device):
    msgs = boundary_messages(1)
    out = hashes.sha256_batch(msgs, device=device)
    assert out.dtype == np.uint8 and out.shape == (len(msgs), 32)
    for m, d in zip(msgs, out):
        assert d.tobytes() == hashlib.sha256(m).digest(), len(m)


@pytest.mark.parametrize("device", DEVICES)
def test_keccak256_equals_pycryptodome(device, vectors):
    msgs = boundary_messages(2)
    out = hashes.keccak256_batch(msgs, device=device)
    for m, d in zip(msgs, out):
        assert d.tobytes() == keccak256(m), len(m)
    for case in vectors("keccak256_ethereum.json")["vectors"]:
        got = hashes.keccak256_batch([bytes.fromhex(case["input_hex"])], device=device)[0]
        assert got.tobytes().hex() == case["digest_hex"]


def test_keccak_is_not_sha3():
    assert hashes.keccak256_batch([b""])[0].tobytes() != hashlib.sha3_256(b"").digest()


def test_message_forms_agree():
    msgs = boundary_messages(3)
    data = b"".join(msgs)
    offsets = np.cumsum([0] + [len(m) for m in msgs])
    want = hashes.sha256_batch(msgs)
    np.testing.assert_array_equal(hashes.sha256_batch((data, offsets)), want)
    np.testing.assert_array_equal(hashes.sha256_batch((bytearray(data), list(offsets))), want)
    # Offsets need not start at 0: messages are slices of one buffer.
    np.testing.assert_array_equal(hashes.sha256_batch((b"xx" + data, offsets + 2)), want)
    fixed = np.frombuffer(bytes(range(256)) * 3, dtype=np.uint8).reshape(12, 64)
    np.testing.assert_array_equal(hashes.keccak256_batch(fixed),
                                  hashes.keccak256_batch([row.tobytes() for row in fixed]))


def test_sha256_backends_bit_identical_large_batch():
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 300, 2000)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.uint64)
    data = rng.integers(0, 256, int(offsets[-1]), dtype=np.uint8)
    for fn in (hashes.sha256_batch, hashes.keccak256_batch):
        want = fn((data, offsets), device="cpu")
        for device in OPENCL:
            np.testing.assert_array_equal(fn((data, offsets), device=device), want)


def test_results_are_zero_copy_engine_memory():
    out = hashes.sha256_batch([b"abc"] * 4)
    assert isinstance(out.base, zc.Buffer)
    assert out.__array_interface__["data"][0] == out.base.address
    p = hashes.poseidon2_hash(np.zeros((3, 8), np.uint32))
    assert isinstance(p.base, zc.Buffer) and p.dtype == np.uint32


def test_inputs_are_not_modified():
    states = random_states("babybear16", 4)
    before = states.copy()
    hashes.poseidon2_permute(states)
    np.testing.assert_array_equal(states, before)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_property_byte_hashes_equal_references(msgs):
    sha = hashes.sha256_batch(msgs, device="cpu")
    kec = hashes.keccak256_batch(msgs, device="cpu")
    assert [d.tobytes() for d in sha] == [sha256(m) for m in msgs]
    assert [d.tobytes() for d in kec] == [keccak256(m) for m in msgs]


@settings(max_examples=15, deadline=None)
@given(instance=st.sampled_from(sorted(FILES)), data=st.data())
def test_property_sponge_equals_reference(instance, data):
    ref = REF[instance]
    row = data.draw(st.lists(st.integers(0, ref.p - 1), max_size=3 * ref.rate + 1))
    got = hashes.poseidon2_hash(np.array([row], dtype=dtype_of(instance)).reshape(1, len(row)), instance,
                                device="cpu")
    assert [int(x) for x in got[0]] == ref.hash(row)


# ---- bad input ----

def test_values_not_reduced_are_rejected():
    bad = np.zeros(16, np.uint32)
    bad[3] = 2013265921
    with pytest.raises(zc.InvalidArgumentError, match="not reduced mod p"):
        hashes.poseidon2_permute(bad)
    with pytest.raises(zc.InvalidArgumentError, match="not reduced mod p"):
        hashes.poseidon2_permute([2**64 - 2**32 + 1] + [0] * 7, "goldilocks8")
    with pytest.raises(zc.InvalidArgumentError, match="not reduced"):
        hashes.poseidon2_hash([[0, 1, 2**31]])
    with pytest.raises(zc.InvalidArgumentError, match="not reduced"):
        hashes.poseidon2_compress([0] * 8, [-1] + [0] * 7)


def test_wrong_dtypes_widths_and_names():
    with pytest.raises(zc.InvalidArgumentError, match="dtype uint32"):
        hashes.poseidon2_permute(np.zeros(16, np.int64))
    with pytest.raises(zc.InvalidArgumentError, match="dtype uint64"):
        hashes.poseidon2_permute(np.zeros(8, np.uint32), "goldilocks8")
    with pytest.raises(zc.InvalidArgumentError, match="need 16 elements"):
        hashes.poseidon2_permute(np.zeros((2, 15), np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="need 8 elements"):
        hashes.poseidon2_compress(np.zeros(7, np.uint32), np.zeros(7, np.uint32))
    with pytest.raises(zc.InvalidArgumentError, match="unknown Poseidon2 instance"):
        hashes.poseidon2_hash([[1]], "babybear32")
    with pytest.raises(zc.InvalidArgumentError, match="integers"):
        hashes.poseidon2_hash([[1.5]])
    with pytest.raises(zc.InvalidArgumentError, match="1-D or 2-D"):
        hashes.poseidon2_hash(np.zeros((2, 2, 2), np.uint32))


def test_bad_messages():
    with pytest.raises(zc.InvalidArgumentError, match="not str"):
        hashes.sha256_batch(["abc"])
    with pytest.raises(zc.InvalidArgumentError, match="single one"):
        hashes.sha256_batch(b"abc")
    with pytest.raises(zc.InvalidArgumentError, match="must not decrease"):
        hashes.sha256_batch((b"abcdef", [0, 4, 2]))
    with pytest.raises(zc.InvalidArgumentError, match="past the end"):
        hashes.keccak256_batch((b"abc", [0, 4]))
    with pytest.raises(zc.InvalidArgumentError, match="not be negative"):
        hashes.keccak256_batch((b"abc", [-1, 2]))
    with pytest.raises(zc.InvalidArgumentError, match="2-D uint8"):
        hashes.sha256_batch(np.zeros(4, np.uint16))
    with pytest.raises(zc.InvalidArgumentError, match="byte strings"):
        hashes.sha256_batch(42)
