"""secp256k1 ECDSA: every Wycheproof case (plain and bitcoin/low-S files, strict DER) on every
device, coincurve (libsecp256k1) both ways on random keys and digests, RFC 6979 signatures
equal to coincurve's byte for byte, cpu == opencl bit for bit, key parsing, and bad input.

Wycheproof's 'acceptable' verdict (legacy encodings some libraries take) does not occur in
these two files; our policy for it is strict: anything that is not DER is rejected, so an
'acceptable' case would have to verify False."""

import hashlib
import random

import coincurve
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from conftest import executing_devices
from zkclob import crypto

DEVICES = [d.spec for d in executing_devices()]
OPENCL = [d for d in DEVICES if d.startswith("opencl")]
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
P = 2**256 - 2**32 - 977


def b32(x):
    return x.to_bytes(32, "big")


def rows(items):
    return np.frombuffer(b"".join(items), dtype=np.uint8).reshape(len(items), -1)


def random_keys(rng, n):
    return [b32(rng.randrange(1, N)) for _ in range(n)]


def cc_compact(sig65):
    """r || s of coincurve's recoverable signature (r || s || recid)."""
    return sig65[:64]


@pytest.mark.parametrize("name,low_s", [("ecdsa_secp256k1_sha256_test.json", False),
                                        ("ecdsa_secp256k1_sha256_bitcoin_test.json", True)])
def test_wycheproof(vectors, name, low_s):
    data = vectors("wycheproof/" + name)
    keys, digests, der, expect = [], [], [], []
    for group in data["testGroups"]:
        key = bytes.fromhex(group["publicKey"]["uncompressed"])
        for case in group["tests"]:
            assert case["result"] in ("valid", "invalid")  # no 'acceptable' here; see the module docstring
            keys.append(key)
            digests.append(hashlib.sha256(bytes.fromhex(case["msg"])).digest())
            der.append(bytes.fromhex(case["sig"]))
            expect.append(case["result"] == "valid")
    assert len(expect) == data["numberOfTests"]
    expect = np.array(expect)
    sigs, ok = crypto.parse_der(der)
    assert not np.any(ok < expect)  # every valid case is strict DER
    # the uncompressed keys, their compressed forms and the parsed ones agree
    parsed, key_ok = crypto.parse_pubkeys(rows(keys))
    assert key_ok.all()
    compressed = crypto.serialize_pubkeys(parsed, compressed=True)
    for dev in DEVICES:
        got = crypto.ecdsa_verify_batch(rows(keys), rows(digests), sigs, low_s=low_s, device=dev)
        assert got.dtype == bool
        bad = np.flatnonzero(got != expect)
        assert bad.size == 0, f"{dev}: case indices {bad[:10].tolist()}"
        assert np.array_equal(crypto.ecdsa_verify_batch(compressed, rows(digests), sigs, low_s=low_s,
                                                        device=dev), expect)
    # and libsecp256k1 agrees on every case (it is strict DER with low-S)
    if low_s:
        for k, d, s, e in zip(keys, digests, der, expect):
            try:
                cc = coincurve.PublicKey(k).verify(s, d, hasher=None)
            except (ValueError, TypeError):
                cc = False
            assert cc == e


def test_known_answer_rfc6979():
    digest = hashlib.sha256(b"Satoshi Nakamoto").digest()
    sig = crypto.sign(b32(1), digest)
    assert sig.hex() == ("934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8"
                         "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5")
    assert crypto.to_der(np.frombuffer(sig, np.uint8))[0] == coincurve.PrivateKey(b32(1)).sign(digest, hasher=None)


def test_coincurve_cross_check():
    rng = random.Random(7)
    n = 200
    sks = random_keys(rng, 20)
    index = np.array([rng.randrange(len(sks)) for _ in range(n)], dtype=np.uint32)
    digests = [bytes(rng.getrandbits(8) for _ in range(32)) for _ in range(n - 3)]
    digests += [b"\xff" * 32, b32(N), b"\0" * 32]  # digests >= n reduce mod n (bits2octets)
    cc_keys = [coincurve.PrivateKey(k) for k in sks]
    # public keys: ours == coincurve's in every encoding
    ours = crypto.pubkey_create(rows(sks))
    assert ours.shape == (len(sks), 64)
    for k, row in zip(cc_keys, ours):
        assert row.tobytes() == k.public_key.format(compressed=False)[1:]
    assert crypto.pubkey_create(sks[0], compressed=True).tobytes() == cc_keys[0].public_key.format()
    # signatures: ours == coincurve's (RFC 6979, low s), and each side verifies the other's
    sigs = crypto.sign_batch(rows(sks), rows(digests), key_index=index)
    cc_sigs = [cc_compact(cc_keys[i].sign_recoverable(d, hasher=None)) for i, d in zip(index, digests)]
    assert [s.tobytes() for s in sigs] == cc_sigs
    for i, (d, s) in enumerate(zip(digests, crypto.to_der(sigs))):
        assert cc_keys[index[i]].public_key.verify(s, d, hasher=None)
    compressed = rows([cc_keys[i].public_key.format() for i in index])
    assert crypto.ecdsa_verify_batch(compressed, rows(digests), sigs, low_s=True).all()
    sec1 = rows([cc_keys[i].public_key.format(compressed=False) for i in index])
    assert crypto.ecdsa_verify_batch(sec1, rows(digests), rows(cc_sigs), low_s=True).all()
    # the signatures do not verify other digests
    other = rows([hashlib.sha256(d).digest() for d in digests])
    assert not crypto.ecdsa_verify_batch(sec1, other, sigs).any()


@settings(max_examples=25, deadline=None)
@given(sk=st.integers(1, N - 1), digest=st.binary(min_size=32, max_size=32))
def test_sign_verify_matches_coincurve(sk, digest):
    key = coincurve.PrivateKey(b32(sk))
    sig = crypto.sign(b32(sk), digest)
    assert sig == cc_compact(key.sign_recoverable(digest, hasher=None))
    pub = np.frombuffer(key.public_key.format(), np.uint8)
    assert crypto.ecdsa_verify_batch(pub, np.frombuffer(digest, np.uint8), np.frombuffer(sig, np.uint8)).all()
    # the high-s twin is valid only without the low-S policy
    r, s = sig[:32], int.from_bytes(sig[32:], "big")
    twin = np.frombuffer(r + b32(N - s), np.uint8)
    assert crypto.ecdsa_verify_batch(pub, np.frombuffer(digest, np.uint8), twin)[0]
    assert not crypto.ecdsa_verify_batch(pub, np.frombuffer(digest, np.uint8), twin, low_s=True)[0]


@pytest.mark.skipif(not OPENCL, reason="no OpenCL device")
def test_cpu_opencl_identical():
    rng = np.random.default_rng(3)
    n = 500
    sks = rows(random_keys(random.Random(3), 8))
    pubs = crypto.pubkey_create(sks)
    index = rng.integers(0, 8, n).astype(np.uint32)
    digests = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    sigs = crypto.sign_batch(sks, digests, key_index=index)
    keys = pubs[index].copy()
    # corrupt a third: digest bits, signature bits, r or s out of range, keys off the curve
    pick = rng.integers(0, 6, n)
    digests[pick == 1, 5] ^= 1
    sigs[pick == 2, 40] ^= 0x80
    sigs[pick == 3, :32] = 0xFF
    keys[pick == 4, 63] ^= 1
    keys[pick == 5, :32] = 0xFF  # x >= p
    results = {dev: crypto.ecdsa_verify_batch(keys, digests, sigs, device=dev) for dev in DEVICES}
    ref = results["cpu:0"]
    assert np.array_equal(ref, pick == 0)
    for dev, got in results.items():
        assert np.array_equal(got, ref), dev


def test_parse_pubkeys():
    sk = b32(0xC0FFEE)
    full = crypto.pubkey_create(sk)
    comp = crypto.serialize_pubkeys(full, compressed=True)
    unc = crypto.serialize_pubkeys(full, compressed=False)
    for enc in (comp, unc):
        keys, ok = crypto.parse_pubkeys(enc)
        assert ok.all() and np.array_equal(keys[0], full)
    bad = np.repeat(unc, 4, axis=0)
    bad[0, 0] = 6  # hybrid
    bad[1, 64] ^= 1  # off the curve
    bad[2, 1:33] = np.frombuffer(b32(P), np.uint8)  # x = p
    bad[3, 0] = 0
    keys, ok = crypto.parse_pubkeys(bad)
    assert not ok.any() and not keys.any()
    nosqrt = np.frombuffer(b"\x02" + b32(5), np.uint8)  # 5^3 + 7 is not a square mod p
    assert not crypto.parse_pubkeys(nosqrt)[1].any()
    # invalid keys verify False rather than raising
    sig = np.frombuffer(crypto.sign(sk, b"\1" * 32), np.uint8)
    assert not crypto.ecdsa_verify_batch(bad, np.ones((4, 32), np.uint8), np.repeat(sig[None], 4, 0)).any()


def test_der_round_trip_and_strictness():
    sigs = crypto.sign_batch(rows(random_keys(random.Random(5), 10)), np.full((10, 32), 9, np.uint8))
    der = crypto.to_der(sigs)
    parsed, ok = crypto.parse_der(der)
    assert ok.all() and np.array_equal(parsed, sigs)
    sloppy = [der[0] + b"\0", b"\x30\x81" + der[0][1:], der[0][:2] + b"\x02\x21\x00" + der[0][4:], b""]
    parsed, ok = crypto.parse_der(sloppy)
    assert not ok.any() and not parsed.any()
    for d in sloppy[:3]:
        with pytest.raises(ValueError):
            coincurve.PublicKey(crypto.pubkey_create(b32(3), compressed=True).tobytes()).verify(d, b"\0" * 32,
                                                                                              hasher=None)


def test_bad_input():
    sk = rows([b32(1)])
    d = np.zeros((1, 32), np.uint8)
    s = crypto.sign_batch(sk, d)
    pk = crypto.pubkey_create(sk)
    with pytest.raises(zc.InvalidArgumentError, match="dtype uint8"):
        crypto.ecdsa_verify_batch(pk.astype(np.int16), d, s)
    with pytest.raises(zc.InvalidArgumentError, match="shape"):
        crypto.ecdsa_verify_batch(pk[:, :63], d, s)
    with pytest.raises(zc.InvalidArgumentError, match="same number of rows"):
        crypto.ecdsa_verify_batch(np.repeat(pk, 2, 0), d, s)
    with pytest.raises(zc.InvalidArgumentError, match="shape"):
        crypto.ecdsa_verify_batch(pk, np.zeros((1, 31), np.uint8), s)
    with pytest.raises(zc.InvalidArgumentError, match="NumPy array or bytes"):
        crypto.ecdsa_verify_batch([[1, 2]], d, s)
    with pytest.raises(zc.InvalidArgumentError, match=r"not in \[1, n - 1\]"):
        crypto.pubkey_create(b32(0))
    with pytest.raises(zc.InvalidArgumentError, match=r"not in \[1, n - 1\]"):
        crypto.sign(b32(N), d[0])
    with pytest.raises(zc.InvalidArgumentError, match="key_index"):
        crypto.sign_batch(sk, d, key_index=[1])
    with pytest.raises(zc.InvalidArgumentError, match="key_index"):
        crypto.sign_batch(sk, d, key_index=[0.5])
    with pytest.raises(zc.InvalidArgumentError, match="items"):
        crypto.sign_batch(sk, np.zeros((2, 32), np.uint8))
    with pytest.raises(zc.InvalidArgumentError, match="one 32-byte key"):
        crypto.sign(np.repeat(sk, 2, 0), d[0])
    with pytest.raises(zc.InvalidArgumentError, match="bytes-like"):
        crypto.parse_der([b"\x30\x00", 5])
    with pytest.raises(zc.InvalidArgumentError, match=r"\(n, 33\) or \(n, 65\)"):
        crypto.parse_pubkeys(np.zeros((1, 40), np.uint8))
    # empty batches are fine
    empty = np.zeros((0, 64), np.uint8)
    assert crypto.ecdsa_verify_batch(empty, np.zeros((0, 32), np.uint8), empty).shape == (0,)
    assert crypto.sign_batch(np.zeros((0, 32), np.uint8), np.zeros((0, 32), np.uint8)).shape == (0, 64)
