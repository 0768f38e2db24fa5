/* Memory internals: the address map, the tagged free-list head against ABA,
 * and secure pools wiping everything at destroy (seen by interposing munmap). */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem/mem_internal.h"

/* ---- munmap interposition: checks watched regions are zero when unmapped ---- */

#define MAX_WATCH 64

static struct {
    char *lo[MAX_WATCH], *hi[MAX_WATCH];
    int n;
    int unmapped;  /* watched regions seen going */
    long nonzero;  /* bytes still set when they went */
} watch;

int munmap(void *addr, size_t len)
{
    static int (*real_munmap)(void *, size_t);
    if (!real_munmap)
        real_munmap = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
    char *a = addr, *b = a + len;
    for (int i = 0; i < watch.n; i++) {
        char *lo = a > watch.lo[i] ? a : watch.lo[i], *hi = b < watch.hi[i] ? b : watch.hi[i];
        if (lo >= hi)
            continue;
        watch.unmapped++;
        for (char *p = lo; p < hi; p++)
            watch.nonzero += *p != 0;
    }
    return real_munmap(addr, len);
}

static void watch_region(const zc_region *r)
{
    assert_true(watch.n < MAX_WATCH);
    watch.lo[watch.n] = r->addr;
    watch.hi[watch.n] = (char *)r->addr + r->bytes;
    watch.n++;
}

static zc_pool_impl *impl(zc_pool pool)
{
    zc_pool_impl *p = NULL;
    assert_int_equal(zc_pool_resolve(pool, "test", &p), ZC_OK);
    return p;
}

/* Fills slabs, a large block and a handle with secrets, destroys the pool
 * with all of them live, and reports what munmap saw. */
static void destroy_with_secrets(uint32_t flags)
{
    zc_pool_config cfg = {.flags = flags, .chunk_bytes = 256 * 1024};
    zc_pool pool;
    assert_int_equal(zc_pool_create(ZC_POOL_GENERIC, &cfg, &pool), ZC_OK);
    void *small[10], *large;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(zc_pool_alloc(pool, 100 + 300 * (size_t)i, &small[i]), ZC_OK);
        memset(small[i], 0x5A, 100 + 300 * (size_t)i);
    }
    assert_int_equal(zc_pool_alloc(pool, 200000, &large), ZC_OK);
    memset(large, 0x5A, 200000);
    zc_handle h;
    void *hp;
    assert_int_equal(zc_handle_alloc(pool, 5000, &h), ZC_OK);
    assert_int_equal(zc_handle_pin(pool, h, &hp), ZC_OK);
    memset(hp, 0x5A, 5000);
    assert_int_equal(zc_handle_unpin(pool, h), ZC_OK);

    zc_pool_impl *p = impl(pool);
    memset(&watch, 0, sizeof watch);
    for (uint32_t i = 0; i < atomic_load(&p->nchunks); i++)
        watch_region(&atomic_load(&p->chunks[i])->region);
    for (zc_chunk *ch = p->large; ch; ch = ch->link)
        watch_region(&ch->region);
    for (uint32_t s = 0; s < p->arena.nsegs; s++)
        watch_region(&p->arena.segs[s].region);
    int regions = watch.n;
    assert_true(regions >= 4);
    assert_int_equal(zc_pool_destroy(pool), ZC_OK);
    assert_int_equal(watch.unmapped, regions);
    watch.n = 0;
}

static void test_secure_pool_wipes_everything_at_destroy(void **state)
{
    (void)state;
    destroy_with_secrets(ZC_POOL_SECURE);
    assert_int_equal(watch.nonzero, 0);
    /* The same without the flag leaves the secrets: the check can see them. */
    destroy_with_secrets(0);
    assert_true(watch.nonzero > 200000);
}

/* ---- ABA ---- */

typedef struct aba_ctx {
    zc_pool pool;
    void *kept;
} aba_ctx;

/* Takes a batch from the shared list, keeps one block and exits, which puts
 * the rest back: the head returns to the same id over a different chain. */
static void *reshuffle(void *arg)
{
    aba_ctx *c = arg;
    void *a, *b;
    assert_int_equal(zc_pool_alloc(c->pool, 64, &a), ZC_OK);
    assert_int_equal(zc_pool_alloc(c->pool, 64, &b), ZC_OK);
    assert_int_equal(zc_pool_free(c->pool, a), ZC_OK);
    c->kept = b;
    return NULL;
}

static void test_tagged_head_defeats_aba(void **state)
{
    (void)state;
    aba_ctx c;
    assert_int_equal(zc_pool_create(ZC_POOL_ORDERS, NULL, &c.pool), ZC_OK);
    void *first;
    assert_int_equal(zc_pool_alloc(c.pool, 64, &first), ZC_OK); /* a chunk: this thread's batch, the rest shared */
    zc_class *k = &impl(c.pool)->classes[0];
    uint64_t seen = atomic_load(&k->head);
    assert_int_not_equal((uint32_t)seen, ZC_NIL);

    /* A popper that read `seen` and walked its batch would now swap in a
     * stale successor and hand out a block another thread holds. */
    pthread_t t;
    pthread_create(&t, NULL, reshuffle, &c);
    pthread_join(t, NULL);
    uint64_t now = atomic_load(&k->head);
    assert_int_equal((uint32_t)now, (uint32_t)seen); /* same block id on top: ABA */
    assert_int_not_equal(now >> 32, seen >> 32);    /* but a different tag */
    uint64_t expected = seen;
    assert_false(atomic_compare_exchange_strong(&k->head, &expected, seen + 1));

    assert_int_equal(zc_pool_free(c.pool, c.kept), ZC_OK);
    assert_int_equal(zc_pool_free(c.pool, first), ZC_OK);
    zc_pool_counters cnt;
    assert_int_equal(zc_pool_snapshot(c.pool, &cnt), ZC_OK);
    assert_int_equal(cnt.bytes_in_use, 0);
    assert_int_equal(zc_pool_destroy(c.pool), ZC_OK);
}

/* ---- address map ---- */

static void test_address_map(void **state)
{
    (void)state;
    int owner_a, owner_b;
    uintptr_t base = (uintptr_t)0x7f0000000000ull;
    assert_int_equal(zc_addrmap_insert(base, 3 * ZC_GRANULE, &owner_a), ZC_OK);
    assert_ptr_equal(zc_addrmap_lookup(base), &owner_a);
    assert_ptr_equal(zc_addrmap_lookup(base + 3 * ZC_GRANULE - 1), &owner_a);
    assert_null(zc_addrmap_lookup(base + 3 * ZC_GRANULE));
    assert_null(zc_addrmap_lookup(base - 1));
    /* Overlap is refused and leaves the map as it was. */
    assert_int_equal(zc_addrmap_insert(base + 3 * ZC_GRANULE, 2 * ZC_GRANULE, &owner_b), ZC_OK);
    assert_int_equal(zc_addrmap_insert(base + 2 * ZC_GRANULE, 2 * ZC_GRANULE, &owner_b), ZC_ERR_INTERNAL);
    assert_ptr_equal(zc_addrmap_lookup(base + 2 * ZC_GRANULE), &owner_a);
    assert_ptr_equal(zc_addrmap_lookup(base + 4 * ZC_GRANULE), &owner_b);
    assert_int_equal(zc_addrmap_insert((uintptr_t)1 << 50, ZC_GRANULE, &owner_b), ZC_ERR_UNSUPPORTED);
    assert_null(zc_addrmap_lookup((uintptr_t)1 << 50));
    assert_null(zc_addrmap_lookup(UINTPTR_MAX));
    zc_addrmap_remove(base, 3 * ZC_GRANULE);
    zc_addrmap_remove(base + 3 * ZC_GRANULE, 2 * ZC_GRANULE);
    assert_null(zc_addrmap_lookup(base));
    assert_null(zc_addrmap_lookup(base + 4 * ZC_GRANULE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secure_pool_wipes_everything_at_destroy),
        cmocka_unit_test(test_tagged_head_defeats_aba),
        cmocka_unit_test(test_address_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
