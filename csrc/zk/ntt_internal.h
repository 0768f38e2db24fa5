/* Internal interface of the field, NTT and polynomial modules (field.c,
 * ntt.c, poly.c): field descriptions, input checks, the twiddle cache,
 * device staging and the transform engine. */
#ifndef ZC_ZK_NTT_INTERNAL_H
#define ZC_ZK_NTT_INTERNAL_H

#include "zkclob/device.h"
#include "zkclob/zk.h"

typedef struct zc_field_desc {
    zc_field id;
    const char *name;  /* "BabyBear", "Goldilocks" (messages) */
    const char *key;   /* "babybear", "goldilocks" (zc_field_info) */
    uint64_t modulus;
    size_t esz;
    uint64_t generator;
    uint32_t two_adicity;
    /* kernels of kernels/ntt.h for this field */
    const char *k_pass, *k_scale, *k_pointwise, *k_eval_partial, *k_eval_combine, *k_batch_inv, *k_bitrev;
} zc_field_desc;

/* NULL (with the error set) for an unknown field. */
const zc_field_desc *zc_field_lookup(zc_field field);

/* Host arithmetic on multiplier-form values (kernels/ntt.h). */
uint64_t zc_fd_mform(const zc_field_desc *f, uint64_t x);
uint64_t zc_fd_unmform(const zc_field_desc *f, uint64_t x);
uint64_t zc_fd_one(const zc_field_desc *f);
uint64_t zc_fd_mul(const zc_field_desc *f, uint64_t a, uint64_t b);
uint64_t zc_fd_inv(const zc_field_desc *f, uint64_t a);
uint64_t zc_fd_root(const zc_field_desc *f, uint32_t bits);
/* A constant as a kernel argument: u32 for BabyBear, u64 for Goldilocks. */
zc_karg zc_fd_arg(const zc_field_desc *f, uint64_t v);

/* ZC_ERR_OUT_OF_RANGE naming the first of count elements that is >= p. */
zc_status zc_field_check(const zc_field_desc *f, const void *data, size_t count, const char *what);
/* rows * cols * esz bytes without overflow, or ZC_ERR_INVALID_ARGUMENT. */
zc_status zc_field_bytes(const zc_field_desc *f, size_t rows, size_t cols, size_t *bytes);

/* Twiddle tables (layout in kernels/ntt.h), one per field and direction,
 * built once for the largest size asked so far and shared read-only. A
 * reference keeps a table alive after a larger one replaces it. */
typedef struct zc_twiddles zc_twiddles;
zc_status zc_twiddles_acquire(const zc_field_desc *f, int inverse, uint32_t log_rows, zc_twiddles **out);
void zc_twiddles_release(zc_twiddles *t);
const void *zc_twiddles_data(const zc_twiddles *t);

/* A device as the zk modules use it. */
typedef struct zc_zk_dev {
    int dev;
    int shared;    /* buffers are host memory: wrap caller arrays, no copies */
    int cpu_style; /* cache-blocked passes and tiled bit reversal (not a GPU) */
    const zc_field_desc *f;
} zc_zk_dev;

zc_status zc_zk_dev_open(int dev, const zc_field_desc *f, zc_zk_dev *out);
/* A device buffer holding `bytes` of host data: wraps it on shared devices
 * (kernels only read it), else allocates and copies. */
zc_status zc_zk_stage_in(const zc_zk_dev *d, const void *host, size_t bytes, zc_devbuf **out);
/* A device buffer for results destined to host memory: wraps it on shared
 * devices, else allocates; zc_zk_stage_finish copies the results back. */
zc_status zc_zk_stage_out(const zc_zk_dev *d, void *host, size_t bytes, zc_devbuf **out);
zc_status zc_zk_stage_finish(const zc_zk_dev *d, zc_devbuf *b, void *host, size_t bytes);

/* Runs transforms on one device: twiddle buffers are made on first use per
 * direction and kept until zc_ntt_engine_free. */
typedef struct zc_ntt_engine {
    zc_zk_dev d;
    zc_twiddles *host_tw[2];
    zc_devbuf *tw[2];
    uint32_t tw_log[2]; /* rows covered by tw: 2^tw_log */
} zc_ntt_engine;

void zc_ntt_engine_init(zc_ntt_engine *e, const zc_zk_dev *d);
void zc_ntt_engine_free(zc_ntt_engine *e);
/* One transform of the 2^log_rows x cols matrix in src into dst (src == dst
 * in place); in_rev / out_rev select bit-reversed input / output order. */
zc_status zc_ntt_engine_run(zc_ntt_engine *e, zc_devbuf *src, zc_devbuf *dst, uint32_t log_rows, size_t cols,
                            int inverse, int in_rev, int out_rev, int coset);
/* a[k] = a[k] * b[k] * c for k < n (c canonical). */
zc_status zc_ntt_engine_pointwise(zc_ntt_engine *e, zc_devbuf *a, zc_devbuf *b, size_t n, uint64_t c);

#endif
