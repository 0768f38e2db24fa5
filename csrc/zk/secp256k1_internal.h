/* Internal interface of the secp256k1 module: precomputed generator tables,
 * built once per process on first use and read-only afterwards. */
#ifndef ZC_ZK_SECP256K1_INTERNAL_H
#define ZC_ZK_SECP256K1_INTERNAL_H

#include <stdint.h>

#include "zkclob/core.h"

/* ZC_SECP_GTAB affine odd multiples G, 3G, 5G, ... (8 limbs each: x then y),
 * the wNAF table of verification. */
zc_status zc_secp_gtable(const uint64_t **out);

/* ZC_SECP_COMB_POINTS affine points of the signing comb (see
 * zc_secp_comb_mul in kernels/secp256k1.h). */
zc_status zc_secp_comb_table(const uint64_t **out);

#endif
