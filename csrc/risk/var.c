/* Historical and parametric VaR/ES, P&L statistics: argument checks and the
 * batch launches of the tail kernels (kernels/risk.h) on any backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/risk.h"
#include "../core/internal.h"
#include "risk_internal.h"

/* ---- shared helpers ---- */

zc_status zc_risk_check_finite(const char *name, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%s must be finite (element %zu is %g)", name, i, x[i]);
    return ZC_OK;
}

zc_status zc_risk_check_confidence(double c)
{
    if (!(c > 0.0 && c < 1.0))
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "confidence must be in (0, 1), got %g", c);
    return ZC_OK;
}

zc_status zc_risk_check_size(const char *name, size_t rows, size_t cols)
{
    if (rows == 0 || cols == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%s must not be empty (%zu x %zu)", name, rows, cols);
    if (rows > SIZE_MAX / sizeof(double) / cols)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%s of %zu x %zu is too large", name, rows, cols);
    return ZC_OK;
}

zc_status zc_risk_shared(int dev, int *shared)
{
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(dev, &info));
    *shared = (info.caps & ZC_CAP_HOST_SHARED) != 0;
    return ZC_OK;
}

zc_status zc_risk_buf_in(int dev, int shared, const void *host, size_t bytes, zc_devbuf **out)
{
    if (shared)
        return zc_buf_wrap(dev, (void *)host, bytes, out);
    ZC_CHECK(zc_buf_alloc(dev, bytes, out));
    zc_status st = zc_buf_write(*out, 0, host, bytes);
    if (st != ZC_OK) {
        zc_buf_free(*out);
        *out = NULL;
    }
    return st;
}

zc_status zc_risk_buf_out(int dev, int shared, void *host, size_t bytes, zc_devbuf **out)
{
    return shared ? zc_buf_wrap(dev, host, bytes, out) : zc_buf_alloc(dev, bytes, out);
}

zc_status zc_risk_buf_fetch(int shared, zc_devbuf *b, void *host, size_t bytes)
{
    return shared ? ZC_OK : zc_buf_read(b, 0, host, bytes);
}

/* Items per launch whose scratch rows of n doubles fit the budget. */
static size_t group_size(size_t items, size_t n)
{
    size_t g = ZC_RISK_SCRATCH_BYTES / (n * sizeof(double));
    if (g == 0)
        g = 1;
    return g < items ? g : items;
}

/* ---- tails of windows: plain rows, per position, rolling ---- */

typedef struct window_job {
    const double *src; /* nrows x rowlen */
    size_t nrows, rowlen, n, nwin;
    double sign, c;
    double *var, *es; /* nrows x nwin */
} window_job;

static zc_status window_op(int dev, void *user)
{
    const window_job *job = user;
    int shared;
    ZC_CHECK(zc_risk_shared(dev, &shared));
    size_t items = job->nrows * job->nwin, group = group_size(items, job->n);
    zc_devbuf *src = NULL, *var = NULL, *es = NULL, *scratch = NULL;
    zc_status st = zc_risk_buf_in(dev, shared, job->src, job->nrows * job->rowlen * sizeof(double), &src);
    if (st == ZC_OK)
        st = zc_risk_buf_out(dev, shared, job->var, items * sizeof(double), &var);
    if (st == ZC_OK)
        st = zc_risk_buf_out(dev, shared, job->es, items * sizeof(double), &es);
    if (st == ZC_OK)
        st = zc_buf_alloc(dev, group * job->n * sizeof(double), &scratch);
    for (size_t i0 = 0; i0 < items && st == ZC_OK; i0 += group) {
        size_t count = items - i0 < group ? items - i0 : group;
        zc_karg args[] = {zc_arg_buf(src),     zc_arg_buf(scratch),    zc_arg_buf(var),
                          zc_arg_buf(es),      zc_arg_u64(i0),         zc_arg_u64(count),
                          zc_arg_u64(job->n),  zc_arg_u64(job->rowlen), zc_arg_u64(job->nwin),
                          zc_arg_f64(job->sign), zc_arg_f64(job->c)};
        st = zc_launch(dev, "zc_risk_windows", count, args, 11);
    }
    if (st == ZC_OK)
        st = zc_risk_buf_fetch(shared, var, job->var, items * sizeof(double));
    if (st == ZC_OK)
        st = zc_risk_buf_fetch(shared, es, job->es, items * sizeof(double));
    zc_buf_free(scratch);
    zc_buf_free(es);
    zc_buf_free(var);
    zc_buf_free(src);
    return st;
}

zc_status zc_risk_var_es(int *device, const double *losses, size_t nrow, size_t n, double confidence, double *var,
                         double *es)
{
    if (!device || !losses || !var || !es)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, losses, var and es must not be NULL");
    ZC_CHECK(zc_risk_check_confidence(confidence));
    ZC_CHECK(zc_risk_check_size("losses", nrow, n));
    ZC_CHECK(zc_risk_check_finite("losses", losses, nrow * n));
    window_job job = {losses, nrow, n, n, 1, 1.0, confidence, var, es};
    return zc_run(device, "risk_var_es", window_op, &job);
}

/* Transposes (rows x cols) into a malloc'd (cols x rows). */
static zc_status transpose(const double *a, size_t rows, size_t cols, double **out)
{
    double *t = malloc(rows * cols * sizeof(double));
    if (!t)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "cannot allocate a %zu x %zu transpose", cols, rows);
    /* Tiles keep both sides in cache. */
    for (size_t r0 = 0; r0 < rows; r0 += 32)
        for (size_t c0 = 0; c0 < cols; c0 += 32)
            for (size_t r = r0; r < rows && r < r0 + 32; r++)
                for (size_t c = c0; c < cols && c < c0 + 32; c++)
                    t[c * rows + r] = a[r * cols + c];
    *out = t;
    return ZC_OK;
}

zc_status zc_risk_rolling(int *device, const double *pnl, size_t nscen, size_t ncol, size_t window,
                          double confidence, double *var, double *es)
{
    if (!device || !pnl || !var || !es)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, pnl, var and es must not be NULL");
    ZC_CHECK(zc_risk_check_confidence(confidence));
    ZC_CHECK(zc_risk_check_size("pnl", nscen, ncol));
    if (window == 0 || window > nscen)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "window must be in [1, %zu], got %zu", nscen, window);
    ZC_CHECK(zc_risk_check_finite("pnl", pnl, nscen * ncol));
    double *cols;
    ZC_CHECK(transpose(pnl, nscen, ncol, &cols));
    window_job job = {cols, ncol, nscen, window, nscen - window + 1, -1.0, confidence, var, es};
    zc_status st = zc_run(device, "risk_rolling", window_op, &job);
    free(cols);
    return st;
}

/* ---- portfolios ---- */

typedef struct portfolio_job {
    const double *pnlT, *w;
    size_t nscen, nasset, nport;
    double c;
    double *var, *es;
} portfolio_job;

static zc_status portfolio_op(int dev, void *user)
{
    const portfolio_job *job = user;
    int shared;
    ZC_CHECK(zc_risk_shared(dev, &shared));
    size_t group = group_size(job->nport, job->nscen);
    zc_devbuf *pnl = NULL, *w = NULL, *var = NULL, *es = NULL, *scratch = NULL;
    zc_status st = zc_risk_buf_in(dev, shared, job->pnlT, job->nscen * job->nasset * sizeof(double), &pnl);
    if (st == ZC_OK)
        st = zc_risk_buf_in(dev, shared, job->w, job->nport * job->nasset * sizeof(double), &w);
    if (st == ZC_OK)
        st = zc_risk_buf_out(dev, shared, job->var, job->nport * sizeof(double), &var);
    if (st == ZC_OK)
        st = zc_risk_buf_out(dev, shared, job->es, job->nport * sizeof(double), &es);
    if (st == ZC_OK)
        st = zc_buf_alloc(dev, group * job->nscen * sizeof(double), &scratch);
    for (size_t p0 = 0; p0 < job->nport && st == ZC_OK; p0 += group) {
        size_t count = job->nport - p0 < group ? job->nport - p0 : group;
        zc_karg args[] = {zc_arg_buf(pnl),        zc_arg_buf(w),           zc_arg_buf(scratch),
                          zc_arg_buf(var),        zc_arg_buf(es),          zc_arg_u64(p0),
                          zc_arg_u64(count),      zc_arg_u64(job->nscen),  zc_arg_u64(job->nasset),
                          zc_arg_f64(job->c)};
        st = zc_launch(dev, "zc_risk_portfolios", count, args, 10);
    }
    if (st == ZC_OK)
        st = zc_risk_buf_fetch(shared, var, job->var, job->nport * sizeof(double));
    if (st == ZC_OK)
        st = zc_risk_buf_fetch(shared, es, job->es, job->nport * sizeof(double));
    zc_buf_free(scratch);
    zc_buf_free(es);
    zc_buf_free(var);
    zc_buf_free(w);
    zc_buf_free(pnl);
    return st;
}

zc_status zc_risk_historical(int *device, const double *pnl, size_t nscen, size_t nasset, const double *weights,
                             size_t nport, double confidence, double *var, double *es)
{
    if (!device || !pnl || !var || !es)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, pnl, var and es must not be NULL");
    ZC_CHECK(zc_risk_check_confidence(confidence));
    ZC_CHECK(zc_risk_check_size("pnl", nscen, nasset));
    if (!weights && nport != nasset)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "per-position VaR gives %zu results, nport is %zu", nasset, nport);
    if (weights) {
        ZC_CHECK(zc_risk_check_size("weights", nport, nasset));
        ZC_CHECK(zc_risk_check_finite("weights", weights, nport * nasset));
    }
    ZC_CHECK(zc_risk_check_finite("pnl", pnl, nscen * nasset));
    double *pnlT;
    ZC_CHECK(transpose(pnl, nscen, nasset, &pnlT));
    zc_status st;
    if (weights) {
        portfolio_job job = {pnlT, weights, nscen, nasset, nport, confidence, var, es};
        st = zc_run(device, "risk_historical", portfolio_op, &job);
    } else {
        window_job job = {pnlT, nasset, nscen, nscen, 1, -1.0, confidence, var, es};
        st = zc_run(device, "risk_historical", window_op, &job);
    }
    free(pnlT);
    return st;
}

/* ---- normal quantile ---- */

/* Acklam's rational approximation (relative error 1.15e-9) polished by two
 * Halley steps on erfc; the upper half uses symmetry so that 1 - p is exact. */
static double ppf_lower(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double x;
    if (p < 0.02425) {
        double q = sqrt(-2.0 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    for (int it = 0; it < 2; it++) {
        double e = 0.5 * erfc(-x * 0.70710678118654752440) - p;
        double u = e * 2.50662827463100050242 * exp(0.5 * x * x);
        x = x - u / (1.0 + 0.5 * x * u);
    }
    return x;
}

zc_status zc_risk_norm_ppf(double p, double *out)
{
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    if (!(p > 0.0 && p < 1.0))
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "probability must be in (0, 1), got %g", p);
    *out = p <= 0.5 ? ppf_lower(p) : -ppf_lower(1.0 - p);
    return ZC_OK;
}

/* ---- parametric ---- */

zc_status zc_risk_parametric(const double *w, const double *mean, const double *cov, size_t n, double confidence,
                             double *var, double *es, double *sigma, double *marginal, double *component)
{
    if (!w || !cov || !var || !es)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "w, cov, var and es must not be NULL");
    ZC_CHECK(zc_risk_check_confidence(confidence));
    ZC_CHECK(zc_risk_check_size("cov", n, n));
    ZC_CHECK(zc_risk_check_finite("weights", w, n));
    if (mean)
        ZC_CHECK(zc_risk_check_finite("mean", mean, n));
    ZC_CHECK(zc_risk_check_finite("cov", cov, n * n));
    double *work = malloc(n * n * sizeof(double) + n * sizeof(double));
    if (!work)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "parametric VaR work space for n = %zu", n);
    /* The factor itself is not needed: it is the positive-definiteness check. */
    zc_status st = zc_risk_cholesky(cov, n, work);
    double *sw = work + n * n;
    double s2 = 0.0, mu = 0.0;
    for (size_t i = 0; i < n && st == ZC_OK; i++) {
        double acc = 0.0;
        for (size_t k = 0; k < n; k++)
            acc += cov[i * n + k] * w[k];
        sw[i] = acc;
        s2 += w[i] * acc;
        mu += mean ? w[i] * mean[i] : 0.0;
    }
    if (st == ZC_OK && !(s2 > 0.0))
        st = ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "portfolio variance w' cov w is %g: VaR contributions are undefined", s2);
    double z = 0.0;
    if (st == ZC_OK)
        st = zc_risk_norm_ppf(confidence, &z);
    if (st == ZC_OK) {
        double s = sqrt(s2);
        double pdf = exp(-0.5 * z * z) * 0.39894228040143267794;
        *var = -mu + z * s;
        *es = -mu + s * pdf / (1.0 - confidence);
        if (sigma)
            *sigma = s;
        for (size_t i = 0; i < n; i++) {
            double m = (mean ? -mean[i] : 0.0) + z * sw[i] / s;
            if (marginal)
                marginal[i] = m;
            if (component)
                component[i] = w[i] * m;
        }
    }
    free(work);
    return st;
}

/* ---- P&L statistics ---- */

zc_status zc_risk_pnl_stats(const double *pnl, size_t nrow, size_t n, const double *probs, size_t nprob,
                            double *stats, double *quantiles)
{
    if (!pnl || !stats || (nprob && (!probs || !quantiles)))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "pnl, stats (and probs, quantiles when nprob > 0) must not be NULL");
    ZC_CHECK(zc_risk_check_size("pnl", nrow, n));
    for (size_t q = 0; q < nprob; q++)
        if (!(probs[q] >= 0.0 && probs[q] <= 1.0))
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "quantile probabilities must be in [0, 1], got %g", probs[q]);
    ZC_CHECK(zc_risk_check_finite("pnl", pnl, nrow * n));
    double *scratch = nprob ? malloc(n * sizeof(double)) : NULL;
    if (nprob && !scratch)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "scratch of %zu doubles", n);
    for (size_t r = 0; r < nrow; r++) {
        const double *x = pnl + r * n;
        double sum = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += x[i];
        double m = sum / (double)n, m2 = 0.0, m3 = 0.0, m4 = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = x[i] - m, d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        m2 /= (double)n;
        m3 /= (double)n;
        m4 /= (double)n;
        double *s = stats + r * 4;
        s[0] = m;
        s[1] = sqrt(m2);
        s[2] = m2 > 0.0 ? m3 / (m2 * sqrt(m2)) : 0.0;
        s[3] = m2 > 0.0 ? m4 / (m2 * m2) - 3.0 : 0.0;
        for (size_t q = 0; q < nprob; q++) {
            memcpy(scratch, x, n * sizeof(double));
            double v, e;
            zc_risk_tail(scratch, n, probs[q], &v, &e);
            quantiles[r * nprob + q] = v;
        }
    }
    free(scratch);
    return ZC_OK;
}
