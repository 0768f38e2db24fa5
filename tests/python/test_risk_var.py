"""zkclob.risk VaR/ES, Monte Carlo, scenarios and FFT aggregation against
NumPy/SciPy: np.quantile(method="linear"), scipy.stats.norm, np.convolve,
Panjer's recursion; determinism across thread counts and cpu vs opencl; bad
input."""

import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

import zkclob as zc
from zkclob import risk


def rel_close(a, b, tol):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b))))


def np_var_es(losses, c):
    v = np.quantile(losses, c, method="linear", axis=-1)
    l2 = np.atleast_2d(losses)
    vv = np.atleast_1d(v)
    es = np.array([row[row >= q].mean() for row, q in zip(l2, vv)])
    return v, es if np.ndim(losses) == 2 else es[0]


def has_opencl():
    return any(d.backend == "opencl" and d.available for d in zc.devices())


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float64, hs.integers(1, 400),
                    elements=hs.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)),
       c=hs.floats(0.001, 0.999))
def test_var_es_matches_numpy_quantile(x, c):
    v, e = risk.var_es(x, c, device="cpu")
    rv, re = np_var_es(x, c)
    assert rel_close(v, rv, 1e-12)
    assert rel_close(e, re, 1e-12)
    assert risk.var(x, c, device="cpu") == v and risk.expected_shortfall(x, c, device="cpu") == e


def test_var_rows_and_ties():
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=(20, 501)), 1)  # many ties
    for c in (0.9, 0.95, 0.99, 0.999):
        v, e = risk.var_es(x, c, device="cpu")
        rv, re = np_var_es(x, c)
        assert rel_close(v, rv, 1e-12) and rel_close(e, re, 1e-12)


def test_historical_portfolios_positions_rolling():
    rng = np.random.default_rng(2)
    pnl = rng.standard_t(4, size=(1000, 30))
    w = rng.normal(size=(64, 30))
    v, e = risk.historical(pnl, w, 0.99, device="cpu")
    rv, re = np_var_es(-(pnl @ w.T).T, 0.99)
    assert rel_close(v, rv, 1e-12) and rel_close(e, re, 1e-12)
    # one portfolio as 1-D weights gives floats
    v1, e1 = risk.historical(pnl, w[3], 0.99, device="cpu")
    assert v1 == v[3] and e1 == e[3]
    # per position: one unit of each asset
    pv, pe = risk.historical(pnl, confidence=0.975, device="cpu")
    rv, re = np_var_es(-pnl.T, 0.975)
    assert rel_close(pv, rv, 1e-12) and rel_close(pe, re, 1e-12)
    # rolling windows of 250 scenarios
    rvv, ree = risk.historical(pnl[:, :4], confidence=0.95, window=250, device="cpu")
    assert rvv.shape == (751, 4)
    for t in (0, 1, 400, 750):
        qv, qe = np_var_es(-pnl[t:t + 250, :4].T, 0.95)
        assert rel_close(rvv[t], qv, 1e-12) and rel_close(ree[t], qe, 1e-12)


def test_parametric_matches_scipy():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 6))
    cov = a @ a.T / 6 + 0.1 * np.eye(6)
    w = rng.normal(size=6) * 1e6
    mu = rng.normal(size=6) * 1e-3
    for c in (0.95, 0.99, 0.999):
        r = risk.parametric(w, cov, c, mean=mu)
        sigma = np.sqrt(w @ cov @ w)
        z = st.norm.ppf(c)
        assert rel_close(r.sigma, sigma, 1e-13)
        assert rel_close(r.var, -w @ mu + z * sigma, 1e-12)
        assert rel_close(r.es, -w @ mu + sigma * st.norm.pdf(z) / (1 - c), 1e-12)
        assert rel_close(r.marginal, -mu + z * (cov @ w) / sigma, 1e-12)
        assert rel_close(r.component.sum(), r.var, 1e-12)
    for p in (1e-12, 0.001, 0.3, 0.5, 0.77, 0.975, 1 - 1e-9):
        assert rel_close(risk.norm_ppf(p), st.norm.ppf(p), 1e-13)


def test_non_positive_definite_is_an_error():
    cov = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])  # indefinite
    with pytest.raises(zc.InvalidArgumentError, match="positive definite"):
        risk.parametric(np.ones(3), cov)
    with pytest.raises(zc.InvalidArgumentError, match="positive definite"):
        risk.monte_carlo(np.ones(3), cov, quantities=np.ones(3), paths=10)
    with pytest.raises(zc.InvalidArgumentError, match="positive definite"):
        risk.cholesky(np.ones((3, 3)))  # singular
    with pytest.raises(zc.InvalidArgumentError, match="symmetric"):
        risk.cholesky(np.array([[1.0, 0.1], [0.2, 1.0]]))
    L = risk.cholesky(np.eye(3) + 0.5)
    assert rel_close(L, np.linalg.cholesky(np.eye(3) + 0.5), 1e-14)


def test_bad_input():
    with pytest.raises(zc.InvalidArgumentError, match="finite"):
        risk.var(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(zc.InvalidArgumentError, match="finite"):
        risk.historical(np.array([[1.0, np.inf], [0.0, 1.0]]))
    for c in (0.0, 1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(zc.InvalidArgumentError):
            risk.var(np.arange(10.0), c)
    with pytest.raises(zc.InvalidArgumentError):
        risk.historical(np.zeros((10, 3)), np.zeros((2, 4)))
    with pytest.raises(zc.InvalidArgumentError):
        risk.var(np.zeros(0))
    with pytest.raises(zc.InvalidArgumentError):
        risk.parametric(np.ones(3), np.eye(4))
    with pytest.raises(zc.InvalidArgumentError):
        risk.monte_carlo(np.ones(2), np.eye(2), quantities=np.ones(2), paths=0)
    with pytest.raises(zc.InvalidArgumentError):
        risk.monte_carlo(np.ones(2), np.eye(3), quantities=np.ones(2), paths=10)
    with pytest.raises(zc.InvalidArgumentError):
        risk.monte_carlo(np.array([1.0, np.nan]), np.eye(2), quantities=np.ones(2), paths=10)
    with pytest.raises(zc.InvalidArgumentError):
        risk.monte_carlo(np.ones(2), np.eye(2), risk.positions([5], [1.0]), paths=10)
    with pytest.raises(zc.InvalidArgumentError):
        risk.monte_carlo(np.ones(2), np.eye(2), risk.positions([0], [1.0], risk.CALL, strike=-1.0, expiry=1.0),
                         paths=10)
    with pytest.raises(zc.InvalidArgumentError):
        risk.historical(np.zeros((10, 2)), window=11)
    with pytest.raises(zc.InvalidArgumentError):
        risk.aggregate_loss(np.array([0.5, -0.1, 0.6]))


def normal_book(n=8):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(n, n))
    vol = np.linspace(0.01, 0.03, n)
    s = a @ a.T + n * np.eye(n)
    corr = s / np.sqrt(np.outer(np.diag(s), np.diag(s)))
    cov = corr * np.outer(vol, vol)
    spot = np.linspace(50, 150, n)
    qty = rng.integers(-100, 100, size=n).astype(float)
    return spot, cov, qty


def test_monte_carlo_converges_to_parametric():
    """Linear positions, arithmetic shocks: the loss is exactly normal, so the
    parametric VaR lies in the Monte Carlo order-statistic interval and ES is
    within a few standard errors."""
    spot, cov, qty = normal_book()
    exposure = qty * spot
    p = risk.parametric(exposure, cov, 0.99)
    r = risk.monte_carlo(spot, cov, quantities=qty, paths=200_000, seed=11, confidence=0.99, device="cpu")
    assert r.var_ci[0] <= p.var <= r.var_ci[1]
    assert abs(r.es - p.es) < 4 * r.es_se
    assert abs(r.std - p.sigma) < 0.01 * p.sigma
    assert r.var_ci[1] - r.var_ci[0] < 0.05 * p.var


def test_monte_carlo_losses_and_thread_determinism():
    spot, cov, qty = normal_book(6)
    pos = np.concatenate([risk.positions(np.arange(6), qty),
                          risk.positions([1, 2], [10.0, -4.0], [risk.CALL, risk.PUT], strike=[60.0, 80.0],
                                         expiry=[0.5, 0.25], vol=[0.2, 0.3])])
    kw = dict(paths=20_000, seed=5, confidence=0.975, geometric=True, horizon=10 / 252, rate=0.02,
              return_losses=True, device="cpu")
    zc.init(num_threads=3)
    zc.set_num_threads(1)
    a = risk.monte_carlo(spot, cov, pos, **kw)
    zc.set_num_threads(0)
    b = risk.monte_carlo(spot, cov, pos, **kw)
    assert np.array_equal(a.losses, b.losses)
    assert (a.var, a.es, a.var_ci, a.es_se) == (b.var, b.es, b.var_ci, b.es_se)
    v, e = np_var_es(a.losses, 0.975)
    assert a.var == risk.var(a.losses, 0.975) and rel_close(a.var, v, 1e-12) and rel_close(a.es, e, 1e-12)
    assert rel_close(a.mean, a.losses.mean(), 1e-12) and rel_close(a.std, a.losses.std(ddof=1), 1e-12)

    # The losses are the stress P&L of the Monte Carlo scenarios, repriced
    # with SciPy's Black-Scholes.
    x = risk.scenarios(cov, 50, seed=5, path0=100, device="cpu")
    shocked = spot * np.exp(x)

    def value(s, tau):
        d1 = (np.log(s[:, [1, 2]] / [60.0, 80.0]) + (0.02 + 0.5 * np.array([0.2, 0.3]) ** 2) * tau) \
            / (np.array([0.2, 0.3]) * np.sqrt(tau))
        d2 = d1 - np.array([0.2, 0.3]) * np.sqrt(tau)
        df = np.exp(-0.02 * tau) * np.array([60.0, 80.0])
        call = s[:, 1] * st.norm.cdf(d1[:, 0]) - df[0] * st.norm.cdf(d2[:, 0])
        put = df[1] * st.norm.cdf(-d2[:, 1]) - s[:, 2] * st.norm.cdf(-d1[:, 1])
        return s @ qty + 10.0 * call - 4.0 * put

    tau = np.array([0.5, 0.25])
    ref = value(spot[None, :], tau) - value(shocked, tau - 10 / 252)
    assert rel_close(a.losses[100:150], ref, 1e-9)
    assert rel_close(-risk.stress(spot, x, pos, geometric=True, horizon=10 / 252, rate=0.02, device="cpu"),
                     a.losses[100:150], 1e-12)


def test_scenarios_are_philox_normals():
    """Identity covariance: path p's shocks are zkclob.random.normal with
    Philox4x32 key seed and counter (0, p), to the rounding of log/sin/cos
    (the cpu backend may use glibc's 4-ulp vector versions); any path range
    of the same paths gives the same bits."""
    z = risk.scenarios(np.eye(7), 21, seed=99, path0=2**40, device="cpu")
    for k in range(21):
        ref = zc.random.normal(7, key=99, counter=(2**40 + k) << 64, variant="4x32", device="cpu")
        assert rel_close(z[k], ref, 1e-13)
    assert np.array_equal(risk.scenarios(np.eye(7), 5, seed=99, path0=2**40 + 13, device="cpu"), z[13:18])
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    x = risk.scenarios(cov, 50_000, seed=1, mean=[0.001, -0.002], device="cpu")
    assert rel_close(np.cov(x.T), cov, 0.05)


@pytest.mark.skipif(zc.zk.simd_best() != "avx2", reason="no AVX2")
@pytest.mark.parametrize("geometric", [False, True])
def test_avx2_and_scalar_paths_agree(geometric):
    """The cpu backend's AVX2+FMA block (vector Philox, libmvec Box-Muller,
    fma micro-kernel for L z) against its portable scalar path: the same
    Philox stream, so losses and shocks agree to the rounding of log/sin/cos
    and of the fma; each path's result is independent of the thread count
    and of where its block of 8 starts. 13 assets: odd, and not a multiple
    of the micro-kernel's 6 rows."""
    spot, cov, qty = normal_book(13)
    pos = np.concatenate([risk.positions(np.arange(13), qty),
                          risk.positions([3, 12], [7.0, -2.0], [risk.CALL, risk.PUT], strike=[60.0, 70.0],
                                         expiry=[0.5, 0.2], vol=[0.25, 0.3])])
    mean = np.linspace(-1e-3, 1e-3, 13)
    kw = dict(paths=1003, seed=21, mean=mean, geometric=geometric, horizon=5 / 252, rate=0.01,
              return_losses=True, device="cpu")
    try:
        zc.zk.set_simd("scalar")
        a = risk.monte_carlo(spot, cov, pos, **kw)
        sa = risk.scenarios(cov, 37, seed=21, path0=2**33 - 5, mean=mean, device="cpu")
        zc.zk.set_simd("avx2")
        zc.set_num_threads(1)
        b = risk.monte_carlo(spot, cov, pos, **kw)
        zc.set_num_threads(0)
        c = risk.monte_carlo(spot, cov, pos, **kw)
        sb = risk.scenarios(cov, 37, seed=21, path0=2**33 - 5, mean=mean, device="cpu")
        sc = risk.scenarios(cov, 20, seed=21, path0=2**33 + 6, mean=mean, device="cpu")
    finally:
        zc.zk.set_simd("auto")
        zc.set_num_threads(0)
    assert not np.array_equal(a.losses, b.losses)  # the two paths really ran
    assert rel_close(a.losses, b.losses, 1e-9)
    assert np.array_equal(b.losses, c.losses)
    assert rel_close(sa, sb, 1e-12)
    assert np.array_equal(sb[11:31], sc)


@pytest.mark.skipif(not has_opencl(), reason="no OpenCL device")
def test_cpu_and_opencl_agree():
    spot, cov, qty = normal_book(5)
    pos = np.concatenate([risk.positions(np.arange(5), qty),
                          risk.positions([0], [3.0], risk.CALL, strike=[55.0], expiry=[0.3], vol=[0.25])])
    kw = dict(paths=5000, seed=3, geometric=True, horizon=1 / 252, return_losses=True)
    a = risk.monte_carlo(spot, cov, pos, device="cpu", **kw)
    b = risk.monte_carlo(spot, cov, pos, device="opencl", **kw)
    assert zc.devices()[b.device].backend == "opencl"
    assert rel_close(a.losses, b.losses, 1e-9)
    # raw Philox words at the Monte Carlo counters are identical
    for p in (0, 4999):
        wa = zc.random.philox(12, key=3, counter=p << 64, variant="4x32", device="cpu")
        wb = zc.random.philox(12, key=3, counter=p << 64, variant="4x32", device="opencl")
        assert np.array_equal(wa, wb)
    sa = risk.scenarios(cov, 100, seed=3, device="cpu")
    sb = risk.scenarios(cov, 100, seed=3, device="opencl")
    assert rel_close(sa, sb, 1e-12)
    rng = np.random.default_rng(5)
    pnl = rng.normal(size=(300, 6))
    w = rng.normal(size=(9, 6))
    for args in ((pnl, w), (pnl, None)):
        va, ea = risk.historical(*args, 0.99, device="cpu")
        vb, eb = risk.historical(*args, 0.99, device="opencl")
        assert rel_close(va, vb, 1e-12) and rel_close(ea, eb, 1e-12)


def test_pnl_stats_match_scipy():
    rng = np.random.default_rng(6)
    x = rng.gamma(2.0, size=(3, 2000)) - 2
    s = risk.pnl_stats(x, quantiles=(0.01, 0.5, 0.99))
    assert rel_close(s["mean"], x.mean(axis=1), 1e-12)
    assert rel_close(s["std"], x.std(axis=1), 1e-12)
    assert rel_close(s["skew"], st.skew(x, axis=1), 1e-10)
    assert rel_close(s["kurtosis"], st.kurtosis(x, axis=1), 1e-10)
    assert rel_close(s["quantiles"], np.quantile(x, [0.01, 0.5, 0.99], axis=1, method="linear").T, 1e-12)
    one = risk.pnl_stats(x[0])
    assert one["mean"] == s["mean"][0]


def panjer(sev, lam, m):
    g = np.zeros(m)
    g[0] = np.exp(-lam * (1 - sev[0]))
    j = np.arange(len(sev))
    for k in range(1, m):
        jj = j[1:min(k, len(sev) - 1) + 1]
        g[k] = lam / k * np.sum(jj * sev[jj] * g[k - jj])
    return g


def test_aggregate_loss_cpu():
    rng = np.random.default_rng(7)
    pmfs = rng.random((3, 40))
    pmfs /= pmfs.sum(axis=1, keepdims=True)
    out, tail = risk.aggregate_loss(pmfs, device="cpu")
    ref = np.convolve(np.convolve(pmfs[0], pmfs[1]), pmfs[2])
    assert out.shape == ref.shape and np.max(np.abs(out - ref)) < 1e-15 and abs(tail) < 1e-13
    sev = np.r_[0.0, rng.random(20)]
    sev /= sev.sum()
    out, tail = risk.aggregate_loss(sev, frequency=3.0, size=400, device="cpu")
    assert np.max(np.abs(out - panjer(sev, 3.0, 400))) < 1e-13
    assert abs(tail) < 1e-12


@pytest.mark.skipif(not has_opencl(), reason="no OpenCL device")
def test_aggregate_loss_opencl_clfft():
    sev = np.r_[0.0, np.linspace(1, 2, 15)]
    sev /= sev.sum()
    try:
        out, _ = risk.aggregate_loss(sev, frequency=2.0, size=128, device="opencl")
    except zc.UnsupportedError as e:  # clFFT not built into the plugin: reported, not faked
        pytest.skip(str(e))
    assert zc.devices()[risk.last_device].backend == "opencl"
    assert np.max(np.abs(out - panjer(sev, 2.0, 128))) < 1e-12
