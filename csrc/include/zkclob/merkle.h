/* zkclob Merkle trees over 32-byte digests, built level by level on any
 * backend (bit-identical roots everywhere).
 *
 * Leaves are rows of field elements hashed with the Poseidon2 sponge (nodes:
 * Poseidon2 2-to-1 compression of the same instance) or byte strings hashed
 * with SHA-256 or Keccak-256 (nodes: H(left || right)). There is no domain
 * separation between leaves and nodes; verifiers fix the tree size, so every
 * proof has a fixed shape.
 *
 * Shape: level 0 holds the n leaf digests, level k + 1 holds ceil(m / 2)
 * parents of the m nodes of level k, up to the root at level depth =
 * ceil(log2 n). A level of odd length gets the all-zero digest as the right
 * sibling of its last node (so any n >= 1 works, with no padding leaves).
 *
 * Proofs. A single proof of leaf i is the depth sibling digests from level 0
 * up (zero digests where the sibling is padding). A multiproof of a set of
 * leaves (strictly increasing indices) is the list of sibling digests that
 * cannot be computed from the opened leaves, in level order, and within a
 * level by increasing index; a single proof is the multiproof of one leaf.
 * Walking the levels, an opened node whose sibling is also opened (or computed)
 * takes no proof node; every other opened node takes its sibling's digest,
 * padding included.
 *
 * A tree is not safe for an update concurrent with other calls on it. */
#ifndef ZKCLOB_MERKLE_H
#define ZKCLOB_MERKLE_H

#include "zkclob/core.h"
#include "zkclob/hash.h"
#include "zkclob/mem.h"
#include "zkclob/zk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zc_merkle_hash {
    ZC_MERKLE_HASH_POSEIDON2 = 0,
    ZC_MERKLE_HASH_SHA256 = 1,
    ZC_MERKLE_HASH_KECCAK256 = 2
} zc_merkle_hash;

/* Deepest tree: 2^48 leaves (far beyond memory; keeps sizes in range). */
#define ZC_MERKLE_MAX_DEPTH 48

typedef struct zc_merkle_tree zc_merkle_tree;

/* A Poseidon2 tree over n >= 1 rows of len elements of instance inst. */
ZC_API zc_status zc_merkle_build_rows(int *device, zc_poseidon2_instance inst, const void *rows, size_t n,
                                      size_t len, zc_merkle_tree **out);
/* A SHA-256 or Keccak-256 tree over n >= 1 byte strings (layout of zc_sha256_batch). */
ZC_API zc_status zc_merkle_build_bytes(int *device, zc_merkle_hash hash, const uint8_t *data, size_t data_len,
                                       const uint64_t *offsets, size_t n, zc_merkle_tree **out);
ZC_API void zc_merkle_free(zc_merkle_tree *t);

ZC_API zc_merkle_hash zc_merkle_hash_kind(const zc_merkle_tree *t);
/* The Poseidon2 instance of a Poseidon2 tree. */
ZC_API zc_poseidon2_instance zc_merkle_instance(const zc_merkle_tree *t);
/* Elements per leaf row of a Poseidon2 tree, 0 for byte-string trees. */
ZC_API size_t zc_merkle_row_len(const zc_merkle_tree *t);
ZC_API uint64_t zc_merkle_num_leaves(const zc_merkle_tree *t);
ZC_API unsigned zc_merkle_depth(const zc_merkle_tree *t);
ZC_API void zc_merkle_root(const zc_merkle_tree *t, uint8_t out[ZC_DIGEST_BYTES]);
/* Every node digest as one uint8 array of shape (nodes, 32): level 0 first,
 * the root last. The tree owns it (zc_array_retain to keep it longer); an
 * update changes it in place. */
ZC_API zc_array *zc_merkle_nodes(const zc_merkle_tree *t);
/* First node and node count of a level (0 .. depth). */
ZC_API size_t zc_merkle_level_offset(const zc_merkle_tree *t, unsigned level);
ZC_API size_t zc_merkle_level_size(const zc_merkle_tree *t, unsigned level);

/* The depth x 32 bytes proof of leaf `index`. */
ZC_API zc_status zc_merkle_proof(const zc_merkle_tree *t, uint64_t index, uint8_t *out);
/* The multiproof of k >= 1 strictly increasing leaf indices, as a new
 * (nodes, 32) uint8 array. */
ZC_API zc_status zc_merkle_multiproof(const zc_merkle_tree *t, const uint64_t *indices, size_t k, zc_array **out);
/* Proof nodes a multiproof of these indices has in a tree of num_leaves
 * leaves; checks the indices as zc_merkle_multiproof does. */
ZC_API zc_status zc_merkle_proof_size(uint64_t num_leaves, const uint64_t *indices, size_t k, size_t *nodes);

/* Replaces k leaves (strictly increasing indices; k = 0 does nothing) and
 * recomputes only the nodes above them, level by level. On error the tree is
 * unchanged. Rows must have the tree's row length. */
ZC_API zc_status zc_merkle_update_rows(int *device, zc_merkle_tree *t, const uint64_t *indices, size_t k,
                                       const void *rows);
ZC_API zc_status zc_merkle_update_bytes(int *device, zc_merkle_tree *t, const uint64_t *indices, size_t k,
                                        const uint8_t *data, size_t data_len, const uint64_t *offsets);

/* Checks a (multi)proof on the host: k >= 1 strictly increasing indices below
 * num_leaves, their leaf digests (k x 32 bytes), and proof_nodes x 32 bytes of
 * proof. *valid is 1 when the proof leads to root, else 0 (a tampered proof).
 * Malformed input (bad indices, a proof of the wrong length, leaf digests not
 * reduced mod p) is an error. inst is used by Poseidon2 trees only. */
ZC_API zc_status zc_merkle_verify(zc_merkle_hash hash, zc_poseidon2_instance inst, const uint8_t *root,
                                  uint64_t num_leaves, const uint64_t *indices, size_t k, const uint8_t *leaf_digests,
                                  const uint8_t *proof, size_t proof_nodes, int *valid);

/* ==== Batch polynomial commitments ==========================================
 *
 * zc_commit commits to the cols columns of a rows x cols matrix of canonical
 * field elements (evaluations on H, as zc_lde takes them): the low-degree
 * extension of every column (zc_lde with params and blowup: rows * blowup
 * rows on the coset s H' or on H'), then a Poseidon2 tree of instance inst
 * (of the same field) whose leaf i is the sponge digest of LDE row i. The
 * commitment keeps the LDE matrix and the tree as prover data.
 *
 * An opening of leaf indices (strictly increasing, below rows * blowup) is
 * those LDE rows and their tree's multiproof. zc_commit_verify checks one on
 * the host from the root alone. */
typedef struct zc_commitment zc_commitment;

ZC_API zc_status zc_commit(int *device, const zc_ntt_params *params, uint32_t blowup, zc_poseidon2_instance inst,
                           const void *columns, size_t rows, size_t cols, zc_commitment **out);
ZC_API void zc_commitment_free(zc_commitment *c);
ZC_API void zc_commitment_root(const zc_commitment *c, uint8_t out[ZC_DIGEST_BYTES]);
/* The LDE matrix, (rows * blowup, cols) uint32 or uint64, and the tree; the
 * commitment owns both (zc_array_retain to keep the matrix longer). */
ZC_API zc_array *zc_commitment_lde(const zc_commitment *c);
ZC_API const zc_merkle_tree *zc_commitment_tree(const zc_commitment *c);

/* The k LDE rows at strictly increasing indices, as a new (k, cols) array,
 * and their multiproof, as a new (nodes, 32) uint8 array. */
ZC_API zc_status zc_commit_open(const zc_commitment *c, const uint64_t *indices, size_t k, zc_array **rows,
                                zc_array **proof);

/* Checks an opening against root: k >= 1 strictly increasing indices below
 * lde_rows (a power of two), the k x cols opened rows (elements of inst's
 * field) and proof_nodes x 32 bytes of proof. *valid is 1 when it leads to
 * root, else 0 (tampered rows or proof, rows opened at other indices).
 * Malformed input (bad indices, a proof of the wrong length, elements not
 * reduced mod p) is an error. */
ZC_API zc_status zc_commit_verify(zc_poseidon2_instance inst, const uint8_t *root, uint64_t lde_rows, size_t cols,
                                  const uint64_t *indices, size_t k, const void *rows, const uint8_t *proof,
                                  size_t proof_nodes, int *valid);

#ifdef __cplusplus
}
#endif
#endif
