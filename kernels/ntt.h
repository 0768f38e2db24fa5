/* Radix-2 NTT, coset scaling and polynomial kernels over BabyBear (suffix
 * bb, uint32_t) and Goldilocks (suffix gl, uint64_t).
 *
 * Data are canonical field elements. Constants (twiddles, shifts, scale
 * factors) are in the field's multiplier form, for which zc_F_mul(x, c) of a
 * canonical x is canonical: Montgomery form for BabyBear, canonical for
 * Goldilocks (zc_F_mform converts). Results are unique canonical values, so
 * any grouping of the same operations gives the same bits on every backend.
 *
 * Layout: a transform runs down the columns of a row-major rows x cols
 * matrix (cols = 1 for one vector); row e of column c is element e * cols + c.
 *
 * Transform: forward y_i = sum_j x_j w^(i j) with w = two_adic_root(log rows);
 * the inverse uses w^-1 and a final 1/rows. DIT (Cooley-Tukey) maps
 * bit-reversed input to natural output, DIF (Gentleman-Sande) natural input
 * to bit-reversed output. Stage `st` pairs rows e and e + 2^st and uses the
 * twiddle w_(2^(st+1))^(e mod 2^st), stored at tw[2^st + (e mod 2^st)]:
 * one table of 2^k entries serves every transform of up to 2^k rows.
 *
 * A pass runs stages [s0, s0 + s) (ascending for DIT, descending for DIF).
 * Write a row index as e = (high, j, low) with s bits of j and s0 bits of
 * low: the rows sharing `high` form a group of 2^s rows of width
 * W = cols << s0 lanes, at stride W, and the pass only mixes rows within a
 * group. A work item takes one group and a chunk of `lanes` of its W lanes;
 * items = (rows >> (s0 + s)) * ceil(W / lanes). Backends choose s and lanes
 * (cache-sized blocks on cpus, few stages per launch on GPUs). */
#ifndef ZC_NTT_H
#define ZC_NTT_H

#include "field_babybear.h"
#include "field_goldilocks.h"
#include "zc_kernel.h"

/* Stages per pass on GPUs (2^4 rows per work item). */
#define ZC_NTT_GPU_STAGES 4u
/* Largest tile side (2^6 rows) of the bit-reversal permutation. */
#define ZC_NTT_BITREV_MAX_TILE_BITS 6u

ZC_FN uint32_t zc_bb_mform(uint32_t x) { return zc_bb_to_mont(x); }
ZC_FN uint32_t zc_bb_unmform(uint32_t x) { return zc_bb_from_mont(x); }
ZC_FN uint64_t zc_gl_mform(uint64_t x) { return x; }
ZC_FN uint64_t zc_gl_unmform(uint64_t x) { return x; }

/* The factor k for which zc_F_mul(zc_F_mul(a, b), k) = a * b * c of
 * canonical a, b (pointwise products): c R^2 for BabyBear. */
ZC_FN uint32_t zc_bb_product_factor(uint32_t c) { return zc_bb_mform(zc_bb_mform(c)); }
ZC_FN uint64_t zc_gl_product_factor(uint64_t c) { return c; }

/* The low `bits` bits of x in reverse order. */
ZC_FN uint64_t zc_bitrev64(uint64_t x, uint32_t bits)
{
    if (bits == 0)
        return 0;
    x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
    x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
    x = ((x >> 4) & 0x0f0f0f0f0f0f0f0full) | ((x & 0x0f0f0f0f0f0f0f0full) << 4);
    x = ((x >> 8) & 0x00ff00ff00ff00ffull) | ((x & 0x00ff00ff00ff00ffull) << 8);
    x = ((x >> 16) & 0x0000ffff0000ffffull) | ((x & 0x0000ffff0000ffffull) << 16);
    x = (x >> 32) | (x << 32);
    return x >> (64 - bits);
}

/* Bit-reversal permutation of the rows, row e -> row rev(e), by tiles: with
 * e = (a, b, c), a and c of t bits, rev(e) = (rev c, rev b, rev a), so the
 * 2^2t rows of middle part b map onto those of rev b. Item b handles that
 * tile pair; items = 2^(log_rows - 2t) and log_rows >= 2t. In place
 * (src == dst) the smaller of b and rev b swaps; otherwise every item copies. */
#define ZC_NTT_DEFINE_BITREV(S, T)                                                                                  \
    ZC_FN void zc_ntt_bitrev_item_##S(const ZC_GLOBAL T *src, ZC_GLOBAL T *dst, uint32_t log_rows, uint64_t cols,   \
                                      uint32_t t, uint64_t item)                                                    \
    {                                                                                                               \
        uint64_t b = item, br = zc_bitrev64(item, log_rows - 2 * t);                                                \
        int in_place = src == dst;                                                                                  \
        if (in_place && b > br)                                                                                     \
            return;                                                                                                 \
        uint64_t side = (uint64_t)1 << t;                                                                           \
        uint32_t shift = log_rows - t;                                                                              \
        for (uint64_t a = 0; a < side; a++)                                                                         \
            for (uint64_t c = 0; c < side; c++) {                                                                   \
                uint64_t e = (a << shift) | (b << t) | c;                                                           \
                uint64_t r = (zc_bitrev64(c, t) << shift) | (br << t) | zc_bitrev64(a, t);                          \
                const ZC_GLOBAL T *from = src + e * cols;                                                           \
                ZC_GLOBAL T *to = dst + r * cols;                                                                   \
                if (!in_place) {                                                                                    \
                    for (uint64_t k = 0; k < cols; k++)                                                             \
                        to[k] = from[k];                                                                            \
                } else if (b != br || e < r) {                                                                      \
                    ZC_GLOBAL T *x = dst + e * cols;                                                                \
                    for (uint64_t k = 0; k < cols; k++) {                                                           \
                        T v = x[k];                                                                                 \
                        x[k] = to[k];                                                                               \
                        to[k] = v;                                                                                  \
                    }                                                                                               \
                }                                                                                                   \
            }                                                                                                       \
    }

ZC_NTT_DEFINE_BITREV(u32, uint32_t)
ZC_NTT_DEFINE_BITREV(u64, uint64_t)

/* The per-field kernels, instantiated for bb and gl below. F is the field
 * suffix of the zc_F_* arithmetic and T its element type.
 *
 * zc_ntt_dit_F, zc_ntt_dif_F: one DIT (u + v t, u - v t) or DIF (u + v,
 * (u - v) t) butterfly in place.
 * zc_ntt_run_F: n butterflies of a[k], b[k] with twiddles w[k].
 * zc_ntt_butterflies_F: the butterflies of rows a and b over n lanes from
 * lane q0 (a[k] is lane q0 + k); lane q lies in row-group position q / cols,
 * whose twiddle is w[q / cols].
 * zc_ntt_group_F: the stages of one pass over n lanes from lane q0 of a group
 * whose row j starts at x + j * stride, then the scaling: scale != 0
 * multiplies the results by it (the 1/n of an inverse, on its last pass).
 *
 * zc_ntt_pass_item_F: one work item of a pass (see the top of this file),
 * in place in dst after copying its part of src (they may be the same).
 *
 * zc_ntt_scale_rows_F: dst row j = src row j * c * h^j for rows [begin, end).
 *
 * zc_ntt_pointwise_range_F: a[i] = a[i] * b[i] * c for i in [begin, end), with
 * k = zc_F_product_factor(c).
 *
 * zc_poly_eval_partial_item_F: item = point p * nchunks + chunk k; Horner over
 * coefficients [k * chunk, (k + 1) * chunk) at points[p], into partial[item].
 * zc_poly_eval_combine_item_F: item = point p; sum_k partial[p][k] * x^(k chunk).
 *
 * zc_batch_inv_item_F: inverses of the nonzero in[i], i in [item * chunk,
 * (item + 1) * chunk), by Montgomery's trick (one field inversion per chunk);
 * in and out must be distinct. */
#define ZC_NTT_DEFINE_FIELD(F, T)                                                                                   \
    ZC_FN void zc_ntt_dit_##F(ZC_GLOBAL T *a, ZC_GLOBAL T *b, T t)                                                  \
    {                                                                                                               \
        T u = *a, v = zc_##F##_mul(*b, t);                                                                          \
        *a = zc_##F##_add(u, v);                                                                                    \
        *b = zc_##F##_sub(u, v);                                                                                    \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_ntt_dif_##F(ZC_GLOBAL T *a, ZC_GLOBAL T *b, T t)                                                  \
    {                                                                                                               \
        T u = *a, v = *b;                                                                                           \
        *a = zc_##F##_add(u, v);                                                                                    \
        *b = zc_##F##_mul(zc_##F##_sub(u, v), t);                                                                   \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_ntt_run_##F(ZC_GLOBAL T *a, ZC_GLOBAL T *b, const ZC_GLOBAL T *w, uint64_t n, uint32_t dif)       \
    {                                                                                                               \
        if (dif)                                                                                                    \
            for (uint64_t k = 0; k < n; k++)                                                                        \
                zc_ntt_dif_##F(a + k, b + k, w[k]);                                                                 \
        else                                                                                                        \
            for (uint64_t k = 0; k < n; k++)                                                                        \
                zc_ntt_dit_##F(a + k, b + k, w[k]);                                                                 \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_ntt_butterflies_##F(ZC_GLOBAL T *a, ZC_GLOBAL T *b, const ZC_GLOBAL T *w, uint64_t cols,          \
                                      uint64_t q0, uint64_t n, uint32_t dif)                                        \
    {                                                                                                               \
        if (cols == 1) {                                                                                            \
            zc_ntt_run_##F(a, b, w + q0, n, dif);                                                                   \
            return;                                                                                                 \
        }                                                                                                           \
        uint64_t low = q0 / cols, k = 0;                                                                            \
        for (uint64_t end = cols - q0 % cols; k < n; low++, end = k + cols) {                                       \
            T t = w[low];                                                                                           \
            if (end > n)                                                                                            \
                end = n;                                                                                            \
            if (dif)                                                                                                \
                for (; k < end; k++)                                                                                \
                    zc_ntt_dif_##F(a + k, b + k, t);                                                                \
            else                                                                                                    \
                for (; k < end; k++)                                                                                \
                    zc_ntt_dit_##F(a + k, b + k, t);                                                                \
        }                                                                                                           \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_ntt_group_##F(ZC_GLOBAL T *x, uint64_t stride, const ZC_GLOBAL T *tw, uint64_t cols, uint32_t s0, \
                                uint32_t s, uint32_t dif, uint64_t q0, uint64_t n, T scale)                         \
    {                                                                                                               \
        uint64_t nrows = (uint64_t)1 << s;                                                                          \
        for (uint32_t i = 0; i < s; i++) {                                                                          \
            uint32_t level = dif ? s - 1 - i : i;                                                                   \
            uint64_t span = (uint64_t)1 << level;                                                                   \
            const ZC_GLOBAL T *tws = tw + ((uint64_t)1 << (s0 + level));                                            \
            for (uint64_t j0 = 0; j0 < nrows; j0 += 2 * span) {                                                     \
                if (stride == 1 && s0 == 0) { /* one contiguous column: runs along the rows */                      \
                    zc_ntt_run_##F(x + j0, x + j0 + span, tws, span, dif);                                          \
                    continue;                                                                                       \
                }                                                                                                   \
                for (uint64_t jt = 0; jt < span; jt++) {                                                            \
                    ZC_GLOBAL T *a = x + (j0 + jt) * stride;                                                        \
                    zc_ntt_butterflies_##F(a, a + span * stride, tws + (jt << s0), cols, q0, n, dif);               \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        if (scale)                                                                                                  \
            for (uint64_t j = 0; j < nrows; j++)                                                                    \
                for (uint64_t k = 0; k < n; k++)                                                                    \
                    x[j * stride + k] = zc_##F##_mul(x[j * stride + k], scale);                                     \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_ntt_pass_item_##F(const ZC_GLOBAL T *src, ZC_GLOBAL T *dst, const ZC_GLOBAL T *tw, uint64_t cols, \
                                    uint32_t s0, uint32_t s, uint32_t dif, uint64_t lanes, T scale, uint64_t item)  \
    {                                                                                                               \
        uint64_t width = cols << s0;                                                                                \
        uint64_t chunks = (width + lanes - 1) / lanes;                                                              \
        uint64_t q0 = item % chunks * lanes;                                                                        \
        uint64_t n = q0 + lanes < width ? lanes : width - q0;                                                       \
        uint64_t base = item / chunks * (width << s) + q0;                                                          \
        if (src != dst)                                                                                             \
            for (uint64_t j = 0; j < ((uint64_t)1 << s); j++)                                                       \
                for (uint64_t k = 0; k < n; k++)                                                                    \
                    dst[base + j * width + k] = src[base + j * width + k];                                          \
        zc_ntt_group_##F(dst + base, width, tw, cols, s0, s, dif, q0, n, scale);                                    \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_ntt_scale_rows_##F(const ZC_GLOBAL T *src, ZC_GLOBAL T *dst, uint64_t cols, T c, T h,             \
                                     uint64_t begin, uint64_t end)                                                  \
    {                                                                                                               \
        T f = zc_##F##_mul(c, zc_##F##_pow(h, begin));                                                              \
        for (uint64_t j = begin; j < end; j++) {                                                                    \
            for (uint64_t k = j * cols; k < (j + 1) * cols; k++)                                                    \
                dst[k] = zc_##F##_mul(src[k], f);                                                                   \
            f = zc_##F##_mul(f, h);                                                                                 \
        }                                                                                                           \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_ntt_pointwise_range_##F(ZC_GLOBAL T *a, const ZC_GLOBAL T *b, T k, uint64_t begin, uint64_t end)  \
    {                                                                                                               \
        for (uint64_t i = begin; i < end; i++)                                                                      \
            a[i] = zc_##F##_mul(zc_##F##_mul(a[i], b[i]), k);                                                       \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_poly_eval_partial_item_##F(const ZC_GLOBAL T *coeffs, uint64_t n, const ZC_GLOBAL T *points,      \
                                             uint64_t chunk, uint64_t nchunks, ZC_GLOBAL T *partial, uint64_t item) \
    {                                                                                                               \
        uint64_t lo = item % nchunks * chunk;                                                                       \
        uint64_t hi = lo + chunk < n ? lo + chunk : n;                                                              \
        T x = zc_##F##_mform(points[item / nchunks]);                                                               \
        T acc = 0;                                                                                                  \
        for (uint64_t i = hi; i > lo; i--)                                                                          \
            acc = zc_##F##_add(zc_##F##_mul(acc, x), coeffs[i - 1]);                                                \
        partial[item] = acc;                                                                                        \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_poly_eval_combine_item_##F(const ZC_GLOBAL T *points, const ZC_GLOBAL T *partial, uint64_t chunk, \
                                             uint64_t nchunks, ZC_GLOBAL T *out, uint64_t p)                        \
    {                                                                                                               \
        T y = zc_##F##_pow(zc_##F##_mform(points[p]), chunk);                                                       \
        T acc = 0;                                                                                                  \
        for (uint64_t k = nchunks; k > 0; k--)                                                                      \
            acc = zc_##F##_add(zc_##F##_mul(acc, y), partial[p * nchunks + k - 1]);                                 \
        out[p] = acc;                                                                                               \
    }                                                                                                               \
                                                                                                                    \
    ZC_FN void zc_batch_inv_item_##F(const ZC_GLOBAL T *in, ZC_GLOBAL T *out, uint64_t n, uint64_t chunk,           \
                                     uint64_t item)                                                                 \
    {                                                                                                               \
        uint64_t lo = item * chunk;                                                                                 \
        uint64_t hi = lo + chunk < n ? lo + chunk : n;                                                              \
        T acc = zc_##F##_one();                                                                                     \
        for (uint64_t i = lo; i < hi; i++) { /* out[i] = product of in[lo..i) */                                    \
            out[i] = acc;                                                                                           \
            acc = zc_##F##_mul(acc, zc_##F##_mform(in[i]));                                                         \
        }                                                                                                           \
        T inv = zc_##F##_inv(acc); /* (in[lo] ... in[i])^-1, walking i down */                                      \
        for (uint64_t i = hi; i > lo; i--) {                                                                        \
            T x = zc_##F##_mform(in[i - 1]);                                                                        \
            out[i - 1] = zc_##F##_unmform(zc_##F##_mul(out[i - 1], inv));                                           \
            inv = zc_##F##_mul(inv, x);                                                                             \
        }                                                                                                           \
    }

ZC_NTT_DEFINE_FIELD(bb, uint32_t)
ZC_NTT_DEFINE_FIELD(gl, uint64_t)

#endif
