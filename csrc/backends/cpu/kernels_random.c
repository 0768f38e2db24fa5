/* cpu entry of kernels/philox.h. Raw-word streams get straight loops (the hot
 * path of the RNG benchmark); derived values go through the shared emitter. */
#include "../../../kernels/philox.h"
#include "cpu_kernels.h"

/* args: out, n, wide, kind, k0, k1, c0, c1, c2, c3 (see kernels/opencl/philox.cl) */
void zc_cpu_philox(const zc_karg *args, size_t begin, size_t end)
{
    uint8_t *out = zc_cpu_ptr(&args[0]);
    uint64_t n = args[1].v.u64;
    uint32_t wide = args[2].v.u32, kind = args[3].v.u32;
    uint64_t k0 = args[4].v.u64, k1 = args[5].v.u64;
    uint64_t c0 = args[6].v.u64, c1 = args[7].v.u64, c2 = args[8].v.u64, c3 = args[9].v.u64;
    uint32_t per = zc_philox_per_block(wide, kind);
    /* Only the last block of the stream can be partial. */
    size_t full_end = end;
    if ((uint64_t)end * per > n)
        full_end = (size_t)(n / per);
    if (kind == ZC_PHILOX_RAW && wide) {
        uint64_t *o = (uint64_t *)out;
        for (size_t b = begin; b < full_end; b++) {
            zc_u64x4 x = zc_philox4x64_block(k0, k1, c0, c1, c2, c3, b);
            o[4 * b] = x.v[0];
            o[4 * b + 1] = x.v[1];
            o[4 * b + 2] = x.v[2];
            o[4 * b + 3] = x.v[3];
        }
    } else if (kind == ZC_PHILOX_RAW) {
        uint32_t *o = (uint32_t *)out;
        for (size_t b = begin; b < full_end; b++) {
            zc_u32x4 x = zc_philox4x32_block(k0, c0, c1, b);
            o[4 * b] = x.v[0];
            o[4 * b + 1] = x.v[1];
            o[4 * b + 2] = x.v[2];
            o[4 * b + 3] = x.v[3];
        }
    } else {
        for (size_t b = begin; b < full_end; b++)
            zc_philox_emit(out, (uint64_t)b * per, per, wide, kind, b, k0, k1, c0, c1, c2, c3);
    }
    for (size_t b = full_end > begin ? full_end : begin; b < end; b++)
        zc_philox_item(out, n, wide, kind, b, k0, k1, c0, c1, c2, c3);
}
