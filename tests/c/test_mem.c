/* Memory system through the public API: typed pools, alignment, size
 * classes, statistics, bad input, secure wiping, guard canaries, handles and
 * compaction (on demand and in the background), buffers on cpu and OpenCL,
 * and pools on OpenCL memory. */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

static zc_pool make_pool(zc_pool_kind kind, const zc_pool_config *cfg)
{
    zc_pool p = {0};
    zc_status st = zc_pool_create(kind, cfg, &p);
    if (st != ZC_OK)
        fail_msg("zc_pool_create(%s): %s", zc_pool_kind_name(kind), zc_last_error());
    return p;
}

static void expect_error(zc_status got, zc_status want, const char *fragment)
{
    if (got != want)
        fail_msg("expected %s, got %s: %s", zc_status_str(want), zc_status_str(got), zc_last_error());
    if (fragment && !strstr(zc_last_error(), fragment))
        fail_msg("message lacks '%s': %s", fragment, zc_last_error());
}

static zc_pool_counters counters(zc_pool p)
{
    zc_pool_counters c;
    assert_int_equal(zc_pool_snapshot(p, &c), ZC_OK);
    return c;
}

static int opencl_device(int backend_index)
{
    int id;
    char spec[32];
    snprintf(spec, sizeof spec, "opencl:%d", backend_index);
    if (zc_device_find(spec, &id) != ZC_OK)
        return -1;
    zc_device_info info;
    assert_int_equal(zc_device_info_get(id, &info), ZC_OK);
    return info.available ? id : -1;
}

/* ---- pools, alignment, classes ---- */

static void test_every_kind_aligned_and_usable(void **state)
{
    (void)state;
    for (int k = 0; k < ZC_POOL_KIND_COUNT; k++) {
        for (size_t align = 8; align <= 4096; align *= 8) {
            zc_pool_config cfg = {.alignment = align};
            zc_pool p = make_pool((zc_pool_kind)k, &cfg);
            zc_pool_info info;
            assert_int_equal(zc_pool_info_get(p, &info), ZC_OK);
            assert_int_equal(info.kind, k);
            assert_int_equal(info.memory, ZC_MEM_HOST);
            assert_int_equal(info.alignment, align);
            assert_true(info.host_accessible);
            size_t sizes[] = {1, 7, 33, 64, 100};
            void *blocks[5];
            size_t limit = info.object_size ? info.object_size : info.max_block;
            for (int i = 0; i < 5; i++) {
                size_t n = sizes[i] < limit ? sizes[i] : limit;
                assert_int_equal(zc_pool_alloc(p, n, &blocks[i]), ZC_OK);
                assert_int_equal((uintptr_t)blocks[i] % align, 0);
                memset(blocks[i], 0xA0 + i, n);
            }
            for (int i = 0; i < 5; i++)
                assert_int_equal(zc_pool_free(p, blocks[i]), ZC_OK);
            assert_int_equal(zc_pool_destroy(p), ZC_OK);
        }
    }
}

static void test_default_alignment_is_a_cache_line(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_GENERIC, NULL);
    for (size_t n = 1; n < 5000; n += 37) {
        void *b;
        assert_int_equal(zc_pool_alloc(p, n, &b), ZC_OK);
        assert_int_equal((uintptr_t)b % 64, 0);
        assert_int_equal(zc_pool_free(p, b), ZC_OK);
    }
    zc_pool_destroy(p);
}

static void test_typed_pool_slots(void **state)
{
    (void)state;
    zc_pool orders = make_pool(ZC_POOL_ORDERS, NULL);
    zc_pool_info info;
    assert_int_equal(zc_pool_info_get(orders, &info), ZC_OK);
    assert_int_equal(info.object_size, 64);
    void *a, *b;
    assert_int_equal(zc_pool_alloc(orders, 44, &a), ZC_OK); /* a packed ORDER_DTYPE record */
    assert_int_equal(zc_pool_alloc(orders, 64, &b), ZC_OK);
    assert_int_equal(llabs((long long)((char *)b - (char *)a)) % 64, 0);
    expect_error(zc_pool_alloc(orders, 65, &a), ZC_ERR_OUT_OF_RANGE, "64-byte slots");
    zc_pool_free(orders, b);
    zc_pool_destroy(orders);

    zc_pool_config ring_cfg = {.object_size = 3000};
    zc_pool ring = make_pool(ZC_POOL_MD_RING, &ring_cfg);
    assert_int_equal(zc_pool_info_get(ring, &info), ZC_OK);
    assert_int_equal(info.object_size, 4096); /* rounded to a power of two for masking */
    void *r;
    assert_int_equal(zc_pool_alloc(ring, 4096, &r), ZC_OK);
    zc_pool_free(ring, r);
    zc_pool_destroy(ring);

    zc_pool fv = make_pool(ZC_POOL_FIELD_VECTORS, NULL);
    zc_pool_stats st;
    assert_int_equal(zc_pool_stats_get(fv, &st), ZC_OK);
    for (uint32_t c = 0; c < st.nclasses; c++)
        assert_int_equal(st.classes[c].block_bytes & (st.classes[c].block_bytes - 1), 0);
    void *v;
    assert_int_equal(zc_pool_alloc(fv, 1000 * sizeof(uint32_t), &v), ZC_OK); /* 4000 B -> 4096 B class */
    assert_int_equal(zc_pool_stats_get(fv, &st), ZC_OK);
    int found = 0;
    for (uint32_t c = 0; c < st.nclasses; c++)
        if (st.classes[c].in_use == 1)
            found = st.classes[c].block_bytes == 4096;
    assert_true(found);
    zc_pool_free(fv, v);
    zc_pool_destroy(fv);
}

static void test_generic_classes_and_large_blocks(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_GENERIC, NULL);
    zc_pool_stats st;
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_true(st.nclasses >= 8 && st.nclasses <= ZC_POOL_MAX_CLASSES);
    for (uint32_t c = 1; c < st.nclasses; c++) {
        size_t prev = st.classes[c - 1].block_bytes, cur = st.classes[c].block_bytes;
        assert_true(cur > prev);
        assert_int_equal(cur % 64, 0);
        assert_true(cur - prev <= (prev + 3) / 4 + 64); /* at most ~25% rounding */
    }
    zc_pool_info info;
    zc_pool_info_get(p, &info);
    assert_int_equal(info.max_block, MIB / 8);
    /* Above the largest class: a chunk of its own. */
    void *big;
    assert_int_equal(zc_pool_alloc(p, 5 * MIB + 3, &big), ZC_OK);
    memset(big, 0x5C, 5 * MIB + 3);
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_int_equal(st.large_allocs, 1);
    assert_true(st.large_bytes_in_use >= 5 * MIB + 3);
    assert_true(st.counters.bytes_in_use >= 5 * MIB);
    expect_error(zc_pool_free(p, (char *)big + 64), ZC_ERR_INVALID_ARGUMENT, "inside the large block");
    assert_int_equal(zc_pool_free(p, big), ZC_OK);
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_int_equal(st.large_bytes_in_use, 0);
    assert_int_equal(st.counters.bytes_in_use, 0);
    expect_error(zc_pool_free(p, big), ZC_ERR_INVALID_ARGUMENT, "already freed");
    zc_pool_destroy(p);
}

/* ---- statistics ---- */

static void test_stats_counters_histogram_peak(void **state)
{
    (void)state;
    zc_pool_config cfg = {.name = "stats"};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    enum { N = 1000 };
    void *b[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(zc_pool_alloc(p, i % 2 ? 100 : 64, &b[i]), ZC_OK); /* classes 64 and 128 */
    zc_pool_stats st;
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_int_equal(st.counters.allocs, N);
    assert_int_equal(st.counters.frees, 0);
    assert_int_equal(st.counters.bytes_in_use, N / 2 * 64 + N / 2 * 128);
    assert_true(st.counters.peak_bytes >= st.counters.bytes_in_use);
    assert_true(st.counters.reserved_bytes >= 2 * MIB); /* one chunk per class */
    assert_int_equal(st.classes[0].block_bytes, 64);
    assert_int_equal(st.classes[0].allocs, N / 2);
    assert_int_equal(st.classes[0].in_use, N / 2);
    assert_int_equal(st.classes[1].block_bytes, 128);
    assert_int_equal(st.classes[1].in_use, N / 2);
    assert_true(st.classes[0].reserved >= N / 2);
    for (int i = 0; i < N; i += 2)
        assert_int_equal(zc_pool_free(p, b[i]), ZC_OK);
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_int_equal(st.counters.frees, N / 2);
    assert_int_equal(st.counters.bytes_in_use, N / 2 * 128);
    assert_int_equal(st.counters.peak_bytes, N / 2 * 64 + N / 2 * 128);
    assert_true(st.free_bytes > 0 && st.largest_free_block <= st.free_bytes);
    assert_true(st.fragmentation > 0.0 && st.fragmentation < 1.0);
    zc_pool_counters c = counters(p);
    assert_int_equal(c.allocs, st.counters.allocs);
    assert_int_equal(c.bytes_in_use, st.counters.bytes_in_use);
    for (int i = 1; i < N; i += 2)
        zc_pool_free(p, b[i]);
    c = counters(p);
    assert_int_equal(c.bytes_in_use, 0);
    assert_int_equal(c.allocs, c.frees);

    zc_mem_counters before, after;
    zc_mem_snapshot(&before);
    assert_true(before.pools >= 1);
    assert_true(before.reserved_bytes >= c.reserved_bytes);
    zc_pool_destroy(p);
    zc_mem_snapshot(&after);
    assert_int_equal(after.pools, before.pools - 1);
    assert_true(after.allocs >= before.allocs); /* destroyed pools' counts are kept */
    assert_true(after.reserved_bytes <= before.reserved_bytes - c.reserved_bytes);
}

static void *exit_after_allocating(void *arg)
{
    zc_pool *p = arg;
    void *b;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(zc_pool_alloc(*p, 64, &b), ZC_OK);
        assert_int_equal(zc_pool_free(*p, b), ZC_OK);
    }
    assert_int_equal(zc_pool_alloc(*p, 64, &b), ZC_OK);
    return b; /* kept: the exiting thread's cache goes back to the pool */
}

static void test_thread_exit_returns_its_cache(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_ORDERS, NULL);
    pthread_t t;
    void *kept;
    pthread_create(&t, NULL, exit_after_allocating, &p);
    pthread_join(t, &kept);
    zc_pool_stats st;
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    size_t slot = st.classes[0].block_bytes;
    assert_int_equal(st.counters.allocs, 101);
    assert_int_equal(st.counters.frees, 100);
    assert_int_equal(st.counters.bytes_in_use, slot);
    assert_int_equal(zc_pool_free(p, kept), ZC_OK); /* a block of an exited thread, freed here */
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_int_equal(st.counters.bytes_in_use, 0);
    assert_int_equal(st.free_bytes, st.classes[0].reserved * slot);
    assert_true(st.fragmentation < 1e-9);
    zc_pool_destroy(p);
}

/* ---- bad input ---- */

static void test_bad_requests(void **state)
{
    (void)state;
    zc_pool_config cfg = {.max_bytes = 4 * MIB, .name = "capped"};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    void *b = (void *)1;
    expect_error(zc_pool_alloc(p, 0, &b), ZC_ERR_INVALID_ARGUMENT, "zero-byte");
    assert_null(b);
    expect_error(zc_pool_alloc(p, SIZE_MAX, &b), ZC_ERR_OUT_OF_RANGE, "exceeds the limit");
    expect_error(zc_pool_alloc(p, 5 * MIB, &b), ZC_ERR_OUT_OF_RANGE, "capped");
    expect_error(zc_pool_alloc(p, 64, NULL), ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    void *big[4];
    assert_int_equal(zc_pool_alloc(p, 3 * MIB, &big[0]), ZC_OK);
    expect_error(zc_pool_alloc(p, 2 * MIB, &big[1]), ZC_ERR_OUT_OF_MEMORY, "max_bytes");
    zc_pool_counters c = counters(p);
    assert_int_equal(c.bad_requests, 4);
    assert_int_equal(c.failures, 5);
    assert_int_equal(c.allocs, 1);
    zc_pool_free(p, big[0]);
    zc_pool_destroy(p);
}

static void test_bad_frees(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_GENERIC, NULL);
    zc_pool other = make_pool(ZC_POOL_GENERIC, NULL);
    void *b, *o;
    assert_int_equal(zc_pool_alloc(p, 256, &b), ZC_OK);
    assert_int_equal(zc_pool_alloc(other, 256, &o), ZC_OK);
    assert_int_equal(zc_pool_free(p, NULL), ZC_OK);

    assert_int_equal(zc_pool_free(p, b), ZC_OK);
    expect_error(zc_pool_free(p, b), ZC_ERR_STATE, "double free");
    assert_int_equal(zc_pool_alloc(p, 256, &b), ZC_OK); /* the pool is intact */

    void *heap = malloc(64);
    int on_stack;
    expect_error(zc_pool_free(p, heap), ZC_ERR_INVALID_ARGUMENT, "not allocated by pool");
    expect_error(zc_pool_free(p, &on_stack), ZC_ERR_INVALID_ARGUMENT, "not allocated by pool");
    expect_error(zc_pool_free(p, o), ZC_ERR_INVALID_ARGUMENT, "another pool");
    expect_error(zc_pool_free(p, (char *)b + 8), ZC_ERR_INVALID_ARGUMENT, "interior or misaligned");
    expect_error(zc_pool_free(p, (char *)b + 1), ZC_ERR_INVALID_ARGUMENT, "interior or misaligned");
    free(heap);

    zc_pool_counters c = counters(p);
    assert_int_equal(c.double_frees, 1);
    assert_int_equal(c.invalid_frees, 5);
    assert_int_equal(c.bytes_in_use, 256);
    memset(b, 1, 256);
    assert_int_equal(zc_pool_free(p, b), ZC_OK);
    assert_int_equal(zc_pool_free(other, o), ZC_OK);
    zc_pool_destroy(p);
    zc_pool_destroy(other);
}

static void test_destroyed_and_bogus_pools(void **state)
{
    (void)state;
    zc_mem_counters before, after;
    zc_mem_snapshot(&before);
    zc_pool p = make_pool(ZC_POOL_ORDERS, NULL);
    void *b;
    assert_int_equal(zc_pool_alloc(p, 64, &b), ZC_OK);
    assert_int_equal(zc_pool_destroy(p), ZC_OK);
    expect_error(zc_pool_alloc(p, 64, &b), ZC_ERR_STATE, "destroyed");
    expect_error(zc_pool_free(p, b), ZC_ERR_STATE, "destroyed");
    expect_error(zc_pool_destroy(p), ZC_ERR_STATE, "destroyed");
    zc_pool_counters c;
    expect_error(zc_pool_snapshot(p, &c), ZC_ERR_STATE, "destroyed");
    zc_handle h;
    expect_error(zc_handle_alloc(p, 64, &h), ZC_ERR_STATE, "destroyed");
    /* A new pool does not revive the old handle. */
    zc_pool q = make_pool(ZC_POOL_ORDERS, NULL);
    expect_error(zc_pool_alloc(p, 64, &b), ZC_ERR_STATE, "destroyed");
    zc_pool_destroy(q);

    zc_pool none = {0}, junk = {0xdeadbeefcafe1234ull};
    expect_error(zc_pool_alloc(none, 64, &b), ZC_ERR_INVALID_ARGUMENT, "not a pool handle");
    expect_error(zc_pool_free(junk, b), ZC_ERR_INVALID_ARGUMENT, "not a pool handle");
    expect_error(zc_pool_destroy(junk), ZC_ERR_INVALID_ARGUMENT, "not a pool handle");
    zc_mem_snapshot(&after);
    assert_int_equal(after.stale_handles - before.stale_handles, 9);
}

static void test_bad_configs(void **state)
{
    (void)state;
    zc_pool p;
    zc_pool_config cfg = {.alignment = 48};
    expect_error(zc_pool_create(ZC_POOL_GENERIC, &cfg, &p), ZC_ERR_INVALID_ARGUMENT, "power of two");
    cfg.alignment = 4;
    expect_error(zc_pool_create(ZC_POOL_GENERIC, &cfg, &p), ZC_ERR_INVALID_ARGUMENT, "power of two");
    cfg.alignment = 1u << 20;
    expect_error(zc_pool_create(ZC_POOL_GENERIC, &cfg, &p), ZC_ERR_INVALID_ARGUMENT, "power of two");
    cfg = (zc_pool_config){.flags = 1u << 7};
    expect_error(zc_pool_create(ZC_POOL_GENERIC, &cfg, &p), ZC_ERR_INVALID_ARGUMENT, "unknown pool flags");
    cfg = (zc_pool_config){.object_size = 32};
    expect_error(zc_pool_create(ZC_POOL_GENERIC, &cfg, &p), ZC_ERR_INVALID_ARGUMENT, "object_size");
    cfg = (zc_pool_config){.memory = (zc_mem_kind)9};
    expect_error(zc_pool_create(ZC_POOL_GENERIC, &cfg, &p), ZC_ERR_INVALID_ARGUMENT, "memory kind");
    cfg = (zc_pool_config){.memory = ZC_MEM_PINNED, .device = 999};
    expect_error(zc_pool_create(ZC_POOL_GENERIC, &cfg, &p), ZC_ERR_NOT_FOUND, "999");
    expect_error(zc_pool_create((zc_pool_kind)17, NULL, &p), ZC_ERR_INVALID_ARGUMENT, "pool kind");
    expect_error(zc_pool_create(ZC_POOL_GENERIC, NULL, NULL), ZC_ERR_INVALID_ARGUMENT, "out");
}

/* ---- secure pools and guards ---- */

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void test_secure_pool_wipes_on_free(void **state)
{
    (void)state;
    zc_pool_config cfg = {.flags = ZC_POOL_SECURE, .name = "keys"};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    unsigned char *key, seen[512];
    assert_int_equal(zc_pool_alloc(p, 500, (void **)&key), ZC_OK);
    assert_true(all_zero(key, 500)); /* never hands out unwiped memory */
    memset(key, 0xAB, 500);
    assert_int_equal(zc_pool_debug_read(p, key, seen, 500), ZC_OK);
    assert_int_equal(seen[0], 0xAB);
    assert_int_equal(zc_pool_free(p, key), ZC_OK);
    assert_int_equal(zc_pool_debug_read(p, key, seen, sizeof seen), ZC_OK);
    assert_true(all_zero(seen, sizeof seen));
    /* Reused blocks come back zeroed too. */
    unsigned char *again;
    assert_int_equal(zc_pool_alloc(p, 500, (void **)&again), ZC_OK);
    assert_true(all_zero(again, 500));
    zc_pool_free(p, again);

    /* Handles: wiped on free. */
    zc_handle h;
    unsigned char *hp;
    assert_int_equal(zc_handle_alloc(p, 300, &h), ZC_OK);
    assert_int_equal(zc_handle_pin(p, h, (void **)&hp), ZC_OK);
    memset(hp, 0xCD, 300);
    assert_int_equal(zc_handle_unpin(p, h), ZC_OK);
    assert_int_equal(zc_handle_free(p, h), ZC_OK);
    int heap_var;
    expect_error(zc_pool_debug_read(p, &heap_var, seen, 4), ZC_ERR_NOT_FOUND, "not inside");
    zc_pool_destroy(p);
}

static void test_secure_compaction_leaves_no_copies(void **state)
{
    (void)state;
    zc_pool_config cfg = {.flags = ZC_POOL_SECURE, .chunk_bytes = 64 * KIB};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    zc_handle a, b;
    unsigned char *pa, *pb;
    assert_int_equal(zc_handle_alloc(p, 4096, &a), ZC_OK);
    assert_int_equal(zc_handle_alloc(p, 4096, &b), ZC_OK);
    assert_int_equal(zc_handle_pin(p, b, (void **)&pb), ZC_OK);
    memset(pb, 0xEE, 4096);
    assert_int_equal(zc_handle_unpin(p, b), ZC_OK);
    assert_int_equal(zc_handle_free(p, a), ZC_OK);
    zc_compact_report r;
    assert_int_equal(zc_pool_compact(p, &r), ZC_OK);
    assert_int_equal(r.blocks_moved, 1);
    assert_int_equal(zc_handle_pin(p, b, (void **)&pa), ZC_OK);
    assert_ptr_not_equal(pa, pb);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(pa[i], 0xEE);
    /* b slid down into a's place; where it was must now be zero. */
    assert_ptr_equal(pb, pa + 4096);
    assert_true(all_zero(pb, 4096));
    zc_handle_unpin(p, b);
    zc_handle_free(p, b);
    zc_pool_destroy(p);
}

static void test_guard_canary_catches_overrun(void **state)
{
    (void)state;
    zc_pool_config cfg = {.flags = ZC_POOL_GUARD};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    char *ok, *bad, *big;
    assert_int_equal(zc_pool_alloc(p, 40, (void **)&ok), ZC_OK);
    assert_int_equal(zc_pool_alloc(p, 40, (void **)&bad), ZC_OK);
    memset(ok, 1, 40);
    memset(bad, 1, 41); /* one byte too many */
    assert_int_equal(zc_pool_free(p, ok), ZC_OK);
    expect_error(zc_pool_free(p, bad), ZC_ERR_OUT_OF_RANGE, "overrun");
    assert_int_equal(zc_pool_alloc(p, 3 * MIB, (void **)&big), ZC_OK);
    big[3 * MIB] = 7;
    expect_error(zc_pool_free(p, big), ZC_ERR_OUT_OF_RANGE, "overrun");
    zc_pool_counters c = counters(p);
    assert_int_equal(c.overruns, 2);
    assert_int_equal(c.bytes_in_use, 0); /* reported, and freed all the same */
    zc_pool_destroy(p);

    zc_pool_config orders_cfg = {.flags = ZC_POOL_GUARD};
    zc_pool orders = make_pool(ZC_POOL_ORDERS, &orders_cfg);
    char *o;
    assert_int_equal(zc_pool_alloc(orders, 64, (void **)&o), ZC_OK); /* the full slot stays usable */
    memset(o, 2, 64);
    assert_int_equal(zc_pool_free(orders, o), ZC_OK);
    zc_pool_destroy(orders);
}

/* ---- inline caches ---- */

static void test_cache_alloc_free_and_stats(void **state)
{
    (void)state;
    enum { N = 3000 }; /* more than the cache holds and more than one fold */
    zc_pool p = make_pool(ZC_POOL_ORDERS, NULL);
    zc_pool_cache c;
    assert_int_equal(zc_pool_cache_open(p, 0, &c), ZC_OK);
    static char *b[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(zc_pool_cache_alloc(&c, 1 + i % 64, (void **)&b[i]), ZC_OK);
        assert_int_equal((uintptr_t)b[i] % 64, 0);
        memset(b[i], i & 0xff, 64);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 64; j++)
            if ((unsigned char)b[i][j] != (i & 0xff))
                fail_msg("block %d handed out twice", i);
    /* Counts reach the pool at least every ZC_POOL_CACHE_FOLD operations. */
    zc_pool_counters k = counters(p);
    assert_true(k.allocs + ZC_POOL_CACHE_FOLD >= N && k.allocs <= N);
    for (int i = 0; i < N; i++)
        assert_int_equal(zc_pool_cache_free(&c, b[i]), ZC_OK);
    /* LIFO: the block freed last comes back first. */
    void *again;
    assert_int_equal(zc_pool_cache_alloc(&c, 64, &again), ZC_OK);
    assert_ptr_equal(again, b[N - 1]);
    assert_int_equal(zc_pool_cache_free(&c, again), ZC_OK);
    assert_int_equal(zc_pool_cache_flush(&c), ZC_OK);
    k = counters(p);
    assert_int_equal(k.allocs, N + 1);
    assert_int_equal(k.frees, N + 1);
    assert_int_equal(k.bytes_in_use, 0);
    assert_true(k.peak_bytes >= (uint64_t)(N - ZC_POOL_CACHE_FOLD) * 64);

    /* Blocks move freely between the cache and zc_pool_alloc / zc_pool_free. */
    void *x, *y;
    assert_int_equal(zc_pool_alloc(p, 64, &x), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 64, &y), ZC_OK);
    assert_int_equal(zc_pool_cache_free(&c, x), ZC_OK);
    assert_int_equal(zc_pool_free(p, y), ZC_OK);
    assert_int_equal(zc_pool_cache_close(&c), ZC_OK);
    k = counters(p);
    assert_int_equal(k.allocs, k.frees);
    assert_int_equal(k.bytes_in_use, 0);
    zc_pool_destroy(p);
}

static void test_cache_generic_pool_classes(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_GENERIC, NULL);
    zc_pool_cache c;
    expect_error(zc_pool_cache_open(p, 0, &c), ZC_ERR_INVALID_ARGUMENT, "needs a block size");
    assert_int_equal(zc_pool_cache_open(p, 100, &c), ZC_OK); /* the 128-byte class */
    void *small, *fit, *big, *large;
    assert_int_equal(zc_pool_cache_alloc(&c, 16, &small), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 128, &fit), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 1000, &big), ZC_OK);     /* another class, out of line */
    assert_int_equal(zc_pool_cache_alloc(&c, 3 * MIB, &large), ZC_OK); /* a chunk of its own */
    memset(fit, 1, 128);
    memset(big, 2, 1000);
    memset(large, 3, 3 * MIB);
    zc_pool_stats st;
    assert_int_equal(zc_pool_cache_flush(&c), ZC_OK);
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    uint64_t in_128 = 0;
    for (uint32_t i = 0; i < st.nclasses; i++)
        if (st.classes[i].block_bytes == 128)
            in_128 = st.classes[i].in_use;
    assert_int_equal(in_128, 2);
    assert_int_equal(st.large_allocs, 1);
    assert_int_equal(zc_pool_cache_free(&c, large), ZC_OK);
    assert_int_equal(zc_pool_cache_free(&c, big), ZC_OK);
    assert_int_equal(zc_pool_cache_free(&c, fit), ZC_OK);
    assert_int_equal(zc_pool_cache_free(&c, small), ZC_OK);
    assert_int_equal(zc_pool_cache_close(&c), ZC_OK);
    assert_int_equal(counters(p).bytes_in_use, 0);
    zc_pool_destroy(p);
}

static void test_cache_bad_input(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_ORDERS, NULL);
    zc_pool other = make_pool(ZC_POOL_ORDERS, NULL);
    zc_pool_cache c, closed;
    memset(&closed, 0, sizeof closed);
    expect_error(zc_pool_cache_open(p, 65, &c), ZC_ERR_OUT_OF_RANGE, "no class");
    expect_error(zc_pool_cache_open(p, 0, NULL), ZC_ERR_INVALID_ARGUMENT, "out");
    zc_pool junk = {0xdeadbeefcafe1234ull};
    expect_error(zc_pool_cache_open(junk, 0, &c), ZC_ERR_INVALID_ARGUMENT, "not a pool handle");
    void *b = NULL, *o;
    expect_error(zc_pool_cache_alloc(&closed, 64, &b), ZC_ERR_STATE, "not open");
    expect_error(zc_pool_cache_free(&closed, b), ZC_ERR_STATE, "not open");
    expect_error(zc_pool_cache_alloc(NULL, 64, &b), ZC_ERR_INVALID_ARGUMENT, "NULL");
    expect_error(zc_pool_cache_free(NULL, b), ZC_ERR_INVALID_ARGUMENT, "NULL");

    assert_int_equal(zc_pool_cache_open(p, 0, &c), ZC_OK);
    expect_error(zc_pool_cache_alloc(&c, 0, &b), ZC_ERR_INVALID_ARGUMENT, "zero-byte");
    expect_error(zc_pool_cache_alloc(&c, 65, &b), ZC_ERR_OUT_OF_RANGE, "exceeds");
    expect_error(zc_pool_cache_alloc(&c, 64, NULL), ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    assert_int_equal(zc_pool_cache_alloc(&c, 64, &b), ZC_OK);
    assert_int_equal(zc_pool_alloc(other, 64, &o), ZC_OK);
    assert_int_equal(zc_pool_cache_free(&c, NULL), ZC_OK);
    void *heap = malloc(64);
    expect_error(zc_pool_cache_free(&c, heap), ZC_ERR_INVALID_ARGUMENT, "not allocated by pool");
    expect_error(zc_pool_cache_free(&c, o), ZC_ERR_INVALID_ARGUMENT, "another pool");
    expect_error(zc_pool_cache_free(&c, (char *)b + 8), ZC_ERR_INVALID_ARGUMENT, "interior or misaligned");
    free(heap);
    assert_int_equal(zc_pool_cache_free(&c, b), ZC_OK);
    /* The second free is caught on the inline path (same slab) and by zc_pool_free. */
    expect_error(zc_pool_cache_free(&c, b), ZC_ERR_STATE, "double free");
    expect_error(zc_pool_free(p, b), ZC_ERR_STATE, "double free");
    zc_pool_counters k = counters(p);
    assert_int_equal(k.double_frees, 2);
    assert_int_equal(k.invalid_frees, 3);
    assert_int_equal(k.bad_requests, 3);
    /* Nothing was corrupted: the block comes back once. */
    void *b2, *b3;
    assert_int_equal(zc_pool_cache_alloc(&c, 64, &b2), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 64, &b3), ZC_OK);
    assert_ptr_equal(b2, b);
    assert_ptr_not_equal(b3, b);
    assert_int_equal(zc_pool_cache_free(&c, b3), ZC_OK);
    assert_int_equal(zc_pool_cache_free(&c, b2), ZC_OK);
    assert_int_equal(zc_pool_cache_close(&c), ZC_OK);
    expect_error(zc_pool_cache_alloc(&c, 64, &b), ZC_ERR_STATE, "not open");
    expect_error(zc_pool_cache_flush(&c), ZC_ERR_STATE, "not open");
    assert_int_equal(counters(p).bytes_in_use, 0);
    zc_pool_free(other, o);
    zc_pool_destroy(other);
    zc_pool_destroy(p);
}

static void test_cache_of_destroyed_pool(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_PRICE_LEVELS, NULL);
    zc_pool_cache c;
    void *b, *kept;
    assert_int_equal(zc_pool_cache_open(p, 0, &c), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 64, &kept), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 64, &b), ZC_OK);
    assert_int_equal(zc_pool_cache_free(&c, b), ZC_OK); /* the cache holds blocks of the pool */
    assert_int_equal(zc_pool_destroy(p), ZC_OK);
    /* The memory is gone: every call is an error, none touches it (valgrind checks). */
    expect_error(zc_pool_cache_alloc(&c, 64, &b), ZC_ERR_STATE, "destroyed");
    expect_error(zc_pool_cache_free(&c, kept), ZC_ERR_STATE, "destroyed");
    expect_error(zc_pool_cache_flush(&c), ZC_ERR_STATE, "destroyed");
    /* A new pool in the same or another slot does not revive it. */
    zc_pool q = make_pool(ZC_POOL_PRICE_LEVELS, NULL);
    expect_error(zc_pool_cache_alloc(&c, 64, &b), ZC_ERR_STATE, "destroyed");
    assert_int_equal(zc_pool_cache_close(&c), ZC_OK);
    expect_error(zc_pool_cache_alloc(&c, 64, &b), ZC_ERR_STATE, "not open");
    zc_pool_destroy(q);
}

static void test_cache_secure_and_guarded_pools(void **state)
{
    (void)state;
    zc_pool_config cfg = {.flags = ZC_POOL_SECURE};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    zc_pool_cache c;
    unsigned char *key, seen[256];
    assert_int_equal(zc_pool_cache_open(p, 256, &c), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 256, (void **)&key), ZC_OK);
    assert_true(all_zero(key, 256));
    memset(key, 0xAB, 256);
    assert_int_equal(zc_pool_cache_free(&c, key), ZC_OK);
    assert_int_equal(zc_pool_debug_read(p, key, seen, sizeof seen), ZC_OK);
    assert_true(all_zero(seen, sizeof seen)); /* wiped at free, as with zc_pool_free */
    assert_int_equal(zc_pool_cache_close(&c), ZC_OK);
    zc_pool_destroy(p);

    cfg.flags = ZC_POOL_GUARD;
    p = make_pool(ZC_POOL_ORDERS, &cfg);
    char *ok, *bad;
    assert_int_equal(zc_pool_cache_open(p, 0, &c), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 40, (void **)&ok), ZC_OK);
    assert_int_equal(zc_pool_cache_alloc(&c, 40, (void **)&bad), ZC_OK);
    memset(ok, 1, 40);
    memset(bad, 1, 41);
    assert_int_equal(zc_pool_cache_free(&c, ok), ZC_OK);
    expect_error(zc_pool_cache_free(&c, bad), ZC_ERR_OUT_OF_RANGE, "overrun");
    assert_int_equal(counters(p).overruns, 1);
    assert_int_equal(zc_pool_cache_close(&c), ZC_OK);
    zc_pool_destroy(p);
}

static void test_zeroed_allocation(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_GENERIC, NULL);
    unsigned char *b;
    assert_int_equal(zc_pool_alloc(p, 200, (void **)&b), ZC_OK);
    memset(b, 0xFF, 200);
    zc_pool_free(p, b);
    assert_int_equal(zc_pool_alloc_zeroed(p, 200, (void **)&b), ZC_OK);
    assert_true(all_zero(b, 200));
    zc_pool_free(p, b);
    zc_pool_destroy(p);
}

static long vm_locked_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmLck: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static void test_pinned_and_huge_page_host_memory(void **state)
{
    (void)state;
    /* Sanitizer runtimes turn mlock into a no-op: only count locked memory without them. */
    zc_build_info bi;
    zc_build_info_get(&bi);
    long before = bi.sanitizers[0] ? -1 : vm_locked_kib();
    zc_pool_config cfg = {.memory = ZC_MEM_PINNED, .chunk_bytes = 256 * KIB};
    zc_pool pinned = make_pool(ZC_POOL_ORDERS, &cfg);
    void *b;
    assert_int_equal(zc_pool_alloc(pinned, 64, &b), ZC_OK);
    if (before >= 0)
        assert_true(vm_locked_kib() - before >= 256); /* the chunk is mlock'ed */
    zc_pool_free(pinned, b);
    zc_pool_destroy(pinned);
    if (before >= 0)
        assert_int_equal(vm_locked_kib(), before);

    zc_pool_config huge_cfg = {.flags = ZC_POOL_HUGE_PAGES};
    zc_pool huge = make_pool(ZC_POOL_FIELD_VECTORS, &huge_cfg);
    assert_int_equal(zc_pool_alloc(huge, 4096, &b), ZC_OK);
    assert_int_equal((uintptr_t)b % (2 * MIB), 0); /* first block of a 2 MiB aligned chunk */
    zc_pool_stats st;
    zc_pool_stats_get(huge, &st);
    assert_int_equal(st.counters.reserved_bytes % (2 * MIB), 0);
    zc_pool_free(huge, b);
    zc_pool_destroy(huge);
}

/* ---- handles and compaction ---- */

static void test_handles_pin_unpin_free(void **state)
{
    (void)state;
    zc_pool p = make_pool(ZC_POOL_GENERIC, NULL);
    zc_handle h, other;
    void *ptr, *again;
    assert_int_equal(zc_handle_alloc(p, 1000, &h), ZC_OK);
    assert_int_equal(zc_handle_pin(p, h, &ptr), ZC_OK);
    assert_int_equal((uintptr_t)ptr % 64, 0);
    assert_int_equal(zc_handle_pin(p, h, &again), ZC_OK); /* pins nest */
    assert_ptr_equal(ptr, again);
    expect_error(zc_handle_free(p, h), ZC_ERR_STATE, "pinned");
    assert_int_equal(zc_handle_unpin(p, h), ZC_OK);
    assert_int_equal(zc_handle_unpin(p, h), ZC_OK);
    expect_error(zc_handle_unpin(p, h), ZC_ERR_STATE, "not pinned");
    zc_pool_counters c = counters(p);
    assert_int_equal(c.handles, 1);
    assert_int_equal(c.bytes_in_use, 1024);
    assert_int_equal(zc_handle_free(p, h), ZC_OK);
    expect_error(zc_handle_free(p, h), ZC_ERR_STATE, "stale");
    expect_error(zc_handle_pin(p, h, &ptr), ZC_ERR_STATE, "stale");
    zc_handle bogus = {0x1234567ull};
    expect_error(zc_handle_pin(p, bogus, &ptr), ZC_ERR_INVALID_ARGUMENT, "not a handle");
    expect_error(zc_handle_alloc(p, 0, &other), ZC_ERR_INVALID_ARGUMENT, "zero-byte");
    c = counters(p);
    assert_int_equal(c.handles, 0);
    assert_int_equal(c.bytes_in_use, 0);
    assert_int_equal(c.invalid_frees, 4); /* pinned free, stale free, stale pin, bogus pin */
    assert_int_equal(c.bad_requests, 1);
    zc_pool_destroy(p);
}

typedef struct churn {
    zc_handle h[4096];
    uint32_t size[4096];
    int live[4096];
    int n;
} churn;

static uint64_t pattern(uint32_t i, size_t j) { return (uint64_t)i * 0x9E3779B97F4A7C15ull + j; }

static void fill(zc_pool p, zc_handle h, uint32_t i, size_t bytes)
{
    uint64_t *w;
    assert_int_equal(zc_handle_pin(p, h, (void **)&w), ZC_OK);
    for (size_t j = 0; j < bytes / 8; j++)
        w[j] = pattern(i, j);
    assert_int_equal(zc_handle_unpin(p, h), ZC_OK);
}

static void check(zc_pool p, zc_handle h, uint32_t i, size_t bytes)
{
    uint64_t *w;
    assert_int_equal(zc_handle_pin(p, h, (void **)&w), ZC_OK);
    for (size_t j = 0; j < bytes / 8; j++)
        if (w[j] != pattern(i, j))
            fail_msg("handle %u word %zu: %#llx", i, j, (unsigned long long)w[j]);
    assert_int_equal(zc_handle_unpin(p, h), ZC_OK);
}

/* Variable-size handles, then every other one freed: gaps everywhere. */
static void make_churn(zc_pool p, churn *c, int n)
{
    uint32_t seed = 12345;
    c->n = n;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        c->size[i] = 64 + (seed >> 16) % 4000;
        assert_int_equal(zc_handle_alloc(p, c->size[i], &c->h[i]), ZC_OK);
        fill(p, c->h[i], (uint32_t)i, c->size[i]);
        c->live[i] = 1;
    }
    for (int i = 0; i < n; i += 2) {
        assert_int_equal(zc_handle_free(p, c->h[i]), ZC_OK);
        c->live[i] = 0;
    }
}

static void test_compaction_lowers_fragmentation(void **state)
{
    (void)state;
    zc_pool_config cfg = {.chunk_bytes = 512 * KIB};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    churn *c = calloc(1, sizeof *c);
    make_churn(p, c, 2000);
    /* One pinned block stays where it is. */
    void *pinned_at;
    assert_int_equal(zc_handle_pin(p, c->h[1], &pinned_at), ZC_OK);
    zc_pool_stats before, after;
    assert_int_equal(zc_pool_stats_get(p, &before), ZC_OK);
    assert_true(before.fragmentation > 0.5);
    zc_compact_report r;
    assert_int_equal(zc_pool_compact(p, &r), ZC_OK);
    assert_int_equal(zc_pool_stats_get(p, &after), ZC_OK);
    assert_true(r.blocks_moved > 500);
    assert_true(r.segments_released >= 1);
    assert_true(r.fragmentation_before > 0.5);
    assert_true(r.fragmentation_after < 0.5 * r.fragmentation_before);
    assert_true(after.fragmentation < before.fragmentation);
    assert_true(after.counters.reserved_bytes < before.counters.reserved_bytes);
    assert_int_equal(after.counters.bytes_in_use, before.counters.bytes_in_use);
    assert_int_equal(after.counters.compactions, 1);
    assert_int_equal(after.counters.blocks_moved, r.blocks_moved);
    void *now;
    assert_int_equal(zc_handle_pin(p, c->h[1], &now), ZC_OK);
    assert_ptr_equal(now, pinned_at);
    zc_handle_unpin(p, c->h[1]);
    zc_handle_unpin(p, c->h[1]);
    for (int i = 0; i < c->n; i++)
        if (c->live[i])
            check(p, c->h[i], (uint32_t)i, c->size[i]);
    free(c);
    zc_pool_destroy(p);
}

typedef struct pinner {
    zc_pool pool;
    churn *c;
    atomic_int *stop;
} pinner;

/* Pins, verifies and unpins the handles i % 4 == 1, which nobody frees. */
static void *pin_and_verify(void *arg)
{
    pinner *w = arg;
    while (!atomic_load(w->stop)) {
        for (int i = 1; i < w->c->n; i += 4) {
            uint64_t *words;
            if (zc_handle_pin(w->pool, w->c->h[i], (void **)&words) != ZC_OK)
                fail_msg("pin: %s", zc_last_error());
            for (size_t j = 0; j < w->c->size[i] / 8; j++)
                if (words[j] != pattern((uint32_t)i, j))
                    fail_msg("handle %d corrupted at word %zu while compacting", i, j);
            zc_handle_unpin(w->pool, w->c->h[i]);
        }
    }
    return NULL;
}

static void test_compaction_under_concurrent_pins(void **state)
{
    (void)state;
    zc_pool_config cfg = {.chunk_bytes = 256 * KIB};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    churn *c = calloc(1, sizeof *c);
    make_churn(p, c, 1500);
    atomic_int stop = 0;
    pinner w = {p, c, &stop};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, pin_and_verify, &w);
    uint64_t moved = 0;
    for (int round = 0; round < 20; round++) {
        /* Fresh holes each round (handles i % 4 == 3), so every compaction has work. */
        for (int i = 3 + 4 * (round % 5); i < c->n; i += 20) {
            if (!c->live[i])
                continue;
            assert_int_equal(zc_handle_free(p, c->h[i]), ZC_OK);
            c->live[i] = 0;
        }
        zc_compact_report r;
        assert_int_equal(zc_pool_compact(p, &r), ZC_OK);
        moved += r.blocks_moved;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_true(moved > 0);
    for (int i = 0; i < c->n; i++)
        if (c->live[i])
            check(p, c->h[i], (uint32_t)i, c->size[i]);
    free(c);
    zc_pool_destroy(p);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t background_runs(zc_pool p) { return counters(p).background_compactions; }

static void test_background_defrag_pause_resume(void **state)
{
    (void)state;
    zc_pool_config cfg = {.chunk_bytes = 256 * KIB};
    zc_pool p = make_pool(ZC_POOL_GENERIC, &cfg);
    zc_defrag_config dc = {.interval_ms = 5, .max_alloc_rate = 1e12, .min_fragmentation = 0.3};
    expect_error(zc_pool_defrag_pause(p, 1), ZC_ERR_STATE, "no defragmentation thread");
    assert_int_equal(zc_pool_defrag_start(p, &dc), ZC_OK);
    expect_error(zc_pool_defrag_start(p, &dc), ZC_ERR_STATE, "already");
    assert_int_equal(zc_pool_defrag_pause(p, 1), ZC_OK);
    churn *c = calloc(1, sizeof *c);
    make_churn(p, c, 1000);
    zc_pool_stats st;
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_true(st.arena_fragmentation >= 0.3);
    sleep_ms(50);
    assert_int_equal(background_runs(p), 0); /* paused */
    assert_int_equal(zc_pool_defrag_pause(p, 0), ZC_OK);
    for (int i = 0; i < 400 && background_runs(p) == 0; i++)
        sleep_ms(5);
    assert_true(background_runs(p) >= 1);
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_true(st.arena_fragmentation < 0.3);
    assert_int_equal(zc_pool_defrag_stop(p), ZC_OK);
    expect_error(zc_pool_defrag_stop(p), ZC_ERR_STATE, "no defragmentation thread");
    for (int i = 0; i < c->n; i++)
        if (c->live[i])
            check(p, c->h[i], (uint32_t)i, c->size[i]);

    /* Fragment it again, then keep it busy: no compaction while the
     * allocation rate is above the threshold, one soon after it drops. */
    for (int i = 1; i < c->n; i += 4) {
        assert_int_equal(zc_handle_free(p, c->h[i]), ZC_OK);
        c->live[i] = 0;
    }
    assert_int_equal(zc_pool_stats_get(p, &st), ZC_OK);
    assert_true(st.arena_fragmentation >= 0.3);
    dc = (zc_defrag_config){.interval_ms = 100, .max_alloc_rate = 1.0, .min_fragmentation = 0.3};
    assert_int_equal(zc_pool_defrag_start(p, &dc), ZC_OK);
    uint64_t before = background_runs(p);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        void *b;
        assert_int_equal(zc_pool_alloc(p, 64, &b), ZC_OK);
        zc_pool_free(p, b);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 400);
    assert_int_equal(background_runs(p), before);
    for (int i = 0; i < 400 && background_runs(p) == before; i++)
        sleep_ms(5);
    assert_true(background_runs(p) > before);
    for (int i = 0; i < c->n; i++)
        if (c->live[i])
            check(p, c->h[i], (uint32_t)i, c->size[i]);
    free(c);
    assert_int_equal(zc_pool_destroy(p), ZC_OK); /* stops the thread */
}

/* ---- buffers ---- */

static zc_status philox_into(int dev, zc_devbuf *view, size_t words)
{
    zc_karg args[] = {zc_arg_buf(view), zc_arg_u64(words), zc_arg_u32(0), zc_arg_u32(0), zc_arg_u64(7),
                      zc_arg_u64(0),    zc_arg_u64(0),     zc_arg_u64(0), zc_arg_u64(0), zc_arg_u64(0)};
    return zc_launch(dev, "zc_philox", (words + 3) / 4, args, 10);
}

static void reference_words(uint32_t *out, size_t words)
{
    int cpu;
    assert_int_equal(zc_device_find("cpu", &cpu), ZC_OK);
    zc_philox_params prm = {ZC_PHILOX_4X32, {7, 0}, {0, 0, 0, 0}};
    assert_int_equal(zc_philox_generate(&cpu, &prm, ZC_RANDOM_RAW, out, words), ZC_OK);
}

/* Kernel writes through the device view; the host view sees it. */
static void check_buffer(int dev, zc_mem_kind kind, int zero_copy)
{
    enum { WORDS = 4096 };
    zc_buffer *b;
    assert_int_equal(zc_buffer_create(dev, kind, WORDS * 4, &b), ZC_OK);
    zc_buffer_info info;
    assert_int_equal(zc_buffer_info_get(b, &info), ZC_OK);
    assert_int_equal(info.zero_copy, zero_copy);
    assert_int_equal(info.kind, kind);
    uint32_t *host, *host2;
    assert_int_equal(zc_buffer_map(b, ZC_MAP_WRITE, (void **)&host), ZC_OK);
    expect_error(zc_buffer_map(b, ZC_MAP_READ, (void **)&host2), ZC_ERR_STATE, "already mapped");
    memset(host, 0, WORDS * 4);
    assert_int_equal(zc_buffer_unmap(b), ZC_OK);
    expect_error(zc_buffer_unmap(b), ZC_ERR_STATE, "not mapped");
    zc_devbuf *view;
    assert_int_equal(zc_buffer_device_view(b, &view), ZC_OK);
    assert_int_equal(philox_into(dev, view, WORDS), ZC_OK);
    zc_buf_free(view); /* the descriptor only */
    assert_int_equal(zc_buffer_sync(b), ZC_OK);
    assert_int_equal(zc_buffer_map(b, ZC_MAP_READ, (void **)&host2), ZC_OK);
    uint32_t *ref = malloc(WORDS * 4);
    reference_words(ref, WORDS);
    assert_memory_equal(host2, ref, WORDS * 4);
    if (zero_copy && kind != ZC_MEM_PINNED)
        assert_ptr_equal(host, host2); /* one allocation, one address */
    assert_int_equal(zc_buffer_unmap(b), ZC_OK);
    assert_int_equal(zc_buffer_info_get(b, &info), ZC_OK);
    assert_int_equal(info.maps, 2);
    assert_int_equal(info.copies, zero_copy ? 0 : 2); /* write-back after the write map, read for the read map */
    assert_int_equal(info.copy_bytes, zero_copy ? 0 : 2 * WORDS * 4);
    free(ref);
    zc_buffer_destroy(b);
}

static void test_buffers_cpu_zero_copy(void **state)
{
    (void)state;
    int cpu;
    assert_int_equal(zc_device_find("cpu", &cpu), ZC_OK);
    zc_mem_counters before, after;
    zc_mem_snapshot(&before);
    for (int k = 0; k < ZC_MEM_KIND_COUNT; k++)
        check_buffer(cpu, (zc_mem_kind)k, 1);
    zc_mem_snapshot(&after);
    assert_int_equal(after.buffer_copies, before.buffer_copies);
    assert_int_equal(after.zero_copy_maps - before.zero_copy_maps, 2 * ZC_MEM_KIND_COUNT);
    assert_int_equal(after.buffers, before.buffers);
}

static void test_buffers_opencl(void **state)
{
    (void)state;
    int dev = opencl_device(0);
    if (dev < 0)
        skip();
    zc_device_info info;
    zc_device_info_get(dev, &info);
    assert_true(info.caps & ZC_CAP_SVM); /* PoCL CPU devices share virtual memory */
    zc_mem_counters before, after;
    zc_mem_snapshot(&before);
    check_buffer(dev, ZC_MEM_UNIFIED, 1);                               /* SVM */
    check_buffer(dev, ZC_MEM_HOST, (info.caps & ZC_CAP_UNIFIED_MEMORY) != 0);   /* CL_MEM_USE_HOST_PTR */
    check_buffer(dev, ZC_MEM_PINNED, (info.caps & ZC_CAP_UNIFIED_MEMORY) != 0); /* CL_MEM_ALLOC_HOST_PTR */
    check_buffer(dev, ZC_MEM_DEVICE, 0);                                /* explicit copies */
    zc_mem_snapshot(&after);
    assert_int_equal(after.buffer_copies - before.buffer_copies, 2);
    assert_int_equal(after.buffer_copy_bytes - before.buffer_copy_bytes, 2 * 4096 * 4);
    zc_buffer *b;
    expect_error(zc_buffer_create(dev, ZC_MEM_UNIFIED, 0, &b), ZC_ERR_INVALID_ARGUMENT, "0 bytes");
    expect_error(zc_buffer_create(999, ZC_MEM_UNIFIED, 64, &b), ZC_ERR_NOT_FOUND, "999");
}

static void test_pools_on_opencl_memory(void **state)
{
    (void)state;
    int dev = opencl_device(1);
    if (dev < 0)
        skip();
    const zc_mem_kind kinds[] = {ZC_MEM_UNIFIED, ZC_MEM_PINNED};
    for (int k = 0; k < 2; k++) {
        zc_pool_config cfg = {.memory = kinds[k], .device = dev, .chunk_bytes = 256 * KIB};
        zc_pool p = make_pool(ZC_POOL_FIELD_VECTORS, &cfg);
        zc_pool_info info;
        assert_int_equal(zc_pool_info_get(p, &info), ZC_OK);
        assert_int_equal(info.backend, ZC_BACKEND_OPENCL);
        assert_int_equal(info.device, dev);
        assert_true(info.host_accessible);
        uint64_t *v[8];
        for (int i = 0; i < 8; i++) {
            assert_int_equal(zc_pool_alloc(p, 8 * 1024, (void **)&v[i]), ZC_OK);
            assert_int_equal((uintptr_t)v[i] % 64, 0);
            for (int j = 0; j < 1024; j++)
                v[i][j] = (uint64_t)i << 32 | (uint64_t)j;
        }
        for (int i = 0; i < 8; i++) {
            for (int j = 0; j < 1024; j++)
                assert_int_equal(v[i][j], (uint64_t)i << 32 | (uint64_t)j);
            assert_int_equal(zc_pool_free(p, v[i]), ZC_OK);
        }
        assert_true(counters(p).reserved_bytes >= 256 * KIB);
        assert_int_equal(zc_pool_destroy(p), ZC_OK);
    }
    zc_pool_config cfg = {.memory = ZC_MEM_DEVICE, .device = dev};
    zc_pool p;
    expect_error(zc_pool_create(ZC_POOL_GENERIC, &cfg, &p), ZC_ERR_UNSUPPORTED, "zc_buffer");
}

static void test_cuda_memory_reports_why(void **state)
{
    (void)state;
    int dev;
    if (zc_device_find("cuda", &dev) != ZC_OK) {
        /* No cuda device or backend here: the reason is given, nothing crashes. */
        zc_error_info e;
        zc_last_error_info(&e);
        assert_true(e.message[0]);
        return;
    }
    zc_device_info info;
    zc_device_info_get(dev, &info);
    zc_pool_config cfg = {.memory = ZC_MEM_DEVICE, .device = dev};
    zc_pool p;
    zc_status st = zc_pool_create(ZC_POOL_GENERIC, &cfg, &p);
    if (!info.available) {
        expect_error(st, ZC_ERR_BACKEND_UNAVAILABLE, "unavailable");
        return;
    }
    assert_int_equal(st, ZC_OK);
    void *d;
    assert_int_equal(zc_pool_alloc_zeroed(p, 4096, &d), ZC_OK);
    zc_pool_info pi;
    zc_pool_info_get(p, &pi);
    assert_false(pi.host_accessible);
    unsigned char out[8];
    expect_error(zc_pool_debug_read(p, d, out, 8), ZC_ERR_UNSUPPORTED, "device memory");
    zc_handle h;
    expect_error(zc_handle_alloc(p, 64, &h), ZC_ERR_UNSUPPORTED, "host-accessible");
    assert_int_equal(zc_pool_free(p, d), ZC_OK);
    zc_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_aligned_and_usable),
        cmocka_unit_test(test_default_alignment_is_a_cache_line),
        cmocka_unit_test(test_typed_pool_slots),
        cmocka_unit_test(test_generic_classes_and_large_blocks),
        cmocka_unit_test(test_stats_counters_histogram_peak),
        cmocka_unit_test(test_thread_exit_returns_its_cache),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_bad_frees),
        cmocka_unit_test(test_destroyed_and_bogus_pools),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_cache_alloc_free_and_stats),
        cmocka_unit_test(test_cache_generic_pool_classes),
        cmocka_unit_test(test_cache_bad_input),
        cmocka_unit_test(test_cache_of_destroyed_pool),
        cmocka_unit_test(test_cache_secure_and_guarded_pools),
        cmocka_unit_test(test_secure_pool_wipes_on_free),
        cmocka_unit_test(test_secure_compaction_leaves_no_copies),
        cmocka_unit_test(test_guard_canary_catches_overrun),
        cmocka_unit_test(test_zeroed_allocation),
        cmocka_unit_test(test_pinned_and_huge_page_host_memory),
        cmocka_unit_test(test_handles_pin_unpin_free),
        cmocka_unit_test(test_compaction_lowers_fragmentation),
        cmocka_unit_test(test_compaction_under_concurrent_pins),
        cmocka_unit_test(test_background_defrag_pause_resume),
        cmocka_unit_test(test_buffers_cpu_zero_copy),
        cmocka_unit_test(test_buffers_opencl),
        cmocka_unit_test(test_pools_on_opencl_memory),
        cmocka_unit_test(test_cuda_memory_reports_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
