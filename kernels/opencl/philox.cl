#include "philox.h"

/* One work item per Philox block; see philox.h for the stream layout. */
ZC_KERNEL void zc_philox(ZC_GLOBAL uint8_t *out, uint64_t n, uint32_t wide, uint32_t kind, uint64_t k0, uint64_t k1,
                         uint64_t c0, uint64_t c1, uint64_t c2, uint64_t c3)
{
    zc_philox_item(out, n, wide, kind, ZC_GID(0), k0, k1, c0, c1, c2, c3);
}
