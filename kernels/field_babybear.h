/* BabyBear: p = 2^31 - 2^27 + 1 = 15 * 2^27 + 1 = 0x78000001.
 *
 * Arithmetic is Montgomery arithmetic with R = 2^32: the Montgomery form of x
 * is x * R mod p, and zc_bb_mul(a, b) = a * b * R^-1 mod p. Every function
 * returns the canonical representative in [0, p) of its form, so results are
 * unique and identical on every backend whatever the reduction route.
 *
 * The public encoding (API arrays, vectors, Plonky3's as_canonical_u32) is
 * the canonical integer. zc_bb_to_mont / zc_bb_from_mont convert. Because
 * zc_bb_mul(x, y * R) = x * y, a canonical value times a constant kept in
 * Montgomery form gives a canonical product: the NTT keeps data canonical
 * and holds twiddles and scale factors in Montgomery form.
 *
 * The multiplicative generator is 31 and the two-adicity 27; the primitive
 * 2^k-th roots of unity are g^((p - 1) / 2^k) = 0x1a427a41^(2^(27 - k)), the
 * TWO_ADIC_GENERATORS table of Plonky3. */
#ifndef ZC_FIELD_BABYBEAR_H
#define ZC_FIELD_BABYBEAR_H

#include "zc_kernel.h"

#define ZC_BB_P 0x78000001u
#define ZC_BB_MU 0x88000001u       /* p^-1 mod 2^32 */
#define ZC_BB_R_MOD_P 0x0ffffffeu  /* R mod p: Montgomery form of 1 */
#define ZC_BB_R2_MOD_P 0x45dddde3u /* R^2 mod p: converts to Montgomery form */
#define ZC_BB_GENERATOR 31u
#define ZC_BB_TWO_ADICITY 27u
#define ZC_BB_ROOT_2_27 0x1a427a41u /* canonical primitive 2^27-th root of unity */

/* t * R^-1 mod p for t < p * 2^32. q = t * p^-1 mod 2^32 makes t - q * p a
 * multiple of 2^32, so the quotient is the difference of the high words,
 * which lies in (-p, p). */
ZC_FN uint32_t zc_bb_mont_reduce(uint64_t t)
{
    uint32_t q = (uint32_t)t * ZC_BB_MU;
    uint64_t qp = (uint64_t)q * ZC_BB_P;
    uint32_t hi = (uint32_t)(t >> 32), qp_hi = (uint32_t)(qp >> 32);
    uint32_t r = hi - qp_hi;
    return hi < qp_hi ? r + ZC_BB_P : r;
}

ZC_FN uint32_t zc_bb_add(uint32_t a, uint32_t b)
{
    uint32_t s = a + b; /* < 2p < 2^32 */
    return s >= ZC_BB_P ? s - ZC_BB_P : s;
}

ZC_FN uint32_t zc_bb_sub(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;
    return a < b ? d + ZC_BB_P : d;
}

ZC_FN uint32_t zc_bb_neg(uint32_t a) { return a ? ZC_BB_P - a : 0u; }

/* Montgomery product a * b * R^-1 mod p. */
ZC_FN uint32_t zc_bb_mul(uint32_t a, uint32_t b) { return zc_bb_mont_reduce((uint64_t)a * b); }

ZC_FN uint32_t zc_bb_square(uint32_t a) { return zc_bb_mul(a, a); }

ZC_FN uint32_t zc_bb_to_mont(uint32_t x) { return zc_bb_mul(x, ZC_BB_R2_MOD_P); }

ZC_FN uint32_t zc_bb_from_mont(uint32_t x) { return zc_bb_mont_reduce(x); }

/* Montgomery form of one. */
ZC_FN uint32_t zc_bb_one(void) { return ZC_BB_R_MOD_P; }

/* a^e for a in Montgomery form; the result is in Montgomery form. */
ZC_FN uint32_t zc_bb_pow(uint32_t a, uint64_t e)
{
    uint32_t r = ZC_BB_R_MOD_P;
    while (e) {
        if (e & 1u)
            r = zc_bb_mul(r, a);
        a = zc_bb_square(a);
        e >>= 1;
    }
    return r;
}

/* a^-1 = a^(p - 2) (Fermat), Montgomery form in and out; 0 maps to 0. */
ZC_FN uint32_t zc_bb_inv(uint32_t a) { return zc_bb_pow(a, ZC_BB_P - 2u); }

/* Product of two canonical values, canonical. */
ZC_FN uint32_t zc_bb_mul_canonical(uint32_t a, uint32_t b) { return zc_bb_mul(zc_bb_mul(a, b), ZC_BB_R2_MOD_P); }

/* Primitive 2^bits-th root of unity (bits <= 27) in Montgomery form. */
ZC_FN uint32_t zc_bb_two_adic_root(uint32_t bits)
{
    uint32_t w = zc_bb_to_mont(ZC_BB_ROOT_2_27);
    for (uint32_t i = bits; i < ZC_BB_TWO_ADICITY; i++)
        w = zc_bb_square(w);
    return w;
}

#endif
