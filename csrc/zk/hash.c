/* Host orchestration of the hash kernels (kernels/opencl/hash.cl and the cpu
 * entries in csrc/backends/cpu/kernels_hash.c) on any backend. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../../kernels/merkle.h"
#include "hash_internal.h"
#include "zkclob/hash.h"

_Static_assert(ZC_POSEIDON2_BABYBEAR_16 == ZC_P2_BABYBEAR_16 && ZC_POSEIDON2_BABYBEAR_24 == ZC_P2_BABYBEAR_24 &&
                   ZC_POSEIDON2_BABYBEAR_16_HL == ZC_P2_BABYBEAR_16_HL &&
                   ZC_POSEIDON2_BABYBEAR_24_HL == ZC_P2_BABYBEAR_24_HL &&
                   ZC_POSEIDON2_GOLDILOCKS_8 == ZC_P2_GOLDILOCKS_8 &&
                   ZC_POSEIDON2_GOLDILOCKS_12 == ZC_P2_GOLDILOCKS_12 &&
                   ZC_POSEIDON2_GOLDILOCKS_12_HL == ZC_P2_GOLDILOCKS_12_HL &&
                   ZC_POSEIDON2_INSTANCE_COUNT == ZC_P2_NUM_INSTANCES,
               "public Poseidon2 instance ids follow kernels/poseidon2.h");
_Static_assert(ZC_MERKLE_HASH_POSEIDON2 == ZC_MERKLE_POSEIDON2 && ZC_MERKLE_HASH_SHA256 == ZC_MERKLE_SHA256 &&
                   ZC_MERKLE_HASH_KECCAK256 == ZC_MERKLE_KECCAK256 && ZC_DIGEST_BYTES == ZC_MERKLE_DIGEST_BYTES,
               "public Merkle hash ids follow kernels/merkle.h");

static const char *const instance_names[ZC_POSEIDON2_INSTANCE_COUNT] = {
    "babybear16", "babybear24", "babybear16_hl", "babybear24_hl", "goldilocks8", "goldilocks12", "goldilocks12_hl",
};

static zc_status check_instance(zc_poseidon2_instance inst)
{
    if ((unsigned)inst >= ZC_POSEIDON2_INSTANCE_COUNT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown Poseidon2 instance %d (0 .. %d)", (int)inst,
                      ZC_POSEIDON2_INSTANCE_COUNT - 1);
    return ZC_OK;
}

zc_status zc_poseidon2_info_get(zc_poseidon2_instance inst, zc_poseidon2_info *out)
{
    ZC_CHECK(check_instance(inst));
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    zc_p2_params p = zc_p2_get_params((uint32_t)inst);
    out->name = instance_names[inst];
    out->goldilocks = (int)p.goldilocks;
    out->modulus = p.goldilocks ? ZC_P2_GL_P : ZC_P2_BB_P;
    out->elem_size = p.goldilocks ? sizeof(uint64_t) : sizeof(uint32_t);
    out->width = p.width;
    out->rate = p.rate;
    out->digest = p.digest;
    return ZC_OK;
}

zc_status zc_check_canonical(const void *v, size_t count, size_t width, int goldilocks, const char *what)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t x = goldilocks ? ((const uint64_t *)v)[i] : ((const uint32_t *)v)[i];
        uint64_t p = goldilocks ? ZC_P2_GL_P : ZC_P2_BB_P;
        if (x >= p)
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE,
                          "%s %zu, element %zu = %llu is not reduced mod p = %llu (%s); values are never reduced "
                          "silently",
                          what, i / width, i % width, (unsigned long long)x, (unsigned long long)p,
                          goldilocks ? "Goldilocks" : "BabyBear");
    }
    return ZC_OK;
}

zc_status zc_hash_input_check(const zc_hash_input *in)
{
    if (in->hash == ZC_MERKLE_HASH_POSEIDON2) {
        ZC_CHECK(check_instance(in->inst));
        zc_p2_params p = zc_p2_get_params((uint32_t)in->inst);
        size_t elem = p.goldilocks ? 8 : 4;
        if (in->len && in->n > SIZE_MAX / elem / in->len)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu rows of %zu elements are too many", in->n, in->len);
        if (in->n && in->len && !in->rows)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "rows must not be NULL");
        return zc_check_canonical(in->rows, in->n * in->len, in->len ? in->len : 1, (int)p.goldilocks, "row");
    }
    if (in->hash != ZC_MERKLE_HASH_SHA256 && in->hash != ZC_MERKLE_HASH_KECCAK256)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown hash %d", (int)in->hash);
    if (!in->offsets)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "offsets (n + 1 entries) must not be NULL");
    if (in->data_len && !in->data)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "data must not be NULL when data_len = %zu", in->data_len);
    if (in->n > SIZE_MAX / 64)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu messages are too many", in->n);
    for (size_t i = 0; i < in->n; i++)
        if (in->offsets[i + 1] < in->offsets[i])
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "offsets must not decrease: offsets[%zu] = %llu > offsets[%zu] = %llu",
                          i, (unsigned long long)in->offsets[i], i + 1, (unsigned long long)in->offsets[i + 1]);
    if (in->offsets[in->n] > in->data_len)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "offsets[%zu] = %llu is past the end of the %zu data bytes", in->n,
                      (unsigned long long)in->offsets[in->n], in->data_len);
    return ZC_OK;
}

zc_status zc_buf_for_host(int dev, void *host, size_t bytes, int upload, zc_devbuf **out)
{
    /* Never read or written: kernels touch no element of an empty input or output. */
    static uint64_t stand_in;
    if (bytes == 0) {
        host = &stand_in;
        bytes = sizeof stand_in;
        upload = 0;
    }
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(dev, &info));
    if (info.caps & ZC_CAP_HOST_SHARED)
        return zc_buf_wrap(dev, host, bytes, out);
    ZC_CHECK(zc_buf_alloc(dev, bytes, out));
    zc_status st = upload ? zc_buf_write(*out, 0, host, bytes) : ZC_OK;
    if (st != ZC_OK) {
        zc_buf_free(*out);
        *out = NULL;
    }
    return st;
}

#define LAUNCH_QUANTUM 4096

size_t zc_hash_launch_size(zc_devbuf *out, size_t n)
{
    if (zc_buf_host_ptr(out) || n > SIZE_MAX - LAUNCH_QUANTUM)
        return n;
    return (n + LAUNCH_QUANTUM - 1) / LAUNCH_QUANTUM * LAUNCH_QUANTUM;
}

zc_status zc_merkle_level_launch(int dev, zc_merkle_hash hash, zc_poseidon2_instance inst, zc_devbuf *in,
                                 uint64_t n_in, zc_devbuf *out, uint64_t n_out)
{
    zc_karg args[] = {zc_arg_buf(in),  zc_arg_u64(n_in),           zc_arg_buf(out),
                      zc_arg_u64(n_out), zc_arg_u32((uint32_t)hash), zc_arg_u32((uint32_t)inst)};
    return zc_launch(dev, "zc_merkle_nodes", zc_hash_launch_size(out, (size_t)n_out), args, 6);
}

zc_status zc_hash_input_digest(int dev, const zc_hash_input *in, uint8_t *host_out, zc_devbuf **kept)
{
    zc_devbuf *out = NULL, *a = NULL, *b = NULL;
    zc_status st = zc_buf_for_host(dev, host_out, in->n * ZC_DIGEST_BYTES, 0, &out);
    if (st == ZC_OK && in->hash == ZC_MERKLE_HASH_POSEIDON2) {
        size_t elem = zc_p2_get_params((uint32_t)in->inst).goldilocks ? 8 : 4;
        st = zc_buf_for_host(dev, (void *)in->rows, in->n * in->len * elem, 1, &a);
        zc_karg args[] = {zc_arg_buf(a), zc_arg_u64(in->n), zc_arg_u64(in->len), zc_arg_u32((uint32_t)in->inst),
                          zc_arg_buf(out)};
        if (st == ZC_OK)
            st = zc_launch(dev, "zc_p2_hash", zc_hash_launch_size(out, in->n), args, 5);
    } else if (st == ZC_OK) {
        st = zc_buf_for_host(dev, (void *)in->data, in->data_len, 1, &a);
        if (st == ZC_OK)
            st = zc_buf_for_host(dev, (void *)in->offsets, (in->n + 1) * sizeof(uint64_t), 1, &b);
        zc_karg args[] = {zc_arg_buf(a), zc_arg_buf(b), zc_arg_u64(in->n), zc_arg_buf(out)};
        if (st == ZC_OK)
            st = zc_launch(dev, in->hash == ZC_MERKLE_HASH_SHA256 ? "zc_sha256_batch" : "zc_keccak256_batch",
                           zc_hash_launch_size(out, in->n), args, 4);
    }
    if (st == ZC_OK && !zc_buf_host_ptr(out))
        st = zc_buf_read(out, 0, host_out, in->n * ZC_DIGEST_BYTES);
    zc_buf_free(a);
    zc_buf_free(b);
    if (st == ZC_OK && kept)
        *kept = out;
    else
        zc_buf_free(out);
    return st;
}

/* ---- public batch functions ---- */

typedef struct digest_job {
    const zc_hash_input *in;
    uint8_t *out;
} digest_job;

static zc_status digest_op(int dev, void *user)
{
    const digest_job *job = user;
    return zc_hash_input_digest(dev, job->in, job->out, NULL);
}

static zc_status run_digests(int *device, const zc_hash_input *in, void *out, const char *what)
{
    if (!device)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device must not be NULL");
    ZC_CHECK(zc_hash_input_check(in));
    if (in->n == 0)
        return ZC_OK;
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    digest_job job = {in, out};
    return zc_run(device, what, digest_op, &job);
}

zc_status zc_poseidon2_hash(int *device, zc_poseidon2_instance inst, const void *rows, size_t n, size_t len,
                            void *out)
{
    zc_hash_input in = {.hash = ZC_MERKLE_HASH_POSEIDON2, .inst = inst, .rows = rows, .len = len, .n = n};
    return run_digests(device, &in, out, "poseidon2_hash");
}

zc_status zc_sha256_batch(int *device, const uint8_t *data, size_t data_len, const uint64_t *offsets, size_t n,
                          uint8_t *out)
{
    zc_hash_input in = {
        .hash = ZC_MERKLE_HASH_SHA256, .data = data, .data_len = data_len, .offsets = offsets, .n = n};
    return run_digests(device, &in, out, "sha256_batch");
}

zc_status zc_keccak256_batch(int *device, const uint8_t *data, size_t data_len, const uint64_t *offsets, size_t n,
                             uint8_t *out)
{
    zc_hash_input in = {
        .hash = ZC_MERKLE_HASH_KECCAK256, .data = data, .data_len = data_len, .offsets = offsets, .n = n};
    return run_digests(device, &in, out, "keccak256_batch");
}

typedef struct permute_job {
    zc_poseidon2_instance inst;
    const void *in;
    void *out;
    size_t n, bytes;
} permute_job;

/* Restartable with in == out: on host-shared devices the kernel either runs
 * whole or fails before it starts, and elsewhere out is written last. */
static zc_status permute_op(int dev, void *user)
{
    const permute_job *job = user;
    zc_devbuf *b;
    ZC_CHECK(zc_buf_for_host(dev, job->out, job->bytes, 0, &b));
    int shared = zc_buf_host_ptr(b) != NULL;
    zc_status st = ZC_OK;
    if (!shared)
        st = zc_buf_write(b, 0, job->in, job->bytes);
    else if (job->out != job->in)
        memmove(job->out, job->in, job->bytes);
    zc_karg args[] = {zc_arg_buf(b), zc_arg_u64(job->n), zc_arg_u32((uint32_t)job->inst)};
    if (st == ZC_OK)
        st = zc_launch(dev, "zc_p2_permute", zc_hash_launch_size(b, job->n), args, 3);
    if (st == ZC_OK && !shared)
        st = zc_buf_read(b, 0, job->out, job->bytes);
    zc_buf_free(b);
    return st;
}

zc_status zc_poseidon2_permute(int *device, zc_poseidon2_instance inst, const void *in, void *out, size_t n)
{
    if (!device)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device must not be NULL");
    ZC_CHECK(check_instance(inst));
    if (n == 0)
        return ZC_OK;
    if (!in || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "in and out must not be NULL");
    zc_p2_params p = zc_p2_get_params((uint32_t)inst);
    size_t row_bytes = p.width * (p.goldilocks ? 8 : 4);
    if (n > SIZE_MAX / row_bytes)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu states are too many", n);
    ZC_CHECK(zc_check_canonical(in, n * p.width, p.width, (int)p.goldilocks, "state"));
    permute_job job = {inst, in, out, n, n * row_bytes};
    return zc_run(device, "poseidon2_permute", permute_op, &job);
}

typedef struct compress_job {
    zc_poseidon2_instance inst;
    uint8_t *pairs; /* n x (left || right) */
    void *out;
    size_t n;
} compress_job;

static zc_status compress_op(int dev, void *user)
{
    const compress_job *job = user;
    zc_devbuf *in = NULL, *out = NULL;
    zc_status st = zc_buf_for_host(dev, job->pairs, 2 * job->n * ZC_DIGEST_BYTES, 1, &in);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, job->out, job->n * ZC_DIGEST_BYTES, 0, &out);
    if (st == ZC_OK)
        st = zc_merkle_level_launch(dev, ZC_MERKLE_HASH_POSEIDON2, job->inst, in, 2 * job->n, out, job->n);
    if (st == ZC_OK && !zc_buf_host_ptr(out))
        st = zc_buf_read(out, 0, job->out, job->n * ZC_DIGEST_BYTES);
    zc_buf_free(in);
    zc_buf_free(out);
    return st;
}

zc_status zc_poseidon2_compress(int *device, zc_poseidon2_instance inst, const void *left, const void *right,
                                size_t n, void *out)
{
    if (!device)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device must not be NULL");
    ZC_CHECK(check_instance(inst));
    if (n == 0)
        return ZC_OK;
    if (!left || !right || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "left, right and out must not be NULL");
    if (n > SIZE_MAX / (2 * ZC_DIGEST_BYTES))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu pairs are too many", n);
    zc_p2_params p = zc_p2_get_params((uint32_t)inst);
    ZC_CHECK(zc_check_canonical(left, n * p.digest, p.digest, (int)p.goldilocks, "left digest"));
    ZC_CHECK(zc_check_canonical(right, n * p.digest, p.digest, (int)p.goldilocks, "right digest"));
    uint8_t *pairs = malloc(2 * n * ZC_DIGEST_BYTES);
    if (!pairs)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu digest pairs", n);
    for (size_t i = 0; i < n; i++) {
        memcpy(pairs + 2 * i * ZC_DIGEST_BYTES, (const uint8_t *)left + i * ZC_DIGEST_BYTES, ZC_DIGEST_BYTES);
        memcpy(pairs + (2 * i + 1) * ZC_DIGEST_BYTES, (const uint8_t *)right + i * ZC_DIGEST_BYTES, ZC_DIGEST_BYTES);
    }
    compress_job job = {inst, pairs, out, n};
    zc_status st = zc_run(device, "poseidon2_compress", compress_op, &job);
    free(pairs);
    return st;
}
