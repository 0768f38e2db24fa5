"""L2 books against a pure-Python reference of the documented rules (sequencing, reordering, gaps and
resync, crossed books, invalid messages), depth metrics, the matching engine as a source, and trade bars
against pandas."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc

md = zc.md
pd = pytest.importorskip("pandas")


class RefBook:
    """The documented L2 rules, one symbol, written plainly."""

    def __init__(self, window=0, cap=128):
        self.side = [{}, {}]
        self.window, self.cap = window, cap
        self.last = None
        self.snap = None
        self.stale = False
        self.crossed = False
        self.held = {}
        self.events = []
        self.last_ts = None

    def top(self):
        bids = sorted(self.side[0].items(), reverse=True)
        asks = sorted(self.side[1].items())
        return bids, asks

    def set(self, side, price, size, orders, seq, idx):
        lv = self.side[side]
        if size == 0:
            lv.pop(price, None)
        else:
            if price not in lv and len(lv) == self.cap:
                worst = min(lv) if side == 0 else max(lv)
                self.events.append((idx, "overflow", seq))
                better = price > worst if side == 0 else price < worst
                if not better:
                    return
                del lv[worst]
            lv[price] = (size, orders)
        bids, asks = self.top()
        crossed = bool(bids and asks and bids[0][0] >= asks[0][0])
        if crossed != self.crossed:
            self.crossed = crossed
            self.events.append((idx, "crossed" if crossed else "uncrossed", seq))

    def msg(self, m, idx):
        seq, side, action, price, size = int(m["seq"]), int(m["side"]), int(m["action"]), m["price"], m["size"]
        if side > 1 or action > 1 or not math.isfinite(price) or not math.isfinite(size) or size < 0:
            self.events.append((idx, "bad", seq))
            return "dropped"
        if self.last_ts is not None and m["ts"] < self.last_ts:
            self.events.append((idx, "ts_backwards", seq))
        self.last_ts = m["ts"]
        if action == 1:
            if not (self.snap == seq and self.last == seq):
                self.side = [{}, {}]
                if self.stale:
                    self.events.append((idx, "resync", seq))
                self.stale, self.held, self.snap = False, {}, seq
            self.last = seq
            self.set(side, price, size, int(m["orders"]), seq, idx)
            return "applied"
        if self.stale:
            return "dropped"
        if self.last is None or seq == self.last + 1:
            self.last = seq
            self.set(side, price, size, int(m["orders"]), seq, idx)
            while self.last + 1 in self.held:
                h = self.held.pop(self.last + 1)
                self.last += 1
                self.set(int(h["side"]), h["price"], h["size"], int(h["orders"]), self.last, idx)
                self.events.append((idx, "reordered", self.last))
            return "applied"
        if seq <= self.last:
            self.events.append((idx, "duplicate" if seq == self.last else "out_of_order", seq))
            return "dropped"
        if seq - (self.last + 1) <= self.window and len(self.held) < self.window:
            if seq in self.held:
                self.events.append((idx, "duplicate", seq))
                return "dropped"
            self.held[seq] = m
            return "held"
        self.events.append((idx, "gap", seq))
        self.stale, self.held = True, {}
        return "dropped"


def random_stream(rng, nsym, n, window=0, faults=True):
    """Interleaved delta streams around a random mid, with duplicates, swaps, gaps and snapshots."""
    per = []
    for s in range(nsym):
        mid = 100.0 + 10 * s
        msgs, seq = [], 1
        for _ in range(n):
            side = int(rng.integers(0, 2))
            off = int(rng.integers(1, 8))
            price = mid - off * 0.5 if side == 0 else mid + off * 0.5
            size = float(rng.integers(0, 5)) * 10
            msgs.append(dict(symbol=s, seq=seq, side=side, action=0, price=price, size=size,
                             orders=int(size // 10), ts=seq * 1000))
            seq += 1
            if rng.random() < 0.05:
                mid += float(rng.choice([-0.5, 0.5]))
        if faults:
            for _ in range(max(1, n // 40)):
                i = int(rng.integers(1, len(msgs) - 1))
                kind = rng.integers(0, 4)
                if kind == 0:
                    msgs.insert(i, dict(msgs[i - 1]))                      # duplicate
                elif kind == 1 and window:
                    msgs[i], msgs[i + 1] = msgs[i + 1], msgs[i]            # swapped: reordered
                elif kind == 2:
                    del msgs[i]                                            # gap
                    snap_seq = msgs[i]["seq"] + 5
                    snap = [dict(symbol=s, seq=snap_seq, side=sd, action=1, price=mid + (k + 1) * (0.5 if sd else -0.5),
                                 size=10.0 * (k + 1), orders=k + 1, ts=msgs[i]["ts"]) for sd in (0, 1) for k in range(3)]
                    tail = [dict(m, seq=snap_seq + 1 + j) for j, m in enumerate(msgs[i + 3:])]
                    msgs = msgs[:i + 3] + snap + tail
                else:
                    msgs.insert(i, dict(msgs[i - 1], seq=msgs[i - 1]["seq"] - 1))  # late
        per.append(msgs)
    # Interleave symbols randomly, keeping each symbol's order.
    out, idx = [], [0] * nsym
    while any(idx[s] < len(per[s]) for s in range(nsym)):
        s = int(rng.choice([s for s in range(nsym) if idx[s] < len(per[s])]))
        out.append(per[s][idx[s]])
        idx[s] += 1
    arr = np.zeros(len(out), md.L2_DTYPE)
    for k in md.L2_DTYPE.names:
        arr[k] = [m[k] for m in out]
    return arr


def run_reference(msgs, nsym, window=0, cap=128):
    books = [RefBook(window, cap) for _ in range(nsym)]
    quotes = []
    for i, m in enumerate(msgs):
        b = books[int(m["symbol"])]
        status = b.msg(m, i)
        bids, asks = b.top()
        quotes.append((status, bids[0] if bids else None, asks[0] if asks else None, b.stale, b.crossed))
    return books, quotes


@pytest.mark.parametrize("window", [0, 1, 4])
def test_random_streams_match_reference(window):
    rng = np.random.default_rng(window)
    nsym = 4
    msgs = random_stream(rng, nsym, 400, window)
    book = md.L2Book(nsym, reorder_window=window)
    q, ev = book.apply(msgs)
    books, ref = run_reference(msgs, nsym, window)
    for i, (status, bb, ba, stale, crossed) in enumerate(ref):
        flags = int(q["flags"][i])
        assert bool(flags & md.F_APPLIED) == (status == "applied"), i
        assert bool(flags & md.F_HELD) == (status == "held"), i
        assert bool(flags & md.F_STALE) == stale and bool(flags & md.F_CROSSED) == crossed, i
        if bb is None:
            assert math.isnan(q["bid"][i])
        else:
            assert (q["bid"][i], q["bid_size"][i]) == (bb[0], bb[1][0])
        if ba is None:
            assert math.isnan(q["ask"][i])
        else:
            assert (q["ask"][i], q["ask_size"][i]) == (ba[0], ba[1][0])
        if bb and ba:
            bs, as_ = bb[1][0], ba[1][0]
            assert q["mid"][i] == (bb[0] + ba[0]) / 2 and q["spread"][i] == ba[0] - bb[0]
            assert q["microprice"][i] == pytest.approx((bb[0] * as_ + ba[0] * bs) / (bs + as_), rel=1e-15)
            assert q["imbalance"][i] == pytest.approx((bs - as_) / (bs + as_), rel=1e-15)
    want = sorted((i, k) for b in books for (i, k, _) in b.events)
    got = sorted((int(e["index"]), md.EVENT_KINDS[int(e["kind"])]) for e in ev)
    assert got == want
    for s, b in enumerate(books):
        bids, asks = book.depth(s)
        rb, ra = b.top()
        np.testing.assert_array_equal(bids, [[p, sz, o] for p, (sz, o) in rb])
        np.testing.assert_array_equal(asks, [[p, sz, o] for p, (sz, o) in ra])
        c = book.counters(s)
        kinds = [k for _, k, _ in b.events]
        assert c["gaps"] == kinds.count("gap") and c["duplicates"] == kinds.count("duplicate")
        assert c["out_of_order"] == kinds.count("out_of_order") and c["reordered"] == kinds.count("reordered")


def test_gap_marks_stale_until_snapshot():
    m = np.zeros(6, md.L2_DTYPE)
    m["seq"] = [1, 2, 4, 5, 9, 9]
    m["side"] = [0, 1, 0, 0, 0, 1]
    m["action"] = [0, 0, 0, 0, md.SNAPSHOT, md.SNAPSHOT]
    m["price"] = [99, 101, 98, 97, 100, 102]
    m["size"] = [1, 1, 1, 1, 5, 6]
    book = md.L2Book(1)
    q, ev = book.apply(m)
    assert [md.EVENT_KINDS[k] for k in ev["kind"]] == ["gap", "resync"]
    assert ev["expected"][0] == 3
    assert list(q["flags"] & md.F_STALE) == [0, 0, md.F_STALE, md.F_STALE, 0, 0]
    assert (q["flags"][3] & md.F_DROPPED) and book.counters(0)["dropped_stale"] == 1
    bids, asks = book.depth(0)
    assert bids.tolist() == [[100, 5, 0]] and asks.tolist() == [[102, 6, 0]]
    more = np.zeros(1, md.L2_DTYPE)
    more["seq"], more["side"], more["price"], more["size"] = 10, 0, 99.5, 2
    book.apply(more)
    assert book.depth(0)[0].tolist() == [[100, 5, 0], [99.5, 2, 0]]


def test_crossed_book_is_flagged_not_silently_accepted():
    m = np.zeros(3, md.L2_DTYPE)
    m["seq"] = [1, 2, 3]
    m["side"] = [0, 1, 1]
    m["price"] = [100, 99.5, 99.5]
    m["size"] = [1, 1, 0]
    book = md.L2Book(1)
    q, ev = book.apply(m)
    assert [md.EVENT_KINDS[k] for k in ev["kind"]] == ["crossed", "uncrossed"]
    assert [bool(f & md.F_CROSSED) for f in q["flags"]] == [False, True, False]
    assert book.counters(0)["crossed"] == 1
    m2 = m[:2].copy()
    m2["seq"] = [4, 5]
    book.apply(m2)
    assert book.metrics()["flags"][0] == md.F_CROSSED


def test_invalid_messages_are_dropped_and_reported():
    m = np.zeros(4, md.L2_DTYPE)
    m["seq"] = [1, 2, 3, 4]
    m["side"] = [0, 2, 0, 0]
    m["price"] = [100, 100, np.nan, 100]
    m["size"] = [1, 1, 1, -5]
    book = md.L2Book(1)
    q, ev = book.apply(m)
    assert [md.EVENT_KINDS[k] for k in ev["kind"]] == ["bad", "bad", "bad"]
    assert book.counters(0)["bad"] == 3 and book.depth(0)[0].tolist() == [[100, 1, 0]]
    with pytest.raises(zc.InvalidArgumentError):
        bad = m.copy()
        bad["symbol"] = 7
        book.apply(bad)
    with pytest.raises(zc.InvalidArgumentError):
        book.apply(np.zeros((2, 2)))
    with pytest.raises(zc.InvalidArgumentError):
        book.apply(np.zeros(3, dtype=[("seq", "u8")]))


def test_level_overflow_keeps_the_best_levels():
    m = np.zeros(6, md.L2_DTYPE)
    m["seq"] = np.arange(1, 7)
    m["price"] = [100, 99, 98, 97, 101, 96]
    m["size"] = 1
    book = md.L2Book(1, levels=4)
    _, ev = book.apply(m)
    assert book.depth(0)[0][:, 0].tolist() == [101, 100, 99, 98]
    assert [md.EVENT_KINDS[k] for k in ev["kind"]] == ["overflow", "overflow"]


def test_depth_views_are_live_and_zero_copy():
    book = md.L2Book(2, levels=8)
    assert book.levels.shape == (2, 2, 8, 3) and book.counts.shape == (2, 2)
    base = book.levels
    while not isinstance(base, zc.Buffer):
        base = base.base
    m = np.zeros(1, md.L2_DTYPE)
    m["symbol"], m["seq"], m["side"], m["price"], m["size"], m["orders"] = 1, 1, 1, 10.5, 3, 2
    book.apply(m)
    assert book.counts[1, 1] == 1 and book.levels[1, 1, 0].tolist() == [10.5, 3, 2]


def deep_stream(rng, n, offsets=40):
    """One symbol's in-sequence deltas over many price levels (deeper than the block zc_l2_find counts at once),
    a fifth of them removals."""
    m = np.zeros(n, md.L2_DTYPE)
    m["seq"] = np.arange(1, n + 1)
    m["ts"] = m["seq"]
    m["side"] = rng.integers(0, 2, n)
    off = rng.integers(1, offsets + 1, n)
    m["price"] = np.where(m["side"] == 0, 1000 - off, 1000 + off) * 0.01
    m["size"] = np.where(rng.random(n) < 0.2, 0.0, rng.integers(1, 100, n))
    m["orders"] = rng.integers(0, 5, n)
    return m


@pytest.mark.parametrize("cap", [4, 15, 16, 17, 64])
def test_deep_books_match_reference(cap):
    msgs = deep_stream(np.random.default_rng(cap), 3000)
    book = md.L2Book(1, levels=cap, event_capacity=msgs.size)
    q, ev = book.apply(msgs)
    (ref,), rq = run_reference(msgs, 1, cap=cap)
    rb, ra = ref.top()
    bids, asks = book.depth(0)
    np.testing.assert_array_equal(bids, np.array([[p, sz, o] for p, (sz, o) in rb]).reshape(-1, 3))
    np.testing.assert_array_equal(asks, np.array([[p, sz, o] for p, (sz, o) in ra]).reshape(-1, 3))
    for i, (_, bb, ba, _, _) in enumerate(rq):
        for top, px, sz in ((bb, "bid", "bid_size"), (ba, "ask", "ask_size")):
            if top is None:
                assert math.isnan(q[px][i]) and math.isnan(q[sz][i]), i
            else:
                assert (q[px][i], q[sz][i]) == (top[0], top[1][0]), i
    assert sorted((int(e["index"]), md.EVENT_KINDS[int(e["kind"])]) for e in ev) == sorted(
        (i, k) for (i, k, _) in ref.events)
    assert book.counters(0)["applied"] == msgs.size


def test_apply_into_reused_out_equals_fresh_quotes():
    rng = np.random.default_rng(21)
    msgs = random_stream(rng, 3, 200, window=2)
    fresh = md.L2Book(3, reorder_window=2)
    reused = md.L2Book(3, reorder_window=2)
    half = msgs.size // 2
    out = np.empty(half, md.QUOTE_DTYPE)
    for part in (msgs[:half], msgs[half:2 * half]):
        q, ev = fresh.apply(part)
        q2, ev2 = reused.apply(part, out=out)
        assert q2 is out
        assert q.tobytes() == out.tobytes() and ev.tobytes() == ev2.tobytes()
    q, _, top = fresh.apply(msgs[2 * half:], topk=3)
    out = np.empty(msgs.size - 2 * half, md.QUOTE_DTYPE)
    q2, _, top2 = reused.apply(msgs[2 * half:], topk=3, out=out)
    assert q2 is out and q.tobytes() == out.tobytes() and top.tobytes() == top2.tobytes()
    for s in range(3):
        assert fresh.counters(s) == reused.counters(s)
        for a, b in zip(fresh.depth(s), reused.depth(s)):
            np.testing.assert_array_equal(a, b)


def test_apply_out_bad_arguments_leave_the_book_unchanged():
    msgs = deep_stream(np.random.default_rng(5), 50)
    book = md.L2Book(1, levels=8)
    book.apply(msgs[:10])
    before = (book.levels.copy(), book.counts.copy(), book.counters(0))
    rest = msgs[10:].copy()
    n = rest.size
    buf = np.zeros(n * md.QUOTE_DTYPE.itemsize + 64, np.uint8)
    bad = [np.empty(n, np.float64), np.empty(n + 1, md.QUOTE_DTYPE), np.empty(n - 1, md.QUOTE_DTYPE),
           np.empty((n, 1), md.QUOTE_DTYPE), np.empty(2 * n, md.QUOTE_DTYPE)[::2],
           buf[1:1 + n * md.QUOTE_DTYPE.itemsize].view(md.QUOTE_DTYPE), [0] * n]
    ro = np.empty(n, md.QUOTE_DTYPE)
    ro.flags.writeable = False
    bad.append(ro)
    shared = np.zeros(n * md.QUOTE_DTYPE.itemsize, np.uint8)
    overlapping = shared.view(md.QUOTE_DTYPE)
    inside = shared[:n * md.L2_DTYPE.itemsize].view(md.L2_DTYPE)
    inside[:] = rest
    for out in bad:
        with pytest.raises(zc.InvalidArgumentError):
            book.apply(rest, out=out)
    with pytest.raises(zc.InvalidArgumentError, match="overlap"):
        book.apply(inside, out=overlapping)
    for out in (np.empty(n + 1, md.QUOTE_DTYPE), bad[5], ro):  # the extension checks too
        with pytest.raises(zc.InvalidArgumentError):
            book._b.apply(rest, False, 0, out)
    np.testing.assert_array_equal(book.levels, before[0])
    np.testing.assert_array_equal(book.counts, before[1])
    assert book.counters(0) == before[2]
    q, _ = book.apply(rest, out=np.empty(n, md.QUOTE_DTYPE))
    assert q["flags"].tolist() == [md.F_APPLIED] * n


def test_depth_views_are_read_only():
    book = md.L2Book(1)
    with pytest.raises(ValueError):
        book.levels[0, 0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        book.counts[0, 0] = 3


def test_metrics_match_reference():
    rng = np.random.default_rng(4)
    msgs = random_stream(rng, 3, 300, faults=False)
    book = md.L2Book(3, tick=0.5)
    book.apply(msgs)
    sizes, bands = (15.0, 60.0), (10.0, 30.0)
    got = book.metrics(levels=4, bands_bps=bands, sizes=sizes)
    for s in range(3):
        bids, asks = book.depth(s)
        bb, ba = bids[0], asks[0]
        mid = (bb[0] + ba[0]) / 2
        assert got["mid"][s] == mid and got["spread"][s] == ba[0] - bb[0]
        for k in range(1, 5):
            sb, sa = bids[:k, 1].sum(), asks[:k, 1].sum()
            assert got[f"imbalance_{k}"][s] == pytest.approx((sb - sa) / (sb + sa), rel=1e-15)
        for b in bands:
            assert got[f"bid_depth_{b:g}bps"][s] == bids[bids[:, 0] >= mid * (1 - b / 1e4), 1].sum()
            assert got[f"ask_depth_{b:g}bps"][s] == asks[asks[:, 0] <= mid * (1 + b / 1e4), 1].sum()

        def through(lv, q):
            left, cost = q, 0.0
            for p, sz, _ in lv:
                take = min(sz, left)
                cost += take * p
                left -= take
                if left <= 0:
                    return cost / q
            return np.nan

        for q in sizes:
            np.testing.assert_allclose(got[f"buy_vwap_{q:g}"][s], through(asks, q), rtol=1e-15)
            np.testing.assert_allclose(got[f"sell_vwap_{q:g}"][s], through(bids, q), rtol=1e-15)
            np.testing.assert_allclose(got[f"buy_cost_bps_{q:g}"][s], (through(asks, q) - mid) / mid * 1e4,
                                       rtol=1e-12)
        for name, lv in (("bid", bids), ("ask", asks)):
            gaps = np.abs(np.diff(lv[:4, 0])) / 0.5
            assert got[f"{name}_holes"][s] == (gaps > 1.5).sum()
            assert got[f"{name}_widest_gap"][s] == max([g - 1 for g in gaps if g > 1.5], default=0.0)


def test_per_interval_metrics():
    rng = np.random.default_rng(6)
    msgs = random_stream(rng, 2, 200, faults=False)
    msgs = msgs[np.argsort(msgs["ts"], kind="stable")]
    ends, table, events = md.L2Book(2).process(msgs, 50_000, levels=2)
    assert len(ends) == len(np.unique(msgs["ts"] // 50_000)) and table["mid"].shape == (len(ends), 2)
    check = md.L2Book(2)
    check.apply(msgs[msgs["ts"] < ends[2]])
    np.testing.assert_array_equal(table["imbalance_2"][2], check.metrics(levels=2)["imbalance_2"])
    with pytest.raises(zc.InvalidArgumentError):
        md.L2Book(2).process(msgs[::-1], 50_000)


def test_engine_events_give_the_engine_depth():
    rng = np.random.default_rng(12)
    eng = zc.Engine(symbols=3, capacity=512)
    book = md.L2Book(3)
    oid = 1
    live = {s: [] for s in range(3)}
    for batch in range(6):
        o = np.zeros(150, zc.ORDER_DTYPE)
        for i in range(150):
            s = int(rng.integers(0, 3))
            kind = rng.random()
            if kind < 0.2 and live[s]:
                victim = live[s].pop(int(rng.integers(0, len(live[s]))))
                o[i] = (victim[0], victim[1], s, 0, 2, 0, 0, 0, 0, batch * 1000 + i)
                continue
            side = int(rng.integers(0, 2))
            price = 1000 + int(rng.integers(-6, 7)) * 2 + (3 if side else -3)
            tif = 1 if kind > 0.9 else 0
            o[i] = (oid, int(rng.integers(1, 20)), s, side, 0, tif, 0, price, int(rng.integers(1, 20)),
                    batch * 1000 + i)
            live[s].append((oid, o[i]["trader"]))
            oid += 1
        ev = eng.submit(o)
        book.apply_engine(o, ev)
    for s in range(3):
        eb, ea = eng.depth(s, levels=1000)
        bids, asks = book.depth(s)
        assert bids.tolist() == [[float(p), float(q), float(c)] for p, q, c in eb]
        assert asks.tolist() == [[float(p), float(q), float(c)] for p, q, c in ea]


# ---- trades: bars and rolling ----------------------------------------------------------------------------------

def random_trades(rng, nsym, n, t0=10**12):
    t = np.zeros(n, md.TRADE_DTYPE)
    t["symbol"] = rng.integers(0, nsym, n)
    t["ts"] = t0 + np.sort(rng.integers(0, 10**10, n))
    t["price"] = 100 + np.cumsum(rng.standard_normal(n)) * 0.1
    t["size"] = rng.integers(1, 500, n).astype(float)
    t["side"] = rng.choice([-1, 1], n)
    return t


def test_time_bars_match_pandas():
    rng = np.random.default_rng(1)
    t = random_trades(rng, 3, 3000)
    interval = 10**9
    b = md.bars(t, "time", interval)
    df = pd.DataFrame({"sym": t["symbol"], "bucket": t["ts"] // interval, "price": t["price"], "size": t["size"]})
    df["notional"] = df.price * df["size"]
    g = df.groupby(["sym", "bucket"], sort=True)
    ref = g.agg(open=("price", "first"), high=("price", "max"), low=("price", "min"), close=("price", "last"),
                volume=("size", "sum"), notional=("notional", "sum"), trades=("price", "size")).reset_index()
    assert len(b) == len(ref)
    np.testing.assert_array_equal(b["symbol"], ref.sym)
    np.testing.assert_array_equal(b["t_open"], ref.bucket.to_numpy(np.uint64) * interval)
    for col in ("open", "high", "low", "close", "trades"):
        np.testing.assert_array_equal(b[col], ref[col])
    np.testing.assert_allclose(b["volume"], ref.volume, rtol=1e-12)
    np.testing.assert_allclose(b["vwap"], ref.notional / ref.volume, rtol=1e-12)
    assert b["complete"].sum() == len(b) - 3


@pytest.mark.parametrize("kind", ["volume", "dollar"])
def test_volume_and_dollar_bars_match_reference(kind):
    rng = np.random.default_rng(2)
    t = random_trades(rng, 2, 2000)
    threshold = 5000.0 if kind == "volume" else 500_000.0
    b = md.bars(t, kind, threshold)
    rows = []
    for s in range(2):
        cur = None
        for x in t[t["symbol"] == s]:
            if cur is None:
                cur = dict(open=x["price"], high=x["price"], low=x["price"], volume=0.0, notional=0.0, n=0)
            cur.update(high=max(cur["high"], x["price"]), low=min(cur["low"], x["price"]), close=x["price"])
            cur["volume"] += x["size"]
            cur["notional"] += x["price"] * x["size"]
            cur["n"] += 1
            if (cur["volume"] if kind == "volume" else cur["notional"]) >= threshold:
                rows.append(cur)
                cur = None
        if cur is not None:
            rows.append(cur)
    assert len(b) == len(rows)
    for got, want in zip(b, rows):
        assert (got["open"], got["high"], got["low"], got["close"], got["trades"]) == \
            (want["open"], want["high"], want["low"], want["close"], want["n"])
        assert got["volume"] == pytest.approx(want["volume"], rel=1e-12)


def test_rolling_volume_and_vwap_match_pandas():
    rng = np.random.default_rng(3)
    t = random_trades(rng, 2, 1500)
    window = 3 * 10**8
    vol, vw = md.rolling(t, window)
    for s in range(2):
        m = t["symbol"] == s
        df = pd.DataFrame({"size": t["size"][m], "notional": t["price"][m] * t["size"][m]},
                          index=pd.to_datetime(t["ts"][m].astype(np.int64)))
        r = df.rolling(pd.Timedelta(window, "ns")).sum()
        np.testing.assert_allclose(vol[m], r["size"], rtol=1e-12)
        np.testing.assert_allclose(vw[m], r.notional / r["size"], rtol=1e-12)


def test_trades_bad_input_raises():
    t = random_trades(np.random.default_rng(0), 1, 10)
    bad = t.copy()
    bad["ts"][5] = bad["ts"][4] - 1
    with pytest.raises(zc.InvalidArgumentError, match="backwards"):
        md.bars(bad, "time", 10**6)
    bad = t.copy()
    bad["size"][3] = -1
    with pytest.raises(zc.InvalidArgumentError, match="negative"):
        md.rolling(bad, 10)
    bad = t.copy()
    bad["price"][2] = np.inf
    with pytest.raises(zc.InvalidArgumentError):
        md.bars(bad, "volume", 10)
    with pytest.raises(zc.InvalidArgumentError):
        md.bars(t, "weekly", 10)
    with pytest.raises(zc.InvalidArgumentError):
        md.bars(t, "volume", 0)
    with pytest.raises(zc.InvalidArgumentError):
        md.bars(np.zeros(3), "time", 10)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), window=st.integers(0, 3))
def test_property_l2_matches_reference(seed, window):
    rng = np.random.default_rng(seed)
    msgs = random_stream(rng, 2, 60, window)
    book = md.L2Book(2, reorder_window=window, levels=6)
    q, ev = book.apply(msgs)
    books, ref = run_reference(msgs, 2, window, cap=6)
    for s, b in enumerate(books):
        bids, asks = book.depth(s)
        rb, ra = b.top()
        assert bids[:, 0].tolist() == [p for p, _ in rb] and asks[:, 0].tolist() == [p for p, _ in ra]
    assert sorted((int(e["index"]), md.EVENT_KINDS[int(e["kind"])]) for e in ev) == \
        sorted((i, k) for b in books for (i, k, _) in b.events)


def test_every_event_is_returned_when_there_are_more_than_messages():
    """Each message below both runs time backwards and crosses or uncrosses the book: two events per
    message, all of them returned (the call keeps up to event_capacity per symbol)."""
    n = 300
    m = np.zeros(n, md.L2_DTYPE)
    m["seq"] = np.arange(1, n + 1)
    m["ts"] = np.arange(n, 0, -1)
    m["side"] = [0, 1] + [0] * (n - 2)
    m["price"] = [100, 101] + [102] * (n - 2)
    m["size"] = [1, 1] + [3, 0] * ((n - 2) // 2)
    book = md.L2Book(2, event_capacity=1000)
    _, ev = book.apply(m)
    kinds = [md.EVENT_KINDS[k] for k in ev["kind"]]
    assert kinds.count("ts_backwards") == n - 1
    assert kinds.count("crossed") == (n - 2) // 2 and kinds.count("uncrossed") == (n - 2) // 2
    assert len(ev) == 2 * n - 3 > n + 64 and book.counters(0)["events_lost"] == 0


def faulty_stream(rng, nsym, n):
    """n messages over nsym symbols, vectorised: per-symbol sequences with duplicates, late and ahead messages
    (held or gaps), snapshots, crossing prices, invalid messages, time going backwards and swapped neighbours."""
    m = np.zeros(n, md.L2_DTYPE)
    sym = rng.integers(0, nsym, n)
    m["symbol"] = sym
    order = np.argsort(sym, kind="stable")
    seq = np.empty(n, np.int64)
    seq[order] = np.concatenate([np.arange(1, k + 1) for k in np.bincount(sym, minlength=nsym)])
    fault = rng.integers(0, 64, n)
    seq = np.where(fault == 0, seq - 1, seq)                          # duplicate
    seq = np.where(fault == 1, np.maximum(seq - 3, 1), seq)           # late
    seq = np.where(fault == 2, seq + rng.integers(1, 5, n), seq)      # ahead: held or a gap
    m["seq"] = seq
    m["action"] = np.where(fault == 3, md.SNAPSHOT, 0)                # a one-level snapshot
    side = rng.integers(0, 2, n)
    m["side"] = np.where(fault == 5, 2, side)                         # invalid side
    off = np.where(fault == 4, -8, rng.integers(1, 12, n))            # crosses the book
    m["price"] = np.where(side == 0, 100 + sym - off * 0.25, 100 + sym + off * 0.25)
    m["price"][fault == 6] = np.nan                                   # invalid price
    m["size"] = np.where(rng.random(n) < 0.2, 0.0, rng.integers(1, 50, n))
    m["orders"] = rng.integers(0, 4, n)
    m["ts"] = np.where(fault == 7, np.maximum(np.arange(n) - 10, 0), np.arange(n))  # time backwards
    swap = rng.choice(n - 1, n // 100, replace=False)
    m[swap], m[swap + 1] = m[swap + 1].copy(), m[swap].copy()
    return m


@pytest.mark.parametrize("window", [0, 2])
def test_threaded_apply_equals_one_thread(window):
    """Calls of at least a few thousand messages sort them to one worker per symbol partition; quotes, top-k
    rows, events, depth and counters are bit-identical to one thread, also with fewer threads than partitions
    and across calls (smaller calls run on one worker)."""
    zc.init(num_threads=3)
    msgs = faulty_stream(np.random.default_rng(window), 37, 30_000)
    results = []
    for threads in (1, 2, 0):
        zc.set_num_threads(threads)
        book = md.L2Book(37, levels=8, reorder_window=window)
        got = [book.apply(part, topk=2) for part in (msgs[:17_000], msgs[17_000:18_000], msgs[18_000:])]
        results.append((b"".join(a.tobytes() for r in got for a in r), book.levels.tobytes(),
                        book.counts.tobytes(), [book.counters(s) for s in range(37)]))
    zc.set_num_threads(0)
    assert results[1] == results[0] and results[2] == results[0]
    counters = results[0][3]
    for key in ("duplicates", "out_of_order", "gaps", "snapshots", "bad", "crossed", "ts_backwards", "overflow"):
        assert sum(c[key] for c in counters) > 0, key


@pytest.mark.parametrize("n", [1, 3, 4, 7, 4096, 20_003])
def test_bad_symbol_anywhere_in_a_one_thread_call_leaves_the_book_unchanged(n):
    """The one-thread check precedes any change: a bad symbol first, in the middle, at each of the last five
    messages or at the last one of a long call is found and named (not a later bad one), and nothing is
    applied."""
    zc.init(num_threads=3)
    zc.set_num_threads(1)
    msgs = faulty_stream(np.random.default_rng(n), 37, 10_000 + n)
    book = md.L2Book(37, levels=8, reorder_window=2)
    book.apply(msgs[:10_000])
    before = (book.levels.tobytes(), book.counts.tobytes(), [book.counters(s) for s in range(37)])
    for at in sorted({0, n // 2, max(n - 5, 0), max(n - 4, 0), max(n - 3, 0), max(n - 2, 0), n - 1}):
        bad = msgs[10_000:].copy()
        bad["symbol"][at] = 37 + at % 2 * (2**32 - 38)  # 37 or 2**32 - 1
        if at + 1 < n:
            bad["symbol"][n - 1] = 38  # a later bad message is not the one named
        with pytest.raises(zc.InvalidArgumentError, match=f"message {at}: symbol {bad['symbol'][at]} "):
            book.apply(bad)
        assert (book.levels.tobytes(), book.counts.tobytes(), [book.counters(s) for s in range(37)]) == before
    book.apply(msgs[10_000:])  # the same messages with good symbols are applied
    assert book.counts.tobytes() != before[1] or [book.counters(s) for s in range(37)] != before[2]
    zc.set_num_threads(0)


def swapped_stream(rng, nsym, n):
    """Valid deltas over nsym symbols, each symbol's in the seq order 2, 1, 3, 4, 6, 5, 7, 8, ...: one message
    in four is held until the one before it arrives."""
    m = np.zeros(n, md.L2_DTYPE)
    sym = rng.integers(0, nsym, n)
    m["symbol"] = sym
    rank = np.empty(n, np.int64)
    rank[np.argsort(sym, kind="stable")] = np.concatenate([np.arange(k) for k in np.bincount(sym, minlength=nsym)])
    m["seq"] = rank + 1 + (rank % 4 == 0) - (rank % 4 == 1)
    m["ts"] = np.arange(n)
    side = rng.integers(0, 2, n)
    m["side"] = side
    off = rng.integers(1, 12, n)
    m["price"] = np.where(side == 0, 100 - off * 0.25, 100 + off * 0.25)
    m["size"] = np.where(rng.random(n) < 0.2, 0.0, rng.integers(1, 50, n))
    m["orders"] = 1
    return m


@pytest.mark.parametrize("threads", [1, 0])
def test_a_failed_call_changes_nothing_that_a_later_call_sees(threads):
    """A one-worker call of many messages applies them while it checks their symbols and restores the book it
    saved when it meets a bad one: held messages and the call's events go back too. Later calls then give
    the quotes, events, top-k rows, depth and counters of a book that never saw the failed calls."""
    zc.init(num_threads=3)
    zc.set_num_threads(threads)
    msgs = swapped_stream(np.random.default_rng(21), 37, 40_000)
    # The calls start just after a message was held: the failed calls apply it, and must put it back.
    q, _ = md.L2Book(37, levels=8, reorder_window=3).apply(msgs[:20_000])
    start = int(np.flatnonzero(q["flags"][:10_000] & md.F_HELD)[-1]) + 1
    books = [md.L2Book(37, levels=8, reorder_window=3) for _ in range(2)]
    for b in books:
        b.apply(msgs[:start])
    for at in (8, 9_999, 19_990, 29_999):
        bad = msgs[start:].copy()
        bad["symbol"][at] = 40
        with pytest.raises(zc.InvalidArgumentError, match=f"message {at}: symbol 40 "):
            books[1].apply(bad, topk=2)
    results = []
    for b in books:
        got = [b.apply(part, topk=2) for part in (msgs[start:25_000], msgs[25_000:])]
        results.append((b"".join(a.tobytes() for r in got for a in r), b.levels.tobytes(), b.counts.tobytes(),
                        [b.counters(s) for s in range(37)]))
    zc.set_num_threads(0)
    assert results[1] == results[0]
    assert sum(c["reordered"] for c in results[0][3]) > 0


def test_a_long_one_thread_call_equals_short_calls():
    """A one-thread call of 2^18 messages or more streams its quote rows past the caches (16-byte aligned
    output); rows, events, top-k rows and the book equal those of the same messages in shorter calls, also
    into an 8-byte aligned `out` (plain stores), and a bad symbol late in such a call changes nothing."""
    zc.init(num_threads=3)
    zc.set_num_threads(1)
    n = 300_000
    msgs = faulty_stream(np.random.default_rng(31), 37, n)
    shifted = np.zeros(n * md.QUOTE_DTYPE.itemsize + 8, np.uint8)[8:].view(md.QUOTE_DTYPE)
    assert shifted.ctypes.data % 16 == 8
    results = []
    for bounds, out in (((0, 100_000, 200_000, n), None), ((0, n), None), ((0, n), shifted)):
        book = md.L2Book(37, levels=8, reorder_window=2, event_capacity=4096)
        quotes, events, tops = [], [], []
        for lo, hi in zip(bounds, bounds[1:]):
            q, ev, top = book.apply(msgs[lo:hi], topk=2, out=out)
            ev = ev.copy()
            ev["index"] += lo
            quotes.append(q.tobytes())
            events.append(ev.tobytes())
            tops.append(top.tobytes())
        results.append((b"".join(quotes), b"".join(events), b"".join(tops), book.levels.tobytes(),
                        book.counts.tobytes(), [book.counters(s) for s in range(37)]))
        if len(bounds) == 2 and out is None:
            assert md.L2Book(37, levels=8, reorder_window=2, event_capacity=4096).apply(msgs)[0].tobytes() == results[-1][0]
            bad = msgs.copy()
            bad["symbol"][n - 100] = 37
            with pytest.raises(zc.InvalidArgumentError, match=f"message {n - 100}: symbol 37 "):
                book.apply(bad)
            assert (book.levels.tobytes(), book.counts.tobytes(),
                    [book.counters(s) for s in range(37)]) == results[-1][3:]
    zc.set_num_threads(0)
    assert results[1] == results[0] and results[2] == results[0]


def test_bad_symbol_in_a_threaded_call_leaves_the_book_unchanged():
    zc.init(num_threads=3)
    msgs = faulty_stream(np.random.default_rng(11), 37, 30_000)
    for threads in (1, 0):
        zc.set_num_threads(threads)
        book = md.L2Book(37, levels=8, reorder_window=2)
        book.apply(msgs[:10_000])
        before = (book.levels.tobytes(), book.counts.tobytes(), [book.counters(s) for s in range(37)])
        bad = msgs[10_000:].copy()
        bad["symbol"][[12_345, 19_000]] = [37, 2**32 - 1]
        with pytest.raises(zc.InvalidArgumentError, match="message 12345: symbol 37"):
            book.apply(bad)
        assert (book.levels.tobytes(), book.counts.tobytes(), [book.counters(s) for s in range(37)]) == before
        # A failed launch (the check's, or the apply's after the check) changes nothing either.
        for nth in (1, 2) if threads == 0 else (1,):
            zc.fault_inject(f"cpu:launch:{nth}")
            with pytest.raises(zc.TransientError):
                book.apply(msgs[10_000:])
            zc.fault_inject("")
            assert (book.levels.tobytes(), book.counts.tobytes(), [book.counters(s) for s in range(37)]) == before
    zc.set_num_threads(0)
