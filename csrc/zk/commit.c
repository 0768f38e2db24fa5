/* Batch polynomial commitments: the LDE of every column (zc_lde), a
 * Poseidon2 Merkle tree over the rows of the LDE (zc_merkle_build_rows),
 * openings as rows plus a multiproof, and verification on the host. The
 * scheme is documented in zkclob/merkle.h. */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/poseidon2.h"
#include "../core/internal.h"
#include "zkclob/merkle.h"

struct zc_commitment {
    zc_array *lde;
    zc_merkle_tree *tree;
    size_t cols, esz;
};

void zc_commitment_free(zc_commitment *c)
{
    if (!c)
        return;
    zc_array_release(c->lde);
    zc_merkle_free(c->tree);
    free(c);
}

/* The instance hashes elements of the field. */
static zc_status check_instance(zc_poseidon2_instance inst, zc_field field, zc_poseidon2_info *info)
{
    ZC_CHECK(zc_poseidon2_info_get(inst, info));
    if (info->goldilocks != (field == ZC_FIELD_GOLDILOCKS))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "Poseidon2 instance %s does not hash %s elements", info->name,
                      field == ZC_FIELD_GOLDILOCKS ? "Goldilocks" : "BabyBear");
    return ZC_OK;
}

zc_status zc_commit(int *device, const zc_ntt_params *params, uint32_t blowup, zc_poseidon2_instance inst,
                    const void *columns, size_t rows, size_t cols, zc_commitment **out)
{
    if (!device || !params || !columns || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, params, columns and out must not be NULL");
    zc_field_info fi;
    ZC_CHECK(zc_field_info_get(params->field, &fi));
    zc_poseidon2_info info;
    ZC_CHECK(check_instance(inst, params->field, &info));
    if (blowup != 2 && blowup != 4 && blowup != 8)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "blowup must be 2, 4 or 8, got %u", blowup);
    if (cols == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a commitment needs at least one column");
    /* zc_lde checks the rest; these bounds keep the LDE allocation in range. */
    if (rows == 0 || rows > ((size_t)1 << ZC_NTT_MAX_LOG_ROWS) / blowup)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%zu rows with blowup %u must give 1 .. 2^%d LDE rows", rows, blowup,
                      ZC_NTT_MAX_LOG_ROWS);
    if (cols > SIZE_MAX / fi.elem_size / (rows * blowup))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu columns of %zu rows are too many", cols, rows * blowup);

    zc_commitment *c = calloc(1, sizeof *c);
    if (!c)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "commitment descriptor");
    c->cols = cols;
    c->esz = fi.elem_size;
    size_t shape[2] = {rows * blowup, cols};
    zc_status st = zc_array_new(fi.elem_size == 4 ? ZC_DTYPE_U32 : ZC_DTYPE_U64, 2, shape, &c->lde);
    if (st == ZC_OK)
        st = zc_lde(device, params, blowup, columns, zc_array_data(c->lde), rows, cols);
    /* The tree goes on the device that ran the LDE (after any failover). */
    if (st == ZC_OK)
        st = zc_merkle_build_rows(device, inst, zc_array_data(c->lde), rows * blowup, cols, &c->tree);
    if (st != ZC_OK) {
        zc_commitment_free(c);
        return st;
    }
    *out = c;
    return ZC_OK;
}

void zc_commitment_root(const zc_commitment *c, uint8_t out[ZC_DIGEST_BYTES]) { zc_merkle_root(c->tree, out); }

zc_array *zc_commitment_lde(const zc_commitment *c) { return c->lde; }

const zc_merkle_tree *zc_commitment_tree(const zc_commitment *c) { return c->tree; }

zc_status zc_commit_open(const zc_commitment *c, const uint64_t *indices, size_t k, zc_array **rows,
                         zc_array **proof)
{
    if (!c || !rows || !proof)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "commitment, rows and proof must not be NULL");
    zc_array *nodes = NULL, *opened = NULL;
    ZC_CHECK(zc_merkle_multiproof(c->tree, indices, k, &nodes)); /* checks the indices */
    size_t shape[2] = {k, c->cols};
    zc_status st = zc_array_new(zc_array_dtype(c->lde), 2, shape, &opened);
    if (st != ZC_OK) {
        zc_array_release(nodes);
        return st;
    }
    size_t row = c->cols * c->esz;
    const uint8_t *lde = zc_array_data(c->lde);
    uint8_t *dst = zc_array_data(opened);
    for (size_t j = 0; j < k; j++)
        memcpy(dst + j * row, lde + indices[j] * row, row);
    *rows = opened;
    *proof = nodes;
    return ZC_OK;
}

zc_status zc_commit_verify(zc_poseidon2_instance inst, const uint8_t *root, uint64_t lde_rows, size_t cols,
                           const uint64_t *indices, size_t k, const void *rows, const uint8_t *proof,
                           size_t proof_nodes, int *valid)
{
    zc_poseidon2_info info;
    ZC_CHECK(zc_poseidon2_info_get(inst, &info));
    if (!root || !rows || !valid)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "root, rows and valid must not be NULL");
    if (lde_rows == 0 || (lde_rows & (lde_rows - 1)) || lde_rows > (uint64_t)1 << ZC_NTT_MAX_LOG_ROWS)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a commitment has a power of two of LDE rows up to 2^%d, not %llu",
                      ZC_NTT_MAX_LOG_ROWS, (unsigned long long)lde_rows);
    if (cols == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "opened rows need at least one column");
    size_t nodes;
    ZC_CHECK(zc_merkle_proof_size(lde_rows, indices, k, &nodes)); /* checks the indices */
    if (cols > SIZE_MAX / info.elem_size / k)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu rows of %zu columns are too many", k, cols);
    for (size_t i = 0; i < k * cols; i++) {
        uint64_t x = info.goldilocks ? ((const uint64_t *)rows)[i] : ((const uint32_t *)rows)[i];
        if (x >= info.modulus)
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE,
                          "opened row %zu, element %zu = %llu is not reduced mod p = %llu; values are never "
                          "reduced silently",
                          i / cols, i % cols, (unsigned long long)x, (unsigned long long)info.modulus);
    }
    uint8_t *digests = malloc(k * ZC_DIGEST_BYTES);
    if (!digests)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "digests of %zu opened rows", k);
    for (size_t j = 0; j < k; j++)
        zc_p2_hash_global(rows, j, cols, (uint32_t)inst, digests);
    zc_status st = zc_merkle_verify(ZC_MERKLE_HASH_POSEIDON2, inst, root, lde_rows, indices, k, digests, proof,
                                    proof_nodes, valid);
    free(digests);
    return st;
}
