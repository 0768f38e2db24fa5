"""Call auctions on a device run one work group per symbol: demand and supply by parallel prefix
sums over the levels (several chunks of the group when a side has more levels than work items),
the clearing price by a parallel reduction with the tie rules of zkclob/book.h. The events and
books must equal the cpu's sequential sweep byte for byte, and the price the brute-force rule."""

import numpy as np
import pytest

import zkclob as zc
from conftest import executing_devices

OPENCL = [d.spec for d in executing_devices() if d.backend == "opencl"]
pytestmark = pytest.mark.skipif(not OPENCL, reason="no OpenCL device")


def engine(device, symbols, capacity, ref_price):
    return zc.Engine(symbols=symbols, capacity=capacity, device=device, price_band=(1, 1 << 40), mode="auction",
                     ref_price=ref_price)


def book_orders(rng, symbols, per_symbol, spread):
    """Random crossed auction books: bids and asks over overlapping price ranges, many levels."""
    n = symbols * per_symbol
    o = np.zeros(n, dtype=zc.ORDER_DTYPE)
    o["id"] = np.arange(1, n + 1)
    o["trader"] = rng.integers(1, 50, n)
    o["symbol"] = np.repeat(np.arange(symbols), per_symbol)
    o["side"] = rng.integers(0, 2, n)
    o["price"] = 10_000 + rng.integers(-spread, spread + 1, n)
    o["qty"] = rng.integers(1, 30, n)
    return o[rng.permutation(n)]


def brute_force(o, ref_price):
    """Clearing price and volume of one symbol's orders by the rule, over every resting price."""
    bids, asks = o[o["side"] == 0], o[o["side"] == 1]
    best = None
    for p in sorted(set(o["price"].tolist())):
        d = int(bids["qty"][bids["price"] >= p].sum())
        s = int(asks["qty"][asks["price"] <= p].sum())
        key = (-min(d, s), abs(d - s), abs(p - ref_price), p)
        if min(d, s) > 0 and (best is None or key < best):
            best = key
    return (best[3], -best[0]) if best else (None, 0)


def uncross_both(device, o, symbols, capacity, ref_price):
    out = []
    for dev in ("cpu", device):
        eng = engine(dev, symbols, capacity, ref_price)
        try:
            sub = eng.submit(o)
            ev = eng.uncross(list(range(symbols)))
            books = [eng.book(s).tobytes() for s in range(symbols)]
            out.append((sub.tobytes(), ev, books, eng.state_root()))
        finally:
            eng.close()
    return out


@pytest.mark.parametrize("device", OPENCL[:1])
@pytest.mark.parametrize("spread", [3, 40, 700])
def test_device_auction_equals_cpu_and_rule(device, spread):
    # spread 700: up to 1401 price levels on a side, more than five chunks of a work group.
    rng = np.random.default_rng(spread)
    symbols, per_symbol, ref_price = 3, 1500, 10_010
    o = book_orders(rng, symbols, per_symbol, spread)
    (cs, cev, cbooks, croot), (ds, dev_ev, dbooks, droot) = uncross_both(device, o, symbols, 2048, ref_price)
    assert cs == ds
    assert cev.tobytes() == dev_ev.tobytes()
    assert cbooks == dbooks and croot == droot
    for s in range(symbols):
        price, volume = brute_force(o[o["symbol"] == s], ref_price)
        fills = cev[cev["symbol"] == s]
        assert int(fills["qty"].sum()) == volume
        assert set(fills["price"].tolist()) == ({price} if volume else set())


@pytest.mark.parametrize("device", OPENCL[:1])
def test_device_auction_tie_rules(device):
    """Equal volume and imbalance at several prices: closeness to the reference, then the lower price."""
    rows = [(1, 0, 310, 6), (2, 1, 290, 6), (3, 0, 305, 2), (4, 1, 295, 2), (5, 0, 100, 1), (6, 1, 500, 1)]
    o = np.zeros(len(rows), dtype=zc.ORDER_DTYPE)
    for i, (oid, side, price, qty) in enumerate(rows):
        o[i]["id"], o[i]["trader"], o[i]["side"], o[i]["price"], o[i]["qty"] = oid, oid, side, price, qty
    for ref_price in (300, 0, 1000, 293, 307):
        (_, cev, cbooks, _), (_, dev_ev, dbooks, _) = uncross_both(device, o, 1, 16, ref_price)
        assert cev.tobytes() == dev_ev.tobytes() and cbooks == dbooks
        price, volume = brute_force(o, ref_price)
        assert set(cev["price"].tolist()) == {price} and int(cev["qty"].sum()) == volume


@pytest.mark.parametrize("device", OPENCL[:1])
def test_device_auction_without_cross_executes_nothing(device):
    o = np.zeros(300, dtype=zc.ORDER_DTYPE)
    o["id"] = np.arange(1, 301)
    o["trader"] = 1
    o["side"] = np.arange(300) % 2
    o["price"] = np.where(o["side"] == 0, 1000 - np.arange(300), 2000 + np.arange(300))
    o["qty"] = 5
    (_, cev, cbooks, _), (_, dev_ev, dbooks, _) = uncross_both(device, o, 1, 512, 1500)
    assert len(cev) == 0 and len(dev_ev) == 0 and cbooks == dbooks
