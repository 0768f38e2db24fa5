#include "ntt.h"

/* Entry points of kernels/ntt.h, one thread per work item; the grid is
 * rounded up to whole blocks, so each kernel drops the items past its end.
 * Argument lists are shared with the cpu and opencl backends. */

#define ZC_NTT_CU_FIELD(F, T)                                                                                       \
    ZC_KERNEL void zc_ntt_pass_##F(const T *src, T *dst, const T *tw, uint64_t rows, uint64_t cols,                 \
                                   uint32_t s0, uint32_t s, uint32_t dif, uint64_t lanes, T scale)                  \
    {                                                                                                               \
        uint64_t item = ZC_GID(0);                                                                                  \
        if (item < (rows >> (s0 + s)) * (((cols << s0) + lanes - 1) / lanes))                                       \
            zc_ntt_pass_item_##F(src, dst, tw, cols, s0, s, dif, lanes, scale, item);                               \
    }                                                                                                               \
    ZC_KERNEL void zc_ntt_scale_##F(const T *src, T *dst, uint64_t rows, uint64_t cols, T c, T h)                   \
    {                                                                                                               \
        uint64_t j = ZC_GID(0);                                                                                     \
        if (j < rows)                                                                                               \
            zc_ntt_scale_rows_##F(src, dst, cols, c, h, j, j + 1);                                                  \
    }                                                                                                               \
    ZC_KERNEL void zc_ntt_pointwise_##F(T *a, const T *b, uint64_t n, T k)                                          \
    {                                                                                                               \
        uint64_t i = ZC_GID(0);                                                                                     \
        if (i < n)                                                                                                  \
            zc_ntt_pointwise_range_##F(a, b, k, i, i + 1);                                                          \
    }                                                                                                               \
    ZC_KERNEL void zc_poly_eval_partial_##F(const T *coeffs, uint64_t n, const T *points, uint64_t m,               \
                                            uint64_t chunk, uint64_t nchunks, T *partial)                           \
    {                                                                                                               \
        uint64_t item = ZC_GID(0);                                                                                  \
        if (item < m * nchunks)                                                                                     \
            zc_poly_eval_partial_item_##F(coeffs, n, points, chunk, nchunks, partial, item);                        \
    }                                                                                                               \
    ZC_KERNEL void zc_poly_eval_combine_##F(const T *points, uint64_t m, const T *partial, uint64_t chunk,          \
                                            uint64_t nchunks, T *out)                                               \
    {                                                                                                               \
        uint64_t p = ZC_GID(0);                                                                                     \
        if (p < m)                                                                                                  \
            zc_poly_eval_combine_item_##F(points, partial, chunk, nchunks, out, p);                                 \
    }                                                                                                               \
    ZC_KERNEL void zc_batch_inv_##F(const T *in, T *out, uint64_t n, uint64_t chunk)                                \
    {                                                                                                               \
        uint64_t item = ZC_GID(0);                                                                                  \
        if (item * chunk < n)                                                                                       \
            zc_batch_inv_item_##F(in, out, n, chunk, item);                                                         \
    }

ZC_NTT_CU_FIELD(bb, uint32_t)
ZC_NTT_CU_FIELD(gl, uint64_t)

ZC_KERNEL void zc_ntt_bitrev_u32(const uint32_t *src, uint32_t *dst, uint32_t log_rows, uint64_t cols, uint32_t t)
{
    uint64_t item = ZC_GID(0);
    if (item < ((uint64_t)1 << (log_rows - 2 * t)))
        zc_ntt_bitrev_item_u32(src, dst, log_rows, cols, t, item);
}

ZC_KERNEL void zc_ntt_bitrev_u64(const uint64_t *src, uint64_t *dst, uint32_t log_rows, uint64_t cols, uint32_t t)
{
    uint64_t item = ZC_GID(0);
    if (item < ((uint64_t)1 << (log_rows - 2 * t)))
        zc_ntt_bitrev_item_u64(src, dst, log_rows, cols, t, item);
}
