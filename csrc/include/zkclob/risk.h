/* zkclob risk: value at risk and expected shortfall (historical, parametric,
 * Monte Carlo), aggregate loss by FFT, real-time position risk and
 * incremental correlation with breakdown detection.
 *
 * Losses are positive numbers (loss = -P&L). Matrices are row-major doubles.
 * *device selects the device and, on return, names the one that ran the call. */
#ifndef ZKCLOB_RISK_H
#define ZKCLOB_RISK_H

#include "zkclob/book.h"
#include "zkclob/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- VaR / ES, scenarios, Monte Carlo, FFT aggregation ---- */

/* Quantile convention of every estimator: for n losses sorted ascending
 * x[0..n), VaR at confidence c in (0, 1) is x[j] + g (x[j+1] - x[j]) with
 * h = (n - 1) c, j = floor(h), g = h - j, exactly
 * numpy.quantile(x, c, method="linear"). ES is the mean of the losses >= VaR
 * (x[x >= var].mean()). Quantiles are found by selection, never a full sort.
 * Inputs must be finite: NaN or infinity is ZC_ERR_INVALID_ARGUMENT. */

/* VaR and ES of each row of a (nrow x n) loss matrix; var, es: nrow. */
ZC_API zc_status zc_risk_var_es(int *device, const double *losses, size_t nrow, size_t n, double confidence,
                                double *var, double *es);

/* Historical VaR/ES from scenario P&L. pnl is (nscen x nasset): the P&L of one
 * unit of asset a in scenario s. weights (nport x nasset) are the portfolios'
 * holdings: loss[p, s] = -sum_a weights[p, a] pnl[s, a], summed in asset
 * order. weights NULL: per position, nport must equal nasset and portfolio a
 * is one unit of asset a. var, es: nport. */
ZC_API zc_status zc_risk_historical(int *device, const double *pnl, size_t nscen, size_t nasset,
                                    const double *weights, size_t nport, double confidence, double *var,
                                    double *es);

/* Rolling historical VaR/ES of ncol P&L series, the columns of pnl
 * (nscen x ncol), over windows [t, t + window), t < nwin = nscen - window + 1.
 * var, es: (ncol x nwin), var[col * nwin + t]. */
ZC_API zc_status zc_risk_rolling(int *device, const double *pnl, size_t nscen, size_t ncol, size_t window,
                                 double confidence, double *var, double *es);

/* Standard normal quantile (inverse CDF), p in (0, 1), relative error ~1e-15. */
ZC_API zc_status zc_risk_norm_ppf(double p, double *out);

/* Lower Cholesky factor L (n x n, row-major, upper part zero) of a symmetric
 * positive definite matrix. Not symmetric (relative 1e-12) or not positive
 * definite: ZC_ERR_INVALID_ARGUMENT naming the failing pivot; never a
 * silently repaired factor. */
ZC_API zc_status zc_risk_cholesky(const double *cov, size_t n, double *chol);

/* Delta-normal VaR/ES of exposures w (n) with P&L ~ N(w . mean, w' cov w)
 * over the horizon (mean may be NULL: zero). sigma = sqrt(w' cov w),
 * VaR = -w . mean + z_c sigma, ES = -w . mean + sigma phi(z_c) / (1 - c).
 * marginal[a] = dVaR/dw_a = -mean[a] + z_c (cov w)[a] / sigma and
 * component[a] = w[a] marginal[a] (they sum to VaR); either may be NULL.
 * cov must be symmetric positive definite (checked by Cholesky) and
 * sigma > 0. */
ZC_API zc_status zc_risk_parametric(const double *w, const double *mean, const double *cov, size_t n,
                                    double confidence, double *var, double *es, double *sigma, double *marginal,
                                    double *component);

/* Positions for full repricing. kind ZC_RISK_LINEAR: value qty * S;
 * ZC_RISK_CALL / ZC_RISK_PUT: qty European options on the asset priced by
 * Black-Scholes with strike, expiry (years from now) and vol. */
typedef enum zc_risk_kind { ZC_RISK_LINEAR = 0, ZC_RISK_CALL = 1, ZC_RISK_PUT = 2 } zc_risk_kind;

typedef struct zc_risk_position {
    uint32_t asset;
    uint32_t kind; /* zc_risk_kind */
    double qty;
    double strike;
    double expiry;
    double vol;
} zc_risk_position;

/* The market a scenario shocks: spot prices of nasset assets; a shock x[a]
 * moves price a to spot (1 + x) (arithmetic) or spot exp(x) (geometric).
 * Options are revalued at expiry - horizon with the continuous rate. */
typedef struct zc_risk_market {
    const double *spot;
    size_t nasset;
    int geometric;
    double horizon;
    double rate;
} zc_risk_market;

/* Portfolio P&L under nshock user or historical shocks (nshock x nasset):
 * pnl[s] = value(shocked) - value(now), with full repricing. */
ZC_API zc_status zc_risk_stress(int *device, const zc_risk_market *mkt, const zc_risk_position *pos, size_t npos,
                                const double *shocks, size_t nshock, double *pnl);

/* Monte Carlo. Path p's standard normals come from Philox4x32-10 with key
 * seed and counter (j, p) (counter word pair 0-1 = j, 2-3 = p): block j gives
 * z[2j], z[2j+1] by Box-Muller, i.e. zc_philox_generate(4x32, key = seed,
 * counter = {0, p}, normal) element k is z[k] up to the rounding of log,
 * sin and cos (the cpu backend uses glibc's 4-ulp vector versions where it
 * has AVX2; normals agree within 1e-13 relative). The shock is
 * x = mean + L z with L = zc_risk_cholesky(cov), computed as mean[i] plus
 * the terms L[i][k] z[k] in k order (fused multiply-adds on the cpu
 * backend's AVX2+FMA path, separate multiply and add elsewhere). Results
 * are identical for any thread count; across backends, and between the cpu
 * backend's AVX2 and scalar paths (zc_zk_simd_set), raw Philox words are
 * identical and floats agree to the rounding of the transcendental functions
 * and the fma (tests use 1e-9 relative on losses). */
typedef struct zc_risk_mc_params {
    uint64_t paths;
    uint64_t seed;
    double confidence;
} zc_risk_mc_params;

typedef struct zc_risk_mc_result {
    double var, es;
    double var_lo, var_hi; /* 95% distribution-free interval: order statistics of the binomial bounds */
    double es_se;          /* asymptotic standard error: sqrt((Var(L | L >= VaR) + c (ES - VaR)^2) / (n (1 - c))) */
    double mean, std;      /* of the loss */
    uint64_t tail;         /* losses >= VaR */
} zc_risk_mc_result;

#define ZC_RISK_MC_MAX_ASSETS 256

/* Monte Carlo VaR/ES of the positions: paths are generated, repriced and
 * reduced to losses per block of paths (never materialised as an
 * (paths x nasset) array). mean (NULL: zero) and cov (nasset x nasset) are
 * those of the shocks over the horizon. losses (NULL or paths entries)
 * receives the loss of each path. nasset <= ZC_RISK_MC_MAX_ASSETS. */
ZC_API zc_status zc_risk_monte_carlo(int *device, const zc_risk_mc_params *p, const zc_risk_market *mkt,
                                     const double *mean, const double *cov, const zc_risk_position *pos, size_t npos,
                                     zc_risk_mc_result *out, double *losses);

/* Monte Carlo scenarios: the shocks x of paths [path0, path0 + npaths)
 * (npaths x nasset), exactly those zc_risk_monte_carlo reprices. */
ZC_API zc_status zc_risk_mc_scenarios(int *device, uint64_t seed, uint64_t path0, size_t npaths, size_t nasset,
                                      const double *mean, const double *cov, double *shocks);

/* P&L statistics of each row of a (nrow x n) matrix: stats[row * 4 + 0..3] =
 * mean, standard deviation (ddof 0), skewness and excess kurtosis (biased,
 * scipy.stats.skew / kurtosis defaults; 0 for a constant row); quantiles
 * (nrow x nprob) by the linear convention. */
ZC_API zc_status zc_risk_pnl_stats(const double *pnl, size_t nrow, size_t n, const double *probs, size_t nprob,
                                   double *stats, double *quantiles);

/* Aggregate loss distribution on the grid 0, 1, ..., m - 1 (units of the
 * discretisation step) by FFT: ndist independent losses with pmfs pmf
 * (ndist x n). lambda NULL: the sum of the losses; else loss i is compound
 * Poisson with frequency lambda[i] >= 0 and severity pmf i. The FFT length is
 * the power of two >= 2 max(m, n) (compound sums wrap mass beyond it onto
 * the grid; *tail_mass = 1 - sum(out) measures what lies beyond m). cpu uses
 * FFTW, opencl clFFT, cuda cuFFT: one call. out: m entries. */
ZC_API zc_status zc_risk_aggregate_loss(int *device, const double *pmf, size_t ndist, size_t n, const double *lambda,
                                        size_t m, double *out, double *tail_mass);

/* ---- Position tracking, limits and pre-trade checks ---- */

/* Position tracker. Dense state for traders 0 .. traders-1 and symbols
 * 0 .. symbols-1 (row-major traders x symbols arrays), fed with the engine's
 * orders and events:
 *
 *   zc_position_update(t, orders, n, seq0, events, m)
 *
 * after every zc_engine_submit (orders = the submitted batch, seq0 = the
 * batch's first ingress sequence = events[0].seq, since every order yields
 * at least one event), and with n = 0 after zc_engine_uncross. A fill event
 * names only order ids, so the tracker learns (symbol, order id) -> trader,
 * side and open quantity from the acks of the orders it is given, and
 * forgets an order when it is filled, cancelled or expired. A fill whose
 * taker or maker it has not seen (placed before the tracker was attached) is
 * counted in zc_position_info.unknown_fills and moves only the side it
 * knows.
 *
 * Accounting (average cost; prices in ticks, quantities in lots, money in
 * tick-lots as doubles): a fill of q at price p for a trader with position
 * x and average cost c
 *   - that extends x (or x = 0): c = (|x| c + q p) / (|x| + q);
 *   - that reduces x: realized += min(q, |x|) (p - c) sign(x); a fill that
 *     flips the sign leaves the rest at cost p; x = 0 resets c to 0.
 * unrealized = x (mark - c), notional = |x| mark, gross notional = sum over
 * symbols, P&L = realized + unrealized. The mark of a symbol is the last
 * price given to zc_position_mark, or the last fill price before the first.
 *
 * Limits (per trader; 0 disables one): |position| <= max_position in every
 * symbol, gross notional <= max_notional, P&L >= -max_loss. An alert is
 * raised when a limit becomes breached (after an update or a mark) and not
 * again until the value is back within it: alerts are transitions, so a
 * breach that persists is reported once.
 *
 * Pre-trade check (zc_position_pretrade; zc_engine_submit_checked runs it
 * as a gate in front of an engine). Orders are checked one after the other
 * in batch order against the positions and open orders known from earlier
 * updates plus the orders of the same batch accepted before them, so the
 * outcome depends only on the tracker's state and the batch. For a limit or
 * market order (or a modify, by its increase in open quantity, on the
 * resting order's side: qty - open, or qty - 1 when flow on the other side
 * of the symbol was accepted earlier in the batch, since fills may have cut
 * the resting order to one lot before the modify restores it) of q lots in
 * symbol s:
 *   worst = x + open_buy + q (buy) or x - open_sell - q (sell)
 * assumes every open order of that side fills. It is rejected with
 * ZC_REASON_RISK_LIMIT when |worst| > max_position; when the gross notional
 * with max(|x + open_buy|, |x - open_sell|) in place of |x| in every symbol
 * (at the mark; symbols without a price count 0, except the order's own,
 * at its limit price; a market order there fails) would exceed
 * max_notional; or when the trader's P&L is below -max_loss and the order
 * does not reduce |x| (a buy when x < 0 and worst <= 0, or the mirror).
 * Cancels, orders of traders or symbols outside the tracker and orders with
 * an invalid side, type or quantity pass (the engine rejects the latter).
 *
 * Gate (zc_engine_submit_checked). Like the signature gate of zkclob/book.h
 * (zc_engine_submit_verified), a refused order never reaches the engine: it
 * takes no sequence number and is not journaled, so a replay of the journal
 * reproduces every other event and the same state root without the tracker.
 * Its reject event (order_id, price, qty of the order, remaining 0) carries
 * seq = the ingress sequence of the next accepted order of the batch, or the
 * engine's next_seq when none follows, so events stay sorted by seq and in
 * array order. Reasons, first failing check wins: valid[i] == 0 ->
 * ZC_REASON_BAD_SIGNATURE, then ZC_REASON_RISK_LIMIT. The accepted orders
 * go to zc_engine_submit and their events straight into zc_position_update,
 * all under the tracker's gate lock, so concurrent gated submits through one
 * tracker are checked and applied one batch after the other. Orders
 * submitted to the engine some other way are invisible to the check until
 * given to zc_position_update. */
typedef struct zc_position_tracker zc_position_tracker;

typedef struct zc_position_limits {
    int64_t max_position; /* lots, per symbol; 0 = no limit */
    double max_notional;  /* gross, tick-lots; 0 = no limit */
    double max_loss;      /* > 0; 0 = no limit */
} zc_position_limits;

typedef enum zc_alert_kind {
    ZC_ALERT_POSITION = 1, /* symbol: the symbol; value: |position| */
    ZC_ALERT_NOTIONAL = 2, /* symbol: UINT32_MAX; value: gross notional */
    ZC_ALERT_LOSS = 3      /* symbol: UINT32_MAX; value: -P&L */
} zc_alert_kind;

/* Packed record (ALERT_DTYPE): trader u4, symbol u4, kind u4, value f8,
 * limit f8, seq u8 (event that caused it; 0 for a mark). */
#pragma pack(push, 1)
typedef struct zc_position_alert {
    uint32_t trader;
    uint32_t symbol;
    uint32_t kind; /* zc_alert_kind */
    double value;
    double limit;
    uint64_t seq;
} zc_position_alert;
#pragma pack(pop)

typedef struct zc_position_info {
    uint32_t traders, symbols;
    uint64_t fills;         /* fill events applied */
    uint64_t unknown_fills; /* fill events with an order the tracker never saw */
    uint64_t open_orders;   /* orders the tracker knows to be resting */
    uint64_t alerts;        /* alerts raised so far */
} zc_position_info;

/* Which state array zc_position_view returns. */
typedef enum zc_position_field {
    ZC_POS_POSITION = 0,   /* int64: signed position, lots */
    ZC_POS_AVG_COST = 1,   /* double */
    ZC_POS_REALIZED = 2,   /* double */
    ZC_POS_UNREALIZED = 3, /* double */
    ZC_POS_NOTIONAL = 4,   /* double: |position| * mark */
    ZC_POS_OPEN_BUY = 5,   /* int64: open quantity of resting buy orders */
    ZC_POS_OPEN_SELL = 6,  /* int64 */
    ZC_POS_MARK = 7,       /* double, per symbol */
    ZC_POS_PNL = 8,        /* double, per trader: realized + unrealized */
    ZC_POS_GROSS = 9       /* double, per trader: gross notional */
} zc_position_field;

ZC_API zc_status zc_position_create(uint32_t traders, uint32_t symbols, zc_position_tracker **out);
ZC_API void zc_position_destroy(zc_position_tracker *t);
/* Limits of traders [first, first + count), from limits[0 .. count). */
ZC_API zc_status zc_position_set_limits(zc_position_tracker *t, uint32_t first, uint32_t count,
                                        const zc_position_limits *limits);
/* Applies a batch (see above). Every order's trader must be < traders, every
 * non-reject event's symbol < symbols, the seq of a submit batch's events
 * within [seq0, seq0 + n), every event of an uncross (n = 0) a fill, fill
 * quantities in [1, ZC_BOOK_MAX_QTY] and prices within +-ZC_BOOK_MAX_PRICE;
 * otherwise ZC_ERR_INVALID_ARGUMENT and nothing changes
 * (ZC_ERR_OUT_OF_RANGE if a position could pass 2^62 lots). Alerts are
 * checked once, after the whole batch, for the positions and traders it
 * touched; their seq is the last event that touched them. */
ZC_API zc_status zc_position_update(zc_position_tracker *t, const zc_order *orders, size_t n, uint64_t seq0,
                                    const zc_event *events, size_t m);
/* Marks every symbol: prices[symbols], finite (else ZC_ERR_INVALID_ARGUMENT,
 * nothing changes). Recomputes unrealized P&L, notional and the per-trader
 * sums exactly (updates adjust them incrementally). */
ZC_API zc_status zc_position_mark(zc_position_tracker *t, const double *prices, size_t symbols);
/* The alerts raised by the last update or mark, valid until the next call. */
ZC_API zc_status zc_position_alerts(zc_position_tracker *t, const zc_position_alert **alerts, size_t *k);
/* The tracker's own array of a field (traders x symbols, symbols for
 * ZC_POS_MARK, traders for PNL and GROSS). It stays valid until destroy and
 * changes in place with every update and mark. */
ZC_API zc_status zc_position_view(zc_position_tracker *t, zc_position_field field, void **data, size_t *count);
ZC_API zc_status zc_position_info_get(zc_position_tracker *t, zc_position_info *out);
/* The pre-trade check: reasons[i] = ZC_REASON_RISK_LIMIT for a refused
 * order, else ZC_REASON_NONE. Does not change the tracker. */
ZC_API zc_status zc_position_pretrade(zc_position_tracker *t, const zc_order *orders, size_t n, uint16_t *reasons);
/* The gate (see above): valid (NULL = every order) is the signature
 * verdict, *events the batch's events with the refused orders' rejects, and
 * the tracker is updated with the accepted orders' events. Every order's
 * trader must be < traders and the engine's symbols <= symbols
 * (ZC_ERR_INVALID_ARGUMENT, nothing submitted). */
ZC_API zc_status zc_engine_submit_checked(zc_engine *e, zc_position_tracker *t, const zc_order *orders,
                                          const uint8_t *valid, size_t n, zc_array **events);

/* ---- Correlation and breakdown detection ---- */

/* Incremental correlation of n assets, one observation (a row of n finite
 * values, e.g. returns) at a time, O(n^2) per observation, the rows of the
 * matrix spread over a thread pool for large n (results do not depend on the
 * thread count: every entry is computed by one thread in a fixed order).
 *
 * EWMA (alpha > 0) follows pandas DataFrame.ewm(alpha=alpha, adjust=False)
 * .corr() exactly, operation for operation: the first observation sets the
 * means; afterwards, with w = 1 - alpha,
 *   m' = (w m + alpha x) / (w + alpha)      (m kept when m == x, as pandas)
 *   C' = (w (C + (m - m')(m - m')^T) + alpha (x - m')(x - m')^T) / (w + alpha)
 * (w + alpha is exactly 1 in floating point for every alpha in [0, 1]) and
 * corr = C_ij / sqrt(C_ii C_jj) (NaN where a variance is 0).
 *
 * Rolling (window W > 0): the correlation of the last W observations (all of
 * them before W arrive), as numpy.corrcoef over those rows. Co-moments are
 * updated Welford-style, add:  m' = m + (x - m) / n',
 * C' = C + (x - m)(x - m')^T; slide (x in, y out, n fixed):
 * m' = m + (x - y) / n, C' = C + (x - m)(x - m')^T - (y - m)(y - m')^T, and
 * recomputed exactly (two passes over the window) every `refresh`
 * observations to bound the drift of long streams.
 *
 * Breakdown detection (short_window S > 0, S + 8 <= W). The window is split
 * into the short window (the last S observations) and the reference (the
 * W - S before them), which are disjoint, so under an unchanged
 * correlation Fisher's z of each pair,
 *   z = (atanh r_short - atanh r_ref) / sqrt(1/(S - 3) + 1/(W - S - 3)),
 * is approximately standard normal for normal data. A pair alerts when
 * |z| > Phi^-1(1 - fpr / (2 P)) over the P = n(n-1)/2 pairs (Bonferroni):
 * one test over all pairs has a false alert with probability <= fpr, so over
 * T tests at most fpr * T false alerting tests are expected (windows
 * overlap, so false alerts come in runs). The second statistic is the
 * leading eigenvalue share: l / n, l the leading eigenvalue of the
 * reference correlation (power iteration, v its eigenvector), against
 * q / n, q = v' R_short v, the short window's variance along v (unlike the
 * short window's own leading eigenvalue, q carries no small-sample upward
 * bias). The variance of a sample variance is about 2 s^4 / (k - 1) for
 * normal data, so
 *   z_eig = ln(q / l) / sqrt(2/(S - 1) + 2/(W - S - 1))
 * is about standard normal; it alerts when |z_eig| > Phi^-1(1 - fpr / 2)
 * and the shares differ by more than eig_shift (a material shift, not only
 * a significant one). This assumes a dominant leading factor (a market
 * factor, as in equity returns): without one, l is the largest of similar
 * sample eigenvalues, biased upwards, and the test leans towards downward
 * alerts. Tests need W observations; the rolling matrix is then the merge
 * of the two windows. */
typedef struct zc_corr_tracker zc_corr_tracker;

typedef struct zc_corr_config {
    uint32_t n;            /* assets, >= 2 */
    double alpha;          /* EWMA weight of a new observation, (0, 1]; 0 = no EWMA */
    uint32_t window;       /* rolling window, >= 2; 0 = none */
    uint32_t short_window; /* breakdown detection: 4 .. window - 8; 0 = none */
    double fpr;            /* family-wise false-positive rate of one test, (0, 1); 0 = 1e-3 */
    double eig_shift;      /* least leading eigenvalue share shift that alerts, (0, 1]; 0 = 0.05 */
    uint32_t refresh;      /* exact recomputation period of the rolling moments; 0 = 16 * window */
    int threads;           /* 0 = all cores, 1 = the calling thread only */
} zc_corr_config;

typedef enum zc_corr_kind {
    ZC_CORR_EWMA = 0,
    ZC_CORR_ROLLING = 1,  /* last `window` observations */
    ZC_CORR_SHORT = 2,    /* last short_window observations */
    ZC_CORR_REFERENCE = 3 /* the window - short_window before them */
} zc_corr_kind;

/* Packed record (PAIR_ALERT_DTYPE): i u4, j u4 (i < j), r_short f8,
 * r_ref f8, z f8. */
#pragma pack(push, 1)
typedef struct zc_corr_pair_alert {
    uint32_t i, j;
    double r_short, r_ref, z;
} zc_corr_pair_alert;
#pragma pack(pop)

typedef struct zc_corr_breakdown {
    int ready;          /* 0 until `window` observations have arrived (nothing tested) */
    int alert;          /* pairs > 0 or eig_alert */
    uint64_t count;     /* observations so far */
    double threshold;   /* |z| threshold */
    double max_abs_z;   /* over pairs with finite z */
    size_t pairs;       /* pairs over the threshold (the first `cap` are written) */
    double eig_short;   /* v' R_short v / n */
    double eig_ref;     /* leading eigenvalue of R_ref / n */
    double eig_z;       /* z_eig */
    double eig_threshold;
    int eig_alert;
} zc_corr_breakdown;

ZC_API zc_status zc_corr_create(const zc_corr_config *cfg, zc_corr_tracker **out);
ZC_API void zc_corr_destroy(zc_corr_tracker *t);
/* Adds rows observations (row-major rows x n). Every value must be finite,
 * else ZC_ERR_INVALID_ARGUMENT and nothing changes. */
ZC_API zc_status zc_corr_update(zc_corr_tracker *t, const double *x, size_t rows, size_t n);
/* The n x n correlation (or, with cov, covariance: EWMA biased as pandas,
 * windows with divisor count - 1) into out. ZC_ERR_STATE when the kind is not
 * configured or has fewer than 2 observations. */
ZC_API zc_status zc_corr_matrix(zc_corr_tracker *t, zc_corr_kind kind, int cov, double *out);
ZC_API zc_status zc_corr_count(zc_corr_tracker *t, uint64_t *count);
/* Runs the breakdown test on the current windows; up to cap alerting pairs
 * (in row-major pair order) go to pairs. */
ZC_API zc_status zc_corr_detect(zc_corr_tracker *t, zc_corr_breakdown *out, zc_corr_pair_alert *pairs, size_t cap);


#ifdef __cplusplus
}
#endif

#endif
