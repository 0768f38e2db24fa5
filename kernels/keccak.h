/* Keccak-256 as Ethereum uses it: Keccak-f[1600], rate 136 bytes, original
 * Keccak padding (0x01 ... 0x80), not FIPS-202 SHA3-256 (0x06). Single-source:
 * one message per work item. */
#ifndef ZC_KECCAK_H
#define ZC_KECCAK_H

#include "zc_kernel.h"

#if defined(ZC_TARGET_CUDA)
/* nvcc's host pass sees the __constant__ tables read in __host__ __device__
 * functions; only device code ever runs them. */
#pragma nv_diag_suppress 20091
#endif

#define ZC_KECCAK256_RATE 136

ZC_CONSTANT uint64_t zc_keccak_rc[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

ZC_FN uint64_t zc_keccak_rotl(uint64_t x, uint32_t n) { return (x << n) | (x >> (64 - n)); }

/* Written out lane by lane: loops over lane indices with tables and "mod 5"
 * run several times slower. */
ZC_FN void zc_keccak_f1600(uint64_t *a)
{
    for (uint32_t round = 0; round < 24; round++) {
        /* theta */
        uint64_t c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20], c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
        uint64_t c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22], c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
        uint64_t c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
        uint64_t d0 = c4 ^ zc_keccak_rotl(c1, 1), d1 = c0 ^ zc_keccak_rotl(c2, 1), d2 = c1 ^ zc_keccak_rotl(c3, 1);
        uint64_t d3 = c2 ^ zc_keccak_rotl(c4, 1), d4 = c3 ^ zc_keccak_rotl(c0, 1);
        for (uint32_t y = 0; y < 25; y += 5) {
            a[y] ^= d0;
            a[y + 1] ^= d1;
            a[y + 2] ^= d2;
            a[y + 3] ^= d3;
            a[y + 4] ^= d4;
        }
        /* rho and pi: lane (x, y) rotates into (y, 2x + 3y) */
        uint64_t b[25];
        b[0] = a[0]; b[1] = zc_keccak_rotl(a[6], 44); b[2] = zc_keccak_rotl(a[12], 43);
        b[3] = zc_keccak_rotl(a[18], 21); b[4] = zc_keccak_rotl(a[24], 14); b[5] = zc_keccak_rotl(a[3], 28);
        b[6] = zc_keccak_rotl(a[9], 20); b[7] = zc_keccak_rotl(a[10], 3); b[8] = zc_keccak_rotl(a[16], 45);
        b[9] = zc_keccak_rotl(a[22], 61); b[10] = zc_keccak_rotl(a[1], 1); b[11] = zc_keccak_rotl(a[7], 6);
        b[12] = zc_keccak_rotl(a[13], 25); b[13] = zc_keccak_rotl(a[19], 8); b[14] = zc_keccak_rotl(a[20], 18);
        b[15] = zc_keccak_rotl(a[4], 27); b[16] = zc_keccak_rotl(a[5], 36); b[17] = zc_keccak_rotl(a[11], 10);
        b[18] = zc_keccak_rotl(a[17], 15); b[19] = zc_keccak_rotl(a[23], 56); b[20] = zc_keccak_rotl(a[2], 62);
        b[21] = zc_keccak_rotl(a[8], 55); b[22] = zc_keccak_rotl(a[14], 39); b[23] = zc_keccak_rotl(a[15], 41);
        b[24] = zc_keccak_rotl(a[21], 2);
        /* chi */
        for (uint32_t y = 0; y < 25; y += 5) {
            a[y] = b[y] ^ (~b[y + 1] & b[y + 2]);
            a[y + 1] = b[y + 1] ^ (~b[y + 2] & b[y + 3]);
            a[y + 2] = b[y + 2] ^ (~b[y + 3] & b[y + 4]);
            a[y + 3] = b[y + 3] ^ (~b[y + 4] & b[y]);
            a[y + 4] = b[y + 4] ^ (~b[y] & b[y + 1]);
        }
        /* iota */
        a[0] ^= zc_keccak_rc[round];
    }
}

ZC_FN uint64_t zc_keccak_load_le64(const ZC_GLOBAL uint8_t *p)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

ZC_FN void zc_keccak256_store(const uint64_t *a, ZC_GLOBAL uint8_t *out)
{
    for (uint32_t i = 0; i < 32; i++)
        out[i] = (uint8_t)(a[i >> 3] >> (8 * (i & 7)));
}

/* Digest of the len bytes at m, written to out[0..32). */
ZC_FN void zc_keccak256_global(const ZC_GLOBAL uint8_t *m, uint64_t len, ZC_GLOBAL uint8_t *out)
{
    uint64_t a[25];
    for (uint32_t i = 0; i < 25; i++)
        a[i] = 0;
    for (; len >= ZC_KECCAK256_RATE; len -= ZC_KECCAK256_RATE, m += ZC_KECCAK256_RATE) {
        for (uint32_t i = 0; i < ZC_KECCAK256_RATE / 8; i++)
            a[i] ^= zc_keccak_load_le64(m + 8 * i);
        zc_keccak_f1600(a);
    }
    uint32_t rem = (uint32_t)len;
    for (uint32_t i = 0; i < rem; i++)
        a[i >> 3] ^= (uint64_t)m[i] << (8 * (i & 7));
    a[rem >> 3] ^= 0x01ull << (8 * (rem & 7));
    a[ZC_KECCAK256_RATE / 8 - 1] ^= 0x80ull << 56;
    zc_keccak_f1600(a);
    zc_keccak256_store(a, out);
}

/* Digest of a 64-byte message given as 8 little-endian lanes (a Merkle node:
 * left || right); the 25-lane state a is the result's scratch. */
ZC_FN void zc_keccak256_64(const uint64_t *lanes, uint64_t *a)
{
    for (uint32_t i = 0; i < 25; i++)
        a[i] = i < 8 ? lanes[i] : 0;
    a[8] = 0x01;
    a[ZC_KECCAK256_RATE / 8 - 1] ^= 0x80ull << 56;
    zc_keccak_f1600(a);
}

#if defined(ZC_TARGET_CUDA)
#pragma nv_diag_default 20091
#endif

#endif
