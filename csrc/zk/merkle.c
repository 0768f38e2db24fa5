/* Merkle trees: construction level by level on a device, proofs and
 * multiproofs, verification on the host, and incremental updates that
 * recompute only the paths above the changed leaves, one launch per level.
 * Shape and proof encoding are documented in zkclob/merkle.h. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../../kernels/merkle.h"
#include "hash_internal.h"
#include "zkclob/merkle.h"

#define DIGEST ZC_DIGEST_BYTES

struct zc_merkle_tree {
    zc_merkle_hash hash;
    zc_poseidon2_instance inst;
    size_t row_len; /* Poseidon2 trees; 0 for byte strings */
    uint64_t n;
    unsigned depth;
    size_t offset[ZC_MERKLE_MAX_DEPTH + 2]; /* level k is nodes [offset[k], offset[k + 1]) */
    zc_array *nodes;
};

static uint64_t level_size(uint64_t n, unsigned level) { return (n + ((uint64_t)1 << level) - 1) >> level; }

static uint8_t *node_ptr(const zc_merkle_tree *t, unsigned level, uint64_t i)
{
    return (uint8_t *)zc_array_data(t->nodes) + (t->offset[level] + i) * DIGEST;
}

/* Node i of a level, or the zero digest past its end. */
static void node_or_zero(const zc_merkle_tree *t, unsigned level, uint64_t i, uint8_t *out)
{
    if (i < level_size(t->n, level))
        memcpy(out, node_ptr(t, level, i), DIGEST);
    else
        memset(out, 0, DIGEST);
}

static zc_status tree_new(const zc_hash_input *in, zc_merkle_tree **out)
{
    if (in->n == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a Merkle tree needs at least one leaf");
    if (in->n > (uint64_t)1 << ZC_MERKLE_MAX_DEPTH)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu leaves exceed the 2^%d a tree can hold", in->n,
                      ZC_MERKLE_MAX_DEPTH);
    zc_merkle_tree *t = calloc(1, sizeof *t);
    if (!t)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "Merkle tree descriptor");
    t->hash = in->hash;
    t->inst = in->inst;
    t->row_len = in->hash == ZC_MERKLE_HASH_POSEIDON2 ? in->len : 0;
    t->n = in->n;
    while (((uint64_t)1 << t->depth) < t->n)
        t->depth++;
    for (unsigned k = 0; k <= t->depth; k++)
        t->offset[k + 1] = t->offset[k] + (size_t)level_size(t->n, k);
    size_t shape[2] = {t->offset[t->depth + 1], DIGEST};
    zc_status st = zc_array_new(ZC_DTYPE_U8, 2, shape, &t->nodes);
    if (st != ZC_OK) {
        free(t);
        return st;
    }
    *out = t;
    return ZC_OK;
}

void zc_merkle_free(zc_merkle_tree *t)
{
    if (!t)
        return;
    zc_array_release(t->nodes);
    free(t);
}

/* ---- construction ---- */

typedef struct build_job {
    zc_merkle_tree *t;
    const zc_hash_input *in;
} build_job;

/* Leaf digests, then each level from the one below, which stays on the
 * device between launches. */
static zc_status build_op(int dev, void *user)
{
    const build_job *job = user;
    zc_merkle_tree *t = job->t;
    zc_devbuf *level = NULL;
    zc_status st = zc_hash_input_digest(dev, job->in, node_ptr(t, 0, 0), &level);
    for (unsigned k = 0; st == ZC_OK && k < t->depth; k++) {
        uint64_t n_out = level_size(t->n, k + 1);
        uint8_t *host = node_ptr(t, k + 1, 0);
        zc_devbuf *next = NULL;
        st = zc_buf_for_host(dev, host, n_out * DIGEST, 0, &next);
        if (st == ZC_OK)
            st = zc_merkle_level_launch(dev, t->hash, t->inst, level, level_size(t->n, k), next, n_out);
        if (st == ZC_OK && !zc_buf_host_ptr(next))
            st = zc_buf_read(next, 0, host, n_out * DIGEST);
        zc_buf_free(level);
        level = next;
    }
    zc_buf_free(level);
    return st;
}

static zc_status build(int *device, const zc_hash_input *in, zc_merkle_tree **out)
{
    if (!device || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device and out must not be NULL");
    ZC_CHECK(zc_hash_input_check(in));
    zc_merkle_tree *t = NULL;
    ZC_CHECK(tree_new(in, &t));
    build_job job = {t, in};
    zc_status st = zc_run(device, "merkle_build", build_op, &job);
    if (st != ZC_OK) {
        zc_merkle_free(t);
        return st;
    }
    *out = t;
    return ZC_OK;
}

zc_status zc_merkle_build_rows(int *device, zc_poseidon2_instance inst, const void *rows, size_t n, size_t len,
                               zc_merkle_tree **out)
{
    zc_hash_input in = {.hash = ZC_MERKLE_HASH_POSEIDON2, .inst = inst, .rows = rows, .len = len, .n = n};
    return build(device, &in, out);
}

zc_status zc_merkle_build_bytes(int *device, zc_merkle_hash hash, const uint8_t *data, size_t data_len,
                                const uint64_t *offsets, size_t n, zc_merkle_tree **out)
{
    if (hash != ZC_MERKLE_HASH_SHA256 && hash != ZC_MERKLE_HASH_KECCAK256)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "byte-string leaves take SHA-256 or Keccak-256 trees, not hash %d",
                      (int)hash);
    zc_hash_input in = {.hash = hash, .data = data, .data_len = data_len, .offsets = offsets, .n = n};
    return build(device, &in, out);
}

/* ---- accessors ---- */

zc_merkle_hash zc_merkle_hash_kind(const zc_merkle_tree *t) { return t->hash; }

zc_poseidon2_instance zc_merkle_instance(const zc_merkle_tree *t) { return t->inst; }

size_t zc_merkle_row_len(const zc_merkle_tree *t) { return t->row_len; }

uint64_t zc_merkle_num_leaves(const zc_merkle_tree *t) { return t->n; }

unsigned zc_merkle_depth(const zc_merkle_tree *t) { return t->depth; }

void zc_merkle_root(const zc_merkle_tree *t, uint8_t out[ZC_DIGEST_BYTES])
{
    memcpy(out, node_ptr(t, t->depth, 0), DIGEST);
}

zc_array *zc_merkle_nodes(const zc_merkle_tree *t) { return t->nodes; }

size_t zc_merkle_level_offset(const zc_merkle_tree *t, unsigned level)
{
    return level <= t->depth ? t->offset[level] : 0;
}

size_t zc_merkle_level_size(const zc_merkle_tree *t, unsigned level)
{
    return level <= t->depth ? (size_t)level_size(t->n, level) : 0;
}

/* ---- proofs ---- */

static zc_status check_indices(uint64_t n, const uint64_t *indices, size_t k)
{
    if (k == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "no leaf indices given");
    if (!indices)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "indices must not be NULL");
    for (size_t j = 0; j < k; j++) {
        if (indices[j] >= n)
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "leaf index %llu is out of range for a tree of %llu leaves",
                          (unsigned long long)indices[j], (unsigned long long)n);
        if (j && indices[j] <= indices[j - 1])
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                          "leaf indices must be strictly increasing: index %zu (%llu) follows %llu", j,
                          (unsigned long long)indices[j], (unsigned long long)indices[j - 1]);
    }
    return ZC_OK;
}

static unsigned depth_of(uint64_t n)
{
    unsigned d = 0;
    while (((uint64_t)1 << d) < n)
        d++;
    return d;
}

/* The multiproof walk over the m opened nodes idx (overwritten): counts the
 * proof nodes and, with t given, writes them to out. */
static size_t multiproof_walk(const zc_merkle_tree *t, unsigned depth, uint64_t *idx, size_t m, uint8_t *out)
{
    size_t count = 0;
    for (unsigned k = 0; k < depth; k++) {
        size_t parents = 0;
        for (size_t j = 0; j < m; j++) {
            uint64_t i = idx[j];
            if ((i & 1) == 0 && j + 1 < m && idx[j + 1] == i + 1) {
                j++; /* the sibling is opened too */
            } else {
                if (t)
                    node_or_zero(t, k, i ^ 1, out + count * DIGEST);
                count++;
            }
            idx[parents++] = i >> 1; /* parents <= j: never overwrites an unread index */
        }
        m = parents;
    }
    return count;
}

zc_status zc_merkle_proof_size(uint64_t num_leaves, const uint64_t *indices, size_t k, size_t *nodes)
{
    if (!nodes)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "nodes must not be NULL");
    if (num_leaves == 0 || num_leaves > (uint64_t)1 << ZC_MERKLE_MAX_DEPTH)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a tree has 1 .. 2^%d leaves, not %llu", ZC_MERKLE_MAX_DEPTH,
                      (unsigned long long)num_leaves);
    ZC_CHECK(check_indices(num_leaves, indices, k));
    uint64_t *idx = malloc(k * sizeof *idx);
    if (!idx)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu indices", k);
    memcpy(idx, indices, k * sizeof *idx);
    *nodes = multiproof_walk(NULL, depth_of(num_leaves), idx, k, NULL);
    free(idx);
    return ZC_OK;
}

zc_status zc_merkle_proof(const zc_merkle_tree *t, uint64_t index, uint8_t *out)
{
    if (!t || (!out && t->depth))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tree and out must not be NULL");
    if (index >= t->n)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "leaf index %llu is out of range for a tree of %llu leaves",
                      (unsigned long long)index, (unsigned long long)t->n);
    for (unsigned k = 0; k < t->depth; k++, index >>= 1)
        node_or_zero(t, k, index ^ 1, out + k * DIGEST);
    return ZC_OK;
}

zc_status zc_merkle_multiproof(const zc_merkle_tree *t, const uint64_t *indices, size_t k, zc_array **out)
{
    if (!t || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tree and out must not be NULL");
    size_t count;
    ZC_CHECK(zc_merkle_proof_size(t->n, indices, k, &count));
    uint64_t *idx = malloc(k * sizeof *idx);
    if (!idx)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu indices", k);
    size_t shape[2] = {count, DIGEST};
    zc_status st = zc_array_new(ZC_DTYPE_U8, 2, shape, out);
    if (st == ZC_OK) {
        memcpy(idx, indices, k * sizeof *idx);
        multiproof_walk(t, t->depth, idx, k, zc_array_data(*out));
    }
    free(idx);
    return st;
}

/* ---- verification ---- */

/* A proof node is canonical: its Poseidon2 elements are below p (byte
 * digests always are). */
static int node_canonical(zc_merkle_hash hash, zc_poseidon2_instance inst, const uint8_t *d)
{
    if (hash != ZC_MERKLE_HASH_POSEIDON2)
        return 1;
    int gl = (int)zc_p2_get_params((uint32_t)inst).goldilocks;
    size_t size = gl ? 8 : 4;
    for (size_t i = 0; i < DIGEST; i += size) {
        uint64_t v = 0;
        memcpy(&v, d + i, size); /* little-endian hosts */
        if (v >= (gl ? ZC_P2_GL_P : ZC_P2_BB_P))
            return 0;
    }
    return 1;
}

/* Parent of a pair (64 bytes, left || right), written to out. */
static void hash_pair(zc_merkle_hash hash, zc_poseidon2_instance inst, const uint8_t *pair, uint8_t *out)
{
    uint32_t in[16], res[8]; /* word-aligned, as zc_merkle_node reads and writes */
    memcpy(in, pair, sizeof in);
    zc_merkle_node((const uint8_t *)in, 2, 0, (uint8_t *)res, (uint32_t)hash, (uint32_t)inst);
    memcpy(out, res, sizeof res);
}

zc_status zc_merkle_verify(zc_merkle_hash hash, zc_poseidon2_instance inst, const uint8_t *root,
                           uint64_t num_leaves, const uint64_t *indices, size_t k, const uint8_t *leaf_digests,
                           const uint8_t *proof, size_t proof_nodes, int *valid)
{
    if (!root || !leaf_digests || !valid || (proof_nodes && !proof))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "root, leaf digests, proof and valid must not be NULL");
    if ((unsigned)hash > ZC_MERKLE_HASH_KECCAK256)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown hash %d", (int)hash);
    if (hash == ZC_MERKLE_HASH_POSEIDON2 && (unsigned)inst >= ZC_POSEIDON2_INSTANCE_COUNT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown Poseidon2 instance %d", (int)inst);
    size_t expect;
    ZC_CHECK(zc_merkle_proof_size(num_leaves, indices, k, &expect));
    if (proof_nodes != expect)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                      "malformed proof: %zu leaves of a %llu-leaf tree take %zu proof nodes, got %zu", k,
                      (unsigned long long)num_leaves, expect, proof_nodes);
    if (hash == ZC_MERKLE_HASH_POSEIDON2) {
        zc_p2_params p = zc_p2_get_params((uint32_t)inst);
        ZC_CHECK(zc_check_canonical(leaf_digests, k * p.digest, p.digest, (int)p.goldilocks, "leaf digest"));
    }
    *valid = 0;
    for (size_t j = 0; j < proof_nodes; j++)
        if (!node_canonical(hash, inst, proof + j * DIGEST))
            return ZC_OK; /* no honest proof holds one */

    uint64_t *idx = malloc(k * sizeof *idx);
    uint8_t *vals = malloc(k * DIGEST);
    if (!idx || !vals) {
        free(idx);
        free(vals);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu opened leaves", k);
    }
    memcpy(idx, indices, k * sizeof *idx);
    memcpy(vals, leaf_digests, k * DIGEST);
    /* multiproof_walk's order, hashing on the way up. */
    size_t m = k, used = 0;
    for (unsigned level = 0, depth = depth_of(num_leaves); level < depth; level++) {
        size_t parents = 0;
        for (size_t j = 0; j < m; j++) {
            uint64_t i = idx[j];
            uint8_t pair[2 * DIGEST];
            if ((i & 1) == 0 && j + 1 < m && idx[j + 1] == i + 1) {
                memcpy(pair, vals + j * DIGEST, 2 * DIGEST);
                j++;
            } else {
                memcpy(pair + (i & 1) * DIGEST, vals + j * DIGEST, DIGEST);
                memcpy(pair + (1 - (i & 1)) * DIGEST, proof + used++ * DIGEST, DIGEST);
            }
            hash_pair(hash, inst, pair, vals + parents * DIGEST);
            idx[parents++] = i >> 1;
        }
        m = parents;
    }
    *valid = memcmp(vals, root, DIGEST) == 0;
    free(idx);
    free(vals);
    return ZC_OK;
}

/* ---- incremental update ---- */

typedef struct update_job {
    zc_merkle_tree *t;
    const zc_hash_input *in;
    uint64_t *idx[ZC_MERKLE_MAX_DEPTH + 1]; /* changed nodes per level, increasing */
    uint8_t *dig[ZC_MERKLE_MAX_DEPTH + 1];  /* their new digests */
    size_t count[ZC_MERKLE_MAX_DEPTH + 1];
    uint8_t *pairs;                         /* children of one level's changed parents */
} update_job;

/* Children of the changed parents of level + 1: new digests where they
 * changed, the tree's (or zero padding) elsewhere. */
static void gather_children(const update_job *job, unsigned level)
{
    const uint64_t *child = job->idx[level];
    size_t c = 0;
    for (size_t j = 0; j < job->count[level + 1]; j++) {
        for (uint64_t side = 0; side < 2; side++) {
            uint64_t i = 2 * job->idx[level + 1][j] + side;
            uint8_t *dst = job->pairs + (2 * j + side) * DIGEST;
            if (c < job->count[level] && child[c] == i)
                memcpy(dst, job->dig[level] + c++ * DIGEST, DIGEST);
            else
                node_or_zero(job->t, level, i, dst);
        }
    }
}

/* Computes every new digest into the job; the tree is written only after
 * the whole run succeeded, so a failure leaves it unchanged. */
static zc_status update_op(int dev, void *user)
{
    const update_job *job = user;
    const zc_merkle_tree *t = job->t;
    zc_status st = zc_hash_input_digest(dev, job->in, job->dig[0], NULL);
    for (unsigned k = 0; st == ZC_OK && k < t->depth; k++) {
        size_t m = job->count[k + 1];
        zc_devbuf *in = NULL, *out = NULL;
        gather_children(job, k);
        st = zc_buf_for_host(dev, job->pairs, 2 * m * DIGEST, 1, &in);
        if (st == ZC_OK)
            st = zc_buf_for_host(dev, job->dig[k + 1], m * DIGEST, 0, &out);
        if (st == ZC_OK)
            st = zc_merkle_level_launch(dev, t->hash, t->inst, in, 2 * m, out, m);
        if (st == ZC_OK && !zc_buf_host_ptr(out))
            st = zc_buf_read(out, 0, job->dig[k + 1], m * DIGEST);
        zc_buf_free(in);
        zc_buf_free(out);
    }
    return st;
}

static zc_status update(int *device, zc_merkle_tree *t, const uint64_t *indices, zc_hash_input *in)
{
    if (!device)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device must not be NULL");
    if (in->n == 0)
        return ZC_OK;
    ZC_CHECK(check_indices(t->n, indices, in->n));
    ZC_CHECK(zc_hash_input_check(in));

    /* Changed nodes per level: the leaves, then their distinct parents. */
    update_job job = {.t = t, .in = in};
    size_t total = 0, k = in->n;
    for (unsigned level = 0; level <= t->depth; level++) {
        uint64_t size = level_size(t->n, level);
        total += size < k ? (size_t)size : k;
    }
    job.count[0] = k;
    uint64_t *idx = malloc(total * sizeof *idx);
    uint8_t *dig = malloc(total * DIGEST);
    job.pairs = malloc(2 * k * DIGEST);
    if (!idx || !dig || !job.pairs) {
        free(idx);
        free(dig);
        free(job.pairs);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "update of %zu leaves", k);
    }
    job.idx[0] = idx;
    job.dig[0] = dig;
    memcpy(idx, indices, k * sizeof *idx);
    for (unsigned level = 1; level <= t->depth; level++) {
        const uint64_t *below = job.idx[level - 1];
        job.idx[level] = job.idx[level - 1] + job.count[level - 1];
        job.dig[level] = job.dig[level - 1] + job.count[level - 1] * DIGEST;
        size_t m = 0;
        for (size_t j = 0; j < job.count[level - 1]; j++)
            if (m == 0 || job.idx[level][m - 1] != below[j] >> 1)
                job.idx[level][m++] = below[j] >> 1;
        job.count[level] = m;
    }

    zc_status st = zc_run(device, "merkle_update", update_op, &job);
    if (st == ZC_OK)
        for (unsigned level = 0; level <= t->depth; level++)
            for (size_t j = 0; j < job.count[level]; j++)
                memcpy(node_ptr(t, level, job.idx[level][j]), job.dig[level] + j * DIGEST, DIGEST);
    free(idx);
    free(dig);
    free(job.pairs);
    return st;
}

zc_status zc_merkle_update_rows(int *device, zc_merkle_tree *t, const uint64_t *indices, size_t k, const void *rows)
{
    if (!t)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tree must not be NULL");
    if (t->hash != ZC_MERKLE_HASH_POSEIDON2)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "rows update Poseidon2 trees; this tree hashes byte strings");
    zc_hash_input in = {.hash = t->hash, .inst = t->inst, .rows = rows, .len = t->row_len, .n = k};
    return update(device, t, indices, &in);
}

zc_status zc_merkle_update_bytes(int *device, zc_merkle_tree *t, const uint64_t *indices, size_t k,
                                 const uint8_t *data, size_t data_len, const uint64_t *offsets)
{
    if (!t)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tree must not be NULL");
    if (t->hash == ZC_MERKLE_HASH_POSEIDON2)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "byte strings update SHA-256 and Keccak-256 trees; this is a "
                                               "Poseidon2 tree");
    zc_hash_input in = {.hash = t->hash, .data = data, .data_len = data_len, .offsets = offsets, .n = k};
    return update(device, t, indices, &in);
}
