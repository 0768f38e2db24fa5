/* Incremental correlation (EWMA and rolling windows) and breakdown detection.
 * Semantics are in zkclob/risk.h.
 *
 * Co-moment matrices are stored as packed upper triangles (row i holds
 * columns i .. n-1), which halves the memory each observation streams
 * through. One observation updates every configured matrix in one pass; the
 * pass is split into tasks of two rows, i and n-1-i, so every task does the
 * same n + 1 entries, and large n spreads the tasks over a thread pool. Each
 * entry is written by exactly one task with the same operations, so results
 * do not depend on the thread count. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/internal.h"
#include "../core/threadpool.h"
#include "zkclob/risk.h"

#define PARALLEL_MIN_N 96     /* below this a fork-join costs more than the pass */
#define POWER_MAX_ITER 500
#define POWER_TOL 1e-13

/* Co-moments of a sample: count, means, packed sum of cross-deviations. */
typedef struct moments {
    uint64_t count;
    double *m, *C;
    /* This observation: C += a_i b_j (add), and also -= c_i d_j (slide). */
    double *a, *b, *c, *d;
    int add, slide;
} moments;

struct zc_corr_tracker {
    pthread_mutex_t lock;
    zc_corr_config cfg;
    uint32_t n;
    size_t packed;
    uint64_t count;
    zc_threadpool *pool;

    /* EWMA: means, packed covariance, this observation's d = m - m', e = x - m'. */
    double *em, *eC, *ed, *ee;
    int ewma_step;

    /* Windows: the short one (S) feeds the reference (R); without breakdown
     * detection R alone is the rolling window. */
    moments S, R;
    uint32_t ncap_s, ncap_r; /* their sizes */
    double *ring;            /* last `window` observations, row (count % window) */
    uint64_t since_refresh;

    double *eigv, *tmp, *full; /* power iteration and dense scratch */
};

static size_t row_off(uint32_t n, uint32_t i) { return (size_t)i * (2 * (size_t)n - i + 1) / 2; }

static int moments_alloc(moments *s, uint32_t n, size_t packed)
{
    s->m = calloc(n, sizeof *s->m);
    s->C = calloc(packed, sizeof *s->C);
    s->a = calloc(4 * (size_t)n, sizeof *s->a);
    if (!s->m || !s->C || !s->a)
        return 0;
    s->b = s->a + n;
    s->c = s->b + n;
    s->d = s->c + n;
    return 1;
}

static void moments_free(moments *s)
{
    free(s->m);
    free(s->C);
    free(s->a);
}

void zc_corr_destroy(zc_corr_tracker *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    if (t->pool)
        zc_threadpool_destroy(t->pool);
    free(t->em);
    free(t->eC);
    free(t->ed);
    moments_free(&t->S);
    moments_free(&t->R);
    free(t->ring);
    free(t->eigv);
    free(t->tmp);
    free(t->full);
    free(t);
}

zc_status zc_corr_create(const zc_corr_config *cfg, zc_corr_tracker **out)
{
    if (!cfg || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "cfg and out must not be NULL");
    *out = NULL;
    zc_corr_config c = *cfg;
    if (c.n < 2 || c.n > 65536)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "n must be in [2, 65536], got %u", c.n);
    if (!(c.alpha >= 0 && c.alpha <= 1))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "alpha must be in (0, 1] (0 = no EWMA), got %g", c.alpha);
    if (c.window == 1)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "window must be >= 2 (0 = none), got 1");
    if (c.alpha == 0 && c.window == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "configure alpha (EWMA), window (rolling) or both");
    if (c.short_window && (c.short_window < 4 || (uint64_t)c.short_window + 8 > c.window))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "short_window must be in [4, window - 8] = [4, %lld], got %u",
                      (long long)c.window - 8, c.short_window);
    if (c.fpr == 0)
        c.fpr = 1e-3;
    if (c.eig_shift == 0)
        c.eig_shift = 0.05;
    if (!(c.fpr > 0 && c.fpr < 1) || !(c.eig_shift > 0 && c.eig_shift <= 1))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "fpr must be in (0, 1) and eig_shift in (0, 1], got %g and %g",
                      c.fpr, c.eig_shift);
    if (c.threads < 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "threads must be >= 0, got %d", c.threads);
    if (c.refresh == 0)
        c.refresh = c.window > UINT32_MAX / 16 ? UINT32_MAX : 16 * c.window;
    zc_corr_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "correlation tracker");
    pthread_mutex_init(&t->lock, NULL);
    t->cfg = c;
    t->n = c.n;
    t->packed = row_off(c.n, c.n);
    int ok = 1;
    if (c.alpha > 0) {
        t->em = calloc(c.n, sizeof *t->em);
        t->eC = calloc(t->packed, sizeof *t->eC);
        t->ed = calloc(2 * (size_t)c.n, sizeof *t->ed);
        ok = t->em && t->eC && t->ed;
        t->ee = ok ? t->ed + c.n : NULL;
    }
    if (ok && c.window) {
        t->ncap_s = c.short_window;
        t->ncap_r = c.window - c.short_window;
        ok = moments_alloc(&t->R, c.n, t->packed) && (!c.short_window || moments_alloc(&t->S, c.n, t->packed));
        t->ring = ok ? malloc((size_t)c.window * c.n * sizeof *t->ring) : NULL;
        ok = ok && t->ring;
    }
    t->eigv = malloc(c.n * sizeof *t->eigv);
    t->tmp = malloc(c.n * sizeof *t->tmp);
    t->full = malloc((size_t)c.n * c.n * sizeof *t->full);
    if (!ok || !t->eigv || !t->tmp || !t->full) {
        zc_corr_destroy(t);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "correlation tracker of %u assets", c.n);
    }
    for (uint32_t i = 0; i < c.n; i++)
        t->eigv[i] = 1.0 / sqrt((double)c.n);
    int threads = c.threads ? c.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > 1 && c.n >= PARALLEL_MIN_N) {
        zc_status st = zc_threadpool_create(threads, &t->pool);
        if (st != ZC_OK) {
            zc_corr_destroy(t);
            return st;
        }
    }
    *out = t;
    return ZC_OK;
}

/* Sets a window's per-observation vectors for x in (and y out, or NULL)
 * and moves its means. */
static void moments_step(moments *s, uint32_t n, const double *x, const double *y, uint32_t size)
{
    s->add = 1;
    s->slide = y != NULL && s->count == size;
    if (!s->slide) {
        s->count++;
        double inv = (double)s->count;
        for (uint32_t i = 0; i < n; i++) {
            double mi = s->m[i];
            s->a[i] = x[i] - mi;
            s->m[i] = mi + s->a[i] / inv;
            s->b[i] = x[i] - s->m[i];
        }
        return;
    }
    double cnt = (double)s->count;
    for (uint32_t i = 0; i < n; i++) {
        double mi = s->m[i];
        s->a[i] = x[i] - mi;
        s->c[i] = y[i] - mi;
        s->m[i] = mi + (x[i] - y[i]) / cnt;
        s->b[i] = x[i] - s->m[i];
        s->d[i] = y[i] - s->m[i];
    }
}

static void moments_row(const moments *s, uint32_t n, uint32_t i, size_t off)
{
    double *C = s->C + off - i;
    double ai = s->a[i];
    if (s->slide) {
        double ci = s->c[i];
        for (uint32_t j = i; j < n; j++)
            C[j] += ai * s->b[j] - ci * s->d[j];
    } else {
        for (uint32_t j = i; j < n; j++)
            C[j] += ai * s->b[j];
    }
}

/* pandas divides by (1 - alpha) + alpha, which is exactly 1 in floating point
 * for every alpha in [0, 1] (the rounding error of 1 - alpha is at most half
 * an ulp below 1 and cancels when alpha is added back), so the division is
 * left out without changing a bit. */
static void ewma_row(zc_corr_tracker *t, uint32_t i, size_t off)
{
    double w = 1.0 - t->cfg.alpha, a = t->cfg.alpha;
    double *C = t->eC + off - i;
    double di = t->ed[i], ei = t->ee[i];
    for (uint32_t j = i; j < t->n; j++)
        C[j] = (w * (C[j] + (di * t->ed[j]))) + (a * (ei * t->ee[j]));
}

static void update_row(zc_corr_tracker *t, uint32_t i)
{
    size_t off = row_off(t->n, i);
    if (t->ewma_step)
        ewma_row(t, i, off);
    if (t->S.add)
        moments_row(&t->S, t->n, i, off);
    if (t->R.add)
        moments_row(&t->R, t->n, i, off);
}

static void update_range(void *ctx, size_t begin, size_t end)
{
    zc_corr_tracker *t = ctx;
    for (size_t k = begin; k < end; k++) {
        update_row(t, (uint32_t)k);
        uint32_t mirror = t->n - 1 - (uint32_t)k;
        if (mirror != k)
            update_row(t, mirror);
    }
}

/* Exact co-moments of ring rows [first, first + count) (oldest first). */
static void moments_exact(zc_corr_tracker *t, moments *s, uint64_t first, uint64_t count)
{
    uint32_t n = t->n, W = t->cfg.window;
    memset(s->m, 0, n * sizeof *s->m);
    memset(s->C, 0, t->packed * sizeof *s->C);
    s->count = count;
    if (!count)
        return;
    for (uint64_t r = first; r < first + count; r++) {
        const double *z = t->ring + (size_t)(r % W) * n;
        for (uint32_t i = 0; i < n; i++)
            s->m[i] += z[i];
    }
    for (uint32_t i = 0; i < n; i++)
        s->m[i] /= (double)count;
    for (uint64_t r = first; r < first + count; r++) {
        const double *z = t->ring + (size_t)(r % W) * n;
        for (uint32_t i = 0; i < n; i++)
            t->tmp[i] = z[i] - s->m[i];
        for (uint32_t i = 0; i < n; i++) {
            double *C = s->C + row_off(n, i) - i;
            for (uint32_t j = i; j < n; j++)
                C[j] += t->tmp[i] * t->tmp[j];
        }
    }
}

static void observe(zc_corr_tracker *t, const double *x)
{
    uint32_t n = t->n;
    t->ewma_step = 0;
    if (t->em) {
        if (t->count == 0) {
            memcpy(t->em, x, n * sizeof *x);
        } else {
            double w = 1.0 - t->cfg.alpha, a = t->cfg.alpha;
            for (uint32_t i = 0; i < n; i++) {
                double old = t->em[i];
                if (old != x[i]) /* as pandas; (w + a) == 1 exactly, see ewma_row */
                    t->em[i] = (w * old) + (a * x[i]);
                t->ed[i] = old - t->em[i];
                t->ee[i] = x[i] - t->em[i];
            }
            t->ewma_step = 1;
        }
    }
    t->S.add = t->R.add = 0;
    double *slot = NULL;
    if (t->ring) {
        uint32_t W = t->cfg.window, Sn = t->ncap_s;
        uint64_t k = t->count;
        slot = t->ring + (size_t)(k % W) * n;
        /* Leaving: y = row k - Sn (short -> reference), z = row k - W (out). */
        const double *z = k >= W ? slot : NULL;
        if (Sn) {
            const double *y = k >= Sn ? t->ring + (size_t)((k - Sn) % W) * n : NULL;
            moments_step(&t->S, n, x, y, Sn);
            if (y)
                moments_step(&t->R, n, y, z, t->ncap_r);
        } else {
            moments_step(&t->R, n, x, z, t->ncap_r);
        }
    }
    if (t->ewma_step || t->S.add || t->R.add) {
        size_t tasks = (n + 1) / 2;
        if (t->pool)
            zc_threadpool_parallel_for(t->pool, tasks, 8, 0, update_range, t);
        else
            update_range(t, 0, tasks);
    }
    if (slot)
        memcpy(slot, x, n * sizeof *x); /* after the pass: z lived in this slot */
    t->count++;
    if (t->ring && ++t->since_refresh >= t->cfg.refresh) {
        t->since_refresh = 0;
        uint64_t have = t->count < t->cfg.window ? t->count : t->cfg.window;
        uint64_t in_s = have < t->ncap_s ? have : t->ncap_s;
        uint64_t first = t->count - have;
        moments_exact(t, &t->R, first, have - in_s);
        if (t->ncap_s)
            moments_exact(t, &t->S, first + (have - in_s), in_s);
    }
}

zc_status zc_corr_update(zc_corr_tracker *t, const double *x, size_t rows, size_t n)
{
    if (!t || (!x && rows))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tracker and x must not be NULL");
    if (n != t->n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "observations must have %u values, got %zu", t->n, n);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[r * n + i]))
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "observation %zu, asset %zu is %g: values must be finite", r,
                              i, x[r * n + i]);
    pthread_mutex_lock(&t->lock);
    for (size_t r = 0; r < rows; r++)
        observe(t, x + r * n);
    pthread_mutex_unlock(&t->lock);
    return ZC_OK;
}

zc_status zc_corr_count(zc_corr_tracker *t, uint64_t *count)
{
    if (!t || !count)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tracker and count must not be NULL");
    pthread_mutex_lock(&t->lock);
    *count = t->count;
    pthread_mutex_unlock(&t->lock);
    return ZC_OK;
}

/* Dense symmetric copy of a packed matrix, scaled. */
static void unpack(uint32_t n, const double *C, double scale, double *out)
{
    for (uint32_t i = 0; i < n; i++) {
        const double *row = C + row_off(n, i) - i;
        for (uint32_t j = i; j < n; j++)
            out[(size_t)i * n + j] = out[(size_t)j * n + i] = row[j] * scale;
    }
}

/* Covariance to correlation in place; NaN where a variance is 0 (as numpy
 * and pandas), 1 on the diagonal otherwise. */
static void to_corr(uint32_t n, double *a, double *diag)
{
    for (uint32_t i = 0; i < n; i++)
        diag[i] = a[(size_t)i * n + i];
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
            a[(size_t)i * n + j] /= sqrt(diag[i] > 0 ? diag[i] * diag[j] : 0.0);
}

/* The rolling window's sum of cross-deviations: R alone, or R and S merged
 * (Chan et al.: C = C_R + C_S + (m_R - m_S)(m_R - m_S)' n_R n_S / n). */
static void rolling_dense(zc_corr_tracker *t, double *out, uint64_t *count)
{
    uint32_t n = t->n;
    uint64_t nr = t->R.count, ns = t->ncap_s ? t->S.count : 0;
    unpack(n, t->R.C, 1.0, out);
    *count = nr + ns;
    if (!ns)
        return;
    if (!nr) {
        unpack(n, t->S.C, 1.0, out);
        return;
    }
    double f = (double)nr * (double)ns / (double)(nr + ns);
    for (uint32_t i = 0; i < n; i++) {
        const double *row = t->S.C + row_off(n, i) - i;
        double di = t->R.m[i] - t->S.m[i];
        for (uint32_t j = i; j < n; j++) {
            double v = out[(size_t)i * n + j] + row[j] + di * (t->R.m[j] - t->S.m[j]) * f;
            out[(size_t)i * n + j] = out[(size_t)j * n + i] = v;
        }
    }
}

static zc_status matrix_locked(zc_corr_tracker *t, zc_corr_kind kind, int cov, double *out)
{
    uint32_t n = t->n;
    uint64_t count;
    const char *name[] = {"ewma", "rolling", "short", "reference"};
    if ((unsigned)kind > ZC_CORR_REFERENCE)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown correlation kind %d", (int)kind);
    int configured = kind == ZC_CORR_EWMA ? t->em != NULL
                     : kind == ZC_CORR_ROLLING ? t->ring != NULL
                                               : t->ncap_s != 0;
    if (!configured)
        return ZC_ERR(ZC_ERR_STATE, "the %s correlation is not configured", name[kind]);
    switch (kind) {
    case ZC_CORR_EWMA:
        count = t->count;
        unpack(n, t->eC, 1.0, out);
        break;
    case ZC_CORR_ROLLING:
        rolling_dense(t, out, &count);
        break;
    case ZC_CORR_SHORT:
        count = t->S.count;
        unpack(n, t->S.C, 1.0, out);
        break;
    default:
        count = t->R.count;
        unpack(n, t->R.C, 1.0, out);
        break;
    }
    if (count < 2)
        return ZC_ERR(ZC_ERR_STATE, "the %s correlation needs 2 observations, has %llu", name[kind],
                      (unsigned long long)count);
    if (!cov)
        to_corr(n, out, t->tmp);
    else if (kind != ZC_CORR_EWMA)
        for (size_t i = 0; i < (size_t)n * n; i++)
            out[i] /= (double)(count - 1);
    return ZC_OK;
}

zc_status zc_corr_matrix(zc_corr_tracker *t, zc_corr_kind kind, int cov, double *out)
{
    if (!t || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tracker and out must not be NULL");
    pthread_mutex_lock(&t->lock);
    zc_status st = matrix_locked(t, kind, cov, out);
    pthread_mutex_unlock(&t->lock);
    return st;
}

/* Leading eigenpair of the dense symmetric PSD matrix a by power iteration,
 * warm-started from v (which it updates). */
static double power_iteration(uint32_t n, const double *a, double *v, double *y)
{
    double lambda = 0.0;
    for (int it = 0; it < POWER_MAX_ITER; it++) {
        double norm = 0.0, l = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            double s = 0.0;
            for (uint32_t j = 0; j < n; j++)
                s += a[(size_t)i * n + j] * v[j];
            y[i] = s;
            l += v[i] * s;
            norm += s * s;
        }
        norm = sqrt(norm);
        if (!(norm > 0))
            return 0.0;
        for (uint32_t i = 0; i < n; i++)
            v[i] = y[i] / norm;
        int done = fabs(l - lambda) <= POWER_TOL * fabs(l);
        lambda = l;
        if (done)
            break;
    }
    return lambda;
}

static double corr_of(const double *C, uint32_t n, uint32_t i, uint32_t j)
{
    double cii = C[row_off(n, i)], cjj = C[row_off(n, j)];
    return C[row_off(n, i) + (j - i)] / sqrt(cii > 0 && cjj > 0 ? cii * cjj : 0.0);
}

zc_status zc_corr_detect(zc_corr_tracker *t, zc_corr_breakdown *out, zc_corr_pair_alert *pairs, size_t cap)
{
    if (!t || !out || (!pairs && cap))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tracker, out and pairs must not be NULL");
    if (!t->ncap_s)
        return ZC_ERR(ZC_ERR_STATE, "breakdown detection needs short_window > 0");
    pthread_mutex_lock(&t->lock);
    uint32_t n = t->n;
    memset(out, 0, sizeof *out);
    out->count = t->count;
    double P = (double)n * (n - 1) / 2;
    double lower;
    zc_risk_norm_ppf(t->cfg.fpr / (2 * P), &lower);
    out->threshold = -lower;
    if (t->count < t->cfg.window) {
        pthread_mutex_unlock(&t->lock);
        return ZC_OK;
    }
    out->ready = 1;
    double se = sqrt(1.0 / ((double)t->ncap_s - 3) + 1.0 / ((double)t->ncap_r - 3));
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++) {
            double rs = corr_of(t->S.C, n, i, j), rr = corr_of(t->R.C, n, i, j);
            double z = (atanh(rs) - atanh(rr)) / se;
            if (isnan(z))
                continue; /* a constant series has no correlation to test */
            if (fabs(z) > out->max_abs_z)
                out->max_abs_z = fabs(z);
            if (fabs(z) > out->threshold) {
                if (out->pairs < cap)
                    pairs[out->pairs] = (zc_corr_pair_alert){i, j, rs, rr, z};
                out->pairs++;
            }
        }
    unpack(n, t->R.C, 1.0, t->full);
    to_corr(n, t->full, t->tmp);
    for (size_t k = 0; k < (size_t)n * n; k++)
        if (isnan(t->full[k]))
            t->full[k] = 0.0; /* constant series: no shared variance */
    out->eig_ref = power_iteration(n, t->full, t->eigv, t->tmp) / n;
    unpack(n, t->S.C, 1.0, t->full);
    to_corr(n, t->full, t->tmp);
    double q = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        double s = 0.0;
        for (uint32_t j = 0; j < n; j++) {
            double r = t->full[(size_t)i * n + j];
            s += (isnan(r) ? 0.0 : r) * t->eigv[j];
        }
        q += t->eigv[i] * s;
    }
    out->eig_short = q / n;
    double eig_se = sqrt(2.0 / ((double)t->ncap_s - 1) + 2.0 / ((double)t->ncap_r - 1));
    out->eig_z = out->eig_ref > 0 && q > 0 ? log(out->eig_short / out->eig_ref) / eig_se : 0.0;
    zc_risk_norm_ppf(t->cfg.fpr / 2, &lower);
    out->eig_threshold = -lower;
    out->eig_alert = fabs(out->eig_z) > out->eig_threshold && fabs(out->eig_short - out->eig_ref) > t->cfg.eig_shift;
    out->alert = out->pairs > 0 || out->eig_alert;
    pthread_mutex_unlock(&t->lock);
    return ZC_OK;
}
