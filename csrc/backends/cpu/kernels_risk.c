/* cpu entries of the risk kernels (kernels/risk.h). Argument lists are those
 * of kernels/opencl/risk.cl. */
#include "../../../kernels/risk.h"
#include "cpu_kernels.h"
#include "kernels_ntt.h"
#include "kernels_risk_avx2.h"

/* args: src, scratch, var, es, item0, count, n, rowlen, nwin, sign, c */
void zc_cpu_risk_windows(const zc_karg *a, size_t begin, size_t end)
{
    const double *src = zc_cpu_ptr(&a[0]);
    double *scratch = zc_cpu_ptr(&a[1]), *var = zc_cpu_ptr(&a[2]), *es = zc_cpu_ptr(&a[3]);
    uint64_t item0 = a[4].v.u64;
    for (size_t g = begin; g < end; g++)
        zc_risk_window_item(src, scratch, var, es, item0 + g, g, a[6].v.u64, a[7].v.u64, a[8].v.u64, a[9].v.f64,
                            a[10].v.f64);
}

/* Portfolios in groups of PORT_GROUP: each column of pnlT is read once per
 * group instead of once per portfolio (the columns, not the flops, bound the
 * loop). Every loss is zc_risk_portfolio_item's sum in the same asset order. */
#define PORT_GROUP 4

/* args: pnlT, w, scratch, var, es, port0, count, nscen, nasset, c */
void zc_cpu_risk_portfolios(const zc_karg *a, size_t begin, size_t end)
{
    const double *pnlT = zc_cpu_ptr(&a[0]), *w = zc_cpu_ptr(&a[1]);
    double *scratch = zc_cpu_ptr(&a[2]), *var = zc_cpu_ptr(&a[3]), *es = zc_cpu_ptr(&a[4]);
    uint64_t port0 = a[5].v.u64, nscen = a[7].v.u64, nasset = a[8].v.u64;
    double c = a[9].v.f64;
    for (size_t g0 = begin; g0 < end; g0 += PORT_GROUP) {
        size_t cnt = end - g0 < PORT_GROUP ? end - g0 : PORT_GROUP;
        for (size_t q = 0; q < cnt; q++)
            for (uint64_t i = 0; i < nscen; i++)
                scratch[(g0 + q) * nscen + i] = 0.0;
        for (uint64_t k = 0; k < nasset; k++) {
            const double *col = pnlT + k * nscen;
            for (size_t q = 0; q < cnt; q++) {
                double wk = w[(port0 + g0 + q) * nasset + k];
                double *s = scratch + (g0 + q) * nscen;
                for (uint64_t i = 0; i < nscen; i++)
                    s[i] += wk * col[i];
            }
        }
        for (size_t q = 0; q < cnt; q++) {
            double *s = scratch + (g0 + q) * nscen;
            for (uint64_t i = 0; i < nscen; i++)
                s[i] = -s[i];
            double v, e;
            zc_risk_tail(s, nscen, c, &v, &e);
            var[port0 + g0 + q] = v;
            es[port0 + g0 + q] = e;
        }
    }
}

/* Monte Carlo paths in blocks of MC_LANES side by side.
 *
 * With AVX2 and FMA (and zkclob.zk.set_simd not "scalar") a block is
 * kernels_risk_avx2.c's: vector Philox, Box-Muller through libmvec, x = mu +
 * L z as a register-blocked fma micro-kernel and vector repricing. Otherwise
 * the portable path below: the shared scalar zc_risk_normals per path, then
 * the correlation as independent per-lane sums the compiler vectorises, each
 * lane performing exactly zc_risk_correlate's operations in its order (ISO C:
 * no contraction), so it matches the opencl/cuda kernels. Either way a path's
 * result depends only on (seed, path), never on the block or thread it runs
 * in; the two paths agree to the transcendental and fma rounding. */
#define MC_LANES ZC_RISK_AVX2_LANES

/* Four lanes as one GCC vector: element-wise mul and add are the scalar
 * IEEE operations. */
typedef double v4d __attribute__((vector_size(32)));

/* Portable shocks of paths path .. path + MC_LANES - 1 into zb (lanes past
 * the launch are computed and ignored). */
static void block_shocks(uint64_t key, uint64_t path, uint32_t n, const double *chol, const double *mu,
                         v4d zb[][MC_LANES / 4])
{
    double z[ZC_RISK_MAX_ASSETS];
    for (size_t l = 0; l < MC_LANES; l++) {
        zc_risk_normals(key, path + l, n, z);
        for (uint32_t k = 0; k < n; k++)
            zb[k][l / 4][l % 4] = z[k];
    }
    for (uint32_t r = n; r-- > 0;) {
        const double *row = chol + (size_t)r * n;
        v4d acc0 = {mu[r], mu[r], mu[r], mu[r]}, acc1 = acc0;
        for (uint32_t k = 0; k <= r; k++) {
            v4d c = {row[k], row[k], row[k], row[k]};
            acc0 += c * zb[k][0];
            acc1 += c * zb[k][1];
        }
        zb[r][0] = acc0;
        zb[r][1] = acc1;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define MC_AVX2 1

/* Whether blocks go through kernels_risk_avx2.c. */
static int use_avx2(void) { return zc_cpu_simd_get() == ZC_SIMD_AVX2 && __builtin_cpu_supports("fma"); }

static void mc_avx2(const zc_karg *a, size_t begin, size_t end)
{
    double *losses = zc_cpu_ptr(&a[0]);
    const double *chol = zc_cpu_ptr(&a[5]), *mu = zc_cpu_ptr(&a[6]), *spot = zc_cpu_ptr(&a[7]),
                 *pos = zc_cpu_ptr(&a[8]);
    uint64_t path0 = a[1].v.u64, key = a[3].v.u64, npos = a[9].v.u64;
    uint32_t n = a[4].v.u32, geometric = a[10].v.u32;
    double horizon = a[11].v.f64, rate = a[12].v.f64, v0 = a[13].v.f64;
    _Alignas(32) double z[ZC_RISK_MAX_ASSETS * MC_LANES];
    double block[MC_LANES];
    for (size_t g0 = begin; g0 < end; g0 += MC_LANES) {
        size_t cnt = end - g0 < MC_LANES ? end - g0 : MC_LANES;
        zc_cpu_risk_losses8(key, path0 + g0, n, chol, mu, spot, pos, npos, geometric, horizon, rate, v0, z, block);
        for (size_t l = 0; l < cnt; l++)
            losses[g0 + l] = block[l];
    }
}

static void shocks_avx2(const zc_karg *a, size_t begin, size_t end)
{
    double *out = zc_cpu_ptr(&a[0]);
    const double *chol = zc_cpu_ptr(&a[5]), *mu = zc_cpu_ptr(&a[6]);
    uint64_t path0 = a[1].v.u64, key = a[3].v.u64;
    uint32_t n = a[4].v.u32;
    _Alignas(32) double z[ZC_RISK_MAX_ASSETS * MC_LANES];
    for (size_t g0 = begin; g0 < end; g0 += MC_LANES) {
        size_t cnt = end - g0 < MC_LANES ? end - g0 : MC_LANES;
        zc_cpu_risk_shocks8(key, path0 + g0, n, chol, mu, z);
        for (size_t l = 0; l < cnt; l++)
            for (uint32_t k = 0; k < n; k++)
                out[(g0 + l) * n + k] = z[k * MC_LANES + l];
    }
}
#endif

/* args: losses, path0, count, key, n, chol, mu, spot, pos, npos, geometric, horizon, rate, v0 */
void zc_cpu_risk_mc(const zc_karg *a, size_t begin, size_t end)
{
#ifdef MC_AVX2
    if (use_avx2()) {
        mc_avx2(a, begin, end);
        return;
    }
#endif
    double *losses = zc_cpu_ptr(&a[0]);
    const double *chol = zc_cpu_ptr(&a[5]), *mu = zc_cpu_ptr(&a[6]), *spot = zc_cpu_ptr(&a[7]),
                 *pos = zc_cpu_ptr(&a[8]);
    uint64_t path0 = a[1].v.u64, key = a[3].v.u64, npos = a[9].v.u64;
    uint32_t n = a[4].v.u32, geometric = a[10].v.u32;
    double horizon = a[11].v.f64, rate = a[12].v.f64, v0 = a[13].v.f64;
    v4d zb[ZC_RISK_MAX_ASSETS][MC_LANES / 4];
    double z[ZC_RISK_MAX_ASSETS];
    for (size_t g0 = begin; g0 < end; g0 += MC_LANES) {
        size_t cnt = end - g0 < MC_LANES ? end - g0 : MC_LANES;
        block_shocks(key, path0 + g0, n, chol, mu, zb);
        for (size_t l = 0; l < cnt; l++) {
            for (uint32_t k = 0; k < n; k++)
                z[k] = zb[k][l / 4][l % 4];
            losses[g0 + l] = v0 - zc_risk_value(pos, npos, spot, z, 1, geometric, horizon, rate);
        }
    }
}

/* args: out, path0, count, key, n, chol, mu */
void zc_cpu_risk_mc_shocks(const zc_karg *a, size_t begin, size_t end)
{
#ifdef MC_AVX2
    if (use_avx2()) {
        shocks_avx2(a, begin, end);
        return;
    }
#endif
    double *out = zc_cpu_ptr(&a[0]);
    const double *chol = zc_cpu_ptr(&a[5]), *mu = zc_cpu_ptr(&a[6]);
    uint64_t path0 = a[1].v.u64, key = a[3].v.u64;
    uint32_t n = a[4].v.u32;
    v4d zb[ZC_RISK_MAX_ASSETS][MC_LANES / 4];
    for (size_t g0 = begin; g0 < end; g0 += MC_LANES) {
        size_t cnt = end - g0 < MC_LANES ? end - g0 : MC_LANES;
        block_shocks(key, path0 + g0, n, chol, mu, zb);
        for (size_t l = 0; l < cnt; l++)
            for (uint32_t k = 0; k < n; k++)
                out[(g0 + l) * n + k] = zb[k][l / 4][l % 4];
    }
}

/* args: pnl, shocks, count, n, spot, pos, npos, geometric, horizon, rate, v0 */
void zc_cpu_risk_stress(const zc_karg *a, size_t begin, size_t end)
{
    double *pnl = zc_cpu_ptr(&a[0]);
    const double *shocks = zc_cpu_ptr(&a[1]), *spot = zc_cpu_ptr(&a[4]), *pos = zc_cpu_ptr(&a[5]);
    uint64_t n = a[3].v.u64;
    for (size_t g = begin; g < end; g++)
        pnl[g] = zc_risk_value_g(pos, a[6].v.u64, spot, shocks + g * n, 1, a[7].v.u32, a[8].v.f64, a[9].v.f64) -
                 a[10].v.f64;
}

/* args: spec, lambda, out, ndist, len, poisson */
void zc_cpu_risk_fft_combine(const zc_karg *a, size_t begin, size_t end)
{
    const double *spec = zc_cpu_ptr(&a[0]), *lambda = zc_cpu_ptr(&a[1]);
    double *out = zc_cpu_ptr(&a[2]);
    for (size_t k = begin; k < end; k++)
        zc_risk_fft_combine_item(spec, lambda, out, a[3].v.u64, a[4].v.u64, a[5].v.u32, k);
}
