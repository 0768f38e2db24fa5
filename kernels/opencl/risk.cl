#include "risk.h"

/* Entries of the risk kernels; see risk.h. One work item per row or window
 * (windows), portfolio, path, stress scenario or frequency. */

ZC_KERNEL void zc_risk_windows(ZC_GLOBAL const double *src, ZC_GLOBAL double *scratch, ZC_GLOBAL double *var,
                               ZC_GLOBAL double *es, ulong item0, ulong count, ulong n, ulong rowlen, ulong nwin,
                               double sign, double c)
{
    ulong gid = ZC_GID(0);
    if (gid < count)
        zc_risk_window_item(src, scratch, var, es, item0 + gid, gid, n, rowlen, nwin, sign, c);
}

ZC_KERNEL void zc_risk_portfolios(ZC_GLOBAL const double *pnlT, ZC_GLOBAL const double *w, ZC_GLOBAL double *scratch,
                                  ZC_GLOBAL double *var, ZC_GLOBAL double *es, ulong port0, ulong count, ulong nscen,
                                  ulong nasset, double c)
{
    ulong gid = ZC_GID(0);
    if (gid < count)
        zc_risk_portfolio_item(pnlT, w, scratch, var, es, port0 + gid, gid, nscen, nasset, c);
}

ZC_KERNEL void zc_risk_mc(ZC_GLOBAL double *losses, ulong path0, ulong count, ulong key, uint n,
                          ZC_GLOBAL const double *chol, ZC_GLOBAL const double *mu, ZC_GLOBAL const double *spot,
                          ZC_GLOBAL const double *pos, ulong npos, uint geometric, double horizon, double rate,
                          double v0)
{
    ulong gid = ZC_GID(0);
    if (gid >= count)
        return;
    double z[ZC_RISK_MAX_ASSETS];
    losses[gid] = zc_risk_mc_path(key, path0 + gid, n, chol, mu, spot, pos, npos, geometric, horizon, rate, v0, z);
}

ZC_KERNEL void zc_risk_mc_shocks(ZC_GLOBAL double *out, ulong path0, ulong count, ulong key, uint n,
                                 ZC_GLOBAL const double *chol, ZC_GLOBAL const double *mu)
{
    ulong gid = ZC_GID(0);
    if (gid >= count)
        return;
    double z[ZC_RISK_MAX_ASSETS];
    zc_risk_normals(key, path0 + gid, n, z);
    zc_risk_correlate(chol, mu, n, z);
    for (uint i = 0; i < n; i++)
        out[gid * n + i] = z[i];
}

ZC_KERNEL void zc_risk_stress(ZC_GLOBAL double *pnl, ZC_GLOBAL const double *shocks, ulong count, ulong n,
                              ZC_GLOBAL const double *spot, ZC_GLOBAL const double *pos, ulong npos, uint geometric,
                              double horizon, double rate, double v0)
{
    ulong gid = ZC_GID(0);
    if (gid < count)
        pnl[gid] = zc_risk_value_g(pos, npos, spot, shocks + gid * n, 1, geometric, horizon, rate) - v0;
}

ZC_KERNEL void zc_risk_fft_combine(ZC_GLOBAL const double *spec, ZC_GLOBAL const double *lambda, ZC_GLOBAL double *out,
                                   ulong ndist, ulong len, uint poisson)
{
    ulong k = ZC_GID(0);
    if (k < len)
        zc_risk_fft_combine_item(spec, lambda, out, ndist, len, poisson, k);
}
