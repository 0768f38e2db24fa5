#include "indicators.h"

/* One thread per symbol: row sym0 + gid of the (nsym x ntime) inputs and
 * outputs; ring is the window scratch of this launch, ring_len doubles per
 * thread. See indicators.h. */
ZC_KERNEL void zc_md_indicators(uint32_t kind, uint32_t p0, uint32_t p1, uint32_t p2, double d0, double d1,
                                uint64_t sym0, uint64_t count, uint64_t ntime, uint64_t ring_len,
                                const double *high, const double *low, const double *close, const double *volume,
                                double *out0, double *out1, double *out2, double *ring)
{
    uint64_t gid = ZC_GID(0);
    if (gid >= count)
        return;
    zc_ind_params p;
    p.kind = (int32_t)kind;
    p.p[0] = (int32_t)p0;
    p.p[1] = (int32_t)p1;
    p.p[2] = (int32_t)p2;
    p.d[0] = d0;
    p.d[1] = d1;
    uint64_t off = (sym0 + gid) * ntime;
    zc_ind_series(p, high + off, low + off, close + off, volume + off, (int64_t)ntime, out0 + off, out1 + off,
                  out2 + off, ring + gid * ring_len);
}
