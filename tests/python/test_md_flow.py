"""Order flow against pure-Python references on small streams: trade classification, BVC, OFI (L1 and
multi-level), VPIN, Kyle's lambda, trade sizes, the institutional/retail rules (validated on synthetic
streams with planted parents) and pattern detection on the matching engine's events."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc

md = zc.md


def trades(rng, nsym, n, t0=10**12):
    t = np.zeros(n, md.TRADE_DTYPE)
    t["symbol"] = rng.integers(0, nsym, n)
    t["ts"] = t0 + np.sort(rng.integers(0, 10**9, n))
    t["price"] = np.round(100 + np.cumsum(rng.choice([-0.01, 0, 0.01], n)), 2)
    t["size"] = rng.integers(1, 300, n).astype(float)
    t["side"] = rng.choice([-1, 0, 1], n)
    return t


def classify_ref(t, method, bid=None, ask=None):
    out, prev, last = [], {}, {}
    for i, x in enumerate(t):
        s = int(x["symbol"])
        if s not in prev:
            tick = 0
        elif x["price"] > prev[s]:
            tick = 1
        elif x["price"] < prev[s]:
            tick = -1
        else:
            tick = last[s]
        prev[s], last[s] = x["price"], tick
        if method == "tick":
            out.append(tick)
            continue
        mid = (bid[i] + ask[i]) / 2
        q = 1 if x["price"] > mid else (-1 if x["price"] < mid else 0)
        out.append(q if method == "quote" or q else tick)
    return np.array(out, dtype=np.int8)


@pytest.mark.parametrize("method", ["tick", "quote", "lee_ready"])
def test_classification_matches_reference(method):
    rng = np.random.default_rng(1)
    t = trades(rng, 3, 2000)
    mid = t["price"] + rng.choice([-0.005, 0.0, 0.005], t.size)
    bid, ask = mid - 0.01, mid + 0.01
    got = md.classify(t, method, bid, ask)
    np.testing.assert_array_equal(got, classify_ref(t, method, bid, ask))
    assert set(np.unique(got)) <= {-1, 0, 1}


def test_bvc_matches_reference():
    rng = np.random.default_rng(2)
    close = 100 + np.cumsum(rng.standard_normal((2, 300)), axis=1)
    w = 20
    got = md.bvc(close, w)
    for s in range(2):
        dp = np.diff(close[s])
        for j in range(300):
            if j < w:
                assert np.isnan(got[s, j])
                continue
            window = dp[j - w:j]
            sd = window.std()
            want = 0.5 * math.erfc(-(dp[j - 1] / sd) / math.sqrt(2))
            assert got[s, j] == pytest.approx(want, rel=1e-14, abs=1e-15)


def ofi_ref(sym, bp, bs, ap, as_):
    e = np.zeros(bp.shape)
    last = {}
    for i, s in enumerate(sym):
        if s in last:
            p = last[s]
            for m in range(bp.shape[1]):
                x = (bp[p, m], bs[p, m], ap[p, m], as_[p, m], bp[i, m], bs[i, m], ap[i, m], as_[i, m])
                if any(np.isnan(x)):
                    continue
                pb0, qb0, pa0, qa0, pb, qb, pa, qa = x
                e[i, m] = (pb >= pb0) * qb - (pb <= pb0) * qb0 - (pa <= pa0) * qa + (pa >= pa0) * qa0
        last[s] = i
    return e


def test_ofi_l1_and_multilevel_match_reference():
    rng = np.random.default_rng(3)
    n, levels = 500, 3
    sym = rng.integers(0, 2, n)
    mid = 100 + np.cumsum(rng.choice([-0.5, 0, 0.5], n))
    bp = mid[:, None] - 0.5 * np.arange(1, levels + 1)
    ap = mid[:, None] + 0.5 * np.arange(1, levels + 1)
    bs = rng.integers(1, 10, (n, levels)).astype(float)
    as_ = rng.integers(1, 10, (n, levels)).astype(float)
    bp[7, 2] = np.nan
    got = md.ofi(sym, bp, bs, ap, as_)
    np.testing.assert_array_equal(got, ofi_ref(sym, bp, bs, ap, as_))
    l1 = md.ofi(sym, bp[:, 0], bs[:, 0], ap[:, 0], as_[:, 0])
    np.testing.assert_array_equal(l1, got[:, 0])


def test_ofi_from_l2_book_updates():
    """OFI straight from the book's top-k output after each message."""
    m = np.zeros(4, md.L2_DTYPE)
    m["seq"] = [1, 2, 3, 4]
    m["side"] = [0, 1, 0, 1]
    m["price"] = [100, 101, 100.5, 101]
    m["size"] = [5, 4, 2, 7]
    q, _, top = md.L2Book(1).apply(m, topk=1)
    e = md.ofi(np.zeros(4, int), top[:, 0, 0, 0], top[:, 0, 0, 1], top[:, 1, 0, 0], top[:, 1, 0, 1])
    # Update 3 raises the bid (+2 new size); update 4 grows the ask at the same price (-(7) + 4).
    assert e[2] == 2.0 and e[3] == -3.0


def vpin_ref(t, V, window, frac):
    rows = []
    for s in sorted(set(t["symbol"].tolist())):
        idx = np.flatnonzero(t["symbol"] == s)
        buy = filled = 0.0
        imb = []
        for i in idx:
            left = t["size"][i]
            while left > 0:
                take = min(V - filled, left)
                buy += take * frac[i]
                filled += take
                left -= take
                if filled < V:
                    break
                imb.append(abs(buy - (V - buy)))
                v = sum(imb[-window:]) / (window * V) if len(imb) >= window else np.nan
                rows.append((s, buy, V - buy, v))
                buy = filled = 0.0
    return rows


def test_vpin_matches_reference():
    rng = np.random.default_rng(4)
    t = trades(rng, 2, 3000)
    frac = np.where(t["side"] > 0, 1.0, np.where(t["side"] < 0, 0.0, 0.5))
    got = md.vpin(t, 2000.0, window=10)
    ref = vpin_ref(t, 2000.0, 10, frac)
    assert len(got) == len(ref)
    for g, (s, b, sl, v) in zip(got, ref):
        assert g["symbol"] == s
        assert g["buy"] == pytest.approx(b, rel=1e-12, abs=1e-9)
        assert g["sell"] == pytest.approx(sl, rel=1e-12, abs=1e-9)
        assert (math.isnan(v) and math.isnan(g["vpin"])) or g["vpin"] == pytest.approx(v, rel=1e-12)
    bvc_frac = rng.random(t.size)
    got2 = md.vpin(t, 2000.0, 10, buy_fraction=bvc_frac)
    assert got2["buy"] == pytest.approx([r[1] for r in vpin_ref(t, 2000.0, 10, bvc_frac)], rel=1e-12)


def test_kyle_lambda_matches_polyfit():
    rng = np.random.default_rng(5)
    q = rng.standard_normal((2, 200)) * 1000
    dp = 0.003 * q + rng.standard_normal((2, 200)) * 0.5
    got = md.kyle_lambda(dp, q, 30)
    for s in range(2):
        for j in range(200):
            if j < 29:
                assert np.isnan(got[s, j])
            else:
                slope = np.polyfit(q[s, j - 29:j + 1], dp[s, j - 29:j + 1], 1)[0]
                assert got[s, j] == pytest.approx(slope, rel=1e-9)
    assert abs(np.nanmean(got) - 0.003) < 0.001
    assert np.isnan(md.kyle_lambda(np.ones(10), np.ones(10), 5)).all()


def test_size_distribution_matches_numpy():
    rng = np.random.default_rng(6)
    t = trades(rng, 2, 1000)
    edges = np.array([1, 10, 50, 100, 200, 1000.0])
    d = md.size_distribution(t, edges)
    for s in range(2):
        sz = t["size"][t["symbol"] == s]
        c, _ = np.histogram(np.clip(sz, edges[0], edges[-1] - 1e-9), edges)
        np.testing.assert_array_equal(d["count"][s], c)
        assert d["volume"][s].sum() == pytest.approx(sz.sum())
        np.testing.assert_allclose(d["quantiles"][s], np.quantile(sz, [0.5, 0.9, 0.99]))


# ---- institutional vs retail -------------------------------------------------------------------------------

def participants_ref(t, q=0.99, lot=100.0, gap=10**9, band=10.0, kmin=4, tol=0.1):
    """The documented rule set, written directly."""
    rules = np.zeros(t.size, np.uint8)
    for s in set(t["symbol"].tolist()):
        idx = np.flatnonzero(t["symbol"] == s)
        sizes = np.sort(t["size"][idx])
        block = sizes[max(math.ceil(q * idx.size), 1) - 1]
        for i in idx:
            sz = t["size"][i]
            rules[i] |= md.RULE_BLOCK if sz >= block else 0
            rules[i] |= md.RULE_ODD if sz < lot else (md.RULE_ROUND if sz % lot == 0 else 0)

        def chains(members, fits, min_vol, bit):
            start = 0
            for k in range(1, len(members) + 1):
                ok = k < len(members) and t["ts"][members[k]] - t["ts"][members[k - 1]] <= gap and \
                    fits(members[start], members[k - 1], members[k])
                if ok:
                    continue
                run = members[start:k]
                if len(run) >= kmin and t["size"][run].sum() >= min_vol:
                    rules[run] |= bit
                start = k

        for side in (-1, 1):
            same = [i for i in idx if t["side"][i] == side]
            chains([i for i in same if t["size"][i] >= lot],
                   lambda first, prev, b: abs(t["price"][b] - t["price"][prev]) / t["price"][prev] * 1e4 <= band, block,
                   md.RULE_PARENT)
            chains(same, lambda a, prev, b: t["price"][b] == t["price"][a] and
                   abs(t["size"][b] - t["size"][a]) <= tol * t["size"][a], 0.0, md.RULE_ICEBERG)
    w = {md.RULE_BLOCK: .45, md.RULE_ROUND: .10, md.RULE_ODD: -.25, md.RULE_PARENT: .35, md.RULE_ICEBERG: .30}
    p = np.array([min(max(0.25 + sum(v for b, v in w.items() if r & b), 0), 1) for r in rules])
    return rules, (p >= 0.5).astype(np.uint8), np.where(p >= 0.5, p, 1 - p)


def synthetic_flow(rng, parents=6):
    """Retail: small trades on random sides, 3% of them one round lot. Institutional: parents of 8-12 round-lot children on one
    side, seconds apart at drifting prices, interleaved with the retail flow."""
    n_retail = 3000
    ts = list(np.sort(rng.integers(0, 600 * 10**9, n_retail)))
    price = list(100 + rng.standard_normal(n_retail) * 0.05)
    size = list(np.where(rng.random(n_retail) < 0.03, 100.0, rng.integers(1, 100, n_retail)).astype(float))
    side = list(rng.choice([-1, 1], n_retail))
    planted = [False] * n_retail
    for _ in range(parents):
        when = int(rng.integers(0, 500)) * 10**9
        sd = int(rng.choice([-1, 1]))
        p0 = 100 + rng.standard_normal() * 0.05
        for k in range(int(rng.integers(8, 13))):
            when += int(rng.integers(2 * 10**8, 9 * 10**8))
            ts.append(when)
            price.append(p0 + sd * 0.01 * k)
            size.append(float(rng.choice([200, 300, 500])))
            side.append(sd)
            planted.append(True)
    order = np.argsort(ts, kind="stable")
    t = np.zeros(len(ts), md.TRADE_DTYPE)
    t["ts"] = np.array(ts)[order]
    t["price"] = np.array(price)[order]
    t["size"] = np.array(size)[order]
    t["side"] = np.array(side)[order]
    return t, np.array(planted)[order]


def test_participant_rules_match_reference():
    rng = np.random.default_rng(7)
    t, _ = synthetic_flow(rng)
    t["symbol"] = rng.integers(0, 2, t.size)
    label, conf, rules = md.participants(t)
    r_rules, r_label, r_conf = participants_ref(t)
    np.testing.assert_array_equal(rules, r_rules)
    np.testing.assert_array_equal(label, r_label)
    np.testing.assert_allclose(conf, r_conf, rtol=1e-15)
    assert ((conf >= 0.5) & (conf <= 1.0)).all()


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_planted_parents_are_found(seed):
    t, planted = synthetic_flow(np.random.default_rng(seed))
    label, conf, rules = md.participants(t)
    recall = label[planted].mean()
    false_pos = label[~planted].mean()
    assert recall >= 0.9, recall
    assert false_pos <= 0.05, false_pos
    assert ((rules[planted] & md.RULE_PARENT) != 0).mean() >= 0.9
    assert conf[planted & (label == 1)].mean() > conf[~planted & (label == 1)].mean() if (label[~planted]).any() \
        else True


def test_iceberg_refills_are_flagged():
    t = np.zeros(6, md.TRADE_DTYPE)
    t["ts"] = np.arange(6) * 10**8
    t["price"] = 50.0
    t["size"] = [100, 100, 95, 100, 5, 104]
    t["side"] = [1, 1, 1, 1, -1, 1]
    _, _, rules = md.participants(t, min_children=4)
    assert [bool(r & md.RULE_ICEBERG) for r in rules] == [True, True, True, True, False, True]


# ---- patterns on the engine's events ----------------------------------------------------------------------

def order(oid, trader, side, price, qty, ts, typ=0, tif=0, symbol=0):
    return (oid, trader, symbol, side, typ, tif, 0, price, qty, ts)


def run_engine(rows, symbols=2):
    eng = zc.Engine(symbols=symbols, capacity=1024)
    o = np.array(rows, dtype=zc.ORDER_DTYPE)
    return o, eng.submit(o)


def test_sweep_is_detected_with_its_makers():
    rows = [order(i + 1, 1, 1, 100 + i, 5, i) for i in range(4)]       # asks 100..103
    rows.append(order(10, 2, 0, 103, 17, 10))                           # buys through 4 levels
    rows.append(order(11, 3, 0, 99, 1, 11))
    o, ev = run_engine(rows)
    pats, ids = md.patterns(o, ev)
    sweeps = pats[pats["kind"] == 1]
    assert len(sweeps) == 1
    p = sweeps[0]
    assert (p["levels"], p["qty"], p["trader"]) == (4, 17.0, 2)
    assert ids[p["first"]:p["first"] + p["norders"]].tolist() == [10, 1, 2, 3, 4]


def test_layering_is_detected():
    rows = [order(1, 9, 1, 105, 10, 0)]                                  # a resting ask of someone else
    rows += [order(10 + k, 5, 0, 100 - k, 50, 1000 + k) for k in range(4)]  # trader 5 layers bids
    rows.append(order(20, 5, 1, 104, 3, 2000))                           # trader 5 sells (rests)
    rows.append(order(21, 7, 0, 104, 3, 2500))                           # ... and is lifted
    rows += [order(10 + k, 5, 0, 0, 0, 3000 + k, typ=2) for k in range(4)]  # cancels the layers unfilled
    o, ev = run_engine(rows)
    pats, ids = md.patterns(o, ev, layer_window_ns=10_000)
    lay = pats[pats["kind"] == 2]
    assert len(lay) == 1 and lay[0]["trader"] == 5 and lay[0]["levels"] == 4
    assert sorted(ids[lay[0]["first"]:lay[0]["first"] + lay[0]["norders"]].tolist()) == [10, 11, 12, 13]
    # Without the opposite-side trade it is not layering.
    o2, ev2 = run_engine([r for r in rows if r[0] not in (20, 21)])
    assert (md.patterns(o2, ev2, layer_window_ns=10_000)[0]["kind"] != 2).all()


def test_quote_stuffing_burst_is_detected():
    rows, oid, ts = [], 1, 0
    for k in range(30):                                                  # calm flow, 1 ms apart
        rows.append(order(oid, 1, k % 2, 100 + (1 if k % 2 else -1) * (1 + k % 3), 1, ts))
        oid, ts = oid + 1, ts + 10**6
    burst = []
    for k in range(40):                                                  # 80 messages in 0.08 ms
        rows.append(order(oid, 3, 0, 90, 1, ts))
        rows.append(order(oid, 3, 0, 0, 0, ts + 1000, typ=2))
        burst.append(oid)
        oid, ts = oid + 1, ts + 2000
    rows.append(order(oid, 1, 0, 95, 1, ts + 10**7))
    o, ev = run_engine(rows)
    pats, ids = md.patterns(o, ev, stuffing_msgs=50, stuffing_window_ns=10**6)
    st_ = pats[pats["kind"] == 3]
    assert len(st_) == 1
    involved = set(ids[st_[0]["first"]:st_[0]["first"] + st_[0]["norders"]].tolist())
    assert involved <= set(burst) and len(involved) >= 30
    assert st_[0]["t_end"] - st_[0]["t_start"] < 10**6


def test_order_flow_bundle():
    t = trades(np.random.default_rng(8), 2, 800)
    out = md.order_flow(t)
    assert set(out) >= {"sign", "vpin", "sizes", "institutional", "confidence", "rules"}
    np.testing.assert_array_equal(out["sign"], md.classify(t, "tick"))


def test_flow_bad_input():
    t = trades(np.random.default_rng(9), 1, 20)
    with pytest.raises(zc.InvalidArgumentError):
        md.classify(t, "quote")
    with pytest.raises(zc.InvalidArgumentError):
        md.classify(t, "magic")
    with pytest.raises(zc.InvalidArgumentError):
        md.vpin(t, 0.0)
    with pytest.raises(zc.InvalidArgumentError):
        md.vpin(t, 10.0, buy_fraction=np.full(20, 2.0))
    with pytest.raises(zc.InvalidArgumentError):
        md.kyle_lambda(np.ones(5), np.ones(4))
    with pytest.raises(zc.InvalidArgumentError):
        md.ofi([0, 1], np.ones(3), np.ones(3), np.ones(3), np.ones(3))
    with pytest.raises(zc.InvalidArgumentError):
        md.patterns(np.zeros(2), np.zeros(2))
    with pytest.raises(zc.InvalidArgumentError):
        md.size_distribution(t, [5, 1])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200), method=st.sampled_from(["tick", "quote", "lee_ready"]))
def test_property_classification(seed, n, method):
    rng = np.random.default_rng(seed)
    t = trades(rng, 3, n)
    mid = t["price"] + rng.choice([-0.01, 0.0, 0.01], n)
    np.testing.assert_array_equal(md.classify(t, method, mid - 0.01, mid + 0.01, nsym=3),
                                  classify_ref(t, method, mid - 0.01, mid + 0.01))
