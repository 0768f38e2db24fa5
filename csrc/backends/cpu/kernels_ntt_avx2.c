/* AVX2 NTT stages for BabyBear: eight 32-bit lanes per vector. They compute
 * the same canonical values as zc_ntt_group_bb (kernels/ntt.h), which they
 * replace; only this file is compiled for AVX2 (function attribute), and
 * kernels_ntt.c calls it only where the CPU has AVX2. */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "../../../kernels/ntt.h"
#include "kernels_ntt.h"

#define AVX2 __attribute__((target("avx2")))

/* Lane-wise a + b mod p of canonical values: a + b < 2p < 2^32, and when it
 * is below p the wrapped a + b - p is larger, so min picks the right one. */
static inline AVX2 __m256i bb_add(__m256i a, __m256i b)
{
    __m256i p = _mm256_set1_epi32((int)ZC_BB_P);
    __m256i t = _mm256_add_epi32(a, b);
    return _mm256_min_epu32(t, _mm256_sub_epi32(t, p));
}

static inline AVX2 __m256i bb_sub(__m256i a, __m256i b)
{
    __m256i p = _mm256_set1_epi32((int)ZC_BB_P);
    __m256i t = _mm256_sub_epi32(a, b);
    return _mm256_min_epu32(t, _mm256_add_epi32(t, p));
}

/* The odd 32-bit lanes moved down to the even ones (a shuffle, which keeps
 * the shift units free for the products). */
static inline AVX2 __m256i odd_lanes(__m256i x)
{
    return _mm256_castps_si256(_mm256_movehdup_ps(_mm256_castsi256_ps(x)));
}

/* Montgomery product, as zc_bb_mont_reduce: the even and odd lanes are
 * multiplied as 64-bit products; q = lo(ab) * p^-1 makes ab - qp a multiple
 * of 2^32, so hi(ab) - hi(qp) in (-p, p) is the result before the final
 * correction, which min does as in bb_sub. The high halves are gathered
 * into one vector first, so the subtraction runs on 32-bit lanes. */
static inline AVX2 __m256i bb_mul(__m256i a, __m256i b)
{
    __m256i p = _mm256_set1_epi32((int)ZC_BB_P);
    __m256i mu = _mm256_set1_epi32((int)ZC_BB_MU);
    __m256i ab_even = _mm256_mul_epu32(a, b);
    __m256i ab_odd = _mm256_mul_epu32(odd_lanes(a), odd_lanes(b));
    __m256i qp_even = _mm256_mul_epu32(_mm256_mul_epu32(ab_even, mu), p);
    __m256i qp_odd = _mm256_mul_epu32(_mm256_mul_epu32(ab_odd, mu), p);
    __m256i ab_hi = _mm256_blend_epi32(odd_lanes(ab_even), ab_odd, 0xaa);
    __m256i qp_hi = _mm256_blend_epi32(odd_lanes(qp_even), qp_odd, 0xaa);
    __m256i d = _mm256_sub_epi32(ab_hi, qp_hi);
    return _mm256_min_epu32(d, _mm256_add_epi32(d, p));
}

static inline AVX2 __m256i load(const uint32_t *x) { return _mm256_loadu_si256((const __m256i *)x); }

static inline AVX2 void store(uint32_t *x, __m256i v) { _mm256_storeu_si256((__m256i *)x, v); }

static inline AVX2 void butterfly(uint32_t *a, uint32_t *b, __m256i w, uint32_t dif)
{
    __m256i u = load(a), v = load(b);
    if (dif) {
        store(a, bb_add(u, v));
        store(b, bb_mul(bb_sub(u, v), w));
    } else {
        v = bb_mul(v, w);
        store(a, bb_add(u, v));
        store(b, bb_sub(u, v));
    }
}

/* Stages 0..2 of eight consecutive elements inside one vector. Each stage
 * pairs lanes with a partner `half` lanes away (swapped in by `partner`),
 * forms sum and difference, and keeps the sum in the lower and the
 * difference in the upper lane of each pair (blend mask `upper`). w1 and w2
 * hold the stage-1 and stage-2 twiddles on the upper lanes and one elsewhere. */
static inline AVX2 __m256i pair_sum_diff(__m256i x, __m256i partner, int upper)
{
    __m256i sum = bb_add(x, partner), diff = bb_sub(partner, x);
    switch (upper) {
    case 0xaa: return _mm256_blend_epi32(sum, diff, 0xaa);
    case 0xcc: return _mm256_blend_epi32(sum, diff, 0xcc);
    default: return _mm256_blend_epi32(sum, diff, 0xf0);
    }
}

static inline AVX2 __m256i radix8_dit(__m256i x, __m256i w1, __m256i w2)
{
    x = pair_sum_diff(x, _mm256_shuffle_epi32(x, 0xb1), 0xaa);
    x = bb_mul(x, w1);
    x = pair_sum_diff(x, _mm256_shuffle_epi32(x, 0x4e), 0xcc);
    x = bb_mul(x, w2);
    return pair_sum_diff(x, _mm256_permute2x128_si256(x, x, 0x01), 0xf0);
}

static inline AVX2 __m256i radix8_dif(__m256i x, __m256i w1, __m256i w2)
{
    x = pair_sum_diff(x, _mm256_permute2x128_si256(x, x, 0x01), 0xf0);
    x = bb_mul(x, w2);
    x = pair_sum_diff(x, _mm256_shuffle_epi32(x, 0x4e), 0xcc);
    x = bb_mul(x, w1);
    return pair_sum_diff(x, _mm256_shuffle_epi32(x, 0xb1), 0xaa);
}

static inline AVX2 void dit2(__m256i *u, __m256i *v, __m256i w)
{
    __m256i t = bb_mul(*v, w);
    *v = bb_sub(*u, t);
    *u = bb_add(*u, t);
}

static inline AVX2 void dif2(__m256i *u, __m256i *v, __m256i w)
{
    __m256i t = bb_sub(*u, *v);
    *u = bb_add(*u, *v);
    *v = bb_mul(t, w);
}

/* Stages `level` and level + 1 of n contiguous elements in one sweep: each
 * quarter-block quadruple a, b, c, d = x[j], x[j + m], x[j + 2m], x[j + 3m]
 * (m = 2^level) is loaded and stored once for both. */
static AVX2 void radix4(uint32_t *x, const uint32_t *tw, uint64_t n, uint32_t level, uint32_t dif)
{
    uint64_t m = (uint64_t)1 << level;
    for (uint64_t j0 = 0; j0 < n; j0 += 4 * m)
        for (uint64_t t = 0; t < m; t += 8) {
            uint32_t *p = x + j0 + t;
            __m256i a = load(p), b = load(p + m), c = load(p + 2 * m), d = load(p + 3 * m);
            __m256i w1 = load(tw + m + t), w2 = load(tw + 2 * m + t), w3 = load(tw + 3 * m + t);
            if (dif) {
                dif2(&a, &c, w2);
                dif2(&b, &d, w3);
                dif2(&a, &b, w1);
                dif2(&c, &d, w1);
            } else {
                dit2(&a, &b, w1);
                dit2(&c, &d, w1);
                dit2(&a, &c, w2);
                dit2(&b, &d, w3);
            }
            store(p, a);
            store(p + m, b);
            store(p + 2 * m, c);
            store(p + 3 * m, d);
        }
}

/* One stage of n contiguous elements. */
static AVX2 void radix2(uint32_t *x, const uint32_t *tw, uint64_t n, uint32_t level, uint32_t dif)
{
    uint64_t m = (uint64_t)1 << level;
    for (uint64_t j0 = 0; j0 < n; j0 += 2 * m)
        for (uint64_t t = 0; t < m; t += 8)
            butterfly(x + j0 + t, x + j0 + t + m, load(tw + m + t), dif);
}

/* All s >= 3 stages of 2^s contiguous elements (one column): stages 0..2
 * inside each vector, the others two at a time. */
static AVX2 void block(uint32_t *x, const uint32_t *tw, uint32_t s, uint32_t dif)
{
    uint64_t n = (uint64_t)1 << s;
    uint32_t one = tw[1];
    __m256i w1 = _mm256_setr_epi32((int)one, (int)one, (int)tw[2], (int)tw[3], (int)one, (int)one, (int)tw[2],
                                   (int)tw[3]);
    __m256i w2 = _mm256_setr_epi32((int)one, (int)one, (int)one, (int)one, (int)tw[4], (int)tw[5], (int)tw[6],
                                   (int)tw[7]);
    if (dif) {
        uint32_t level = s;
        for (; level >= 5; level -= 2)
            radix4(x, tw, n, level - 2, 1);
        if (level == 4)
            radix2(x, tw, n, 3, 1);
        for (uint64_t i = 0; i < n; i += 8)
            store(x + i, radix8_dif(load(x + i), w1, w2));
    } else {
        for (uint64_t i = 0; i < n; i += 8)
            store(x + i, radix8_dit(load(x + i), w1, w2));
        uint32_t level = 3;
        for (; level + 2 <= s; level += 2)
            radix4(x, tw, n, level, 0);
        if (level < s)
            radix2(x, tw, n, level, 0);
    }
}

/* Butterflies of rows a and b over n lanes from lane q0, as
 * zc_ntt_butterflies_bb; low0 and c0 are the row-group position and column
 * of lane q0. */
static AVX2 void lanes(uint32_t *a, uint32_t *b, const uint32_t *w, uint64_t cols, uint64_t q0, uint64_t n,
                       uint64_t low0, uint64_t c0, uint32_t dif)
{
    uint64_t k = 0;
    if (cols == 1) {
        for (; k + 8 <= n; k += 8)
            butterfly(a + k, b + k, load(w + q0 + k), dif);
    } else if (cols % 8 == 0 && c0 % 8 == 0) {
        /* Eight lanes then lie in one column run: one twiddle. */
        uint64_t low = low0, c = c0;
        for (; k + 8 <= n; k += 8) {
            butterfly(a + k, b + k, _mm256_set1_epi32((int)w[low]), dif);
            c += 8;
            if (c == cols) {
                c = 0;
                low++;
            }
        }
    }
    if (k < n)
        zc_ntt_butterflies_bb(a + k, b + k, w, cols, q0 + k, n - k, dif);
}

/* The twiddles of eight lanes from lane q0 + k of a stage table w, as
 * `lanes` picks them: one per lane (cols = 1) or one for all eight. */
static inline AVX2 __m256i lane_twiddles(const uint32_t *w, uint64_t cols, uint64_t q0, uint64_t k, uint64_t low)
{
    return cols == 1 ? load(w + q0 + k) : _mm256_set1_epi32((int)w[low]);
}

/* Two stages at once, levels `level` and level + 1, of n lanes from lane q0
 * of a group with rows `stride` apart: each quadruple of rows j, j + m,
 * j + 2m, j + 3m (m = 2^level) is loaded and stored once for both, as in
 * radix4. tw1 and tw2 are the two stages' tables (tw + 2^(s0 + level) and
 * tw + 2^(s0 + level + 1)). Needs lanes that `lanes` vectorises whole. */
static AVX2 void lanes_radix4(uint32_t *x, uint64_t stride, const uint32_t *tw1, const uint32_t *tw2, uint64_t cols,
                              uint32_t s0, uint32_t s, uint32_t level, uint64_t q0, uint64_t n, uint64_t low0,
                              uint64_t c0, uint32_t dif)
{
    uint64_t m = (uint64_t)1 << level, nrows = (uint64_t)1 << s;
    for (uint64_t j0 = 0; j0 < nrows; j0 += 4 * m)
        for (uint64_t jt = 0; jt < m; jt++) {
            uint32_t *pa = x + (j0 + jt) * stride, *pb = pa + m * stride, *pc = pb + m * stride,
                     *pd = pc + m * stride;
            const uint32_t *w1 = tw1 + (jt << s0), *w2 = tw2 + (jt << s0), *w3 = tw2 + ((jt + m) << s0);
            uint64_t low = low0, c = c0;
            for (uint64_t k = 0; k < n; k += 8) {
                __m256i a = load(pa + k), b = load(pb + k), cc = load(pc + k), d = load(pd + k);
                __m256i t1 = lane_twiddles(w1, cols, q0, k, low), t2 = lane_twiddles(w2, cols, q0, k, low),
                        t3 = lane_twiddles(w3, cols, q0, k, low);
                if (dif) {
                    dif2(&a, &cc, t2);
                    dif2(&b, &d, t3);
                    dif2(&a, &b, t1);
                    dif2(&cc, &d, t1);
                } else {
                    dit2(&a, &b, t1);
                    dit2(&cc, &d, t1);
                    dit2(&a, &cc, t2);
                    dit2(&b, &d, t3);
                }
                store(pa + k, a);
                store(pb + k, b);
                store(pc + k, cc);
                store(pd + k, d);
                c += 8;
                if (c == cols) {
                    c = 0;
                    low++;
                }
            }
        }
}

/* One stage (level) of n lanes from lane q0 of a group, rows `stride` apart. */
static AVX2 void lanes_radix2(uint32_t *x, uint64_t stride, const uint32_t *tw, uint64_t cols, uint32_t s0,
                              uint32_t s, uint32_t level, uint64_t q0, uint64_t n, uint64_t low0, uint64_t c0,
                              uint32_t dif)
{
    uint64_t span = (uint64_t)1 << level, nrows = (uint64_t)1 << s;
    const uint32_t *tws = tw + ((uint64_t)1 << (s0 + level));
    for (uint64_t j0 = 0; j0 < nrows; j0 += 2 * span)
        for (uint64_t jt = 0; jt < span; jt++) {
            uint32_t *a = x + (j0 + jt) * stride;
            lanes(a, a + span * stride, tws + (jt << s0), cols, q0, n, low0, c0, dif);
        }
}

AVX2 void zc_avx2_ntt_group_bb(uint32_t *x, uint64_t stride, const uint32_t *tw, uint64_t cols, uint32_t s0,
                               uint32_t s, uint32_t dif, uint64_t q0, uint64_t n, uint32_t scale)
{
    uint64_t nrows = (uint64_t)1 << s;
    if (stride == 1 && s0 == 0) { /* one contiguous column */
        if (s < 3) { /* too short for a vector */
            zc_ntt_group_bb(x, stride, tw, cols, s0, s, dif, q0, n, scale);
            return;
        }
        block(x, tw, s, dif);
    } else {
        uint64_t low0 = q0 / cols, c0 = q0 % cols;
        /* Whole vectors with the twiddles `lanes` takes: stages in pairs. */
        int whole = n % 8 == 0 && (cols == 1 || (cols % 8 == 0 && c0 % 8 == 0));
        uint32_t pairs = whole ? s / 2 : 0, rest = s - 2 * pairs;
        if (dif) { /* levels s - 1 down to 0: pairs from the top, then the rest */
            for (uint32_t i = 0; i < pairs; i++) {
                uint32_t level = s - 2 - 2 * i;
                lanes_radix4(x, stride, tw + ((uint64_t)1 << (s0 + level)), tw + ((uint64_t)1 << (s0 + level + 1)),
                             cols, s0, s, level, q0, n, low0, c0, 1);
            }
            for (uint32_t level = rest; level-- > 0;)
                lanes_radix2(x, stride, tw, cols, s0, s, level, q0, n, low0, c0, 1);
        } else { /* levels 0 up to s - 1: the rest, then pairs */
            for (uint32_t level = 0; level < rest; level++)
                lanes_radix2(x, stride, tw, cols, s0, s, level, q0, n, low0, c0, 0);
            for (uint32_t level = rest; level < s; level += 2)
                lanes_radix4(x, stride, tw + ((uint64_t)1 << (s0 + level)), tw + ((uint64_t)1 << (s0 + level + 1)),
                             cols, s0, s, level, q0, n, low0, c0, 0);
        }
    }
    if (scale) {
        __m256i f = _mm256_set1_epi32((int)scale);
        for (uint64_t j = 0; j < nrows; j++) {
            uint32_t *row = x + j * stride;
            uint64_t k = 0;
            for (; k + 8 <= n; k += 8)
                store(row + k, bb_mul(load(row + k), f));
            for (; k < n; k++)
                row[k] = zc_bb_mul(row[k], scale);
        }
    }
}

#endif
