/* Cholesky factor, Monte Carlo VaR/ES (fused generation, repricing and loss
 * per block of paths on any backend, then selection on the host), Monte
 * Carlo scenarios and stress revaluation. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/risk.h"
#include "../core/internal.h"
#include "risk_internal.h"

_Static_assert(ZC_RISK_MC_MAX_ASSETS == ZC_RISK_MAX_ASSETS, "public limit is the kernels' private array size");
_Static_assert(ZC_RISK_LINEAR == ZC_RISK_KIND_LINEAR && ZC_RISK_CALL == ZC_RISK_KIND_CALL &&
                   ZC_RISK_PUT == ZC_RISK_KIND_PUT,
               "public kinds mirror kernels/risk.h");

/* Paths per launch: bounds the loss buffer a non-shared device holds. */
#define MC_PATHS_PER_LAUNCH ((uint64_t)1 << 20)
/* Two-sided 95% normal quantile for the order-statistic interval. */
#define Z95 1.959963984540054

zc_status zc_risk_cholesky(const double *cov, size_t n, double *chol)
{
    if (!cov || !chol)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "cov and chol must not be NULL");
    ZC_CHECK(zc_risk_check_size("cov", n, n));
    ZC_CHECK(zc_risk_check_finite("cov", cov, n * n));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            double a = cov[i * n + j], b = cov[j * n + i];
            double scale = fmax(fabs(a), fabs(b));
            if (fabs(a - b) > 1e-12 * scale)
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "covariance is not symmetric: [%zu, %zu] = %.17g but [%zu, %zu] = %.17g",
                              i, j, a, j, i, b);
        }
    memset(chol, 0, n * n * sizeof(double));
    for (size_t j = 0; j < n; j++) {
        double d = cov[j * n + j];
        for (size_t k = 0; k < j; k++)
            d -= chol[j * n + k] * chol[j * n + k];
        /* A pivot at rounding level of the diagonal is a singular matrix. */
        if (!(d > (double)n * DBL_EPSILON * fabs(cov[j * n + j])) || !(d > 0.0))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                          "covariance is not positive definite: Cholesky pivot %zu is %g (diagonal %g)", j, d,
                          cov[j * n + j]);
        double ljj = sqrt(d);
        chol[j * n + j] = ljj;
        for (size_t i = j + 1; i < n; i++) {
            double s = cov[i * n + j];
            for (size_t k = 0; k < j; k++)
                s -= chol[i * n + k] * chol[j * n + k];
            chol[i * n + j] = s / ljj;
        }
    }
    return ZC_OK;
}

/* ---- market and positions ---- */

static zc_status check_market(const zc_risk_market *mkt)
{
    if (!mkt || !mkt->spot)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "market and its spot prices must not be NULL");
    if (mkt->nasset == 0 || mkt->nasset > SIZE_MAX / sizeof(double) / (mkt->nasset + 1))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "market has %zu assets", mkt->nasset);
    ZC_CHECK(zc_risk_check_finite("spot", mkt->spot, mkt->nasset));
    if (!isfinite(mkt->horizon) || mkt->horizon < 0.0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "horizon must be finite and >= 0, got %g", mkt->horizon);
    if (!isfinite(mkt->rate))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "rate must be finite, got %g", mkt->rate);
    return ZC_OK;
}

/* Checks the positions and packs them for the kernels (malloc'd). */
static zc_status pack_positions(const zc_risk_position *pos, size_t npos, size_t nasset, double **out)
{
    if (!pos || npos == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "at least one position is needed");
    if (npos > SIZE_MAX / sizeof(double) / ZC_RISK_POS_STRIDE)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu positions is too many", npos);
    for (size_t i = 0; i < npos; i++) {
        const zc_risk_position *p = &pos[i];
        if (p->asset >= nasset)
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "position %zu: asset %u is not below %zu", i, p->asset, nasset);
        if (p->kind > ZC_RISK_PUT)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "position %zu: unknown kind %u", i, p->kind);
        if (!isfinite(p->qty))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "position %zu: qty must be finite", i);
        if (p->kind != ZC_RISK_LINEAR &&
            !(isfinite(p->strike) && p->strike > 0.0 && isfinite(p->expiry) && p->expiry >= 0.0 &&
              isfinite(p->vol) && p->vol >= 0.0))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                          "position %zu: options need strike > 0, expiry >= 0 and vol >= 0 (finite)", i);
    }
    double *packed = malloc(npos * ZC_RISK_POS_STRIDE * sizeof(double));
    if (!packed)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "packed positions");
    for (size_t i = 0; i < npos; i++) {
        double *q = packed + i * ZC_RISK_POS_STRIDE;
        int lin = pos[i].kind == ZC_RISK_LINEAR;
        q[0] = (double)pos[i].asset;
        q[1] = (double)pos[i].kind;
        q[2] = pos[i].qty;
        q[3] = lin ? 0.0 : pos[i].strike;
        q[4] = lin ? 0.0 : pos[i].expiry;
        q[5] = lin ? 0.0 : pos[i].vol;
    }
    *out = packed;
    return ZC_OK;
}

/* The factor and mean (zeros when NULL) of the shocks: one malloc'd block,
 * chol (n x n) followed by mu (n). */
static zc_status shock_model(const double *mean, const double *cov, size_t n, double **out)
{
    if (!cov)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "cov must not be NULL");
    if (n == 0 || n > ZC_RISK_MC_MAX_ASSETS)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "Monte Carlo takes 1 to %d assets, got %zu", ZC_RISK_MC_MAX_ASSETS, n);
    if (mean)
        ZC_CHECK(zc_risk_check_finite("mean", mean, n));
    double *m = malloc((n * n + n) * sizeof(double));
    if (!m)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "Cholesky factor");
    zc_status st = zc_risk_cholesky(cov, n, m);
    if (st != ZC_OK) {
        free(m);
        return st;
    }
    for (size_t i = 0; i < n; i++)
        m[n * n + i] = mean ? mean[i] : 0.0;
    *out = m;
    return ZC_OK;
}

/* ---- Monte Carlo losses ---- */

typedef struct mc_job {
    const zc_risk_market *mkt;
    uint64_t seed, paths;
    const double *model; /* chol then mu */
    const double *pos;   /* packed */
    size_t npos;
    double v0;
    double *losses; /* paths entries */
} mc_job;

static zc_status mc_op(int dev, void *user)
{
    const mc_job *job = user;
    size_t n = job->mkt->nasset;
    int shared;
    ZC_CHECK(zc_risk_shared(dev, &shared));
    zc_devbuf *chol = NULL, *mu = NULL, *spot = NULL, *pos = NULL;
    zc_status st = zc_risk_buf_in(dev, shared, job->model, n * n * sizeof(double), &chol);
    if (st == ZC_OK)
        st = zc_risk_buf_in(dev, shared, job->model + n * n, n * sizeof(double), &mu);
    if (st == ZC_OK)
        st = zc_risk_buf_in(dev, shared, job->mkt->spot, n * sizeof(double), &spot);
    if (st == ZC_OK)
        st = zc_risk_buf_in(dev, shared, job->pos, job->npos * ZC_RISK_POS_STRIDE * sizeof(double), &pos);
    for (uint64_t p0 = 0; p0 < job->paths && st == ZC_OK; p0 += MC_PATHS_PER_LAUNCH) {
        uint64_t count = job->paths - p0 < MC_PATHS_PER_LAUNCH ? job->paths - p0 : MC_PATHS_PER_LAUNCH;
        double *host = job->losses + p0;
        zc_devbuf *out = NULL;
        st = zc_risk_buf_out(dev, shared, host, count * sizeof(double), &out);
        if (st != ZC_OK)
            break;
        zc_karg args[] = {zc_arg_buf(out),        zc_arg_u64(p0),        zc_arg_u64(count),
                          zc_arg_u64(job->seed),  zc_arg_u32((uint32_t)n), zc_arg_buf(chol),
                          zc_arg_buf(mu),         zc_arg_buf(spot),      zc_arg_buf(pos),
                          zc_arg_u64(job->npos),  zc_arg_u32(job->mkt->geometric ? 1u : 0u),
                          zc_arg_f64(job->mkt->horizon), zc_arg_f64(job->mkt->rate), zc_arg_f64(job->v0)};
        st = zc_launch(dev, "zc_risk_mc", (size_t)count, args, 14);
        if (st == ZC_OK)
            st = zc_risk_buf_fetch(shared, out, host, count * sizeof(double));
        zc_buf_free(out);
    }
    zc_buf_free(pos);
    zc_buf_free(spot);
    zc_buf_free(mu);
    zc_buf_free(chol);
    return st;
}

/* Order statistic k (0-based) of a[0..n); reorders a. */
static double order_stat(double *a, uint64_t n, double k)
{
    uint64_t i = k <= 0.0 ? 0 : (k >= (double)(n - 1) ? n - 1 : (uint64_t)k);
    zc_risk_select(a, n, i);
    return a[i];
}

/* VaR, ES, their uncertainty and the loss moments of a[0..n); reorders a. */
static void summarise(double *a, uint64_t n, double c, zc_risk_mc_result *r)
{
    double sum = 0.0;
    for (uint64_t i = 0; i < n; i++)
        sum += a[i];
    double mean = sum / (double)n, ss = 0.0;
    for (uint64_t i = 0; i < n; i++)
        ss += (a[i] - mean) * (a[i] - mean);
    r->mean = mean;
    r->std = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    zc_risk_tail(a, n, c, &r->var, &r->es);
    double tv = 0.0;
    uint64_t tail = 0;
    for (uint64_t i = 0; i < n; i++)
        if (a[i] >= r->var) {
            tv += (a[i] - r->es) * (a[i] - r->es);
            tail++;
        }
    r->tail = tail;
    tv = tail > 1 ? tv / (double)(tail - 1) : 0.0;
    double gap = r->es - r->var;
    r->es_se = sqrt((tv + c * gap * gap) / ((double)n * (1.0 - c)));
    /* The count of losses below the c-quantile is Binomial(n, c): the order
     * statistics at its 95% bounds bracket the true VaR. */
    double half = Z95 * sqrt((double)n * c * (1.0 - c));
    r->var_lo = order_stat(a, n, floor((double)n * c - half) - 1.0);
    r->var_hi = order_stat(a, n, ceil((double)n * c + half));
}

zc_status zc_risk_monte_carlo(int *device, const zc_risk_mc_params *p, const zc_risk_market *mkt, const double *mean,
                              const double *cov, const zc_risk_position *pos, size_t npos, zc_risk_mc_result *out,
                              double *losses)
{
    if (!device || !p || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, params and out must not be NULL");
    ZC_CHECK(zc_risk_check_confidence(p->confidence));
    if (p->paths == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "Monte Carlo needs at least one path");
    if (p->paths > SIZE_MAX / sizeof(double))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%llu paths is too many", (unsigned long long)p->paths);
    ZC_CHECK(check_market(mkt));
    double *packed = NULL, *model = NULL;
    ZC_CHECK(pack_positions(pos, npos, mkt->nasset, &packed));
    zc_status st = shock_model(mean, cov, mkt->nasset, &model);
    double *work = losses;
    if (st == ZC_OK && !work) {
        work = malloc((size_t)p->paths * sizeof(double));
        if (!work)
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "losses of %llu paths", (unsigned long long)p->paths);
    }
    if (st == ZC_OK) {
        double v0 = zc_risk_value(packed, npos, mkt->spot, NULL, 0, 0, 0.0, mkt->rate);
        mc_job job = {mkt, p->seed, p->paths, model, packed, npos, v0, work};
        st = zc_run(device, "risk_monte_carlo", mc_op, &job);
    }
    /* The caller's losses stay in path order: summarise a copy. */
    double *sel = work;
    if (st == ZC_OK && losses) {
        sel = malloc((size_t)p->paths * sizeof(double));
        if (!sel)
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "copy of %llu losses", (unsigned long long)p->paths);
        else
            memcpy(sel, losses, (size_t)p->paths * sizeof(double));
    }
    if (st == ZC_OK && zc_risk_check_finite("Monte Carlo loss", sel, (size_t)p->paths) != ZC_OK)
        st = ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a Monte Carlo path has a non-finite loss: shocks overflow the prices");
    if (st == ZC_OK)
        summarise(sel, p->paths, p->confidence, out);
    if (sel != work)
        free(sel);
    if (work != losses)
        free(work);
    free(model);
    free(packed);
    return st;
}

/* ---- scenarios ---- */

typedef struct shock_job {
    uint64_t seed, path0;
    size_t npaths, n;
    const double *model;
    double *out;
} shock_job;

static zc_status shock_op(int dev, void *user)
{
    const shock_job *job = user;
    size_t n = job->n, bytes = job->npaths * n * sizeof(double);
    int shared;
    ZC_CHECK(zc_risk_shared(dev, &shared));
    zc_devbuf *chol = NULL, *mu = NULL, *out = NULL;
    zc_status st = zc_risk_buf_in(dev, shared, job->model, n * n * sizeof(double), &chol);
    if (st == ZC_OK)
        st = zc_risk_buf_in(dev, shared, job->model + n * n, n * sizeof(double), &mu);
    if (st == ZC_OK)
        st = zc_risk_buf_out(dev, shared, job->out, bytes, &out);
    if (st == ZC_OK) {
        zc_karg args[] = {zc_arg_buf(out),  zc_arg_u64(job->path0), zc_arg_u64(job->npaths), zc_arg_u64(job->seed),
                          zc_arg_u32((uint32_t)n), zc_arg_buf(chol), zc_arg_buf(mu)};
        st = zc_launch(dev, "zc_risk_mc_shocks", job->npaths, args, 7);
    }
    if (st == ZC_OK)
        st = zc_risk_buf_fetch(shared, out, job->out, bytes);
    zc_buf_free(out);
    zc_buf_free(mu);
    zc_buf_free(chol);
    return st;
}

zc_status zc_risk_mc_scenarios(int *device, uint64_t seed, uint64_t path0, size_t npaths, size_t nasset,
                               const double *mean, const double *cov, double *shocks)
{
    if (!device || !shocks)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device and shocks must not be NULL");
    if (npaths == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "npaths must be at least 1");
    if (npaths > UINT64_MAX - path0)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "path range overflows the 64-bit path counter");
    double *model;
    ZC_CHECK(shock_model(mean, cov, nasset, &model));
    zc_status st = zc_risk_check_size("shocks", npaths, nasset);
    if (st == ZC_OK) {
        shock_job job = {seed, path0, npaths, nasset, model, shocks};
        st = zc_run(device, "risk_mc_scenarios", shock_op, &job);
    }
    free(model);
    return st;
}

/* ---- stress ---- */

typedef struct stress_job {
    const zc_risk_market *mkt;
    const double *pos, *shocks;
    size_t npos, nshock;
    double v0;
    double *pnl;
} stress_job;

static zc_status stress_op(int dev, void *user)
{
    const stress_job *job = user;
    size_t n = job->mkt->nasset;
    int shared;
    ZC_CHECK(zc_risk_shared(dev, &shared));
    zc_devbuf *shocks = NULL, *spot = NULL, *pos = NULL, *pnl = NULL;
    zc_status st = zc_risk_buf_in(dev, shared, job->shocks, job->nshock * n * sizeof(double), &shocks);
    if (st == ZC_OK)
        st = zc_risk_buf_in(dev, shared, job->mkt->spot, n * sizeof(double), &spot);
    if (st == ZC_OK)
        st = zc_risk_buf_in(dev, shared, job->pos, job->npos * ZC_RISK_POS_STRIDE * sizeof(double), &pos);
    if (st == ZC_OK)
        st = zc_risk_buf_out(dev, shared, job->pnl, job->nshock * sizeof(double), &pnl);
    if (st == ZC_OK) {
        zc_karg args[] = {zc_arg_buf(pnl),          zc_arg_buf(shocks),  zc_arg_u64(job->nshock),
                          zc_arg_u64(n),            zc_arg_buf(spot),    zc_arg_buf(pos),
                          zc_arg_u64(job->npos),    zc_arg_u32(job->mkt->geometric ? 1u : 0u),
                          zc_arg_f64(job->mkt->horizon), zc_arg_f64(job->mkt->rate), zc_arg_f64(job->v0)};
        st = zc_launch(dev, "zc_risk_stress", job->nshock, args, 11);
    }
    if (st == ZC_OK)
        st = zc_risk_buf_fetch(shared, pnl, job->pnl, job->nshock * sizeof(double));
    zc_buf_free(pnl);
    zc_buf_free(pos);
    zc_buf_free(spot);
    zc_buf_free(shocks);
    return st;
}

zc_status zc_risk_stress(int *device, const zc_risk_market *mkt, const zc_risk_position *pos, size_t npos,
                         const double *shocks, size_t nshock, double *pnl)
{
    if (!device || !shocks || !pnl)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, shocks and pnl must not be NULL");
    ZC_CHECK(check_market(mkt));
    ZC_CHECK(zc_risk_check_size("shocks", nshock, mkt->nasset));
    ZC_CHECK(zc_risk_check_finite("shocks", shocks, nshock * mkt->nasset));
    double *packed;
    ZC_CHECK(pack_positions(pos, npos, mkt->nasset, &packed));
    double v0 = zc_risk_value(packed, npos, mkt->spot, NULL, 0, 0, 0.0, mkt->rate);
    stress_job job = {mkt, packed, shocks, npos, nshock, v0, pnl};
    zc_status st = zc_run(device, "risk_stress", stress_op, &job);
    free(packed);
    return st;
}
