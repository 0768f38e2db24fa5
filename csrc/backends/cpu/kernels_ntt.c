/* cpu entries of kernels/ntt.h: loops over the single-source work items, with
 * the AVX2 NTT stages for BabyBear when the CPU has them. Argument lists are
 * those of kernels/opencl/ntt.cl. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../../../kernels/ntt.h"
#include "cpu_kernels.h"
#include "kernels_ntt.h"

/* -1 until first use, then a zc_simd_level. */
static atomic_int simd_level = -1;

zc_simd_level zc_cpu_simd_best(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return ZC_SIMD_AVX2;
#endif
    return ZC_SIMD_SCALAR;
}

zc_simd_level zc_cpu_simd_get(void)
{
    int level = atomic_load(&simd_level);
    if (level < 0) {
        const char *env = getenv("ZC_NO_SIMD");
        int off = env && env[0] && !(env[0] == '0' && env[1] == '\0');
        level = off ? ZC_SIMD_SCALAR : (int)zc_cpu_simd_best();
        int expected = -1;
        if (!atomic_compare_exchange_strong(&simd_level, &expected, level))
            level = expected; /* another thread (or zc_cpu_simd_set) got there first */
    }
    return (zc_simd_level)level;
}

void zc_cpu_simd_set(zc_simd_level level) { atomic_store(&simd_level, (int)level); }

/* Work items of an NTT pass (kernels/ntt.h). A group's rows lie a power of
 * two apart, so done in place its lanes would all compete for the same
 * cache sets: unless they are whole rows (one contiguous block), they are
 * gathered into consecutive rows of a scratch buffer, transformed there and
 * scattered back. The host's cpu plans keep a group within GROUP_BYTES; the
 * scratch is allocated once per chunk of items (without it, or for a larger
 * group, the items run in place). */
#define GROUP_BYTES (256u << 10)

/* The stages and scaling of one group (zc_ntt_group_F), rows `stride` apart. */
typedef void (*group_fn)(void *x, uint64_t stride, const zc_karg *args, uint64_t q0, uint64_t n);

/* args: src, dst, tw, rows, cols, s0, s, dif, lanes, scale */
static void pass_items(const zc_karg *args, size_t begin, size_t end, size_t esz, group_fn group)
{
    const uint8_t *src = zc_cpu_ptr(&args[0]);
    uint8_t *dst = zc_cpu_ptr(&args[1]);
    uint64_t cols = args[4].v.u64, lanes = args[8].v.u64;
    uint32_t s0 = args[5].v.u32, s = args[6].v.u32;
    uint64_t width = cols << s0, chunks = (width + lanes - 1) / lanes, nrows = (uint64_t)1 << s;
    uint8_t *scratch = lanes < width ? aligned_alloc(64, GROUP_BYTES) : NULL;
    for (size_t item = begin; item < end; item++) {
        uint64_t q0 = item % chunks * lanes;
        uint64_t n = q0 + lanes < width ? lanes : width - q0;
        size_t base = (item / chunks * (width << s) + q0) * esz, row = width * esz, bytes = n * esz;
        if (n == width || !scratch || nrows * bytes > GROUP_BYTES) {
            if (src != dst)
                for (uint64_t j = 0; j < nrows; j++)
                    memcpy(dst + base + j * row, src + base + j * row, bytes);
            group(dst + base, width, args, q0, n);
            continue;
        }
        for (uint64_t j = 0; j < nrows; j++)
            memcpy(scratch + j * bytes, src + base + j * row, bytes);
        group(scratch, n, args, q0, n);
        for (uint64_t j = 0; j < nrows; j++)
            memcpy(dst + base + j * row, scratch + j * bytes, bytes);
    }
    free(scratch);
}

static void group_bb(void *x, uint64_t stride, const zc_karg *args, uint64_t q0, uint64_t n)
{
    zc_ntt_group_bb(x, stride, zc_cpu_ptr(&args[2]), args[4].v.u64, args[5].v.u32, args[6].v.u32, args[7].v.u32, q0,
                    n, args[9].v.u32);
}

#if defined(__x86_64__) || defined(__i386__)
static void group_bb_avx2(void *x, uint64_t stride, const zc_karg *args, uint64_t q0, uint64_t n)
{
    zc_avx2_ntt_group_bb(x, stride, zc_cpu_ptr(&args[2]), args[4].v.u64, args[5].v.u32, args[6].v.u32,
                         args[7].v.u32, q0, n, args[9].v.u32);
}
#endif

static void group_gl(void *x, uint64_t stride, const zc_karg *args, uint64_t q0, uint64_t n)
{
    zc_ntt_group_gl(x, stride, zc_cpu_ptr(&args[2]), args[4].v.u64, args[5].v.u32, args[6].v.u32, args[7].v.u32, q0,
                    n, args[9].v.u64);
}

void zc_cpu_ntt_pass_bb(const zc_karg *args, size_t begin, size_t end)
{
#if defined(__x86_64__) || defined(__i386__)
    if (zc_cpu_simd_get() == ZC_SIMD_AVX2) {
        pass_items(args, begin, end, sizeof(uint32_t), group_bb_avx2);
        return;
    }
#endif
    pass_items(args, begin, end, sizeof(uint32_t), group_bb);
}

void zc_cpu_ntt_pass_gl(const zc_karg *args, size_t begin, size_t end)
{
    pass_items(args, begin, end, sizeof(uint64_t), group_gl);
}

/* args: src, dst, rows, cols, c, h. A chunk of rows walks the powers of h
 * instead of one pow per row. */
void zc_cpu_ntt_scale_bb(const zc_karg *args, size_t begin, size_t end)
{
    zc_ntt_scale_rows_bb(zc_cpu_ptr(&args[0]), zc_cpu_ptr(&args[1]), args[3].v.u64, args[4].v.u32, args[5].v.u32,
                         begin, end);
}

void zc_cpu_ntt_scale_gl(const zc_karg *args, size_t begin, size_t end)
{
    zc_ntt_scale_rows_gl(zc_cpu_ptr(&args[0]), zc_cpu_ptr(&args[1]), args[3].v.u64, args[4].v.u64, args[5].v.u64,
                         begin, end);
}

/* args: a, b, n, k */
void zc_cpu_ntt_pointwise_bb(const zc_karg *args, size_t begin, size_t end)
{
    zc_ntt_pointwise_range_bb(zc_cpu_ptr(&args[0]), zc_cpu_ptr(&args[1]), args[3].v.u32, begin, end);
}

void zc_cpu_ntt_pointwise_gl(const zc_karg *args, size_t begin, size_t end)
{
    zc_ntt_pointwise_range_gl(zc_cpu_ptr(&args[0]), zc_cpu_ptr(&args[1]), args[3].v.u64, begin, end);
}

/* args: coeffs, n, points, m, chunk, nchunks, partial */
void zc_cpu_poly_eval_partial_bb(const zc_karg *args, size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++)
        zc_poly_eval_partial_item_bb(zc_cpu_ptr(&args[0]), args[1].v.u64, zc_cpu_ptr(&args[2]), args[4].v.u64,
                                     args[5].v.u64, zc_cpu_ptr(&args[6]), i);
}

void zc_cpu_poly_eval_partial_gl(const zc_karg *args, size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++)
        zc_poly_eval_partial_item_gl(zc_cpu_ptr(&args[0]), args[1].v.u64, zc_cpu_ptr(&args[2]), args[4].v.u64,
                                     args[5].v.u64, zc_cpu_ptr(&args[6]), i);
}

/* args: points, m, partial, chunk, nchunks, out */
void zc_cpu_poly_eval_combine_bb(const zc_karg *args, size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++)
        zc_poly_eval_combine_item_bb(zc_cpu_ptr(&args[0]), zc_cpu_ptr(&args[2]), args[3].v.u64, args[4].v.u64,
                                     zc_cpu_ptr(&args[5]), i);
}

void zc_cpu_poly_eval_combine_gl(const zc_karg *args, size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++)
        zc_poly_eval_combine_item_gl(zc_cpu_ptr(&args[0]), zc_cpu_ptr(&args[2]), args[3].v.u64, args[4].v.u64,
                                     zc_cpu_ptr(&args[5]), i);
}

/* args: in, out, n, chunk */
void zc_cpu_batch_inv_bb(const zc_karg *args, size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++)
        zc_batch_inv_item_bb(zc_cpu_ptr(&args[0]), zc_cpu_ptr(&args[1]), args[2].v.u64, args[3].v.u64, i);
}

void zc_cpu_batch_inv_gl(const zc_karg *args, size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++)
        zc_batch_inv_item_gl(zc_cpu_ptr(&args[0]), zc_cpu_ptr(&args[1]), args[2].v.u64, args[3].v.u64, i);
}

/* Bit reversal by the tiles of zc_ntt_bitrev_item (same items and results).
 * The 2^t runs of a tile lie a power of two apart, so each tile goes through
 * a buffer: runs are read and written whole, one at a time, instead of
 * interleaved element by element across conflicting cache sets. */
/* Constant sizes let the compiler inline one-element rows, the common case. */
static void copy_row(uint8_t *to, const uint8_t *from, size_t row)
{
    if (row == 4)
        memcpy(to, from, 4);
    else if (row == 8)
        memcpy(to, from, 8);
    else
        memcpy(to, from, row);
}

static void load_tile(uint8_t *buf, const uint8_t *src, uint64_t b, uint32_t t, uint32_t shift, size_t row)
{
    uint64_t side = (uint64_t)1 << t;
    for (uint64_t a = 0; a < side; a++)
        memcpy(buf + a * side * row, src + ((a << shift) | (b << t)) * row, side * row);
}

/* Tile `buf` (rows (a, c)) to rows (rev c, br, rev a) of dst. */
static void store_tile(uint8_t *dst, const uint8_t *buf, uint64_t br, uint32_t t, uint32_t shift, size_t row,
                       const uint32_t *rev)
{
    uint64_t side = (uint64_t)1 << t;
    for (uint64_t r = 0; r < side; r++) {
        uint8_t *out = dst + ((r << shift) | (br << t)) * row;
        for (uint64_t k = 0; k < side; k++)
            copy_row(out + k * row, buf + (rev[k] * side + rev[r]) * row, row);
    }
}

/* args: src, dst, log_rows, cols, t */
static void bitrev_items(const zc_karg *args, size_t begin, size_t end, size_t esz)
{
    const uint8_t *src = zc_cpu_ptr(&args[0]);
    uint8_t *dst = zc_cpu_ptr(&args[1]);
    uint32_t log_rows = args[2].v.u32, t = args[4].v.u32, shift = log_rows - t;
    size_t row = args[3].v.u64 * esz, tile = row << (2 * t);
    /* One tile buffer, two for in-place swaps; single rows need none. */
    size_t stride = (tile + 63) / 64 * 64;
    uint8_t *buf = t > 0 && t <= ZC_NTT_BITREV_MAX_TILE_BITS ? aligned_alloc(64, 2 * stride) : NULL;
    uint8_t *other = buf ? buf + stride : NULL;
    uint32_t rev[1u << ZC_NTT_BITREV_MAX_TILE_BITS];
    for (uint64_t k = 0; buf && k < ((uint64_t)1 << t); k++)
        rev[k] = (uint32_t)zc_bitrev64(k, t);
    for (size_t b = begin; b < end; b++) {
        uint64_t br = zc_bitrev64(b, log_rows - 2 * t);
        if (!buf) {
            if (esz == 4)
                zc_ntt_bitrev_item_u32((const uint32_t *)src, (uint32_t *)dst, log_rows, args[3].v.u64, t, b);
            else
                zc_ntt_bitrev_item_u64((const uint64_t *)src, (uint64_t *)dst, log_rows, args[3].v.u64, t, b);
            continue;
        }
        int swap = src == dst && b != br;
        if (src == dst && b > br)
            continue; /* in place, the smaller of b and rev b swaps the pair */
        load_tile(buf, src, b, t, shift, row);
        if (swap)
            load_tile(other, src, br, t, shift, row);
        store_tile(dst, buf, br, t, shift, row, rev);
        if (swap)
            store_tile(dst, other, b, t, shift, row, rev);
    }
    free(buf);
}

void zc_cpu_ntt_bitrev_u32(const zc_karg *args, size_t begin, size_t end)
{
    bitrev_items(args, begin, end, sizeof(uint32_t));
}

void zc_cpu_ntt_bitrev_u64(const zc_karg *args, size_t begin, size_t end)
{
    bitrev_items(args, begin, end, sizeof(uint64_t));
}
