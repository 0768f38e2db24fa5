/* ECDSA over secp256k1: batch verification on any backend (kernel
 * zc_secp_verify: kernels/opencl/secp256k1.cl, kernels/cuda/secp256k1.cu and
 * the batched cpu entry in csrc/backends/cpu/kernels_secp256k1.c), and
 * deterministic signing for test and demo data on the cpu thread pool. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../../kernels/secp256k1.h"
#include "hash_internal.h"
#include "secp256k1_internal.h"
#include "zkclob/crypto.h"

/* ---- verification ---- */

typedef struct verify_job {
    const uint8_t *pk, *dg, *sig;
    size_t n;
    unsigned flags;
    const uint64_t *gtab;
    uint8_t *valid;
} verify_job;

/* Work items of a verification launch; device items stride through the n
 * signatures. The cpu backend takes one item per signature (it batches a
 * chunk's inversions); GPUs one thread per signature. CPU OpenCL runtimes
 * keep every work item's private memory of a work-group at once (several KiB
 * here), so they get a small fixed launch: PoCL sizes work-groups from the
 * global size, and one size compiles once. */
#define VERIFY_CPU_DEVICE_ITEMS 128

static size_t verify_launch_size(const zc_device_info *info, zc_devbuf *out, size_t n)
{
    if (info->backend == ZC_BACKEND_CPU)
        return n;
    if (info->caps & ZC_CAP_GPU)
        return zc_hash_launch_size(out, n);
    return VERIFY_CPU_DEVICE_ITEMS;
}

/* Restartable: reads the inputs, writes only valid. */
static zc_status verify_op(int dev, void *user)
{
    const verify_job *job = user;
    zc_devbuf *pk = NULL, *dg = NULL, *sig = NULL, *gt = NULL, *out = NULL;
    zc_status st = zc_buf_for_host(dev, job->valid, job->n, 0, &out);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, (void *)job->pk, job->n * ZC_SECP256K1_PUBKEY_BYTES, 1, &pk);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, (void *)job->dg, job->n * 32, 1, &dg);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, (void *)job->sig, job->n * ZC_SECP256K1_SIG_BYTES, 1, &sig);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, (void *)job->gtab, (size_t)ZC_SECP_GTAB * 8 * sizeof(uint64_t), 1, &gt);
    zc_device_info info;
    if (st == ZC_OK)
        st = zc_device_info_get(dev, &info);
    if (st == ZC_OK) {
        size_t global = verify_launch_size(&info, out, job->n);
        zc_karg args[] = {zc_arg_buf(pk), zc_arg_buf(dg),  zc_arg_buf(sig), zc_arg_u64(job->n),
                          zc_arg_u32(job->flags & ZC_ECDSA_LOW_S ? 1u : 0u), zc_arg_buf(gt), zc_arg_buf(out),
                          zc_arg_u64(global)};
        st = zc_launch(dev, "zc_secp_verify", global, args, 8);
    }
    if (st == ZC_OK && !zc_buf_host_ptr(out))
        st = zc_buf_read(out, 0, job->valid, job->n);
    zc_buf_free(pk);
    zc_buf_free(dg);
    zc_buf_free(sig);
    zc_buf_free(gt);
    zc_buf_free(out);
    return st;
}

zc_status zc_ecdsa_verify_batch(int *device, const uint8_t *pubkeys64, const uint8_t *digests32,
                                const uint8_t *sigs64, size_t n, unsigned flags, uint8_t *valid)
{
    if (!device)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device must not be NULL");
    if (flags & ~(unsigned)ZC_ECDSA_LOW_S)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown verification flags 0x%x", flags & ~(unsigned)ZC_ECDSA_LOW_S);
    if (n == 0)
        return ZC_OK;
    if (!pubkeys64 || !digests32 || !sigs64 || !valid)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "pubkeys64, digests32, sigs64 and valid must not be NULL");
    if (n > SIZE_MAX / 64)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu signatures are too many", n);
    const uint64_t *gtab;
    ZC_CHECK(zc_secp_gtable(&gtab));
    verify_job job = {pubkeys64, digests32, sigs64, n, flags, gtab, valid};
    return zc_run(device, "ecdsa_verify", verify_op, &job);
}

/* ---- keys and signing ---- */

/* seckey as a scalar; errors unless it is in [1, n - 1]. */
static zc_status load_seckey(const uint8_t *b, zc_secp_sc *d, size_t index)
{
    zc_secp_sc t;
    zc_secp_limbs_from_be(d->d, b);
    if (zc_secp_sc_reduce_once(&t, d) || zc_secp_sc_is_zero(d))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "secret key %zu is not in [1, n - 1]", index);
    return ZC_OK;
}

zc_status zc_secp256k1_pubkey_create(const uint8_t seckey[32], uint8_t pubkey64[64])
{
    if (!seckey || !pubkey64)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "seckey and pubkey64 must not be NULL");
    zc_secp_sc d;
    ZC_CHECK(load_seckey(seckey, &d, 0));
    const uint64_t *comb;
    ZC_CHECK(zc_secp_comb_table(&comb));
    zc_secp_gej r;
    zc_secp_fe zi;
    zc_secp_ge a;
    zc_secp_comb_mul(&r, &d, comb);
    zc_secp_fe_inv(&zi, &r.z);
    zc_secp_ge_from_gej_zinv(&a, &r, &zi);
    zc_secp_limbs_to_be(pubkey64, a.x.d);
    zc_secp_limbs_to_be(pubkey64 + 32, a.y.d);
    memset(&d, 0, sizeof d);
    return ZC_OK;
}

typedef struct sign_job {
    const uint8_t *seckeys;
    size_t nkeys;
    const uint32_t *key_index;
    const uint8_t *digests;
    size_t n;
    const uint64_t *comb;
    uint8_t *sigs;
} sign_job;

static zc_status sign_op(int dev, void *user)
{
    const sign_job *job = user;
    zc_devbuf *sk = NULL, *idx = NULL, *dg = NULL, *cb = NULL, *out = NULL;
    zc_status st = zc_buf_for_host(dev, job->sigs, job->n * ZC_SECP256K1_SIG_BYTES, 0, &out);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, (void *)job->seckeys, job->nkeys * 32, 1, &sk);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, (void *)job->key_index, job->key_index ? job->n * sizeof(uint32_t) : 0, 1, &idx);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, (void *)job->digests, job->n * 32, 1, &dg);
    if (st == ZC_OK)
        st = zc_buf_for_host(dev, (void *)job->comb, (size_t)ZC_SECP_COMB_POINTS * 8 * sizeof(uint64_t), 1, &cb);
    if (st == ZC_OK) {
        zc_karg args[] = {zc_arg_buf(sk), zc_arg_buf(idx), zc_arg_u32(job->key_index != NULL), zc_arg_buf(dg),
                          zc_arg_u64(job->n), zc_arg_buf(cb), zc_arg_buf(out)};
        st = zc_launch(dev, "zc_secp_sign", job->n, args, 7);
    }
    zc_buf_free(sk);
    zc_buf_free(idx);
    zc_buf_free(dg);
    zc_buf_free(cb);
    zc_buf_free(out);
    return st;
}

zc_status zc_ecdsa_sign_batch(const uint8_t *seckeys32, size_t nkeys, const uint32_t *key_index,
                              const uint8_t *digests32, size_t n, uint8_t *sigs64)
{
    if (n == 0)
        return ZC_OK;
    if (!seckeys32 || !digests32 || !sigs64)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "seckeys32, digests32 and sigs64 must not be NULL");
    if (n > SIZE_MAX / 64 || nkeys > SIZE_MAX / 32)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu items of %zu keys are too many", n, nkeys);
    if (!key_index && nkeys < n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "without key_index item i uses key i: %zu keys for %zu items", nkeys, n);
    for (size_t k = 0; k < nkeys; k++) {
        zc_secp_sc d;
        ZC_CHECK(load_seckey(seckeys32 + 32 * k, &d, k));
    }
    if (key_index)
        for (size_t i = 0; i < n; i++)
            if (key_index[i] >= nkeys)
                return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "key_index[%zu] = %u is not below nkeys = %zu", i, key_index[i],
                              nkeys);
    const uint64_t *comb;
    ZC_CHECK(zc_secp_comb_table(&comb));
    int dev;
    ZC_CHECK(zc_device_find("cpu", &dev));
    sign_job job = {seckeys32, nkeys, key_index, digests32, n, comb, sigs64};
    return zc_run(&dev, "ecdsa_sign", sign_op, &job);
}

zc_status zc_ecdsa_sign(const uint8_t seckey[32], const uint8_t digest32[32], uint8_t sig64[64])
{
    if (!seckey || !digest32 || !sig64)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "seckey, digest32 and sig64 must not be NULL");
    return zc_ecdsa_sign_batch(seckey, 1, NULL, digest32, 1, sig64);
}

/* ---- DER ---- */

/* One strict DER INTEGER at der[*pos]: positive, minimal, at most 32 value
 * bytes; written big-endian to out32. */
static int der_integer(const uint8_t *der, size_t len, size_t *pos, uint8_t *out32)
{
    size_t p = *pos;
    if (len - p < 2 || der[p] != 0x02)
        return 0;
    size_t ilen = der[p + 1];
    p += 2;
    if (ilen == 0 || ilen > 33 || ilen > len - p) /* long-form lengths (>= 0x80) fail here too */
        return 0;
    const uint8_t *v = der + p;
    if (v[0] & 0x80) /* negative */
        return 0;
    if (ilen > 1 && v[0] == 0 && !(v[1] & 0x80)) /* a leading zero that is not needed */
        return 0;
    if (v[0] == 0 && ilen > 1) {
        v++;
        ilen--;
    }
    if (ilen > 32)
        return 0;
    memset(out32, 0, 32);
    memcpy(out32 + 32 - ilen, v, ilen);
    *pos = p + (size_t)(v - (der + p)) + ilen;
    return 1;
}

zc_status zc_ecdsa_sig_parse_der(const uint8_t *der, size_t len, uint8_t sig64[64], uint8_t *ok)
{
    if ((!der && len) || !sig64 || !ok)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "der (unless len is 0), sig64 and ok must not be NULL");
    size_t pos = 2;
    *ok = len >= 2 && der[0] == 0x30 && der[1] < 0x80 && (size_t)der[1] == len - 2 &&
          der_integer(der, len, &pos, sig64) && der_integer(der, len, &pos, sig64 + 32) && pos == len;
    if (!*ok)
        memset(sig64, 0, 64);
    return ZC_OK;
}
