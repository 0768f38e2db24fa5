"""The array-argument checks shared by the C extension's wrappers (python/zkclob/_ext/args.c),
called directly through the private _zkclob entry points so the public modules' own checks
do not answer first: each bad array gets InvalidArgumentError naming the argument and what
is wrong, and the good one of the same call goes through."""

import numpy as np
import pytest

import zkclob as zc
from zkclob import _zkclob
from zkclob.book import ORDER_DTYPE

CPU = 0


def _raises(call, *fragments):
    with pytest.raises(zc.InvalidArgumentError) as err:
        call()
    for f in fragments:
        assert f in str(err.value), (f, str(err.value))


def test_byte_rows():
    good = np.ones((3, 32), np.uint8)
    assert _zkclob.secp256k1_pubkey_create(good).shape == (3, 64)
    _raises(lambda: _zkclob.secp256k1_pubkey_create([[1] * 32]), "seckeys must be a NumPy array, got list")
    _raises(lambda: _zkclob.secp256k1_pubkey_create(good.astype(np.int16)), "seckeys", "dtype uint8", "int16")
    _raises(lambda: _zkclob.secp256k1_pubkey_create(good.ravel()), "seckeys", "2 dimension(s), got 1")
    _raises(lambda: _zkclob.secp256k1_pubkey_create(good[:, :31].copy()), "seckeys", "shape (n, 32), got (3, 31)")
    wide = np.ones((3, 64), np.uint8)[:, ::2]
    _raises(lambda: _zkclob.secp256k1_pubkey_create(wide), "seckeys must be C-contiguous and aligned")
    swapped = np.ones(3, np.dtype(np.uint32).newbyteorder())
    _raises(lambda: _zkclob.ecdsa_sign_batch(good, swapped, np.ones((3, 32), np.uint8)), "key_index", "dtype")


def test_field_arrays_and_ndim_range():
    bb = np.arange(1, 9, dtype=np.uint32)
    out, _ = _zkclob.batch_inverse(bb, 0, CPU)
    assert out.shape == bb.shape
    _raises(lambda: _zkclob.batch_inverse(bb.astype(np.uint64), 0, CPU), "values", "dtype uint32")
    _raises(lambda: _zkclob.ntt(np.ones((2, 2, 2), np.uint32), 0, 0, 0, False, CPU), "1 to 2 dimensions, got 3")
    _raises(lambda: _zkclob.batch_inverse(bb[:0], 0, CPU), "values is empty")


def test_records():
    orders = np.zeros(4, ORDER_DTYPE)
    assert _zkclob.order_encode(orders).shape[0] == 4
    _raises(lambda: _zkclob.order_encode(orders.view(np.uint8)), "orders must be a 1-D C-contiguous array of")
    _raises(lambda: _zkclob.order_encode(np.zeros(8, ORDER_DTYPE)[::2]), "orders must be a 1-D C-contiguous")
    _raises(lambda: _zkclob.order_encode(None), "orders must be a NumPy array, got NoneType")


def test_tracker_arguments_leave_state_unchanged():
    from zkclob import risk

    t = risk.PositionTracker(2, 3)
    t.mark(np.array([10.0, 20.0, 30.0]))
    before = t.mark_prices.copy()
    _raises(lambda: t._mark(np.array([1, 2, 3])), "prices", "dtype float64", "int64")
    _raises(lambda: t._mark(np.ones((1, 3))), "prices must have 1 dimension(s), got 2")
    _raises(lambda: t._set_limits(0, np.ones(2), np.ones(2), np.ones(2)), "max_position", "dtype int64")
    _raises(lambda: t._pretrade(np.zeros(4, np.float64)), "orders must be a 1-D C-contiguous array of")
    assert np.array_equal(t.mark_prices, before)
