/* AVX2 path of the combined indicator kernel (zc_cpu_md_indicators_multi):
 * four symbols in lock step, one per vector lane, over tiles of TILE bars.
 * A tile's inputs are transposed once (bar-major, four lanes per vector) and
 * read by every indicator while they sit in L1; each indicator's outputs are
 * transposed back into the caller's rows.
 *
 * Every lane performs the operations of the scalar state machine in
 * kernels/indicators.h in the same order: vector add, sub, mul, div and sqrt
 * are IEEE lane by lane, TA-Lib's fused steps are the same explicit fma, the
 * file is built with -ffp-contract=off, and comparisons become blends that
 * pick what the scalar branch picks (max/min are written so that ties and
 * signed zeros go the same way). So the results are bit-identical.
 *
 * It is used only for rows whose inputs are all finite: then no lane ever
 * restarts (the gap rule), the four lanes share one phase, control flow is
 * uniform and only data-dependent choices differ per lane. The caller checks
 * zc_cpu_md4_supported() and the CPU (AVX2 and FMA).
 *
 * Once an indicator is seeded, a tile runs a steady-state loop: without the
 * state machine's branches that are settled by then, with the running values
 * in registers (in the state, its stores and loads would sit on every
 * dependency chain), the same operations in the same order. CCI sums the
 * windows of several consecutive bars together. */
#if defined(__x86_64__) && defined(__GNUC__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../../../kernels/indicators.h"
#include "kernels_md_avx2.h"

#define AVX2 __attribute__((target("avx2,fma")))
#define TILE 128

typedef __m256d v4;

#define SET1(x) _mm256_set1_pd(x)
#define ADD _mm256_add_pd
#define SUB _mm256_sub_pd
#define MUL _mm256_mul_pd
#define DIV _mm256_div_pd
#define GT(a, b) _mm256_cmp_pd((a), (b), _CMP_GT_OQ)
#define LT(a, b) _mm256_cmp_pd((a), (b), _CMP_LT_OQ)
/* a > b ? a : b and a < b ? a : b, which is what maxpd/minpd compute. */
#define MAX _mm256_max_pd
#define MIN _mm256_min_pd

static inline AVX2 v4 vabs(v4 x) { return _mm256_andnot_pd(SET1(-0.0), x); }
/* m ? a : b per lane */
static inline AVX2 v4 sel(v4 m, v4 a, v4 b) { return _mm256_blendv_pd(b, a, m); }
static inline AVX2 v4 rget(const double *ring, int32_t slot) { return _mm256_loadu_pd(ring + 4 * (size_t)slot); }
static inline AVX2 void rput(double *ring, int32_t slot, v4 x) { _mm256_storeu_pd(ring + 4 * (size_t)slot, x); }

int zc_cpu_md4_supported(int32_t kind)
{
    switch (kind) {
    case ZC_IND_SMA:
    case ZC_IND_EMA:
    case ZC_IND_RSI:
    case ZC_IND_MACD:
    case ZC_IND_BBANDS:
    case ZC_IND_STDDEV:
    case ZC_IND_ZSCORE:
    case ZC_IND_ATR:
    case ZC_IND_STOCH:
    case ZC_IND_CCI:
    case ZC_IND_ADX:
    case ZC_IND_OBV:
        return 1;
    default:
        return 0;
    }
}

/* ---- vector states: the scalar ones with a v4 per lane-dependent value ---- */

typedef struct sma4 {
    v4 total;
    int64_t k;
    int32_t n, pos;
} sma4;

typedef struct ema4 {
    v4 e;
    double k;
    int64_t count;
    int32_t n;
} ema4;

typedef struct st4 {
    int64_t k;
    union {
        sma4 sma;
        ema4 ema;
        struct {
            v4 prev, gain, loss;
            double inv;
            int32_t n;
        } rsi;
        struct {
            ema4 fast, slow, signal;
            int32_t skip;
        } macd;
        struct {
            v4 ma_total, shift, t1, t2;
            double inv, nbdev, nbdev2;
            int32_t n, pos, reseed[4];
        } var;
        struct {
            v4 prev_close, atr, total;
            double alpha, beta;
            int32_t n;
        } atr;
        struct {
            v4 hi, lo;
            sma4 slowk, slowd;
            int32_t n, r, full;
        } stoch;
        struct {
            int32_t n, pos;
        } cci;
        struct {
            v4 ph, pl, pc, mdm, pdm, tr, sumdx, adx;
            int32_t n;
        } adx;
        struct {
            v4 obv, prev;
        } obv;
    } u;
} st4;

static inline AVX2 sma4 sma4_from(const zc_sma_t *s)
{
    sma4 v = {SET1(s->total), s->k, s->n, s->pos};
    return v;
}

static inline AVX2 ema4 ema4_from(const zc_ema_t *s)
{
    ema4 v = {SET1(s->e), s->k, s->count, s->n};
    return v;
}

/* The vector state of a fresh series: the scalar initial state in every lane. */
static AVX2 void st4_init(const zc_ind_params *p, st4 *v)
{
    zc_ind_state s;
    zc_ind_init(p, &s);
    memset(v, 0, sizeof *v);
    switch (p->kind) {
    case ZC_IND_SMA:
        v->u.sma = sma4_from(&s.sma);
        break;
    case ZC_IND_EMA:
        v->u.ema = ema4_from(&s.ema);
        break;
    case ZC_IND_RSI:
        v->u.rsi.prev = SET1(s.rsi.prev);
        v->u.rsi.gain = SET1(s.rsi.gain);
        v->u.rsi.loss = SET1(s.rsi.loss);
        v->u.rsi.inv = s.rsi.inv;
        v->u.rsi.n = s.rsi.n;
        break;
    case ZC_IND_MACD:
        v->u.macd.fast = ema4_from(&s.macd.fast);
        v->u.macd.slow = ema4_from(&s.macd.slow);
        v->u.macd.signal = ema4_from(&s.macd.signal);
        v->u.macd.skip = s.macd.skip;
        break;
    case ZC_IND_ATR:
        v->u.atr.prev_close = SET1(s.atr.prev_close);
        v->u.atr.atr = SET1(s.atr.atr);
        v->u.atr.total = SET1(s.atr.total);
        v->u.atr.alpha = s.atr.alpha;
        v->u.atr.beta = s.atr.beta;
        v->u.atr.n = s.atr.n;
        break;
    case ZC_IND_STOCH:
        v->u.stoch.hi = SET1(s.stoch.mm.hi);
        v->u.stoch.lo = SET1(s.stoch.mm.lo);
        v->u.stoch.slowk = sma4_from(&s.stoch.slowk);
        v->u.stoch.slowd = sma4_from(&s.stoch.slowd);
        v->u.stoch.n = s.stoch.n;
        v->u.stoch.r = s.stoch.mm.r;
        v->u.stoch.full = s.stoch.mm.full;
        break;
    case ZC_IND_CCI:
        v->u.cci.n = s.cci.n;
        v->u.cci.pos = s.cci.pos;
        break;
    case ZC_IND_ADX:
        v->u.adx.ph = SET1(s.adx.ph);
        v->u.adx.pl = SET1(s.adx.pl);
        v->u.adx.pc = SET1(s.adx.pc);
        v->u.adx.mdm = SET1(s.adx.mdm);
        v->u.adx.pdm = SET1(s.adx.pdm);
        v->u.adx.tr = SET1(s.adx.tr);
        v->u.adx.sumdx = SET1(s.adx.sumdx);
        v->u.adx.adx = SET1(s.adx.adx);
        v->u.adx.n = s.adx.n;
        break;
    case ZC_IND_OBV:
        v->u.obv.obv = SET1(s.obv.obv);
        v->u.obv.prev = SET1(s.obv.prev);
        break;
    default: /* BBANDS, STDDEV, ZSCORE */
        v->u.var.ma_total = SET1(s.var.v.ma_total);
        v->u.var.shift = SET1(s.var.v.shift);
        v->u.var.t1 = SET1(s.var.v.t1);
        v->u.var.t2 = SET1(s.var.v.t2);
        v->u.var.inv = s.var.v.inv;
        v->u.var.nbdev = s.var.nbdev;
        v->u.var.nbdev2 = s.var.nbdev2;
        v->u.var.n = s.var.v.n;
        v->u.var.pos = s.var.v.pos;
        for (int l = 0; l < 4; l++)
            v->u.var.reseed[l] = s.var.v.reseed;
        break;
    }
}

/* ---- steps: zc_*_step of kernels/indicators.h over four lanes ---- */

static inline AVX2 int sma4_step(sma4 *s, double *ring, v4 x, v4 *out)
{
    rput(ring, s->pos, x);
    s->pos = zc_ind_wrap(s->pos, s->n);
    s->total = ADD(s->total, x);
    if (s->k++ < s->n - 1)
        return 0;
    *out = DIV(s->total, SET1((double)s->n));
    s->total = SUB(s->total, rget(ring, s->pos));
    return 1;
}

static inline AVX2 int ema4_step(ema4 *s, v4 x, v4 *out)
{
    if (s->count < s->n) {
        s->e = ADD(s->e, x);
        if (++s->count < s->n)
            return 0;
        s->e = DIV(s->e, SET1((double)s->n));
    } else {
        s->e = _mm256_fmadd_pd(SUB(x, s->e), SET1(s->k), s->e);
    }
    *out = s->e;
    return 1;
}

static inline AVX2 v4 true_range4(v4 h, v4 l, v4 pc)
{
    v4 greatest = SUB(h, l);
    greatest = MAX(vabs(SUB(pc, h)), greatest);
    return MAX(vabs(SUB(pc, l)), greatest);
}

/* One lane of zc_var_step's re-anchoring, on that lane's ring slots. */
static void var_reseed_lane(const double *ring, int l, int32_t n, int32_t pos, double inv, double oldest,
                            double *shift, double *t1, double *t2, double *var)
{
    double sum = 0.0;
    int32_t j = pos;
    for (int32_t i = 0; i < n; i++, j = zc_ind_wrap(j, n))
        sum += ring[4 * (size_t)j + (size_t)l];
    *shift = sum * inv;
    *t1 = 0.0;
    *t2 = 0.0;
    j = pos;
    for (int32_t i = 0; i < n; i++, j = zc_ind_wrap(j, n)) {
        double e = ring[4 * (size_t)j + (size_t)l] - *shift;
        *t1 += e;
        e = e * e;
        *t2 += e;
    }
    double m1 = *t1 * inv;
    *var = *t2 * inv - m1 * m1;
    if (*var < 0.000000000001 * (*t2 * inv))
        *var = 0.0;
    double d = oldest - *shift;
    *t1 -= d;
    d = d * d;
    *t2 -= d;
}

/* The lanes of `mask` (precision lost) and those whose countdown runs out
 * now: their running sums and variance recomputed from the window. */
static inline AVX2 void var_reseed(__typeof__(((st4 *)0)->u.var) *s, const double *ring, int32_t pos, int mask,
                                   v4 oldest, v4 *shift, v4 *t1, v4 *t2, v4 *var)
{
    for (int l = 0; l < 4; l++)
        if (--s->reseed[l] <= 0)
            mask |= 1 << l;
    if (!mask)
        return;
    double sh[4], a1[4], a2[4], vv[4], od[4];
    _mm256_storeu_pd(sh, *shift);
    _mm256_storeu_pd(a1, *t1);
    _mm256_storeu_pd(a2, *t2);
    _mm256_storeu_pd(vv, *var);
    _mm256_storeu_pd(od, oldest);
    for (int l = 0; l < 4; l++) {
        if (!(mask & (1 << l)))
            continue;
        s->reseed[l] = 32 * s->n;
        var_reseed_lane(ring, l, s->n, pos, s->inv, od[l], &sh[l], &a1[l], &a2[l], &vv[l]);
    }
    *shift = _mm256_loadu_pd(sh);
    *t1 = _mm256_loadu_pd(a1);
    *t2 = _mm256_loadu_pd(a2);
    *var = _mm256_loadu_pd(vv);
}

static inline AVX2 int var4_step(st4 *st, double *ring, v4 x, v4 *mean, v4 *variance)
{
    __typeof__(st->u.var) *s = &st->u.var;
    int32_t n = s->n;
    v4 inv = SET1(s->inv);
    rput(ring, s->pos, x);
    s->pos = zc_ind_wrap(s->pos, n);
    if (st->k == 0)
        s->shift = x;
    s->ma_total = ADD(s->ma_total, x);
    v4 d = SUB(x, s->shift);
    s->t1 = ADD(s->t1, d);
    d = MUL(d, d);
    s->t2 = ADD(s->t2, d);
    if (st->k++ < n - 1)
        return 0;

    v4 m1 = MUL(s->t1, inv);
    v4 var = SUB(MUL(s->t2, inv), MUL(m1, m1));
    *mean = DIV(s->ma_total, SET1((double)n));
    v4 oldest = rget(ring, s->pos);
    s->ma_total = SUB(s->ma_total, oldest);
    d = SUB(oldest, s->shift);
    s->t1 = SUB(s->t1, d);
    d = MUL(d, d);
    s->t2 = SUB(s->t2, d);

    int mask = _mm256_movemask_pd(_mm256_or_pd(LT(var, MUL(SET1(0.000001), MUL(s->t2, inv))),
                                               GT(d, MUL(SET1(1000000.0), s->t2))));
    var_reseed(s, ring, s->pos, mask, oldest, &s->shift, &s->t1, &s->t2, &var);
    *variance = var;
    return 1;
}

/* The window just filled (its newest values h, l in slot n - 1): the maxima
 * of the highs and minima of the lows from each slot to the newest. */
static inline AVX2 void minmax_suffixes(const double *vh, double *sh, const double *vl, double *sl, int32_t n, v4 h,
                                        v4 l)
{
    v4 a = h, b = l;
    rput(sh, n - 1, a);
    rput(sl, n - 1, b);
    for (int32_t j = n - 2; j >= 0; j--) {
        a = MAX(rget(vh, j), a);
        b = MIN(rget(vl, j), b);
        rput(sh, j, a);
        rput(sl, j, b);
    }
}

/* zc_minmax_step */
static inline AVX2 void minmax4(__typeof__(((st4 *)0)->u.stoch) *m, double *ring, v4 h, v4 l, v4 *highest,
                                v4 *lowest)
{
    int32_t n = m->n, r = m->r;
    double *vh = ring, *sh = ring + 4 * (size_t)n, *vl = ring + 8 * (size_t)n, *sl = ring + 12 * (size_t)n;
    m->hi = r == 0 ? h : MAX(h, m->hi);
    m->lo = r == 0 ? l : MIN(l, m->lo);
    rput(vh, r, h);
    rput(vl, r, l);
    if (r == n - 1) {
        *highest = m->hi;
        *lowest = m->lo;
        minmax_suffixes(vh, sh, vl, sl, n, h, l);
        m->r = 0;
        m->full = 1;
        return;
    }
    m->r = r + 1;
    if (!m->full) {
        *highest = m->hi;
        *lowest = m->lo;
        return;
    }
    *highest = MAX(rget(sh, r + 1), m->hi);
    *lowest = MIN(rget(sl, r + 1), m->lo);
}

/* zc_cci_step's output from the typical price, window mean and mean deviation. */
static inline AVX2 v4 cci4(v4 tp, v4 avg, v4 dev)
{
    v4 zero = _mm256_setzero_pd(), eps = SET1(ZC_TA_EPSILON);
    v4 tv = SUB(tp, avg);
    v4 band = MUL(eps, vabs(avg));
    v4 ok = _mm256_and_pd(GT(vabs(tv), band), GT(vabs(dev), band));
    return sel(ok, DIV(tv, MUL(SET1(0.015), dev)), zero);
}

/* ---- one tile of one indicator: H, L, C, V are bar-major, o[q][t] ---- */

typedef struct tile4 {
    v4 in[4][TILE]; /* high, low, close, volume */
    v4 out[3][TILE];
} tile4;

/* CCI windows of at most this many bars run CCI_BARS bars at a time from a
 * time-ordered copy of the typical prices; longer ones, and the few bars of a
 * stream's update, use the ring. */
#define CCI_LIN_MAX 64
#define CCI_BARS 4

/* CCI of the K bars t, t + 1, ... from lin (typical prices in time order,
 * lin[n - 1 + t] that of bar t), where bar t wrote ring slot q and q + K <= n.
 * The scalar step sums its ring in slot order, slot j holding the latest bar
 * that wrote it: with x = lin + n - 1 + t - q, for bar t + i that is x[j]
 * for j <= q + i and x[j - n] (a window earlier) otherwise. So the K sums
 * read the same values outside slots q + 1 .. q + K - 1: K independent
 * chains, each the same additions in the same order as one bar alone. */
static inline __attribute__((always_inline)) AVX2 void cci_bars(const v4 *lin, int32_t n, int t, int32_t q, int K,
                                                                 v4 *o)
{
    const v4 *x = lin + (n - 1 + t - q);
    v4 zero = _mm256_setzero_pd(), dn = SET1((double)n);
    v4 avg[CCI_BARS], dev[CCI_BARS];
    for (int i = 0; i < K; i++)
        avg[i] = dev[i] = zero;
    for (int32_t j = 0; j <= q; j++) {
        v4 v = x[j];
        for (int i = 0; i < K; i++)
            avg[i] = ADD(avg[i], v);
    }
    for (int d = 1; d < K; d++)
        for (int i = 0; i < K; i++)
            avg[i] = ADD(avg[i], i >= d ? x[q + d] : x[q + d - n]);
    for (int32_t j = q + K; j < n; j++) {
        v4 v = x[j - n];
        for (int i = 0; i < K; i++)
            avg[i] = ADD(avg[i], v);
    }
    for (int i = 0; i < K; i++)
        avg[i] = DIV(avg[i], dn);
    for (int32_t j = 0; j <= q; j++) {
        v4 v = x[j];
        for (int i = 0; i < K; i++)
            dev[i] = ADD(dev[i], vabs(SUB(v, avg[i])));
    }
    for (int d = 1; d < K; d++)
        for (int i = 0; i < K; i++)
            dev[i] = ADD(dev[i], vabs(SUB(i >= d ? x[q + d] : x[q + d - n], avg[i])));
    for (int32_t j = q + K; j < n; j++) {
        v4 v = x[j - n];
        for (int i = 0; i < K; i++)
            dev[i] = ADD(dev[i], vabs(SUB(v, avg[i])));
    }
    for (int i = 0; i < K; i++)
        o[t + i] = cci4(x[q + i], avg[i], DIV(dev[i], dn));
}

/* A tile of CCI for windows of at most CCI_LIN_MAX bars. */
static AVX2 void cci_tile(st4 *st, double *ring, const v4 *H, const v4 *L, const v4 *C, v4 *o, int B)
{
    __typeof__(st->u.cci) *s = &st->u.cci;
    int32_t n = s->n, pos0 = s->pos, pos = pos0;
    v4 lin[CCI_LIN_MAX - 1 + TILE], three = SET1(3.0), nan = SET1(zc_ind_nan());
    /* The n - 1 bars before the tile, oldest first (slots not yet written
     * belong to bars before the series start, which no output reads). */
    for (int32_t m = 0; m < n - 1; m++) {
        int32_t j = pos0 - (n - 1) + m;
        lin[m] = rget(ring, j < 0 ? j + n : j);
    }
    for (int t = 0; t < B; t++) {
        v4 tp = DIV(ADD(ADD(H[t], L[t]), C[t]), three);
        lin[n - 1 + t] = tp;
        rput(ring, pos, tp);
        pos = zc_ind_wrap(pos, n);
    }
    int t = 0;
    for (; t < B && st->k < n - 1; t++, st->k++)
        o[t] = nan;
    st->k += B - t;
    /* Blocks of up to CCI_BARS bars that end at the ring's end at the latest. */
    while (t < B) {
        int32_t q = (int32_t)((pos0 + t) % n);
        int K = B - t < n - q ? B - t : n - q;
        int m = K >= CCI_BARS ? CCI_BARS : K >= 2 ? 2 : 1;
        if (m == CCI_BARS)
            cci_bars(lin, n, t, q, CCI_BARS, o);
        else if (m == 2)
            cci_bars(lin, n, t, q, 2, o);
        else
            cci_bars(lin, n, t, q, 1, o);
        t += m;
    }
    s->pos = pos;
}

/* Tiles of at least this many bars run the steady-state loops below, where
 * they apply: a stream's update of a bar or two runs the state machines
 * without the call. */
#define STEADY_MIN 16

/* MACD once every stage is seeded: three EMA steps per bar. Not inlined, so
 * that its running values live in registers, apart from the state whose
 * address the general loop takes. */
static __attribute__((noinline)) AVX2 void macd_steady(__typeof__(((st4 *)0)->u.macd) *s, const v4 *C,
                                                        v4 (*o)[TILE], int B)
{
    v4 es = s->slow.e, ef = s->fast.e, eg = s->signal.e;
    v4 ks = SET1(s->slow.k), kf = SET1(s->fast.k), kg = SET1(s->signal.k);
    for (int t = 0; t < B; t++) {
        v4 x = C[t];
        es = _mm256_fmadd_pd(SUB(x, es), ks, es);
        ef = _mm256_fmadd_pd(SUB(x, ef), kf, ef);
        v4 m = SUB(ef, es);
        eg = _mm256_fmadd_pd(SUB(m, eg), kg, eg);
        o[0][t] = m;
        o[1][t] = eg;
        o[2][t] = SUB(m, eg);
    }
    s->slow.e = es;
    s->fast.e = ef;
    s->signal.e = eg;
}

/* STOCH once its window is full and both smoothing windows have output:
 * minmax4, the fast %K and two SMA steps per bar, branch-free but for the
 * block boundary of the window's maxima. */
static __attribute__((noinline)) AVX2 void stoch_steady(__typeof__(((st4 *)0)->u.stoch) *s, double *ring,
                                                         const v4 *H, const v4 *L, const v4 *C, v4 (*o)[TILE],
                                                         int B)
{
    int32_t n = s->n, r = s->r, nk = s->slowk.n, nd = s->slowd.n, pk = s->slowk.pos, pd = s->slowd.pos;
    double *vh = ring, *sh = ring + 4 * (size_t)n, *vl = ring + 8 * (size_t)n, *sl = ring + 12 * (size_t)n;
    double *rk = ring + 16 * (size_t)n, *rd = rk + 4 * (size_t)nk;
    v4 hi = s->hi, lo = s->lo, tk = s->slowk.total, td = s->slowd.total;
    v4 zero = _mm256_setzero_pd(), hundred = SET1(100.0), eps = SET1(ZC_TA_EPSILON);
    v4 dk = SET1((double)nk), dd = SET1((double)nd);
    for (int t = 0; t < B; t++) {
        v4 h = H[t], l = L[t], highest, lowest;
        hi = r == 0 ? h : MAX(h, hi);
        lo = r == 0 ? l : MIN(l, lo);
        rput(vh, r, h);
        rput(vl, r, l);
        if (r == n - 1) {
            highest = hi;
            lowest = lo;
            minmax_suffixes(vh, sh, vl, sl, n, h, l);
            r = 0;
        } else {
            r++;
            highest = MAX(rget(sh, r), hi);
            lowest = MIN(rget(sl, r), lo);
        }
        v4 range = SUB(highest, lowest);
        v4 flat = _mm256_cmp_pd(vabs(range), MUL(eps, ADD(vabs(highest), vabs(lowest))), _CMP_LE_OQ);
        v4 fastk = sel(flat, zero, MUL(hundred, DIV(SUB(C[t], lowest), range)));
        rput(rk, pk, fastk);
        pk = zc_ind_wrap(pk, nk);
        tk = ADD(tk, fastk);
        v4 slowk = DIV(tk, dk);
        tk = SUB(tk, rget(rk, pk));
        rput(rd, pd, slowk);
        pd = zc_ind_wrap(pd, nd);
        td = ADD(td, slowk);
        v4 slowd = DIV(td, dd);
        td = SUB(td, rget(rd, pd));
        o[0][t] = slowk;
        o[1][t] = slowd;
    }
    s->r = r;
    s->hi = hi;
    s->lo = lo;
    s->slowk.total = tk;
    s->slowk.pos = pk;
    s->slowk.k += B;
    s->slowd.total = td;
    s->slowd.pos = pd;
    s->slowd.k += B;
}

/* ADX once it has output (k >= 2n): every branch of the state machine is
 * settled. */
static __attribute__((noinline)) AVX2 void adx_steady(__typeof__(((st4 *)0)->u.adx) *s, const v4 *H, const v4 *L,
                                                       const v4 *C, v4 *o, int B)
{
    int32_t n = s->n;
    v4 ph = s->ph, pl = s->pl, pc = s->pc, mdm = s->mdm, pdm = s->pdm, trs = s->tr, adx = s->adx;
    v4 zero = _mm256_setzero_pd(), hundred = SET1(100.0), dn = SET1((double)n), nm1 = SET1((double)(n - 1)),
       eps = SET1(ZC_TA_EPSILON), neps = SET1(-ZC_TA_EPSILON);
    for (int t = 0; t < B; t++) {
        v4 h = H[t], l = L[t];
        v4 dp = SUB(h, ph), dm = SUB(pl, l);
        ph = h;
        pl = l;
        mdm = SUB(mdm, DIV(mdm, dn));
        pdm = SUB(pdm, DIV(pdm, dn));
        v4 msel = sel(GT(SUB(dm, dp), zero), dm, zero);
        v4 psel = sel(GT(SUB(dp, dm), zero), dp, zero);
        mdm = ADD(mdm, sel(GT(dm, zero), msel, zero));
        pdm = ADD(pdm, sel(GT(dp, zero), psel, zero));
        v4 tr = true_range4(h, l, pc);
        pc = C[t];
        trs = ADD(SUB(trs, DIV(trs, dn)), tr);
        v4 mdi = MUL(hundred, DIV(mdm, trs));
        v4 pdi = MUL(hundred, DIV(pdm, trs));
        v4 sum = ADD(mdi, pdi);
        v4 have = _mm256_andnot_pd(_mm256_and_pd(LT(neps, sum), LT(sum, eps)), GT(trs, zero));
        v4 dx = MUL(hundred, DIV(vabs(SUB(mdi, pdi)), sum));
        o[t] = adx = sel(have, DIV(ADD(MUL(adx, nm1), dx), dn), adx);
    }
    s->ph = ph;
    s->pl = pl;
    s->pc = pc;
    s->mdm = mdm;
    s->pdm = pdm;
    s->tr = trs;
    s->adx = adx;
}

/* var4_step once the window is full: the window mean and the variance of
 * every bar of the tile, the running sums in registers. */
static __attribute__((noinline)) AVX2 void var_steady(__typeof__(((st4 *)0)->u.var) *s, double *ring, const v4 *C,
                                                       v4 *mean, v4 *variance, int B)
{
    int32_t n = s->n, pos = s->pos;
    v4 inv = SET1(s->inv), dn = SET1((double)n), small = SET1(0.000001), large = SET1(1000000.0);
    v4 ma_total = s->ma_total, shift = s->shift, t1 = s->t1, t2 = s->t2;
    for (int t = 0; t < B; t++) {
        v4 x = C[t];
        rput(ring, pos, x);
        pos = zc_ind_wrap(pos, n);
        ma_total = ADD(ma_total, x);
        v4 d = SUB(x, shift);
        t1 = ADD(t1, d);
        d = MUL(d, d);
        t2 = ADD(t2, d);
        v4 m1 = MUL(t1, inv);
        v4 var = SUB(MUL(t2, inv), MUL(m1, m1));
        mean[t] = DIV(ma_total, dn);
        v4 oldest = rget(ring, pos);
        ma_total = SUB(ma_total, oldest);
        d = SUB(oldest, shift);
        t1 = SUB(t1, d);
        d = MUL(d, d);
        t2 = SUB(t2, d);
        int mask = _mm256_movemask_pd(_mm256_or_pd(LT(var, MUL(small, MUL(t2, inv))), GT(d, MUL(large, t2))));
        var_reseed(s, ring, pos, mask, oldest, &shift, &t1, &t2, &var);
        variance[t] = var;
    }
    s->pos = pos;
    s->ma_total = ma_total;
    s->shift = shift;
    s->t1 = t1;
    s->t2 = t2;
}

static AVX2 void run_tile(const zc_ind_params *p, st4 *st, double *ring, tile4 *tl, int B)
{
    const v4 *H = tl->in[0], *L = tl->in[1], *C = tl->in[2], *V = tl->in[3];
    v4(*o)[TILE] = tl->out;
    const v4 nan = SET1(zc_ind_nan()), zero = _mm256_setzero_pd(), hundred = SET1(100.0);
    switch (p->kind) {
    case ZC_IND_SMA: {
        sma4 *s = &st->u.sma;
        int t = 0;
        if (B >= STEADY_MIN && s->k >= s->n - 1) { /* full window: the running total in a register */
            int32_t n = s->n, pos = s->pos;
            v4 total = s->total, dn = SET1((double)n);
            for (; t < B; t++) {
                rput(ring, pos, C[t]);
                pos = zc_ind_wrap(pos, n);
                total = ADD(total, C[t]);
                o[0][t] = DIV(total, dn);
                total = SUB(total, rget(ring, pos));
            }
            s->total = total;
            s->pos = pos;
            s->k += B;
        }
        for (; t < B; t++)
            if (!sma4_step(s, ring, C[t], &o[0][t]))
                o[0][t] = nan;
        break;
    }
    case ZC_IND_EMA: {
        ema4 *s = &st->u.ema;
        int t = 0;
        if (s->n > 1 && s->count >= s->n) { /* seeded: the steady state, without the state machine's branches */
            v4 e = s->e, k = SET1(s->k);
            for (; t < B; t++)
                o[0][t] = e = _mm256_fmadd_pd(SUB(C[t], e), k, e);
            s->e = e;
        }
        for (; t < B; t++) {
            if (s->n == 1)
                o[0][t] = C[t];
            else if (!ema4_step(s, C[t], &o[0][t]))
                o[0][t] = nan;
        }
        break;
    }
    case ZC_IND_RSI: {
        __typeof__(st->u.rsi) *s = &st->u.rsi;
        v4 inv = SET1(s->inv), nm1 = SET1((double)(s->n - 1));
        int t = 0;
        if (st->k > s->n) { /* seeded: Wilder smoothing every bar */
            v4 prev = s->prev, gain = s->gain, loss = s->loss;
            for (; t < B; t++) {
                v4 x = C[t];
                v4 d = SUB(x, prev);
                prev = x;
                v4 g = MAX(d, zero);
                loss = MUL(loss, nm1);
                gain = MUL(gain, nm1);
                gain = ADD(gain, g);
                loss = ADD(loss, SUB(g, d));
                loss = MUL(loss, inv);
                gain = MUL(gain, inv);
                v4 total = ADD(gain, loss);
                o[0][t] = sel(GT(total, zero), MUL(hundred, DIV(gain, total)), zero);
            }
            s->prev = prev;
            s->gain = gain;
            s->loss = loss;
        }
        for (; t < B; t++) {
            o[0][t] = nan;
            v4 x = C[t];
            if (st->k == 0) {
                s->prev = x;
                st->k = 1;
                continue;
            }
            v4 d = SUB(x, s->prev);
            s->prev = x;
            v4 g = MAX(d, zero);
            if (st->k <= s->n) {
                s->gain = ADD(s->gain, g);
                s->loss = ADD(s->loss, SUB(g, d));
                if (st->k++ < s->n)
                    continue;
                s->loss = MUL(s->loss, inv);
                s->gain = MUL(s->gain, inv);
            } else {
                s->loss = MUL(s->loss, nm1);
                s->gain = MUL(s->gain, nm1);
                s->gain = ADD(s->gain, g);
                s->loss = ADD(s->loss, SUB(g, d));
                s->loss = MUL(s->loss, inv);
                s->gain = MUL(s->gain, inv);
            }
            v4 total = ADD(s->gain, s->loss);
            o[0][t] = sel(GT(total, zero), MUL(hundred, DIV(s->gain, total)), zero);
        }
        break;
    }
    case ZC_IND_MACD: {
        __typeof__(st->u.macd) *s = &st->u.macd;
        int t = 0;
        if (B >= STEADY_MIN && st->k >= s->skip && s->slow.count >= s->slow.n && s->fast.count >= s->fast.n &&
            s->signal.count >= s->signal.n) {
            macd_steady(s, C, o, B);
            st->k += B;
            t = B;
        }
        for (; t < B; t++) {
            v4 slow, fast = zero, sig, x = C[t];
            o[0][t] = o[1][t] = o[2][t] = nan;
            int ok = ema4_step(&s->slow, x, &slow);
            if (st->k++ >= s->skip)
                ema4_step(&s->fast, x, &fast);
            if (!ok)
                continue;
            v4 m = SUB(fast, slow);
            if (!ema4_step(&s->signal, m, &sig))
                continue;
            o[0][t] = m;
            o[1][t] = sig;
            o[2][t] = SUB(m, sig);
        }
        break;
    }
    case ZC_IND_BBANDS:
    case ZC_IND_STDDEV:
    case ZC_IND_ZSCORE: {
        v4 nbdev = SET1(st->u.var.nbdev), nbdev2 = SET1(st->u.var.nbdev2);
        int same = st->u.var.nbdev == st->u.var.nbdev2;
        /* Full window: the means and variances first, into o[1] and o[0]. */
        int steady = B >= STEADY_MIN && st->k >= st->u.var.n - 1;
        if (steady) {
            var_steady(&st->u.var, ring, C, o[1], o[0], B);
            st->k += B;
        }
        for (int t = 0; t < B; t++) {
            v4 mean, var;
            if (steady) {
                mean = o[1][t];
                var = o[0][t];
            } else if (!var4_step(st, ring, C[t], &mean, &var)) {
                o[0][t] = o[1][t] = o[2][t] = nan;
                continue;
            }
            if (p->kind == ZC_IND_BBANDS) {
                v4 sd = sel(_mm256_cmp_pd(var, zero, _CMP_NEQ_UQ), _mm256_sqrt_pd(var), zero);
                if (same) {
                    v4 w = MUL(sd, nbdev);
                    o[0][t] = ADD(mean, w);
                    o[2][t] = SUB(mean, w);
                } else {
                    o[0][t] = _mm256_fmadd_pd(sd, nbdev, mean);
                    o[2][t] = SUB(mean, MUL(sd, nbdev2));
                }
                o[1][t] = mean;
            } else if (p->kind == ZC_IND_STDDEV) {
                v4 sd = _mm256_sqrt_pd(var);
                o[0][t] = st->u.var.nbdev != 1.0 ? MUL(sd, nbdev) : sd;
            } else {
                v4 sd = _mm256_sqrt_pd(var);
                o[0][t] = sel(_mm256_cmp_pd(sd, zero, _CMP_NEQ_UQ), DIV(SUB(C[t], mean), sd), zero);
            }
        }
        break;
    }
    case ZC_IND_ATR: {
        __typeof__(st->u.atr) *s = &st->u.atr;
        v4 alpha = SET1(s->alpha), beta = SET1(s->beta);
        int t = 0;
        if (st->k > s->n) { /* seeded: Wilder smoothing every bar */
            v4 pc = s->prev_close, atr = s->atr;
            for (; t < B; t++) {
                v4 tr = true_range4(H[t], L[t], pc);
                pc = C[t];
                o[0][t] = atr = _mm256_fmadd_pd(beta, atr, MUL(alpha, tr));
            }
            s->prev_close = pc;
            s->atr = atr;
        }
        for (; t < B; t++) {
            o[0][t] = nan;
            if (st->k == 0) {
                s->prev_close = C[t];
                st->k = 1;
                continue;
            }
            v4 tr = true_range4(H[t], L[t], s->prev_close);
            s->prev_close = C[t];
            if (st->k <= s->n) {
                s->total = ADD(s->total, tr);
                if (st->k++ < s->n)
                    continue;
                s->atr = DIV(s->total, SET1((double)s->n));
            } else {
                s->atr = _mm256_fmadd_pd(beta, s->atr, MUL(alpha, tr));
            }
            o[0][t] = s->atr;
        }
        break;
    }
    case ZC_IND_STOCH: {
        __typeof__(st->u.stoch) *s = &st->u.stoch;
        int32_t n = s->n;
        v4 eps = SET1(ZC_TA_EPSILON);
        int t = 0;
        if (B >= STEADY_MIN && s->full && st->k >= n - 1 && s->slowk.k >= s->slowk.n - 1 &&
            s->slowd.k >= s->slowd.n - 1) {
            stoch_steady(s, ring, H, L, C, o, B);
            st->k += B;
            t = B;
        }
        for (; t < B; t++) {
            v4 highest, lowest, slowk, slowd;
            o[0][t] = o[1][t] = nan;
            minmax4(s, ring, H[t], L[t], &highest, &lowest);
            if (st->k++ < n - 1)
                continue;
            v4 range = SUB(highest, lowest);
            v4 flat = _mm256_cmp_pd(vabs(range), MUL(eps, ADD(vabs(highest), vabs(lowest))), _CMP_LE_OQ);
            v4 fastk = sel(flat, zero, MUL(hundred, DIV(SUB(C[t], lowest), range)));
            if (!sma4_step(&s->slowk, ring + 16 * (size_t)n, fastk, &slowk))
                continue;
            if (!sma4_step(&s->slowd, ring + 16 * (size_t)n + 4 * (size_t)s->slowk.n, slowk, &slowd))
                continue;
            o[0][t] = slowk;
            o[1][t] = slowd;
        }
        break;
    }
    case ZC_IND_CCI: {
        __typeof__(st->u.cci) *s = &st->u.cci;
        int32_t n = s->n;
        if (n <= CCI_LIN_MAX && B >= 2 * CCI_BARS) {
            cci_tile(st, ring, H, L, C, o[0], B);
            break;
        }
        v4 three = SET1(3.0), dn = SET1((double)n);
        for (int t = 0; t < B; t++) {
            v4 tp = DIV(ADD(ADD(H[t], L[t]), C[t]), three);
            int32_t p0 = s->pos;
            rput(ring, p0, tp);
            s->pos = zc_ind_wrap(p0, n);
            if (st->k++ < n - 1) {
                o[0][t] = nan;
                continue;
            }
            if (t + 1 < B) {
                /* Bars t and t + 1 together: their windows differ in the slot
                 * t + 1 writes, so both sums run in slot order as two
                 * independent chains, each the same additions as alone. */
                v4 tp1 = DIV(ADD(ADD(H[t + 1], L[t + 1]), C[t + 1]), three);
                int32_t p1 = s->pos;
                v4 old = rget(ring, p1);
                rput(ring, p1, tp1);
                s->pos = zc_ind_wrap(p1, n);
                st->k++;
                v4 a0 = zero, a1 = zero;
                for (int32_t j = 0; j < n; j++) {
                    v4 x = rget(ring, j);
                    a0 = ADD(a0, j == p1 ? old : x);
                    a1 = ADD(a1, x);
                }
                a0 = DIV(a0, dn);
                a1 = DIV(a1, dn);
                v4 d0 = zero, d1 = zero;
                for (int32_t j = 0; j < n; j++) {
                    v4 x = rget(ring, j);
                    d0 = ADD(d0, vabs(SUB(j == p1 ? old : x, a0)));
                    d1 = ADD(d1, vabs(SUB(x, a1)));
                }
                o[0][t] = cci4(tp, a0, DIV(d0, dn));
                o[0][t + 1] = cci4(tp1, a1, DIV(d1, dn));
                t++;
                continue;
            }
            v4 avg = zero;
            for (int32_t j = 0; j < n; j++)
                avg = ADD(avg, rget(ring, j));
            avg = DIV(avg, dn);
            v4 dev = zero;
            for (int32_t j = 0; j < n; j++)
                dev = ADD(dev, vabs(SUB(rget(ring, j), avg)));
            o[0][t] = cci4(tp, avg, DIV(dev, dn));
        }
        break;
    }
    case ZC_IND_ADX: {
        __typeof__(st->u.adx) *s = &st->u.adx;
        int32_t n = s->n;
        v4 dn = SET1((double)n), nm1 = SET1((double)(n - 1)), eps = SET1(ZC_TA_EPSILON),
           neps = SET1(-ZC_TA_EPSILON);
        if (B >= STEADY_MIN && st->k >= 2 * (int64_t)n) {
            adx_steady(s, H, L, C, o[0], B);
            break;
        }
        for (int t = 0; t < B; t++) {
            v4 h = H[t], l = L[t], c = C[t];
            o[0][t] = nan;
            if (st->k == 0) {
                s->ph = h;
                s->pl = l;
                s->pc = c;
                st->k = 1;
                continue;
            }
            v4 dp = SUB(h, s->ph), dm = SUB(s->pl, l);
            s->ph = h;
            s->pl = l;
            if (st->k >= n) {
                s->mdm = SUB(s->mdm, DIV(s->mdm, dn));
                s->pdm = SUB(s->pdm, DIV(s->pdm, dn));
            }
            v4 msel = sel(GT(SUB(dm, dp), zero), dm, zero);
            v4 psel = sel(GT(SUB(dp, dm), zero), dp, zero);
            s->mdm = ADD(s->mdm, sel(GT(dm, zero), msel, zero));
            s->pdm = ADD(s->pdm, sel(GT(dp, zero), psel, zero));
            v4 tr = true_range4(h, l, s->pc);
            s->pc = c;
            if (st->k < n) {
                s->tr = ADD(s->tr, tr);
                st->k++;
                continue;
            }
            s->tr = ADD(SUB(s->tr, DIV(s->tr, dn)), tr);
            v4 mdi = MUL(hundred, DIV(s->mdm, s->tr));
            v4 pdi = MUL(hundred, DIV(s->pdm, s->tr));
            v4 sum = ADD(mdi, pdi);
            v4 have = _mm256_and_pd(GT(s->tr, zero), _mm256_andnot_pd(_mm256_and_pd(LT(neps, sum), LT(sum, eps)),
                                                                      _mm256_castsi256_pd(_mm256_set1_epi64x(-1))));
            v4 dx = MUL(hundred, DIV(vabs(SUB(mdi, pdi)), sum));
            if (st->k < 2 * (int64_t)n - 1) {
                s->sumdx = sel(have, ADD(s->sumdx, dx), s->sumdx);
                st->k++;
                continue;
            }
            if (st->k == 2 * (int64_t)n - 1) {
                s->sumdx = sel(have, ADD(s->sumdx, dx), s->sumdx);
                s->adx = DIV(s->sumdx, dn);
                st->k++;
            } else {
                s->adx = sel(have, DIV(ADD(MUL(s->adx, nm1), dx), dn), s->adx);
            }
            o[0][t] = s->adx;
        }
        break;
    }
    case ZC_IND_OBV: {
        __typeof__(st->u.obv) *s = &st->u.obv;
        v4 one = SET1(1.0), obv = s->obv, prev = s->prev;
        for (int t = 0; t < B; t++) {
            v4 c = C[t], v = V[t];
            if (st->k == 0) {
                obv = v;
                prev = c;
                st->k = 1;
            } else {
                v4 dir = SUB(_mm256_and_pd(GT(c, prev), one), _mm256_and_pd(LT(c, prev), one));
                obv = ADD(obv, MUL(dir, v));
                prev = c;
            }
            o[0][t] = obv;
        }
        s->obv = obv;
        s->prev = prev;
        break;
    }
    }
}

/* ---- transposition between four rows and bar-major vectors ---- */

static inline AVX2 void transpose4(v4 *r0, v4 *r1, v4 *r2, v4 *r3)
{
    v4 t0 = _mm256_unpacklo_pd(*r0, *r1), t1 = _mm256_unpackhi_pd(*r0, *r1);
    v4 t2 = _mm256_unpacklo_pd(*r2, *r3), t3 = _mm256_unpackhi_pd(*r2, *r3);
    *r0 = _mm256_permute2f128_pd(t0, t2, 0x20);
    *r1 = _mm256_permute2f128_pd(t1, t3, 0x20);
    *r2 = _mm256_permute2f128_pd(t0, t2, 0x31);
    *r3 = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/* Rows of one bar each for four consecutive symbols (a stream's update of
 * one bar): lane l's value sits at row[0][l], one vector load or store. */
static inline int lanes_adjacent(const double *const row[4])
{
    return row[1] == row[0] + 1 && row[2] == row[0] + 2 && row[3] == row[0] + 3;
}

/* Transposes B bars of four rows into dst; *fin accumulates x - x over
 * them, which stays 0 while every value is finite (NaN once one is not). */
static AVX2 void load_tile(const double *const row[4], int64_t t0, int B, v4 *dst, v4 *fin)
{
    int t = 0;
    v4 acc = *fin;
    if (B == 1 && lanes_adjacent(row)) { /* a stream's single bar: the four lanes' values side by side */
        dst[0] = _mm256_loadu_pd(row[0] + t0);
        *fin = ADD(acc, SUB(dst[0], dst[0]));
        return;
    }
    for (; t + 4 <= B; t += 4) {
        v4 a = _mm256_loadu_pd(row[0] + t0 + t), b = _mm256_loadu_pd(row[1] + t0 + t);
        v4 c = _mm256_loadu_pd(row[2] + t0 + t), d = _mm256_loadu_pd(row[3] + t0 + t);
        acc = ADD(acc, ADD(ADD(SUB(a, a), SUB(b, b)), ADD(SUB(c, c), SUB(d, d))));
        transpose4(&a, &b, &c, &d);
        dst[t] = a;
        dst[t + 1] = b;
        dst[t + 2] = c;
        dst[t + 3] = d;
    }
    for (; t < B; t++) {
        dst[t] = _mm256_setr_pd(row[0][t0 + t], row[1][t0 + t], row[2][t0 + t], row[3][t0 + t]);
        acc = ADD(acc, SUB(dst[t], dst[t]));
    }
    *fin = acc;
}

/* Two halves of x as non-temporal 16-byte stores (p 16-byte aligned). */
static inline AVX2 void stream2(double *p, v4 x)
{
    _mm_stream_pd(p, _mm256_castpd256_pd128(x));
    _mm_stream_pd(p + 2, _mm256_extractf128_pd(x, 1));
}

/* nt: non-temporal stores where the rows are 16-byte aligned (NumPy's large
 * buffers are 16 bytes past a page), for outputs too large to stay in cache:
 * no read for ownership of lines that are entirely overwritten, half the
 * memory traffic. */
static AVX2 void store_tile(const v4 *src, int64_t t0, int B, double *const row[4], int nt)
{
    int t = 0;
    uintptr_t mis = 0;
    for (int l = 0; l < 4; l++)
        mis |= (uintptr_t)(row[l] + t0);
    if (nt && (mis & 31) == 0) {
        /* 8 bars at a time: each row gets 64 contiguous bytes in two
         * back-to-back 32-byte stores, a whole line where the rows are
         * 64-byte aligned (the array cache's blocks with rows of a multiple
         * of 8 bars), which the write-combining buffers pass on at once. */
        for (; t + 8 <= B; t += 8) {
            v4 a = src[t], b = src[t + 1], c = src[t + 2], d = src[t + 3];
            v4 e = src[t + 4], f = src[t + 5], g = src[t + 6], h = src[t + 7];
            transpose4(&a, &b, &c, &d);
            transpose4(&e, &f, &g, &h);
            _mm256_stream_pd(row[0] + t0 + t, a);
            _mm256_stream_pd(row[0] + t0 + t + 4, e);
            _mm256_stream_pd(row[1] + t0 + t, b);
            _mm256_stream_pd(row[1] + t0 + t + 4, f);
            _mm256_stream_pd(row[2] + t0 + t, c);
            _mm256_stream_pd(row[2] + t0 + t + 4, g);
            _mm256_stream_pd(row[3] + t0 + t, d);
            _mm256_stream_pd(row[3] + t0 + t + 4, h);
        }
    } else if (nt && (mis & 15) == 0) {
        for (; t + 4 <= B; t += 4) {
            v4 a = src[t], b = src[t + 1], c = src[t + 2], d = src[t + 3];
            transpose4(&a, &b, &c, &d);
            stream2(row[0] + t0 + t, a);
            stream2(row[1] + t0 + t, b);
            stream2(row[2] + t0 + t, c);
            stream2(row[3] + t0 + t, d);
        }
    }
    for (; t + 4 <= B; t += 4) {
        v4 a = src[t], b = src[t + 1], c = src[t + 2], d = src[t + 3];
        transpose4(&a, &b, &c, &d);
        _mm256_storeu_pd(row[0] + t0 + t, a);
        _mm256_storeu_pd(row[1] + t0 + t, b);
        _mm256_storeu_pd(row[2] + t0 + t, c);
        _mm256_storeu_pd(row[3] + t0 + t, d);
    }
    if (B == 1 && lanes_adjacent((const double *const *)row)) {
        _mm256_storeu_pd(row[0] + t0, src[0]);
        return;
    }
    for (; t < B; t++) {
        double x[4];
        _mm256_storeu_pd(x, src[t]);
        for (int l = 0; l < 4; l++)
            row[l][t0 + t] = x[l];
    }
}

_Static_assert(sizeof(st4) <= ZC_MD4_STATE_BYTES, "a vector state fits the bytes the caller sets aside");
_Static_assert(ZC_MD4_STATE_BYTES % 32 == 0 && ZC_MD4_STATE_BYTES <= 4 * sizeof(zc_ind_state),
               "vector states stay 32-byte aligned in an array, within four scalar states' bytes");

AVX2 void zc_cpu_md4_init(const zc_ind_params *params, uint32_t count, void *states)
{
    for (uint32_t j = 0; j < count; j++)
        st4_init(&params[j], (st4 *)((char *)states + (size_t)j * ZC_MD4_STATE_BYTES));
}

/* Returns 0, leaving the states and outputs partly advanced, at the first
 * tile with a value that is not finite in an input the indicators read. */
static AVX2 int md4_run(const zc_ind_params *params, uint32_t count, void *states, const double *const in[4][4],
                        int64_t T, double *const *cols, const size_t off[4], double *ring, int nt)
{
    tile4 tl;
    uint32_t need = 0;
    v4 fin = _mm256_setzero_pd();
    for (uint32_t j = 0; j < count; j++)
        need |= zc_ind_inputs(params[j].kind);
    for (int64_t t0 = 0; t0 < T; t0 += TILE) {
        int B = T - t0 < TILE ? (int)(T - t0) : TILE;
        for (int i = 0; i < 4; i++)
            if (need & (1u << i))
                load_tile(in[i], t0, B, tl.in[i], &fin);
        if (_mm256_movemask_pd(_mm256_cmp_pd(fin, _mm256_setzero_pd(), _CMP_NEQ_UQ)))
            return 0;
        size_t col = 0, roff = 0;
        for (uint32_t j = 0; j < count; j++) {
            const zc_ind_params *p = &params[j];
            int nout = zc_ind_outputs(p->kind);
            run_tile(p, (st4 *)((char *)states + (size_t)j * ZC_MD4_STATE_BYTES), ring + 4 * roff, &tl, B);
            for (int q = 0; q < nout; q++) {
                double *row[4];
                for (int l = 0; l < 4; l++)
                    row[l] = cols[col + (size_t)q] + off[l];
                store_tile(tl.out[q], t0, B, row, nt);
            }
            col += (size_t)nout;
            roff += (size_t)zc_ind_ring_len(p);
        }
    }
    return 1;
}

AVX2 void zc_cpu_md4_run(const zc_ind_params *params, uint32_t count, void *states, const double *const in[4][4],
                         int64_t T, double *const *cols, const size_t off[4], double *ring)
{
    (void)md4_run(params, count, states, in, T, cols, off, ring, 0); /* the caller checked the inputs */
}

AVX2 int zc_cpu_md4_multi(const zc_ind_params *params, uint32_t count, const double *const in[4][4], int64_t T,
                          double *const *cols, const size_t off[4], double *ring, int nt)
{
    _Alignas(32) char states[ZC_MD4_MAX_INDICATORS * ZC_MD4_STATE_BYTES];
    zc_cpu_md4_init(params, count, states);
    int done = md4_run(params, count, states, in, T, cols, off, ring, nt);
    if (nt)
        _mm_sfence(); /* streamed lines are ordered before any later store to them and the launch's end */
    return done;
}

/* ---- back to four scalar states ---- */

static AVX2 double lane(v4 x, int l)
{
    double a[4];
    _mm256_storeu_pd(a, x);
    return a[l];
}

static AVX2 zc_sma_t sma_lane(const sma4 *v, int l)
{
    zc_sma_t s = {lane(v->total, l), v->k, v->n, v->pos};
    return s;
}

static AVX2 zc_ema_t ema_lane(const ema4 *v, int l)
{
    zc_ema_t s = {lane(v->e, l), v->k, v->count, v->n};
    return s;
}

/* Lane l of a vector state as the scalar state it mirrors: the constants
 * come from zc_ind_init, the running values from the lane. */
static AVX2 void st4_lane(const zc_ind_params *p, const st4 *v, int l, zc_ind_state *s)
{
    zc_ind_init(p, s);
    switch (p->kind) {
    case ZC_IND_SMA:
        s->sma = sma_lane(&v->u.sma, l);
        break;
    case ZC_IND_EMA:
        s->ema = ema_lane(&v->u.ema, l);
        break;
    case ZC_IND_RSI:
        s->rsi.prev = lane(v->u.rsi.prev, l);
        s->rsi.gain = lane(v->u.rsi.gain, l);
        s->rsi.loss = lane(v->u.rsi.loss, l);
        s->rsi.k = v->k;
        break;
    case ZC_IND_MACD:
        s->macd.fast = ema_lane(&v->u.macd.fast, l);
        s->macd.slow = ema_lane(&v->u.macd.slow, l);
        s->macd.signal = ema_lane(&v->u.macd.signal, l);
        s->macd.k = v->k;
        break;
    case ZC_IND_ATR:
        s->atr.prev_close = lane(v->u.atr.prev_close, l);
        s->atr.atr = lane(v->u.atr.atr, l);
        s->atr.total = lane(v->u.atr.total, l);
        s->atr.k = v->k;
        break;
    case ZC_IND_STOCH:
        s->stoch.mm.hi = lane(v->u.stoch.hi, l);
        s->stoch.mm.lo = lane(v->u.stoch.lo, l);
        s->stoch.mm.r = v->u.stoch.r;
        s->stoch.mm.full = v->u.stoch.full;
        s->stoch.slowk = sma_lane(&v->u.stoch.slowk, l);
        s->stoch.slowd = sma_lane(&v->u.stoch.slowd, l);
        s->stoch.k = v->k;
        break;
    case ZC_IND_CCI:
        s->cci.k = v->k;
        s->cci.pos = v->u.cci.pos;
        break;
    case ZC_IND_ADX:
        s->adx.ph = lane(v->u.adx.ph, l);
        s->adx.pl = lane(v->u.adx.pl, l);
        s->adx.pc = lane(v->u.adx.pc, l);
        s->adx.mdm = lane(v->u.adx.mdm, l);
        s->adx.pdm = lane(v->u.adx.pdm, l);
        s->adx.tr = lane(v->u.adx.tr, l);
        s->adx.sumdx = lane(v->u.adx.sumdx, l);
        s->adx.adx = lane(v->u.adx.adx, l);
        s->adx.k = v->k;
        break;
    case ZC_IND_OBV:
        s->obv.obv = lane(v->u.obv.obv, l);
        s->obv.prev = lane(v->u.obv.prev, l);
        s->obv.k = v->k;
        break;
    default: /* BBANDS, STDDEV, ZSCORE */
        s->var.v.ma_total = lane(v->u.var.ma_total, l);
        s->var.v.shift = lane(v->u.var.shift, l);
        s->var.v.t1 = lane(v->u.var.t1, l);
        s->var.v.t2 = lane(v->u.var.t2, l);
        s->var.v.k = v->k;
        s->var.v.pos = v->u.var.pos;
        s->var.v.reseed = v->u.var.reseed[l];
        break;
    }
}

AVX2 void zc_cpu_md4_export(const zc_ind_params *params, uint32_t count, const void *states, const double *ring4,
                            size_t ring_len, zc_ind_state *lane_states, double *lane_rings)
{
    for (int l = 0; l < 4; l++)
        for (uint32_t j = 0; j < count; j++)
            st4_lane(&params[j], (const st4 *)((const char *)states + (size_t)j * ZC_MD4_STATE_BYTES), l,
                     &lane_states[(size_t)l * count + j]);
    for (size_t i = 0; i < ring_len; i++)
        for (int l = 0; l < 4; l++)
            lane_rings[(size_t)l * ring_len + i] = ring4[4 * i + (size_t)l];
}

#endif
