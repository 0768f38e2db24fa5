/* Host orchestration of the NTT kernels (kernels/ntt.h) on any backend:
 * pass plans, bit reversal, coset scaling, zc_ntt and zc_lde. */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/ntt.h"
#include "../core/internal.h"
#include "ntt_internal.h"

/* cpu-style plans: the first pass keeps a contiguous block of rows in L1;
 * later passes take groups of 2^s rows by a few cache lines of lanes, sized
 * for L2. Bit reversal moves square tiles of rows that fit in L1. */
#define BLOCK_BYTES (32u << 10)
#define LANE_BYTES 256u
#define PASS_BYTES (256u << 10)
#define TILE_BYTES (8u << 10)

void zc_ntt_engine_init(zc_ntt_engine *e, const zc_zk_dev *d)
{
    memset(e, 0, sizeof *e);
    e->d = *d;
}

void zc_ntt_engine_free(zc_ntt_engine *e)
{
    for (int i = 0; i < 2; i++) {
        zc_buf_free(e->tw[i]);
        zc_twiddles_release(e->host_tw[i]);
        e->tw[i] = NULL;
        e->host_tw[i] = NULL;
    }
}

/* The device's twiddle buffer for a direction, covering 2^log_rows rows: the
 * cached host table itself on shared devices, else its first 2^log_rows
 * entries copied once per engine (again only for a larger transform). */
static zc_status twiddles(zc_ntt_engine *e, int inverse, uint32_t log_rows, zc_devbuf **out)
{
    if (e->tw[inverse] && e->tw_log[inverse] < log_rows) {
        zc_buf_free(e->tw[inverse]);
        zc_twiddles_release(e->host_tw[inverse]);
        e->tw[inverse] = NULL;
        e->host_tw[inverse] = NULL;
    }
    if (!e->tw[inverse]) {
        zc_twiddles *t;
        ZC_CHECK(zc_twiddles_acquire(e->d.f, inverse, log_rows, &t));
        zc_status st = zc_zk_stage_in(&e->d, zc_twiddles_data(t), e->d.f->esz << log_rows, &e->tw[inverse]);
        if (st != ZC_OK) {
            zc_twiddles_release(t);
            return st;
        }
        e->host_tw[inverse] = t;
        e->tw_log[inverse] = log_rows;
    }
    *out = e->tw[inverse];
    return ZC_OK;
}

/* dst row j = src row j * c * h^j (multiplier-form c and h). */
static zc_status scale_rows(zc_ntt_engine *e, zc_devbuf *src, zc_devbuf *dst, size_t rows, size_t cols, uint64_t c,
                            uint64_t h)
{
    const zc_field_desc *f = e->d.f;
    zc_karg args[] = {zc_arg_buf(src), zc_arg_buf(dst),  zc_arg_u64(rows),
                      zc_arg_u64(cols), zc_fd_arg(f, c), zc_fd_arg(f, h)};
    return zc_launch(e->d.dev, f->k_scale, rows, args, 6);
}

static zc_status bitrev(zc_ntt_engine *e, zc_devbuf *src, zc_devbuf *dst, uint32_t log_rows, size_t cols)
{
    uint32_t t = 0;
    if (e->d.cpu_style)
        while (t < ZC_NTT_BITREV_MAX_TILE_BITS && 2 * (t + 1) <= log_rows &&
               ((uint64_t)cols << (2 * (t + 1))) * e->d.f->esz <= TILE_BYTES)
            t++;
    zc_karg args[] = {zc_arg_buf(src), zc_arg_buf(dst), zc_arg_u32(log_rows), zc_arg_u64(cols), zc_arg_u32(t)};
    return zc_launch(e->d.dev, e->d.f->k_bitrev, (size_t)1 << (log_rows - 2 * t), args, 5);
}

/* All stages of one DIT or DIF transform, as passes (kernels/ntt.h); the
 * first pass reads src, the last one multiplies by `scale` (0: none). */
static zc_status passes(zc_ntt_engine *e, zc_devbuf *src, zc_devbuf *dst, uint32_t log_rows, size_t cols,
                        int inverse, int dif, uint64_t scale)
{
    const zc_field_desc *f = e->d.f;
    if (log_rows == 0)
        return scale_rows(e, src, dst, 1, cols, scale ? scale : zc_fd_one(f), zc_fd_one(f));
    zc_devbuf *tw;
    ZC_CHECK(twiddles(e, inverse, log_rows, &tw));

    uint32_t first[ZC_NTT_MAX_LOG_ROWS], count[ZC_NTT_MAX_LOG_ROWS];
    uint64_t lanes[ZC_NTT_MAX_LOG_ROWS];
    int n = 0;
    uint32_t block = 0, step = ZC_NTT_GPU_STAGES;
    uint64_t lane_width = 1;
    if (e->d.cpu_style) {
        while (block < log_rows && ((uint64_t)cols << (block + 1)) * f->esz <= BLOCK_BYTES)
            block++;
        lane_width = LANE_BYTES / f->esz;
        step = 1;
        while (((uint64_t)lane_width << (step + 1)) * f->esz <= PASS_BYTES)
            step++;
    }
    if (block) { /* lanes = the whole row: one work item per contiguous block */
        first[n] = 0;
        count[n] = block;
        lanes[n++] = cols;
    }
    for (uint32_t s0 = block; s0 < log_rows; s0 += step) {
        first[n] = s0;
        count[n] = log_rows - s0 < step ? log_rows - s0 : step;
        lanes[n++] = lane_width;
    }

    size_t rows = (size_t)1 << log_rows;
    for (int k = 0; k < n; k++) {
        int i = dif ? n - 1 - k : k; /* DIT runs stages upwards, DIF downwards */
        uint64_t width = (uint64_t)cols << first[i];
        size_t items = (rows >> (first[i] + count[i])) * (size_t)((width + lanes[i] - 1) / lanes[i]);
        zc_karg args[] = {zc_arg_buf(k == 0 ? src : dst),
                          zc_arg_buf(dst),
                          zc_arg_buf(tw),
                          zc_arg_u64(rows),
                          zc_arg_u64(cols),
                          zc_arg_u32(first[i]),
                          zc_arg_u32(count[i]),
                          zc_arg_u32((uint32_t)dif),
                          zc_arg_u64(lanes[i]),
                          zc_fd_arg(f, k == n - 1 ? scale : 0)};
        ZC_CHECK(zc_launch(e->d.dev, f->k_pass, items, args, 10));
    }
    return ZC_OK;
}

/* Natural order in, natural order out by DIT: the bit reversal, then the
 * passes. */
static zc_status bitrev_dit(zc_ntt_engine *e, zc_devbuf *src, zc_devbuf *dst, uint32_t log_rows, size_t cols,
                            int inverse, uint64_t scale)
{
    ZC_CHECK(bitrev(e, src, dst, log_rows, cols));
    return passes(e, dst, dst, log_rows, cols, inverse, 0, scale);
}

zc_status zc_ntt_engine_run(zc_ntt_engine *e, zc_devbuf *src, zc_devbuf *dst, uint32_t log_rows, size_t cols,
                            int inverse, int in_rev, int out_rev, int coset)
{
    const zc_field_desc *f = e->d.f;
    size_t rows = (size_t)1 << log_rows;
    uint64_t one = zc_fd_one(f), shift = zc_fd_mform(f, f->generator);
    zc_devbuf *cur = src;
    if (!inverse) {
        /* Coefficient j of a coset transform is scaled by shift^j first, which
         * needs the coefficients in natural order. */
        if (coset) {
            if (in_rev) {
                ZC_CHECK(bitrev(e, cur, dst, log_rows, cols));
                cur = dst;
                in_rev = 0;
            }
            ZC_CHECK(scale_rows(e, cur, dst, rows, cols, one, shift));
            cur = dst;
        }
        if (!in_rev && !out_rev)
            return bitrev_dit(e, cur, dst, log_rows, cols, 0, 0);
        if (in_rev && out_rev) { /* DIT and DIF each flip the order */
            ZC_CHECK(bitrev(e, cur, dst, log_rows, cols));
            cur = dst;
            in_rev = 0;
        }
        return passes(e, cur, dst, log_rows, cols, 0, !in_rev, 0);
    }
    uint64_t inv_rows = zc_fd_inv(f, zc_fd_mform(f, rows));
    if (!coset) {
        if (!in_rev && !out_rev)
            return bitrev_dit(e, cur, dst, log_rows, cols, 1, inv_rows);
        if (in_rev && out_rev) {
            ZC_CHECK(bitrev(e, cur, dst, log_rows, cols));
            cur = dst;
            in_rev = 0;
        }
        return passes(e, cur, dst, log_rows, cols, 1, !in_rev, inv_rows);
    }
    /* Coset: coefficient j is divided by shift^j (and rows), in natural order. */
    if (in_rev)
        ZC_CHECK(passes(e, cur, dst, log_rows, cols, 1, 0, 0));
    else
        ZC_CHECK(bitrev_dit(e, cur, dst, log_rows, cols, 1, 0));
    ZC_CHECK(scale_rows(e, dst, dst, rows, cols, inv_rows, zc_fd_inv(f, shift)));
    return out_rev ? bitrev(e, dst, dst, log_rows, cols) : ZC_OK;
}

zc_status zc_ntt_engine_pointwise(zc_ntt_engine *e, zc_devbuf *a, zc_devbuf *b, size_t n, uint64_t c)
{
    const zc_field_desc *f = e->d.f;
    uint64_t k = f->id == ZC_FIELD_BABYBEAR ? zc_bb_product_factor((uint32_t)c) : zc_gl_product_factor(c);
    zc_karg args[] = {zc_arg_buf(a), zc_arg_buf(b), zc_arg_u64(n), zc_fd_arg(f, k)};
    return zc_launch(e->d.dev, f->k_pointwise, n, args, 4);
}

/* ---- zc_ntt and zc_lde ---- */

typedef struct ntt_job {
    const zc_ntt_params *p;
    const zc_field_desc *f;
    const void *in;
    void *out;
    void *saved; /* in == out on a shared device: the input, kept for restarts */
    size_t rows, cols, bytes;
    uint32_t log_rows, blowup;
} ntt_job;

static int bit_reversed_in(zc_ntt_order o) { return o == ZC_NTT_RN || o == ZC_NTT_RR; }
static int bit_reversed_out(zc_ntt_order o) { return o == ZC_NTT_NR || o == ZC_NTT_RR; }

static zc_status ntt_op(int dev, void *user)
{
    ntt_job *job = user;
    zc_zk_dev d;
    ZC_CHECK(zc_zk_dev_open(dev, job->f, &d));
    const void *in = job->in;
    if (d.shared && job->in == job->out) {
        /* Kernels would overwrite the input that a retry starts from. */
        if (!job->saved) {
            job->saved = malloc(job->bytes);
            if (!job->saved)
                return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "copy of a %zu-byte input", job->bytes);
            memcpy(job->saved, job->in, job->bytes);
        }
        in = job->saved;
    }
    zc_devbuf *src = NULL, *dst = NULL;
    zc_status st = zc_zk_stage_out(&d, job->out, job->bytes, &dst);
    if (st == ZC_OK)
        st = d.shared ? zc_zk_stage_in(&d, in, job->bytes, &src) : zc_buf_write(dst, 0, in, job->bytes);
    zc_ntt_engine e;
    zc_ntt_engine_init(&e, &d);
    if (st == ZC_OK)
        st = zc_ntt_engine_run(&e, src ? src : dst, dst, job->log_rows, job->cols, job->p->inverse,
                               bit_reversed_in(job->p->order), bit_reversed_out(job->p->order), job->p->coset);
    if (st == ZC_OK)
        st = zc_zk_stage_finish(&d, dst, job->out, job->bytes);
    zc_ntt_engine_free(&e);
    zc_buf_free(src);
    zc_buf_free(dst);
    return st;
}

static zc_status check_params(const zc_ntt_params *p, const zc_field_desc **f)
{
    if (!p)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "params must not be NULL");
    if (!(*f = zc_field_lookup(p->field)))
        return ZC_ERR_INVALID_ARGUMENT;
    if ((unsigned)p->order > ZC_NTT_RR)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown NTT order %d", (int)p->order);
    return ZC_OK;
}

static zc_status log2_rows(const zc_field_desc *f, size_t rows, uint32_t *log_rows)
{
    if (rows == 0 || (rows & (rows - 1)))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "the number of rows must be a power of two, got %zu", rows);
    uint32_t k = 0;
    while (((size_t)1 << k) < rows)
        k++;
    if (k > ZC_NTT_MAX_LOG_ROWS)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%zu rows exceed the largest %s transform of 2^%d", rows, f->name,
                      ZC_NTT_MAX_LOG_ROWS);
    *log_rows = k;
    return ZC_OK;
}

zc_status zc_ntt(int *device, const zc_ntt_params *params, const void *in, void *out, size_t rows, size_t cols)
{
    const zc_field_desc *f = NULL;
    ZC_CHECK(check_params(params, &f));
    if (!device || !in || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, in and out must not be NULL");
    ntt_job job = {.p = params, .f = f, .in = in, .out = out, .rows = rows, .cols = cols, .blowup = 1};
    ZC_CHECK(zc_field_bytes(f, rows, cols, &job.bytes));
    ZC_CHECK(log2_rows(f, rows, &job.log_rows));
    if ((const char *)in != (const char *)out && (const char *)in < (const char *)out + job.bytes &&
        (const char *)out < (const char *)in + job.bytes)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "in and out overlap without being the same array");
    ZC_CHECK(zc_field_check(f, in, rows * cols, "input"));
    zc_status st = zc_run(device, "ntt", ntt_op, &job);
    free(job.saved);
    return st;
}

static zc_status lde_op(int dev, void *user)
{
    const ntt_job *job = user;
    zc_zk_dev d;
    ZC_CHECK(zc_zk_dev_open(dev, job->f, &d));
    size_t in_bytes = job->bytes, out_bytes = job->bytes * job->blowup;
    uint32_t log_out = job->log_rows;
    while (((size_t)1 << log_out) < job->rows * job->blowup)
        log_out++;
    /* Interpolate into the top rows of out, zero the rest, evaluate. */
    zc_devbuf *src = NULL, *dst = NULL;
    zc_status st = zc_zk_stage_out(&d, job->out, out_bytes, &dst);
    if (st == ZC_OK && d.shared) {
        memset((char *)job->out + in_bytes, 0, out_bytes - in_bytes);
        st = zc_zk_stage_in(&d, job->in, in_bytes, &src);
    } else if (st == ZC_OK) {
        /* out is about to be overwritten: it stages the zero rows. */
        memset((char *)job->out + in_bytes, 0, out_bytes - in_bytes);
        st = zc_buf_write(dst, in_bytes, (char *)job->out + in_bytes, out_bytes - in_bytes);
        if (st == ZC_OK)
            st = zc_buf_write(dst, 0, job->in, in_bytes);
    }
    zc_ntt_engine e;
    zc_ntt_engine_init(&e, &d);
    if (st == ZC_OK)
        st = zc_ntt_engine_run(&e, src ? src : dst, dst, job->log_rows, job->cols, 1, bit_reversed_in(job->p->order),
                               0, 0);
    if (st == ZC_OK)
        st = zc_ntt_engine_run(&e, dst, dst, log_out, job->cols, 0, 0, bit_reversed_out(job->p->order),
                               job->p->coset);
    if (st == ZC_OK)
        st = zc_zk_stage_finish(&d, dst, job->out, out_bytes);
    zc_ntt_engine_free(&e);
    zc_buf_free(src);
    zc_buf_free(dst);
    return st;
}

zc_status zc_lde(int *device, const zc_ntt_params *params, uint32_t blowup, const void *in, void *out, size_t rows,
                 size_t cols)
{
    const zc_field_desc *f = NULL;
    ZC_CHECK(check_params(params, &f));
    if (!device || !in || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, in and out must not be NULL");
    if (params->inverse)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a low-degree extension is a forward transform (inverse = 0)");
    if (blowup != 2 && blowup != 4 && blowup != 8)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "blowup must be 2, 4 or 8, got %u", blowup);
    ntt_job job = {.p = params, .f = f, .in = in, .out = out, .rows = rows, .cols = cols, .blowup = blowup};
    ZC_CHECK(zc_field_bytes(f, rows, cols, &job.bytes));
    ZC_CHECK(log2_rows(f, rows, &job.log_rows));
    size_t out_bytes;
    ZC_CHECK(zc_field_bytes(f, rows * blowup, cols, &out_bytes));
    uint32_t log_out;
    ZC_CHECK(log2_rows(f, rows * blowup, &log_out));
    if ((const char *)in < (const char *)out + out_bytes && (const char *)out < (const char *)in + job.bytes)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "in and out must not overlap");
    ZC_CHECK(zc_field_check(f, in, rows * cols, "input"));
    return zc_run(device, "lde", lde_op, &job);
}
