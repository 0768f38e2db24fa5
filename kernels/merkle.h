/* Merkle tree nodes: every node is a 32-byte digest, and the parent of
 * children (l, r) is H(l, r) with the tree's node hash:
 *   ZC_MERKLE_POSEIDON2  Poseidon2 2-to-1 compression of the instance
 *                        (digests are 8 u32 or 4 u64 little-endian lanes)
 *   ZC_MERKLE_SHA256     SHA-256(l || r)
 *   ZC_MERKLE_KECCAK256  Keccak-256(l || r)
 * A level of odd length gets the all-zero digest as the right sibling of its
 * last node. Level k + 1 of a tree is computed from level k in one launch of
 * n_out = ceil(n_in / 2) work items. */
#ifndef ZC_MERKLE_H
#define ZC_MERKLE_H

#include "keccak.h"
#include "poseidon2.h"
#include "sha256.h"

#define ZC_MERKLE_POSEIDON2 0
#define ZC_MERKLE_SHA256 1
#define ZC_MERKLE_KECCAK256 2
#define ZC_MERKLE_DIGEST_BYTES 32

ZC_FN uint32_t zc_merkle_bswap32(uint32_t x)
{
    return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}

/* Node i of the level above `in` (n_in digests), written to out + 32 i. */
ZC_FN void zc_merkle_node(const ZC_GLOBAL uint8_t *in, uint64_t n_in, uint64_t i, ZC_GLOBAL uint8_t *out,
                          uint32_t kind, uint32_t inst)
{
    /* Both children as 16 little-endian words (every target is little-endian);
     * digests are 4-byte aligned. */
    const ZC_GLOBAL uint32_t *src = (const ZC_GLOBAL uint32_t *)in + 16 * i;
    uint32_t rwords = 2 * i + 1 < n_in ? 16 : 8;
    uint32_t w[16];
    for (uint32_t j = 0; j < 16; j++)
        w[j] = j < rwords ? src[j] : 0;
    ZC_GLOBAL uint32_t *dst = (ZC_GLOBAL uint32_t *)out + 8 * i;
    if (kind == ZC_MERKLE_POSEIDON2) {
        zc_p2_compress_words(w, w + 8, inst);
        for (uint32_t j = 0; j < 8; j++)
            dst[j] = w[j];
    } else if (kind == ZC_MERKLE_SHA256) {
        uint32_t h[8];
        for (uint32_t j = 0; j < 16; j++)
            w[j] = zc_merkle_bswap32(w[j]);
        zc_sha256_64(w, h);
        for (uint32_t j = 0; j < 8; j++)
            dst[j] = zc_merkle_bswap32(h[j]);
    } else {
        uint64_t lanes[8], a[25];
        for (uint32_t j = 0; j < 8; j++)
            lanes[j] = (uint64_t)w[2 * j] | (uint64_t)w[2 * j + 1] << 32;
        zc_keccak256_64(lanes, a);
        for (uint32_t j = 0; j < 4; j++) {
            dst[2 * j] = (uint32_t)a[j];
            dst[2 * j + 1] = (uint32_t)(a[j] >> 32);
        }
    }
}

#endif
