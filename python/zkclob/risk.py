"""Risk: value at risk and expected shortfall (historical, parametric, Monte
Carlo), aggregate loss by FFT, real-time position risk and incremental
correlation with breakdown detection.

Losses are positive numbers (loss = -P&L). Every function takes and returns
NumPy arrays; inputs already contiguous and of the right dtype are not copied.
"""

from . import _zkclob

# ---- VaR / ES, scenarios, Monte Carlo, FFT aggregation ----
#
# Quantile convention: VaR at confidence c of n losses is
# ``np.quantile(losses, c, method="linear")``; ES is the mean of the losses
# >= VaR (``losses[losses >= var].mean()``). Selection, never a full sort.
# ``device`` is "auto", "cpu", "opencl", "opencl:1", a device id or a Device;
# ``last_device`` holds the id of the device that ran the latest call.

from dataclasses import dataclass as _dataclass
from typing import NamedTuple as _NamedTuple, Optional as _Optional, Tuple as _Tuple

import numpy as _np

from ._zkclob import InvalidArgumentError as _InvalidArgumentError
from .devices import DeviceLike as _DeviceLike, find_device as _find_device

LINEAR, CALL, PUT = 0, 1, 2
"""Position kinds: linear (value qty * S), European call and put (Black-Scholes)."""

POSITION_DTYPE = _np.dtype([("asset", "<u4"), ("kind", "<u4"), ("qty", "<f8"), ("strike", "<f8"),
                            ("expiry", "<f8"), ("vol", "<f8")])
"""One position: asset index, kind (LINEAR/CALL/PUT), quantity, and for options
strike, expiry in years from now and Black-Scholes volatility. Matches
``zc_risk_position`` (40 bytes)."""

last_device: int = -1
"""Id of the device that ran the latest VaR call."""


def _f64(name: str, x, ndim: int) -> _np.ndarray:
    """x as C-contiguous float64 of ndim dimensions, without a copy when it already is."""
    try:
        a = _np.ascontiguousarray(x, dtype=_np.float64)
    except (TypeError, ValueError) as e:
        raise _InvalidArgumentError(f"{name} must be numeric: {e}") from None
    if a.ndim != ndim:
        raise _InvalidArgumentError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    return a


def _as_rows(name: str, x) -> _Tuple[_np.ndarray, bool]:
    a = _np.asarray(x)
    if a.ndim not in (1, 2):
        raise _InvalidArgumentError(f"{name} must be 1-D or 2-D, got shape {a.shape}")
    return _f64(name, a.reshape(1, -1) if a.ndim == 1 else a, 2), a.ndim == 1


def var_es(losses, confidence: float = 0.99, device: _DeviceLike = "auto") -> _Tuple:
    """VaR and ES of a 1-D loss sample (floats) or of each row of a 2-D array (arrays)."""
    global last_device
    rows, flat = _as_rows("losses", losses)
    (v, e), last_device = _zkclob.risk_var_es(rows, float(confidence), _find_device(device))
    return (float(v[0]), float(e[0])) if flat else (v, e)


def var(losses, confidence: float = 0.99, device: _DeviceLike = "auto"):
    """Value at risk of losses (1-D: a float; 2-D: one per row), ``np.quantile(..., method="linear")``."""
    return var_es(losses, confidence, device)[0]


def expected_shortfall(losses, confidence: float = 0.99, device: _DeviceLike = "auto"):
    """Expected shortfall: the mean of the losses >= VaR (1-D: a float; 2-D: one per row)."""
    return var_es(losses, confidence, device)[1]


def historical(pnl, weights=None, confidence: float = 0.99, window: _Optional[int] = None,
               device: _DeviceLike = "auto") -> _Tuple[_np.ndarray, _np.ndarray]:
    """Historical VaR and ES from scenario P&L.

    ``pnl`` is ``(nscen, nasset)``: the P&L of one unit of each asset in each
    historical scenario. With ``weights`` ``(nport, nasset)`` (or 1-D for one
    portfolio) the loss of portfolio p in scenario s is
    ``-(pnl @ weights.T)[s, p]`` and ``(var, es)`` have one entry per
    portfolio. Without weights the VaR is per position (one unit of each
    asset). With ``window`` (and no weights) the VaR is rolling over windows
    ``[t, t + window)``: arrays of shape ``(nscen - window + 1, nasset)``.
    """
    global last_device
    p = _f64("pnl", pnl, 2)
    dev = _find_device(device)
    if window is not None:
        if weights is not None:
            raise _InvalidArgumentError("rolling VaR takes per-asset P&L: apply weights first (pnl @ weights.T)")
        (v, e), last_device = _zkclob.risk_rolling(p, int(window), float(confidence), dev)
        return v.T, e.T
    single = weights is not None and _np.ndim(weights) == 1
    w = None if weights is None else _f64("weights", _np.atleast_2d(weights), 2)
    (v, e), last_device = _zkclob.risk_historical(p, w, float(confidence), dev)
    return (float(v[0]), float(e[0])) if single else (v, e)


class ParametricResult(_NamedTuple):
    var: float
    es: float
    sigma: float
    marginal: _np.ndarray
    component: _np.ndarray


def parametric(weights, cov, confidence: float = 0.99, mean=None) -> ParametricResult:
    """Delta-normal VaR/ES of exposures ``weights`` with P&L ~ N(w.mean, w' cov w).

    ``var = -w.mean + z_c sigma``, ``es = -w.mean + sigma phi(z_c) / (1 - c)``
    (``scipy.stats.norm``), marginal VaR ``dVaR/dw`` and component VaR
    ``w * marginal`` (summing to VaR). A covariance that is not symmetric
    positive definite raises InvalidArgumentError; it is never repaired.
    """
    w = _f64("weights", weights, 1)
    m = None if mean is None else _f64("mean", mean, 1)
    return ParametricResult(*_zkclob.risk_parametric(w, m, _f64("cov", cov, 2), float(confidence)))


def norm_ppf(p: float) -> float:
    """Standard normal quantile (inverse CDF), relative error ~1e-15."""
    return _zkclob.risk_norm_ppf(float(p))


def cholesky(cov) -> _np.ndarray:
    """Lower Cholesky factor; InvalidArgumentError when cov is not symmetric positive definite."""
    return _zkclob.risk_cholesky(_f64("cov", cov, 2))


def positions(asset, qty, kind=LINEAR, strike=0.0, expiry=0.0, vol=0.0) -> _np.ndarray:
    """A POSITION_DTYPE array from broadcast columns."""
    cols = _np.broadcast_arrays(_np.asarray(asset), _np.asarray(kind), _np.asarray(qty, dtype=_np.float64),
                                _np.asarray(strike, dtype=_np.float64), _np.asarray(expiry, dtype=_np.float64),
                                _np.asarray(vol, dtype=_np.float64))
    out = _np.zeros(cols[0].size, dtype=POSITION_DTYPE)
    for name, c in zip(POSITION_DTYPE.names, cols):
        if name in ("asset", "kind") and (c < 0).any():
            raise _InvalidArgumentError(f"{name} must not be negative")
        out[name] = c.ravel()
    return out


def _positions_arg(pos, quantities, nasset: int) -> _np.ndarray:
    if (pos is None) == (quantities is None):
        raise _InvalidArgumentError("give either positions (POSITION_DTYPE) or quantities (one per asset)")
    if quantities is not None:
        q = _f64("quantities", quantities, 1)
        if q.shape[0] != nasset:
            raise _InvalidArgumentError(f"quantities has {q.shape[0]} entries, spot has {nasset}")
        return positions(_np.arange(nasset), q)
    a = _np.ascontiguousarray(pos)
    if a.dtype != POSITION_DTYPE or a.ndim != 1:
        raise _InvalidArgumentError("positions must be a 1-D array of POSITION_DTYPE (see risk.positions)")
    return a


@_dataclass
class MonteCarloResult:
    """Monte Carlo VaR/ES with its uncertainty: ``var_ci`` is the 95%
    distribution-free interval (order statistics at the binomial bounds),
    ``es_se`` the asymptotic standard error of ES; mean and std of the loss;
    ``tail`` the number of paths with loss >= VaR; ``losses`` the per-path
    losses in path order when requested."""
    var: float
    es: float
    var_ci: _Tuple[float, float]
    es_se: float
    mean: float
    std: float
    tail: int
    paths: int
    device: int
    losses: _Optional[_np.ndarray] = None


def monte_carlo(spot, cov, positions=None, *, quantities=None, confidence: float = 0.99, paths: int = 100_000,
                seed: int = 0, mean=None, geometric: bool = False, horizon: float = 0.0, rate: float = 0.0,
                device: _DeviceLike = "auto", return_losses: bool = False) -> MonteCarloResult:
    """Monte Carlo VaR/ES by full repricing.

    Shocks over the horizon are x = mean + L z, L the Cholesky factor of
    ``cov`` (nasset x nasset, at most 256 assets) and z standard normals from
    Philox4x32-10 with key ``seed`` and counter (j, path): path p's z equals
    ``zkclob.random.philox`` normals with ``counter=(0, p)``, so results are
    the same for any thread count. Prices move to ``spot * (1 + x)`` or, with
    ``geometric``, ``spot * exp(x)``. Give ``positions`` (POSITION_DTYPE, see
    :func:`positions`; options repriced by Black-Scholes at expiry - horizon
    with ``rate``) or ``quantities`` (one linear position per asset). Paths are
    generated, repriced and reduced to losses per block; VaR is found by
    selection. ``cov`` that is not positive definite raises
    InvalidArgumentError.
    """
    global last_device
    s = _f64("spot", spot, 1)
    pos = _positions_arg(positions, quantities, s.shape[0])
    m = None if mean is None else _f64("mean", mean, 1)
    if isinstance(paths, bool) or not isinstance(paths, (int, _np.integer)) or paths < 1:
        raise _InvalidArgumentError(f"paths must be a positive integer, got {paths!r}")
    if not 0 <= int(seed) < 2**64:
        raise _InvalidArgumentError("seed must be in [0, 2**64)")
    r = _zkclob.risk_monte_carlo(s, m, _f64("cov", cov, 2), pos, int(paths), int(seed), float(confidence),
                                 bool(geometric), float(horizon), float(rate), _find_device(device),
                                 bool(return_losses))
    last_device = r[9]
    return MonteCarloResult(var=r[0], es=r[1], var_ci=(r[2], r[3]), es_se=r[4], mean=r[5], std=r[6], tail=r[7],
                            paths=int(paths), device=r[9], losses=r[8])


def scenarios(cov, paths: int, *, seed: int = 0, path0: int = 0, mean=None,
              device: _DeviceLike = "auto") -> _np.ndarray:
    """Monte Carlo shock scenarios ``(paths, nasset)`` for paths
    ``[path0, path0 + paths)``: exactly the shocks :func:`monte_carlo` reprices."""
    global last_device
    m = None if mean is None else _f64("mean", mean, 1)
    out, last_device = _zkclob.risk_mc_scenarios(int(seed), int(path0), int(paths), m, _f64("cov", cov, 2),
                                                 _find_device(device))
    return out


def historical_scenarios(prices, geometric: bool = False) -> _np.ndarray:
    """Shocks from a price history ``(ntime, nasset)``: simple returns
    ``p[t+1] / p[t] - 1`` or, with ``geometric``, log returns."""
    p = _f64("prices", prices, 2)
    if p.shape[0] < 2 or not _np.isfinite(p).all() or (p <= 0).any():
        raise _InvalidArgumentError("prices need two or more rows of finite positive values")
    return _np.log(p[1:] / p[:-1]) if geometric else p[1:] / p[:-1] - 1.0


def stress(spot, shocks, positions=None, *, quantities=None, geometric: bool = False, horizon: float = 0.0,
           rate: float = 0.0, device: _DeviceLike = "auto") -> _np.ndarray:
    """Portfolio P&L under each row of ``shocks`` ``(nshock, nasset)`` (user
    stress scenarios, historical returns or Monte Carlo shocks), with full
    repricing as in :func:`monte_carlo`."""
    global last_device
    s = _f64("spot", spot, 1)
    pos = _positions_arg(positions, quantities, s.shape[0])
    out, last_device = _zkclob.risk_stress(s, pos, _f64("shocks", _np.atleast_2d(shocks), 2), bool(geometric),
                                           float(horizon), float(rate), _find_device(device))
    return out


def pnl_stats(pnl, quantiles=(0.01, 0.05, 0.5, 0.95, 0.99)) -> dict:
    """Mean, std (ddof 0), skewness and excess kurtosis (biased, as
    ``scipy.stats.skew``/``kurtosis`` defaults) and linear-method quantiles of
    a P&L sample (1-D: floats; 2-D: per row)."""
    rows, flat = _as_rows("pnl", pnl)
    q = _f64("quantiles", _np.atleast_1d(quantiles), 1)
    stats, quant = _zkclob.risk_pnl_stats(rows, q)
    out = {"mean": stats[:, 0], "std": stats[:, 1], "skew": stats[:, 2], "kurtosis": stats[:, 3],
           "quantiles": quant}
    if flat:
        out = {k: (v[0] if k == "quantiles" else float(v[0])) for k, v in out.items()}
    return out


def aggregate_loss(severity, frequency=None, size: _Optional[int] = None,
                   device: _DeviceLike = "auto") -> _Tuple[_np.ndarray, float]:
    """Aggregate loss distribution on the grid 0, 1, ..., size - 1 by FFT.

    ``severity`` is one pmf (1-D) or several (2-D, one per row) on the same
    grid. Without ``frequency`` the result is the pmf of the sum of the
    independent losses; with ``frequency`` (one Poisson rate per row) each
    row is a compound Poisson loss. Returns ``(pmf, tail_mass)`` where
    ``tail_mass = 1 - pmf.sum()`` is the mass beyond the grid (compound sums
    whose mass exceeds the FFT length wrap around: make ``size`` large). cpu
    uses FFTW, opencl clFFT, cuda cuFFT.
    """
    global last_device
    pmf = _f64("severity", _np.atleast_2d(severity), 2)
    lam = None if frequency is None else _f64("frequency", _np.atleast_1d(frequency), 1)
    if size is None:
        size = pmf.shape[0] * (pmf.shape[1] - 1) + 1 if lam is None else 4 * pmf.shape[1]
    out, tail, last_device = _zkclob.risk_aggregate_loss(pmf, lam, int(size), _find_device(device))
    return out, tail


# ---- Position tracking, limits and pre-trade checks ----

from typing import Optional as _Optional

import numpy as _np_pos

from ._zkclob import InvalidArgumentError as _InvalidArg

ALERT_DTYPE = _np_pos.dtype([("trader", "<u4"), ("symbol", "<u4"), ("kind", "<u4"), ("value", "<f8"),
                             ("limit", "<f8"), ("seq", "<u8")])
"""Position limit alert (36 packed bytes): trader, symbol (2^32 - 1 for trader-wide limits), kind
(ALERT_POSITION, ALERT_NOTIONAL, ALERT_LOSS), value, limit, seq (the event that caused it; 0 after
a mark)."""
ALERT_POSITION, ALERT_NOTIONAL, ALERT_LOSS = 1, 2, 3

_POS_FIELDS = {"position": 0, "avg_cost": 1, "realized": 2, "unrealized": 3, "notional": 4,
               "open_buy": 5, "open_sell": 6, "mark_prices": 7, "pnl": 8, "gross_notional": 9}


def _records(name: str, a, dtype) -> _np_pos.ndarray:
    if not isinstance(a, _np_pos.ndarray):
        raise _InvalidArg(f"{name} must be a NumPy array of {dtype}, got {type(a).__name__}")
    if a.dtype != dtype:
        raise _InvalidArg(f"{name} must have dtype {dtype}, got {a.dtype}")
    if a.ndim != 1:
        raise _InvalidArg(f"{name} must be 1-dimensional, got shape {a.shape}")
    return _np_pos.ascontiguousarray(a)


def _limit_array(name: str, value, count: int, dtype) -> _np_pos.ndarray:
    a = _np_pos.asarray(value)
    if a.dtype.kind not in ("iu" if dtype == _np_pos.int64 else "iuf"):
        raise _InvalidArg(f"{name} must be numbers of kind {_np_pos.dtype(dtype).kind}, got dtype {a.dtype}")
    if a.shape not in ((), (count,)):
        raise _InvalidArg(f"{name} must be a scalar or have shape ({count},), got {a.shape}")
    if a.dtype.kind == "f" and not _np_pos.isfinite(a).all():
        raise _InvalidArg(f"{name} must be finite")
    if (a < 0).any():
        raise _InvalidArg(f"{name} must be >= 0")
    if a.dtype.kind == "u" and a.size and int(a.max()) > (1 << 63) - 1:
        raise _InvalidArg(f"{name} must fit in int64")
    return _np_pos.ascontiguousarray(_np_pos.broadcast_to(a, (count,)), dtype=dtype)


class PositionTracker(_zkclob._PositionTracker):
    """Positions, average cost, realized / unrealized P&L and notional per (trader, symbol),
    fed by the matching engine's orders and fill events, with per-trader limits, transition
    alerts and a pre-trade gate. The accounting, alert and pre-trade rules are specified in
    ``csrc/include/zkclob/risk.h``.

    Two ways to feed it:

    * ``events = tracker.submit(engine, orders, valid=None)``: the pre-trade gate. Orders that
      would breach a limit (or whose ``valid`` signature verdict is 0) are refused before the
      engine with ``Reason.RISK_LIMIT`` (``Reason.BAD_SIGNATURE``) reject events; the rest are
      matched and applied to the tracker in the same call. Refused orders take no sequence
      number and are not journaled, so a journal replays without the tracker.
    * ``alerts = tracker.update(orders, events)`` after ``events = engine.submit(orders)``, and
      ``tracker.update(None, engine.uncross(...))`` after an uncross.

    ``position``, ``avg_cost``, ``realized``, ``unrealized``, ``notional``, ``open_buy`` and
    ``open_sell`` are read-only (traders, symbols) views of the tracker's memory (no copy; they
    change in place), ``mark_prices`` is per symbol, ``pnl`` and ``gross_notional`` per trader.
    """

    def __init__(self, traders: int, symbols: int) -> None:
        for name, v in (("traders", traders), ("symbols", symbols)):
            if isinstance(v, bool) or not hasattr(v, "__index__") or not 1 <= v.__index__() < 1 << 32:
                raise _InvalidArg(f"{name} must be an integer in [1, 2^32), got {v!r}")
        super().__init__(int(traders), int(symbols))
        self._shape = (int(traders), int(symbols))

    def set_limits(self, max_position=0, max_notional=0.0, max_loss=0.0, traders=None) -> None:
        """Set limits (0 disables one): ``max_position`` lots per symbol, ``max_notional``
        gross (price ticks x lots), ``max_loss`` (P&L must stay >= -max_loss). Each is a scalar
        or one value per trader of ``traders`` (a ``range`` or ``(first, count)``; None = all)."""
        if traders is None:
            first, count = 0, self._shape[0]
        elif isinstance(traders, range) and traders.step == 1:
            first, count = traders.start, len(traders)
        elif isinstance(traders, tuple) and len(traders) == 2:
            first, count = traders
        else:
            raise _InvalidArg("traders must be None, a range with step 1 or (first, count)")
        if not (0 <= first and 0 <= count and first + count <= self._shape[0]):
            raise _InvalidArg(f"traders [{first}, {first + count}) are outside [0, {self._shape[0]})")
        self._set_limits(first, _limit_array("max_position", max_position, count, _np_pos.int64),
                         _limit_array("max_notional", max_notional, count, _np_pos.float64),
                         _limit_array("max_loss", max_loss, count, _np_pos.float64))

    def update(self, orders, events) -> _np_pos.ndarray:
        """Apply one engine call: ``orders`` (ORDER_DTYPE, the submitted batch, or None after an
        uncross) and its ``events`` (EVENT_DTYPE). Returns the alerts raised (ALERT_DTYPE).
        Invalid input raises InvalidArgumentError and changes nothing."""
        from .book import EVENT_DTYPE, ORDER_DTYPE
        o = _np_pos.zeros(0, ORDER_DTYPE) if orders is None else _records("orders", orders, ORDER_DTYPE)
        e = _records("events", events, EVENT_DTYPE)
        return self._update(o, e).view(ALERT_DTYPE)

    def mark(self, prices) -> _np_pos.ndarray:
        """Mark every symbol to ``prices`` (float64, one per symbol, finite). Returns the alerts."""
        p = _np_pos.asarray(prices)
        if p.dtype.kind not in "iuf":
            raise _InvalidArg(f"prices must be numbers, got dtype {p.dtype}")
        if p.shape != (self._shape[1],):
            raise _InvalidArg(f"prices must have shape ({self._shape[1]},), got {p.shape}")
        p = _np_pos.ascontiguousarray(p, dtype=_np_pos.float64)
        if not _np_pos.isfinite(p).all():
            raise _InvalidArg("prices must be finite (NaN or infinity given)")
        return self._mark(p).view(ALERT_DTYPE)

    def pretrade(self, orders) -> _np_pos.ndarray:
        """Pre-trade verdicts of a batch without submitting it: uint16 reasons
        (``Reason.RISK_LIMIT`` or 0) per order. The tracker does not change."""
        from .book import ORDER_DTYPE
        return self._pretrade(_records("orders", orders, ORDER_DTYPE))

    def submit(self, engine, orders, valid=None) -> _np_pos.ndarray:
        """Submit ``orders`` to ``engine`` through the pre-trade gate (see the class doc) and
        return all their events (EVENT_DTYPE), refused orders' rejects included."""
        from .book import EVENT_DTYPE, ORDER_DTYPE
        o = _records("orders", orders, ORDER_DTYPE)
        if valid is not None:
            valid = _np_pos.asarray(valid)
            if valid.shape != o.shape or valid.dtype.kind not in "biu":
                raise _InvalidArg(f"valid must be bools or integers of shape {o.shape}")
            valid = _np_pos.ascontiguousarray(valid != 0, dtype=_np_pos.uint8)
        return self._submit(engine, o, valid).view(EVENT_DTYPE)

    def _field(self, name: str) -> _np_pos.ndarray:
        a = self._view(_POS_FIELDS[name])
        return a.reshape(self._shape) if a.size == self._shape[0] * self._shape[1] and name not in (
            "mark_prices", "pnl", "gross_notional") else a

    position = property(lambda self: self._field("position"), doc="int64 (traders, symbols) positions in lots.")
    avg_cost = property(lambda self: self._field("avg_cost"), doc="float64 average entry price (0 when flat).")
    realized = property(lambda self: self._field("realized"), doc="float64 realized P&L.")
    unrealized = property(lambda self: self._field("unrealized"), doc="float64 position x (mark - avg_cost).")
    notional = property(lambda self: self._field("notional"), doc="float64 |position| x mark.")
    open_buy = property(lambda self: self._field("open_buy"), doc="int64 open quantity of resting buys.")
    open_sell = property(lambda self: self._field("open_sell"), doc="int64 open quantity of resting sells.")
    mark_prices = property(lambda self: self._field("mark_prices"), doc="float64 mark per symbol.")
    pnl = property(lambda self: self._field("pnl"), doc="float64 realized + unrealized per trader.")
    gross_notional = property(lambda self: self._field("gross_notional"), doc="float64 gross notional per trader.")


# ---- Correlation and breakdown detection ----

PAIR_ALERT_DTYPE = _np_pos.dtype([("i", "<u4"), ("j", "<u4"), ("r_short", "<f8"), ("r_ref", "<f8"),
                                  ("z", "<f8")])
"""A pair whose correlation broke down (32 packed bytes): assets i < j, the short-window and
reference correlations and Fisher's z."""

_CORR_KINDS = {"ewma": 0, "rolling": 1, "short": 2, "reference": 3}


class CorrelationTracker(_zkclob._CorrelationTracker):
    """Incremental correlation matrix of ``n`` assets, O(n^2) per observation (rows spread over
    ``threads`` for large n; results do not depend on it). Definitions in
    ``csrc/include/zkclob/risk.h``.

    ``alpha``: EWMA weight, matching ``pandas.DataFrame.ewm(alpha=alpha, adjust=False).corr()``.
    ``window``: rolling window, matching ``numpy.corrcoef`` over the last ``window`` rows.
    ``short_window``: enables :meth:`detect`, the breakdown test of the last ``short_window``
    observations against the ``window - short_window`` before them: Fisher z per pair against a
    Bonferroni threshold for family-wise false-positive rate ``fpr`` per test, and a shift of the
    leading eigenvalue share, significant at ``fpr`` (log-variance z test) and larger than
    ``eig_shift``. ``refresh``: exact recomputation period
    of the rolling moments (0 = 16 x window).
    """

    def __init__(self, n: int, *, alpha: _Optional[float] = None, window: _Optional[int] = None,
                 short_window: _Optional[int] = None, fpr: float = 1e-3, eig_shift: float = 0.05,
                 refresh: int = 0, threads: int = 0) -> None:
        def count(name, v, low):
            if v is None:
                return 0
            if isinstance(v, bool) or not hasattr(v, "__index__") or not low <= v.__index__() < 1 << 32:
                raise _InvalidArg(f"{name} must be an integer in [{low}, 2^32), got {v!r}")
            return int(v)

        def real(name, v):
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise _InvalidArg(f"{name} must be a number, got {v!r}") from None
            if f != f:
                raise _InvalidArg(f"{name} must not be NaN")
            return f

        self.n = count("n", n, 2)
        if alpha is not None and not 0.0 < real("alpha", alpha) <= 1.0:
            raise _InvalidArg(f"alpha must be in (0, 1], got {alpha!r}")
        if not 0.0 < real("fpr", fpr) < 1.0 or not 0.0 < real("eig_shift", eig_shift) <= 1.0:
            raise _InvalidArg(f"fpr must be in (0, 1) and eig_shift in (0, 1], got {fpr!r} and {eig_shift!r}")
        super().__init__(self.n, 0.0 if alpha is None else real("alpha", alpha), count("window", window, 2),
                         count("short_window", short_window, 1), real("fpr", fpr),
                         real("eig_shift", eig_shift), count("refresh", refresh, 0), count("threads", threads, 0))

    def update(self, x) -> None:
        """Add one observation (n values) or a block of them (rows, n), finite floats."""
        a = _np_pos.asarray(x)
        if a.dtype.kind not in "iuf":
            raise _InvalidArg(f"x must be numbers, got dtype {a.dtype}")
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != self.n:
            raise _InvalidArg(f"x must have shape ({self.n},) or (rows, {self.n}), got {_np_pos.shape(x)}")
        self._update(_np_pos.ascontiguousarray(a, dtype=_np_pos.float64))

    def corr(self, kind: str = "rolling") -> _np_pos.ndarray:
        """The (n, n) correlation: "ewma", "rolling", "short" or "reference" (a new array)."""
        return self._matrix(self._kind(kind), False)

    def cov(self, kind: str = "rolling") -> _np_pos.ndarray:
        """The (n, n) covariance: windows with divisor count - 1, EWMA biased (pandas bias=True)."""
        return self._matrix(self._kind(kind), True)

    @property
    def count(self) -> int:
        """Observations so far."""
        return self._count()

    def detect(self) -> dict:
        """Run the breakdown test on the current windows: a dict with ready (False until
        ``window`` observations), alert, count, threshold (|z|), max_abs_z, eig_short, eig_ref
        (leading eigenvalue shares), eig_z, eig_threshold, eig_alert and pairs
        (PAIR_ALERT_DTYPE, the alerting pairs in row-major order)."""
        info, pairs = self._detect()
        info["pairs"] = pairs.view(PAIR_ALERT_DTYPE)
        return info

    @staticmethod
    def _kind(kind: str) -> int:
        try:
            return _CORR_KINDS[kind]
        except (KeyError, TypeError):
            raise _InvalidArg(f"kind must be one of {sorted(_CORR_KINDS)}, got {kind!r}") from None
