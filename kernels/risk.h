/* Risk kernels shared by every backend: tail statistics by selection,
 * historical portfolio losses, Monte Carlo paths (Philox4x32-10 normals,
 * Cholesky correlation, full repricing) and the FFT spectrum combination of
 * the aggregate loss distribution.
 *
 * Conventions (documented in zkclob/risk.h):
 * - VaR at confidence c of n losses sorted ascending x[0..n) is
 *   x[j] + g (x[j+1] - x[j]) with h = (n - 1) c, j = floor(h), g = h - j,
 *   i.e. numpy.quantile(x, c, method="linear"); ES is the mean of the losses
 *   >= VaR.
 * - Monte Carlo path p draws its standard normals z[0..n) from the Philox4x32
 *   stream with key `seed` and 128-bit counter (j, p): block j gives z[2j] and
 *   z[2j+1] by Box-Muller (philox.h). Path p's numbers therefore depend only on
 *   (seed, p, j), never on thread count or launch size; backends differ only
 *   in the rounding of log, sin and cos (and, on the cpu backend's AVX2 path,
 *   of the fma in x = mu + L z).
 * - Shocks x = mu + L z with L the lower Cholesky factor; shocked price
 *   S' = S (1 + x) (arithmetic) or S exp(x) (geometric).
 * - Positions are packed as ZC_RISK_POS_STRIDE doubles: asset, kind, qty,
 *   strike, expiry (years), vol. Value: qty S for linear, qty times the
 *   Black-Scholes price for calls and puts. Loss = v0 - value after shock,
 *   with options repriced at expiry - horizon. */
#ifndef ZC_RISK_KERNELS_H
#define ZC_RISK_KERNELS_H

#include "philox.h"

#define ZC_RISK_MAX_ASSETS 256
#define ZC_RISK_POS_STRIDE 6
#define ZC_RISK_KIND_LINEAR 0
#define ZC_RISK_KIND_CALL 1
#define ZC_RISK_KIND_PUT 2

/* ---- selection and tail statistics ---- */

ZC_FN void zc_risk_swap(ZC_GLOBAL double *a, uint64_t i, uint64_t j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Rearranges a[0..n) so that a[k] is the k-th smallest, everything before it
 * is <= a[k] and everything after is >= a[k] (Hoare partition, median of
 * three pivots; equal keys split evenly, so constant input is linear). */
ZC_FN void zc_risk_select(ZC_GLOBAL double *a, uint64_t n, uint64_t k)
{
    uint64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            zc_risk_swap(a, mid, lo);
        if (a[hi] < a[lo])
            zc_risk_swap(a, hi, lo);
        if (a[hi] < a[mid])
            zc_risk_swap(a, hi, mid);
        double pivot = a[mid];
        uint64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                zc_risk_swap(a, i, j);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        /* Now a[lo..j] <= pivot <= a[i..hi] and j < i. */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* VaR and ES of a[0..n) (n >= 1, finite) at confidence c; reorders a. */
ZC_FN void zc_risk_tail(ZC_GLOBAL double *a, uint64_t n, double c, double *var, double *es)
{
    double h = (double)(n - 1) * c;
    uint64_t j = (uint64_t)h;
    if (j > n - 1)
        j = n - 1;
    double g = h - (double)j;
    zc_risk_select(a, n, j);
    double lo = a[j], hi = lo;
    if (j + 1 < n) {
        hi = a[j + 1];
        for (uint64_t i = j + 2; i < n; i++)
            hi = a[i] < hi ? a[i] : hi;
    }
    /* numpy's lerp: exact at both ends of the interval. */
    double v = g >= 0.5 ? hi - (hi - lo) * (1.0 - g) : lo + (hi - lo) * g;
    double sum = 0.0;
    uint64_t cnt = 0;
    for (uint64_t i = 0; i < n; i++)
        if (a[i] >= v) {
            sum += a[i];
            cnt++;
        }
    *var = v;
    *es = cnt ? sum / (double)cnt : v;
}

/* Item i of a window launch: row i / nwin, window start i % nwin; the n values
 * src[row * rowlen + t ..) times sign go to scratch, then to the tail. */
ZC_FN void zc_risk_window_item(ZC_GLOBAL const double *src, ZC_GLOBAL double *scratch, ZC_GLOBAL double *var,
                               ZC_GLOBAL double *es, uint64_t item, uint64_t gid, uint64_t n, uint64_t rowlen,
                               uint64_t nwin, double sign, double c)
{
    uint64_t row = item / nwin, t = item % nwin;
    ZC_GLOBAL const double *x = src + row * rowlen + t;
    ZC_GLOBAL double *s = scratch + gid * n;
    for (uint64_t i = 0; i < n; i++)
        s[i] = sign * x[i];
    double v, e;
    zc_risk_tail(s, n, c, &v, &e);
    var[item] = v;
    es[item] = e;
}

/* Portfolio `port`: loss[s] = -sum_a w[port, a] pnlT[a, s], summed over a in
 * order, into scratch row gid; then its tail. */
ZC_FN void zc_risk_portfolio_item(ZC_GLOBAL const double *pnlT, ZC_GLOBAL const double *w,
                                  ZC_GLOBAL double *scratch, ZC_GLOBAL double *var, ZC_GLOBAL double *es,
                                  uint64_t port, uint64_t gid, uint64_t nscen, uint64_t nasset, double c)
{
    ZC_GLOBAL double *s = scratch + gid * nscen;
    ZC_GLOBAL const double *wp = w + port * nasset;
    for (uint64_t i = 0; i < nscen; i++)
        s[i] = 0.0;
    for (uint64_t a = 0; a < nasset; a++) {
        double wa = wp[a];
        ZC_GLOBAL const double *col = pnlT + a * nscen;
        for (uint64_t i = 0; i < nscen; i++)
            s[i] += wa * col[i];
    }
    for (uint64_t i = 0; i < nscen; i++)
        s[i] = -s[i];
    double v, e;
    zc_risk_tail(s, nscen, c, &v, &e);
    var[port] = v;
    es[port] = e;
}

/* ---- pricing ---- */

ZC_FN double zc_risk_ncdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }

/* Black-Scholes price of a call or put (kind), the price itself for linear. */
ZC_FN double zc_risk_price(uint32_t kind, double s, double k, double tau, double vol, double rate)
{
    if (kind == ZC_RISK_KIND_LINEAR)
        return s;
    double dfk = k * exp(-rate * (tau > 0.0 ? tau : 0.0));
    /* Expired, zero-vol or non-positive price: the discounted intrinsic value. */
    if (tau <= 0.0 || vol <= 0.0 || s <= 0.0) {
        double call = s - dfk > 0.0 ? s - dfk : 0.0;
        return kind == ZC_RISK_KIND_CALL ? call : call - s + dfk;
    }
    double sq = vol * sqrt(tau);
    double d1 = (log(s / k) + (rate + 0.5 * vol * vol) * tau) / sq;
    double d2 = d1 - sq;
    if (kind == ZC_RISK_KIND_CALL)
        return s * zc_risk_ncdf(d1) - dfk * zc_risk_ncdf(d2);
    return dfk * zc_risk_ncdf(-d2) - s * zc_risk_ncdf(-d1);
}

/* Value of the positions with asset a's price spot[a] shocked by x[a]
 * (shocked 0: unshocked, options at full expiry). Defined for shocks in
 * private memory (Monte Carlo paths) and in global memory (stress rows),
 * since OpenCL 1.2 has no generic address space. */
#define ZC_RISK_VALUE_FN(name, XQUAL)                                                                          \
    ZC_FN double name(ZC_GLOBAL const double *pos, uint64_t npos, ZC_GLOBAL const double *spot,                \
                      XQUAL const double *x, uint32_t shocked, uint32_t geometric, double horizon, double rate) \
    {                                                                                                          \
        double total = 0.0;                                                                                    \
        for (uint64_t i = 0; i < npos; i++) {                                                                  \
            ZC_GLOBAL const double *p = pos + i * ZC_RISK_POS_STRIDE;                                          \
            uint32_t a = (uint32_t)p[0], kind = (uint32_t)p[1];                                                \
            double s = spot[a], tau = p[4];                                                                    \
            if (shocked) {                                                                                     \
                s = geometric ? s * exp(x[a]) : s * (1.0 + x[a]);                                              \
                tau -= horizon;                                                                                \
            }                                                                                                  \
            total += p[2] * zc_risk_price(kind, s, p[3], tau, p[5], rate);                                     \
        }                                                                                                      \
        return total;                                                                                          \
    }
ZC_RISK_VALUE_FN(zc_risk_value, )
ZC_RISK_VALUE_FN(zc_risk_value_g, ZC_GLOBAL)

/* ---- Monte Carlo ---- */

/* Standard normals z[0..n) of path `path` (see the header comment). */
ZC_FN void zc_risk_normals(uint64_t key, uint64_t path, uint32_t n, double *z)
{
    for (uint32_t j = 0; 2 * j < n; j++) {
        zc_u32x4 b = zc_philox4x32_block(key, j, path, 0);
        uint64_t w0 = (uint64_t)b.v[0] | ((uint64_t)b.v[1] << 32);
        uint64_t w1 = (uint64_t)b.v[2] | ((uint64_t)b.v[3] << 32);
        double z0, z1;
        zc_box_muller(w0, w1, &z0, &z1);
        z[2 * j] = z0;
        if (2 * j + 1 < n)
            z[2 * j + 1] = z1;
    }
}

/* x = mu + L z in place (L row-major n x n lower triangular): row i needs
 * z[0..i], so rows go from the last to the first. Each x[i] is mu[i] plus the
 * terms in k order, the order every backend uses. */
ZC_FN void zc_risk_correlate(ZC_GLOBAL const double *chol, ZC_GLOBAL const double *mu, uint32_t n, double *z)
{
    for (uint32_t r = n; r-- > 0;) {
        ZC_GLOBAL const double *row = chol + (uint64_t)r * n;
        double acc = mu[r];
        for (uint32_t k = 0; k <= r; k++)
            acc += row[k] * z[k];
        z[r] = acc;
    }
}

/* The loss of path `path`; z is private scratch of n doubles. */
ZC_FN double zc_risk_mc_path(uint64_t key, uint64_t path, uint32_t n, ZC_GLOBAL const double *chol,
                             ZC_GLOBAL const double *mu, ZC_GLOBAL const double *spot, ZC_GLOBAL const double *pos,
                             uint64_t npos, uint32_t geometric, double horizon, double rate, double v0, double *z)
{
    zc_risk_normals(key, path, n, z);
    zc_risk_correlate(chol, mu, n, z);
    return v0 - zc_risk_value(pos, npos, spot, z, 1, geometric, horizon, rate);
}

/* ---- aggregate loss by FFT ---- */

/* Frequency k of the aggregate spectrum: the product over distributions i of
 * F_i(k) (plain sum of independent losses) or exp(lambda_i (F_i(k) - 1))
 * (compound Poisson with frequency lambda_i). spec holds ndist interleaved
 * complex spectra of length m. */
ZC_FN void zc_risk_fft_combine_item(ZC_GLOBAL const double *spec, ZC_GLOBAL const double *lambda,
                                    ZC_GLOBAL double *out, uint64_t ndist, uint64_t m, uint32_t poisson, uint64_t k)
{
    double re = 1.0, im = 0.0;
    for (uint64_t i = 0; i < ndist; i++) {
        double fr = spec[2 * (i * m + k)], fi = spec[2 * (i * m + k) + 1];
        if (poisson) {
            double l = lambda[i];
            double mag = exp(l * (fr - 1.0));
            fr = mag * cos(l * fi);
            fi = mag * sin(l * fi);
        }
        double r = re * fr - im * fi;
        im = re * fi + im * fr;
        re = r;
    }
    out[2 * k] = re;
    out[2 * k + 1] = im;
}

#endif
