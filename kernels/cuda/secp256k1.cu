#include "secp256k1.h"

/* Entry point of secp256k1.h: thread gid verifies signatures gid,
 * gid + stride, ... (stride = the launch size, normally one per thread) with
 * its own inversions; the grid is rounded up to whole blocks. */

ZC_KERNEL void zc_secp_verify(const uint8_t *pubkeys, const uint8_t *digests, const uint8_t *sigs, uint64_t n,
                              uint32_t low_s, const uint64_t *gtab, uint8_t *valid, uint64_t stride)
{
    for (uint64_t i = ZC_GID(0); i < n; i += stride)
        valid[i] = zc_secp_verify_one(pubkeys + 64 * i, digests + 32 * i, sigs + 64 * i, low_s, gtab);
}
