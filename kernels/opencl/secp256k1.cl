#include "secp256k1.h"

/* Entry point of secp256k1.h: each work item verifies signatures gid,
 * gid + stride, ... with its own inversions (the cpu backend batches them
 * across items instead); see verify_launch_size in csrc/zk/ecdsa.c. */

ZC_KERNEL void zc_secp_verify(ZC_GLOBAL const uint8_t *pubkeys, ZC_GLOBAL const uint8_t *digests,
                              ZC_GLOBAL const uint8_t *sigs, uint64_t n, uint32_t low_s,
                              ZC_GLOBAL const uint64_t *gtab, ZC_GLOBAL uint8_t *valid, uint64_t stride)
{
    for (uint64_t i = ZC_GID(0); i < n; i += stride)
        valid[i] = zc_secp_verify_one(pubkeys + 64 * i, digests + 32 * i, sigs + 64 * i, low_s, gtab);
}
