"""Position tracker: positions, average cost and realized P&L equal a pure-Python reference on
random engine streams of every order type (continuous and call auctions); open quantities equal
the engine's own books; marks and alerts; the pre-trade gate (limits never exceeded even if every
open order fills, refused orders never reach the book, the journal replays to the same root, the
same events for any thread count); zero-copy views; bad input raises typed errors and changes
nothing."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from zkclob import risk
from zkclob.book import TIF, EventKind, OrderType, Reason, Side

T, S = 4, 3
FIELDS = ("position", "avg_cost", "realized", "unrealized", "notional", "open_buy", "open_sell",
          "mark_prices", "pnl", "gross_notional")


def make_engine(threads=1, **kw):
    return zc.Engine(symbols=S, capacity=64, device="cpu", threads=threads, price_band=(1, 1000), **kw)


class Reference:
    """Average-cost accounting of zkclob/risk.h from orders and events, in plain Python."""

    def __init__(self):
        self.pos = np.zeros((T, S), np.int64)
        self.avg = np.zeros((T, S))
        self.real = np.zeros((T, S))
        self.live = {}  # (symbol, id) -> [trader, side, open]

    def trade(self, tr, s, side, q, p):
        x, c = int(self.pos[tr, s]), float(self.avg[tr, s])
        sq = q if side == Side.BUY else -q
        if x == 0 or (x > 0) == (sq > 0):
            self.avg[tr, s] = (abs(x) * c + q * float(p)) / (abs(x) + q)
        else:
            self.real[tr, s] += min(q, abs(x)) * (float(p) - c) * (1.0 if x > 0 else -1.0)
            if x + sq == 0:
                self.avg[tr, s] = 0.0
            elif (x > 0) != (x + sq > 0):
                self.avg[tr, s] = float(p)
        self.pos[tr, s] = x + sq

    def update(self, orders, events):
        seq0 = int(events["seq"][0]) if len(events) else 0
        for e in events:
            s, kind = int(e["symbol"]), e["kind"]
            if kind == EventKind.ACK:
                o = orders[int(e["seq"]) - seq0]
                key = (s, int(o["id"]))
                if o["type"] == OrderType.MODIFY:
                    if key in self.live:
                        self.live[key][2] = int(e["remaining"])
                elif o["type"] in (OrderType.LIMIT, OrderType.MARKET):
                    self.live[key] = [int(o["trader"]), int(o["side"]), int(e["remaining"])]
            elif kind == EventKind.FILL:
                taker = self.live.get((s, int(e["order_id"])))
                maker = self.live.get((s, int(e["maker_id"])))
                for who in (taker, maker):
                    if who:
                        self.trade(who[0], s, who[1], int(e["qty"]), int(e["price"]))
                if taker:
                    taker[2] = int(e["remaining"])
                if maker:
                    maker[2] -= int(e["qty"])
            elif kind in (EventKind.CANCEL, EventKind.EXPIRE):
                self.live.pop((s, int(e["order_id"])), None)
            self.live = {k: v for k, v in self.live.items() if v[2] > 0}


def random_orders(rng, n, first_id, live_ids):
    o = np.zeros(n, zc.ORDER_DTYPE)
    for i in range(n):
        r = rng.random()
        oid = first_id + i
        kind = OrderType.LIMIT
        if r < 0.15 and live_ids:
            kind = OrderType.CANCEL if rng.random() < 0.6 else OrderType.MODIFY
            oid, trader, sym = live_ids[rng.integers(len(live_ids))]
        else:
            trader, sym = int(rng.integers(T)), int(rng.integers(S))
            if r > 0.9:
                kind = OrderType.MARKET
        tif = TIF.GTC if kind != OrderType.LIMIT else int(rng.choice([0, 0, 0, 1, 2, 3]))
        side = int(rng.integers(2)) if kind != OrderType.MODIFY else int(rng.integers(256))  # ignored there
        o[i] = (oid, trader, sym, side, int(kind), tif, 0, int(rng.integers(95, 106)), int(rng.integers(1, 8)), 0)
    return o


def book_open(eng):
    """Open buy / sell quantity per (trader, symbol) from the engine's own books."""
    ob, os_ = np.zeros((T, S), np.int64), np.zeros((T, S), np.int64)
    for s in range(S):
        for e in eng.book(s):
            (ob if e["side"] == Side.BUY else os_)[e["trader"], s] += e["qty"]
    return ob, os_


def live_ids(eng):
    return [(int(e["id"]), int(e["trader"]), s) for s in range(S) for e in eng.book(s)]


def check_against(t, ref, eng):
    assert np.array_equal(t.position, ref.pos)
    assert np.array_equal(t.avg_cost, ref.avg)
    assert np.array_equal(t.realized, ref.real)
    ob, os_ = book_open(eng)
    assert np.array_equal(t.open_buy, ob) and np.array_equal(t.open_sell, os_)
    assert (t.position.sum(axis=0) == 0).all()  # every fill has a buyer and a seller
    mark = t.mark_prices
    unreal = np.where(ref.pos != 0, ref.pos * (mark[None, :] - ref.avg), 0.0)
    np.testing.assert_allclose(t.unrealized, unreal, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(t.pnl, (ref.real + unreal).sum(axis=1), rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(t.gross_notional, (np.abs(ref.pos) * mark[None, :]).sum(axis=1),
                               rtol=1e-12, atol=1e-6)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_positions_match_reference_on_random_streams(seed):
    rng = np.random.default_rng(seed)
    eng = make_engine()
    t, ref = risk.PositionTracker(T, S), Reference()
    next_id = 1
    for batch in range(6):
        o = random_orders(rng, 40, next_id, live_ids(eng))
        next_id += 40
        ev = eng.submit(o)
        t.update(o, ev)
        ref.update(o, ev)
        check_against(t, ref, eng)
        if batch == 3:
            t.mark(rng.uniform(90, 110, S))
            check_against(t, ref, eng)
    assert t.info()["unknown_fills"] == 0


def test_call_auction_fills():
    eng = make_engine(mode="auction", ref_price=100)
    t, ref = risk.PositionTracker(T, S), Reference()
    o = np.zeros(6, zc.ORDER_DTYPE)
    rows = [(1, 0, 0, 0, 101, 5), (2, 1, 0, 1, 99, 3), (3, 2, 0, 1, 100, 4), (4, 3, 1, 0, 100, 2),
            (5, 0, 1, 1, 100, 2), (6, 1, 2, 0, 50, 1)]
    for i, (oid, tr, s, side, p, q) in enumerate(rows):
        o[i] = (oid, tr, s, side, 0, 0, 0, p, q, 0)
    ev = eng.submit(o)
    t.update(o, ev)
    ref.update(o, ev)
    ux = eng.uncross([0, 1, 2])
    assert (ux["kind"] == EventKind.FILL).sum() >= 3
    t.update(None, ux)
    ref.update(o[:0], ux)
    check_against(t, ref, eng)
    assert t.position[0, 0] == 5 and t.position[0, 1] == -2


def test_alerts_and_marks():
    eng = make_engine()
    t = risk.PositionTracker(T, S)
    t.set_limits(max_position=5, max_notional=2000.0, max_loss=30.0, traders=range(0, 2))
    o = np.zeros(2, zc.ORDER_DTYPE)
    o[0] = (1, 1, 0, Side.SELL, 0, 0, 0, 100, 8, 0)
    o[1] = (2, 0, 0, Side.BUY, 0, 0, 0, 100, 8, 0)
    ev = eng.submit(o)
    alerts = t.update(o, ev)
    assert alerts.dtype == risk.ALERT_DTYPE
    got = {(int(a["trader"]), int(a["kind"])) for a in alerts}
    assert got == {(0, risk.ALERT_POSITION), (1, risk.ALERT_POSITION)}
    assert all(a["seq"] == ev["seq"][-1] and a["value"] == 8 and a["limit"] == 5 for a in alerts)
    a = t.mark(np.array([300.0, 1.0, 1.0]))  # notional 2400 for both, trader 1 loses 1600
    assert {(int(x["trader"]), int(x["kind"])) for x in a} == {
        (0, risk.ALERT_NOTIONAL), (1, risk.ALERT_NOTIONAL), (1, risk.ALERT_LOSS)}
    assert len(t.mark(np.array([300.0, 1.0, 1.0]))) == 0  # still breached: reported once
    assert len(t.mark(np.array([100.0, 1.0, 1.0]))) == 0  # back within
    assert len(t.mark(np.array([400.0, 1.0, 1.0]))) == 3  # breached again: re-armed
    assert t.info()["alerts"] == 8


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_pretrade_gate_keeps_worst_case_within_limits(seed):
    rng = np.random.default_rng(seed)
    runs = []
    for threads in (1, 2):
        rng = np.random.default_rng(seed)
        eng = make_engine(threads=threads)
        t = risk.PositionTracker(T, S)
        t.set_limits(max_position=12)
        next_id, events = 1, []
        for _ in range(6):
            o = random_orders(rng, 60, next_id, live_ids(eng))
            next_id += 60
            before = t.pretrade(o)
            ev = t.submit(eng, o)
            events.append(ev.copy())
            refused = ev[(ev["kind"] == EventKind.REJECT) & (ev["reason"] == Reason.RISK_LIMIT)]
            assert set(refused["order_id"]) == set(o["id"][before == Reason.RISK_LIMIT])
            assert np.all(np.diff(ev["seq"].astype(np.int64)) >= 0)
            x = t.position
            assert (np.abs(x + t.open_buy) <= 12).all() and (np.abs(x - t.open_sell) <= 12).all()
            ob, os_ = book_open(eng)
            assert np.array_equal(t.open_buy, ob) and np.array_equal(t.open_sell, os_)
            assert (np.abs(x) <= 12).all()
        runs.append(events)
    for a, b in zip(*runs):
        assert a.tobytes() == b.tobytes()


def test_gate_journal_replays_without_the_tracker(tmp_path):
    path = tmp_path / "gate.zcj"
    eng = make_engine(journal=path)
    t = risk.PositionTracker(T, S)
    t.set_limits(max_position=4, traders=(0, 1))
    o = np.zeros(5, zc.ORDER_DTYPE)
    o[0] = (1, 1, 0, Side.SELL, 0, 0, 0, 100, 10, 0)
    o[1] = (2, 0, 0, Side.BUY, 0, 0, 0, 100, 3, 0)
    o[2] = (3, 0, 0, Side.BUY, 0, 0, 0, 100, 2, 0)  # 3 + 2 > 4
    o[3] = (4, 0, 0, Side.BUY, 0, 0, 0, 100, 1, 0)  # bad signature: refused first, takes no room
    o[4] = (5, 0, 0, Side.BUY, 0, 0, 0, 100, 1, 0)  # 3 + 1 <= 4
    ev = t.submit(eng, o, valid=[1, 1, 1, 0, 1])
    rej = ev[ev["kind"] == EventKind.REJECT]
    assert list(rej["order_id"]) == [3, 4]
    assert list(rej["reason"]) == [Reason.RISK_LIMIT, Reason.BAD_SIGNATURE]
    assert t.position[0, 0] == 4
    root = eng.state_root()
    eng.close()
    replayed, _ = zc.Engine.replay(path, device="cpu")
    assert replayed.state_root() == root


def test_views_are_zero_copy_and_read_only():
    eng = make_engine()
    t = risk.PositionTracker(T, S)
    pos = t.position
    assert pos.shape == (T, S) and pos.dtype == np.int64 and not pos.flags.writeable
    assert np.shares_memory(pos, t.position)
    assert t.pnl.shape == (T,) and t.mark_prices.shape == (S,)
    o = np.zeros(2, zc.ORDER_DTYPE)
    o[0] = (1, 1, 2, Side.SELL, 0, 0, 0, 100, 5, 0)
    o[1] = (2, 3, 2, Side.BUY, 0, 0, 0, 100, 5, 0)
    t.update(o, eng.submit(o))
    assert pos[3, 2] == 5 and pos[1, 2] == -5  # the old view sees the update
    with pytest.raises(ValueError):
        pos[0, 0] = 1
    del t
    assert pos[3, 2] == 5  # the view keeps the tracker alive


def snapshot(t):
    return [getattr(t, f).copy() for f in FIELDS] + [t.info()]


def test_bad_input_is_rejected_and_changes_nothing():
    eng = make_engine()
    t = risk.PositionTracker(T, S)
    o = np.zeros(2, zc.ORDER_DTYPE)
    o[0] = (1, 1, 0, Side.SELL, 0, 0, 0, 100, 5, 0)
    o[1] = (2, 0, 0, Side.BUY, 0, 0, 0, 100, 3, 0)
    ev = eng.submit(o)
    t.update(o, ev)
    t.mark(np.array([100.0, 1.0, 2.0]))
    before = snapshot(t)
    far = o.copy()
    far["trader"][1] = T
    bad_seq = ev.copy()
    bad_seq["seq"][-1] += 5
    bad_sym = ev.copy()
    bad_sym["symbol"][-1] = S
    bad_qty = ev.copy()
    bad_qty["qty"][-1] = 0
    cases = [
        (t.update, (far, ev)), (t.update, (o, bad_seq)), (t.update, (o, bad_sym)), (t.update, (o, bad_qty)),
        (t.update, (o.view(np.uint8), ev)), (t.update, (o, ev.view(np.uint8))), (t.update, (o[None, :], ev)),
        (t.update, (list(o), ev)), (t.update, (None, ev)),  # acks without orders
        (t.mark, (np.array([1.0, np.nan, 1.0]),)), (t.mark, (np.array([1.0, 1.0, np.inf]),)),
        (t.mark, (np.ones(S + 1),)), (t.mark, (np.array(["a"] * S),)),
        (t.set_limits, (-1,)), (t.set_limits, (0, np.nan)), (t.set_limits, (0, 0.0, 1.0, (2, 5))),
        (t.set_limits, (np.ones(T + 1, np.int64),)), (t.set_limits, (1.5,)),
        (t.pretrade, (np.zeros(2),)),
        (t.submit, ("not an engine", o)), (t.submit, (eng, o, [1])),
    ]
    for fn, args in cases:
        with pytest.raises(zc.InvalidArgumentError):
            fn(*args)
    after = snapshot(t)
    for a, b in zip(before, after):
        assert (a == b) if isinstance(a, dict) else np.array_equal(a, b)
    with pytest.raises(zc.InvalidArgumentError):
        t.submit(zc.Engine(symbols=S + 1, capacity=4, device="cpu"), o)  # the tracker covers fewer symbols
    for args in ((0, 3), (3, 0), (2**32, 1), (1.5, 2)):
        with pytest.raises(zc.InvalidArgumentError):
            risk.PositionTracker(*args)


def test_pretrade_notional_and_loss_limits():
    eng = make_engine()
    t = risk.PositionTracker(T, S)
    t.set_limits(max_notional=1000.0, traders=(0, 1))
    t.set_limits(max_loss=100.0, traders=(1, 1))
    t.mark(np.array([100.0, 0.0, 100.0]))

    def one(oid, tr, s, side, p, q, typ=OrderType.LIMIT):
        o = np.zeros(1, zc.ORDER_DTYPE)
        o[0] = (oid, tr, s, side, typ, 0, 0, p, q, 0)
        return o

    def reason(o):
        ev = t.submit(eng, o)
        rej = ev[ev["kind"] == EventKind.REJECT]
        return int(rej["reason"][0]) if len(rej) else 0

    assert reason(one(1, 0, 0, Side.BUY, 100, 10)) == 0  # open buy 10 x 100 = 1000
    assert reason(one(2, 0, 0, Side.BUY, 100, 1)) == Reason.RISK_LIMIT
    assert reason(one(3, 0, 0, Side.SELL, 101, 10)) == 0  # the worse side stays 10 lots
    assert t.open_buy[0, 0] == 10 and t.open_sell[0, 0] == 10
    # Without any price for the symbol the order's own limit price counts; a market order fails.
    fresh = risk.PositionTracker(T, S)
    fresh.set_limits(max_notional=1000.0)
    batch = np.concatenate([one(1, 0, 1, Side.BUY, 100, 10), one(2, 0, 1, Side.BUY, 100, 1),
                            one(3, 1, 1, Side.BUY, 100, 9), one(4, 2, 1, Side.BUY, 0, 1, OrderType.MARKET)])
    assert list(fresh.pretrade(batch)) == [0, Reason.RISK_LIMIT, 0, Reason.RISK_LIMIT]
    # Trader 1 buys 10 @ 100 from trader 2 in symbol 2, then the mark falls to 80: P&L -200 < -100.
    t.submit(eng, one(5, 2, 2, Side.SELL, 100, 10))
    assert reason(one(6, 1, 2, Side.BUY, 100, 10)) == 0
    t.mark(np.array([100.0, 0.0, 80.0]))
    assert t.pnl[1] == -200.0 and t.position[1, 2] == 10
    assert reason(one(7, 1, 1, Side.BUY, 50, 1)) == Reason.RISK_LIMIT  # adds risk elsewhere
    assert reason(one(8, 1, 2, Side.SELL, 120, 15)) == Reason.RISK_LIMIT  # would flip to short 5
    assert reason(one(9, 1, 2, Side.SELL, 120, 5)) == 0  # reduces the position
    assert reason(one(9, 1, 2, Side.SELL, 0, 0, OrderType.CANCEL)) == 0  # cancels always pass
    assert t.open_sell[1, 2] == 0
