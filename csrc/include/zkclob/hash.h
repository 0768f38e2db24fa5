/* zkclob hashes: Poseidon2 over BabyBear and Goldilocks (permutation, sponge,
 * 2-to-1 compression), SHA-256 and Keccak-256 (Ethereum padding), many inputs
 * per call, bit-identical on every backend. The Poseidon2 instances, sponge
 * and compression rules are documented in kernels/poseidon2.h.
 *
 * Field elements are uint32_t (BabyBear) or uint64_t (Goldilocks) and must be
 * canonical (< p): anything else is rejected, never reduced. Every digest is
 * 32 bytes: 8 BabyBear or 4 Goldilocks elements, little-endian. *device
 * selects the device and, on return, names the one that ran the call. A batch
 * of n = 0 inputs is valid and produces nothing. */
#ifndef ZKCLOB_HASH_H
#define ZKCLOB_HASH_H

#include "zkclob/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zc_poseidon2_instance {
    ZC_POSEIDON2_BABYBEAR_16 = 0,      /* Plonky3 default, t=16: zkclob's default */
    ZC_POSEIDON2_BABYBEAR_24 = 1,      /* Plonky3 default, t=24 */
    ZC_POSEIDON2_BABYBEAR_16_HL = 2,   /* HorizenLabs reference, t=16 */
    ZC_POSEIDON2_BABYBEAR_24_HL = 3,   /* HorizenLabs reference, t=24 */
    ZC_POSEIDON2_GOLDILOCKS_8 = 4,     /* Plonky3 default, t=8 */
    ZC_POSEIDON2_GOLDILOCKS_12 = 5,    /* Plonky3 default, t=12 */
    ZC_POSEIDON2_GOLDILOCKS_12_HL = 6, /* HorizenLabs reference, t=12 */
    ZC_POSEIDON2_INSTANCE_COUNT = 7
} zc_poseidon2_instance;

#define ZC_DIGEST_BYTES 32

typedef struct zc_poseidon2_info {
    const char *name;  /* "babybear16", "babybear16_hl", "goldilocks8", ... */
    int goldilocks;    /* elements are uint64_t (1) or uint32_t (0) */
    uint64_t modulus;
    size_t elem_size;  /* bytes per element */
    size_t width;      /* state elements */
    size_t rate;       /* sponge elements absorbed per permutation */
    size_t digest;     /* digest elements (32 bytes) */
} zc_poseidon2_info;

ZC_API zc_status zc_poseidon2_info_get(zc_poseidon2_instance inst, zc_poseidon2_info *out);

/* Permutes n states of `width` elements from `in` into `out` (in == out is allowed). */
ZC_API zc_status zc_poseidon2_permute(int *device, zc_poseidon2_instance inst, const void *in, void *out, size_t n);

/* Sponge digests of n rows of len elements (row-major) into out (n x 32 bytes). */
ZC_API zc_status zc_poseidon2_hash(int *device, zc_poseidon2_instance inst, const void *rows, size_t n, size_t len,
                                   void *out);

/* out[i] = compress(left[i], right[i]) for n pairs of digests. */
ZC_API zc_status zc_poseidon2_compress(int *device, zc_poseidon2_instance inst, const void *left, const void *right,
                                       size_t n, void *out);

/* Message i is data[offsets[i] .. offsets[i + 1]) (n + 1 non-decreasing
 * offsets, the last at most data_len); out receives n x 32 bytes. */
ZC_API zc_status zc_sha256_batch(int *device, const uint8_t *data, size_t data_len, const uint64_t *offsets,
                                 size_t n, uint8_t *out);
ZC_API zc_status zc_keccak256_batch(int *device, const uint8_t *data, size_t data_len, const uint64_t *offsets,
                                    size_t n, uint8_t *out);

#ifdef __cplusplus
}
#endif
#endif
