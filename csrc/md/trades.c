/* Trade-derived market data: time, volume and dollar bars, and rolling
 * volume and VWAP over a time window. Trades of many symbols arrive
 * interleaved; each symbol is processed in its own arrival order. */
#include <stdlib.h>

#include "md_internal.h"

#include "../core/internal.h"

zc_status zc_md_check_trades(const zc_trade *t, size_t n, uint32_t nsym)
{
    if (!t && n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "trades must not be NULL");
    uint64_t *last = calloc(nsym ? nsym : 1, sizeof *last);
    if (!last)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "timestamps of %u symbols", nsym);
    zc_status st = ZC_OK;
    for (size_t i = 0; i < n && st == ZC_OK; i++) {
        const zc_trade *x = &t[i];
        if (x->symbol >= nsym)
            st = ZC_ERR(ZC_ERR_OUT_OF_RANGE, "trade %zu: symbol %u is not below %u", i, x->symbol, nsym);
        else if (x->price - x->price != 0.0 || x->size - x->size != 0.0)
            st = ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "trade %zu: price and size must be finite", i);
        else if (x->size < 0.0)
            st = ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "trade %zu: negative size %g", i, x->size);
        else if (x->ts < last[x->symbol])
            st = ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "trade %zu: timestamp goes backwards for symbol %u", i, x->symbol);
        else
            last[x->symbol] = x->ts;
    }
    free(last);
    return st;
}

zc_status zc_md_group(const uint32_t *key, size_t stride, size_t n, uint32_t nkeys, uint64_t **offsets,
                      uint64_t **order)
{
    *offsets = calloc((size_t)nkeys + 1, sizeof **offsets);
    *order = malloc((n ? n : 1) * sizeof **order);
    if (!*offsets || !*order) {
        free(*offsets);
        free(*order);
        *offsets = *order = NULL;
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "grouping %zu records", n);
    }
    uint64_t *off = *offsets;
#define KEY(i) (*(const uint32_t *)((const char *)key + (i) * stride))
    for (size_t i = 0; i < n; i++)
        off[KEY(i) + 1]++;
    for (uint32_t s = 0; s < nkeys; s++)
        off[s + 1] += off[s];
    for (size_t i = 0; i < n; i++)
        (*order)[off[KEY(i)]++] = i;
#undef KEY
    for (uint32_t s = nkeys; s > 0; s--)
        off[s] = off[s - 1];
    off[0] = 0;
    return ZC_OK;
}

static void bar_open(zc_bar *b, uint32_t s, const zc_trade *t)
{
    b->t_open = t->ts;
    b->t_close = t->ts;
    b->symbol = s;
    b->trades = 0;
    b->complete = 0;
    b->pad = 0;
    b->open = b->high = b->low = t->price;
    b->close = t->price;
    b->volume = 0.0;
    b->notional = 0.0;
    b->vwap = 0.0;
}

static void bar_add(zc_bar *b, const zc_trade *t)
{
    if (t->price > b->high)
        b->high = t->price;
    if (t->price < b->low)
        b->low = t->price;
    b->close = t->price;
    b->t_close = t->ts;
    b->trades++;
    b->volume += t->size;
    b->notional += t->price * t->size;
}

static void bar_emit(zc_bar *b, zc_bar *out, size_t cap, size_t *nb)
{
    b->vwap = b->volume > 0.0 ? b->notional / b->volume : (double)NAN;
    if (*nb < cap)
        out[*nb] = *b;
    (*nb)++;
}

zc_status zc_md_bars(const zc_trade *t, size_t n, uint32_t nsym, zc_bar_kind kind, double threshold, zc_bar *out,
                     size_t cap, size_t *nbars)
{
    if (!nbars || (!out && cap))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "nbars (and out when cap > 0) must not be NULL");
    *nbars = 0;
    if ((unsigned)kind > ZC_BAR_DOLLAR)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown bar kind %d", (int)kind);
    if (!(threshold > 0.0) || threshold - threshold != 0.0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "the bar threshold must be positive and finite, got %g", threshold);
    if (kind == ZC_BAR_TIME && (threshold < 1.0 || threshold > 1.8e19))
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "the bar interval must be in [1, 1.8e19] ns, got %g", threshold);
    ZC_CHECK(zc_md_check_trades(t, n, nsym));
    uint64_t *off, *order;
    ZC_CHECK(zc_md_group(&t->symbol, sizeof *t, n, nsym, &off, &order));
    uint64_t interval = (uint64_t)threshold;
    size_t nb = 0;
    for (uint32_t s = 0; s < nsym; s++) {
        zc_bar b;
        int open = 0;
        uint64_t bucket = 0;
        for (uint64_t j = off[s]; j < off[s + 1]; j++) {
            const zc_trade *x = &t[order[j]];
            if (kind == ZC_BAR_TIME) {
                uint64_t k = x->ts / interval;
                if (open && k != bucket) {
                    b.complete = 1;
                    bar_emit(&b, out, cap, &nb);
                    open = 0;
                }
                if (!open) {
                    bar_open(&b, s, x);
                    bucket = k;
                    open = 1;
                }
                bar_add(&b, x);
                b.t_open = bucket * interval;
                b.t_close = (bucket + 1) * interval;
                continue;
            }
            if (!open) {
                bar_open(&b, s, x);
                open = 1;
            }
            bar_add(&b, x);
            if ((kind == ZC_BAR_VOLUME ? b.volume : b.notional) >= threshold) {
                b.complete = 1;
                bar_emit(&b, out, cap, &nb);
                open = 0;
            }
        }
        if (open)
            bar_emit(&b, out, cap, &nb);
    }
    free(off);
    free(order);
    *nbars = nb;
    return ZC_OK;
}

/* Neumaier-compensated running sum: rolling windows add and remove values
 * for a long time, and plain sums would drift. */
typedef struct csum {
    double s, c;
} csum;

static void csum_add(csum *a, double x)
{
    double t = a->s + x;
    if (fabs(a->s) >= fabs(x))
        a->c += (a->s - t) + x;
    else
        a->c += (x - t) + a->s;
    a->s = t;
}

zc_status zc_md_trades_rolling(const zc_trade *t, size_t n, uint32_t nsym, uint64_t window_ns, double *volume,
                               double *vwap)
{
    if ((!volume || !vwap) && n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "volume and vwap must not be NULL");
    if (window_ns == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "the window must be at least 1 ns");
    ZC_CHECK(zc_md_check_trades(t, n, nsym));
    uint64_t *off, *order;
    ZC_CHECK(zc_md_group(&t->symbol, sizeof *t, n, nsym, &off, &order));
    for (uint32_t s = 0; s < nsym; s++) {
        csum vol = {0.0, 0.0}, notional = {0.0, 0.0};
        uint64_t first = off[s];
        for (uint64_t j = off[s]; j < off[s + 1]; j++) {
            const zc_trade *x = &t[order[j]];
            csum_add(&vol, x->size);
            csum_add(&notional, x->price * x->size);
            /* Drop trades at or before ts - window: the window is (ts - window, ts]. */
            while (x->ts >= window_ns && t[order[first]].ts <= x->ts - window_ns) {
                const zc_trade *y = &t[order[first++]];
                csum_add(&vol, -y->size);
                csum_add(&notional, -(y->price * y->size));
            }
            double v = vol.s + vol.c;
            volume[order[j]] = v;
            vwap[order[j]] = v > 0.0 ? (notional.s + notional.c) / v : (double)NAN;
        }
    }
    free(off);
    free(order);
    return ZC_OK;
}
