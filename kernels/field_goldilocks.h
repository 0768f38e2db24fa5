/* Goldilocks: p = 2^64 - 2^32 + 1 = 0xffffffff00000001.
 *
 * Elements are canonical integers in [0, p); every function returns the
 * canonical representative. Products use the special form of p instead of
 * Montgomery arithmetic: with eps = 2^32 - 1 = 2^64 mod p, 2^96 = -1 mod p,
 * so a 128-bit x = lo + 2^64 (h0 + 2^32 h1) reduces to lo - h1 + h0 * eps.
 * The high half of the 64x64 product comes from zc_mulhi64.
 *
 * The multiplicative generator is 7 and the two-adicity 32; the primitive
 * 2^k-th roots of unity are 7^((p - 1) / 2^k) = 0x185629dcda58878c^(2^(32 - k)),
 * Plonky3's TWO_ADIC_GENERATORS. */
#ifndef ZC_FIELD_GOLDILOCKS_H
#define ZC_FIELD_GOLDILOCKS_H

#include "zc_kernel.h"

#define ZC_GL_P 0xffffffff00000001ull
#define ZC_GL_EPSILON 0xffffffffull /* 2^64 mod p */
#define ZC_GL_GENERATOR 7u
#define ZC_GL_TWO_ADICITY 32u
#define ZC_GL_ROOT_2_32 0x185629dcda58878cull /* primitive 2^32-th root of unity */

/* Conditional corrections are masks (0 - flag) rather than branches, which
 * would mispredict on random data. */
ZC_FN uint64_t zc_gl_mask(uint64_t flag) { return (uint64_t)0 - flag; }

ZC_FN uint64_t zc_gl_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    s += ZC_GL_EPSILON & zc_gl_mask(s < a); /* wrapped: s + 2^64 - p = s + eps, and that is < p */
    return s - (ZC_GL_P & zc_gl_mask(s >= ZC_GL_P));
}

ZC_FN uint64_t zc_gl_sub(uint64_t a, uint64_t b)
{
    uint64_t d = a - b;
    return d - (ZC_GL_EPSILON & zc_gl_mask(a < b)); /* borrowed: a - b + 2^64 - eps = a - b + p */
}

ZC_FN uint64_t zc_gl_neg(uint64_t a) { return a ? ZC_GL_P - a : 0u; }

/* lo + 2^64 hi mod p, canonical. */
ZC_FN uint64_t zc_gl_reduce128(uint64_t lo, uint64_t hi)
{
    uint64_t hi_hi = hi >> 32, hi_lo = hi & ZC_GL_EPSILON;
    uint64_t t0 = lo - hi_hi;
    t0 -= ZC_GL_EPSILON & zc_gl_mask(lo < hi_hi); /* borrow: adding p = subtracting eps, and t0 > eps */
    uint64_t t1 = hi_lo * ZC_GL_EPSILON;          /* < 2^64 - 2^33 + 2 */
    uint64_t t2 = t0 + t1;
    t2 += ZC_GL_EPSILON & zc_gl_mask(t2 < t1); /* carry: 2^64 = eps, and t2 + eps cannot carry again */
    return t2 - (ZC_GL_P & zc_gl_mask(t2 >= ZC_GL_P));
}

ZC_FN uint64_t zc_gl_mul(uint64_t a, uint64_t b) { return zc_gl_reduce128(a * b, zc_mulhi64(a, b)); }

ZC_FN uint64_t zc_gl_square(uint64_t a) { return zc_gl_mul(a, a); }

ZC_FN uint64_t zc_gl_one(void) { return 1u; }

ZC_FN uint64_t zc_gl_pow(uint64_t a, uint64_t e)
{
    uint64_t r = 1u;
    while (e) {
        if (e & 1u)
            r = zc_gl_mul(r, a);
        a = zc_gl_square(a);
        e >>= 1;
    }
    return r;
}

/* a^-1 = a^(p - 2) (Fermat); 0 maps to 0. */
ZC_FN uint64_t zc_gl_inv(uint64_t a) { return zc_gl_pow(a, ZC_GL_P - 2u); }

/* Primitive 2^bits-th root of unity (bits <= 32). */
ZC_FN uint64_t zc_gl_two_adic_root(uint32_t bits)
{
    uint64_t w = ZC_GL_ROOT_2_32;
    for (uint32_t i = bits; i < ZC_GL_TWO_ADICITY; i++)
        w = zc_gl_square(w);
    return w;
}

#endif
