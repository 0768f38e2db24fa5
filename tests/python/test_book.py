"""Order matching: engine events equal a pure-Python reference book on random streams of every
order type, tif and stp mode; invariants after every batch (never crossed, quantity conserved,
FIFO within a level); determinism across thread counts and backends; concurrent submitters;
every reject reason; malformed arrays; call auctions against a brute-force clearing price; the
journal (replay, torn tails cut at every byte, corruption); the state root recomputed in Python."""

import os
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import book_reference as ref
import zkclob as zc
from conftest import executing_devices
from zkclob import hashes
from zkclob.book import TIF, EventKind, Reason

OPENCL = [d.spec for d in executing_devices() if d.backend == "opencl"]
TICK, LOT, BAND = 5, 2, (100, 400)
FIELDS = zc.ORDER_DTYPE.names


def make_engine(symbols=3, capacity=16, device="cpu", **kw):
    kw.setdefault("tick_size", TICK)
    kw.setdefault("lot_size", LOT)
    kw.setdefault("price_band", BAND)
    return zc.Engine(symbols=symbols, capacity=capacity, device=device, **kw)


def make_ref(symbols=3, capacity=16, **kw):
    return ref.Engine(symbols, capacity, tick=TICK, lot=LOT, band=BAND, **kw)


def orders(rows):
    """rows: dicts (missing fields are 0) -> ORDER_DTYPE array."""
    a = np.zeros(len(rows), dtype=zc.ORDER_DTYPE)
    for i, r in enumerate(rows):
        for k, v in r.items():
            a[i][k] = v
    return a


def as_dicts(a):
    return [dict(zip(FIELDS, (int(v) for v in row))) for row in a.tolist()]


def tuples(events):
    return [tuple(int(v) for v in e) for e in events.tolist()]


def book_tuples(eng, symbol):
    return [tuple(int(v) for v in e) for e in eng.book(symbol).tolist()]


def ref_book_tuples(book):
    return [(o.id, o.trader, o.slot, o.side, o.tif, o.stp, o.price, o.qty, o.seq) for o in book.entries()]


# ---- random streams ----

def rarely(valid, invalid, enabled=True):
    """A value of `valid`, replaced by one of `invalid` about 1 time in 20 (a die from the middle
    of its range: hypothesis favours the ends)."""
    if not enabled:
        return valid
    return st.tuples(st.integers(0, 99), valid, invalid).map(lambda t: t[2] if 45 <= t[0] < 50 else t[1])


def order_rows(symbols, ids=10, traders=3, invalid=True):
    """Orders over a small id, trader and price space so that cancels, modifies, duplicates,
    self-trades and crossing all happen; about one field in twenty is invalid."""
    mid = (BAND[0] + BAND[1]) // 2 // TICK
    return st.fixed_dictionaries({
        "id": st.integers(1, ids),
        "trader": st.integers(1, traders),
        "symbol": rarely(st.integers(0, symbols - 1), st.just(symbols), invalid),
        "side": rarely(st.integers(0, 1), st.just(2), invalid),
        "type": rarely(st.sampled_from([0, 0, 0, 0, 0, 1, 2, 3]), st.just(4), invalid),
        "tif": rarely(st.sampled_from([0, 0, 0, 1, 2, 3]), st.just(4), invalid),
        "stp": rarely(st.integers(0, 3), st.just(4), invalid),
        "price": rarely(st.integers(mid - 5, mid + 5).map(lambda k: k * TICK),
                        st.sampled_from([mid * TICK + 1, BAND[0] - TICK, BAND[1] + TICK]), invalid),
        "qty": rarely(st.integers(1, 6).map(lambda k: k * LOT),
                      st.sampled_from([0, -LOT, LOT + 1, zc.book.MAX_QTY + LOT]), invalid),
        "ts": st.integers(0, 2**64 - 1),
    })


def batches(symbols, max_batches=6, **kw):
    return st.lists(st.lists(order_rows(symbols, **kw), min_size=0, max_size=40), min_size=1,
                    max_size=max_batches)


class Tracker:
    """Quantity accounting from events alone: every submitted lot ends up filled, resting,
    cancelled, expired or rejected."""

    def __init__(self):
        self.open = {}
        self.submitted = self.filled = self.cancelled = self.expired = self.rejected = 0

    def apply(self, events):
        for seq, kind, sym, oid, maker, price, qty, remaining, reason in events:
            key = (sym, oid)
            if kind == EventKind.ACK:
                self.cancelled += self.open.get(key, 0)  # a modify replaces the open quantity
                self.submitted += qty
                self.open[key] = qty
            elif kind == EventKind.FILL:
                self.filled += 2 * qty
                self.open[key] -= qty
                self.open[(sym, maker)] -= qty
                assert self.open[key] == remaining
            elif kind in (EventKind.CANCEL, EventKind.EXPIRE):
                if kind == EventKind.CANCEL:
                    self.cancelled += qty
                else:
                    self.expired += qty
                self.open[key] -= qty
                assert self.open[key] == 0
            else:
                self.submitted += qty
                self.rejected += qty
        self.open = {k: v for k, v in self.open.items() if v}

    def check(self, eng, symbols):
        resting = {}
        for s in range(symbols):
            for e in eng.book(s):
                resting[(s, int(e["id"]))] = int(e["qty"])
        assert resting == self.open
        assert self.submitted == (self.filled + sum(resting.values()) + self.cancelled + self.expired
                                  + self.rejected)


def check_book_invariants(eng, symbols, continuous=True):
    for s in range(symbols):
        bids, asks = eng.depth(s, 1 << 20)
        if continuous and len(bids) and len(asks):
            assert bids["price"][0] < asks["price"][0], "book crossed after continuous matching"
        assert np.all(np.diff(bids["price"]) < 0) and np.all(np.diff(asks["price"]) > 0)
        entries = eng.book(s)
        for side in (0, 1):
            e = entries[entries["side"] == side]
            for p in np.unique(e["price"]):
                seqs = e["seq"][e["price"] == p]
                assert np.all(np.diff(seqs.astype(np.int64)) > 0), "FIFO broken within a level"
        assert sum(bids["count"]) + sum(asks["count"]) == len(entries)


def compare_with_reference(parts, symbols, capacity):
    eng = make_engine(symbols, capacity=capacity)
    model = make_ref(symbols, capacity=capacity)
    tracker = Tracker()
    for p in parts:
        got = tuples(eng.submit(p))
        assert got == model.submit(as_dicts(p))
        tracker.apply(got)
        tracker.check(eng, symbols)
        check_book_invariants(eng, symbols)
        for s in range(symbols):
            assert book_tuples(eng, s) == ref_book_tuples(model.books[s])
    assert eng.next_seq == model.next_seq


SLOW = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.sampled_from([4, 16, 64]), st.integers(2, 60),
       st.integers(1, 5), st.sampled_from([0.0, 0.02, 0.2]), st.integers(1, 12))
def test_random_streams_match_reference(seed, symbols, capacity, live, traders, invalid, spread):
    parts = stream_arrays(seed, n=1200, symbols=symbols, batch=60, traders=traders, live=live,
                          invalid=invalid, spread=spread)
    compare_with_reference(parts, symbols, capacity)


@SLOW
@given(batches(2))
def test_matches_reference_with_invariants(stream):
    compare_with_reference([orders(b) for b in stream], 2, 8)


@settings(max_examples=25, deadline=None)
@given(batches(2, ids=6, traders=2, invalid=False))
def test_small_capacity_and_self_trades(stream):
    """Two slots per symbol: capacity rejects and STP cancels are frequent."""
    eng = make_engine(2, capacity=2)
    model = make_ref(2, capacity=2)
    for batch in stream:
        assert tuples(eng.submit(orders(batch))) == model.submit(batch)
        check_book_invariants(eng, 2)


def stream_arrays(seed, n=4000, symbols=5, batch=500, traders=5, live=40, invalid=0.02, spread=10):
    """A random stream in batches: new orders take fresh ids, cancels and modifies name one of the
    last `live` ids (so many hit resting orders) and mostly come from its owner, prices sit
    within `spread` ticks of the mid, and a fraction `invalid` of the orders has one field made
    invalid."""
    rng = np.random.default_rng(seed)
    a = np.zeros(n, dtype=zc.ORDER_DTYPE)
    a["type"] = rng.choice([0, 0, 0, 0, 0, 1, 2, 2, 3, 3], n)
    fresh = np.cumsum(a["type"] < 2)
    a["id"] = np.where(a["type"] < 2, fresh, np.maximum(1, fresh - rng.integers(0, live, n)))
    a["trader"] = rng.integers(1, traders + 1, n)
    # Cancels and modifies mostly come from the owner of the order they name, for its symbol.
    owner = np.zeros(fresh[-1] + 2 if n else 1, dtype=np.uint32)
    new = a["type"] < 2
    owner[a["id"][new]] = a["trader"][new]
    mine = ~new & (rng.random(n) < 0.9)
    a["trader"][mine] = owner[a["id"][mine]]
    a["symbol"] = rng.integers(0, symbols, n)
    a["side"] = rng.integers(0, 2, n)
    sym_of = np.zeros_like(owner)
    sym_of[a["id"][new]] = a["symbol"][new]
    a["symbol"][mine] = sym_of[a["id"][mine]]
    a["tif"] = rng.choice([0, 0, 0, 1, 2, 3], n)
    a["stp"] = rng.integers(0, 4, n)
    mid = (BAND[0] + BAND[1]) // 2 // TICK
    a["price"] = (mid + rng.integers(-spread, spread + 1, n)) * TICK
    a["qty"] = rng.integers(1, 8, n) * LOT
    a["ts"] = rng.integers(0, 2**63, n)
    bad = np.flatnonzero(rng.random(n) < invalid)
    field = rng.integers(0, 8, len(bad))
    for i, f in zip(bad, field):
        name, value = [("symbol", symbols), ("type", 4), ("side", 2), ("tif", 4), ("stp", 4),
                       ("price", a["price"][i] + 1), ("qty", 0), ("price", BAND[1] + TICK)][f]
        a[name][i] = value
    return [a[i:i + batch] for i in range(0, n, batch)]


def run_stream(eng, parts):
    events = [eng.submit(p) for p in parts]
    return np.concatenate(events), eng.state_root(), [eng.book(s) for s in range(eng.symbols)]


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_thread_counts_are_byte_identical(threads):
    parts = stream_arrays(1)
    base = run_stream(make_engine(5, capacity=64, threads=1), parts)
    got = run_stream(make_engine(5, capacity=64, threads=threads), parts)
    assert got[0].tobytes() == base[0].tobytes()
    assert got[1] == base[1]
    for a, b in zip(got[2], base[2]):
        assert a.tobytes() == b.tobytes()


def test_batch_boundaries_do_not_matter():
    """Small batches run in sequence order, large ones grouped by symbol: same events."""
    whole = np.concatenate(stream_arrays(5, n=3000, batch=3000))
    small = [whole[i:i + 7] for i in range(0, len(whole), 7)]
    a = run_stream(make_engine(5, capacity=64, threads=1), [whole])
    b = run_stream(make_engine(5, capacity=64, threads=1), small)
    assert a[0].tobytes() == b[0].tobytes() and a[1] == b[1]


@pytest.mark.skipif(not OPENCL, reason="no OpenCL device")
@pytest.mark.parametrize("device", OPENCL)
def test_opencl_is_byte_identical_to_cpu(device):
    parts = stream_arrays(2)
    cpu = make_engine(5, capacity=64, threads=3)
    base = run_stream(cpu, parts)
    base_depth = cpu.depth(2, 5)
    eng = make_engine(5, capacity=64, device=device)
    try:
        got = run_stream(eng, parts)
        assert got[0].tobytes() == base[0].tobytes()
        assert got[1] == base[1]
        for a, b in zip(got[2], base[2]):
            assert a.tobytes() == b.tobytes()
        eng.set_mode(1, "auction")
        assert eng.mode(1) == "auction"
        eng.sync()
        assert [d.tobytes() for d in eng.depth(2, 5)] == [d.tobytes() for d in base_depth]
    finally:
        eng.close()


def test_reference_on_a_long_stream():
    parts = stream_arrays(3, n=6000)
    eng = make_engine(5, capacity=64)
    model = make_ref(5, capacity=64)
    for p in parts:
        assert tuples(eng.submit(p)) == model.submit(as_dicts(p))


# ---- bad input ----

BASE = dict(id=1, trader=1, symbol=0, side=0, type=0, tif=0, stp=0, price=200, qty=4)


@pytest.mark.parametrize("change, reason", [
    (dict(symbol=3), "UNKNOWN_SYMBOL"),
    (dict(type=7), "BAD_TYPE"),
    (dict(side=2), "BAD_SIDE"),
    (dict(tif=4), "BAD_TIF"),
    (dict(stp=9), "BAD_STP"),
    (dict(qty=0), "BAD_QTY"),
    (dict(qty=-4), "BAD_QTY"),
    (dict(qty=zc.book.MAX_QTY + 2), "BAD_QTY"),
    (dict(qty=3), "LOT"),
    (dict(price=201), "TICK"),
    (dict(price=405), "BAND"),
    (dict(price=95), "BAND"),
    (dict(type=1, tif=3), "TIF_FOR_TYPE"),
    (dict(id=10), "DUPLICATE_ID"),
    (dict(id=99, type=2), "UNKNOWN_ID"),
    (dict(id=99, type=3), "UNKNOWN_ID"),
    (dict(id=10, type=2, trader=2), "NOT_OWNER"),
    (dict(id=10, type=3, trader=2), "NOT_OWNER"),
    (dict(side=1, price=150, tif=3), "POST_ONLY"),
    (dict(id=11, side=0, price=150, type=3), "UNKNOWN_ID"),
])
def test_each_reject_leaves_the_book_unchanged(change, reason):
    eng = make_engine(3, capacity=4)
    eng.submit(orders([dict(BASE, id=10, price=150), dict(BASE, id=12, side=1, price=300)]))
    root, books = eng.state_root(), [eng.book(s).tobytes() for s in range(3)]
    events = eng.submit(orders([dict(BASE, **change)]))
    assert len(events) == 1
    assert events[0]["kind"] == EventKind.REJECT and events[0]["reason"] == Reason[reason]
    assert eng.state_root() == root
    assert [eng.book(s).tobytes() for s in range(3)] == books


def test_capacity_and_call_phase_rejects():
    eng = make_engine(1, capacity=2)
    eng.submit(orders([dict(BASE, id=1, price=150), dict(BASE, id=2, price=155)]))
    root = eng.state_root()
    ev = eng.submit(orders([dict(BASE, id=3, price=160)]))
    assert ev["reason"][0] == Reason.CAPACITY and eng.state_root() == root
    # An order that executes in full needs no slot.
    ev = eng.submit(orders([dict(BASE, id=4, side=1, trader=2, price=150, qty=4)]))
    assert [EventKind(k) for k in ev["kind"]] == [EventKind.ACK, EventKind.FILL]
    eng.set_mode(0, "auction")
    ev = eng.submit(orders([dict(BASE, id=5, tif=TIF.IOC)]))
    assert ev["reason"][0] == Reason.CALL_PHASE


def test_malformed_arrays_raise_typed_errors():
    eng = make_engine()
    good = orders([BASE, dict(BASE, id=2)])
    with pytest.raises(zc.InvalidArgumentError):
        eng.submit([tuple(good[0])])
    with pytest.raises(zc.InvalidArgumentError):
        eng.submit(np.zeros(3, dtype=np.int64))
    with pytest.raises(zc.InvalidArgumentError):
        eng.submit(good.astype(good.dtype.newbyteorder(">")))
    aligned = np.dtype([(n, good.dtype[n]) for n in good.dtype.names], align=True)
    with pytest.raises(zc.InvalidArgumentError):
        eng.submit(good.astype(aligned))
    with pytest.raises(zc.InvalidArgumentError):
        eng.submit(np.zeros((2, 2), dtype=zc.ORDER_DTYPE))
    with pytest.raises(zc.InvalidArgumentError):
        eng.submit(np.zeros(6, dtype=zc.ORDER_DTYPE)[::2])
    with pytest.raises(zc.InvalidArgumentError):
        eng.depth(99)
    with pytest.raises(zc.InvalidArgumentError):
        eng.depth(-1)
    with pytest.raises(zc.InvalidArgumentError):
        zc.Engine(symbols=0)
    with pytest.raises(zc.InvalidArgumentError):
        zc.Engine(symbols=2, capacity=zc.book.MAX_CAPACITY + 1)
    with pytest.raises(zc.InvalidArgumentError):
        zc.Engine(symbols=2, tick_size=[1, 2, 3])
    with pytest.raises(zc.InvalidArgumentError):
        zc.Engine(symbols=2, price_band=(10, 5), device="cpu")
    assert len(eng.submit(np.zeros(0, dtype=zc.ORDER_DTYPE))) == 0


def test_events_are_zero_copy_views():
    eng = make_engine()
    ev = eng.submit(orders([BASE]))
    assert ev.dtype == zc.EVENT_DTYPE and ev.dtype.itemsize == 55 and zc.ORDER_DTYPE.itemsize == 44
    owner = ev
    while not isinstance(owner, zc.Buffer):
        owner = owner.base
    assert owner.address == ev.__array_interface__["data"][0]
    bids, asks = eng.depth(0)
    assert bids.dtype == zc.book.DEPTH_DTYPE and len(asks) == 0
    assert bids.base is not None and not bids.flags.owndata


# ---- call auctions ----

def auction_rows(symbols):
    price = st.integers(BAND[0] // TICK, BAND[1] // TICK).map(lambda k: k * TICK)
    return st.lists(st.fixed_dictionaries({
        "id": st.integers(1, 40), "trader": st.integers(1, 4), "symbol": st.integers(0, symbols - 1),
        "side": st.integers(0, 1), "type": st.sampled_from([0, 0, 0, 0, 2, 3]), "tif": st.just(0),
        "stp": st.just(0), "price": price, "qty": st.integers(1, 8).map(lambda k: k * LOT), "ts": st.just(0),
    }), max_size=40)


@settings(max_examples=80, deadline=None)
@given(auction_rows(2), auction_rows(2), st.integers(-50, 500))
def test_auction_matches_brute_force(first, second, ref_price):
    eng = make_engine(2, capacity=64, mode="auction", ref_price=ref_price)
    model = make_ref(2, capacity=64, ref=ref_price, mode=ref.AUCTION)
    for rows in (first, second):
        assert tuples(eng.submit(orders(rows))) == model.submit(rows)
        expect = model.uncross([1, 0])
        assert tuples(eng.uncross([1, 0])) == expect
        for s in range(2):
            assert not model.books[s].crossed()
            assert book_tuples(eng, s) == ref_book_tuples(model.books[s])
    eng.set_mode(0, "continuous")
    assert eng.mode(0) == "continuous"


def test_auction_rule_example():
    """Volume first, then imbalance, then closeness to the reference, then the lower price."""
    eng = make_engine(1, capacity=16, mode="auction", ref_price=300)
    eng.submit(orders([dict(BASE, id=1, side=0, price=310, qty=6), dict(BASE, id=2, side=1, price=290, qty=6,
                                                                          trader=2)]))
    # Every price in [290, 310] executes 6 with no imbalance: 300 is closest to the reference,
    # but only resting prices are candidates: 290 and 310 tie on distance, the lower wins.
    ev = eng.uncross(0)
    assert ev["price"].tolist() == [290] and ev["qty"].tolist() == [6]
    assert ev["order_id"][0] == 2 and ev["maker_id"][0] == 1
    with pytest.raises(zc.Error):
        eng.uncross([0, 0])
    eng.set_mode(0, "continuous")
    with pytest.raises(zc.Error):
        eng.uncross(0)


def test_crossed_auction_cannot_go_continuous():
    eng = make_engine(1, capacity=16, mode="auction")
    eng.submit(orders([dict(BASE, id=1, price=310), dict(BASE, id=2, side=1, price=290, trader=2)]))
    with pytest.raises(zc.Error):
        eng.set_mode(0, "continuous")
    eng.uncross(0)
    eng.set_mode(0, "continuous")


# ---- concurrency ----

def test_concurrent_submitters_are_serialised_by_ingress(tmp_path):
    path = tmp_path / "conc.zcj"
    eng = make_engine(3, capacity=256, journal=path, threads=2)
    per_thread, nthreads = 30, 4
    results = [[] for _ in range(nthreads)]
    rngs = [np.random.default_rng(100 + t) for t in range(nthreads)]

    def worker(t):
        for _ in range(per_thread):
            rows = [dict(id=int(rngs[t].integers(1, 40)) + 1000 * t, trader=t + 1,
                         symbol=int(rngs[t].integers(0, 3)), side=int(rngs[t].integers(0, 2)),
                         type=int(rngs[t].choice([0, 0, 1, 2, 3])), tif=int(rngs[t].integers(0, 4)),
                         price=int(rngs[t].integers(20, 80)) * TICK, qty=int(rngs[t].integers(1, 5)) * LOT)
                    for _ in range(int(rngs[t].integers(1, 12)))]
            a = orders(rows)
            results[t].append((as_dicts(a), eng.submit(a)))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    batches = sorted((b for r in results for b in r), key=lambda b: int(b[1]["seq"].min()) if len(b[1]) else 0)
    # Conflict rule: every batch holds a contiguous block of sequence numbers and is matched
    # whole; running the batches one after the other in seq order gives the same events.
    model = make_ref(3, capacity=256)
    seq = 1
    for rows, events in batches:
        assert sorted(set(events["seq"].tolist())) == list(range(seq, seq + len(rows)))
        seq += len(rows)
        assert tuples(events) == model.submit(rows)
    root = eng.state_root()
    eng.close()
    replayed, events = zc.Engine.replay(path, device="cpu")
    assert tuples(events) == [e for _, ev in batches for e in tuples(ev)]
    assert replayed.state_root() == root


# ---- journal ----

def test_replay_reproduces_events_and_root(tmp_path):
    path = tmp_path / "run.zcj"
    eng = make_engine(5, capacity=64, journal=path, fsync="batch")
    parts = stream_arrays(4, n=1500, batch=300)
    all_events = [eng.submit(p) for p in parts[:3]]
    eng.set_mode(2, "auction")
    all_events += [eng.submit(p) for p in parts[3:]]
    all_events.append(eng.uncross([2]))
    root = eng.state_root()
    eng.close()
    for device in ["cpu"] + OPENCL[:1]:
        replayed, events = zc.Engine.replay(path, device=device)
        assert events.tobytes() == np.concatenate(all_events).tobytes()
        assert replayed.state_root() == root
        replayed.close()
    # Reopening continues the journal where it ended.
    again = make_engine(5, capacity=64, journal=path, fsync=3)
    assert again.next_seq == sum(len(p) for p in parts) + 2
    assert again.state_root() == root
    again.close()


def journal_with_records(path, n=3):
    eng = make_engine(1, capacity=16, journal=path)
    sizes = []
    for i in range(n):
        eng.submit(orders([dict(BASE, id=i + 1, price=150 + 5 * i)]))
        sizes.append(os.path.getsize(path))
    eng.close()
    return sizes


def test_torn_tail_at_every_byte(tmp_path):
    path = tmp_path / "torn.zcj"
    ends = journal_with_records(path)
    data = path.read_bytes()
    for cut in range(ends[1], ends[2]):
        path.write_bytes(data[:cut])
        info = zc.book.journal_check(path)
        assert info["records"] == 2 and info["good_bytes"] == ends[1] and info["next_seq"] == 3
        assert info["torn"] == (cut > ends[1])
        eng, events = zc.Engine.replay(path, device="cpu")
        assert len(events) == 2 and eng.next_seq == 3
        assert os.path.getsize(path) == cut  # replay does not change the file
    path.write_bytes(data + bytes(4096))  # zeros a crash can leave after the file grew
    info = zc.book.journal_check(path)
    assert info["torn"] and info["records"] == 3 and info["good_bytes"] == ends[2]
    path.write_bytes(data[:ends[2] - 1])
    eng = make_engine(1, capacity=16, journal=path)  # recovery truncates the torn record
    assert os.path.getsize(path) == ends[1] and eng.next_seq == 3
    eng.close()


def test_corruption_in_the_middle_names_its_offset(tmp_path):
    path = tmp_path / "bad.zcj"
    ends = journal_with_records(path)
    data = bytearray(path.read_bytes())
    for at in range(ends[0], ends[1], 5):
        bad = bytearray(data)
        bad[at] ^= 0x10
        path.write_bytes(bytes(bad))
        with pytest.raises(zc.InternalError, match=f"offset {ends[0]}"):
            zc.book.journal_check(path)
        with pytest.raises(zc.InternalError, match=f"offset {ends[0]}"):
            zc.Engine.replay(path)


def test_crc32c_known_answers():
    assert zc.book.crc32c(b"123456789") == 0xE3069283
    assert zc.book.crc32c(b"56789", zc.book.crc32c(b"1234")) == 0xE3069283
    assert zc.book.crc32c(bytes(32)) == 0x8A9136AA


# ---- state root ----

P = 2013265921


def leaf_row(symbol, o):
    limbs = lambda v, k: [(v >> (16 * i)) & 0xFFFF for i in range(k)]
    row = [1, o.side, o.tif | o.stp << 8] + limbs(symbol, 2) + limbs(o.trader, 2)
    row += limbs(o.price & (2**64 - 1), 4) + limbs(o.qty, 4) + limbs(o.id, 4) + limbs(o.seq, 4) + [0]
    assert len(row) == 24
    return row


def python_root(model, capacity):
    """Leaves from the reference book's slots, tree shape of zkclob/merkle.h rebuilt here."""
    n = len(model.books) * capacity
    rows = np.zeros((n, 24), dtype=np.uint32)
    for s, book in enumerate(model.books):
        for o in book.orders.values():
            rows[s * capacity + o.slot] = leaf_row(s, o)
    level = hashes.poseidon2_hash(rows, device="cpu")
    while len(level) > 1:
        if len(level) % 2:
            level = np.vstack([level, np.zeros((1, 8), dtype=np.uint32)])
        level = hashes.poseidon2_compress(level[0::2], level[1::2], device="cpu")
    return level[0].astype("<u4").tobytes()


@settings(max_examples=15, deadline=None)
@given(batches(2, max_batches=4))
def test_state_root_matches_python_recomputation(stream):
    eng = make_engine(2, capacity=6)
    model = make_ref(2, capacity=6)
    assert eng.state_root() == python_root(model, 6)
    for batch in stream:
        eng.submit(orders(batch))
        model.submit(batch)
        assert eng.state_root() == python_root(model, 6)  # incremental after the first build


def test_state_root_changes_only_with_resting_orders():
    eng = make_engine(2, capacity=8)
    empty = eng.state_root()
    eng.submit(orders([dict(BASE, id=1, price=150)]))
    one = eng.state_root()
    assert one != empty
    eng.submit(orders([dict(BASE, id=1, type=2)]))
    assert eng.state_root() == empty
    eng.submit(orders([dict(BASE, id=5, symbol=7)]))  # rejected: nothing rests
    assert eng.state_root() == empty
