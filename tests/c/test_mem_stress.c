/* Lock-free paths under load: N threads allocate and free random sizes from
 * shared pools (about 1M alloc/free pairs by default), hand a share of their
 * blocks to other threads to free, pin and rewrite handles while another
 * thread compacts, and a monitor polls the statistics throughout. Half the
 * threads take and return order blocks through inline caches. Every
 * block carries a unique tag, so a block handed out twice is caught.
 * ZC_STRESS_OPS and ZC_STRESS_THREADS scale it (make test-threads runs it
 * under ThreadSanitizer and helgrind with fewer operations). */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#define WINDOW 256
#define MAILBOX 4096
#define HANDLES 8
#define MAX_THREADS 16

typedef struct block {
    void *ptr;
    size_t size;
    uint64_t tag;
    int orders; /* from the orders pool */
} block;

typedef struct mailbox {
    pthread_mutex_t lock;
    block items[MAILBOX];
    int n;
} mailbox;

typedef struct shared {
    zc_pool generic, orders;
    int nthreads;
    long pairs_per_thread;
    mailbox box[MAX_THREADS];
    atomic_int running, finished;
    pthread_barrier_t start;
    atomic_long cross_frees, large, handle_allocs;
} shared;

typedef struct worker {
    shared *s;
    int id;
    uint64_t rng;
    zc_pool_cache *cache; /* even threads take and return order blocks through an inline cache */
} worker;

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void stamp(const block *b)
{
    memcpy(b->ptr, &b->tag, sizeof b->tag);
    ((unsigned char *)b->ptr)[b->size - 1] = (unsigned char)b->tag;
}

static void verify_and_free(shared *s, zc_pool_cache *cache, const block *b)
{
    uint64_t tag;
    memcpy(&tag, b->ptr, sizeof tag);
    if (tag != b->tag || ((unsigned char *)b->ptr)[b->size - 1] != (unsigned char)b->tag)
        fail_msg("block %p (%zu bytes) was overwritten: tag %#llx, expected %#llx", b->ptr, b->size,
                 (unsigned long long)tag, (unsigned long long)b->tag);
    zc_status st = b->orders && cache ? zc_pool_cache_free(cache, b->ptr)
                                      : zc_pool_free(b->orders ? s->orders : s->generic, b->ptr);
    if (st != ZC_OK)
        fail_msg("free: %s", zc_last_error());
}

static int post(mailbox *m, const block *b)
{
    pthread_mutex_lock(&m->lock);
    int ok = m->n < MAILBOX;
    if (ok)
        m->items[m->n++] = *b;
    pthread_mutex_unlock(&m->lock);
    return ok;
}

static void drain(shared *s, zc_pool_cache *cache, mailbox *m)
{
    block items[MAILBOX];
    pthread_mutex_lock(&m->lock);
    int n = m->n;
    memcpy(items, m->items, (size_t)n * sizeof *items);
    m->n = 0;
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < n; i++)
        verify_and_free(s, cache, &items[i]);
    atomic_fetch_add(&s->cross_frees, n);
}

static size_t random_size(worker *w, int *orders)
{
    uint64_t r = next(&w->rng);
    *orders = (r & 3) == 0;
    if (*orders)
        return 16 + (r >> 8) % 49; /* 16..64: an order record */
    if ((r >> 2) % 4096 == 0) {
        atomic_fetch_add(&w->s->large, 1);
        return 200000 + (r >> 16) % 100000; /* above the largest class */
    }
    return 16 + (r >> 16) % ((r >> 4) % 8 == 0 ? 16000 : 600);
}

/* Owns a few handles: pin, check, rewrite, unpin; now and then frees and
 * reallocates one so compaction finds holes. */
static void handle_round(shared *s, worker *w, zc_handle *h, uint64_t *val)
{
    int i = (int)(next(&w->rng) % HANDLES);
    uint64_t *p;
    assert_int_equal(zc_handle_pin(s->generic, h[i], (void **)&p), ZC_OK);
    for (int j = 0; j < 32; j++)
        if (p[j] != val[i] + (uint64_t)j)
            fail_msg("handle %d of thread %d corrupted: %#llx", i, w->id, (unsigned long long)p[j]);
    val[i] = next(&w->rng);
    for (int j = 0; j < 32; j++)
        p[j] = val[i] + (uint64_t)j;
    assert_int_equal(zc_handle_unpin(s->generic, h[i]), ZC_OK);
    if (next(&w->rng) % 8 == 0) {
        assert_int_equal(zc_handle_free(s->generic, h[i]), ZC_OK);
        assert_int_equal(zc_handle_alloc(s->generic, 256 + next(&w->rng) % 2048, &h[i]), ZC_OK);
        atomic_fetch_add(&s->handle_allocs, 1);
        assert_int_equal(zc_handle_pin(s->generic, h[i], (void **)&p), ZC_OK);
        for (int j = 0; j < 32; j++)
            p[j] = val[i] + (uint64_t)j;
        assert_int_equal(zc_handle_unpin(s->generic, h[i]), ZC_OK);
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    shared *s = w->s;
    block win[WINDOW];
    int n = 0;
    uint64_t serial = 0;
    zc_handle h[HANDLES];
    uint64_t val[HANDLES];
    zc_pool_cache cache;
    if (w->id % 2 == 0) {
        assert_int_equal(zc_pool_cache_open(s->orders, 0, &cache), ZC_OK);
        w->cache = &cache;
    }
    for (int i = 0; i < HANDLES; i++) {
        assert_int_equal(zc_handle_alloc(s->generic, 512, &h[i]), ZC_OK);
        atomic_fetch_add(&s->handle_allocs, 1);
        uint64_t *p;
        assert_int_equal(zc_handle_pin(s->generic, h[i], (void **)&p), ZC_OK);
        val[i] = (uint64_t)w->id << 32;
        for (int j = 0; j < 32; j++)
            p[j] = val[i] + (uint64_t)j;
        assert_int_equal(zc_handle_unpin(s->generic, h[i]), ZC_OK);
    }
    pthread_barrier_wait(&s->start);
    for (long pairs = 0; pairs < s->pairs_per_thread;) {
        uint64_t r = next(&w->rng);
        if (n < WINDOW && (n == 0 || r % 2 == 0)) {
            block b;
            b.size = random_size(w, &b.orders);
            b.tag = (uint64_t)(w->id + 1) << 48 | ++serial;
            zc_status st = b.orders && w->cache ? zc_pool_cache_alloc(w->cache, b.size, &b.ptr)
                                                : zc_pool_alloc(b.orders ? s->orders : s->generic, b.size, &b.ptr);
            if (st != ZC_OK)
                fail_msg("alloc of %zu: %s", b.size, zc_last_error());
            stamp(&b);
            win[n++] = b;
            pairs++;
            continue;
        }
        int i = (int)((r >> 8) % (uint64_t)n);
        block b = win[i];
        win[i] = win[--n];
        int to = (int)((r >> 32) % (uint64_t)s->nthreads);
        /* About a third of the blocks are freed by another thread. */
        if (to == w->id || (r >> 40) % 3 != 0 || !post(&s->box[to], &b))
            verify_and_free(s, w->cache, &b);
        if ((r >> 20) % 16 == 0)
            drain(s, w->cache, &s->box[w->id]);
        if ((r >> 26) % 16 == 0)
            handle_round(s, w, h, val);
    }
    for (int i = 0; i < n; i++)
        verify_and_free(s, w->cache, &win[i]);
    for (int i = 0; i < HANDLES; i++)
        assert_int_equal(zc_handle_free(s->generic, h[i]), ZC_OK);
    /* Keep taking deliveries until nobody can post any more. */
    atomic_fetch_add(&s->finished, 1);
    while (atomic_load(&s->finished) < s->nthreads) {
        drain(s, w->cache, &s->box[w->id]);
        sched_yield();
    }
    drain(s, w->cache, &s->box[w->id]);
    if (w->cache)
        assert_int_equal(zc_pool_cache_close(w->cache), ZC_OK); /* folds its counts for the totals below */
    w->cache = NULL;
    return NULL;
}

static void pause_briefly(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

static void *compact_loop(void *arg)
{
    shared *s = arg;
    while (atomic_load(&s->running)) {
        assert_int_equal(zc_pool_compact(s->generic, NULL), ZC_OK);
        pause_briefly();
    }
    return NULL;
}

static void *monitor(void *arg)
{
    shared *s = arg;
    while (atomic_load(&s->running)) {
        zc_pool_counters c;
        zc_pool_stats st;
        zc_mem_counters m;
        assert_int_equal(zc_pool_snapshot(s->orders, &c), ZC_OK);
        assert_int_equal(zc_pool_stats_get(s->generic, &st), ZC_OK);
        assert_true(st.fragmentation >= 0.0 && st.fragmentation <= 1.0);
        zc_mem_snapshot(&m);
        pause_briefly();
    }
    return NULL;
}

static long env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : fallback;
}

static void test_threads_alloc_free_cross_thread(void **state)
{
    (void)state;
    shared *s = calloc(1, sizeof *s);
    s->nthreads = (int)env_long("ZC_STRESS_THREADS", 4);
    if (s->nthreads < 2 || s->nthreads > MAX_THREADS)
        s->nthreads = 4;
    long total = env_long("ZC_STRESS_OPS", 1000000);
    s->pairs_per_thread = total / s->nthreads;
    zc_pool_config gcfg = {.name = "stress"}, ocfg = {.name = "stress-orders"};
    assert_int_equal(zc_pool_create(ZC_POOL_GENERIC, &gcfg, &s->generic), ZC_OK);
    assert_int_equal(zc_pool_create(ZC_POOL_ORDERS, &ocfg, &s->orders), ZC_OK);
    for (int i = 0; i < s->nthreads; i++)
        pthread_mutex_init(&s->box[i].lock, NULL);
    pthread_barrier_init(&s->start, NULL, (unsigned)s->nthreads);
    atomic_store(&s->running, 1);
    pthread_t threads[MAX_THREADS], compactor, mon;
    worker w[MAX_THREADS];
    pthread_create(&compactor, NULL, compact_loop, s);
    pthread_create(&mon, NULL, monitor, s);
    for (int i = 0; i < s->nthreads; i++) {
        w[i] = (worker){s, i, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1), NULL};
        pthread_create(&threads[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(threads[i], NULL);
    atomic_store(&s->running, 0);
    pthread_join(compactor, NULL);
    pthread_join(mon, NULL);

    zc_pool_counters g, o;
    assert_int_equal(zc_pool_snapshot(s->generic, &g), ZC_OK);
    assert_int_equal(zc_pool_snapshot(s->orders, &o), ZC_OK);
    long blocks = s->pairs_per_thread * s->nthreads;
    assert_int_equal((long)(o.allocs + g.allocs) - atomic_load(&s->handle_allocs), blocks);
    assert_int_equal(g.allocs, g.frees);
    assert_int_equal(o.allocs, o.frees);
    assert_int_equal(g.bytes_in_use, 0);
    assert_int_equal(o.bytes_in_use, 0);
    assert_int_equal(g.handles, 0);
    assert_int_equal(g.failures + g.double_frees + g.invalid_frees + g.overruns, 0);
    assert_int_equal(o.failures + o.double_frees + o.invalid_frees + o.overruns, 0);
    assert_true(g.peak_bytes > 0 && o.peak_bytes > 0);
    assert_true(g.compactions > 0);
    assert_true(atomic_load(&s->cross_frees) > 0);
    if (blocks >= 1000000)
        assert_true(atomic_load(&s->large) > 0);
    printf("stress: %d threads, %ld alloc/free pairs, %ld freed by another thread, %ld large, "
           "%llu compactions moved %llu handles\n",
           s->nthreads, blocks, atomic_load(&s->cross_frees), atomic_load(&s->large),
           (unsigned long long)g.compactions, (unsigned long long)g.blocks_moved);
    assert_int_equal(zc_pool_destroy(s->generic), ZC_OK);
    assert_int_equal(zc_pool_destroy(s->orders), ZC_OK);
    for (int i = 0; i < s->nthreads; i++)
        pthread_mutex_destroy(&s->box[i].lock);
    pthread_barrier_destroy(&s->start);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_alloc_free_cross_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
