/* Fields: descriptions, host arithmetic, input checks, the twiddle cache and
 * device staging shared by the NTT and polynomial modules. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/ntt.h"
#include "../backends/cpu/kernels_ntt.h"
#include "../core/internal.h"
#include "ntt_internal.h"

static const zc_field_desc fields[] = {
    {ZC_FIELD_BABYBEAR, "BabyBear", "babybear", ZC_BB_P, 4, ZC_BB_GENERATOR, ZC_BB_TWO_ADICITY, "zc_ntt_pass_bb",
     "zc_ntt_scale_bb", "zc_ntt_pointwise_bb", "zc_poly_eval_partial_bb", "zc_poly_eval_combine_bb",
     "zc_batch_inv_bb", "zc_ntt_bitrev_u32"},
    {ZC_FIELD_GOLDILOCKS, "Goldilocks", "goldilocks", ZC_GL_P, 8, ZC_GL_GENERATOR, ZC_GL_TWO_ADICITY,
     "zc_ntt_pass_gl", "zc_ntt_scale_gl", "zc_ntt_pointwise_gl", "zc_poly_eval_partial_gl",
     "zc_poly_eval_combine_gl", "zc_batch_inv_gl", "zc_ntt_bitrev_u64"},
};

const zc_field_desc *zc_field_lookup(zc_field field)
{
    if ((unsigned)field >= sizeof fields / sizeof fields[0]) {
        ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown field %d (use ZC_FIELD_BABYBEAR or ZC_FIELD_GOLDILOCKS)", (int)field);
        return NULL;
    }
    return &fields[field];
}

static int is_bb(const zc_field_desc *f) { return f->id == ZC_FIELD_BABYBEAR; }

uint64_t zc_fd_mform(const zc_field_desc *f, uint64_t x) { return is_bb(f) ? zc_bb_mform((uint32_t)x) : x; }

uint64_t zc_fd_unmform(const zc_field_desc *f, uint64_t x) { return is_bb(f) ? zc_bb_unmform((uint32_t)x) : x; }

uint64_t zc_fd_one(const zc_field_desc *f) { return is_bb(f) ? zc_bb_one() : zc_gl_one(); }

uint64_t zc_fd_mul(const zc_field_desc *f, uint64_t a, uint64_t b)
{
    return is_bb(f) ? zc_bb_mul((uint32_t)a, (uint32_t)b) : zc_gl_mul(a, b);
}

uint64_t zc_fd_inv(const zc_field_desc *f, uint64_t a) { return is_bb(f) ? zc_bb_inv((uint32_t)a) : zc_gl_inv(a); }

uint64_t zc_fd_root(const zc_field_desc *f, uint32_t bits)
{
    return is_bb(f) ? zc_bb_two_adic_root(bits) : zc_gl_two_adic_root(bits);
}

zc_karg zc_fd_arg(const zc_field_desc *f, uint64_t v) { return is_bb(f) ? zc_arg_u32((uint32_t)v) : zc_arg_u64(v); }

/* Index of the first element >= p, or count. The block maximum keeps the
 * common all-valid case a branch-free loop. */
#define FIRST_UNREDUCED(T)                                                                                          \
    static size_t first_unreduced_##T(const T *x, size_t count, T p)                                                \
    {                                                                                                               \
        for (size_t i = 0; i < count; i += 4096) {                                                                  \
            size_t end = count - i < 4096 ? count : i + 4096;                                                       \
            T max = 0;                                                                                              \
            for (size_t k = i; k < end; k++)                                                                        \
                max = x[k] > max ? x[k] : max;                                                                      \
            if (max >= p)                                                                                           \
                for (size_t k = i; k < end; k++)                                                                    \
                    if (x[k] >= p)                                                                                  \
                        return k;                                                                                   \
        }                                                                                                           \
        return count;                                                                                               \
    }

FIRST_UNREDUCED(uint32_t)
FIRST_UNREDUCED(uint64_t)

zc_status zc_field_check(const zc_field_desc *f, const void *data, size_t count, const char *what)
{
    size_t i = is_bb(f) ? first_unreduced_uint32_t(data, count, ZC_BB_P)
                        : first_unreduced_uint64_t(data, count, ZC_GL_P);
    if (i == count)
        return ZC_OK;
    unsigned long long v = is_bb(f) ? ((const uint32_t *)data)[i] : ((const uint64_t *)data)[i];
    return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%s element %zu is %llu, not a canonical %s element (must be < p = %llu)",
                  what, i, v, f->name, (unsigned long long)f->modulus);
}

zc_status zc_field_bytes(const zc_field_desc *f, size_t rows, size_t cols, size_t *bytes)
{
    if (rows == 0 || cols == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "empty input (%zu x %zu)", rows, cols);
    if (rows > SIZE_MAX / cols || rows * cols > SIZE_MAX / f->esz)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu x %zu elements overflow size_t", rows, cols);
    *bytes = rows * cols * f->esz;
    return ZC_OK;
}

/* ---- public field queries ---- */

zc_status zc_field_info_get(zc_field field, zc_field_info *out)
{
    const zc_field_desc *f = zc_field_lookup(field);
    if (!f)
        return ZC_ERR_INVALID_ARGUMENT;
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    out->name = f->key;
    out->modulus = f->modulus;
    out->elem_size = f->esz;
    out->generator = f->generator;
    out->two_adicity = f->two_adicity;
    return ZC_OK;
}

zc_status zc_field_two_adic_generator(zc_field field, uint32_t bits, uint64_t *out)
{
    const zc_field_desc *f = zc_field_lookup(field);
    if (!f)
        return ZC_ERR_INVALID_ARGUMENT;
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    if (bits > f->two_adicity)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%s has two-adicity %u: no primitive 2^%u-th root of unity", f->name,
                      f->two_adicity, bits);
    *out = zc_fd_unmform(f, zc_fd_root(f, bits));
    return ZC_OK;
}

zc_simd_level zc_zk_simd_get(void) { return zc_cpu_simd_get(); }

zc_simd_level zc_zk_simd_best(void) { return zc_cpu_simd_best(); }

zc_status zc_zk_simd_set(zc_simd_level level)
{
    if (level != ZC_SIMD_SCALAR && level != ZC_SIMD_AVX2)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown SIMD level %d", (int)level);
    if (level > zc_cpu_simd_best())
        return ZC_ERR(ZC_ERR_UNSUPPORTED, "this CPU has no AVX2");
    zc_cpu_simd_set(level);
    return ZC_OK;
}

/* ---- twiddle cache ---- */

struct zc_twiddles {
    int refs; /* under cache_lock; the cache holds one while the table is current */
    uint32_t log_rows;
    void *data;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static zc_twiddles *cache[2][2]; /* [field][inverse] */

/* tw[m + t] = w_2m^t for m = 2^st < 2^log_rows: the top stage as successive
 * powers, each lower stage as every other entry of the stage above. */
#define BUILD_TABLE(T, F)                                                                                           \
    static void build_##F(T *tw, uint32_t log_rows, int inverse)                                                    \
    {                                                                                                               \
        size_t n = (size_t)1 << log_rows;                                                                           \
        tw[0] = 0;                                                                                                  \
        if (log_rows == 0)                                                                                          \
            return;                                                                                                 \
        T w = zc_##F##_two_adic_root(log_rows);                                                                     \
        if (inverse)                                                                                                \
            w = zc_##F##_inv(w);                                                                                    \
        T x = zc_##F##_one();                                                                                       \
        for (size_t t = 0; t < n / 2; t++) {                                                                        \
            tw[n / 2 + t] = x;                                                                                      \
            x = zc_##F##_mul(x, w);                                                                                 \
        }                                                                                                           \
        for (size_t m = n / 4; m >= 1; m /= 2)                                                                      \
            for (size_t t = 0; t < m; t++)                                                                          \
                tw[m + t] = tw[2 * m + 2 * t];                                                                      \
    }

BUILD_TABLE(uint32_t, bb)
BUILD_TABLE(uint64_t, gl)

static void release_locked(zc_twiddles *t)
{
    if (--t->refs == 0) {
        free(t->data);
        free(t);
    }
}

zc_status zc_twiddles_acquire(const zc_field_desc *f, int inverse, uint32_t log_rows, zc_twiddles **out)
{
    pthread_mutex_lock(&cache_lock);
    zc_twiddles **slot = &cache[f->id][inverse ? 1 : 0];
    zc_twiddles *t = *slot;
    if (!t || t->log_rows < log_rows) {
        size_t bytes = ((size_t)f->esz << log_rows) + 63;
        t = malloc(sizeof *t);
        void *data = t ? aligned_alloc(64, bytes / 64 * 64) : NULL;
        if (!data) {
            free(t);
            pthread_mutex_unlock(&cache_lock);
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%s twiddle table of 2^%u entries", f->name, log_rows);
        }
        if (is_bb(f))
            build_bb(data, log_rows, inverse);
        else
            build_gl(data, log_rows, inverse);
        t->refs = 1;
        t->log_rows = log_rows;
        t->data = data;
        if (*slot)
            release_locked(*slot);
        *slot = t;
    }
    t->refs++;
    pthread_mutex_unlock(&cache_lock);
    *out = t;
    return ZC_OK;
}

void zc_twiddles_release(zc_twiddles *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&cache_lock);
    release_locked(t);
    pthread_mutex_unlock(&cache_lock);
}

const void *zc_twiddles_data(const zc_twiddles *t) { return t->data; }

/* ---- devices and staging ---- */

zc_status zc_zk_dev_open(int dev, const zc_field_desc *f, zc_zk_dev *out)
{
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(dev, &info));
    out->dev = dev;
    out->shared = (info.caps & ZC_CAP_HOST_SHARED) != 0;
    out->cpu_style = info.backend == ZC_BACKEND_CPU || !(info.caps & ZC_CAP_GPU);
    out->f = f;
    return ZC_OK;
}

zc_status zc_zk_stage_in(const zc_zk_dev *d, const void *host, size_t bytes, zc_devbuf **out)
{
    if (d->shared)
        return zc_buf_wrap(d->dev, (void *)host, bytes, out);
    ZC_CHECK(zc_buf_alloc(d->dev, bytes, out));
    zc_status st = zc_buf_write(*out, 0, host, bytes);
    if (st != ZC_OK) {
        zc_buf_free(*out);
        *out = NULL;
    }
    return st;
}

zc_status zc_zk_stage_out(const zc_zk_dev *d, void *host, size_t bytes, zc_devbuf **out)
{
    return d->shared ? zc_buf_wrap(d->dev, host, bytes, out) : zc_buf_alloc(d->dev, bytes, out);
}

zc_status zc_zk_stage_finish(const zc_zk_dev *d, zc_devbuf *b, void *host, size_t bytes)
{
    return d->shared ? ZC_OK : zc_buf_read(b, 0, host, bytes);
}
