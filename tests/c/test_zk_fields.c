/* BabyBear and Goldilocks: field laws against 128-bit reference arithmetic,
 * Montgomery round trips, inverses, the two-adic generators against the
 * Plonky3 vector files, NTTs against a naive DFT, AVX2 == scalar, and bad
 * input. Runs on the cpu device only so that it stays fast under valgrind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "field_babybear.h"
#include "field_goldilocks.h"
#include "zkclob/zkclob.h"

typedef unsigned __int128 u128;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* splitmix64 */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform-ish canonical elements with the edges 0, 1, p - 1 mixed in. */
static uint64_t rnd_elem(uint64_t p)
{
    uint64_t r = rnd();
    switch (r & 15) {
    case 0: return 0;
    case 1: return 1;
    case 2: return p - 1;
    default: return (rnd() % p);
    }
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t p) { return (uint64_t)((u128)a * b % p); }

static uint64_t powmod(uint64_t a, uint64_t e, uint64_t p)
{
    uint64_t r = 1 % p;
    for (; e; e >>= 1, a = mulmod(a, a, p))
        if (e & 1)
            r = mulmod(r, a, p);
    return r;
}

static int setup(void **state)
{
    (void)state;
    zc_config cfg = {.num_threads = 2, .disable_opencl = 1, .disable_cuda = 1};
    return zc_init(&cfg) == ZC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    zc_shutdown();
    return 0;
}

static void test_babybear_laws(void **state)
{
    (void)state;
    const uint64_t p = ZC_BB_P;
    assert_int_equal(ZC_BABYBEAR_P, p);
    assert_int_equal(((uint64_t)1 << 32) % p, ZC_BB_R_MOD_P);
    assert_int_equal(mulmod(ZC_BB_R_MOD_P, ZC_BB_R_MOD_P, p), ZC_BB_R2_MOD_P);
    assert_int_equal((uint32_t)(p * ZC_BB_MU), 1u);
    assert_int_equal(zc_bb_one(), zc_bb_to_mont(1));
    for (int i = 0; i < 200000; i++) {
        uint32_t a = (uint32_t)rnd_elem(p), b = (uint32_t)rnd_elem(p), c = (uint32_t)rnd_elem(p);
        uint32_t am = zc_bb_to_mont(a), bm = zc_bb_to_mont(b), cm = zc_bb_to_mont(c);
        assert_int_equal(zc_bb_from_mont(am), a); /* round trip */
        assert_true(am < p);
        assert_int_equal(am, mulmod(a, ZC_BB_R_MOD_P, p));
        assert_int_equal(zc_bb_add(a, b), (a + (uint64_t)b) % p);
        assert_int_equal(zc_bb_sub(a, b), (a + p - b) % p);
        assert_int_equal(zc_bb_neg(a), (p - a) % p);
        assert_int_equal(zc_bb_from_mont(zc_bb_mul(am, bm)), mulmod(a, b, p));
        assert_int_equal(zc_bb_mul_canonical(a, b), mulmod(a, b, p));
        assert_int_equal(zc_bb_mul(a, bm), mulmod(a, b, p)); /* canonical x Montgomery = canonical */
        assert_int_equal(zc_bb_from_mont(zc_bb_square(am)), mulmod(a, a, p));
        assert_int_equal(zc_bb_mul(am, bm), zc_bb_mul(bm, am));
        assert_int_equal(zc_bb_mul(zc_bb_mul(am, bm), cm), zc_bb_mul(am, zc_bb_mul(bm, cm)));
        assert_int_equal(zc_bb_mul(am, zc_bb_add(bm, cm)), zc_bb_add(zc_bb_mul(am, bm), zc_bb_mul(am, cm)));
        uint64_t e = rnd() >> (rnd() & 63);
        assert_int_equal(zc_bb_from_mont(zc_bb_pow(am, e)), powmod(a, e, p));
        if (a) {
            assert_int_equal(zc_bb_mul(am, zc_bb_inv(am)), zc_bb_one());
            assert_int_equal(zc_bb_from_mont(zc_bb_pow(am, p - 1)), 1u);
        }
    }
    assert_int_equal(zc_bb_inv(0), 0u);
    /* Montgomery reduction at the top of its input range t < p * 2^32. */
    assert_int_equal(zc_bb_mont_reduce((uint64_t)(p - 1) * (p - 1)),
                     mulmod(mulmod(p - 1, p - 1, p), powmod(ZC_BB_R_MOD_P, p - 2, p), p));
}

static void test_goldilocks_laws(void **state)
{
    (void)state;
    const uint64_t p = ZC_GL_P;
    assert_true(ZC_GOLDILOCKS_P == p);
    for (int i = 0; i < 200000; i++) {
        uint64_t a = rnd_elem(p), b = rnd_elem(p), c = rnd_elem(p);
        assert_true(zc_gl_add(a, b) == (uint64_t)(((u128)a + b) % p));
        assert_true(zc_gl_sub(a, b) == (uint64_t)(((u128)a + p - b) % p));
        assert_true(zc_gl_neg(a) == (p - a) % p);
        assert_true(zc_gl_mul(a, b) == mulmod(a, b, p));
        assert_true(zc_gl_square(a) == mulmod(a, a, p));
        assert_true(zc_gl_mul(zc_gl_mul(a, b), c) == zc_gl_mul(a, zc_gl_mul(b, c)));
        assert_true(zc_gl_mul(a, zc_gl_add(b, c)) == zc_gl_add(zc_gl_mul(a, b), zc_gl_mul(a, c)));
        uint64_t e = rnd() >> (rnd() & 63);
        assert_true(zc_gl_pow(a, e) == powmod(a, e, p));
        if (a)
            assert_true(zc_gl_mul(a, zc_gl_inv(a)) == 1);
        /* The 128-bit reduction on arbitrary words, not only products. */
        uint64_t lo = rnd(), hi = (i & 1) ? rnd() : ~(uint64_t)0 - (rnd() & 0xffffffffu);
        assert_true(zc_gl_reduce128(lo, hi) == (uint64_t)((((u128)hi << 64) | lo) % p));
    }
    assert_true(zc_gl_reduce128(~(uint64_t)0, ~(uint64_t)0) == (uint64_t)(~(u128)0 % p));
    assert_true(zc_gl_reduce128(0, 0) == 0);
    assert_true(zc_gl_inv(0) == 0);
}

/* The "two_adic_generators" array of a vector file, as integers. */
static int read_generators(const char *file, uint64_t *out, int cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/../shared/vectors/%s", ZC_SOURCE_DIR, file);
    FILE *fp = fopen(path, "r");
    if (!fp)
        fail_msg("known-answer vectors missing: %s", path);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = '\0';
    const char *s = strstr(text, "\"two_adic_generators\"");
    assert_non_null(s);
    s = strchr(s, '[');
    const char *end = strchr(s, ']');
    int n = 0;
    while (n < cap && (s = strstr(s, "\"0x")) && s < end) {
        out[n++] = strtoull(s + 1, NULL, 16);
        s += 3;
    }
    return n;
}

static void test_two_adic_generators_match_plonky3(void **state)
{
    (void)state;
    uint64_t want[40];
    assert_int_equal(read_generators("ntt_babybear_two_adic.json", want, 40), 28);
    for (uint32_t k = 0; k <= 27; k++) {
        uint64_t got = 0;
        assert_int_equal(zc_field_two_adic_generator(ZC_FIELD_BABYBEAR, k, &got), ZC_OK);
        assert_true(got == want[k]);
        assert_int_equal(zc_bb_from_mont(zc_bb_two_adic_root(k)), want[k]);
    }
    assert_int_equal(powmod(ZC_BB_GENERATOR, (ZC_BB_P - 1) >> 27, ZC_BB_P), want[27]);
    assert_int_equal(read_generators("ntt_goldilocks_two_adic.json", want, 40), 33);
    for (uint32_t k = 0; k <= 32; k++) {
        uint64_t got = 0;
        assert_int_equal(zc_field_two_adic_generator(ZC_FIELD_GOLDILOCKS, k, &got), ZC_OK);
        assert_true(got == want[k]);
        assert_true(zc_gl_two_adic_root(k) == want[k]);
    }
    assert_true(powmod(ZC_GL_GENERATOR, (ZC_GL_P - 1) >> 32, ZC_GL_P) == want[32]);
    uint64_t x;
    assert_int_equal(zc_field_two_adic_generator(ZC_FIELD_BABYBEAR, 28, &x), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(zc_field_two_adic_generator(ZC_FIELD_GOLDILOCKS, 33, &x), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(zc_field_two_adic_generator((zc_field)7, 1, &x), ZC_ERR_INVALID_ARGUMENT);
    zc_field_info info;
    assert_int_equal(zc_field_info_get(ZC_FIELD_GOLDILOCKS, &info), ZC_OK);
    assert_string_equal(info.name, "goldilocks");
    assert_true(info.modulus == ZC_GL_P && info.elem_size == 8 && info.generator == 7 && info.two_adicity == 32);
}

/* y_i = sum_j x_j (s w^i)^j, column by column (naive O(n^2)). */
static void naive_dft(uint64_t p, uint64_t w, uint64_t s, const uint64_t *x, uint64_t *y, size_t n, size_t cols)
{
    for (size_t c = 0; c < cols; c++)
        for (size_t i = 0; i < n; i++) {
            uint64_t pt = mulmod(s, powmod(w, i, p), p), acc = 0;
            for (size_t j = n; j-- > 0;)
                acc = (uint64_t)(((u128)mulmod(acc, pt, p) + x[j * cols + c]) % p);
            y[i * cols + c] = acc;
        }
}

static size_t bitrev(size_t i, size_t n)
{
    size_t r = 0;
    for (size_t m = 1; m < n; m <<= 1, i >>= 1)
        r = (r << 1) | (i & 1);
    return r;
}

/* Every order, direction and coset flag against the naive DFT. */
static void check_ntt_against_dft(zc_field field, uint64_t p, size_t n, size_t cols)
{
    size_t esz = field == ZC_FIELD_BABYBEAR ? 4 : 8, count = n * cols;
    uint64_t *x = malloc(count * 8), *y = malloc(count * 8), *tmp = malloc(count * 8);
    void *in = malloc(count * esz), *out = malloc(count * esz);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(tmp);
    assert_non_null(in);
    assert_non_null(out);
    uint64_t w, g = field == ZC_FIELD_BABYBEAR ? ZC_BB_GENERATOR : ZC_GL_GENERATOR;
    uint32_t log = 0;
    while (((size_t)1 << log) < n)
        log++;
    assert_int_equal(zc_field_two_adic_generator(field, log, &w), ZC_OK);
    for (int inverse = 0; inverse < 2; inverse++)
        for (int coset = 0; coset < 2; coset++)
            for (int order = ZC_NTT_NN; order <= ZC_NTT_RR; order++) {
                for (size_t k = 0; k < count; k++)
                    x[k] = rnd_elem(p);
                /* Reference in natural order: the inverse maps y back to x. */
                uint64_t s = coset ? g : 1;
                uint64_t *nat_in = inverse ? y : x, *nat_out = inverse ? x : y;
                naive_dft(p, w, s, x, y, n, cols);
                int rev_in = order == ZC_NTT_RN || order == ZC_NTT_RR;
                int rev_out = order == ZC_NTT_NR || order == ZC_NTT_RR;
                for (size_t i = 0; i < n; i++)
                    for (size_t c = 0; c < cols; c++) {
                        uint64_t v = nat_in[(rev_in ? bitrev(i, n) : i) * cols + c];
                        if (esz == 4)
                            ((uint32_t *)in)[i * cols + c] = (uint32_t)v;
                        else
                            ((uint64_t *)in)[i * cols + c] = v;
                    }
                zc_ntt_params prm = {field, inverse, (zc_ntt_order)order, coset};
                int dev = 0;
                assert_int_equal(zc_ntt(&dev, &prm, in, out, n, cols), ZC_OK);
                for (size_t i = 0; i < n; i++)
                    for (size_t c = 0; c < cols; c++) {
                        size_t k = i * cols + c;
                        uint64_t got = esz == 4 ? ((uint32_t *)out)[k] : ((uint64_t *)out)[k];
                        uint64_t want = nat_out[(rev_out ? bitrev(i, n) : i) * cols + c];
                        if (got != want)
                            fail_msg("field %d n=%zu cols=%zu inverse=%d coset=%d order=%d row %zu col %zu: "
                                     "%llu != %llu",
                                     (int)field, n, cols, inverse, coset, order, i, c, (unsigned long long)got,
                                     (unsigned long long)want);
                    }
                /* In place gives the same. */
                memcpy(tmp, in, count * esz);
                assert_int_equal(zc_ntt(&dev, &prm, tmp, tmp, n, cols), ZC_OK);
                assert_memory_equal(tmp, out, count * esz);
            }
    free(x);
    free(y);
    free(tmp);
    free(in);
    free(out);
}

static void test_ntt_matches_naive_dft(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2, 4, 8, 16, 32, 64, 128};
    const size_t cols[] = {1, 3, 8};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            check_ntt_against_dft(ZC_FIELD_BABYBEAR, ZC_BB_P, sizes[i], cols[c]);
            check_ntt_against_dft(ZC_FIELD_GOLDILOCKS, ZC_GL_P, sizes[i], cols[c]);
        }
}

/* Transforms of random BabyBear matrices with the scalar and the AVX2 cpu
 * paths: every shape the AVX2 pass treats differently. */
static void test_avx2_equals_scalar(void **state)
{
    (void)state;
    if (zc_zk_simd_best() < ZC_SIMD_AVX2) {
        assert_int_equal(zc_zk_simd_set(ZC_SIMD_AVX2), ZC_ERR_UNSUPPORTED);
        skip();
    }
    zc_simd_level saved = zc_zk_simd_get();
    const size_t logs[] = {1, 2, 3, 4, 7, 12, 13, 15, 17};
    const size_t cols[] = {1, 2, 8, 16, 24, 5};
    for (size_t li = 0; li < sizeof logs / sizeof logs[0]; li++)
        for (size_t ci = 0; ci < sizeof cols / sizeof cols[0]; ci++) {
            size_t rows = (size_t)1 << logs[li], n = rows * cols[ci];
            if (n > ((size_t)1 << 18))
                continue;
            uint32_t *in = malloc(n * 4), *a = malloc(n * 4), *b = malloc(n * 4);
            assert_non_null(in);
            assert_non_null(a);
            assert_non_null(b);
            for (size_t k = 0; k < n; k++)
                in[k] = (uint32_t)rnd_elem(ZC_BB_P);
            for (int variant = 0; variant < 8; variant++) {
                zc_ntt_params prm = {ZC_FIELD_BABYBEAR, variant & 1, (zc_ntt_order)(variant >> 1), variant == 3};
                int dev = 0;
                assert_int_equal(zc_zk_simd_set(ZC_SIMD_SCALAR), ZC_OK);
                assert_int_equal(zc_ntt(&dev, &prm, in, a, rows, cols[ci]), ZC_OK);
                assert_int_equal(zc_zk_simd_set(ZC_SIMD_AVX2), ZC_OK);
                assert_int_equal(zc_ntt(&dev, &prm, in, b, rows, cols[ci]), ZC_OK);
                if (memcmp(a, b, n * 4) != 0)
                    fail_msg("AVX2 differs from scalar: rows=%zu cols=%zu variant=%d", rows, cols[ci], variant);
            }
            free(in);
            free(a);
            free(b);
        }
    assert_int_equal(zc_zk_simd_set(saved), ZC_OK);
}

static void test_polynomials(void **state)
{
    (void)state;
    /* (1 + 2x)(3 + x + x^2) = 3 + 7x + 3x^2 + 2x^3; at x = 2 it is 5 * 9 = 45. */
    uint32_t a[] = {1, 2}, b[] = {3, 1, 1}, prod[4], pts[] = {2, 0, ZC_BB_P - 1}, vals[3];
    int dev = 0;
    assert_int_equal(zc_poly_mul(&dev, ZC_FIELD_BABYBEAR, a, 2, b, 3, prod), ZC_OK);
    assert_int_equal(prod[0], 3);
    assert_int_equal(prod[1], 7);
    assert_int_equal(prod[2], 3);
    assert_int_equal(prod[3], 2);
    assert_int_equal(zc_poly_eval(&dev, ZC_FIELD_BABYBEAR, prod, 4, pts, 3, vals), ZC_OK);
    assert_int_equal(vals[0], 45);
    assert_int_equal(vals[1], 3);
    assert_int_equal(vals[2], ZC_BB_P - 3); /* at -1: 3 - 7 + 3 - 2 */
}

static void test_batch_inverse(void **state)
{
    (void)state;
    enum { N = 5000 };
    static uint64_t x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = 1 + rnd() % (ZC_GL_P - 1);
    int dev = 0;
    assert_int_equal(zc_batch_inverse(&dev, ZC_FIELD_GOLDILOCKS, x, y, N), ZC_OK);
    for (int i = 0; i < N; i++)
        assert_true(mulmod(x[i], y[i], ZC_GL_P) == 1);
    assert_int_equal(zc_batch_inverse(&dev, ZC_FIELD_GOLDILOCKS, y, y, N), ZC_OK); /* in place: back to x */
    assert_memory_equal(x, y, sizeof x);
    x[1234] = 0;
    assert_int_equal(zc_batch_inverse(&dev, ZC_FIELD_GOLDILOCKS, x, y, N), ZC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zc_last_error(), "element 1234 is zero"));
}

/* A transient fault in the middle of an in-place transform: the retry must
 * start again from the original input, not from half-transformed data. */
static void test_in_place_retry_restarts_from_the_input(void **state)
{
    (void)state;
    enum { ROWS = 1 << 14 };
    static uint32_t x[ROWS], want[ROWS];
    for (int i = 0; i < ROWS; i++)
        x[i] = (uint32_t)rnd_elem(ZC_BB_P);
    zc_ntt_params prm = {ZC_FIELD_BABYBEAR, 0, ZC_NTT_NN, 1};
    int dev = 0;
    assert_int_equal(zc_ntt(&dev, &prm, x, want, ROWS, 1), ZC_OK);
    zc_device_health before, after;
    assert_int_equal(zc_device_health_get(dev, &before), ZC_OK);
    /* The third launch (after the bit reversal and the coset scaling) fails once. */
    assert_int_equal(zc_fault_inject_set("cpu:launch:3"), ZC_OK);
    assert_int_equal(zc_ntt(&dev, &prm, x, x, ROWS, 1), ZC_OK);
    assert_int_equal(zc_fault_inject_set(""), ZC_OK);
    assert_int_equal(zc_device_health_get(dev, &after), ZC_OK);
    assert_int_equal(after.retries, before.retries + 1);
    assert_memory_equal(x, want, sizeof x);
}

static void test_bad_input(void **state)
{
    (void)state;
    uint32_t v[16] = {1, 2, 3};
    uint32_t out[128];
    int dev = 0;
    zc_ntt_params prm = {ZC_FIELD_BABYBEAR, 0, ZC_NTT_NN, 0};
    assert_int_equal(zc_ntt(&dev, &prm, v, out, 3, 1), ZC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zc_last_error(), "power of two"));
    assert_int_equal(zc_ntt(&dev, &prm, v, out, 0, 1), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_ntt(&dev, &prm, v, out, 4, 0), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_ntt(&dev, &prm, v, out, (size_t)1 << 25, 1), ZC_ERR_OUT_OF_RANGE);
    v[9] = ZC_BB_P;
    assert_int_equal(zc_ntt(&dev, &prm, v, out, 16, 1), ZC_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(zc_last_error(), "element 9 is 2013265921"));
    v[9] = 0;
    assert_int_equal(zc_ntt(&dev, &prm, v, v + 1, 8, 1), ZC_ERR_INVALID_ARGUMENT); /* partial overlap */
    prm.order = (zc_ntt_order)9;
    assert_int_equal(zc_ntt(&dev, &prm, v, out, 16, 1), ZC_ERR_INVALID_ARGUMENT);
    prm.order = ZC_NTT_NN;
    prm.field = (zc_field)3;
    assert_int_equal(zc_ntt(&dev, &prm, v, out, 16, 1), ZC_ERR_INVALID_ARGUMENT);
    prm.field = ZC_FIELD_BABYBEAR;
    assert_int_equal(zc_lde(&dev, &prm, 3, v, out, 16, 1), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_lde(&dev, &prm, 16, v, out, 8, 1), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_lde(&dev, &prm, 8, v, v, 2, 1), ZC_ERR_INVALID_ARGUMENT); /* overlap */
    prm.inverse = 1;
    assert_int_equal(zc_lde(&dev, &prm, 2, v, out, 16, 1), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_poly_mul(&dev, ZC_FIELD_BABYBEAR, v, 0, v, 3, out), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_poly_eval(&dev, ZC_FIELD_BABYBEAR, v, 0, v, 3, out), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_zk_simd_set((zc_simd_level)5), ZC_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_babybear_laws),
        cmocka_unit_test(test_goldilocks_laws),
        cmocka_unit_test(test_two_adic_generators_match_plonky3),
        cmocka_unit_test(test_ntt_matches_naive_dft),
        cmocka_unit_test(test_avx2_equals_scalar),
        cmocka_unit_test(test_polynomials),
        cmocka_unit_test(test_batch_inverse),
        cmocka_unit_test(test_in_place_retry_restarts_from_the_input),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
