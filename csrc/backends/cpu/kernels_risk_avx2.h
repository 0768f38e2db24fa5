/* The cpu backend's AVX2+FMA Monte Carlo block (kernels_risk_avx2.c): paths
 * path .. path + ZC_RISK_AVX2_LANES - 1 generated, correlated and repriced
 * together. */
#ifndef ZC_CPU_KERNELS_RISK_AVX2_H
#define ZC_CPU_KERNELS_RISK_AVX2_H

#include <stdint.h>

#define ZC_RISK_AVX2_LANES 8

#if defined(__x86_64__) && defined(__GNUC__)
/* Shocks x = mu + L z of the block into z (32-byte aligned, an even number
 * of rows >= n of LANES doubles: z[k * LANES + l] is asset k of path
 * path + l). Needs AVX2 and FMA. */
void zc_cpu_risk_shocks8(uint64_t key, uint64_t path, uint32_t n, const double *chol, const double *mu, double *z);

/* Losses of the block into loss[0 .. LANES); z is scratch as above. */
void zc_cpu_risk_losses8(uint64_t key, uint64_t path, uint32_t n, const double *chol, const double *mu,
                         const double *spot, const double *pos, uint64_t npos, uint32_t geometric, double horizon,
                         double rate, double v0, double *z, double *loss);
#endif

#endif
