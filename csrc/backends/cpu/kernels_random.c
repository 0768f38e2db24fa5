/* cpu entry of kernels/philox.h. Raw-word streams run LANES blocks in lock
 * step so the independent multiplies overlap (and vectorise for 4x32); the
 * arithmetic is the shared round function's, so words are identical to every
 * other backend. Derived values go through the shared emitter. */
#include "../../../kernels/philox.h"
#include "cpu_kernels.h"

#define LANES 4

/* 256-bit counter of block b in the numpy convention: c + 1 + b. */
static zc_u64x4 counter4x64(const uint64_t c[4], uint64_t b)
{
    zc_u64x4 x;
    x.v[0] = c[0] + b + 1;
    uint64_t carry = x.v[0] < c[0] || (b == UINT64_MAX);
    x.v[1] = c[1] + carry;
    carry = carry && x.v[1] == 0;
    x.v[2] = c[2] + carry;
    carry = carry && x.v[2] == 0;
    x.v[3] = c[3] + carry;
    return x;
}

static void raw4x64(uint64_t *out, size_t begin, size_t end, uint64_t k0, uint64_t k1, const uint64_t c[4])
{
    size_t b = begin;
    for (; b + LANES <= end; b += LANES) {
        uint64_t x0[LANES], x1[LANES], x2[LANES], x3[LANES];
        for (int l = 0; l < LANES; l++) {
            zc_u64x4 x = counter4x64(c, b + (size_t)l);
            x0[l] = x.v[0], x1[l] = x.v[1], x2[l] = x.v[2], x3[l] = x.v[3];
        }
        uint64_t ka = k0, kb = k1;
#pragma GCC unroll 10
        for (int r = 0; r < 10; r++) {
            for (int l = 0; l < LANES; l++) {
                unsigned __int128 p0 = (unsigned __int128)ZC_PHILOX_M4x64_0 * x0[l];
                unsigned __int128 p1 = (unsigned __int128)ZC_PHILOX_M4x64_1 * x2[l];
                uint64_t y0 = (uint64_t)(p1 >> 64) ^ x1[l] ^ ka;
                uint64_t y2 = (uint64_t)(p0 >> 64) ^ x3[l] ^ kb;
                x1[l] = (uint64_t)p1;
                x3[l] = (uint64_t)p0;
                x0[l] = y0;
                x2[l] = y2;
            }
            ka += ZC_PHILOX_W64_0;
            kb += ZC_PHILOX_W64_1;
        }
        for (int l = 0; l < LANES; l++) {
            uint64_t *o = out + 4 * (b + (size_t)l);
            o[0] = x0[l], o[1] = x1[l], o[2] = x2[l], o[3] = x3[l];
        }
    }
    for (; b < end; b++) {
        zc_u64x4 x = zc_philox4x64_10(counter4x64(c, b), k0, k1);
        for (int j = 0; j < 4; j++)
            out[4 * b + (size_t)j] = x.v[j];
    }
}

static void raw4x32(uint32_t *out, size_t begin, size_t end, uint64_t key, uint64_t c_lo, uint64_t c_hi)
{
    size_t b = begin;
    for (; b + LANES <= end; b += LANES) {
        uint32_t x0[LANES], x1[LANES], x2[LANES], x3[LANES];
        for (int l = 0; l < LANES; l++) {
            uint64_t lo = c_lo + b + (size_t)l;
            uint64_t hi = c_hi + (lo < c_lo);
            x0[l] = (uint32_t)lo, x1[l] = (uint32_t)(lo >> 32), x2[l] = (uint32_t)hi, x3[l] = (uint32_t)(hi >> 32);
        }
        uint32_t ka = (uint32_t)key, kb = (uint32_t)(key >> 32);
#pragma GCC unroll 10
        for (int r = 0; r < 10; r++) {
            for (int l = 0; l < LANES; l++) {
                uint64_t p0 = (uint64_t)ZC_PHILOX_M4x32_0 * x0[l];
                uint64_t p1 = (uint64_t)ZC_PHILOX_M4x32_1 * x2[l];
                uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1[l] ^ ka;
                uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3[l] ^ kb;
                x1[l] = (uint32_t)p1;
                x3[l] = (uint32_t)p0;
                x0[l] = y0;
                x2[l] = y2;
            }
            ka += ZC_PHILOX_W32_0;
            kb += ZC_PHILOX_W32_1;
        }
        for (int l = 0; l < LANES; l++) {
            uint32_t *o = out + 4 * (b + (size_t)l);
            o[0] = x0[l], o[1] = x1[l], o[2] = x2[l], o[3] = x3[l];
        }
    }
    for (; b < end; b++) {
        zc_u32x4 x = zc_philox4x32_block(key, c_lo, c_hi, b);
        for (int j = 0; j < 4; j++)
            out[4 * b + (size_t)j] = x.v[j];
    }
}

/* args: out, n, wide, kind, k0, k1, c0, c1, c2, c3 (see kernels/opencl/philox.cl) */
void zc_cpu_philox(const zc_karg *args, size_t begin, size_t end)
{
    uint8_t *out = zc_cpu_ptr(&args[0]);
    uint64_t n = args[1].v.u64;
    uint32_t wide = args[2].v.u32, kind = args[3].v.u32;
    uint64_t k0 = args[4].v.u64, k1 = args[5].v.u64;
    uint64_t c[4] = {args[6].v.u64, args[7].v.u64, args[8].v.u64, args[9].v.u64};
    uint32_t per = zc_philox_per_block(wide, kind);
    /* Only the last block of the stream can be partial. */
    size_t full_end = end;
    if ((uint64_t)end * per > n)
        full_end = (size_t)(n / per);
    if (full_end < begin)
        full_end = begin;
    if (kind == ZC_PHILOX_RAW && wide)
        raw4x64((uint64_t *)out, begin, full_end, k0, k1, c);
    else if (kind == ZC_PHILOX_RAW)
        raw4x32((uint32_t *)out, begin, full_end, k0, c[0], c[1]);
    else
        for (size_t b = begin; b < full_end; b++)
            zc_philox_emit(out, (uint64_t)b * per, per, wide, kind, b, k0, k1, c[0], c[1], c[2], c[3]);
    for (size_t b = full_end; b < end; b++)
        zc_philox_item(out, n, wide, kind, b, k0, k1, c[0], c[1], c[2], c[3]);
}
