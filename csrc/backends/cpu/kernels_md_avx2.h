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

/* Bytes of one indicator's four-lane state (a multiple of 32, at most four
 * scalar states' worth): kept tight, since a stream at one bar per call
 * streams every group's states through the cache. */
#define ZC_MD4_STATE_BYTES 320

/* count fresh four-lane states at states (count * ZC_MD4_STATE_BYTES). */
void zc_cpu_md4_init(const zc_ind_params *params, uint32_t count, void *states);

/* zc_cpu_md4_multi from the states at `states`, which it advances: a
 * stream runs its groups of four symbols through it call after call. The
 * inputs it reads must be finite. */
void zc_cpu_md4_run(const zc_ind_params *params, uint32_t count, void *states, const double *const in[4][4],
                    int64_t T, double *const *cols, const size_t off[4], double *ring);

/* The four scalar states and rings the vector states and the interleaved
 * ring (4 x ring_len doubles) stand for: lane l's state of indicator j goes
 * to lane_states[l * count + j], its ring to lane_rings + l * ring_len. */
void zc_cpu_md4_export(const zc_ind_params *params, uint32_t count, const void *states, const double *ring4,
                       size_t ring_len, zc_ind_state *lane_states, double *lane_rings);

/* count indicators over four rows of T bars, in lock step: in[i][l]
 * is input i (high, low, close, volume) of lane l; output column c (the
 * indicators' outputs in order) of lane l goes to cols[c] + off[l]; ring
 * holds 4 x (sum of the ring lengths) doubles. nt: write the outputs with
 * non-temporal stores (for results too large to stay in cache). Returns 1,
 * or 0 when an input it reads holds a value that is not finite (a gap): the
 * outputs are then partly written and the caller computes the rows another
 * way. The check rides on the tiles' loads, so rows are read once. Needs
 * AVX2 and FMA. */
int zc_cpu_md4_multi(const zc_ind_params *params, uint32_t count, const double *const in[4][4], int64_t T,
                     double *const *cols, const size_t off[4], double *ring, int nt);
#endif

#endif
