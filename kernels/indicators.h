/* Technical indicators as per-bar state machines, shared by the batch kernels
 * (cpu, opencl, cuda) and the host streaming state, so that a stream fed the
 * same bars reproduces the batch result bit for bit.
 *
 * Definitions follow TA-Lib (the C library shipped in the TA-Lib 0.8.x
 * wheels): the same lookbacks, seeds (EMA seeded by the SMA of its first
 * period inputs; DEMA/TEMA/MACD stages seeded the same way from the previous
 * stage's first outputs), Wilder smoothing (RSI, ATR, ADX), the population
 * variance with TA-Lib's shifted sums and periodic re-anchoring, and the same
 * order of floating-point operations, so results agree to the last few ulps.
 *
 * Gaps: a bar with a non-finite value in any input the indicator reads is a
 * gap. Its outputs are NaN and the indicator restarts after it, so every
 * maximal run of complete bars is an independent series (as if TA-Lib were
 * called on each run; leading NaNs are the first such gap, which is also what
 * TA-Lib's Python wrapper does).
 *
 * Window state lives in a per-series ring of doubles (zc_ind_ring_len); the
 * scalar state (zc_ind_state) is a few dozen bytes. Products feeding a sum
 * are written with ZC_MUL and the OpenCL contraction pragma is off, so no
 * backend fuses a multiply-add on its own; where TA-Lib's build fuses one
 * (EMA steps, ATR's Wilder step, the upper band) it is an explicit,
 * correctly rounded ZC_FMA on every backend. */
#ifndef ZC_INDICATORS_H
#define ZC_INDICATORS_H

#include "zc_kernel.h"

#if defined(ZC_TARGET_OPENCL)
#pragma OPENCL FP_CONTRACT OFF
#endif

#if defined(ZC_TARGET_CUDA) && defined(__CUDA_ARCH__)
#define ZC_MUL(a, b) __dmul_rn((a), (b))
ZC_FN double zc_ind_nan(void) { return __longlong_as_double(0x7ff8000000000000LL); }
#elif defined(ZC_TARGET_CUDA)
#define ZC_MUL(a, b) ((a) * (b))
ZC_FN double zc_ind_nan(void) { return __builtin_nan(""); }
#else
#define ZC_MUL(a, b) ((a) * (b))
ZC_FN double zc_ind_nan(void) { return (double)NAN; }
#endif
#define ZC_FMA(a, b, c) fma((a), (b), (c))

/* Finite without isfinite(): x - x is 0 for finite x and NaN otherwise. */
ZC_FN int zc_ind_finite(double x) { return x - x == 0.0; }

#define ZC_IND_SMA 0
#define ZC_IND_EMA 1
#define ZC_IND_WMA 2
#define ZC_IND_DEMA 3
#define ZC_IND_TEMA 4
#define ZC_IND_RSI 5
#define ZC_IND_MACD 6
#define ZC_IND_BBANDS 7
#define ZC_IND_ATR 8
#define ZC_IND_STOCH 9
#define ZC_IND_WILLR 10
#define ZC_IND_CCI 11
#define ZC_IND_ADX 12
#define ZC_IND_MFI 13
#define ZC_IND_OBV 14
#define ZC_IND_VWAP 15
#define ZC_IND_STDDEV 16
#define ZC_IND_ZSCORE 17
#define ZC_IND_COUNT 18

/* Inputs an indicator reads (gap detection looks at these only). */
#define ZC_IND_IN_HIGH 1u
#define ZC_IND_IN_LOW 2u
#define ZC_IND_IN_CLOSE 4u
#define ZC_IND_IN_VOLUME 8u

/* TA-Lib's fixed zero band (ta_utility.h). */
#define ZC_TA_EPSILON 0.00000000000001

/* kind and its parameters: p[0..2] periods, d[0..1] real parameters
 * (MACD: fast, slow, signal; STOCH: fastk, slowk, slowd; BBANDS: d = nbdevup,
 * nbdevdn; STDDEV: d[0] = nbdev; VWAP: p[0] = 0 for the cumulative form). */
typedef struct zc_ind_params {
    int32_t kind;
    int32_t p[3];
    double d[2];
} zc_ind_params;

/* ---- building blocks ---------------------------------------------------- */

ZC_FN int32_t zc_ind_wrap(int32_t pos, int32_t n) { return pos + 1 == n ? 0 : pos + 1; }

/* Simple moving average: TA-Lib's running sum (add the new value, divide,
 * then subtract the oldest). ring: n slots. */
typedef struct zc_sma_t {
    double total;
    int64_t k;
    int32_t n, pos;
} zc_sma_t;

ZC_FN void zc_sma_init(zc_sma_t *s, int32_t n)
{
    s->total = 0.0;
    s->k = 0;
    s->n = n;
    s->pos = 0;
}

ZC_FN int zc_sma_step(zc_sma_t *s, ZC_GLOBAL double *ring, double x, double *out)
{
    ring[s->pos] = x;
    s->pos = zc_ind_wrap(s->pos, s->n);
    s->total += x;
    if (s->k++ < s->n - 1)
        return 0;
    *out = s->total / (double)s->n;
    s->total -= ring[s->pos]; /* the oldest value sits in the slot written next */
    return 1;
}

/* EMA stage: the first n inputs are summed from 0.0 in order and divided by
 * n (TA-Lib's default-compatibility seed), then (x - e) * k + e. */
typedef struct zc_ema_t {
    double e, k;
    int64_t count;
    int32_t n;
} zc_ema_t;

ZC_FN void zc_ema_init(zc_ema_t *s, int32_t n)
{
    s->e = 0.0;
    s->k = 2.0 / (double)(n + 1);
    s->count = 0;
    s->n = n;
}

ZC_FN int zc_ema_step(zc_ema_t *s, double x, double *out)
{
    if (s->count < s->n) {
        s->e += x;
        if (++s->count < s->n)
            return 0;
        s->e = s->e / (double)s->n;
    } else {
        s->e = ZC_FMA(x - s->e, s->k, s->e);
    }
    *out = s->e;
    return 1;
}

/* Population variance with the running SMA total alongside (TA-Lib var.c
 * and the fused BBANDS path): sums of deviations from a shift, re-anchored
 * to the window mean by a fresh two-pass sum every 32 * n bars or when the
 * subtraction would lose digits. ring: n slots. */
typedef struct zc_var_t {
    double ma_total, shift, t1, t2, inv;
    int64_t k;
    int32_t n, pos, reseed;
} zc_var_t;

ZC_FN void zc_var_init(zc_var_t *s, int32_t n)
{
    s->ma_total = 0.0;
    s->shift = 0.0;
    s->t1 = 0.0;
    s->t2 = 0.0;
    s->inv = 1.0 / (double)n;
    s->k = 0;
    s->n = n;
    s->pos = 0;
    s->reseed = 32 * n;
}

ZC_FN int zc_var_step(zc_var_t *s, ZC_GLOBAL double *ring, double x, double *mean, double *variance)
{
    int32_t n = s->n;
    ring[s->pos] = x;
    s->pos = zc_ind_wrap(s->pos, n);
    if (s->k == 0)
        s->shift = x;
    s->ma_total += x;
    double d = x - s->shift;
    s->t1 += d;
    d = ZC_MUL(d, d);
    s->t2 += d;
    if (s->k++ < n - 1)
        return 0;

    double m1 = ZC_MUL(s->t1, s->inv);
    double var = ZC_MUL(s->t2, s->inv) - ZC_MUL(m1, m1);
    *mean = s->ma_total / (double)n;
    double oldest = ring[s->pos];
    s->ma_total -= oldest;
    d = oldest - s->shift;
    s->t1 -= d;
    d = ZC_MUL(d, d);
    s->t2 -= d;

    s->reseed--;
    if (var < 0.000001 * ZC_MUL(s->t2, s->inv) || d > 1000000.0 * s->t2 || s->reseed <= 0) {
        s->reseed = 32 * n;
        double sum = 0.0;
        int32_t j = s->pos;
        for (int32_t i = 0; i < n; i++, j = zc_ind_wrap(j, n))
            sum += ring[j];
        s->shift = ZC_MUL(sum, s->inv);
        s->t1 = 0.0;
        s->t2 = 0.0;
        j = s->pos;
        for (int32_t i = 0; i < n; i++, j = zc_ind_wrap(j, n)) {
            double e = ring[j] - s->shift;
            s->t1 += e;
            e = ZC_MUL(e, e);
            s->t2 += e;
        }
        m1 = ZC_MUL(s->t1, s->inv);
        var = ZC_MUL(s->t2, s->inv) - ZC_MUL(m1, m1);
        if (var < 0.000000000001 * ZC_MUL(s->t2, s->inv))
            var = 0.0;
        d = oldest - s->shift;
        s->t1 -= d;
        d = ZC_MUL(d, d);
        s->t2 -= d;
    }
    *variance = var;
    return 1;
}

/* Window maximum and minimum over the last n bars (van Herk / Gil-Werman):
 * bars form blocks of n from the start of the series, and the window of a
 * bar is the tail of the previous block (its suffix extremes, built once per
 * block) plus the head of the current one (running prefix extremes). O(1)
 * per bar amortised, no data-dependent branches, and the same values a
 * rescan finds. ring: 4n doubles: this block's highs, the previous block's
 * suffix highs, then the same for lows. */
typedef struct zc_minmax_t {
    double hi, lo; /* prefix extremes of the current block */
    int32_t r, n;  /* position in the block */
    int32_t full;  /* a whole block has been seen */
} zc_minmax_t;

ZC_FN void zc_minmax_init(zc_minmax_t *m, int32_t n)
{
    m->hi = 0.0;
    m->lo = 0.0;
    m->r = 0;
    m->n = n;
    m->full = 0;
}

ZC_FN void zc_minmax_step(zc_minmax_t *m, ZC_GLOBAL double *ring, double h, double l, double *highest,
                          double *lowest)
{
    int32_t n = m->n, r = m->r;
    ZC_GLOBAL double *vh = ring, *sh = ring + n, *vl = ring + 2 * n, *sl = ring + 3 * n;
    m->hi = r == 0 || h > m->hi ? h : m->hi;
    m->lo = r == 0 || l < m->lo ? l : m->lo;
    vh[r] = h;
    vl[r] = l;
    if (r == n - 1) {
        *highest = m->hi;
        *lowest = m->lo;
        double a = h, b = l; /* this block becomes the previous one */
        sh[n - 1] = a;
        sl[n - 1] = b;
        for (int32_t j = n - 2; j >= 0; j--) {
            a = vh[j] > a ? vh[j] : a;
            b = vl[j] < b ? vl[j] : b;
            sh[j] = a;
            sl[j] = b;
        }
        m->r = 0;
        m->full = 1;
        return;
    }
    m->r = r + 1;
    if (!m->full) { /* still in the lookback: no window yet */
        *highest = m->hi;
        *lowest = m->lo;
        return;
    }
    *highest = sh[r + 1] > m->hi ? sh[r + 1] : m->hi;
    *lowest = sl[r + 1] < m->lo ? sl[r + 1] : m->lo;
}

ZC_FN double zc_true_range(double high, double low, double prev_close)
{
    double greatest = high - low;
    double v = fabs(prev_close - high);
    if (v > greatest)
        greatest = v;
    v = fabs(prev_close - low);
    if (v > greatest)
        greatest = v;
    return greatest;
}

ZC_FN double zc_typical_price(double h, double l, double c) { return (h + l + c) / 3.0; }

/* ---- indicators ------------------------------------------------------------ */

typedef struct zc_wma_t {
    double sum, sub, trailing, divider;
    int64_t k;
    int32_t n, pos, reseed;
} zc_wma_t;

typedef struct zc_ema3_t {
    zc_ema_t e1, e2, e3;
} zc_ema3_t;

typedef struct zc_rsi_t {
    double prev, gain, loss, inv;
    int64_t k;
    int32_t n;
} zc_rsi_t;

typedef struct zc_macd_t {
    zc_ema_t fast, slow, signal;
    int64_t k;
    int32_t skip;
} zc_macd_t;

typedef struct zc_atr_t {
    double prev_close, atr, total, alpha, beta;
    int64_t k;
    int32_t n;
} zc_atr_t;

typedef struct zc_stoch_t {
    zc_minmax_t mm;
    zc_sma_t slowk, slowd;
    int64_t k;
    int32_t n;
} zc_stoch_t;

typedef struct zc_cci_t {
    int64_t k;
    int32_t n, pos;
} zc_cci_t;

typedef struct zc_adx_t {
    double ph, pl, pc, mdm, pdm, tr, sumdx, adx;
    int64_t k;
    int32_t n;
} zc_adx_t;

typedef struct zc_mfi_t {
    double pos_sum, neg_sum, prev_tp;
    int64_t k;
    int32_t n, pos, null_run;
} zc_mfi_t;

typedef struct zc_obv_t {
    double obv, prev;
    int64_t k;
} zc_obv_t;

typedef struct zc_vwap_t {
    double spv, sv, vwap;
    int64_t k;
    int32_t n, pos, null_run;
} zc_vwap_t;

typedef struct zc_varind_t {
    zc_var_t v;
    double nbdev, nbdev2;
} zc_varind_t;

#define ZC_IND_STATE_WORDS 16

typedef union zc_ind_state {
    double raw[ZC_IND_STATE_WORDS]; /* covers every member; zeroed by zc_ind_init */
    zc_sma_t sma;
    zc_ema_t ema;
    zc_wma_t wma;
    zc_ema3_t ema3;
    zc_rsi_t rsi;
    zc_macd_t macd;
    zc_atr_t atr;
    zc_stoch_t stoch;
    zc_cci_t cci;
    zc_adx_t adx;
    zc_mfi_t mfi;
    zc_obv_t obv;
    zc_vwap_t vwap;
    zc_varind_t var;
} zc_ind_state;

/* WMA: TA-Lib's periodSum/periodSub recurrence, rebuilt from the window
 * (oldest first, weights 1..n) every 8 * n bars. ring: n slots. */
ZC_FN int zc_wma_step(zc_wma_t *s, ZC_GLOBAL double *ring, double x, double *out)
{
    int32_t n = s->n;
    if (n == 1) {
        *out = x;
        return 1;
    }
    ring[s->pos] = x;
    s->pos = zc_ind_wrap(s->pos, n);
    if (s->k < n - 1) {
        s->sub += x;
        s->sum += ZC_MUL(x, (double)(s->k + 1));
        s->k++;
        return 0;
    }
    s->k++;
    s->sub += x;
    s->sub -= s->trailing;
    s->sum += ZC_MUL(x, (double)n);
    if (--s->reseed <= 0) {
        s->reseed = 8 * n;
        s->sub = 0.0;
        s->sum = 0.0;
        int32_t j = s->pos;
        for (int32_t i = 1; i <= n; i++, j = zc_ind_wrap(j, n)) {
            double t = ring[j];
            s->sub += t;
            s->sum += ZC_MUL(t, (double)i);
        }
    }
    s->trailing = ring[s->pos];
    *out = s->sum / s->divider;
    s->sum -= s->sub;
    return 1;
}

ZC_FN int zc_rsi_step(zc_rsi_t *s, double x, double *out)
{
    if (s->k == 0) {
        s->prev = x;
        s->k = 1;
        return 0;
    }
    double d = x - s->prev;
    s->prev = x;
    double g = d > 0.0 ? d : 0.0;
    if (s->k <= s->n) {
        s->gain += g;
        s->loss += g - d;
        if (s->k++ < s->n)
            return 0;
        s->loss = ZC_MUL(s->loss, s->inv);
        s->gain = ZC_MUL(s->gain, s->inv);
    } else {
        s->loss = ZC_MUL(s->loss, (double)(s->n - 1));
        s->gain = ZC_MUL(s->gain, (double)(s->n - 1));
        s->gain += g;
        s->loss += g - d;
        s->loss = ZC_MUL(s->loss, s->inv);
        s->gain = ZC_MUL(s->gain, s->inv);
    }
    /* No gain and no loss (0/0) reads 0, as in the reference TA-Lib build. */
    double total = s->gain + s->loss;
    *out = total > 0.0 ? 100.0 * (s->gain / total) : 0.0;
    return 1;
}

ZC_FN int zc_macd_step(zc_macd_t *s, double x, double *o)
{
    double slow, fast = 0.0, sig;
    int ok = zc_ema_step(&s->slow, x, &slow);
    /* The fast seed window is the tail of the slow one: both end on one bar. */
    if (s->k++ >= s->skip)
        zc_ema_step(&s->fast, x, &fast);
    if (!ok)
        return 0;
    double m = fast - slow;
    if (!zc_ema_step(&s->signal, m, &sig))
        return 0;
    o[0] = m;
    o[1] = sig;
    o[2] = m - sig;
    return 1;
}

ZC_FN int zc_atr_step(zc_atr_t *s, double h, double l, double c, double *out)
{
    if (s->k == 0) {
        s->prev_close = c;
        s->k = 1;
        return 0;
    }
    double tr = zc_true_range(h, l, s->prev_close);
    s->prev_close = c;
    if (s->k <= s->n) {
        s->total += tr;
        if (s->k++ < s->n)
            return 0;
        s->atr = s->total / (double)s->n;
    } else {
        s->atr = ZC_FMA(s->beta, s->atr, ZC_MUL(s->alpha, tr));
    }
    *out = s->atr;
    return 1;
}

/* STOCH ring: the window extremes (4 * fastk), then the slowk and slowd SMA
 * rings. */
ZC_FN int zc_stoch_step(zc_stoch_t *s, ZC_GLOBAL double *ring, double h, double l, double c, double *o)
{
    int32_t n = s->n;
    double highest, lowest;
    zc_minmax_step(&s->mm, ring, h, l, &highest, &lowest);
    if (s->k++ < n - 1)
        return 0;
    double range = highest - lowest;
    double fastk = 0.0;
    if (!(fabs(range) <= ZC_TA_EPSILON * (fabs(highest) + fabs(lowest))))
        fastk = 100.0 * ((c - lowest) / range);
    double slowk, slowd;
    if (!zc_sma_step(&s->slowk, ring + 4 * n, fastk, &slowk))
        return 0;
    if (!zc_sma_step(&s->slowd, ring + 4 * n + s->slowk.n, slowk, &slowd))
        return 0;
    o[0] = slowk;
    o[1] = slowd;
    return 1;
}

ZC_FN int zc_willr_step(zc_stoch_t *s, ZC_GLOBAL double *ring, double h, double l, double c, double *out)
{
    double highest, lowest;
    zc_minmax_step(&s->mm, ring, h, l, &highest, &lowest);
    if (s->k++ < s->n - 1)
        return 0;
    double range = highest - lowest;
    *out = range != 0.0 ? -100.0 * ((highest - c) / range) : 0.0;
    return 1;
}

/* CCI sums its circular buffer in slot order, as TA-Lib does, so the ring
 * slot of bar k is k % n from the start of the series. */
ZC_FN int zc_cci_step(zc_cci_t *s, ZC_GLOBAL double *ring, double h, double l, double c, double *out)
{
    int32_t n = s->n;
    double tp = (h + l + c) / 3.0;
    ring[s->pos] = tp;
    s->pos = zc_ind_wrap(s->pos, n);
    if (s->k++ < n - 1)
        return 0;
    double avg = 0.0;
    for (int32_t j = 0; j < n; j++)
        avg += ring[j];
    avg /= (double)n;
    double dev = 0.0;
    for (int32_t j = 0; j < n; j++)
        dev += fabs(ring[j] - avg);
    dev /= (double)n;
    double t = tp - avg;
    /* "Flat window" is judged relative to the price level (TA-Lib #253). */
    double band = ZC_TA_EPSILON * fabs(avg);
    *out = (fabs(t) > band && fabs(dev) > band) ? t / (0.015 * dev) : 0.0;
    return 1;
}

ZC_FN int zc_adx_step(zc_adx_t *s, double h, double l, double c, double *out)
{
    int32_t n = s->n;
    if (s->k == 0) {
        s->ph = h;
        s->pl = l;
        s->pc = c;
        s->k = 1;
        return 0;
    }
    double dp = h - s->ph, dm = s->pl - l;
    s->ph = h;
    s->pl = l;
    if (s->k >= n) {
        s->mdm -= s->mdm / (double)n;
        s->pdm -= s->pdm / (double)n;
    }
    double msel = dm - dp > 0.0 ? dm : 0.0;
    double psel = dp - dm > 0.0 ? dp : 0.0;
    s->mdm += dm > 0.0 ? msel : 0.0;
    s->pdm += dp > 0.0 ? psel : 0.0;
    double tr = zc_true_range(h, l, s->pc);
    s->pc = c;
    if (s->k < n) {
        s->tr += tr;
        s->k++;
        return 0;
    }
    s->tr = s->tr - (s->tr / (double)n) + tr;
    double dx = 0.0;
    int have = 0;
    if (s->tr > 0.0) {
        double mdi = 100.0 * (s->mdm / s->tr);
        double pdi = 100.0 * (s->pdm / s->tr);
        double sum = mdi + pdi;
        if (!(-ZC_TA_EPSILON < sum && sum < ZC_TA_EPSILON)) {
            dx = 100.0 * (fabs(mdi - pdi) / sum);
            have = 1;
        }
    }
    if (s->k < 2 * (int64_t)n - 1) {
        if (have)
            s->sumdx += dx;
        s->k++;
        return 0;
    }
    if (s->k == 2 * (int64_t)n - 1) {
        if (have)
            s->sumdx += dx;
        s->adx = s->sumdx / (double)n;
        s->k++;
    } else if (have) {
        s->adx = (ZC_MUL(s->adx, (double)(n - 1)) + dx) / (double)n;
    }
    *out = s->adx;
    return 1;
}

/* MFI ring: positive flows in slots [0, n), negative in [n, 2n). */
ZC_FN int zc_mfi_step(zc_mfi_t *s, ZC_GLOBAL double *ring, double h, double l, double c, double v, double *out)
{
    int32_t n = s->n;
    double tp = (h + l + c) / 3.0;
    if (s->k == 0) {
        s->prev_tp = tp;
        s->k = 1;
        return 0;
    }
    if (s->k > n) {
        s->pos_sum -= ring[s->pos];
        s->neg_sum -= ring[n + s->pos];
    }
    double d = tp - s->prev_tp;
    double scale = fabs(tp) + fabs(s->prev_tp);
    s->prev_tp = tp;
    double mf = ZC_MUL(tp, v);
    if (fabs(d) <= ZC_TA_EPSILON * scale)
        mf = 0.0;
    double pf = d < 0.0 ? 0.0 : mf;
    double nf = d < 0.0 ? mf : 0.0;
    ring[s->pos] = pf;
    ring[n + s->pos] = nf;
    s->pos_sum += pf;
    s->neg_sum += nf;
    /* A window of bars without money flow sums to exactly zero. */
    s->null_run = mf == 0.0 ? s->null_run + 1 : 0;
    if (s->null_run >= n) {
        s->null_run = n;
        s->pos_sum = 0.0;
        s->neg_sum = 0.0;
    }
    s->pos = zc_ind_wrap(s->pos, n);
    if (s->k++ < n)
        return 0;
    double total = s->pos_sum + s->neg_sum;
    double pc = s->pos_sum < 0.0 ? 0.0 : (s->pos_sum > total ? total : s->pos_sum);
    *out = total <= 0.0 ? 0.0 : 100.0 * (pc / total);
    return 1;
}

ZC_FN int zc_obv_step(zc_obv_t *s, double c, double v, double *out)
{
    if (s->k == 0) {
        s->obv = v;
        s->prev = c;
        s->k = 1;
    } else {
        /* Arithmetic, not branches: the direction of a move is a coin flip.
         * +-v and +0 give TA-Lib's sums (only a -0 total would turn +0). */
        double dir = (double)((c > s->prev) - (c < s->prev));
        s->obv += ZC_MUL(dir, v);
        s->prev = c;
    }
    *out = s->obv;
    return 1;
}

/* Rolling VWAP over n bars of the typical price (TA-Lib VWMA of TYPPRICE);
 * n == 0 is the cumulative VWAP of the series (TA-Lib VWAP). ring: typical
 * prices in [0, n), volumes in [n, 2n). */
ZC_FN int zc_vwap_step(zc_vwap_t *s, ZC_GLOBAL double *ring, double h, double l, double c, double v, double *out)
{
    int32_t n = s->n;
    double tp = zc_typical_price(h, l, c);
    if (n == 0) {
        s->spv += ZC_MUL(tp, v);
        s->sv += v;
        if (s->sv > 0.0)
            s->vwap = s->spv / s->sv;
        *out = s->vwap;
        return 1;
    }
    if (n == 1) {
        *out = tp;
        return 1;
    }
    ring[s->pos] = tp;
    ring[n + s->pos] = v;
    s->pos = zc_ind_wrap(s->pos, n);
    s->spv += ZC_MUL(tp, v);
    s->sv += v;
    s->null_run = v == 0.0 ? s->null_run + 1 : 0;
    if (s->k++ < n - 1)
        return 0;
    if (s->null_run >= n) {
        s->null_run = n;
        s->spv = 0.0;
        s->sv = 0.0;
    }
    double spv = s->spv, sv = s->sv;
    s->spv -= ZC_MUL(ring[s->pos], ring[n + s->pos]);
    s->sv -= ring[n + s->pos];
    *out = (spv / (double)n) / (sv / (double)n);
    return 1;
}

/* ---- dispatch ---------------------------------------------------------------- */

ZC_FN uint32_t zc_ind_inputs(int32_t kind)
{
    switch (kind) {
    case ZC_IND_ATR:
    case ZC_IND_STOCH:
    case ZC_IND_WILLR:
    case ZC_IND_CCI:
    case ZC_IND_ADX:
        return ZC_IND_IN_HIGH | ZC_IND_IN_LOW | ZC_IND_IN_CLOSE;
    case ZC_IND_MFI:
    case ZC_IND_VWAP:
        return ZC_IND_IN_HIGH | ZC_IND_IN_LOW | ZC_IND_IN_CLOSE | ZC_IND_IN_VOLUME;
    case ZC_IND_OBV:
        return ZC_IND_IN_CLOSE | ZC_IND_IN_VOLUME;
    default:
        return ZC_IND_IN_CLOSE;
    }
}

ZC_FN int zc_ind_outputs(int32_t kind)
{
    if (kind == ZC_IND_MACD || kind == ZC_IND_BBANDS)
        return 3;
    return kind == ZC_IND_STOCH ? 2 : 1;
}

/* Doubles of window state per series. */
ZC_FN int64_t zc_ind_ring_len(const zc_ind_params *p)
{
    int64_t n = p->p[0];
    switch (p->kind) {
    case ZC_IND_SMA:
    case ZC_IND_WMA:
    case ZC_IND_BBANDS:
    case ZC_IND_CCI:
    case ZC_IND_STDDEV:
    case ZC_IND_ZSCORE:
        return n;
    case ZC_IND_STOCH:
        return 4 * n + p->p[1] + p->p[2];
    case ZC_IND_WILLR:
        return 4 * n;
    case ZC_IND_MFI:
    case ZC_IND_VWAP:
        return 2 * n;
    default:
        return 0;
    }
}

/* First bar with an output, counted from the start of a gap-free run. */
ZC_FN int64_t zc_ind_lookback(const zc_ind_params *p)
{
    int64_t n = p->p[0];
    switch (p->kind) {
    case ZC_IND_DEMA:
        return 2 * (n - 1);
    case ZC_IND_TEMA:
        return 3 * (n - 1);
    case ZC_IND_RSI:
    case ZC_IND_ATR:
    case ZC_IND_MFI:
        return n;
    case ZC_IND_MACD: {
        int64_t slow = p->p[0] > p->p[1] ? p->p[0] : p->p[1];
        return slow - 1 + p->p[2] - 1;
    }
    case ZC_IND_STOCH:
        return n - 1 + p->p[1] - 1 + p->p[2] - 1;
    case ZC_IND_ADX:
        return 2 * n - 1;
    case ZC_IND_OBV:
        return 0;
    case ZC_IND_VWAP:
        return n > 0 ? n - 1 : 0;
    default:
        return n - 1;
    }
}

ZC_FN void zc_ind_init(const zc_ind_params *p, zc_ind_state *st)
{
    int32_t n = p->p[0];
    for (int i = 0; i < ZC_IND_STATE_WORDS; i++)
        st->raw[i] = 0.0;
    switch (p->kind) {
    case ZC_IND_SMA:
        zc_sma_init(&st->sma, n);
        break;
    case ZC_IND_EMA:
        zc_ema_init(&st->ema, n);
        break;
    case ZC_IND_WMA:
        st->wma.sum = 0.0;
        st->wma.sub = 0.0;
        st->wma.trailing = 0.0;
        st->wma.divider = (double)n * (double)(n + 1) / 2.0;
        st->wma.k = 0;
        st->wma.n = n;
        st->wma.pos = 0;
        st->wma.reseed = 8 * n;
        break;
    case ZC_IND_DEMA:
    case ZC_IND_TEMA:
        zc_ema_init(&st->ema3.e1, n);
        zc_ema_init(&st->ema3.e2, n);
        zc_ema_init(&st->ema3.e3, n);
        break;
    case ZC_IND_RSI:
        st->rsi.prev = 0.0;
        st->rsi.gain = 0.0;
        st->rsi.loss = 0.0;
        st->rsi.inv = 1.0 / (double)n;
        st->rsi.k = 0;
        st->rsi.n = n;
        break;
    case ZC_IND_MACD: {
        /* TA-Lib swaps the periods when slow < fast. */
        int32_t fast = p->p[0] < p->p[1] ? p->p[0] : p->p[1];
        int32_t slow = p->p[0] < p->p[1] ? p->p[1] : p->p[0];
        zc_ema_init(&st->macd.fast, fast);
        zc_ema_init(&st->macd.slow, slow);
        zc_ema_init(&st->macd.signal, p->p[2]);
        st->macd.k = 0;
        st->macd.skip = slow - fast;
        break;
    }
    case ZC_IND_ATR:
        st->atr.prev_close = 0.0;
        st->atr.atr = 0.0;
        st->atr.total = 0.0;
        /* alpha derived from beta: alpha + beta == 1 exactly (TA-Lib atr.c). */
        st->atr.beta = (double)(n - 1) / (double)n;
        st->atr.alpha = 1.0 - st->atr.beta;
        st->atr.k = 0;
        st->atr.n = n;
        break;
    case ZC_IND_STOCH:
    case ZC_IND_WILLR:
        zc_minmax_init(&st->stoch.mm, n);
        zc_sma_init(&st->stoch.slowk, p->kind == ZC_IND_STOCH ? p->p[1] : 1);
        zc_sma_init(&st->stoch.slowd, p->kind == ZC_IND_STOCH ? p->p[2] : 1);
        st->stoch.k = 0;
        st->stoch.n = n;
        break;
    case ZC_IND_CCI:
        st->cci.k = 0;
        st->cci.n = n;
        st->cci.pos = 0;
        break;
    case ZC_IND_ADX:
        st->adx.ph = 0.0;
        st->adx.pl = 0.0;
        st->adx.pc = 0.0;
        st->adx.mdm = 0.0;
        st->adx.pdm = 0.0;
        st->adx.tr = 0.0;
        st->adx.sumdx = 0.0;
        st->adx.adx = 0.0;
        st->adx.k = 0;
        st->adx.n = n;
        break;
    case ZC_IND_MFI:
        st->mfi.pos_sum = 0.0;
        st->mfi.neg_sum = 0.0;
        st->mfi.prev_tp = 0.0;
        st->mfi.k = 0;
        st->mfi.n = n;
        st->mfi.pos = 0;
        st->mfi.null_run = 0;
        break;
    case ZC_IND_OBV:
        st->obv.obv = 0.0;
        st->obv.prev = 0.0;
        st->obv.k = 0;
        break;
    case ZC_IND_VWAP:
        st->vwap.spv = 0.0;
        st->vwap.sv = 0.0;
        st->vwap.vwap = 0.0;
        st->vwap.k = 0;
        st->vwap.n = n;
        st->vwap.pos = 0;
        st->vwap.null_run = 0;
        break;
    default: /* BBANDS, STDDEV, ZSCORE */
        zc_var_init(&st->var.v, n);
        st->var.nbdev = p->d[0];
        st->var.nbdev2 = p->d[1];
        break;
    }
}

ZC_FN int zc_bbands_step(zc_varind_t *s, ZC_GLOBAL double *ring, double x, double *o)
{
    double mean, var;
    if (!zc_var_step(&s->v, ring, x, &mean, &var))
        return 0;
    double sd = var != 0.0 ? sqrt(var) : 0.0;
    if (s->nbdev == s->nbdev2) {
        double w = ZC_MUL(sd, s->nbdev);
        o[0] = mean + w;
        o[2] = mean - w;
    } else {
        o[0] = ZC_FMA(sd, s->nbdev, mean);
        o[2] = mean - ZC_MUL(sd, s->nbdev2);
    }
    o[1] = mean;
    return 1;
}

ZC_FN int zc_stddev_step(zc_varind_t *s, ZC_GLOBAL double *ring, double x, double *out)
{
    double mean, var;
    if (!zc_var_step(&s->v, ring, x, &mean, &var))
        return 0;
    *out = s->nbdev != 1.0 ? ZC_MUL(sqrt(var), s->nbdev) : sqrt(var);
    return 1;
}

/* (x - SMA) / population standard deviation; 0 where the deviation is 0. */
ZC_FN int zc_zscore_step(zc_varind_t *s, ZC_GLOBAL double *ring, double x, double *out)
{
    double mean, var;
    if (!zc_var_step(&s->v, ring, x, &mean, &var))
        return 0;
    double sd = sqrt(var);
    *out = sd != 0.0 ? (x - mean) / sd : 0.0;
    return 1;
}

/* TA-Lib copies the input at period 1 for EMA and TEMA (not for DEMA). */
ZC_FN int zc_emaind_step(zc_ema_t *s, double x, double *out)
{
    if (s->n == 1) {
        *out = x;
        return 1;
    }
    return zc_ema_step(s, x, out);
}

ZC_FN int zc_dema_step(zc_ema3_t *s, double x, double *out)
{
    double e1, e2;
    if (!zc_ema_step(&s->e1, x, &e1) || !zc_ema_step(&s->e2, e1, &e2))
        return 0;
    *out = ZC_MUL(2.0, e1) - e2;
    return 1;
}

ZC_FN int zc_tema_step(zc_ema3_t *s, double x, double *out)
{
    double e1, e2, e3;
    if (s->e1.n == 1) {
        *out = x;
        return 1;
    }
    if (!zc_ema_step(&s->e1, x, &e1) || !zc_ema_step(&s->e2, e1, &e2) || !zc_ema_step(&s->e3, e2, &e3))
        return 0;
    *out = e3 + (ZC_MUL(3.0, e1) - ZC_MUL(3.0, e2));
    return 1;
}

/* One bar of complete (finite) inputs; writes the outputs and returns 1, or
 * returns 0 while the indicator is still in its lookback. */
ZC_FN int zc_ind_step(int32_t kind, zc_ind_state *st, ZC_GLOBAL double *ring, double h, double l, double c,
                      double v, double *o)
{
    switch (kind) {
    case ZC_IND_SMA:
        return zc_sma_step(&st->sma, ring, c, o);
    case ZC_IND_EMA:
        return zc_emaind_step(&st->ema, c, o);
    case ZC_IND_WMA:
        return zc_wma_step(&st->wma, ring, c, o);
    case ZC_IND_DEMA:
        return zc_dema_step(&st->ema3, c, o);
    case ZC_IND_TEMA:
        return zc_tema_step(&st->ema3, c, o);
    case ZC_IND_RSI:
        return zc_rsi_step(&st->rsi, c, o);
    case ZC_IND_MACD:
        return zc_macd_step(&st->macd, c, o);
    case ZC_IND_BBANDS:
        return zc_bbands_step(&st->var, ring, c, o);
    case ZC_IND_ATR:
        return zc_atr_step(&st->atr, h, l, c, o);
    case ZC_IND_STOCH:
        return zc_stoch_step(&st->stoch, ring, h, l, c, o);
    case ZC_IND_WILLR:
        return zc_willr_step(&st->stoch, ring, h, l, c, o);
    case ZC_IND_CCI:
        return zc_cci_step(&st->cci, ring, h, l, c, o);
    case ZC_IND_ADX:
        return zc_adx_step(&st->adx, h, l, c, o);
    case ZC_IND_MFI:
        return zc_mfi_step(&st->mfi, ring, h, l, c, v, o);
    case ZC_IND_OBV:
        return zc_obv_step(&st->obv, c, v, o);
    case ZC_IND_VWAP:
        return zc_vwap_step(&st->vwap, ring, h, l, c, v, o);
    case ZC_IND_STDDEV:
        return zc_stddev_step(&st->var, ring, c, o);
    default:
        return zc_zscore_step(&st->var, ring, c, o);
    }
}

/* One bar through the gap rule: a gap restarts the indicator; gaps and bars
 * in the lookback write NaN to all three outputs. */
ZC_FN void zc_ind_bar(const zc_ind_params *p, zc_ind_state *st, ZC_GLOBAL double *ring, uint32_t need, double h,
                      double l, double c, double v, double *o)
{
    int complete = ((need & ZC_IND_IN_HIGH) == 0 || zc_ind_finite(h)) &&
                   ((need & ZC_IND_IN_LOW) == 0 || zc_ind_finite(l)) &&
                   ((need & ZC_IND_IN_CLOSE) == 0 || zc_ind_finite(c)) &&
                   ((need & ZC_IND_IN_VOLUME) == 0 || zc_ind_finite(v));
    o[0] = o[1] = o[2] = zc_ind_nan();
    if (complete)
        zc_ind_step(p->kind, st, ring, h, l, c, v, o);
    else
        zc_ind_init(p, st);
}

/* One series of T bars (row `stride` apart for each input) through the gap
 * rule; outputs with index >= zc_ind_outputs(kind) are not written. Inputs an
 * indicator does not read may be any valid pointer. */
ZC_FN void zc_ind_series(zc_ind_params p, ZC_GLOBAL const double *high, ZC_GLOBAL const double *low,
                         ZC_GLOBAL const double *close, ZC_GLOBAL const double *volume, int64_t T,
                         ZC_GLOBAL double *out0, ZC_GLOBAL double *out1, ZC_GLOBAL double *out2,
                         ZC_GLOBAL double *ring)
{
    zc_ind_state st;
    zc_ind_init(&p, &st);
    uint32_t need = zc_ind_inputs(p.kind);
    int nout = zc_ind_outputs(p.kind);
    for (int64_t t = 0; t < T; t++) {
        double h = (need & ZC_IND_IN_HIGH) ? high[t] : 0.0;
        double l = (need & ZC_IND_IN_LOW) ? low[t] : 0.0;
        double v = (need & ZC_IND_IN_VOLUME) ? volume[t] : 0.0;
        double o[3];
        zc_ind_bar(&p, &st, ring, need, h, l, close[t], v, o);
        out0[t] = o[0];
        if (nout > 1) {
            out1[t] = o[1];
            if (nout > 2)
                out2[t] = o[2];
        }
    }
}

#endif
