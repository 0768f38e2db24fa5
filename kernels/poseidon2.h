/* Poseidon2 (Grassi, Khovratovich, Schofnegger, eprint 2023/323) over BabyBear
 * (p = 2^31 - 2^27 + 1) and Goldilocks (p = 2^64 - 2^32 + 1), x^7 S-box.
 *
 * Instances (constants in poseidon2_constants.h, generated from the vector
 * files by tools/gen_poseidon2_constants.py):
 *   ZC_P2_BABYBEAR_16      Plonky3 default BabyBear t=16 (zkclob's default)
 *   ZC_P2_BABYBEAR_24      Plonky3 default BabyBear t=24
 *   ZC_P2_BABYBEAR_16_HL   HorizenLabs reference BabyBear t=16
 *   ZC_P2_BABYBEAR_24_HL   HorizenLabs reference BabyBear t=24
 *   ZC_P2_GOLDILOCKS_8     Plonky3 default Goldilocks t=8
 *   ZC_P2_GOLDILOCKS_12    Plonky3 default Goldilocks t=12
 *   ZC_P2_GOLDILOCKS_12_HL HorizenLabs reference Goldilocks t=12
 * Plonky3's default round constants equal HorizenLabs'; the instances differ
 * in the 4x4 matrix M4 and the internal diagonal.
 *
 * Permutation: state = M_E * state; 4 full rounds (add round constants, x^7
 * on every lane, M_E); R_P partial rounds (lane 0 += c, lane 0 = lane 0^7, M_I);
 * 4 full rounds. M_E applies M4 to each 4-lane chunk, then adds to each lane
 * the sum of the lanes congruent to it mod 4 (circ(2 M4, M4, ...)).
 * M_I: out[i] = sum(state) + D[i] * state[i].
 *
 * Sponge (Plonky3's PaddingFreeSponge): overwrite mode, no padding. The state
 * starts at zero; each chunk of `rate` input elements (the last one may be
 * shorter) overwrites lanes 0.. of the state, then the state is permuted; the
 * digest is lanes 0..digest-1. The empty input hashes to zeros. Without
 * padding, inputs that differ only by trailing zeros in their last chunk
 * collide, so hash inputs of one fixed length per use (rows of a matrix).
 *   BabyBear:   capacity 8, digest 8 (t=16: rate 8; t=24: rate 16)
 *   Goldilocks: capacity 4, digest 4 (t=8: rate 4; t=12: rate 8)
 * Every digest is 32 bytes (8 x u32 or 4 x u64, little-endian).
 *
 * 2-to-1 compression (Plonky3's TruncatedPermutation): state = left || right
 * || zeros, permute, output lanes 0..digest-1 (no feed-forward).
 *
 * Field arithmetic here is private and works on canonical values in [0, p);
 * inputs must be canonical (the host checks). */
#ifndef ZC_POSEIDON2_H
#define ZC_POSEIDON2_H

#include "zc_kernel.h"
#include "poseidon2_constants.h"

#if defined(ZC_TARGET_CUDA)
/* nvcc's host pass sees the __constant__ tables read in __host__ __device__
 * functions; only device code ever runs them. */
#pragma nv_diag_suppress 20091
#endif

/* Instance ids, shared with zc_poseidon2_instance in zkclob/hash.h. */
#define ZC_P2_BABYBEAR_16 0
#define ZC_P2_BABYBEAR_24 1
#define ZC_P2_BABYBEAR_16_HL 2
#define ZC_P2_BABYBEAR_24_HL 3
#define ZC_P2_GOLDILOCKS_8 4
#define ZC_P2_GOLDILOCKS_12 5
#define ZC_P2_GOLDILOCKS_12_HL 6
#define ZC_P2_NUM_INSTANCES 7

#define ZC_P2_MAX_WIDTH 24
#define ZC_P2_DIGEST_BYTES 32

#define ZC_P2_BB_P 2013265921u
#define ZC_P2_GL_P 0xFFFFFFFF00000001ull
#define ZC_P2_GL_EPS 0xFFFFFFFFull /* 2^64 mod p */

typedef struct zc_p2_params {
    uint32_t goldilocks; /* 0: BabyBear (u32 lanes), 1: Goldilocks (u64 lanes) */
    uint32_t width;
    uint32_t rounds_partial;
    uint32_t hl_matrix;  /* 1: HorizenLabs M4, 0: Plonky3 M4 */
    uint32_t offset;     /* of the instance's constants in its field's table */
    uint32_t rate;
    uint32_t digest;     /* lanes; 2 * digest <= width */
} zc_p2_params;

#define ZC_P2_PARAMS(name, gl, rate, digest)                                                                   \
    {gl, ZC_P2_##name##_WIDTH, ZC_P2_##name##_ROUNDS_PARTIAL, ZC_P2_##name##_HL_MATRIX, ZC_P2_##name##_OFFSET,    \
     rate, digest}

/* Parameters of instance `inst`; ids past the last (which the host never
 * passes) read as the default instance. */
ZC_FN zc_p2_params zc_p2_get_params(uint32_t inst)
{
    const zc_p2_params bb16 = ZC_P2_PARAMS(BABYBEAR_16, 0, 8, 8), bb24 = ZC_P2_PARAMS(BABYBEAR_24, 0, 16, 8),
                       bb16_hl = ZC_P2_PARAMS(BABYBEAR_16_HL, 0, 8, 8),
                       bb24_hl = ZC_P2_PARAMS(BABYBEAR_24_HL, 0, 16, 8),
                       gl8 = ZC_P2_PARAMS(GOLDILOCKS_8, 1, 4, 4), gl12 = ZC_P2_PARAMS(GOLDILOCKS_12, 1, 8, 4),
                       gl12_hl = ZC_P2_PARAMS(GOLDILOCKS_12_HL, 1, 8, 4);
    switch (inst) {
    case ZC_P2_BABYBEAR_24: return bb24;
    case ZC_P2_BABYBEAR_16_HL: return bb16_hl;
    case ZC_P2_BABYBEAR_24_HL: return bb24_hl;
    case ZC_P2_GOLDILOCKS_8: return gl8;
    case ZC_P2_GOLDILOCKS_12: return gl12;
    case ZC_P2_GOLDILOCKS_12_HL: return gl12_hl;
    default: return bb16;
    }
}

/* ---- BabyBear: lanes stay canonical; linear layers sum in 64 bits and
 * reduce once, since every coefficient is small. ---- */

ZC_FN uint32_t zc_p2_bb_add(uint32_t a, uint32_t b)
{
    uint32_t s = a + b; /* < 2^32: p < 2^31 */
    return s >= ZC_P2_BB_P ? s - ZC_P2_BB_P : s;
}

ZC_FN uint32_t zc_p2_bb_mul(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) % ZC_P2_BB_P); }

ZC_FN uint32_t zc_p2_bb_sbox(uint32_t x)
{
    uint32_t x2 = zc_p2_bb_mul(x, x);
    return zc_p2_bb_mul(zc_p2_bb_mul(x2, x), zc_p2_bb_mul(x2, x2));
}

/* y = M4 x without reduction: entries at most 16 (p - 1). */
ZC_FN void zc_p2_m4_u64(uint64_t *y, uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3, uint32_t hl)
{
    if (hl) { /* [[5,7,1,3],[4,6,1,1],[1,3,5,7],[1,1,4,6]] */
        y[0] = 5 * x0 + 7 * x1 + x2 + 3 * x3;
        y[1] = 4 * x0 + 6 * x1 + x2 + x3;
        y[2] = x0 + 3 * x1 + 5 * x2 + 7 * x3;
        y[3] = x0 + x1 + 4 * x2 + 6 * x3;
    } else { /* [[2,3,1,1],[1,2,3,1],[1,1,2,3],[3,1,1,2]] */
        y[0] = 2 * x0 + 3 * x1 + x2 + x3;
        y[1] = x0 + 2 * x1 + 3 * x2 + x3;
        y[2] = x0 + x1 + 2 * x2 + 3 * x3;
        y[3] = 3 * x0 + x1 + x2 + 2 * x3;
    }
}

ZC_FN void zc_p2_bb_external(uint32_t *s, uint32_t width, uint32_t hl)
{
    uint64_t y[ZC_P2_MAX_WIDTH];
    uint64_t sum[4] = {0, 0, 0, 0};
    for (uint32_t c = 0; c < width; c += 4) {
        zc_p2_m4_u64(y + c, s[c], s[c + 1], s[c + 2], s[c + 3], hl);
        for (uint32_t j = 0; j < 4; j++)
            sum[j] += y[c + j];
    }
    /* At most 7 * 16 * p < 2^38 before the reduction. */
    for (uint32_t i = 0; i < width; i++)
        s[i] = (uint32_t)((y[i] + sum[i & 3]) % ZC_P2_BB_P);
}

ZC_FN void zc_p2_bb_internal(uint32_t *s, uint32_t width, uint32_t diag)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < width; i++)
        sum += s[i];
    uint64_t total = sum % ZC_P2_BB_P;
    for (uint32_t i = 0; i < width; i++)
        s[i] = (uint32_t)((total + (uint64_t)zc_p2_bb_rc[diag + i] * s[i]) % ZC_P2_BB_P);
}

ZC_FN void zc_p2_bb_full_rounds(uint32_t *s, uint32_t width, uint32_t hl, uint32_t rc)
{
    for (uint32_t r = 0; r < 4; r++) {
        for (uint32_t i = 0; i < width; i++)
            s[i] = zc_p2_bb_sbox(zc_p2_bb_add(s[i], zc_p2_bb_rc[rc + r * width + i]));
        zc_p2_bb_external(s, width, hl);
    }
}

ZC_FN void zc_p2_bb_permute_with(uint32_t *s, zc_p2_params p)
{
    uint32_t internal = p.offset + 4 * p.width;
    uint32_t terminal = internal + p.rounds_partial;
    uint32_t diag = terminal + 4 * p.width;
    zc_p2_bb_external(s, p.width, p.hl_matrix);
    zc_p2_bb_full_rounds(s, p.width, p.hl_matrix, p.offset);
    for (uint32_t r = 0; r < p.rounds_partial; r++) {
        s[0] = zc_p2_bb_sbox(zc_p2_bb_add(s[0], zc_p2_bb_rc[internal + r]));
        zc_p2_bb_internal(s, p.width, diag);
    }
    zc_p2_bb_full_rounds(s, p.width, p.hl_matrix, terminal);
}

/* ---- Goldilocks: canonical lanes, 128-bit products reduced with
 * 2^64 = 2^32 - 1 and 2^96 = -1 (mod p). ---- */

ZC_FN uint64_t zc_p2_gl_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    if (s < a) /* carry out of 2^64: the result is already below p */
        return s + ZC_P2_GL_EPS;
    return s >= ZC_P2_GL_P ? s - ZC_P2_GL_P : s;
}

ZC_FN uint64_t zc_p2_gl_reduce128(uint64_t lo, uint64_t hi)
{
    uint64_t hi_hi = hi >> 32, hi_lo = hi & ZC_P2_GL_EPS;
    uint64_t t0 = lo - hi_hi;
    if (lo < hi_hi) /* borrowed 2^64, which is EPS mod p */
        t0 -= ZC_P2_GL_EPS;
    uint64_t t1 = hi_lo * ZC_P2_GL_EPS;
    uint64_t t2 = t0 + t1;
    if (t2 < t1)
        t2 += ZC_P2_GL_EPS;
    return t2 >= ZC_P2_GL_P ? t2 - ZC_P2_GL_P : t2;
}

ZC_FN uint64_t zc_p2_gl_mul(uint64_t a, uint64_t b) { return zc_p2_gl_reduce128(a * b, zc_mulhi64(a, b)); }

ZC_FN uint64_t zc_p2_gl_sbox(uint64_t x)
{
    uint64_t x2 = zc_p2_gl_mul(x, x);
    return zc_p2_gl_mul(zc_p2_gl_mul(x2, x), zc_p2_gl_mul(x2, x2));
}

/* M4 on one chunk with additions only (the matrices' addition chains). */
ZC_FN void zc_p2_gl_m4(uint64_t *x, uint32_t hl)
{
    uint64_t t01 = zc_p2_gl_add(x[0], x[1]), t23 = zc_p2_gl_add(x[2], x[3]);
    if (hl) {
        uint64_t t2 = zc_p2_gl_add(zc_p2_gl_add(x[1], x[1]), t23);  /* [0,2,1,1] */
        uint64_t t3 = zc_p2_gl_add(zc_p2_gl_add(x[3], x[3]), t01);  /* [1,1,0,2] */
        uint64_t t23x2 = zc_p2_gl_add(t23, t23), t01x2 = zc_p2_gl_add(t01, t01);
        uint64_t t4 = zc_p2_gl_add(zc_p2_gl_add(t23x2, t23x2), t3); /* [1,1,4,6] */
        uint64_t t5 = zc_p2_gl_add(zc_p2_gl_add(t01x2, t01x2), t2); /* [4,6,1,1] */
        x[0] = zc_p2_gl_add(t3, t5);                                /* [5,7,1,3] */
        x[1] = t5;
        x[2] = zc_p2_gl_add(t2, t4);                                /* [1,3,5,7] */
        x[3] = t4;
    } else {
        uint64_t all = zc_p2_gl_add(t01, t23);
        uint64_t a1 = zc_p2_gl_add(all, x[1]), a3 = zc_p2_gl_add(all, x[3]);
        uint64_t x0 = x[0], x2 = x[2];
        x[0] = zc_p2_gl_add(a1, t01);                   /* [2,3,1,1] */
        x[1] = zc_p2_gl_add(a1, zc_p2_gl_add(x2, x2));  /* [1,2,3,1] */
        x[2] = zc_p2_gl_add(a3, t23);                   /* [1,1,2,3] */
        x[3] = zc_p2_gl_add(a3, zc_p2_gl_add(x0, x0));  /* [3,1,1,2] */
    }
}

ZC_FN void zc_p2_gl_external(uint64_t *s, uint32_t width, uint32_t hl)
{
    uint64_t sum[4] = {0, 0, 0, 0};
    for (uint32_t c = 0; c < width; c += 4) {
        zc_p2_gl_m4(s + c, hl);
        for (uint32_t j = 0; j < 4; j++)
            sum[j] = zc_p2_gl_add(sum[j], s[c + j]);
    }
    for (uint32_t i = 0; i < width; i++)
        s[i] = zc_p2_gl_add(s[i], sum[i & 3]);
}

ZC_FN void zc_p2_gl_internal(uint64_t *s, uint32_t width, uint32_t diag)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < width; i++)
        sum = zc_p2_gl_add(sum, s[i]);
    for (uint32_t i = 0; i < width; i++)
        s[i] = zc_p2_gl_add(sum, zc_p2_gl_mul(zc_p2_gl_rc[diag + i], s[i]));
}

ZC_FN void zc_p2_gl_full_rounds(uint64_t *s, uint32_t width, uint32_t hl, uint32_t rc)
{
    for (uint32_t r = 0; r < 4; r++) {
        for (uint32_t i = 0; i < width; i++)
            s[i] = zc_p2_gl_sbox(zc_p2_gl_add(s[i], zc_p2_gl_rc[rc + r * width + i]));
        zc_p2_gl_external(s, width, hl);
    }
}

ZC_FN void zc_p2_gl_permute_with(uint64_t *s, zc_p2_params p)
{
    uint32_t internal = p.offset + 4 * p.width;
    uint32_t terminal = internal + p.rounds_partial;
    uint32_t diag = terminal + 4 * p.width;
    zc_p2_gl_external(s, p.width, p.hl_matrix);
    zc_p2_gl_full_rounds(s, p.width, p.hl_matrix, p.offset);
    for (uint32_t r = 0; r < p.rounds_partial; r++) {
        s[0] = zc_p2_gl_sbox(zc_p2_gl_add(s[0], zc_p2_gl_rc[internal + r]));
        zc_p2_gl_internal(s, p.width, diag);
    }
    zc_p2_gl_full_rounds(s, p.width, p.hl_matrix, terminal);
}

/* ---- Instance-level operations. A state is `width` lanes, u32 for
 * BabyBear and u64 for Goldilocks, packed one state after another. ---- */

/* Permutes state `idx` of a packed array of states. */
ZC_FN void zc_p2_permute_global(ZC_GLOBAL uint8_t *states, uint64_t idx, uint32_t inst)
{
    zc_p2_params p = zc_p2_get_params(inst);
    if (p.goldilocks) {
        ZC_GLOBAL uint64_t *g = (ZC_GLOBAL uint64_t *)states + idx * p.width;
        uint64_t s[ZC_P2_MAX_WIDTH];
        for (uint32_t i = 0; i < p.width; i++)
            s[i] = g[i];
        zc_p2_gl_permute_with(s, p);
        for (uint32_t i = 0; i < p.width; i++)
            g[i] = s[i];
    } else {
        ZC_GLOBAL uint32_t *g = (ZC_GLOBAL uint32_t *)states + idx * p.width;
        uint32_t s[ZC_P2_MAX_WIDTH];
        for (uint32_t i = 0; i < p.width; i++)
            s[i] = g[i];
        zc_p2_bb_permute_with(s, p);
        for (uint32_t i = 0; i < p.width; i++)
            g[i] = s[i];
    }
}

/* Sponge digest of row `idx` of a packed n x len matrix, written to
 * out + 32 * idx. */
ZC_FN void zc_p2_hash_global(const ZC_GLOBAL uint8_t *rows, uint64_t idx, uint64_t len, uint32_t inst,
                             ZC_GLOBAL uint8_t *out)
{
    zc_p2_params p = zc_p2_get_params(inst);
    if (p.goldilocks) {
        const ZC_GLOBAL uint64_t *row = (const ZC_GLOBAL uint64_t *)rows + idx * len;
        ZC_GLOBAL uint64_t *o = (ZC_GLOBAL uint64_t *)out + idx * p.digest;
        uint64_t s[ZC_P2_MAX_WIDTH] = {0};
        for (uint64_t at = 0; at < len; at += p.rate) {
            uint64_t chunk = len - at < p.rate ? len - at : p.rate;
            for (uint32_t i = 0; i < chunk; i++)
                s[i] = row[at + i];
            zc_p2_gl_permute_with(s, p);
        }
        for (uint32_t i = 0; i < p.digest; i++)
            o[i] = s[i];
    } else {
        const ZC_GLOBAL uint32_t *row = (const ZC_GLOBAL uint32_t *)rows + idx * len;
        ZC_GLOBAL uint32_t *o = (ZC_GLOBAL uint32_t *)out + idx * p.digest;
        uint32_t s[ZC_P2_MAX_WIDTH] = {0};
        for (uint64_t at = 0; at < len; at += p.rate) {
            uint64_t chunk = len - at < p.rate ? len - at : p.rate;
            for (uint32_t i = 0; i < chunk; i++)
                s[i] = row[at + i];
            zc_p2_bb_permute_with(s, p);
        }
        for (uint32_t i = 0; i < p.digest; i++)
            o[i] = s[i];
    }
}

/* 2-to-1 compression of two 32-byte digests given as 8 little-endian u32
 * words each (the layout of both fields' digests); the result replaces l. */
ZC_FN void zc_p2_compress_words(uint32_t *l, const uint32_t *r, uint32_t inst)
{
    zc_p2_params p = zc_p2_get_params(inst);
    if (p.goldilocks) {
        uint64_t s[ZC_P2_MAX_WIDTH] = {0};
        for (uint32_t i = 0; i < 4; i++) {
            s[i] = (uint64_t)l[2 * i] | (uint64_t)l[2 * i + 1] << 32;
            s[4 + i] = (uint64_t)r[2 * i] | (uint64_t)r[2 * i + 1] << 32;
        }
        zc_p2_gl_permute_with(s, p);
        for (uint32_t i = 0; i < 4; i++) {
            l[2 * i] = (uint32_t)s[i];
            l[2 * i + 1] = (uint32_t)(s[i] >> 32);
        }
    } else {
        uint32_t s[ZC_P2_MAX_WIDTH] = {0};
        for (uint32_t i = 0; i < 8; i++) {
            s[i] = l[i];
            s[8 + i] = r[i];
        }
        zc_p2_bb_permute_with(s, p);
        for (uint32_t i = 0; i < 8; i++)
            l[i] = s[i];
    }
}

#if defined(ZC_TARGET_CUDA)
#pragma nv_diag_default 20091
#endif

#endif
