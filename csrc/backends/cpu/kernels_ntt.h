/* The cpu backend's vector paths for the field kernels of kernels/ntt.h and
 * the switch between them and the scalar ZC_FN bodies. */
#ifndef ZC_CPU_KERNELS_NTT_H
#define ZC_CPU_KERNELS_NTT_H

#include <stdint.h>

#include "zkclob/zk.h"

/* Highest level this CPU runs. */
zc_simd_level zc_cpu_simd_best(void);
/* The level in use: the best one unless ZC_NO_SIMD=1 was set at first use,
 * or another one was set since. */
zc_simd_level zc_cpu_simd_get(void);
/* The caller checks level <= zc_cpu_simd_best(). */
void zc_cpu_simd_set(zc_simd_level level);

#if defined(__x86_64__) || defined(__i386__)
/* zc_ntt_group_bb with AVX2 (same arguments and results). */
void zc_avx2_ntt_group_bb(uint32_t *x, uint64_t stride, const uint32_t *tw, uint64_t cols, uint32_t s0, uint32_t s,
                          uint32_t dif, uint64_t q0, uint64_t n, uint32_t scale);
#endif

#endif
