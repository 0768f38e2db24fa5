"""Correlation tracker: EWMA against pandas ewm(adjust=False).corr() and rolling windows against
numpy.corrcoef to 1e-10 along long streams; block updates equal single updates; results
independent of the thread count; breakdown detection on a planted regime change (detected within
the short window) and on stationary data (false alerts within the stated rate); bad input raises
typed errors and leaves the tracker unchanged."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

import zkclob as zc
from zkclob import risk


def correlated(rng, rows, n, rho):
    """Normal rows with equicorrelation rho."""
    common = rng.standard_normal((rows, 1))
    return np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal((rows, n))


@pytest.mark.parametrize("alpha", [0.01, 0.06, 0.123456789, 0.3, 1.0])
def test_ewma_matches_pandas(alpha):
    rng = np.random.default_rng(11)
    n, rows = 6, 500
    x = correlated(rng, rows, n, 0.3) * np.array([1, 10, 0.1, 5, 1e3, 1]) + np.array([0, 5, -3, 100, 1e4, 0])
    x[:, 5] = np.round(x[:, 5])  # repeated values exercise pandas' unchanged-mean branch
    want = pd.DataFrame(x).ewm(alpha=alpha, adjust=False).corr().to_numpy().reshape(rows, n, n)
    t = risk.CorrelationTracker(n, alpha=alpha)
    done = 0
    for stop in (1, 2, 3, 50, 217, 499, 500):
        t.update(x[done:stop])
        done = stop
        if stop < 2:
            continue
        got = t.corr("ewma")
        if alpha == 1.0:  # every variance is 0: all NaN in both
            assert np.isnan(got).all() and np.isnan(want[stop - 1]).all()
            continue
        np.testing.assert_allclose(got, want[stop - 1], rtol=0, atol=1e-10)


def test_ewma_cov_is_pandas_biased_cov():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 4))
    t = risk.CorrelationTracker(4, alpha=0.05)
    t.update(x)
    want = pd.DataFrame(x).ewm(alpha=0.05, adjust=False).cov(bias=True).to_numpy()[-4:]
    np.testing.assert_allclose(t.cov("ewma"), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("refresh", [0, 4_000_000_000])
def test_rolling_matches_corrcoef(refresh):
    """refresh=0: the default exact recomputation every 16 windows; the huge value checks that
    the incremental updates alone stay within 1e-10 over 60 windows (with large means)."""
    rng = np.random.default_rng(5)
    n, w, s, rows = 9, 50, 15, 3000
    x = correlated(rng, rows, n, 0.4) + 1e3 * np.arange(n)
    t = risk.CorrelationTracker(n, window=w, short_window=s, refresh=refresh)
    done = 0
    for stop in (2, 10, 16, 49, 50, 51, 64, 999, 1600, 2333, 3000):
        t.update(x[done:stop])
        done = stop
        win = x[max(0, stop - w):stop]
        np.testing.assert_allclose(t.corr("rolling"), np.corrcoef(win.T), rtol=0, atol=1e-10)
        np.testing.assert_allclose(t.cov("rolling"), np.cov(win.T), rtol=1e-9, atol=1e-10)
        if stop >= 2:
            sw = x[max(0, stop - s):stop]
            np.testing.assert_allclose(t.corr("short"), np.corrcoef(sw.T), rtol=0, atol=1e-10)
        if stop - s >= 2:
            rw = x[max(0, stop - w):stop - s]
            np.testing.assert_allclose(t.corr("reference"), np.corrcoef(rw.T), rtol=0, atol=1e-10)
    assert t.count == rows


def test_rolling_without_short_window_and_constant_series():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((120, 3))
    x[:, 2] = 7.0
    t = risk.CorrelationTracker(3, window=40)
    t.update(x)
    got = t.corr()
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.corrcoef(x[-40:].T)
    np.testing.assert_allclose(got[:2, :2], want[:2, :2], atol=1e-10)
    assert np.isnan(got[2]).all() and np.isnan(got[:, 2]).all()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=8), st.integers(0, 2**32 - 1))
def test_blocks_equal_single_rows(cuts, seed):
    rng = np.random.default_rng(seed)
    rows = sum(cuts)
    x = rng.standard_normal((rows, 5))
    a = risk.CorrelationTracker(5, alpha=0.1, window=30, short_window=10)
    b = risk.CorrelationTracker(5, alpha=0.1, window=30, short_window=10)
    at = 0
    for c in cuts:
        a.update(x[at:at + c])
        at += c
    for row in x:
        b.update(row)
    for kind in ("ewma", "rolling", "short") if rows >= 2 else ():
        assert np.array_equal(a.corr(kind), b.corr(kind), equal_nan=True)


def test_threads_do_not_change_results():
    rng = np.random.default_rng(2)
    x = correlated(rng, 120, 140, 0.2)
    out = []
    for threads in (1, 2):
        t = risk.CorrelationTracker(140, alpha=0.05, window=60, short_window=20, threads=threads)
        t.update(x)
        out.append([t.corr(k) for k in ("ewma", "rolling", "short", "reference")])
    for a, b in zip(*out):
        assert np.array_equal(a, b)


def test_threshold_is_bonferroni():
    t = risk.CorrelationTracker(10, window=100, short_window=30, fpr=0.01)
    r = t.detect()
    assert not r["ready"] and not r["alert"] and len(r["pairs"]) == 0
    assert r["threshold"] == pytest.approx(stats.norm.isf(0.01 / (2 * 45)), rel=1e-13)


def run_detect(x, **kw):
    t = risk.CorrelationTracker(x.shape[1], **kw)
    results = []
    for row in x:
        t.update(row)
        r = t.detect()
        if r["ready"]:
            results.append((t.count, r))
    return results


def test_planted_regime_change_is_detected_within_the_short_window():
    """8 assets with correlation 0.1; from observation 700 assets 0-3 correlate at 0.9. The
    stated delay: alerts start within short_window (60) observations, name only pairs of the
    block; nothing alerts before the change, and
    every block pair alerts once the short window lies wholly after it."""
    rng = np.random.default_rng(1234)
    n, change = 8, 700
    before = correlated(rng, change, n, 0.1)
    after = correlated(rng, 300, n, 0.1)
    after[:, :4] = correlated(rng, 300, 4, 0.9)
    x = np.vstack([before, after])
    results = run_detect(x, window=300, short_window=60, fpr=1e-3)
    assert not any(r["alert"] for c, r in results if c <= change)
    first = next(c for c, r in results if r["pairs"].size)
    assert first - change <= 60
    block = {(i, j) for i in range(4) for j in range(i + 1, 4)}
    for c, r in results:
        if c > change and r["pairs"].size:
            assert {(int(p["i"]), int(p["j"])) for p in r["pairs"]} <= block
            assert (np.abs(r["pairs"]["z"]) > r["threshold"]).all()
    full = dict(results)[change + 60]  # short window all after the change, reference all before
    assert full["pairs"].size == 6
    # Once the reference has moved past the change too, the new regime is the normal one.
    assert not results[-1][1]["alert"]


def test_market_wide_correlation_jump_moves_the_leading_eigenvalue():
    """Every pair goes from 0.1 to 0.7 at observation 700 (correlations "going to one"): the
    eigenvalue-share test fires within 30 observations, before which it is silent."""
    rng = np.random.default_rng(99)
    x = np.vstack([correlated(rng, 700, 8, 0.1), correlated(rng, 200, 8, 0.7)])
    results = run_detect(x, window=300, short_window=60, fpr=1e-3)
    assert not any(r["eig_alert"] for c, r in results if c <= 700)
    first = next(c for c, r in results if r["eig_alert"])
    assert first - 700 <= 30
    r = dict(results)[first]
    assert r["eig_short"] > r["eig_ref"] + 0.05 and abs(r["eig_z"]) > r["eig_threshold"]
    assert r["eig_threshold"] == pytest.approx(stats.norm.isf(1e-3 / 2), rel=1e-13)


@pytest.mark.parametrize("fpr", [1e-3, 0.2])
def test_stationary_false_alert_rate(fpr):
    """Stationary normal data: each test has a false alert with probability <= fpr (Bonferroni
    is conservative), so over T tests the alerting fraction stays near or below fpr. Windows
    overlap, so false alerts come in runs; the bound allows for that."""
    rng = np.random.default_rng(77)
    x = correlated(rng, 3300, 8, 0.3)
    results = run_detect(x, window=300, short_window=60, fpr=fpr)
    assert len(results) == 3001
    for key in ("pairs", "eig"):
        hits = [(r["pairs"].size > 0) if key == "pairs" else r["eig_alert"] for _, r in results]
        assert np.mean(hits) <= fpr + 0.02


def test_bad_input_is_rejected_and_changes_nothing():
    t = risk.CorrelationTracker(3, alpha=0.2, window=10)
    x = np.random.default_rng(0).standard_normal((12, 3))
    t.update(x)
    before = (t.corr("ewma"), t.corr("rolling"), t.count)
    bad_rows = [np.array([[1.0, np.nan, 2.0]]), np.array([1.0, 2.0, np.inf]),
                np.vstack([x[:2], [[0.0, -np.inf, 1.0]]])]
    for bad in bad_rows:
        with pytest.raises(zc.InvalidArgumentError):
            t.update(bad)
    for bad in (np.zeros((2, 4)), np.zeros(2), np.zeros((2, 3, 1)), np.array(["a", "b", "c"]),
                np.zeros(3, dtype=complex)):
        with pytest.raises(zc.InvalidArgumentError):
            t.update(bad)
    after = (t.corr("ewma"), t.corr("rolling"), t.count)
    assert all(np.array_equal(a, b) for a, b in zip(before[:2], after[:2])) and before[2] == after[2]
    with pytest.raises(zc.InvalidArgumentError):
        t.corr("weekly")
    with pytest.raises(zc.Error):
        t.corr("short")  # not configured
    with pytest.raises(zc.Error):
        t.detect()
    for kw in ({"alpha": 0.0}, {"alpha": 1.5}, {"alpha": float("nan")}, {"window": 1},
               {"window": 20, "short_window": 13}, {"window": 20, "short_window": 5, "fpr": 0.0},
               {"window": 20, "fpr": 1.0}, {}, {"alpha": 0.1, "threads": -1}):
        with pytest.raises(zc.InvalidArgumentError):
            risk.CorrelationTracker(3, **kw)
    with pytest.raises(zc.InvalidArgumentError):
        risk.CorrelationTracker(1, alpha=0.1)
    fresh = risk.CorrelationTracker(3, window=10)
    fresh.update(x[0])
    with pytest.raises(zc.Error):
        fresh.corr()  # one observation has no correlation
