/* Counter-based generators Philox4x32-10 and Philox4x64-10 (Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11).
 *
 * Conventions, chosen to be bit-compatible with the references:
 * - 4x32: block i is philox(counter + i, key), 128-bit counter addition; the
 *   words are x0..x3 (Random123 and cuRAND Philox4_32_10).
 * - 4x64: block i is philox(counter + 1 + i, key), 256-bit counter addition;
 *   words x0..x3. This is numpy.random.Philox, which increments its counter
 *   before each block, so element j equals Philox(key, counter).random_raw()[j].
 * Derived values:
 * - uniform double in [0, 1): (w >> 11) * 2^-53 of a 64-bit word w (NumPy's
 *   next_double); with 4x64 it equals Generator(Philox(...)).random(). 4x32
 *   forms 64-bit words as x0 | x1 << 32 and x2 | x3 << 32.
 * - standard normal: Box-Muller on consecutive word pairs (a, b):
 *   r = sqrt(-2 ln u1) with u1 = ((a >> 11) + 1) * 2^-53 in (0, 1],
 *   t = 2 pi (b >> 11) * 2^-53, giving r cos t then r sin t. */
#ifndef ZC_PHILOX_H
#define ZC_PHILOX_H

#include "zc_kernel.h"

#define ZC_PHILOX_M4x32_0 0xD2511F53u
#define ZC_PHILOX_M4x32_1 0xCD9E8D57u
#define ZC_PHILOX_W32_0 0x9E3779B9u
#define ZC_PHILOX_W32_1 0xBB67AE85u
#define ZC_PHILOX_M4x64_0 0xD2E7470EE14C6C93ull
#define ZC_PHILOX_M4x64_1 0xCA5A826395121157ull
#define ZC_PHILOX_W64_0 0x9E3779B97F4A7C15ull
#define ZC_PHILOX_W64_1 0xBB67AE8584CAA73Bull

/* Elements produced per block by each output kind. */
#define ZC_PHILOX4x32_WORDS 4
#define ZC_PHILOX4x32_DOUBLES 2
#define ZC_PHILOX4x64_WORDS 4

typedef struct zc_u32x4 { uint32_t v[4]; } zc_u32x4;
typedef struct zc_u64x4 { uint64_t v[4]; } zc_u64x4;

ZC_FN zc_u32x4 zc_philox4x32_10(zc_u32x4 x, uint32_t k0, uint32_t k1)
{
    for (int r = 0; r < 10; r++) {
        uint32_t lo0 = ZC_PHILOX_M4x32_0 * x.v[0], hi0 = zc_mulhi32(ZC_PHILOX_M4x32_0, x.v[0]);
        uint32_t lo1 = ZC_PHILOX_M4x32_1 * x.v[2], hi1 = zc_mulhi32(ZC_PHILOX_M4x32_1, x.v[2]);
        zc_u32x4 y;
        y.v[0] = hi1 ^ x.v[1] ^ k0;
        y.v[1] = lo1;
        y.v[2] = hi0 ^ x.v[3] ^ k1;
        y.v[3] = lo0;
        x = y;
        k0 += ZC_PHILOX_W32_0;
        k1 += ZC_PHILOX_W32_1;
    }
    return x;
}

ZC_FN zc_u64x4 zc_philox4x64_10(zc_u64x4 x, uint64_t k0, uint64_t k1)
{
    for (int r = 0; r < 10; r++) {
        uint64_t lo0 = ZC_PHILOX_M4x64_0 * x.v[0], hi0 = zc_mulhi64(ZC_PHILOX_M4x64_0, x.v[0]);
        uint64_t lo1 = ZC_PHILOX_M4x64_1 * x.v[2], hi1 = zc_mulhi64(ZC_PHILOX_M4x64_1, x.v[2]);
        zc_u64x4 y;
        y.v[0] = hi1 ^ x.v[1] ^ k0;
        y.v[1] = lo1;
        y.v[2] = hi0 ^ x.v[3] ^ k1;
        y.v[3] = lo0;
        x = y;
        k0 += ZC_PHILOX_W64_0;
        k1 += ZC_PHILOX_W64_1;
    }
    return x;
}

/* 4x32 block i: counter (c_lo, c_hi as 128 bits) + i, key k = k0 | k1 << 32. */
ZC_FN zc_u32x4 zc_philox4x32_block(uint64_t key, uint64_t c_lo, uint64_t c_hi, uint64_t i)
{
    uint64_t lo = c_lo + i;
    uint64_t hi = c_hi + (lo < c_lo ? 1u : 0u);
    zc_u32x4 x;
    x.v[0] = (uint32_t)lo;
    x.v[1] = (uint32_t)(lo >> 32);
    x.v[2] = (uint32_t)hi;
    x.v[3] = (uint32_t)(hi >> 32);
    return zc_philox4x32_10(x, (uint32_t)key, (uint32_t)(key >> 32));
}

/* 4x64 block i: counter (c0..c3, 256 bits) + 1 + i. */
ZC_FN zc_u64x4 zc_philox4x64_block(uint64_t k0, uint64_t k1, uint64_t c0, uint64_t c1, uint64_t c2, uint64_t c3,
                                   uint64_t i)
{
    zc_u64x4 x;
    uint64_t step = i + 1; /* i < 2^63 in practice: at most n/4 blocks */
    x.v[0] = c0 + step;
    uint64_t carry = x.v[0] < c0 ? 1u : 0u;
    x.v[1] = c1 + carry;
    carry = (carry && x.v[1] == 0) ? 1u : 0u;
    x.v[2] = c2 + carry;
    carry = (carry && x.v[2] == 0) ? 1u : 0u;
    x.v[3] = c3 + carry;
    return zc_philox4x64_10(x, k0, k1);
}

ZC_FN double zc_unit_double(uint64_t w) { return (double)(w >> 11) * (1.0 / 9007199254740992.0); }

ZC_FN double zc_unit_double_open0(uint64_t w) { return (double)((w >> 11) + 1) * (1.0 / 9007199254740992.0); }

/* Box-Muller pair from two words; out[0] = r cos t, out[1] = r sin t. */
ZC_FN void zc_box_muller(uint64_t a, uint64_t b, double *z0, double *z1)
{
    double r = sqrt(-2.0 * log(zc_unit_double_open0(a)));
    double t = 6.283185307179586476925286766559 * zc_unit_double(b);
    *z0 = r * cos(t);
    *z1 = r * sin(t);
}

/* Output kinds shared by all backends' philox kernels. */
#define ZC_PHILOX_RAW 0
#define ZC_PHILOX_UNIFORM 1
#define ZC_PHILOX_NORMAL 2

/* Elements one 4x32 or 4x64 block yields for an output kind. */
ZC_FN uint32_t zc_philox_per_block(uint32_t wide, uint32_t kind)
{
    if (wide)
        return 4;
    return kind == ZC_PHILOX_RAW ? 4u : 2u;
}

/* Block `blk` of the stream, written to out[0 .. count) (count <= per block).
 * out is uint32_t* for 4x32 raw, uint64_t* for 4x64 raw, double* otherwise;
 * passed as bytes so every backend shares this one body. */
ZC_FN void zc_philox_emit(ZC_GLOBAL uint8_t *out, uint64_t elem0, uint32_t count, uint32_t wide, uint32_t kind,
                          uint64_t blk, uint64_t k0, uint64_t k1, uint64_t c0, uint64_t c1, uint64_t c2, uint64_t c3)
{
    uint64_t w[4];
    if (wide) {
        zc_u64x4 x = zc_philox4x64_block(k0, k1, c0, c1, c2, c3, blk);
        w[0] = x.v[0]; w[1] = x.v[1]; w[2] = x.v[2]; w[3] = x.v[3];
    } else {
        zc_u32x4 x = zc_philox4x32_block(k0, c0, c1, blk);
        if (kind == ZC_PHILOX_RAW) {
            ZC_GLOBAL uint32_t *o = (ZC_GLOBAL uint32_t *)out + elem0;
            for (uint32_t j = 0; j < count; j++)
                o[j] = x.v[j];
            return;
        }
        w[0] = (uint64_t)x.v[0] | ((uint64_t)x.v[1] << 32);
        w[1] = (uint64_t)x.v[2] | ((uint64_t)x.v[3] << 32);
    }
    if (kind == ZC_PHILOX_RAW) {
        ZC_GLOBAL uint64_t *o = (ZC_GLOBAL uint64_t *)out + elem0;
        for (uint32_t j = 0; j < count; j++)
            o[j] = w[j];
    } else if (kind == ZC_PHILOX_UNIFORM) {
        ZC_GLOBAL double *o = (ZC_GLOBAL double *)out + elem0;
        for (uint32_t j = 0; j < count; j++)
            o[j] = zc_unit_double(w[j]);
    } else {
        ZC_GLOBAL double *o = (ZC_GLOBAL double *)out + elem0;
        double z[4];
        zc_box_muller(w[0], w[1], &z[0], &z[1]);
        if (wide)
            zc_box_muller(w[2], w[3], &z[2], &z[3]);
        for (uint32_t j = 0; j < count; j++)
            o[j] = z[j];
    }
}

/* Work item `blk` of a stream of n elements. */
ZC_FN void zc_philox_item(ZC_GLOBAL uint8_t *out, uint64_t n, uint32_t wide, uint32_t kind, uint64_t blk,
                          uint64_t k0, uint64_t k1, uint64_t c0, uint64_t c1, uint64_t c2, uint64_t c3)
{
    uint32_t per = zc_philox_per_block(wide, kind);
    uint64_t e0 = blk * per;
    if (e0 >= n)
        return;
    uint32_t count = (n - e0) < per ? (uint32_t)(n - e0) : per;
    zc_philox_emit(out, e0, count, wide, kind, blk, k0, k1, c0, c1, c2, c3);
}

#endif
