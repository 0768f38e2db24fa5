/* The cpu backend's AVX2 path for the combined indicator kernel: four
 * symbols per vector (kernels_md_avx2.c), same results as the scalar state
 * machines of kernels/indicators.h. */
#ifndef ZC_CPU_KERNELS_MD_AVX2_H
#define ZC_CPU_KERNELS_MD_AVX2_H

#include <stddef.h>
#include <stdint.h>

#include "../../../kernels/indicators.h"

/* zc_md_indicators_batch's limit on indicators per call */
#define ZC_MD4_MAX_INDICATORS 64

#if defined(__x86_64__) && defined(__GNUC__)
/* Whether zc_cpu_md4_multi handles this kind. */
int zc_cpu_md4_supported(int32_t kind);

/* count indicators over four rows of T finite bars, in lock step: in[i][l]
 * is input i (high, low, close, volume) of lane l; output column c (the
 * indicators' outputs in order) of lane l goes to cols[c] + off[l]; ring
 * holds 4 x (sum of the ring lengths) doubles. Needs AVX2 and FMA. */
void zc_cpu_md4_multi(const zc_ind_params *params, uint32_t count, const double *const in[4][4], int64_t T,
                      double *const *cols, const size_t off[4], double *ring);
#endif

#endif
