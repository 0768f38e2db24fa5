/* Market-data book arithmetic shared by the L2 processor: sorted price
 * levels per side, top-of-book quantities and depth metrics. A side is an
 * array of `cap` levels of 3 doubles (price, size, orders), best first (bids
 * descending, asks ascending), with n levels in use. */
#ifndef ZC_MD_KERNEL_H
#define ZC_MD_KERNEL_H

#include "zc_kernel.h"

/* The host counts levels with SSE2 where it has it (same results);
 * ZC_L2_PORTABLE_FIND selects the portable loop everywhere (tests). */
#if defined(ZC_TARGET_HOST) && defined(__SSE2__) && !defined(ZC_L2_PORTABLE_FIND)
#define ZC_L2_FIND_SSE2 1
#include <emmintrin.h>
#endif

#define ZC_L2_BID 0
#define ZC_L2_ASK 1
#define ZC_L2_LEVEL 3 /* doubles per level: price, size, orders */

/* Levels of a side that zc_l2_find counts without branches. */
#define ZC_L2_FIND_BLOCK 16

/* How many of the first ZC_L2_FIND_BLOCK levels (those below n) have
 * sgn * price < key. The levels past n are read (the side has room for the
 * block) and masked out. */
ZC_FN int64_t zc_l2_count_better(ZC_GLOBAL const double *lv, int64_t n, double sgn, double key)
{
#if defined(ZC_L2_FIND_SSE2)
    /* One bit per level; the better levels below n are a prefix (levels are
     * sorted), so the count is the first level that is not better, or n. */
    __m128d vs = _mm_set1_pd(sgn), vk = _mm_set1_pd(key);
    unsigned better = 0;
    for (int j = 0; j < ZC_L2_FIND_BLOCK; j += 2) {
        __m128d p = _mm_loadh_pd(_mm_load_sd(lv + ZC_L2_LEVEL * j), lv + ZC_L2_LEVEL * (j + 1));
        better |= (unsigned)_mm_movemask_pd(_mm_cmplt_pd(_mm_mul_pd(p, vs), vk)) << j;
    }
    unsigned used = n < ZC_L2_FIND_BLOCK ? (unsigned)n : ZC_L2_FIND_BLOCK;
    return __builtin_ctz(~better | 1u << used);
#else
    int64_t count = 0;
    for (int64_t j = 0; j < ZC_L2_FIND_BLOCK; j++)
        count += (lv[ZC_L2_LEVEL * j] * sgn < key) & (j < n);
    return count;
#endif
}

/* x negated on the bid side (exact). On the host by flipping the sign bit:
 * GCC compiles a choice between x and -x to a branch, and the sides of
 * consecutive messages are random, so it was mispredicted about every other
 * message. */
ZC_FN double zc_l2_side_key(double x, int side)
{
#if defined(ZC_TARGET_HOST)
    uint64_t u;
    __builtin_memcpy(&u, &x, sizeof u);
    u ^= (uint64_t)(side == ZC_L2_BID) << 63;
    __builtin_memcpy(&x, &u, sizeof x);
    return x;
#else
    return side == ZC_L2_BID ? -x : x;
#endif
}

/* Index of the level at `price`, or -(insertion point) - 1. Bid prices are
 * compared negated (exact), so one comparison serves both sides. The first
 * block of levels, where nearly all updates land, is counted without
 * branches: a linear scan's exit depends on the price and is mispredicted on
 * most messages, which cost more than the scan itself. Levels past the
 * block are scanned linearly. */
ZC_FN int64_t zc_l2_find(ZC_GLOBAL const double *lv, int64_t n, int64_t cap, int side, double price)
{
    double sgn = zc_l2_side_key(1.0, side), key = zc_l2_side_key(price, side);
    int64_t i = cap >= ZC_L2_FIND_BLOCK ? zc_l2_count_better(lv, n, sgn, key) : 0;
    if (cap < ZC_L2_FIND_BLOCK || i == ZC_L2_FIND_BLOCK)
        while (i < n && lv[ZC_L2_LEVEL * i] * sgn < key)
            i++;
    int64_t at = -i - 1;
    if (i < n && lv[ZC_L2_LEVEL * i] == price)
        at = i;
    return at;
}

/* Results of zc_l2_set_level: 0 or a combination of these bits. */
#define ZC_L2_SET_OK 0
#define ZC_L2_SET_OVERFLOW 1 /* the side was full: the worst level (or the new one) was dropped */
#define ZC_L2_SET_TOP 2      /* the best level changed (price, size or orders), or the side emptied */

/* Sets the level at price to (size, orders); size 0 removes it. */
ZC_FN int zc_l2_set_level(ZC_GLOBAL double *lv, int64_t *n, int64_t cap, int side, double price, double size,
                          double orders)
{
    int64_t used = *n;
    int64_t i = zc_l2_find(lv, used, cap, side, price);
    /* Shifts move one level at a time through registers: a flat copy loop
     * becomes a memmove call, which costs more than the few levels moved
     * near the top. */
    if (i >= 0) {
        if (size == 0.0) {
            for (int64_t x = i; x < used - 1; x++) {
                ZC_GLOBAL double *d = lv + ZC_L2_LEVEL * x;
                double p = d[ZC_L2_LEVEL], s = d[ZC_L2_LEVEL + 1], o = d[ZC_L2_LEVEL + 2];
                d[0] = p;
                d[1] = s;
                d[2] = o;
            }
            *n = used - 1;
        } else {
            lv[ZC_L2_LEVEL * i + 1] = size;
            lv[ZC_L2_LEVEL * i + 2] = orders;
        }
        return i == 0 ? ZC_L2_SET_TOP : ZC_L2_SET_OK;
    }
    if (size == 0.0)
        return ZC_L2_SET_OK;
    i = -i - 1;
    int result = i == 0 ? ZC_L2_SET_TOP : ZC_L2_SET_OK;
    if (used == cap) {
        result |= ZC_L2_SET_OVERFLOW;
        if (i == cap)
            return result; /* worse than every kept level */
        used--;
    }
    /* Insert by rotation: each level takes the one before it, the new level
     * enters at i and the last one moves to `used`. */
    double p = price, s = size, o = orders;
    for (int64_t x = i; x <= used; x++) {
        ZC_GLOBAL double *d = lv + ZC_L2_LEVEL * x;
        double tp = d[0], ts = d[1], to = d[2];
        d[0] = p;
        d[1] = s;
        d[2] = o;
        p = tp;
        s = ts;
        o = to;
    }
    *n = used + 1;
    return result;
}

/* Adds dsize (and dorders) to the level at price, creating or removing it;
 * used for order-by-order sources. */
ZC_FN int zc_l2_add_level(ZC_GLOBAL double *lv, int64_t *n, int64_t cap, int side, double price, double dsize,
                          double dorders)
{
    int64_t i = zc_l2_find(lv, *n, cap, side, price);
    double size = dsize, orders = dorders;
    if (i >= 0) {
        size += lv[ZC_L2_LEVEL * i + 1];
        orders += lv[ZC_L2_LEVEL * i + 2];
    }
    if (size <= 0.0 || orders <= 0.0)
        size = 0.0;
    return zc_l2_set_level(lv, n, cap, side, price, size, orders);
}

/* Top-of-book quantities of one symbol; NaN where a side is empty. */
typedef struct zc_l1 {
    double bid, bid_size, ask, ask_size, mid, spread, microprice, imbalance;
} zc_l1;

ZC_FN zc_l1 zc_l2_top(ZC_GLOBAL const double *bids, int64_t nb, ZC_GLOBAL const double *asks, int64_t na, double nan)
{
    zc_l1 q;
    q.bid = nb ? bids[0] : nan;
    q.bid_size = nb ? bids[1] : nan;
    q.ask = na ? asks[0] : nan;
    q.ask_size = na ? asks[1] : nan;
    if (nb && na) {
        q.mid = (q.bid + q.ask) / 2.0;
        q.spread = q.ask - q.bid;
        double total = q.bid_size + q.ask_size;
        q.microprice = (q.bid * q.ask_size + q.ask * q.bid_size) / total;
        q.imbalance = (q.bid_size - q.ask_size) / total;
    } else {
        q.mid = q.spread = q.microprice = q.imbalance = nan;
    }
    return q;
}

/* Volume-weighted price of taking `qty` from the side (the cost of a market
 * order through the book); NaN when the side holds less. */
ZC_FN double zc_l2_vwap_through(ZC_GLOBAL const double *lv, int64_t n, double qty, double nan)
{
    double left = qty, notional = 0.0;
    for (int64_t i = 0; i < n && left > 0.0; i++) {
        double take = lv[ZC_L2_LEVEL * i + 1] < left ? lv[ZC_L2_LEVEL * i + 1] : left;
        notional += take * lv[ZC_L2_LEVEL * i];
        left -= take;
    }
    return left > 0.0 || qty <= 0.0 ? nan : notional / qty;
}

/* Size resting within `bps` basis points of mid on the side. */
ZC_FN double zc_l2_depth_within(ZC_GLOBAL const double *lv, int64_t n, int side, double mid, double bps)
{
    double limit = side == ZC_L2_BID ? mid * (1.0 - bps / 10000.0) : mid * (1.0 + bps / 10000.0);
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double p = lv[ZC_L2_LEVEL * i];
        if (side == ZC_L2_BID ? p < limit : p > limit)
            break;
        total += lv[ZC_L2_LEVEL * i + 1];
    }
    return total;
}

/* Liquidity holes among the top `levels` levels: gaps between consecutive
 * levels wider than `tick` (empty price ticks inside the book). Returns the
 * number of holes and writes the widest gap in ticks (0 when none). */
ZC_FN int64_t zc_l2_holes(ZC_GLOBAL const double *lv, int64_t n, int64_t levels, double tick, double *widest)
{
    int64_t holes = 0;
    double w = 0.0;
    int64_t m = n < levels ? n : levels;
    for (int64_t i = 1; i < m; i++) {
        double gap = fabs(lv[ZC_L2_LEVEL * i] - lv[ZC_L2_LEVEL * (i - 1)]) / tick;
        /* A gap of one tick is adjacent levels; half a tick absorbs rounding. */
        if (gap > 1.5) {
            holes++;
            if (gap - 1.0 > w)
                w = gap - 1.0;
        }
    }
    *widest = w;
    return holes;
}

/* Size of the top k levels of a side. */
ZC_FN double zc_l2_size_top(ZC_GLOBAL const double *lv, int64_t n, int64_t k)
{
    double total = 0.0;
    for (int64_t i = 0; i < n && i < k; i++)
        total += lv[ZC_L2_LEVEL * i + 1];
    return total;
}

/* ---- order flow ---------------------------------------------------------- */

/* Order-flow imbalance contribution of one quote update at one level (Cont,
 * Kukanov & Stoikov 2014, eq. 10):
 *   e = [Pb >= Pb'] qb - [Pb <= Pb'] qb' - [Pa <= Pa'] qa + [Pa >= Pa'] qa'
 * where primes are the previous quote. */
ZC_FN double zc_ofi_step(double pb0, double qb0, double pa0, double qa0, double pb, double qb, double pa, double qa)
{
    double e = 0.0;
    if (pb >= pb0)
        e += qb;
    if (pb <= pb0)
        e -= qb0;
    if (pa <= pa0)
        e -= qa;
    if (pa >= pa0)
        e += qa0;
    return e;
}

/* Trade signs: +1 buyer-initiated, -1 seller-initiated, 0 unknown. */
ZC_FN int zc_tick_sign(double price, double prev_price, int prev_sign)
{
    if (price > prev_price)
        return 1;
    if (price < prev_price)
        return -1;
    return prev_sign; /* zero tick: the last non-zero tick's sign */
}

ZC_FN int zc_quote_sign(double price, double bid, double ask)
{
    double mid = (bid + ask) / 2.0;
    if (price > mid)
        return 1;
    if (price < mid)
        return -1;
    return 0;
}

#endif
