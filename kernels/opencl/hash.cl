#include "merkle.h"

/* Entry points of poseidon2.h, sha256.h, keccak.h and merkle.h: one work item
 * per state, row, message or node. The host rounds launches up (see
 * zc_hash_launch_size), so items past the count return at once. */

ZC_KERNEL void zc_p2_permute(ZC_GLOBAL uint8_t *states, uint64_t n, uint32_t inst)
{
    uint64_t i = ZC_GID(0);
    if (i < n)
        zc_p2_permute_global(states, i, inst);
}

ZC_KERNEL void zc_p2_hash(ZC_GLOBAL const uint8_t *rows, uint64_t n, uint64_t len, uint32_t inst,
                          ZC_GLOBAL uint8_t *out)
{
    uint64_t i = ZC_GID(0);
    if (i < n)
        zc_p2_hash_global(rows, i, len, inst, out);
}

ZC_KERNEL void zc_sha256_batch(ZC_GLOBAL const uint8_t *data, ZC_GLOBAL const uint64_t *offsets, uint64_t n,
                               ZC_GLOBAL uint8_t *out)
{
    uint64_t i = ZC_GID(0);
    if (i < n)
        zc_sha256_global(data + offsets[i], offsets[i + 1] - offsets[i], out + 32 * i);
}

ZC_KERNEL void zc_keccak256_batch(ZC_GLOBAL const uint8_t *data, ZC_GLOBAL const uint64_t *offsets, uint64_t n,
                                  ZC_GLOBAL uint8_t *out)
{
    uint64_t i = ZC_GID(0);
    if (i < n)
        zc_keccak256_global(data + offsets[i], offsets[i + 1] - offsets[i], out + 32 * i);
}

ZC_KERNEL void zc_merkle_nodes(ZC_GLOBAL const uint8_t *in, uint64_t n_in, ZC_GLOBAL uint8_t *out, uint64_t n_out,
                               uint32_t kind, uint32_t inst)
{
    uint64_t i = ZC_GID(0);
    if (i < n_out)
        zc_merkle_node(in, n_in, i, out, kind, inst);
}
