/* Polynomial evaluation at many points, multiplication by NTT and batch
 * inversion, on any backend. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "ntt_internal.h"

/* Coefficients per Horner work item, and elements per batch-inversion item
 * (one field inversion each). */
#define EVAL_CHUNK 2048u
#define INV_CHUNK 1024u

static zc_status need(const void *p, const char *name)
{
    return p ? ZC_OK : ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%s must not be NULL", name);
}

/* ---- evaluation ---- */

typedef struct eval_job {
    const zc_field_desc *f;
    const void *coeffs, *points;
    void *out;
    size_t n, m;
} eval_job;

static zc_status eval_op(int dev, void *user)
{
    const eval_job *job = user;
    const zc_field_desc *f = job->f;
    zc_zk_dev d;
    ZC_CHECK(zc_zk_dev_open(dev, f, &d));
    size_t nchunks = (job->n + EVAL_CHUNK - 1) / EVAL_CHUNK;
    zc_devbuf *coeffs = NULL, *points = NULL, *partial = NULL, *out = NULL;
    zc_status st = zc_zk_stage_in(&d, job->coeffs, job->n * f->esz, &coeffs);
    if (st == ZC_OK)
        st = zc_zk_stage_in(&d, job->points, job->m * f->esz, &points);
    if (st == ZC_OK)
        st = zc_buf_alloc(dev, job->m * nchunks * f->esz, &partial);
    if (st == ZC_OK)
        st = zc_zk_stage_out(&d, job->out, job->m * f->esz, &out);
    if (st == ZC_OK) {
        zc_karg args[] = {zc_arg_buf(coeffs), zc_arg_u64(job->n),       zc_arg_buf(points),  zc_arg_u64(job->m),
                          zc_arg_u64(EVAL_CHUNK), zc_arg_u64(nchunks), zc_arg_buf(partial)};
        st = zc_launch(dev, f->k_eval_partial, job->m * nchunks, args, 7);
    }
    if (st == ZC_OK) {
        zc_karg args[] = {zc_arg_buf(points),     zc_arg_u64(job->m),  zc_arg_buf(partial),
                          zc_arg_u64(EVAL_CHUNK), zc_arg_u64(nchunks), zc_arg_buf(out)};
        st = zc_launch(dev, f->k_eval_combine, job->m, args, 6);
    }
    if (st == ZC_OK)
        st = zc_zk_stage_finish(&d, out, job->out, job->m * f->esz);
    zc_buf_free(coeffs);
    zc_buf_free(points);
    zc_buf_free(partial);
    zc_buf_free(out);
    return st;
}

zc_status zc_poly_eval(int *device, zc_field field, const void *coeffs, size_t n, const void *points, size_t m,
                       void *out)
{
    const zc_field_desc *f = zc_field_lookup(field);
    if (!f)
        return ZC_ERR_INVALID_ARGUMENT;
    ZC_CHECK(need(device, "device"));
    ZC_CHECK(need(coeffs, "coeffs"));
    ZC_CHECK(need(points, "points"));
    ZC_CHECK(need(out, "out"));
    size_t bytes;
    ZC_CHECK(zc_field_bytes(f, n, 1, &bytes));
    ZC_CHECK(zc_field_bytes(f, m, 1, &bytes));
    ZC_CHECK(zc_field_check(f, coeffs, n, "coefficient"));
    ZC_CHECK(zc_field_check(f, points, m, "point"));
    eval_job job = {f, coeffs, points, out, n, m};
    return zc_run(device, "poly_eval", eval_op, &job);
}

/* ---- multiplication ---- */

typedef struct mul_job {
    const zc_field_desc *f;
    const void *a, *b;
    void *out;
    size_t na, nb;
    uint32_t log_size;
} mul_job;

/* A device buffer of `size` elements: `n` from host, then zeros. */
static zc_status padded(const zc_zk_dev *d, const void *host, size_t n, size_t size, zc_devbuf **out)
{
    size_t esz = d->f->esz;
    ZC_CHECK(zc_buf_alloc(d->dev, size * esz, out));
    void *p = zc_buf_host_ptr(*out);
    zc_status st = ZC_OK;
    if (p) {
        memcpy(p, host, n * esz);
        memset((char *)p + n * esz, 0, (size - n) * esz);
    } else {
        void *staging = calloc(size, esz);
        st = staging ? ZC_OK : ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu-element staging buffer", size);
        if (st == ZC_OK) {
            memcpy(staging, host, n * esz);
            st = zc_buf_write(*out, 0, staging, size * esz);
        }
        free(staging);
    }
    if (st != ZC_OK) {
        zc_buf_free(*out);
        *out = NULL;
    }
    return st;
}

static zc_status mul_op(int dev, void *user)
{
    const mul_job *job = user;
    zc_zk_dev d;
    ZC_CHECK(zc_zk_dev_open(dev, job->f, &d));
    size_t size = (size_t)1 << job->log_size, nout = job->na + job->nb - 1;
    zc_devbuf *a = NULL, *b = NULL;
    zc_ntt_engine e;
    zc_ntt_engine_init(&e, &d);
    /* Forward to bit-reversed order and back from it: no permutations. */
    zc_status st = padded(&d, job->a, job->na, size, &a);
    if (st == ZC_OK)
        st = padded(&d, job->b, job->nb, size, &b);
    if (st == ZC_OK)
        st = zc_ntt_engine_run(&e, a, a, job->log_size, 1, 0, 0, 1, 0);
    if (st == ZC_OK)
        st = zc_ntt_engine_run(&e, b, b, job->log_size, 1, 0, 0, 1, 0);
    if (st == ZC_OK)
        st = zc_ntt_engine_pointwise(&e, a, b, size, 1);
    if (st == ZC_OK)
        st = zc_ntt_engine_run(&e, a, a, job->log_size, 1, 1, 1, 0, 0);
    if (st == ZC_OK)
        st = zc_buf_read(a, 0, job->out, nout * job->f->esz);
    zc_ntt_engine_free(&e);
    zc_buf_free(a);
    zc_buf_free(b);
    return st;
}

zc_status zc_poly_mul(int *device, zc_field field, const void *a, size_t na, const void *b, size_t nb, void *out)
{
    const zc_field_desc *f = zc_field_lookup(field);
    if (!f)
        return ZC_ERR_INVALID_ARGUMENT;
    ZC_CHECK(need(device, "device"));
    ZC_CHECK(need(a, "a"));
    ZC_CHECK(need(b, "b"));
    ZC_CHECK(need(out, "out"));
    if (na == 0 || nb == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "empty polynomial (%zu and %zu coefficients)", na, nb);
    size_t max = (size_t)1 << ZC_NTT_MAX_LOG_ROWS;
    if (na > max || nb > max || na + nb - 1 > max)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "a product of %zu + %zu - 1 coefficients exceeds the largest %s NTT of 2^%d",
                      na, nb, f->name, ZC_NTT_MAX_LOG_ROWS);
    ZC_CHECK(zc_field_check(f, a, na, "a"));
    ZC_CHECK(zc_field_check(f, b, nb, "b"));
    mul_job job = {f, a, b, out, na, nb, 0};
    while (((size_t)1 << job.log_size) < na + nb - 1)
        job.log_size++;
    return zc_run(device, "poly_mul", mul_op, &job);
}

/* ---- batch inversion ---- */

typedef struct inv_job {
    const zc_field_desc *f;
    const void *in;
    void *out;
    size_t n;
} inv_job;

static zc_status inv_op(int dev, void *user)
{
    const inv_job *job = user;
    const zc_field_desc *f = job->f;
    zc_zk_dev d;
    ZC_CHECK(zc_zk_dev_open(dev, f, &d));
    size_t bytes = job->n * f->esz;
    zc_devbuf *in = NULL, *out = NULL;
    /* The kernel needs distinct buffers; in place on a shared device the
     * input is copied. */
    zc_status st = job->in == job->out && d.shared ? zc_buf_alloc(dev, bytes, &in)
                                                   : zc_zk_stage_in(&d, job->in, bytes, &in);
    if (st == ZC_OK && job->in == job->out && d.shared)
        memcpy(zc_buf_host_ptr(in), job->in, bytes);
    if (st == ZC_OK)
        st = zc_zk_stage_out(&d, job->out, bytes, &out);
    if (st == ZC_OK) {
        zc_karg args[] = {zc_arg_buf(in), zc_arg_buf(out), zc_arg_u64(job->n), zc_arg_u64(INV_CHUNK)};
        st = zc_launch(dev, f->k_batch_inv, (job->n + INV_CHUNK - 1) / INV_CHUNK, args, 4);
    }
    if (st == ZC_OK)
        st = zc_zk_stage_finish(&d, out, job->out, bytes);
    zc_buf_free(in);
    zc_buf_free(out);
    return st;
}

zc_status zc_batch_inverse(int *device, zc_field field, const void *in, void *out, size_t n)
{
    const zc_field_desc *f = zc_field_lookup(field);
    if (!f)
        return ZC_ERR_INVALID_ARGUMENT;
    ZC_CHECK(need(device, "device"));
    ZC_CHECK(need(in, "in"));
    ZC_CHECK(need(out, "out"));
    size_t bytes;
    ZC_CHECK(zc_field_bytes(f, n, 1, &bytes));
    if (in != out && (const char *)in < (const char *)out + bytes && (const char *)out < (const char *)in + bytes)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "in and out overlap without being the same array");
    ZC_CHECK(zc_field_check(f, in, n, "input"));
    size_t zero = n;
    if (f->esz == 4) {
        for (size_t i = 0; i < n && zero == n; i++)
            zero = ((const uint32_t *)in)[i] ? n : i;
    } else {
        for (size_t i = 0; i < n && zero == n; i++)
            zero = ((const uint64_t *)in)[i] ? n : i;
    }
    if (zero < n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "element %zu is zero and has no inverse", zero);
    inv_job job = {f, in, out, n};
    return zc_run(device, "batch_inverse", inv_op, &job);
}
