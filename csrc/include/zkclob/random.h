/* zkclob random: counter-based Philox streams, bit-identical on every
 * backend. Stream layout and transforms are documented in kernels/philox.h. */
#ifndef ZKCLOB_RANDOM_H
#define ZKCLOB_RANDOM_H

#include "zkclob/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zc_philox_variant {
    ZC_PHILOX_4X32 = 0, /* Random123 / cuRAND Philox4_32_10: 64-bit key, 128-bit counter */
    ZC_PHILOX_4X64 = 1  /* numpy.random.Philox: 128-bit key, 256-bit counter */
} zc_philox_variant;

typedef enum zc_random_output {
    ZC_RANDOM_RAW = 0,     /* uint32 words (4x32) or uint64 words (4x64) */
    ZC_RANDOM_UNIFORM = 1, /* double in [0, 1) */
    ZC_RANDOM_NORMAL = 2   /* standard normal double (Box-Muller) */
} zc_random_output;

/* Key and counter as little-endian 64-bit words. For 4x32 only key[0] and
 * counter[0..1] may be non-zero. */
typedef struct zc_philox_params {
    zc_philox_variant variant;
    uint64_t key[2];
    uint64_t counter[4];
} zc_philox_params;

/* Element size in bytes of an output kind. */
ZC_API size_t zc_random_elem_size(zc_philox_variant variant, zc_random_output output);

/* Writes n elements of the stream to host memory `out`. *device selects the
 * device and, on return, names the one that ran it (after any failover). */
ZC_API zc_status zc_philox_generate(int *device, const zc_philox_params *params, zc_random_output output, void *out,
                                    size_t n);

#ifdef __cplusplus
}
#endif
#endif
