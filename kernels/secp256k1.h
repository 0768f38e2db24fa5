/* secp256k1 (y^2 = x^3 + 7 over p = 2^256 - 2^32 - 977, group order n),
 * single-source: field and scalar arithmetic on 4 x 64-bit little-endian
 * limbs, Jacobian point arithmetic, ECDSA verification (Strauss-Shamir
 * u1 G + u2 Q over wNAFs, both scalars split with the GLV endomorphism, the
 * x(R) == r check without an inversion) and, for test and demo data, RFC 6979
 * signing with a fixed-base comb.
 *
 * Field elements are kept "weakly reduced": any value below 2^256, so values
 * in [p, 2^256) appear between operations; zc_secp_fe_normalize gives the
 * canonical residue. Products use the 64x64->128 multiply of zc_kernel.h
 * (unsigned __int128 on the host, mul_hi / __umul64hi on devices).
 *
 * Verification is variable time (its inputs are public). What signing uses
 * (field and scalar arithmetic, inversions by fixed exponents, the comb with
 * masked table scans, zc_secp_gej_add_ge_ct, HMAC-SHA256) has no branch or
 * memory index that depends on the key or nonce; only the rejection of
 * out-of-range nonce candidates and of r or s = 0 (probability ~2^-128)
 * branches, as RFC 6979 prescribes. */
#ifndef ZC_SECP256K1_H
#define ZC_SECP256K1_H

#include "sha256.h"
#include "zc_kernel.h"

#define ZC_SECP_FE_C 0x1000003D1ull /* 2^256 - p */
/* 2^256 - n = NC2:NC1:NC0 (129 bits). */
#define ZC_SECP_NC0 0x402DA1732FC9BEBFull
#define ZC_SECP_NC1 0x4551231950B75FC4ull
#define ZC_SECP_NC2 1ull

/* wNAF window of the verification's public key Q (8 odd multiples per key). */
#define ZC_SECP_WINDOW_Q 5
#define ZC_SECP_QTAB (1 << (ZC_SECP_WINDOW_Q - 2))
/* wNAF window of the generator: the host builds a table of the 2^(w-2) odd
 * multiples of G (affine, 64 bytes each) once and hands it to the kernels. */
#define ZC_SECP_WINDOW_G 14
#define ZC_SECP_GTAB (1 << (ZC_SECP_WINDOW_G - 2))
/* wNAF digits of a half from the endomorphism split (below 2^128; a carry
 * may reach bit 128). */
#define ZC_SECP_WNAF_GLV 129

/* nvcc inlines every ZC_FN (__forceinline__); the large functions stay
 * calls on CUDA so the verification kernel keeps a sane size and compile time. */
#if defined(ZC_TARGET_CUDA)
#define ZC_SECP_NOINLINE static __host__ __device__ __noinline__
#else
#define ZC_SECP_NOINLINE ZC_FN
#endif

typedef struct zc_secp_fe {
    uint64_t d[4];
} zc_secp_fe;

typedef struct zc_secp_sc {
    uint64_t d[4];
} zc_secp_sc;

typedef struct zc_secp_ge { /* affine point, never infinity */
    zc_secp_fe x, y;
} zc_secp_ge;

typedef struct zc_secp_gej { /* Jacobian (X / Z^2, Y / Z^3) */
    zc_secp_fe x, y, z;
    int inf;
} zc_secp_gej;

/* ---- 64-bit helpers ---- */

#if defined(ZC_TARGET_HOST)
#define ZC_SECP_MUL(lo, hi, a, b)                                                                              \
    do {                                                                                                       \
        unsigned __int128 zc_t_ = (unsigned __int128)(a) * (b);                                                \
        (lo) = (uint64_t)zc_t_;                                                                                \
        (hi) = (uint64_t)(zc_t_ >> 64);                                                                        \
    } while (0)
#else
#define ZC_SECP_MUL(lo, hi, a, b)                                                                              \
    do {                                                                                                       \
        uint64_t zc_a_ = (a), zc_b_ = (b);                                                                     \
        (lo) = zc_a_ * zc_b_;                                                                                  \
        (hi) = zc_mulhi64(zc_a_, zc_b_);                                                                       \
    } while (0)
#endif

/* (c2:c1:c0) += a * b */
#define ZC_SECP_MULADD(a, b)                                                                                   \
    do {                                                                                                       \
        uint64_t lo_, hi_;                                                                                     \
        ZC_SECP_MUL(lo_, hi_, a, b);                                                                           \
        c0 += lo_;                                                                                             \
        hi_ += c0 < lo_;                                                                                       \
        c1 += hi_;                                                                                             \
        c2 += c1 < hi_;                                                                                        \
    } while (0)

/* (c2:c1:c0) += 2 a b */
#define ZC_SECP_MULADD2(a, b)                                                                                  \
    do {                                                                                                       \
        uint64_t lo_, hi_;                                                                                     \
        ZC_SECP_MUL(lo_, hi_, a, b);                                                                           \
        c2 += hi_ >> 63;                                                                                       \
        hi_ = (hi_ << 1) | (lo_ >> 63);                                                                        \
        lo_ <<= 1;                                                                                             \
        c0 += lo_;                                                                                             \
        hi_ += c0 < lo_;                                                                                       \
        c1 += hi_;                                                                                             \
        c2 += c1 < hi_;                                                                                        \
    } while (0)

/* out = c0, shift the accumulator down one word */
#define ZC_SECP_EXTRACT(out)                                                                                   \
    do {                                                                                                       \
        (out) = c0;                                                                                            \
        c0 = c1;                                                                                               \
        c1 = c2;                                                                                               \
        c2 = 0;                                                                                                \
    } while (0)

/* ---- field mod p ---- */

ZC_FN void zc_secp_fe_set(zc_secp_fe *r, uint64_t d0, uint64_t d1, uint64_t d2, uint64_t d3)
{
    r->d[0] = d0; r->d[1] = d1; r->d[2] = d2; r->d[3] = d3;
}

/* r += c * 2^256 folded as c * (2^256 - p); c < 2^64 / (2^256 - p) + 1.
 * A second fold catches the rare wrap of the first. */
ZC_FN void zc_secp_fe_fold(zc_secp_fe *r, uint64_t c)
{
    uint64_t lo, hi;
    ZC_SECP_MUL(lo, hi, c, ZC_SECP_FE_C);
    uint64_t t = r->d[0] + lo;
    uint64_t carry = hi + (t < lo);
    r->d[0] = t;
    t = r->d[1] + carry; carry = t < carry; r->d[1] = t;
    t = r->d[2] + carry; carry = t < carry; r->d[2] = t;
    t = r->d[3] + carry; carry = t < carry; r->d[3] = t;
    /* after a wrap the value is below 2^67: adding C once more cannot wrap */
    lo = carry * ZC_SECP_FE_C;
    t = r->d[0] + lo; carry = t < lo; r->d[0] = t;
    t = r->d[1] + carry; carry = t < carry; r->d[1] = t;
    t = r->d[2] + carry; carry = t < carry; r->d[2] = t;
    r->d[3] += carry;
}

/* r = t mod p (weakly) for the 512-bit t[0..8). */
ZC_FN void zc_secp_fe_reduce512(zc_secp_fe *r, const uint64_t *t)
{
    uint64_t c0 = t[0], c1 = 0, c2 = 0;
    ZC_SECP_MULADD(t[4], ZC_SECP_FE_C);
    ZC_SECP_EXTRACT(r->d[0]);
    c0 += t[1]; c1 += c0 < t[1];
    ZC_SECP_MULADD(t[5], ZC_SECP_FE_C);
    ZC_SECP_EXTRACT(r->d[1]);
    c0 += t[2]; c1 += c0 < t[2];
    ZC_SECP_MULADD(t[6], ZC_SECP_FE_C);
    ZC_SECP_EXTRACT(r->d[2]);
    c0 += t[3]; c1 += c0 < t[3];
    ZC_SECP_MULADD(t[7], ZC_SECP_FE_C);
    ZC_SECP_EXTRACT(r->d[3]);
    /* c0 < 2^34 now */
    zc_secp_fe_fold(r, c0);
}

ZC_SECP_NOINLINE void zc_secp_fe_mul(zc_secp_fe *r, const zc_secp_fe *a, const zc_secp_fe *b)
{
    uint64_t t[8], c0 = 0, c1 = 0, c2 = 0;
    uint64_t a0 = a->d[0], a1 = a->d[1], a2 = a->d[2], a3 = a->d[3];
    uint64_t b0 = b->d[0], b1 = b->d[1], b2 = b->d[2], b3 = b->d[3];
    ZC_SECP_MULADD(a0, b0);
    ZC_SECP_EXTRACT(t[0]);
    ZC_SECP_MULADD(a0, b1); ZC_SECP_MULADD(a1, b0);
    ZC_SECP_EXTRACT(t[1]);
    ZC_SECP_MULADD(a0, b2); ZC_SECP_MULADD(a1, b1); ZC_SECP_MULADD(a2, b0);
    ZC_SECP_EXTRACT(t[2]);
    ZC_SECP_MULADD(a0, b3); ZC_SECP_MULADD(a1, b2); ZC_SECP_MULADD(a2, b1); ZC_SECP_MULADD(a3, b0);
    ZC_SECP_EXTRACT(t[3]);
    ZC_SECP_MULADD(a1, b3); ZC_SECP_MULADD(a2, b2); ZC_SECP_MULADD(a3, b1);
    ZC_SECP_EXTRACT(t[4]);
    ZC_SECP_MULADD(a2, b3); ZC_SECP_MULADD(a3, b2);
    ZC_SECP_EXTRACT(t[5]);
    ZC_SECP_MULADD(a3, b3);
    ZC_SECP_EXTRACT(t[6]);
    t[7] = c0;
    zc_secp_fe_reduce512(r, t);
}

ZC_SECP_NOINLINE void zc_secp_fe_sqr(zc_secp_fe *r, const zc_secp_fe *a)
{
    uint64_t t[8], c0 = 0, c1 = 0, c2 = 0;
    uint64_t a0 = a->d[0], a1 = a->d[1], a2 = a->d[2], a3 = a->d[3];
    ZC_SECP_MULADD(a0, a0);
    ZC_SECP_EXTRACT(t[0]);
    ZC_SECP_MULADD2(a0, a1);
    ZC_SECP_EXTRACT(t[1]);
    ZC_SECP_MULADD2(a0, a2); ZC_SECP_MULADD(a1, a1);
    ZC_SECP_EXTRACT(t[2]);
    ZC_SECP_MULADD2(a0, a3); ZC_SECP_MULADD2(a1, a2);
    ZC_SECP_EXTRACT(t[3]);
    ZC_SECP_MULADD2(a1, a3); ZC_SECP_MULADD(a2, a2);
    ZC_SECP_EXTRACT(t[4]);
    ZC_SECP_MULADD2(a2, a3);
    ZC_SECP_EXTRACT(t[5]);
    ZC_SECP_MULADD(a3, a3);
    ZC_SECP_EXTRACT(t[6]);
    t[7] = c0;
    zc_secp_fe_reduce512(r, t);
}

ZC_FN void zc_secp_fe_add(zc_secp_fe *r, const zc_secp_fe *a, const zc_secp_fe *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t t = a->d[i] + carry;
        uint64_t c1 = t < carry;
        uint64_t s = t + b->d[i];
        r->d[i] = s;
        carry = c1 + (s < t);
    }
    /* a + b - 2^256 kept: add 2^256 - p back; when that wraps again the
     * value is below 2^33, so the second fold cannot carry */
    uint64_t add = ((uint64_t)0 - carry) & ZC_SECP_FE_C;
    for (int i = 0; i < 4; i++) {
        uint64_t t = r->d[i] + add;
        add = t < add;
        r->d[i] = t;
    }
    r->d[0] += ((uint64_t)0 - add) & ZC_SECP_FE_C;
}

ZC_FN void zc_secp_fe_sub(zc_secp_fe *r, const zc_secp_fe *a, const zc_secp_fe *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t ai = a->d[i], bi = b->d[i];
        uint64_t t = ai - bi;
        uint64_t b1 = ai < bi;
        r->d[i] = t - borrow;
        borrow = b1 + (t < borrow);
    }
    /* a - b + 2^256 kept: take 2^256 - p off; when that borrows again the
     * value is at least 2^256 - 2^33, so the second subtraction cannot */
    uint64_t sub = ((uint64_t)0 - borrow) & ZC_SECP_FE_C;
    for (int i = 0; i < 4; i++) {
        uint64_t t = r->d[i];
        r->d[i] = t - sub;
        sub = t < sub;
    }
    r->d[0] -= ((uint64_t)0 - sub) & ZC_SECP_FE_C;
}

ZC_FN void zc_secp_fe_neg(zc_secp_fe *r, const zc_secp_fe *a)
{
    zc_secp_fe z;
    zc_secp_fe_set(&z, 0, 0, 0, 0);
    zc_secp_fe_sub(r, &z, a);
}

/* r = a * k for k < 2^31. */
ZC_FN void zc_secp_fe_mul_int(zc_secp_fe *r, const zc_secp_fe *a, uint64_t k)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t lo, hi;
        ZC_SECP_MUL(lo, hi, a->d[i], k);
        lo += carry;
        hi += lo < carry;
        r->d[i] = lo;
        carry = hi;
    }
    zc_secp_fe_fold(r, carry);
}

/* Canonical residue in [0, p). */
ZC_FN void zc_secp_fe_normalize(zc_secp_fe *r)
{
    /* r >= p exactly when r + (2^256 - p) carries out */
    uint64_t t[4], carry = ZC_SECP_FE_C;
    for (int i = 0; i < 4; i++) {
        t[i] = r->d[i] + carry;
        carry = t[i] < carry;
    }
    uint64_t mask = (uint64_t)0 - carry;
    for (int i = 0; i < 4; i++)
        r->d[i] = (t[i] & mask) | (r->d[i] & ~mask);
}

ZC_FN int zc_secp_fe_is_zero(const zc_secp_fe *a)
{
    zc_secp_fe t = *a;
    zc_secp_fe_normalize(&t);
    return (t.d[0] | t.d[1] | t.d[2] | t.d[3]) == 0;
}

ZC_FN int zc_secp_fe_equal(const zc_secp_fe *a, const zc_secp_fe *b)
{
    zc_secp_fe t;
    zc_secp_fe_sub(&t, a, b);
    return zc_secp_fe_is_zero(&t);
}

/* 1 when a (a canonical value from bytes) is below p. */
ZC_FN int zc_secp_fe_is_canonical(const zc_secp_fe *a)
{
    zc_secp_fe t = *a;
    zc_secp_fe_normalize(&t);
    return t.d[0] == a->d[0] && t.d[1] == a->d[1] && t.d[2] == a->d[2] && t.d[3] == a->d[3];
}

ZC_FN void zc_secp_fe_sqr_n(zc_secp_fe *r, const zc_secp_fe *a, int n)
{
    *r = *a;
    for (int i = 0; i < n; i++)
        zc_secp_fe_sqr(r, r);
}

/* The common head of the fixed exponents p - 2 and (p + 1) / 4
 * (libsecp256k1's addition chain, x_k = a^(2^k - 1)): x2 and
 * head = x223^(2^23) * x22. */
ZC_SECP_NOINLINE void zc_secp_fe_pow_blocks(const zc_secp_fe *a, zc_secp_fe *x2, zc_secp_fe *head)
{
    zc_secp_fe x3, x6, x9, x11, x22, x44, x88, x176, x220, x223, t;
    zc_secp_fe_sqr(x2, a);
    zc_secp_fe_mul(x2, x2, a);
    zc_secp_fe_sqr(&x3, x2);
    zc_secp_fe_mul(&x3, &x3, a);
    zc_secp_fe_sqr_n(&t, &x3, 3);
    zc_secp_fe_mul(&x6, &t, &x3);
    zc_secp_fe_sqr_n(&t, &x6, 3);
    zc_secp_fe_mul(&x9, &t, &x3);
    zc_secp_fe_sqr_n(&t, &x9, 2);
    zc_secp_fe_mul(&x11, &t, x2);
    zc_secp_fe_sqr_n(&t, &x11, 11);
    zc_secp_fe_mul(&x22, &t, &x11);
    zc_secp_fe_sqr_n(&t, &x22, 22);
    zc_secp_fe_mul(&x44, &t, &x22);
    zc_secp_fe_sqr_n(&t, &x44, 44);
    zc_secp_fe_mul(&x88, &t, &x44);
    zc_secp_fe_sqr_n(&t, &x88, 88);
    zc_secp_fe_mul(&x176, &t, &x88);
    zc_secp_fe_sqr_n(&t, &x176, 44);
    zc_secp_fe_mul(&x220, &t, &x44);
    zc_secp_fe_sqr_n(&t, &x220, 3);
    zc_secp_fe_mul(&x223, &t, &x3);
    zc_secp_fe_sqr_n(&t, &x223, 23);
    zc_secp_fe_mul(head, &t, &x22);
}

/* r = a^(p - 2) = 1 / a (0 for a = 0). Constant time. */
ZC_FN void zc_secp_fe_inv(zc_secp_fe *r, const zc_secp_fe *a)
{
    zc_secp_fe x2, t;
    zc_secp_fe_pow_blocks(a, &x2, &t);
    zc_secp_fe_sqr_n(&t, &t, 5);
    zc_secp_fe_mul(&t, &t, a);
    zc_secp_fe_sqr_n(&t, &t, 3);
    zc_secp_fe_mul(&t, &t, &x2);
    zc_secp_fe_sqr_n(&t, &t, 2);
    zc_secp_fe_mul(r, &t, a);
}

/* r = a^((p + 1) / 4); returns 1 when r^2 == a (a square root exists). */
ZC_FN int zc_secp_fe_sqrt(zc_secp_fe *r, const zc_secp_fe *a)
{
    zc_secp_fe x2, t;
    zc_secp_fe_pow_blocks(a, &x2, &t);
    zc_secp_fe_sqr_n(&t, &t, 6);
    zc_secp_fe_mul(&t, &t, &x2);
    zc_secp_fe_sqr_n(r, &t, 2);
    zc_secp_fe_sqr(&t, r);
    return zc_secp_fe_equal(&t, a);
}

/* Masked select of four limbs: r = flag ? a : r, flag in {0, 1}. */
ZC_FN void zc_secp_limbs_cmov(uint64_t *r, const uint64_t *a, uint64_t flag)
{
    uint64_t mask = (uint64_t)0 - flag;
    for (int i = 0; i < 4; i++)
        r[i] = (r[i] & ~mask) | (a[i] & mask);
}

ZC_FN void zc_secp_fe_cmov(zc_secp_fe *r, const zc_secp_fe *a, uint64_t flag) { zc_secp_limbs_cmov(r->d, a->d, flag); }

/* Big-endian bytes <-> limbs. */
ZC_FN void zc_secp_limbs_from_be(uint64_t *d, const uint8_t *b)
{
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++)
            v = (v << 8) | b[8 * (3 - i) + j];
        d[i] = v;
    }
}

ZC_FN void zc_secp_limbs_from_be_global(uint64_t *d, const ZC_GLOBAL uint8_t *b)
{
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++)
            v = (v << 8) | b[8 * (3 - i) + j];
        d[i] = v;
    }
}

ZC_FN void zc_secp_limbs_to_be(uint8_t *b, const uint64_t *d)
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            b[8 * (3 - i) + j] = (uint8_t)(d[i] >> (56 - 8 * j));
}

/* ---- scalars mod n ---- */

/* r = a mod n for a < 2^256 (one conditional subtraction); returns 1 when a >= n. */
ZC_FN uint64_t zc_secp_sc_reduce_once(zc_secp_sc *r, const zc_secp_sc *a)
{
    /* a >= n exactly when a + (2^256 - n) carries out */
    const uint64_t nc[4] = {ZC_SECP_NC0, ZC_SECP_NC1, ZC_SECP_NC2, 0};
    uint64_t t[4], carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a->d[i] + nc[i];
        uint64_t c1 = s < nc[i];
        t[i] = s + carry;
        carry = c1 + (t[i] < carry);
    }
    uint64_t mask = (uint64_t)0 - carry;
    for (int i = 0; i < 4; i++)
        r->d[i] = (t[i] & mask) | (a->d[i] & ~mask);
    return carry;
}

ZC_FN int zc_secp_sc_is_zero(const zc_secp_sc *a) { return (a->d[0] | a->d[1] | a->d[2] | a->d[3]) == 0; }

/* 1 when a (< n) is above n / 2. */
ZC_FN int zc_secp_sc_is_high(const zc_secp_sc *a)
{
    /* n / 2 = 7FFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 5D576E73 57A4501D DFE92F46 681B20A0 */
    const uint64_t h[4] = {0xDFE92F46681B20A0ull, 0x5D576E7357A4501Dull, 0xFFFFFFFFFFFFFFFFull,
                           0x7FFFFFFFFFFFFFFFull};
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) { /* h - a borrows exactly when a > h */
        uint64_t t = h[i] - a->d[i];
        uint64_t b1 = h[i] < a->d[i];
        borrow = b1 + (t < borrow);
    }
    return (int)borrow;
}

/* r = a + b mod n for a, b < n. */
ZC_FN void zc_secp_sc_add(zc_secp_sc *r, const zc_secp_sc *a, const zc_secp_sc *b)
{
    zc_secp_sc s;
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t t = a->d[i] + carry;
        uint64_t c1 = t < carry;
        s.d[i] = t + b->d[i];
        carry = c1 + (s.d[i] < t);
    }
    /* the sum wrapped 2^256: add 2^256 - n back (the result is then below n) */
    const uint64_t nc[4] = {ZC_SECP_NC0, ZC_SECP_NC1, ZC_SECP_NC2, 0};
    uint64_t mask = (uint64_t)0 - carry, c = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t add = nc[i] & mask;
        uint64_t t = s.d[i] + c;
        uint64_t c1 = t < c;
        s.d[i] = t + add;
        c = c1 + (s.d[i] < t);
    }
    zc_secp_sc_reduce_once(r, &s);
}

/* r = n - a for a < n (0 stays 0). Constant time. */
ZC_FN void zc_secp_sc_neg(zc_secp_sc *r, const zc_secp_sc *a)
{
    const uint64_t n[4] = {0xBFD25E8CD0364141ull, 0xBAAEDCE6AF48A03Bull, 0xFFFFFFFFFFFFFFFEull,
                           0xFFFFFFFFFFFFFFFFull};
    uint64_t nonzero = (uint64_t)0 - (uint64_t)((a->d[0] | a->d[1] | a->d[2] | a->d[3]) != 0);
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t t = n[i] - a->d[i];
        uint64_t b1 = n[i] < a->d[i];
        r->d[i] = (t - borrow) & nonzero;
        borrow = b1 + (t < borrow);
    }
}

/* out[0..la+4) = a[0..la) * (2^256 - n) + lo[0..4), for the reduction mod n.
 * Carries run over the whole (public) length: no data-dependent exits. */
ZC_FN void zc_secp_sc_fold(uint64_t *out, const uint64_t *a, int la, const uint64_t *lo)
{
    const uint64_t nc[3] = {ZC_SECP_NC0, ZC_SECP_NC1, ZC_SECP_NC2};
    for (int i = 0; i < la + 4; i++)
        out[i] = i < 4 ? lo[i] : 0;
    for (int i = 0; i < la; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 3; j++) {
            uint64_t l, h;
            ZC_SECP_MUL(l, h, a[i], nc[j]);
            l += carry;
            h += l < carry;
            uint64_t s = out[i + j] + l;
            h += s < l;
            out[i + j] = s;
            carry = h;
        }
        for (int k = i + 3; k < la + 4; k++) {
            uint64_t s = out[k] + carry;
            carry = s < carry;
            out[k] = s;
        }
    }
}

ZC_SECP_NOINLINE void zc_secp_sc_reduce512(zc_secp_sc *r, const uint64_t *l)
{
    uint64_t m[8], q[7], t[5];
    zc_secp_sc_fold(m, l + 4, 4, l); /* < 2^386 */
    zc_secp_sc_fold(q, m + 4, 3, m); /* < 2^260 */
    uint64_t top = q[4];
    zc_secp_sc_fold(t, &top, 1, q); /* < 2^256 + 2^134 */
    /* t[4] is 0 or 1: fold it once more (the value is then far below 2^256) */
    uint64_t wrap = t[4];
    const uint64_t nc[4] = {ZC_SECP_NC0, ZC_SECP_NC1, ZC_SECP_NC2, 0};
    uint64_t mask = (uint64_t)0 - wrap, c = 0;
    zc_secp_sc s;
    for (int i = 0; i < 4; i++) {
        uint64_t add = nc[i] & mask;
        uint64_t u = t[i] + c;
        uint64_t c1 = u < c;
        s.d[i] = u + add;
        c = c1 + (s.d[i] < u);
    }
    zc_secp_sc_reduce_once(r, &s);
}

/* 512-bit product t = a b of two 4-limb numbers. */
ZC_SECP_NOINLINE void zc_secp_mul512(uint64_t *t, const uint64_t *a, const uint64_t *b)
{
    uint64_t c0 = 0, c1 = 0, c2 = 0;
    for (int k = 0; k < 7; k++) {
        for (int i = k < 4 ? 0 : k - 3; i <= k && i < 4; i++)
            ZC_SECP_MULADD(a[i], b[k - i]);
        ZC_SECP_EXTRACT(t[k]);
    }
    t[7] = c0;
}

ZC_FN void zc_secp_sc_mul(zc_secp_sc *r, const zc_secp_sc *a, const zc_secp_sc *b)
{
    uint64_t t[8];
    zc_secp_mul512(t, a->d, b->d);
    zc_secp_sc_reduce512(r, t);
}

/* r = a^(n - 2) = 1 / a mod n (0 for 0): 4-bit fixed windows over the public
 * exponent, so the sequence of operations never depends on a. */
ZC_SECP_NOINLINE void zc_secp_sc_inv(zc_secp_sc *r, const zc_secp_sc *a)
{
    const uint64_t e[4] = {0xBFD25E8CD036413Full, 0xBAAEDCE6AF48A03Bull, 0xFFFFFFFFFFFFFFFEull,
                           0xFFFFFFFFFFFFFFFFull};
    zc_secp_sc pw[16];
    pw[0].d[0] = 1; pw[0].d[1] = 0; pw[0].d[2] = 0; pw[0].d[3] = 0;
    pw[1] = *a;
    for (int i = 2; i < 16; i++)
        zc_secp_sc_mul(&pw[i], &pw[i - 1], a);
    zc_secp_sc acc = pw[0];
    for (int w = 63; w >= 0; w--) {
        for (int k = 0; k < 4; k++)
            zc_secp_sc_mul(&acc, &acc, &acc);
        uint32_t digit = (uint32_t)(e[w >> 4] >> (4 * (w & 15))) & 15;
        zc_secp_sc_mul(&acc, &acc, &pw[digit]);
    }
    *r = acc;
}

/* `count` (<= 32) bits of a starting at `bit`; bits past 255 read as 0. */
ZC_FN uint32_t zc_secp_sc_bits(const zc_secp_sc *a, int bit, int count)
{
    if (bit >= 256)
        return 0;
    int w = bit >> 6, s = bit & 63;
    uint64_t v = a->d[w] >> s;
    if (s + count > 64 && w < 3)
        v |= a->d[w + 1] << (64 - s);
    return (uint32_t)(v & (((uint64_t)1 << count) - 1));
}

/* ---- group ---- */

ZC_FN void zc_secp_ge_neg(zc_secp_ge *r, const zc_secp_ge *a)
{
    r->x = a->x;
    zc_secp_fe_neg(&r->y, &a->y);
}

/* 1 when (x, y), both canonical, satisfies y^2 = x^3 + 7. */
ZC_FN int zc_secp_ge_on_curve(const zc_secp_ge *a)
{
    zc_secp_fe y2, x3, seven;
    zc_secp_fe_sqr(&y2, &a->y);
    zc_secp_fe_sqr(&x3, &a->x);
    zc_secp_fe_mul(&x3, &x3, &a->x);
    zc_secp_fe_set(&seven, 7, 0, 0, 0);
    zc_secp_fe_add(&x3, &x3, &seven);
    return zc_secp_fe_equal(&y2, &x3);
}

ZC_FN void zc_secp_gej_set_ge(zc_secp_gej *r, const zc_secp_ge *a)
{
    r->x = a->x;
    r->y = a->y;
    zc_secp_fe_set(&r->z, 1, 0, 0, 0);
    r->inf = 0;
}

/* r = 2a (dbl-2009-l, a = 0). Doubling never meets y = 0 on secp256k1 (no
 * point of order 2), so only infinity needs a check. */
ZC_SECP_NOINLINE void zc_secp_gej_double(zc_secp_gej *r, const zc_secp_gej *a)
{
    zc_secp_fe A, B, C, D, E, F, t;
    r->inf = a->inf;
    zc_secp_fe_sqr(&A, &a->x);
    zc_secp_fe_sqr(&B, &a->y);
    zc_secp_fe_sqr(&C, &B);
    zc_secp_fe_add(&t, &a->x, &B);
    zc_secp_fe_sqr(&t, &t);
    zc_secp_fe_sub(&t, &t, &A);
    zc_secp_fe_sub(&t, &t, &C);
    zc_secp_fe_add(&D, &t, &t);
    zc_secp_fe_mul_int(&E, &A, 3);
    zc_secp_fe_sqr(&F, &E);
    zc_secp_fe_mul(&r->z, &a->y, &a->z);
    zc_secp_fe_add(&r->z, &r->z, &r->z);
    zc_secp_fe_add(&t, &D, &D);
    zc_secp_fe_sub(&r->x, &F, &t);
    zc_secp_fe_sub(&t, &D, &r->x);
    zc_secp_fe_mul(&t, &E, &t);
    zc_secp_fe_mul_int(&C, &C, 8);
    zc_secp_fe_sub(&r->y, &t, &C);
}

/* The common end of the variable-time additions: u1, s1 are the first
 * point's x and y on the common denominator, h = u2 - u1, rr = s2 - s1, z
 * the product of the inputs' z. Equal points are doubled, opposite ones give
 * infinity. r may be a (each input is read before its place is written). */
ZC_FN void zc_secp_gej_add_finish(zc_secp_gej *r, const zc_secp_gej *a, const zc_secp_fe *u1, const zc_secp_fe *s1,
                                  const zc_secp_fe *z, const zc_secp_fe *h, const zc_secp_fe *rr)
{
    if (zc_secp_fe_is_zero(h)) {
        if (zc_secp_fe_is_zero(rr)) {
            zc_secp_gej_double(r, a);
        } else {
            r->inf = 1;
        }
        return;
    }
    zc_secp_fe hh, hhh, v, t;
    zc_secp_fe_sqr(&hh, h);
    zc_secp_fe_mul(&hhh, &hh, h);
    zc_secp_fe_mul(&v, u1, &hh);
    zc_secp_fe_mul(&r->z, z, h);
    zc_secp_fe_sqr(&t, rr);
    zc_secp_fe_sub(&t, &t, &hhh);
    zc_secp_fe_sub(&t, &t, &v);
    zc_secp_fe_sub(&r->x, &t, &v);
    zc_secp_fe_sub(&t, &v, &r->x);
    zc_secp_fe_mul(&t, &t, rr);
    zc_secp_fe_mul(&hhh, &hhh, s1);
    zc_secp_fe_sub(&r->y, &t, &hhh);
    r->inf = 0;
}

/* r = a + b for affine b (madd-2004-hmv, 8M + 3S), variable time: handles
 * infinity, doubling and a == -b. */
ZC_SECP_NOINLINE void zc_secp_gej_add_ge_var(zc_secp_gej *r, const zc_secp_gej *a, const zc_secp_ge *b)
{
    if (a->inf) {
        zc_secp_gej_set_ge(r, b);
        return;
    }
    zc_secp_fe z2, z3, u2, s2, h, rr;
    zc_secp_fe_sqr(&z2, &a->z);
    zc_secp_fe_mul(&z3, &z2, &a->z);
    zc_secp_fe_mul(&u2, &b->x, &z2);
    zc_secp_fe_mul(&s2, &b->y, &z3);
    zc_secp_fe_sub(&h, &u2, &a->x);
    zc_secp_fe_sub(&rr, &s2, &a->y);
    zc_secp_gej_add_finish(r, a, &a->x, &a->y, &a->z, &h, &rr);
}

/* r = a + b, both Jacobian (add-1998-cmo-2 shape, 12M + 4S), variable time. */
ZC_SECP_NOINLINE void zc_secp_gej_add_var(zc_secp_gej *r, const zc_secp_gej *a, const zc_secp_gej *b)
{
    if (a->inf) {
        *r = *b;
        return;
    }
    if (b->inf) {
        *r = *a;
        return;
    }
    zc_secp_fe z1z1, z2z2, u1, u2, s1, s2, h, rr, t;
    zc_secp_fe_sqr(&z1z1, &a->z);
    zc_secp_fe_sqr(&z2z2, &b->z);
    zc_secp_fe_mul(&u1, &a->x, &z2z2);
    zc_secp_fe_mul(&u2, &b->x, &z1z1);
    zc_secp_fe_mul(&s1, &a->y, &b->z);
    zc_secp_fe_mul(&s1, &s1, &z2z2);
    zc_secp_fe_mul(&s2, &b->y, &a->z);
    zc_secp_fe_mul(&s2, &s2, &z1z1);
    zc_secp_fe_sub(&h, &u2, &u1);
    zc_secp_fe_sub(&rr, &s2, &s1);
    zc_secp_fe_mul(&t, &a->z, &b->z);
    zc_secp_gej_add_finish(r, a, &u1, &s1, &t, &h, &rr);
}

/* r = a + b for affine b without branches (signing). Requires a != +-b and
 * a not infinity; the fixed-base comb's offsets make those cases need a
 * discrete-log relation between G and the offset point. */
ZC_FN void zc_secp_gej_add_ge_ct(zc_secp_gej *r, const zc_secp_gej *a, const zc_secp_ge *b)
{
    zc_secp_fe z2, z3, u2, s2, h, rr, hh, hhh, v, t, y1;
    y1 = a->y;
    zc_secp_fe_sqr(&z2, &a->z);
    zc_secp_fe_mul(&z3, &z2, &a->z);
    zc_secp_fe_mul(&u2, &b->x, &z2);
    zc_secp_fe_mul(&s2, &b->y, &z3);
    zc_secp_fe_sub(&h, &u2, &a->x);
    zc_secp_fe_sub(&rr, &s2, &a->y);
    zc_secp_fe_sqr(&hh, &h);
    zc_secp_fe_mul(&hhh, &hh, &h);
    zc_secp_fe_mul(&v, &a->x, &hh);
    zc_secp_fe_mul(&r->z, &a->z, &h);
    zc_secp_fe_sqr(&t, &rr);
    zc_secp_fe_sub(&t, &t, &hhh);
    zc_secp_fe_sub(&t, &t, &v);
    zc_secp_fe_sub(&r->x, &t, &v);
    zc_secp_fe_sub(&t, &v, &r->x);
    zc_secp_fe_mul(&t, &t, &rr);
    zc_secp_fe_mul(&hhh, &hhh, &y1);
    zc_secp_fe_sub(&r->y, &t, &hhh);
    r->inf = 0;
}

/* zc_secp_F_inv_many, F = fe (mod p) or sc (mod n): Montgomery's trick,
 * a[i] = 1 / a[i] for n nonzero elements with one inversion; scratch holds
 * n elements. One body for both types (OpenCL C has no generics). */
#define ZC_SECP_DEFINE_INV_MANY(F)                                                                             \
    ZC_FN void zc_secp_##F##_inv_many(zc_secp_##F *a, zc_secp_##F *scratch, int n)                            \
    {                                                                                                          \
        if (n <= 0)                                                                                            \
            return;                                                                                            \
        scratch[0] = a[0];                                                                                     \
        for (int i = 1; i < n; i++)                                                                            \
            zc_secp_##F##_mul(&scratch[i], &scratch[i - 1], &a[i]);                                            \
        zc_secp_##F inv, t;                                                                                    \
        zc_secp_##F##_inv(&inv, &scratch[n - 1]);                                                              \
        for (int i = n - 1; i > 0; i--) {                                                                      \
            zc_secp_##F##_mul(&t, &inv, &scratch[i - 1]);                                                      \
            zc_secp_##F##_mul(&inv, &inv, &a[i]);                                                              \
            a[i] = t;                                                                                          \
        }                                                                                                      \
        a[0] = inv;                                                                                            \
    }

ZC_SECP_DEFINE_INV_MANY(fe)
ZC_SECP_DEFINE_INV_MANY(sc)

/* Affine from Jacobian given zi = 1 / Z. */
ZC_FN void zc_secp_ge_from_gej_zinv(zc_secp_ge *r, const zc_secp_gej *a, const zc_secp_fe *zi)
{
    zc_secp_fe zi2, zi3;
    zc_secp_fe_sqr(&zi2, zi);
    zc_secp_fe_mul(&zi3, &zi2, zi);
    zc_secp_fe_mul(&r->x, &a->x, &zi2);
    zc_secp_fe_mul(&r->y, &a->y, &zi3);
    zc_secp_fe_normalize(&r->x);
    zc_secp_fe_normalize(&r->y);
}

/* Width-w NAF of a (< 2^(len - 1)) in len digits: digits odd in
 * (-2^(w-1), 2^(w-1)) or 0, at least w - 1 zeros between nonzero ones;
 * returns the digit count used. */
ZC_SECP_NOINLINE int zc_secp_wnaf(int16_t *wnaf, int len, const zc_secp_sc *a, int w)
{
    int bit = 0, carry = 0, used = 0;
    for (int i = 0; i < len; i++)
        wnaf[i] = 0;
    while (bit < len) {
        if ((int)zc_secp_sc_bits(a, bit, 1) == carry) {
            bit++;
            continue;
        }
        int now = w;
        if (now > len - bit)
            now = len - bit;
        int word = (int)zc_secp_sc_bits(a, bit, now) + carry;
        carry = (word >> (w - 1)) & 1;
        word -= carry << w;
        wnaf[bit] = (int16_t)word;
        used = bit + 1;
        bit += now;
    }
    return used;
}

/* GLV split (libsecp256k1's constants): k = r1 + r2 lambda mod n with r1
 * and r2 (or their negations) below 2^128; lambda G = (beta x, y). */
ZC_SECP_NOINLINE void zc_secp_sc_split_lambda(zc_secp_sc *r1, zc_secp_sc *r2, const zc_secp_sc *k)
{
    const uint64_t g1[4] = {0xE893209A45DBB031ull, 0x3DAA8A1471E8CA7Full, 0xE86C90E49284EB15ull, 0x3086D221A7D46BCDull};
    const uint64_t g2[4] = {0x1571B4AE8AC47F71ull, 0x221208AC9DF506C6ull, 0x6F547FA90ABFE4C4ull, 0xE4437ED6010E8828ull};
    const zc_secp_sc minus_b1 = {{0x6F547FA90ABFE4C3ull, 0xE4437ED6010E8828ull, 0, 0}};
    const zc_secp_sc minus_b2 = {{0xD765CDA83DB1562Cull, 0x8A280AC50774346Dull, 0xFFFFFFFFFFFFFFFEull,
                                  0xFFFFFFFFFFFFFFFFull}};
    const zc_secp_sc lambda = {{0xDF02967C1B23BD72ull, 0x122E22EA20816678ull, 0xA5261C028812645Aull,
                                0x5363AD4CC05C30E0ull}};
    uint64_t t[8];
    zc_secp_sc c1, c2;
    /* c = round(k g / 2^384) */
    zc_secp_mul512(t, k->d, g1);
    c1.d[0] = t[6] + (t[5] >> 63);
    c1.d[1] = t[7] + (c1.d[0] < t[6]);
    c1.d[2] = 0;
    c1.d[3] = 0;
    zc_secp_mul512(t, k->d, g2);
    c2.d[0] = t[6] + (t[5] >> 63);
    c2.d[1] = t[7] + (c2.d[0] < t[6]);
    c2.d[2] = 0;
    c2.d[3] = 0;
    zc_secp_sc_mul(&c1, &c1, &minus_b1);
    zc_secp_sc_mul(&c2, &c2, &minus_b2);
    zc_secp_sc_add(r2, &c1, &c2);
    zc_secp_sc_mul(r1, r2, &lambda);
    zc_secp_sc_neg(r1, r1);
    zc_secp_sc_add(r1, r1, k);
}

/* a or -a, whichever is below n / 2; returns the sign taken (1 or -1). */
ZC_FN int zc_secp_sc_abs(zc_secp_sc *a)
{
    if (!zc_secp_sc_is_high(a))
        return 1;
    zc_secp_sc_neg(a, a);
    return -1;
}

/* Affine point i (x limbs then y limbs) of a table in global memory. */
ZC_FN void zc_secp_ge_load(zc_secp_ge *r, const ZC_GLOBAL uint64_t *tab, int i)
{
    const ZC_GLOBAL uint64_t *p = tab + 8 * i;
    zc_secp_fe_set(&r->x, p[0], p[1], p[2], p[3]);
    zc_secp_fe_set(&r->y, p[4], p[5], p[6], p[7]);
}

/* ---- ECDSA verification stages ---- */

/* Inputs of one verification, read and range-checked: 0 when the signature
 * or key is invalid on its face (r or s out of [1, n - 1], high s under
 * low_s, coordinates >= p, key not on the curve). */
ZC_FN int zc_secp_verify_load(const ZC_GLOBAL uint8_t *pk64, const ZC_GLOBAL uint8_t *digest,
                              const ZC_GLOBAL uint8_t *sig, uint32_t low_s, zc_secp_ge *q, zc_secp_sc *z,
                              zc_secp_sc *r, zc_secp_sc *s)
{
    zc_secp_sc t;
    zc_secp_limbs_from_be_global(r->d, sig);
    zc_secp_limbs_from_be_global(s->d, sig + 32);
    if (zc_secp_sc_reduce_once(&t, r) || zc_secp_sc_reduce_once(&t, s) || zc_secp_sc_is_zero(r) ||
        zc_secp_sc_is_zero(s))
        return 0;
    if (low_s && zc_secp_sc_is_high(s))
        return 0;
    zc_secp_limbs_from_be_global(q->x.d, pk64);
    zc_secp_limbs_from_be_global(q->y.d, pk64 + 32);
    if (!zc_secp_fe_is_canonical(&q->x) || !zc_secp_fe_is_canonical(&q->y) || !zc_secp_ge_on_curve(q))
        return 0;
    zc_secp_limbs_from_be_global(t.d, digest);
    zc_secp_sc_reduce_once(z, &t);
    return 1;
}

/* Odd multiples Q, 3Q, ..., (2 ZC_SECP_QTAB - 1) Q in Jacobian form. Never
 * infinity: Q has prime order n. */
ZC_FN void zc_secp_odd_multiples(zc_secp_gej *tab, const zc_secp_ge *q)
{
    zc_secp_gej q2;
    zc_secp_gej_set_ge(&tab[0], q);
    zc_secp_gej_double(&q2, &tab[0]);
    for (int i = 1; i < ZC_SECP_QTAB; i++)
        zc_secp_gej_add_var(&tab[i], &tab[i - 1], &q2);
}

/* acc += d P for a wNAF digit d (odd, nonzero) of the odd-multiple table
 * tab (private), negated for d < 0. */
ZC_FN void zc_secp_add_digit(zc_secp_gej *acc, const zc_secp_ge *tab, int d)
{
    zc_secp_ge p = tab[(d < 0 ? -d : d) >> 1];
    if (d < 0)
        zc_secp_fe_neg(&p.y, &p.y);
    zc_secp_gej_add_ge_var(acc, acc, &p);
}

/* The same from the generator table in global memory; with beta non-NULL
 * the point is lambda P = (beta x, y). */
ZC_FN void zc_secp_add_digit_g(zc_secp_gej *acc, const ZC_GLOBAL uint64_t *gtab, int d, const zc_secp_fe *beta)
{
    zc_secp_ge p;
    zc_secp_ge_load(&p, gtab, (d < 0 ? -d : d) >> 1);
    if (beta)
        zc_secp_fe_mul(&p.x, &p.x, beta);
    if (d < 0)
        zc_secp_fe_neg(&p.y, &p.y);
    zc_secp_gej_add_ge_var(acc, acc, &p);
}

/* x(u1 G + u2 Q) mod n == r without inverting Z: X == r Z^2, or
 * X == (r + n) Z^2 when r + n < p. Both scalars are split with the
 * endomorphism (u = u' + u'' lambda), so the Strauss-Shamir loop runs over
 * 129 bits: four wNAFs over Q, lambda Q, G and lambda G. qtab holds the affine
 * odd multiples of Q; gtab those of G (ZC_SECP_GTAB points). */
ZC_FN int zc_secp_verify_strauss(const zc_secp_sc *u1, const zc_secp_sc *u2, const zc_secp_ge *qtab,
                                 const ZC_GLOBAL uint64_t *gtab, const zc_secp_sc *r)
{
    zc_secp_fe beta;
    zc_secp_fe_set(&beta, 0xC1396C28719501EEull, 0x9CF0497512F58995ull, 0x6E64479EAC3434E9ull, 0x7AE96A2B657C0710ull);
    zc_secp_sc g1, g2, q1, q2;
    zc_secp_sc_split_lambda(&g1, &g2, u1);
    zc_secp_sc_split_lambda(&q1, &q2, u2);
    int sg1 = zc_secp_sc_abs(&g1), sg2 = zc_secp_sc_abs(&g2), sq1 = zc_secp_sc_abs(&q1), sq2 = zc_secp_sc_abs(&q2);
    int16_t wg1[ZC_SECP_WNAF_GLV], wg2[ZC_SECP_WNAF_GLV], wq1[ZC_SECP_WNAF_GLV], wq2[ZC_SECP_WNAF_GLV];
    int top = zc_secp_wnaf(wg1, ZC_SECP_WNAF_GLV, &g1, ZC_SECP_WINDOW_G);
    int used = zc_secp_wnaf(wg2, ZC_SECP_WNAF_GLV, &g2, ZC_SECP_WINDOW_G);
    top = used > top ? used : top;
    used = zc_secp_wnaf(wq1, ZC_SECP_WNAF_GLV, &q1, ZC_SECP_WINDOW_Q);
    top = used > top ? used : top;
    used = zc_secp_wnaf(wq2, ZC_SECP_WNAF_GLV, &q2, ZC_SECP_WINDOW_Q);
    top = used > top ? used : top;
    zc_secp_ge qlam[ZC_SECP_QTAB];
    for (int i = 0; i < ZC_SECP_QTAB; i++) {
        zc_secp_fe_mul(&qlam[i].x, &qtab[i].x, &beta);
        qlam[i].y = qtab[i].y;
    }
    zc_secp_gej acc;
    acc.inf = 1;
    zc_secp_fe_set(&acc.x, 0, 0, 0, 0);
    zc_secp_fe_set(&acc.y, 0, 0, 0, 0);
    zc_secp_fe_set(&acc.z, 0, 0, 0, 0);
    for (int i = top - 1; i >= 0; i--) {
        if (!acc.inf)
            zc_secp_gej_double(&acc, &acc);
        if (wq1[i])
            zc_secp_add_digit(&acc, qtab, sq1 * wq1[i]);
        if (wq2[i])
            zc_secp_add_digit(&acc, qlam, sq2 * wq2[i]);
        if (wg1[i])
            zc_secp_add_digit_g(&acc, gtab, sg1 * wg1[i], 0);
        if (wg2[i])
            zc_secp_add_digit_g(&acc, gtab, sg2 * wg2[i], &beta);
    }
    if (acc.inf)
        return 0;
    zc_secp_fe rz2, z2, rf;
    zc_secp_fe_sqr(&z2, &acc.z);
    zc_secp_fe_set(&rf, r->d[0], r->d[1], r->d[2], r->d[3]);
    zc_secp_fe_mul(&rz2, &rf, &z2);
    if (zc_secp_fe_equal(&rz2, &acc.x))
        return 1;
    /* r + n < p exactly when r < p - n = 14551231950B75FC4402DA1722FC9BAEE */
    const uint64_t pn[4] = {0x402DA1722FC9BAEEull, 0x4551231950B75FC4ull, 1, 0};
    int below = 0;
    for (int i = 3; i >= 0; i--) {
        if (r->d[i] != pn[i]) {
            below = r->d[i] < pn[i];
            break;
        }
    }
    if (!below)
        return 0;
    /* r + n = r - (2^256 - n) + 2^256; as a field element add n's limbs */
    zc_secp_fe nf;
    zc_secp_fe_set(&nf, 0xBFD25E8CD0364141ull, 0xBAAEDCE6AF48A03Bull, 0xFFFFFFFFFFFFFFFEull, 0xFFFFFFFFFFFFFFFFull);
    zc_secp_fe_add(&rf, &rf, &nf);
    zc_secp_fe_mul(&rz2, &rf, &z2);
    return zc_secp_fe_equal(&rz2, &acc.x);
}

/* u1 = z / s, u2 = r / s given w = 1 / s. */
ZC_FN void zc_secp_verify_scalars(const zc_secp_sc *z, const zc_secp_sc *r, const zc_secp_sc *w, zc_secp_sc *u1,
                                  zc_secp_sc *u2)
{
    zc_secp_sc_mul(u1, z, w);
    zc_secp_sc_mul(u2, r, w);
}

/* One whole verification (the device kernels; the cpu backend batches the
 * inversions of many items instead). */
ZC_FN uint8_t zc_secp_verify_one(const ZC_GLOBAL uint8_t *pk64, const ZC_GLOBAL uint8_t *digest,
                                 const ZC_GLOBAL uint8_t *sig, uint32_t low_s, const ZC_GLOBAL uint64_t *gtab)
{
    zc_secp_ge q, qtab[ZC_SECP_QTAB];
    zc_secp_sc z, r, s, w, u1, u2;
    if (!zc_secp_verify_load(pk64, digest, sig, low_s, &q, &z, &r, &s))
        return 0;
    zc_secp_gej tab[ZC_SECP_QTAB];
    zc_secp_fe zs[ZC_SECP_QTAB], scratch[ZC_SECP_QTAB];
    zc_secp_odd_multiples(tab, &q);
    for (int i = 0; i < ZC_SECP_QTAB; i++)
        zs[i] = tab[i].z;
    zc_secp_fe_inv_many(zs, scratch, ZC_SECP_QTAB);
    for (int i = 0; i < ZC_SECP_QTAB; i++)
        zc_secp_ge_from_gej_zinv(&qtab[i], &tab[i], &zs[i]);
    zc_secp_sc_inv(&w, &s);
    zc_secp_verify_scalars(&z, &r, &w, &u1, &u2);
    return (uint8_t)zc_secp_verify_strauss(&u1, &u2, qtab, gtab, &r);
}

/* ---- signing (host; constant time in the key and nonce) ---- */

/* Comb table for k G: 64 windows of 16 affine points, entry [i][j] =
 * j 16^i G + 2^i H for a nothing-up-my-sleeve point H (so no entry is
 * infinity), then the correction -(2^64 - 1) H. */
#define ZC_SECP_COMB_WINDOWS 64
#define ZC_SECP_COMB_POINTS (ZC_SECP_COMB_WINDOWS * 16 + 1)

ZC_FN void zc_secp_sc_cmov(zc_secp_sc *r, const zc_secp_sc *a, uint64_t flag) { zc_secp_limbs_cmov(r->d, a->d, flag); }

/* r = k G with masked scans of the comb table: every entry of a window is
 * read and the wanted one kept, so memory access never depends on k. */
ZC_FN void zc_secp_comb_mul(zc_secp_gej *r, const zc_secp_sc *k, const ZC_GLOBAL uint64_t *comb)
{
    zc_secp_ge p, e;
    for (int i = 0; i < ZC_SECP_COMB_WINDOWS; i++) {
        uint32_t nib = (uint32_t)(k->d[i >> 4] >> (4 * (i & 15))) & 15;
        zc_secp_fe_set(&p.x, 0, 0, 0, 0);
        zc_secp_fe_set(&p.y, 0, 0, 0, 0);
        for (uint32_t j = 0; j < 16; j++) {
            uint64_t hit = (uint64_t)((((j ^ nib) - 1u) >> 31) & 1u);
            zc_secp_ge_load(&e, comb, 16 * i + (int)j);
            zc_secp_fe_cmov(&p.x, &e.x, hit);
            zc_secp_fe_cmov(&p.y, &e.y, hit);
        }
        if (i == 0)
            zc_secp_gej_set_ge(r, &p);
        else
            zc_secp_gej_add_ge_ct(r, r, &p);
    }
    zc_secp_ge_load(&e, comb, 16 * ZC_SECP_COMB_WINDOWS);
    zc_secp_gej_add_ge_ct(r, r, &e);
}

/* HMAC-SHA256 with a 32-byte key: the hash states after the ipad and opad
 * blocks, reused for every message under the key. */
typedef struct zc_secp_hmac {
    uint32_t inner[8], outer[8];
} zc_secp_hmac;

ZC_FN void zc_secp_hmac_key(zc_secp_hmac *m, const uint8_t *key)
{
    uint32_t w[16];
    for (int pass = 0; pass < 2; pass++) {
        uint32_t pad = pass ? 0x5c5c5c5cu : 0x36363636u;
        uint32_t *h = pass ? m->outer : m->inner;
        for (int i = 0; i < 16; i++) {
            uint32_t v = 0;
            if (i < 8)
                v = (uint32_t)key[4 * i] << 24 | (uint32_t)key[4 * i + 1] << 16 | (uint32_t)key[4 * i + 2] << 8 |
                    (uint32_t)key[4 * i + 3];
            w[i] = v ^ pad;
        }
        zc_sha256_init(h);
        zc_sha256_compress(h, w);
    }
}

/* Continues state h (after `done` bytes, a whole number of blocks) over len
 * bytes of msg, then the padding: 0x80, zeros, the 64-bit bit length. */
ZC_FN void zc_secp_sha256_finish(uint32_t *h, uint64_t done, const uint8_t *msg, int len)
{
    uint32_t w[16];
    int fill = 0;
    for (int i = 0; i < 16; i++)
        w[i] = 0;
    for (int i = 0;; i++) {
        if (i > len && fill == 56)
            break;
        uint32_t byte = i < len ? msg[i] : i == len ? 0x80u : 0u;
        w[fill >> 2] |= byte << (24 - 8 * (fill & 3));
        if (++fill == 64) {
            zc_sha256_compress(h, w);
            for (int k = 0; k < 16; k++)
                w[k] = 0;
            fill = 0;
        }
    }
    uint64_t bits = (done + (uint64_t)len) * 8;
    w[14] = (uint32_t)(bits >> 32);
    w[15] = (uint32_t)bits;
    zc_sha256_compress(h, w);
}

ZC_FN void zc_secp_hmac_mac(const zc_secp_hmac *m, const uint8_t *msg, int len, uint8_t *out)
{
    uint32_t h[8], o[8];
    uint8_t ih[32];
    for (int i = 0; i < 8; i++) {
        h[i] = m->inner[i];
        o[i] = m->outer[i];
    }
    zc_secp_sha256_finish(h, 64, msg, len);
    for (int i = 0; i < 8; i++) {
        ih[4 * i] = (uint8_t)(h[i] >> 24);
        ih[4 * i + 1] = (uint8_t)(h[i] >> 16);
        ih[4 * i + 2] = (uint8_t)(h[i] >> 8);
        ih[4 * i + 3] = (uint8_t)h[i];
    }
    zc_secp_sha256_finish(o, 64, ih, 32);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(o[i] >> 24);
        out[4 * i + 1] = (uint8_t)(o[i] >> 16);
        out[4 * i + 2] = (uint8_t)(o[i] >> 8);
        out[4 * i + 3] = (uint8_t)o[i];
    }
}

/* RFC 6979 section 3.2 HMAC-DRBG state (SHA-256, qlen = 256); m is keyed
 * with k. */
typedef struct zc_secp_rfc6979 {
    uint8_t k[32], v[32];
    zc_secp_hmac m;
    int started;
} zc_secp_rfc6979;

/* k = HMAC_k(v || sep [|| x || h]), then v = HMAC_k(v) under the new k. */
ZC_FN void zc_secp_rfc6979_update(zc_secp_rfc6979 *g, uint8_t sep, const uint8_t *x, const uint8_t *h)
{
    uint8_t buf[97];
    int len = 33;
    for (int i = 0; i < 32; i++)
        buf[i] = g->v[i];
    buf[32] = sep;
    if (x) {
        for (int i = 0; i < 32; i++) {
            buf[33 + i] = x[i];
            buf[65 + i] = h[i];
        }
        len = 97;
    }
    zc_secp_hmac_mac(&g->m, buf, len, g->k);
    zc_secp_hmac_key(&g->m, g->k);
    zc_secp_hmac_mac(&g->m, g->v, 32, g->v);
}

/* x: the secret key, h: bits2octets of the digest (digest mod n), both 32 bytes. */
ZC_FN void zc_secp_rfc6979_init(zc_secp_rfc6979 *g, const uint8_t *x, const uint8_t *h)
{
    for (int i = 0; i < 32; i++) {
        g->v[i] = 1;
        g->k[i] = 0;
    }
    zc_secp_hmac_key(&g->m, g->k);
    zc_secp_rfc6979_update(g, 0, x, h);
    zc_secp_rfc6979_update(g, 1, x, h);
    g->started = 0;
}

/* The next candidate nonce T (32 bytes). */
ZC_FN void zc_secp_rfc6979_next(zc_secp_rfc6979 *g, uint8_t *t)
{
    if (g->started)
        zc_secp_rfc6979_update(g, 0, 0, 0);
    zc_secp_hmac_mac(&g->m, g->v, 32, g->v);
    g->started = 1;
    for (int i = 0; i < 32; i++)
        t[i] = g->v[i];
}

/* The next nonce in [1, n - 1]; candidates out of range (probability about
 * 2^-128) are skipped as RFC 6979 prescribes. */
ZC_FN void zc_secp_rfc6979_nonce(zc_secp_rfc6979 *g, zc_secp_sc *k)
{
    uint8_t t[32];
    zc_secp_sc tmp;
    for (;;) {
        zc_secp_rfc6979_next(g, t);
        zc_secp_limbs_from_be(k->d, t);
        if (!zc_secp_sc_reduce_once(&tmp, k) && !zc_secp_sc_is_zero(k))
            return;
    }
}

/* sig = (r, s) from R = k G (Jacobian, zinv = 1 / Z), kinv = 1 / k, secret
 * d and digest scalar z; s normalised to the low half. Returns 0 when r or s
 * is 0 (the caller takes the next nonce). */
ZC_FN int zc_secp_sign_finish(const zc_secp_gej *R, const zc_secp_fe *zinv, const zc_secp_sc *kinv,
                              const zc_secp_sc *d, const zc_secp_sc *z, uint8_t *sig64)
{
    zc_secp_fe zi2, x;
    zc_secp_sc r, s, neg;
    zc_secp_fe_sqr(&zi2, zinv);
    zc_secp_fe_mul(&x, &R->x, &zi2);
    zc_secp_fe_normalize(&x);
    zc_secp_sc xs;
    for (int i = 0; i < 4; i++)
        xs.d[i] = x.d[i];
    zc_secp_sc_reduce_once(&r, &xs);
    zc_secp_sc_mul(&s, &r, d);
    zc_secp_sc_add(&s, &s, z);
    zc_secp_sc_mul(&s, &s, kinv);
    zc_secp_sc_neg(&neg, &s);
    zc_secp_sc_cmov(&s, &neg, (uint64_t)zc_secp_sc_is_high(&s));
    zc_secp_limbs_to_be(sig64, r.d);
    zc_secp_limbs_to_be(sig64 + 32, s.d);
    return !zc_secp_sc_is_zero(&r) && !zc_secp_sc_is_zero(&s);
}

#endif
