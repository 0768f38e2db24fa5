/* The cache of large array blocks: reuse, size classes, the byte limit,
 * trimming, statistics, alignment, blocks still referenced never handed out,
 * the environment default, and many threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#define MIB ((size_t)1 << 20)

static zc_array_cache_stats stats(void)
{
    zc_array_cache_stats s;
    assert_int_equal(zc_array_cache_stats_get(&s), ZC_OK);
    return s;
}

static zc_array *bytes_array(size_t bytes)
{
    zc_array *a = NULL;
    size_t n = bytes / 8;
    assert_int_equal(zc_array_new(ZC_DTYPE_F64, 1, &n, &a), ZC_OK);
    return a;
}

/* A known limit and an empty cache. */
static int setup(void **state)
{
    (void)state;
    return zc_array_cache_set_limit(64 * MIB) == ZC_OK && zc_array_cache_trim(0, NULL) == ZC_OK ? 0 : -1;
}

/* Runs first: the limit comes from ZC_ARRAY_CACHE_BYTES when nothing set it. */
static void test_env_limit(void **state)
{
    (void)state;
    assert_int_equal(stats().limit_bytes, 3 * MIB);
}

static void test_reuse_same_block(void **state)
{
    (void)state;
    zc_array_cache_stats s0 = stats();
    zc_array *a = bytes_array(8 * MIB);
    void *p = zc_array_data(a);
    memset(p, 7, 8 * MIB);
    assert_int_equal(stats().in_use_blocks, s0.in_use_blocks + 1);
    zc_array_release(a);
    zc_array_cache_stats s1 = stats();
    assert_int_equal(s1.cached_blocks, 1);
    assert_int_equal(s1.cached_bytes, 8 * MIB);
    assert_int_equal(s1.in_use_blocks, s0.in_use_blocks);
    assert_int_equal(s1.misses, s0.misses + 1);
    zc_array *b = bytes_array(8 * MIB);
    assert_ptr_equal(zc_array_data(b), p);
    zc_array_cache_stats s2 = stats();
    assert_int_equal(s2.hits, s1.hits + 1);
    assert_int_equal(s2.cached_bytes, 0);
    zc_array_release(b);
}

static void test_size_classes(void **state)
{
    (void)state;
    /* 8 MiB + 8 and 9 MiB both round up to the 10 MiB class (2 MiB steps). */
    zc_array *a = bytes_array(8 * MIB + 8);
    void *p = zc_array_data(a);
    zc_array_release(a);
    assert_int_equal(stats().cached_bytes, 10 * MIB);
    zc_array *b = bytes_array(9 * MIB);
    assert_ptr_equal(zc_array_data(b), p);
    /* A different class does not take it. */
    zc_array_release(b);
    zc_array_cache_stats s0 = stats();
    zc_array *c = bytes_array(16 * MIB);
    assert_ptr_not_equal(zc_array_data(c), p);
    assert_int_equal(stats().misses, s0.misses + 1);
    zc_array_release(c);
}

static void test_alignment(void **state)
{
    (void)state;
    size_t sizes[] = {100, 64 * 1024, MIB, 3 * MIB, 4 * MIB, 33 * MIB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        zc_array *a = bytes_array(sizes[i]);
        uintptr_t p = (uintptr_t)zc_array_data(a);
        assert_int_equal(p % ZC_ARRAY_ALIGN, 0);
        if (sizes[i] >= 4 * MIB)
            assert_int_equal(p % (2 * MIB), 0);
        memset(zc_array_data(a), 1, sizes[i]);
        zc_array_release(a);
    }
}

static void test_small_arrays_bypass(void **state)
{
    (void)state;
    zc_array_cache_stats s0 = stats();
    zc_array *a = bytes_array(ZC_ARRAY_CACHE_MIN - 8);
    zc_array_release(a);
    zc_array_cache_stats s1 = stats();
    assert_int_equal(s1.hits + s1.misses, s0.hits + s0.misses);
    assert_int_equal(s1.cached_bytes, s0.cached_bytes);
}

static void test_referenced_block_not_reused(void **state)
{
    (void)state;
    zc_array *a = bytes_array(8 * MIB);
    double *p = zc_array_data(a);
    p[0] = 42.0;
    zc_array_retain(a); /* a second owner, as a NumPy view holds the base */
    zc_array_release(a);
    assert_int_equal(stats().cached_bytes, 0);
    zc_array *b = bytes_array(8 * MIB);
    assert_ptr_not_equal(zc_array_data(b), p);
    ((double *)zc_array_data(b))[0] = -1.0;
    assert_true(p[0] == 42.0);
    zc_array_release(b);
    zc_array_release(a);
    assert_int_equal(stats().cached_blocks, 2);
}

static void test_limit_respected(void **state)
{
    (void)state;
    assert_int_equal(zc_array_cache_set_limit(20 * MIB), ZC_OK);
    zc_array_cache_stats s0 = stats();
    assert_int_equal(s0.limit_bytes, 20 * MIB);
    zc_array *a[3];
    for (int i = 0; i < 3; i++)
        a[i] = bytes_array(8 * MIB);
    void *newest = zc_array_data(a[2]);
    for (int i = 0; i < 3; i++)
        zc_array_release(a[i]);
    zc_array_cache_stats s1 = stats();
    assert_int_equal(s1.cached_bytes, 16 * MIB);
    assert_int_equal(s1.cached_blocks, 2);
    assert_int_equal(s1.evictions, s0.evictions + 1);
    /* The oldest went; the most recently cached comes back first. */
    zc_array *b = bytes_array(8 * MIB);
    assert_ptr_equal(zc_array_data(b), newest);
    zc_array_release(b);
    /* A block larger than the limit is never cached. */
    zc_array *big = bytes_array(32 * MIB);
    zc_array_release(big);
    assert_true(stats().cached_bytes <= 20 * MIB);
    /* Lowering the limit trims; 0 turns caching off. */
    assert_int_equal(zc_array_cache_set_limit(0), ZC_OK);
    assert_int_equal(stats().cached_bytes, 0);
    zc_array *c = bytes_array(8 * MIB);
    zc_array_release(c);
    assert_int_equal(stats().cached_bytes, 0);
}

static void test_trim(void **state)
{
    (void)state;
    zc_array *a = bytes_array(8 * MIB), *b = bytes_array(2 * MIB);
    zc_array_release(a);
    zc_array_release(b);
    zc_array_cache_stats s0 = stats();
    assert_int_equal(s0.cached_bytes, 10 * MIB);
    size_t released = 0;
    /* Keeping 5 MiB drops the oldest (8 MiB) only. */
    assert_int_equal(zc_array_cache_trim(5 * MIB, &released), ZC_OK);
    assert_int_equal(released, 8 * MIB);
    assert_int_equal(stats().cached_bytes, 2 * MIB);
    assert_int_equal(zc_array_cache_trim(0, &released), ZC_OK);
    assert_int_equal(released, 2 * MIB);
    zc_array_cache_stats s1 = stats();
    assert_int_equal(s1.cached_bytes, 0);
    assert_int_equal(s1.cached_blocks, 0);
    assert_int_equal(s1.trimmed_bytes, s0.trimmed_bytes + 10 * MIB);
    assert_int_equal(zc_array_cache_trim(0, NULL), ZC_OK);
}

static void test_mem_snapshot(void **state)
{
    (void)state;
    zc_array *a = bytes_array(8 * MIB);
    zc_array_release(a);
    zc_array *b = bytes_array(8 * MIB);
    zc_array_release(b);
    zc_mem_counters c;
    zc_mem_snapshot(&c);
    zc_array_cache_stats s = stats();
    assert_int_equal(c.array_cache_bytes, 8 * MIB);
    assert_int_equal(c.array_cache_hits, s.hits);
    assert_int_equal(c.array_cache_misses, s.misses);
    assert_int_equal(zc_array_cache_stats_get(NULL), ZC_ERR_INVALID_ARGUMENT);
}

#define THREADS 4
#define ROUNDS 200

static void *churn(void *arg)
{
    size_t id = (size_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = (1 + (id + (size_t)r) % 3) * MIB / 8;
        zc_array *a = NULL;
        if (zc_array_new(ZC_DTYPE_U64, 1, &n, &a) != ZC_OK)
            return (void *)1;
        uint64_t *p = zc_array_data(a);
        /* Each owner writes its tag; a block shared by two live arrays would show another's. */
        for (size_t i = 0; i < n; i += 512)
            p[i] = id;
        for (size_t i = 0; i < n; i += 512)
            if (p[i] != id)
                return (void *)1;
        zc_array_release(a);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    zc_array_cache_stats s0 = stats();
    pthread_t t[THREADS];
    for (size_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)i), 0);
    for (size_t i = 0; i < THREADS; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        assert_null(rc);
    }
    zc_array_cache_stats s1 = stats();
    assert_int_equal(s1.in_use_blocks, s0.in_use_blocks);
    assert_int_equal(s1.hits + s1.misses, s0.hits + s0.misses + THREADS * ROUNDS);
    assert_true(s1.hits > s0.hits);
    assert_true(s1.cached_bytes <= s1.limit_bytes);
}

int main(void)
{
    setenv("ZC_ARRAY_CACHE_BYTES", "3m", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_limit),
        cmocka_unit_test_setup(test_reuse_same_block, setup),
        cmocka_unit_test_setup(test_size_classes, setup),
        cmocka_unit_test_setup(test_alignment, setup),
        cmocka_unit_test_setup(test_small_arrays_bypass, setup),
        cmocka_unit_test_setup(test_referenced_block_not_reused, setup),
        cmocka_unit_test_setup(test_limit_respected, setup),
        cmocka_unit_test_setup(test_trim, setup),
        cmocka_unit_test_setup(test_mem_snapshot, setup),
        cmocka_unit_test_setup(test_threads, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
