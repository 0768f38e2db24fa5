#include "philox.h"

/* One thread per Philox block; see philox.h for the stream layout. */
ZC_KERNEL void zc_philox(uint8_t *out, uint64_t n, uint32_t wide, uint32_t kind, uint64_t k0, uint64_t k1,
                         uint64_t c0, uint64_t c1, uint64_t c2, uint64_t c3)
{
    uint64_t blk = ZC_GID(0);
    if (blk * zc_philox_per_block(wide, kind) < n)
        zc_philox_item(out, n, wide, kind, blk, k0, k1, c0, c1, c2, c3);
}
