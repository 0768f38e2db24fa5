#include "risk.h"

/* CUDA entries of the risk kernels; see risk.h. One thread per row or window
 * (windows), portfolio, path, stress scenario or frequency. */

ZC_KERNEL void zc_risk_windows(const double *src, double *scratch, double *var,
                               double *es, uint64_t item0, uint64_t count, uint64_t n, uint64_t rowlen, uint64_t nwin,
                               double sign, double c)
{
    uint64_t gid = ZC_GID(0);
    if (gid < count)
        zc_risk_window_item(src, scratch, var, es, item0 + gid, gid, n, rowlen, nwin, sign, c);
}

ZC_KERNEL void zc_risk_portfolios(const double *pnlT, const double *w, double *scratch,
                                  double *var, double *es, uint64_t port0, uint64_t count, uint64_t nscen,
                                  uint64_t nasset, double c)
{
    uint64_t gid = ZC_GID(0);
    if (gid < count)
        zc_risk_portfolio_item(pnlT, w, scratch, var, es, port0 + gid, gid, nscen, nasset, c);
}

ZC_KERNEL void zc_risk_mc(double *losses, uint64_t path0, uint64_t count, uint64_t key, uint32_t n,
                          const double *chol, const double *mu, const double *spot,
                          const double *pos, uint64_t npos, uint32_t geometric, double horizon, double rate,
                          double v0)
{
    uint64_t gid = ZC_GID(0);
    if (gid >= count)
        return;
    double z[ZC_RISK_MAX_ASSETS];
    losses[gid] = zc_risk_mc_path(key, path0 + gid, n, chol, mu, spot, pos, npos, geometric, horizon, rate, v0, z);
}

ZC_KERNEL void zc_risk_mc_shocks(double *out, uint64_t path0, uint64_t count, uint64_t key, uint32_t n,
                                 const double *chol, const double *mu)
{
    uint64_t gid = ZC_GID(0);
    if (gid >= count)
        return;
    double z[ZC_RISK_MAX_ASSETS];
    zc_risk_normals(key, path0 + gid, n, z);
    zc_risk_correlate(chol, mu, n, z);
    for (uint32_t i = 0; i < n; i++)
        out[gid * n + i] = z[i];
}

ZC_KERNEL void zc_risk_stress(double *pnl, const double *shocks, uint64_t count, uint64_t n,
                              const double *spot, const double *pos, uint64_t npos, uint32_t geometric,
                              double horizon, double rate, double v0)
{
    uint64_t gid = ZC_GID(0);
    if (gid < count)
        pnl[gid] = zc_risk_value_g(pos, npos, spot, shocks + gid * n, 1, geometric, horizon, rate) - v0;
}

ZC_KERNEL void zc_risk_fft_combine(const double *spec, const double *lambda, double *out,
                                   uint64_t ndist, uint64_t len, uint32_t poisson)
{
    uint64_t k = ZC_GID(0);
    if (k < len)
        zc_risk_fft_combine_item(spec, lambda, out, ndist, len, poisson, k);
}
