/* zkclob zk: proof primitives. */
#ifndef ZKCLOB_ZK_H
#define ZKCLOB_ZK_H

#include "zkclob/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Fields, NTT and polynomials ===========================================
 *
 * Field elements are canonical integers in [0, p): uint32_t for BabyBear,
 * uint64_t for Goldilocks. Inputs are checked, never reduced: an element >= p
 * is ZC_ERR_OUT_OF_RANGE naming its index. Matrices are row-major rows x cols
 * and transforms run down each column (cols = 1 for one vector), as provers
 * lay out traces. Every call takes the device in *device and returns there
 * the device that ran it (after any failover); results are bit-identical on
 * every backend. */

typedef enum zc_field { ZC_FIELD_BABYBEAR = 0, ZC_FIELD_GOLDILOCKS = 1 } zc_field;

#define ZC_BABYBEAR_P 2013265921u              /* 2^31 - 2^27 + 1 */
#define ZC_GOLDILOCKS_P 18446744069414584321ull /* 2^64 - 2^32 + 1 */
/* Transforms have 2^0 .. 2^24 rows. */
#define ZC_NTT_MAX_LOG_ROWS 24

typedef struct zc_field_info {
    const char *name;      /* "babybear", "goldilocks" */
    uint64_t modulus;
    size_t elem_size;      /* bytes per element: 4 or 8 */
    uint64_t generator;    /* multiplicative generator (Plonky3's): 31, 7 */
    uint32_t two_adicity;  /* 27, 32 */
} zc_field_info;

ZC_API zc_status zc_field_info_get(zc_field field, zc_field_info *out);
/* The primitive 2^bits-th root of unity g^((p - 1) / 2^bits), canonical:
 * Plonky3's two_adic_generator(bits). bits <= two_adicity. */
ZC_API zc_status zc_field_two_adic_generator(zc_field field, uint32_t bits, uint64_t *out);

/* Input then output order: natural (N) or bit-reversed (R) index. */
typedef enum zc_ntt_order { ZC_NTT_NN = 0, ZC_NTT_NR = 1, ZC_NTT_RN = 2, ZC_NTT_RR = 3 } zc_ntt_order;

typedef struct zc_ntt_params {
    zc_field field;
    /* 0: coefficients to evaluations, y_i = sum_j x_j (s w^i)^j with w the
     * primitive rows-th root of unity; 1: the inverse (interpolation),
     * including the factor 1/rows. */
    int inverse;
    zc_ntt_order order;
    /* 0: the domain is H = <w> (s = 1); 1: the coset s H with s the field's
     * multiplicative generator. */
    int coset;
} zc_ntt_params;

/* NTT of every column of the rows x cols matrix `in` into `out` (rows a power
 * of two <= 2^24; in == out transforms in place). */
ZC_API zc_status zc_ntt(int *device, const zc_ntt_params *params, const void *in, void *out, size_t rows,
                        size_t cols);

/* Low-degree extension: `in` holds the evaluations of each column's
 * polynomial on H (rows points, in the input order of params->order); `out`
 * (rows * blowup rows, not overlapping `in`) receives its evaluations on the
 * coset s H' (params->coset) or on H' itself, |H'| = rows * blowup, in the
 * output order. blowup is 2, 4 or 8; params->inverse must be 0. */
ZC_API zc_status zc_lde(int *device, const zc_ntt_params *params, uint32_t blowup, const void *in, void *out,
                        size_t rows, size_t cols);

/* out[i] = sum_j coeffs[j] points[i]^j for i < m (Horner, in parallel over
 * points and chunks of coefficients). */
ZC_API zc_status zc_poly_eval(int *device, zc_field field, const void *coeffs, size_t n, const void *points,
                              size_t m, void *out);

/* out (na + nb - 1 coefficients) = a * b, by NTTs of the next power of two
 * >= na + nb - 1 (at most 2^24). */
ZC_API zc_status zc_poly_mul(int *device, zc_field field, const void *a, size_t na, const void *b, size_t nb,
                             void *out);

/* out[i] = in[i]^-1 by Montgomery's trick (one inversion per chunk of
 * elements); a zero element is ZC_ERR_INVALID_ARGUMENT naming its index.
 * in == out works in place. */
ZC_API zc_status zc_batch_inverse(int *device, zc_field field, const void *in, void *out, size_t n);

/* The cpu backend's vector path for field kernels (BabyBear NTT passes):
 * the best the CPU has, unless ZC_NO_SIMD=1 was set when first used. Setting
 * a level the CPU lacks is ZC_ERR_UNSUPPORTED. Results do not depend on it. */
typedef enum zc_simd_level { ZC_SIMD_SCALAR = 0, ZC_SIMD_AVX2 = 1 } zc_simd_level;

ZC_API zc_simd_level zc_zk_simd_get(void);
ZC_API zc_simd_level zc_zk_simd_best(void);
ZC_API zc_status zc_zk_simd_set(zc_simd_level level);

/* ==== end of fields, NTT and polynomials ==== */

#ifdef __cplusplus
}
#endif
#endif
