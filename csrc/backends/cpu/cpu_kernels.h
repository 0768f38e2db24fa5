/* Kernels of the cpu backend: C loops over the single-source ZC_FN bodies.
 * Each kernel processes work items [begin, end) of a launch. */
#ifndef ZC_CPU_KERNELS_H
#define ZC_CPU_KERNELS_H

#include "../backend.h"

typedef void (*zc_cpu_kernel_fn)(const zc_karg *args, size_t begin, size_t end);

static inline void *zc_cpu_ptr(const zc_karg *a) { return a->v.buf->handle; }

/* name, function, minimum work items per chunk */
#define ZC_CPU_KERNEL_LIST(X)                                   \
    X(zc_philox, zc_cpu_philox, 4096)                           \
    X(zc_ntt_pass_bb, zc_cpu_ntt_pass_bb, 1)                    \
    X(zc_ntt_pass_gl, zc_cpu_ntt_pass_gl, 1)                    \
    X(zc_ntt_scale_bb, zc_cpu_ntt_scale_bb, 64)                 \
    X(zc_ntt_scale_gl, zc_cpu_ntt_scale_gl, 64)                 \
    X(zc_ntt_pointwise_bb, zc_cpu_ntt_pointwise_bb, 4096)       \
    X(zc_ntt_pointwise_gl, zc_cpu_ntt_pointwise_gl, 4096)       \
    X(zc_poly_eval_partial_bb, zc_cpu_poly_eval_partial_bb, 1)  \
    X(zc_poly_eval_partial_gl, zc_cpu_poly_eval_partial_gl, 1)  \
    X(zc_poly_eval_combine_bb, zc_cpu_poly_eval_combine_bb, 64) \
    X(zc_poly_eval_combine_gl, zc_cpu_poly_eval_combine_gl, 64) \
    X(zc_batch_inv_bb, zc_cpu_batch_inv_bb, 1)                  \
    X(zc_batch_inv_gl, zc_cpu_batch_inv_gl, 1)                  \
    X(zc_ntt_bitrev_u32, zc_cpu_ntt_bitrev_u32, 16)             \
    X(zc_ntt_bitrev_u64, zc_cpu_ntt_bitrev_u64, 16)             \
    X(zc_p2_permute, zc_cpu_p2_permute, 64)                     \
    X(zc_p2_hash, zc_cpu_p2_hash, 64)                           \
    X(zc_sha256_batch, zc_cpu_sha256_batch, 64)                 \
    X(zc_keccak256_batch, zc_cpu_keccak256_batch, 64)           \
    X(zc_merkle_nodes, zc_cpu_merkle_nodes, 64)                 \
    X(zc_md_indicators, zc_cpu_md_indicators, 4)                \
    X(zc_md_indicators_multi, zc_cpu_md_indicators_multi, 4)    \
    X(zc_md_stream_bars, zc_cpu_md_stream_bars, 16)             \
    X(zc_md_stream_ticks, zc_cpu_md_stream_ticks, 16)           \
    X(zc_md_l2_apply, zc_cpu_md_l2_apply, 1)                    \
    X(zc_secp_verify, zc_cpu_secp_verify, 32)                   \
    X(zc_secp_sign, zc_cpu_secp_sign, 32)                       \
    X(zc_risk_windows, zc_cpu_risk_windows, 1)                  \
    X(zc_risk_portfolios, zc_cpu_risk_portfolios, 4)            \
    X(zc_risk_mc, zc_cpu_risk_mc, 64)                           \
    X(zc_risk_mc_shocks, zc_cpu_risk_mc_shocks, 64)             \
    X(zc_risk_stress, zc_cpu_risk_stress, 16)                   \
    X(zc_risk_fft_combine, zc_cpu_risk_fft_combine, 1024)

#define ZC_CPU_DECLARE(name, fn, grain) void fn(const zc_karg *args, size_t begin, size_t end);
ZC_CPU_KERNEL_LIST(ZC_CPU_DECLARE)
#undef ZC_CPU_DECLARE

/* The cpu backend's fft op (FFTW; csrc/risk/fft.c). */
zc_status zc_cpu_fft(int idx, void *handle, size_t n, size_t batch, int inverse);

#endif
