#include "ntt.h"

/* Entry points of kernels/ntt.h; the work-item layout of each is documented
 * there, and the argument lists are shared with the cpu and cuda backends. */

#define ZC_NTT_CL_FIELD(F, T)                                                                                       \
    ZC_KERNEL void zc_ntt_pass_##F(const ZC_GLOBAL T *src, ZC_GLOBAL T *dst, const ZC_GLOBAL T *tw,                 \
                                   uint64_t rows, uint64_t cols, uint32_t s0, uint32_t s, uint32_t dif,             \
                                   uint64_t lanes, T scale)                                                         \
    {                                                                                                               \
        zc_ntt_pass_item_##F(src, dst, tw, cols, s0, s, dif, lanes, scale, ZC_GID(0));                              \
    }                                                                                                               \
    ZC_KERNEL void zc_ntt_scale_##F(const ZC_GLOBAL T *src, ZC_GLOBAL T *dst, uint64_t rows, uint64_t cols,         \
                                    T c, T h)                                                                       \
    {                                                                                                               \
        uint64_t j = ZC_GID(0);                                                                                     \
        zc_ntt_scale_rows_##F(src, dst, cols, c, h, j, j + 1);                                                      \
    }                                                                                                               \
    ZC_KERNEL void zc_ntt_pointwise_##F(ZC_GLOBAL T *a, const ZC_GLOBAL T *b, uint64_t n, T k)                      \
    {                                                                                                               \
        uint64_t i = ZC_GID(0);                                                                                     \
        zc_ntt_pointwise_range_##F(a, b, k, i, i + 1);                                                              \
    }                                                                                                               \
    ZC_KERNEL void zc_poly_eval_partial_##F(const ZC_GLOBAL T *coeffs, uint64_t n, const ZC_GLOBAL T *points,       \
                                            uint64_t m, uint64_t chunk, uint64_t nchunks,                           \
                                            ZC_GLOBAL T *partial)                                                   \
    {                                                                                                               \
        zc_poly_eval_partial_item_##F(coeffs, n, points, chunk, nchunks, partial, ZC_GID(0));                       \
    }                                                                                                               \
    ZC_KERNEL void zc_poly_eval_combine_##F(const ZC_GLOBAL T *points, uint64_t m, const ZC_GLOBAL T *partial,      \
                                            uint64_t chunk, uint64_t nchunks, ZC_GLOBAL T *out)                     \
    {                                                                                                               \
        zc_poly_eval_combine_item_##F(points, partial, chunk, nchunks, out, ZC_GID(0));                             \
    }                                                                                                               \
    ZC_KERNEL void zc_batch_inv_##F(const ZC_GLOBAL T *in, ZC_GLOBAL T *out, uint64_t n, uint64_t chunk)            \
    {                                                                                                               \
        zc_batch_inv_item_##F(in, out, n, chunk, ZC_GID(0));                                                        \
    }

ZC_NTT_CL_FIELD(bb, uint32_t)
ZC_NTT_CL_FIELD(gl, uint64_t)

ZC_KERNEL void zc_ntt_bitrev_u32(const ZC_GLOBAL uint32_t *src, ZC_GLOBAL uint32_t *dst, uint32_t log_rows,
                                 uint64_t cols, uint32_t t)
{
    zc_ntt_bitrev_item_u32(src, dst, log_rows, cols, t, ZC_GID(0));
}

ZC_KERNEL void zc_ntt_bitrev_u64(const ZC_GLOBAL uint64_t *src, ZC_GLOBAL uint64_t *dst, uint32_t log_rows,
                                 uint64_t cols, uint32_t t)
{
    zc_ntt_bitrev_item_u64(src, dst, log_rows, cols, t, ZC_GID(0));
}
