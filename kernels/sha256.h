/* SHA-256 (FIPS 180-4), single-source: one message per work item. */
#ifndef ZC_SHA256_H
#define ZC_SHA256_H

#include "zc_kernel.h"

#if defined(ZC_TARGET_CUDA)
/* nvcc's host pass sees the __constant__ table read in __host__ __device__
 * functions; only device code ever runs them. */
#pragma nv_diag_suppress 20091
#endif

ZC_CONSTANT uint32_t zc_sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

ZC_FN uint32_t zc_sha256_rotr(uint32_t x, uint32_t n) { return (x >> n) | (x << (32 - n)); }

ZC_FN void zc_sha256_init(uint32_t *h)
{
    h[0] = 0x6a09e667u; h[1] = 0xbb67ae85u; h[2] = 0x3c6ef372u; h[3] = 0xa54ff53au;
    h[4] = 0x510e527fu; h[5] = 0x9b05688cu; h[6] = 0x1f83d9abu; h[7] = 0x5be0cd19u;
}

/* One 64-byte block given as 16 big-endian words; w is used as the rolling
 * message schedule and left clobbered. */
ZC_FN void zc_sha256_compress(uint32_t *h, uint32_t *w)
{
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (uint32_t t = 0; t < 64; t++) {
        if (t >= 16) {
            uint32_t w15 = w[(t + 1) & 15], w2 = w[(t + 14) & 15];
            uint32_t s0 = zc_sha256_rotr(w15, 7) ^ zc_sha256_rotr(w15, 18) ^ (w15 >> 3);
            uint32_t s1 = zc_sha256_rotr(w2, 17) ^ zc_sha256_rotr(w2, 19) ^ (w2 >> 10);
            w[t & 15] += s0 + w[(t + 9) & 15] + s1;
        }
        uint32_t t1 = k + (zc_sha256_rotr(e, 6) ^ zc_sha256_rotr(e, 11) ^ zc_sha256_rotr(e, 25)) +
                      ((e & f) ^ (~e & g)) + zc_sha256_k[t] + w[t & 15];
        uint32_t t2 = (zc_sha256_rotr(a, 2) ^ zc_sha256_rotr(a, 13) ^ zc_sha256_rotr(a, 22)) +
                      ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

ZC_FN uint32_t zc_sha256_load_be32(const ZC_GLOBAL uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Padding of a message whose last `rem` (< 64) bytes are `tail` and whose
 * length is `len` bytes: one or two final blocks. */
ZC_FN void zc_sha256_final(uint32_t *h, const ZC_GLOBAL uint8_t *tail, uint32_t rem, uint64_t len)
{
    uint32_t w[16];
    for (uint32_t i = 0; i < 16; i++)
        w[i] = 0;
    for (uint32_t i = 0; i < rem; i++)
        w[i >> 2] |= (uint32_t)tail[i] << (24 - 8 * (i & 3));
    w[rem >> 2] |= 0x80u << (24 - 8 * (rem & 3));
    if (rem >= 56) { /* no room for the length: it goes in a block of its own */
        zc_sha256_compress(h, w);
        for (uint32_t i = 0; i < 16; i++)
            w[i] = 0;
    }
    w[14] = (uint32_t)(len >> 29);
    w[15] = (uint32_t)(len << 3);
    zc_sha256_compress(h, w);
}

ZC_FN void zc_sha256_store(const uint32_t *h, ZC_GLOBAL uint8_t *out)
{
    for (uint32_t i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* Digest of the len bytes at m, written to out[0..32). */
ZC_FN void zc_sha256_global(const ZC_GLOBAL uint8_t *m, uint64_t len, ZC_GLOBAL uint8_t *out)
{
    uint32_t h[8], w[16];
    zc_sha256_init(h);
    uint64_t full = len / 64;
    for (uint64_t b = 0; b < full; b++) {
        for (uint32_t i = 0; i < 16; i++)
            w[i] = zc_sha256_load_be32(m + 64 * b + 4 * i);
        zc_sha256_compress(h, w);
    }
    zc_sha256_final(h, m + 64 * full, (uint32_t)(len - 64 * full), len);
    zc_sha256_store(h, out);
}

/* Digest of a 64-byte message given as 16 big-endian words (a Merkle node:
 * left || right); w is clobbered. */
ZC_FN void zc_sha256_64(uint32_t *w, uint32_t *h)
{
    zc_sha256_init(h);
    zc_sha256_compress(h, w);
    for (uint32_t i = 0; i < 16; i++)
        w[i] = 0;
    w[0] = 0x80000000u;
    w[15] = 512;
    zc_sha256_compress(h, w);
}

#if defined(ZC_TARGET_CUDA)
#pragma nv_diag_default 20091
#endif

#endif
