#include "indicators.h"

/* One work item per symbol: row sym0 + gid of the (nsym x ntime) inputs and
 * outputs; ring is the window scratch of this launch, ring_len doubles per
 * work item. See indicators.h. */
ZC_KERNEL void zc_md_indicators(uint kind, uint p0, uint p1, uint p2, double d0, double d1, ulong sym0,
                                ulong count, ulong ntime, ulong ring_len, ZC_GLOBAL const double *high,
                                ZC_GLOBAL const double *low, ZC_GLOBAL const double *close,
                                ZC_GLOBAL const double *volume, ZC_GLOBAL double *out0, ZC_GLOBAL double *out1,
                                ZC_GLOBAL double *out2, ZC_GLOBAL double *ring)
{
    ulong gid = ZC_GID(0);
    if (gid >= count)
        return;
    zc_ind_params p;
    p.kind = (int)kind;
    p.p[0] = (int)p0;
    p.p[1] = (int)p1;
    p.p[2] = (int)p2;
    p.d[0] = d0;
    p.d[1] = d1;
    ulong off = (sym0 + gid) * ntime;
    zc_ind_series(p, high + off, low + off, close + off, volume + off, (long)ntime, out0 + off, out1 + off,
                  out2 + off, ring + gid * ring_len);
}
