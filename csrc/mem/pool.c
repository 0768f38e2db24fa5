/* Pools: size classes over slabs of equal slots, per-thread caches and
 * lock-free free lists, large blocks, statistics.
 *
 * Blocks are named by 32-bit ids (chunk index << ZC_SLOT_BITS | slot). Each
 * class keeps a Treiber stack of free ids whose head carries a 32-bit tag
 * that every change increments, so a pop that read a stale head fails its
 * compare-and-swap (ABA protection). Links and slot states live beside the
 * memory, never in it: device memory works the same way and secure memory
 * stays zero. A thread allocates from and frees to its own cache of blocks
 * without atomic read-modify-writes, and trades half a cache at a time with
 * the shared stacks. Chunk descriptors live until the pool is destroyed, so
 * a racing pop that reads a stale link reads valid memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

#define ZC_SLOT_FREE ZC_POOL_SLOT_FREE
#define ZC_SLOT_USED ZC_POOL_SLOT_USED
#define ZC_GUARD_BYTES 8
#define ZC_CANARY 0x7a63c0ffee5eed5aull
#define ZC_CACHE_BYTES ((size_t)256 << 10)
#define ZC_CACHE_MIN 4u
#define ZC_CACHE_MAX 512u
#define ZC_DEFAULT_CHUNK ((size_t)1 << 20)
#define ZC_MAX_CHUNK ((size_t)1 << 30)
#define ZC_MAX_OBJECT ((size_t)256 << 20)
#define ZC_HUGE_CHUNK ((size_t)2 << 20)

#define POOL_ERR(fn, st, ...) zc_error_set((st), "", -1, (fn), __VA_ARGS__)

/* ---- per-thread caches ---- */

/* A cached free block: its address and its state byte, so that handing it
 * out touches nothing else. */
typedef struct zc_tc_entry {
    char *ptr;
    _Atomic uint8_t *state;
} zc_tc_entry;

typedef struct zc_tc_class {
    uint32_t n, cap;
    zc_tc_entry *e;
    size_t size;
    _Atomic uint64_t allocs, frees; /* written by the owning thread only */
} zc_tc_class;

typedef struct zc_tcache {
    /* The pool's fast-path fields, copied: one pointer chase less. */
    size_t fast_limit;
    unsigned align_shift;
    zc_tc_class *single;  /* the class of a one-class pool, else NULL */
    const uint8_t *class_of;
    zc_chunk *last;       /* chunk of the latest free (never set for guarded or secure pools) */
    int64_t published;    /* this thread's bytes in use as last published */
    zc_pool_impl *pool;
    struct zc_tentry *owner; /* the owning thread's entry, cleared by destroy */
    struct zc_tcache *next, *prev;
    zc_tc_class cls[];
} zc_tcache;

/* tc->last before the first free: it contains no address. */
static zc_chunk no_chunk;

/* A thread's entry for the pool in one slot: the full handle id it serves
 * and its cache; {0, NULL} when none (destroy clears it in every thread). */
typedef struct zc_tentry {
    _Atomic uint64_t id;
    zc_tcache *tc;
} zc_tentry;

typedef struct zc_tstate {
    zc_tentry e[ZC_MAX_POOLS];
} zc_tstate;

/* Threads start on an empty table, so the fast path needs no NULL check;
 * one pointer of initial-exec TLS keeps __tls_get_addr off it. */
static zc_tstate no_tstate;
static _Thread_local zc_tstate *tls_state __attribute__((tls_model("initial-exec"))) = &no_tstate;

static struct {
    pthread_mutex_t lock; /* slots, thread-cache lists, teardown */
    struct {
        _Atomic uint32_t gen; /* odd while a pool lives here */
        _Atomic(zc_pool_impl *) pool;
    } slots[ZC_MAX_POOLS];
    uint32_t cursor;
    int key_made;
    pthread_key_t key;
    _Atomic uint64_t pools, created, stale;
    _Atomic uint64_t allocs, frees, failures, bad_frees; /* of destroyed pools */
    _Atomic int64_t published;
    _Atomic uint64_t peak;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A counter one thread writes and others read: a plain add, no lock prefix. */
static inline void bump(_Atomic uint64_t *c, uint64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d, memory_order_relaxed);
}

static void max_update(_Atomic uint64_t *peak, int64_t value)
{
    if (value <= 0)
        return;
    uint64_t cur = atomic_load_explicit(peak, memory_order_relaxed);
    while (cur < (uint64_t)value &&
           !atomic_compare_exchange_weak_explicit(peak, &cur, (uint64_t)value, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

const char *zc_mem_kind_name(zc_mem_kind kind)
{
    static const char *const names[] = {"host", "pinned", "device", "unified"};
    return (unsigned)kind < ZC_MEM_KIND_COUNT ? names[kind] : "unknown";
}

const char *zc_pool_kind_name(zc_pool_kind kind)
{
    static const char *const names[] = {"generic", "orders", "price_levels", "md_ring", "field_vectors"};
    return (unsigned)kind < ZC_POOL_KIND_COUNT ? names[kind] : "unknown";
}

void zc_pool_publish(zc_pool_impl *p, int64_t delta)
{
    max_update(&p->peak, atomic_fetch_add(&p->published, delta) + delta);
    max_update(&g.peak, atomic_fetch_add(&g.published, delta) + delta);
}

/* Publishes the change of this thread's bytes in use since the last call.
 * Called when the cache trades with the shared lists, so a peak is missed by
 * at most what the cache can hand out or take back in between. */
static void publish_tc(zc_tcache *tc)
{
    int64_t live = 0;
    for (uint32_t c = 0; c < tc->pool->nclasses; c++) {
        zc_tc_class *tcc = &tc->cls[c];
        uint64_t allocs = atomic_load_explicit(&tcc->allocs, memory_order_relaxed);
        live += (int64_t)(allocs - atomic_load_explicit(&tcc->frees, memory_order_relaxed)) * (int64_t)tcc->size;
    }
    zc_pool_publish(tc->pool, live - tc->published);
    tc->published = live;
}

/* ---- handles of pools ---- */

zc_status zc_pool_resolve(zc_pool pool, const char *fn, zc_pool_impl **out)
{
    uint32_t slot = (uint32_t)pool.id, gen = (uint32_t)(pool.id >> 32);
    if (slot < ZC_MAX_POOLS && (gen & 1)) {
        uint32_t cur = atomic_load_explicit(&g.slots[slot].gen, memory_order_acquire);
        ZC_HAPPENS_AFTER(&g.slots[slot].gen);
        zc_pool_impl *p = atomic_load_explicit(&g.slots[slot].pool, memory_order_acquire);
        if (cur == gen && p) {
            *out = p;
            return ZC_OK;
        }
        if ((int32_t)(gen - cur) < 0) {
            atomic_fetch_add(&g.stale, 1);
            return POOL_ERR(fn, ZC_ERR_STATE, "pool handle %#llx is stale: its pool was destroyed",
                            (unsigned long long)pool.id);
        }
    }
    atomic_fetch_add(&g.stale, 1);
    return POOL_ERR(fn, ZC_ERR_INVALID_ARGUMENT, "%#llx is not a pool handle", (unsigned long long)pool.id);
}

static inline zc_chunk *chunk_of(zc_pool_impl *p, uint32_t id)
{
    return atomic_load_explicit(&p->chunks[id >> ZC_SLOT_BITS], memory_order_relaxed);
}

/* offset / slot_size by multiplication (exact for offsets below 2^32). */
static inline uint32_t slot_of(const zc_chunk *ch, uintptr_t offset)
{
    return (uint32_t)(((unsigned __int128)offset * ch->magic) >> 64);
}

/* ---- shared free lists ---- */

static void push_chain(zc_pool_impl *p, zc_class *k, uint32_t first, uint32_t last)
{
    _Atomic uint32_t *link = &chunk_of(p, last)->next[last & ZC_SLOT_MASK];
    uint64_t old = atomic_load_explicit(&k->head, memory_order_relaxed);
    uint64_t head;
    do {
        atomic_store_explicit(link, (uint32_t)old, memory_order_relaxed);
        head = ((old >> 32) + 1) << 32 | first;
        ZC_HAPPENS_BEFORE(&k->head);
    } while (!atomic_compare_exchange_weak_explicit(&k->head, &old, head, memory_order_release,
                                                    memory_order_relaxed));
}


/* Pops up to `want` ids with one compare-and-swap. Nodes below the head
 * change only after the head does, so an unchanged tagged head means the
 * walked chain was intact. */
static uint32_t pop_batch(zc_pool_impl *p, zc_class *k, uint32_t *out, uint32_t want)
{
    uint64_t old = atomic_load_explicit(&k->head, memory_order_acquire);
    for (;;) {
        ZC_HAPPENS_AFTER(&k->head);
        uint32_t id = (uint32_t)old, n = 0, after = ZC_NIL;
        if (id == ZC_NIL)
            return 0;
        while (n < want) {
            out[n++] = id;
            /* A racing walk may read any valid id, or (before the chunk's
             * publication reaches us) no chunk: its CAS then fails. */
            zc_chunk *ch = chunk_of(p, id);
            after = ch ? atomic_load_explicit(&ch->next[id & ZC_SLOT_MASK], memory_order_relaxed) : ZC_NIL;
            if (after == ZC_NIL)
                break;
            id = after;
        }
        uint64_t head = ((old >> 32) + 1) << 32 | after;
        if (atomic_compare_exchange_weak_explicit(&k->head, &old, head, memory_order_acquire,
                                                  memory_order_acquire))
            return n;
    }
}

/* ---- chunks ---- */

static void free_chunk(zc_chunk *ch)
{
    free(ch->next);
    free(ch->state);
    free(ch->req);
    free(ch);
}

/* A new slab for class c, published in the chunk table; grow_lock held. */
static zc_status new_chunk(zc_pool_impl *p, uint32_t c, zc_chunk **out, const char *fn)
{
    zc_class *k = &p->classes[c];
    uint32_t idx = atomic_load_explicit(&p->nchunks, memory_order_relaxed);
    if (idx >= ZC_MAX_CHUNKS)
        return POOL_ERR(fn, ZC_ERR_OUT_OF_MEMORY, "pool '%s' has %d chunks, its maximum", p->name, ZC_MAX_CHUNKS);
    uint64_t reserved = atomic_load(&p->reserved);
    if (p->max_bytes && reserved + k->chunk_bytes > p->max_bytes)
        return POOL_ERR(fn, ZC_ERR_OUT_OF_MEMORY, "pool '%s' reached max_bytes: %llu reserved + %zu > %zu", p->name,
                        (unsigned long long)reserved, k->chunk_bytes, p->max_bytes);
    zc_chunk *ch = calloc(1, sizeof *ch);
    if (ch) {
        ch->next = calloc(k->nslots, sizeof *ch->next);
        ch->state = calloc(k->nslots, sizeof *ch->state);
        ch->req = p->guard ? calloc(k->nslots, sizeof *ch->req) : NULL;
    }
    if (!ch || !ch->next || !ch->state || (p->guard && !ch->req)) {
        if (ch)
            free_chunk(ch);
        return POOL_ERR(fn, ZC_ERR_OUT_OF_MEMORY, "metadata of a %u-slot chunk", k->nslots);
    }
    zc_status st = zc_resource_alloc(&p->res, k->chunk_bytes, &ch->region);
    if (st == ZC_OK) {
        ch->base = (uintptr_t)ch->region.addr;
        ch->slot_size = k->size;
        ch->nslots = k->nslots;
        ch->span = (size_t)k->nslots * k->size;
        ch->magic = UINT64_MAX / k->size + 1;
        ch->shift = (k->size & (k->size - 1)) ? 0 : (unsigned)__builtin_ctzll(k->size);
        ch->pool = p;
        ch->cls = c;
        ch->index = idx;
        st = zc_addrmap_insert(ch->base, ch->region.bytes, ch);
        if (st != ZC_OK)
            zc_resource_release(&p->res, &ch->region);
    }
    if (st != ZC_OK) {
        free_chunk(ch);
        return st;
    }
    ZC_BENIGN_RACE(ch->next, k->nslots * sizeof *ch->next);
    ZC_BENIGN_RACE(ch->state, k->nslots * sizeof *ch->state);
    ZC_HAPPENS_BEFORE(&p->chunks[idx]);
    atomic_store_explicit(&p->chunks[idx], ch, memory_order_release);
    atomic_store_explicit(&p->nchunks, idx + 1, memory_order_release);
    atomic_fetch_add(&p->reserved, k->chunk_bytes);
    atomic_fetch_add(&k->reserved_slots, k->nslots);
    *out = ch;
    return ZC_OK;
}

/* Refills an empty class from a new chunk: the caller's cache takes the
 * first `want` slots, the shared list the rest. */
static zc_status grow(zc_pool_impl *p, uint32_t c, zc_tc_class *tcc, uint32_t want, const char *fn)
{
    zc_class *k = &p->classes[c];
    pthread_mutex_lock(&p->grow_lock);
    if ((uint32_t)atomic_load_explicit(&k->head, memory_order_relaxed) != ZC_NIL) {
        pthread_mutex_unlock(&p->grow_lock); /* another thread grew it: pop again */
        return ZC_OK;
    }
    zc_chunk *ch = NULL;
    zc_status st = new_chunk(p, c, &ch, fn);
    if (st == ZC_OK) {
        uint32_t base = ch->index << ZC_SLOT_BITS, n = ch->nslots, take = want < n ? want : n;
        for (uint32_t i = 0; i < take; i++) { /* slot 0 is handed out first */
            uint32_t slot = take - 1 - i;
            tcc->e[i] = (zc_tc_entry){(char *)ch->base + (size_t)slot * ch->slot_size, &ch->state[slot]};
        }
        tcc->n = take;
        if (n > take) {
            for (uint32_t i = take; i + 1 < n; i++)
                atomic_store_explicit(&ch->next[i], base + i + 1, memory_order_relaxed);
            push_chain(p, k, base + take, base + n - 1);
        }
    }
    pthread_mutex_unlock(&p->grow_lock);
    if (st != ZC_OK)
        atomic_fetch_add(&p->failures, 1);
    return st;
}

/* ---- thread caches ---- */

/* Cache entries of block ids popped from a shared list. */
static inline zc_tc_entry entry_of(zc_pool_impl *p, uint32_t id)
{
    zc_chunk *ch = chunk_of(p, id);
    uint32_t s = id & ZC_SLOT_MASK;
    return (zc_tc_entry){(char *)ch->base + (size_t)s * ch->slot_size, &ch->state[s]};
}

static uint32_t id_of(const zc_tcache *tc, const zc_tc_entry *e)
{
    zc_chunk *ch = tc->last;
    if ((uintptr_t)e->ptr - ch->base >= ch->span)
        ch = zc_addrmap_lookup((uintptr_t)e->ptr);
    return ch->index << ZC_SLOT_BITS | (uint32_t)(e->state - ch->state);
}

/* Links the entries' blocks in order and pushes them with one compare-and-swap. */
static void push_entries(zc_tcache *tc, uint32_t c, const zc_tc_entry *e, uint32_t n)
{
    zc_pool_impl *p = tc->pool;
    uint32_t first = id_of(tc, &e[0]), prev = first;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t id = id_of(tc, &e[i]);
        atomic_store_explicit(&chunk_of(p, prev)->next[prev & ZC_SLOT_MASK], id, memory_order_relaxed);
        prev = id;
    }
    push_chain(p, &p->classes[c], first, prev);
}

static zc_tcache *tcache_new(zc_pool_impl *p)
{
    size_t table = p->max_block >> p->align_shift;
    size_t bytes = sizeof(zc_tcache) + p->nclasses * sizeof(zc_tc_class) + table;
    for (uint32_t c = 0; c < p->nclasses; c++)
        bytes += p->classes[c].cache_cap * sizeof(zc_tc_entry);
    zc_tcache *tc = calloc(1, bytes);
    if (!tc)
        return NULL;
    tc->pool = p;
    tc->fast_limit = p->fast_limit;
    tc->align_shift = p->align_shift;
    tc->single = p->nclasses == 1 ? &tc->cls[0] : NULL;
    tc->last = &no_chunk;
    zc_tc_entry *e = (zc_tc_entry *)&tc->cls[p->nclasses];
    for (uint32_t c = 0; c < p->nclasses; c++) {
        tc->cls[c].cap = p->classes[c].cache_cap;
        tc->cls[c].size = p->classes[c].size;
        tc->cls[c].e = e;
        e += tc->cls[c].cap;
        ZC_BENIGN_RACE(&tc->cls[c].allocs, 2 * sizeof(uint64_t));
    }
    memcpy(e, p->class_of, table);
    tc->class_of = (const uint8_t *)e;
    return tc;
}

/* Returns a cache's blocks and counts to the pool and frees it; g.lock held. */
static void tcache_retire(zc_tcache *tc)
{
    zc_pool_impl *p = tc->pool;
    for (uint32_t c = 0; c < p->nclasses; c++) {
        zc_tc_class *tcc = &tc->cls[c];
        if (tcc->n)
            push_entries(tc, c, tcc->e, tcc->n);
        atomic_fetch_add(&p->classes[c].allocs_retired, atomic_load(&tcc->allocs));
        atomic_fetch_add(&p->classes[c].frees_retired, atomic_load(&tcc->frees));
    }
    publish_tc(tc);
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        p->tcaches = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
    free(tc);
}

static void tstate_exit(void *arg)
{
    zc_tstate *ts = arg;
    pthread_mutex_lock(&g.lock);
    for (uint32_t s = 0; s < ZC_MAX_POOLS; s++)
        if (atomic_load_explicit(&ts->e[s].id, memory_order_relaxed)) /* destroy freed the others */
            tcache_retire(ts->e[s].tc);
    pthread_mutex_unlock(&g.lock);
    tls_state = &no_tstate;
    free(ts);
}

/* This thread's cache of a live pool, or NULL: the caller then takes the
 * slow path, which validates and reports. Handles of other slots land on an
 * entry whose id differs, so masking the slot is safe. */
static inline zc_tcache *tcache_fast(zc_pool pool)
{
    zc_tentry *e = &tls_state->e[pool.id & (ZC_MAX_POOLS - 1)];
    if (ZC_UNLIKELY(atomic_load_explicit(&e->id, memory_order_relaxed) != pool.id))
        return NULL;
    return e->tc; /* NULL for an empty entry, whose id 0 a bogus handle can match */
}

static zc_status tcache_get(zc_pool pool, const char *fn, zc_tcache **out)
{
    zc_tcache *tc = tcache_fast(pool);
    if (tc) {
        *out = tc;
        return ZC_OK;
    }
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, fn, &p));
    zc_tstate *ts = tls_state;
    if (ts == &no_tstate) {
        pthread_mutex_lock(&g.lock);
        if (!g.key_made)
            g.key_made = pthread_key_create(&g.key, tstate_exit) == 0;
        pthread_mutex_unlock(&g.lock);
        ts = calloc(1, sizeof *ts);
        if (!ts || !g.key_made || pthread_setspecific(g.key, ts) != 0) {
            free(ts);
            return POOL_ERR(fn, ZC_ERR_OUT_OF_MEMORY, "per-thread pool state");
        }
        ZC_BENIGN_RACE(ts, sizeof *ts); /* destroy zeroes entries of other threads */
        tls_state = ts;
    }
    if (!(tc = tcache_new(p)))
        return POOL_ERR(fn, ZC_ERR_OUT_OF_MEMORY, "thread cache of pool '%s'", p->name);
    pthread_mutex_lock(&g.lock);
    if (atomic_load(&g.slots[p->slot].gen) != p->gen) {
        pthread_mutex_unlock(&g.lock);
        free(tc);
        return zc_pool_resolve(pool, fn, &p);
    }
    tc->next = p->tcaches;
    if (tc->next)
        tc->next->prev = tc;
    p->tcaches = tc;
    zc_tentry *e = &ts->e[p->slot];
    e->tc = tc;
    tc->owner = e;
    atomic_store_explicit(&e->id, (uint64_t)p->gen << 32 | p->slot, memory_order_relaxed);
    pthread_mutex_unlock(&g.lock);
    *out = tc;
    return ZC_OK;
}

/* ---- allocation ---- */

static inline void *take(zc_tcache *tc, zc_tc_class *tcc)
{
    zc_tc_entry e = tcc->e[--tcc->n];
    atomic_store_explicit(e.state, ZC_SLOT_USED, memory_order_relaxed);
    bump(&tcc->allocs, 1);
    return e.ptr;
}

static zc_status bad_request(zc_pool_impl *p, zc_status st)
{
    atomic_fetch_add(&p->bad_requests, 1);
    atomic_fetch_add(&p->failures, 1);
    return st;
}

static zc_status check_request(zc_pool_impl *p, size_t bytes, const char *fn)
{
    if (bytes == 0)
        return bad_request(p, POOL_ERR(fn, ZC_ERR_INVALID_ARGUMENT, "zero-byte request to pool '%s'", p->name));
    if (p->object_size && bytes > p->object_size)
        return bad_request(p, POOL_ERR(fn, ZC_ERR_OUT_OF_RANGE,
                                       "request of %zu bytes exceeds the %zu-byte slots of %s pool '%s'", bytes,
                                       p->object_size, zc_pool_kind_name(p->kind), p->name));
    if (bytes > SIZE_MAX / 4 || (p->max_bytes && bytes > p->max_bytes))
        return bad_request(p, POOL_ERR(fn, ZC_ERR_OUT_OF_RANGE,
                                       "request of %zu bytes exceeds the limit of pool '%s' (%zu bytes)", bytes,
                                       p->name, p->max_bytes ? p->max_bytes : SIZE_MAX / 4));
    return ZC_OK;
}

static void put_canary(void *ptr, size_t bytes)
{
    uint64_t v = ZC_CANARY ^ (uint64_t)(uintptr_t)ptr;
    memcpy((char *)ptr + bytes, &v, sizeof v);
}

static zc_status check_canary(zc_pool_impl *p, const void *ptr, size_t bytes, const char *fn)
{
    uint64_t v = ZC_CANARY ^ (uint64_t)(uintptr_t)ptr, got;
    memcpy(&got, (const char *)ptr + bytes, sizeof got);
    if (got == v)
        return ZC_OK;
    atomic_fetch_add(&p->overruns, 1);
    return POOL_ERR(fn, ZC_ERR_OUT_OF_RANGE, "heap overrun: the canary after the %zu-byte block at %p of pool '%s' "
                    "was overwritten (the block has been freed)", bytes, ptr, p->name);
}

static zc_status alloc_large(zc_pool_impl *p, size_t bytes, void **out, const char *fn)
{
    size_t need = round_up(bytes + (p->guard ? ZC_GUARD_BYTES : 0), ZC_GRANULE);
    pthread_mutex_lock(&p->grow_lock);
    uint64_t reserved = atomic_load(&p->reserved);
    zc_status st = ZC_OK;
    if (p->max_bytes && reserved + need > p->max_bytes)
        st = POOL_ERR(fn, ZC_ERR_OUT_OF_MEMORY, "pool '%s' reached max_bytes: %llu reserved + %zu > %zu", p->name,
                      (unsigned long long)reserved, need, p->max_bytes);
    zc_chunk *ch = NULL;
    if (st == ZC_OK) {
        ch = p->spare ? p->spare : calloc(1, sizeof *ch);
        if (!ch)
            st = POOL_ERR(fn, ZC_ERR_OUT_OF_MEMORY, "large block descriptor");
        else if (ch == p->spare)
            p->spare = ch->link;
    }
    if (st == ZC_OK && (st = zc_resource_alloc(&p->res, need, &ch->region)) == ZC_OK) {
        ch->base = (uintptr_t)ch->region.addr;
        ch->span = ch->slot_size = need;
        ch->pool = p;
        ch->cls = ZC_CLASS_LARGE;
        ch->nslots = 1;
        ch->state = &ch->large_state;
        ch->large_req = bytes;
        atomic_store(&ch->large_state, ZC_SLOT_USED);
        if ((st = zc_addrmap_insert(ch->base, need, ch)) != ZC_OK)
            zc_resource_release(&p->res, &ch->region);
    }
    if (st == ZC_OK) {
        ch->link = p->large;
        p->large = ch;
        atomic_fetch_add(&p->reserved, need);
        atomic_fetch_add(&p->large_allocs, 1);
        atomic_fetch_add(&p->large_in_use, need);
    } else if (ch) {
        ch->link = p->spare;
        p->spare = ch;
    }
    pthread_mutex_unlock(&p->grow_lock);
    if (st != ZC_OK) {
        atomic_fetch_add(&p->failures, 1);
        return st;
    }
    zc_pool_publish(p, (int64_t)need);
    if (p->guard)
        put_canary(ch->region.addr, bytes);
    *out = ch->region.addr;
    return ZC_OK;
}

static zc_status refill(zc_tcache *tc, uint32_t c, const char *fn)
{
    zc_pool_impl *p = tc->pool;
    zc_tc_class *tcc = &tc->cls[c];
    uint32_t want = tcc->cap / 2, ids[ZC_CACHE_MAX];
    for (;;) {
        uint32_t n = pop_batch(p, &p->classes[c], ids, want);
        for (uint32_t i = 0; i < n; i++)
            tcc->e[i] = entry_of(p, ids[i]);
        tcc->n = n;
        if (!tcc->n)
            ZC_CHECK(grow(p, c, tcc, want, fn));
        if (tcc->n) {
            publish_tc(tc);
            return ZC_OK;
        }
    }
}

__attribute__((noinline, cold)) static zc_status alloc_slow(zc_pool pool, size_t bytes, void **out, const char *fn)
{
    zc_tcache *tc = NULL;
    ZC_CHECK(tcache_get(pool, fn, &tc));
    zc_pool_impl *p = tc->pool;
    if (!out)
        return bad_request(p, POOL_ERR(fn, ZC_ERR_INVALID_ARGUMENT, "out must not be NULL"));
    *out = NULL;
    ZC_CHECK(check_request(p, bytes, fn));
    size_t need = bytes + (p->guard ? ZC_GUARD_BYTES : 0);
    if (need > p->max_block)
        return alloc_large(p, bytes, out, fn);
    uint32_t c = p->class_of[(need - 1) >> p->align_shift];
    zc_tc_class *tcc = &tc->cls[c];
    if (!tcc->n)
        ZC_CHECK(refill(tc, c, fn));
    void *ptr = take(tc, tcc);
    if (p->guard) {
        zc_chunk *ch = zc_addrmap_lookup((uintptr_t)ptr);
        ch->req[slot_of(ch, (uintptr_t)ptr - ch->base)] = (uint32_t)bytes;
        put_canary(ptr, bytes);
    }
    *out = ptr;
    return ZC_OK;
}

zc_status zc_pool_alloc(zc_pool pool, size_t bytes, void **out)
{
    zc_tcache *tc = tcache_fast(pool);
    if (ZC_LIKELY(tc && out && bytes - 1 < tc->fast_limit)) {
        zc_tc_class *tcc = tc->single ? tc->single : &tc->cls[tc->class_of[(bytes - 1) >> tc->align_shift]];
        if (ZC_LIKELY(tcc->n)) {
            *out = take(tc, tcc);
            return ZC_OK;
        }
    }
    return alloc_slow(pool, bytes, out, __func__);
}

/* Zeroes device memory through the backend, from a zero page. */
static zc_status zero_device(zc_pool_impl *p, void *ptr, size_t bytes)
{
    static const char zeros[ZC_GRANULE];
    zc_chunk *ch = zc_addrmap_lookup((uintptr_t)ptr);
    zc_devbuf *view;
    ZC_CHECK(zc_dev_buf_borrow(p->res.device, ch->region.handle, ch->region.raw_bytes, &view));
    size_t offset = (size_t)((uintptr_t)ptr - (uintptr_t)ch->region.dev_addr);
    zc_status st = ZC_OK;
    for (size_t done = 0; done < bytes && st == ZC_OK; done += sizeof zeros) {
        size_t n = bytes - done < sizeof zeros ? bytes - done : sizeof zeros;
        st = zc_buf_write(view, offset + done, zeros, n);
    }
    zc_buf_free(view);
    return st;
}

zc_status zc_pool_alloc_zeroed(zc_pool pool, size_t bytes, void **out)
{
    ZC_CHECK(zc_pool_alloc(pool, bytes, out));
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    if (p->flags & ZC_POOL_SECURE)
        return ZC_OK; /* wiped on free, zero when fresh */
    if (p->res.host_accessible) {
        memset(*out, 0, bytes);
        return ZC_OK;
    }
    zc_status st = zero_device(p, *out, bytes);
    if (st != ZC_OK) {
        zc_pool_free(pool, *out);
        *out = NULL;
    }
    return st;
}

/* ---- free ---- */

static zc_status free_large(zc_pool_impl *p, zc_chunk *ch, uintptr_t a, const char *fn)
{
    pthread_mutex_lock(&p->grow_lock);
    /* Looked up again under the lock: a racing free may have released it. */
    if (zc_addrmap_lookup(a) != ch || atomic_load(&ch->large_state) != ZC_SLOT_USED) {
        pthread_mutex_unlock(&p->grow_lock);
        atomic_fetch_add(&p->double_frees, 1);
        return POOL_ERR(fn, ZC_ERR_STATE, "double free of the large block %p in pool '%s'", (void *)a, p->name);
    }
    if (a != ch->base) {
        pthread_mutex_unlock(&p->grow_lock);
        atomic_fetch_add(&p->invalid_frees, 1);
        return POOL_ERR(fn, ZC_ERR_INVALID_ARGUMENT,
                        "%p points inside the large block %p of pool '%s', not at its start", (void *)a,
                        (void *)ch->base, p->name);
    }
    zc_status st = p->guard ? check_canary(p, (void *)a, ch->large_req, fn) : ZC_OK;
    size_t span = ch->span;
    atomic_store(&ch->large_state, ZC_SLOT_FREE);
    zc_addrmap_remove(ch->base, span);
    zc_resource_release(&p->res, &ch->region);
    for (zc_chunk **link = &p->large; *link; link = &(*link)->link)
        if (*link == ch) {
            *link = ch->link;
            break;
        }
    ch->link = p->spare; /* descriptors are recycled, never freed: a racing lookup reads valid memory */
    p->spare = ch;
    atomic_fetch_sub(&p->reserved, span);
    atomic_fetch_add(&p->large_frees, 1);
    atomic_fetch_sub(&p->large_in_use, span);
    pthread_mutex_unlock(&p->grow_lock);
    zc_pool_publish(p, -(int64_t)span);
    return st;
}

static void flush(zc_tcache *tc, uint32_t c)
{
    zc_tc_class *tcc = &tc->cls[c];
    uint32_t half = tcc->n / 2; /* the oldest half: the newest is likeliest to be in cache */
    push_entries(tc, c, tcc->e, half);
    memmove(tcc->e, tcc->e + half, (tcc->n - half) * sizeof *tcc->e);
    tcc->n -= half;
    publish_tc(tc);
}

__attribute__((noinline, cold)) static zc_status free_slow(zc_pool pool, void *ptr, const char *fn)
{
    zc_tcache *tc = NULL;
    ZC_CHECK(tcache_get(pool, fn, &tc));
    if (!ptr)
        return ZC_OK;
    zc_pool_impl *p = tc->pool;
    uintptr_t a = (uintptr_t)ptr;
    zc_chunk *ch = zc_addrmap_lookup(a);
    if (!ch || ch->pool != p) {
        atomic_fetch_add(&p->invalid_frees, 1);
        if (ch)
            return POOL_ERR(fn, ZC_ERR_INVALID_ARGUMENT, "%p belongs to another pool, not to pool '%s'", ptr, p->name);
        return POOL_ERR(fn, ZC_ERR_INVALID_ARGUMENT,
                        "%p was not allocated by pool '%s' (a foreign pointer, or a large block already freed)", ptr,
                        p->name);
    }
    if (ch->cls == ZC_CLASS_LARGE)
        return free_large(p, ch, a, fn);
    uintptr_t off = a - ch->base;
    uint32_t s = slot_of(ch, off);
    if (off >= ch->span || (uintptr_t)s * ch->slot_size != off) {
        atomic_fetch_add(&p->invalid_frees, 1);
        return POOL_ERR(fn, ZC_ERR_INVALID_ARGUMENT,
                        "%p is not the start of a %zu-byte block of pool '%s' (interior or misaligned pointer)", ptr,
                        ch->slot_size, p->name);
    }
    if (atomic_load_explicit(&ch->state[s], memory_order_relaxed) != ZC_SLOT_USED) {
        atomic_fetch_add(&p->double_frees, 1);
        return POOL_ERR(fn, ZC_ERR_STATE, "double free of %p in pool '%s'", ptr, p->name);
    }
    zc_status st = p->guard ? check_canary(p, ptr, ch->req[s], fn) : ZC_OK;
    if (p->flags & ZC_POOL_SECURE)
        zc_wipe(ptr, ch->slot_size);
    atomic_store_explicit(&ch->state[s], ZC_SLOT_FREE, memory_order_relaxed);
    zc_tc_class *tcc = &tc->cls[ch->cls];
    if (!p->checked)
        tc->last = ch; /* the fast path skips the checks these pools need */
    if (tcc->n == tcc->cap)
        flush(tc, ch->cls);
    tcc->e[tcc->n++] = (zc_tc_entry){ptr, &ch->state[s]};
    bump(&tcc->frees, 1);
    return st;
}

zc_status zc_pool_free(zc_pool pool, void *ptr)
{
    zc_tcache *tc = tcache_fast(pool);
    if (ZC_LIKELY(tc != NULL)) {
        zc_chunk *ch = tc->last;
        uintptr_t off = (uintptr_t)ptr - ch->base;
        if (ZC_LIKELY(off < ch->span)) {
            /* Power-of-two slots (typed pools) divide by a shift. */
            uint32_t s = ch->shift ? (uint32_t)(off >> ch->shift) : slot_of(ch, off);
            zc_tc_class *tcc = &tc->cls[ch->cls];
            _Atomic uint8_t *state = &ch->state[s];
            if (ZC_LIKELY((uintptr_t)s * ch->slot_size == off && tcc->n < tcc->cap &&
                          atomic_load_explicit(state, memory_order_relaxed) == ZC_SLOT_USED)) {
                atomic_store_explicit(state, ZC_SLOT_FREE, memory_order_relaxed);
                tcc->e[tcc->n++] = (zc_tc_entry){ptr, state};
                bump(&tcc->frees, 1);
                return ZC_OK;
            }
        }
    }
    return free_slow(pool, ptr, __func__);
}

/* ---- inline caches (the inline halves are in mem.h) ----
 * A cache's blocks are free slots whose state bytes say so; its counts are
 * added to the calling thread's cache counters when folded, which is where
 * the statistics sum them. */

static void cache_fold(zc_pool_cache *c, zc_tcache *tc)
{
    zc_tc_class *tcc = &tc->cls[c->cls];
    bump(&tcc->allocs, c->allocs);
    bump(&tcc->frees, c->frees);
    c->allocs = c->frees = 0;
    publish_tc(tc);
}

/* The calling thread's cache of the pool behind an open cache, with the
 * counts folded when the inline path stopped for them. */
static zc_status cache_begin(zc_pool_cache *c, const char *fn, zc_tcache **tc)
{
    if (!c)
        return POOL_ERR(fn, ZC_ERR_INVALID_ARGUMENT, "cache must not be NULL");
    if (!c->gen)
        return POOL_ERR(fn, ZC_ERR_STATE, "the pool cache is not open (never opened, or closed)");
    ZC_CHECK(tcache_get(c->pool, fn, tc));
    if (c->allocs >= ZC_POOL_CACHE_FOLD || c->frees >= ZC_POOL_CACHE_FOLD)
        cache_fold(c, *tc);
    return ZC_OK;
}

/* Moves the oldest `count` blocks to the thread's cache. */
static void cache_spill(zc_pool_cache *c, zc_tcache *tc, uint32_t count)
{
    zc_tc_class *tcc = &tc->cls[c->cls];
    for (uint32_t i = 0; i < count; i++) {
        if (tcc->n == tcc->cap)
            flush(tc, c->cls);
        tcc->e[tcc->n++] = (zc_tc_entry){c->e[i].ptr, (_Atomic uint8_t *)c->e[i].state};
    }
    memmove(c->e, c->e + count, (c->n - count) * sizeof *c->e);
    c->n -= count;
}

/* Fills half the cache from the thread's cache, which refills from the
 * shared lists. An empty cache after a failed refill is the failure. */
static zc_status cache_fill(zc_pool_cache *c, zc_tcache *tc, const char *fn)
{
    zc_tc_class *tcc = &tc->cls[c->cls];
    while (c->n < ZC_POOL_CACHE_SLOTS / 2) {
        if (!tcc->n) {
            zc_status st = refill(tc, c->cls, fn);
            if (st != ZC_OK)
                return c->n ? ZC_OK : st;
        }
        zc_tc_entry e = tcc->e[--tcc->n];
        c->e[c->n++] = (zc_pool_cache_entry){e.ptr, (unsigned char *)e.state};
    }
    return ZC_OK;
}

zc_status zc_pool_cache_open(zc_pool pool, size_t bytes, zc_pool_cache *out)
{
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    memset(out, 0, sizeof *out);
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    if (bytes == 0 && !p->object_size)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a cache of %s pool '%s' needs a block size",
                      zc_pool_kind_name(p->kind), p->name);
    if (bytes == 0)
        bytes = p->object_size;
    size_t need = bytes + (p->guard ? ZC_GUARD_BYTES : 0);
    if ((p->object_size && bytes > p->object_size) || need > p->max_block)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "pool '%s' has no class of %zu-byte blocks to cache (largest: %zu)",
                      p->name, bytes, p->object_size ? p->object_size : p->max_block);
    uint32_t cls = p->class_of[(need - 1) >> p->align_shift];
    out->pool = pool;
    out->cls = cls;
    out->live = (const uint32_t *)&g.slots[p->slot].gen;
    out->gen = p->gen;
    /* Guarded and secure pools check canaries and wipe at free: all out of line. */
    out->limit = p->checked ? 0 : p->object_size ? p->object_size : p->classes[cls].size;
    return ZC_OK;
}

zc_status zc_pool_cache_alloc_slow(zc_pool_cache *c, size_t bytes, void **out)
{
    static const char fn[] = "zc_pool_cache_alloc";
    zc_tcache *tc = NULL;
    ZC_CHECK(cache_begin(c, fn, &tc));
    if (!out || bytes - 1 >= c->limit)
        return alloc_slow(c->pool, bytes, out, fn);
    if (!c->n)
        ZC_CHECK(cache_fill(c, tc, fn));
    zc_pool_cache_entry e = c->e[--c->n];
    atomic_store_explicit((_Atomic uint8_t *)e.state, ZC_SLOT_USED, memory_order_relaxed);
    c->allocs++;
    *out = e.ptr;
    return ZC_OK;
}

zc_status zc_pool_cache_free_slow(zc_pool_cache *c, void *ptr)
{
    static const char fn[] = "zc_pool_cache_free";
    zc_tcache *tc = NULL;
    ZC_CHECK(cache_begin(c, fn, &tc));
    zc_pool_impl *p = tc->pool;
    zc_chunk *ch = ptr && !p->checked ? zc_addrmap_lookup((uintptr_t)ptr) : NULL;
    if (!ch || ch->pool != p || ch->cls != c->cls || !ch->shift)
        return free_slow(c->pool, ptr, fn); /* other classes and slow pools; reports bad pointers */
    /* Later frees into this slab stay inline. */
    c->base = ch->base;
    c->span = ch->span;
    c->shift = ch->shift;
    c->slot_mask = ch->slot_size - 1;
    c->state = (unsigned char *)ch->state;
    uintptr_t off = (uintptr_t)ptr - ch->base;
    if (off >= ch->span || (off & c->slot_mask) ||
        atomic_load_explicit(&ch->state[off >> ch->shift], memory_order_relaxed) != ZC_SLOT_USED)
        return free_slow(c->pool, ptr, fn); /* interior pointer or double free: reported there */
    if (c->n == ZC_POOL_CACHE_SLOTS)
        cache_spill(c, tc, ZC_POOL_CACHE_SLOTS / 2);
    _Atomic uint8_t *state = &ch->state[off >> ch->shift];
    atomic_store_explicit(state, ZC_SLOT_FREE, memory_order_relaxed);
    c->e[c->n++] = (zc_pool_cache_entry){ptr, (unsigned char *)state};
    c->frees++;
    return ZC_OK;
}

zc_status zc_pool_cache_flush(zc_pool_cache *c)
{
    zc_tcache *tc = NULL;
    ZC_CHECK(cache_begin(c, __func__, &tc));
    cache_spill(c, tc, c->n);
    cache_fold(c, tc);
    return ZC_OK;
}

zc_status zc_pool_cache_close(zc_pool_cache *c)
{
    if (!c)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "cache must not be NULL");
    /* A destroyed pool took its blocks and counts with it. */
    if (c->gen && atomic_load_explicit((const _Atomic uint32_t *)c->live, memory_order_relaxed) == c->gen)
        ZC_CHECK(zc_pool_cache_flush(c));
    memset(c, 0, sizeof *c);
    return ZC_OK;
}

/* ---- creation and destruction ---- */

static int fixed_kind(zc_pool_kind kind)
{
    return kind == ZC_POOL_ORDERS || kind == ZC_POOL_PRICE_LEVELS || kind == ZC_POOL_MD_RING;
}

static size_t pow2_floor(size_t v) { return (size_t)1 << (63 - __builtin_clzll(v)); }

static size_t next_pow2(size_t v)
{
    size_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static zc_status build_classes(zc_pool_impl *p)
{
    size_t a = p->alignment, limit = p->chunk_bytes / 8, sizes[ZC_POOL_MAX_CLASSES];
    uint32_t n = 0;
    if (fixed_kind(p->kind)) {
        sizes[n++] = round_up(p->object_size + (p->guard ? ZC_GUARD_BYTES : 0), a);
    } else if (p->kind == ZC_POOL_FIELD_VECTORS) {
        for (size_t s = a; s <= limit && n < ZC_POOL_MAX_CLASSES; s *= 2)
            sizes[n++] = s;
    } else {
        /* Steps of one alignment unit up to 8 units, then 4 classes per
         * doubling (x1.25, x1.5, x1.75, x2): at most 25% of a block is rounding. */
        for (size_t s = a; s <= limit && n < ZC_POOL_MAX_CLASSES; s += s < 8 * a ? a : pow2_floor(s) / 4)
            sizes[n++] = s;
    }
    if (n == 0)
        sizes[n++] = a; /* alignment above chunk_bytes / 8: one class */
    p->classes = aligned_alloc(64, round_up(n * sizeof *p->classes, 64));
    p->max_block = sizes[n - 1];
    size_t entries = p->max_block >> p->align_shift;
    p->class_of = malloc(entries);
    if (!p->classes || !p->class_of)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "class tables of pool '%s'", p->name);
    memset(p->classes, 0, n * sizeof *p->classes);
    p->nclasses = n;
    for (uint32_t c = 0; c < n; c++) {
        zc_class *k = &p->classes[c];
        k->size = sizes[c];
        k->chunk_bytes = p->chunk_bytes > sizes[c] * 8 ? p->chunk_bytes : round_up(sizes[c] * 8, ZC_GRANULE);
        size_t slots = k->chunk_bytes / sizes[c];
        k->nslots = (uint32_t)(slots > (1u << ZC_SLOT_BITS) ? (1u << ZC_SLOT_BITS) : slots);
        size_t cap = ZC_CACHE_BYTES / sizes[c];
        k->cache_cap = (uint32_t)(cap < ZC_CACHE_MIN ? ZC_CACHE_MIN : cap > ZC_CACHE_MAX ? ZC_CACHE_MAX : cap);
        atomic_init(&k->head, ZC_NIL);
    }
    for (size_t i = 0, c = 0; i < entries; i++) {
        while (sizes[c] < (i + 1) << p->align_shift)
            c++;
        p->class_of[i] = (uint8_t)c;
    }
    return ZC_OK;
}

static void teardown(zc_pool_impl *p)
{
    uint32_t n = atomic_load(&p->nchunks);
    for (uint32_t i = 0; i < n; i++) {
        zc_chunk *ch = atomic_load(&p->chunks[i]);
        zc_addrmap_remove(ch->base, ch->region.bytes);
        zc_resource_release(&p->res, &ch->region);
        free_chunk(ch);
    }
    for (zc_chunk *ch = p->large, *next; ch; ch = next) {
        next = ch->link;
        zc_addrmap_remove(ch->base, ch->span);
        zc_resource_release(&p->res, &ch->region);
        free(ch);
    }
    for (zc_chunk *ch = p->spare, *next; ch; ch = next) {
        next = ch->link;
        free(ch);
    }
    zc_arena_teardown(p);
    pthread_mutex_destroy(&p->grow_lock);
    free(p->classes);
    free(p->class_of);
    free(p);
}

static zc_status check_config(zc_pool_kind kind, const zc_pool_config *c, size_t *align, size_t *chunk,
                              size_t *object)
{
    if ((unsigned)kind >= ZC_POOL_KIND_COUNT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown pool kind %d", (int)kind);
    *align = c->alignment ? c->alignment : ZC_POOL_DEFAULT_ALIGN;
    if (*align < 8 || *align > ZC_POOL_MAX_ALIGN || (*align & (*align - 1)))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "alignment must be a power of two in [8, %d], got %zu",
                      ZC_POOL_MAX_ALIGN, c->alignment);
    if (c->flags & ~(ZC_POOL_SECURE | ZC_POOL_GUARD | ZC_POOL_HUGE_PAGES))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown pool flags %#x", c->flags);
    *chunk = c->chunk_bytes ? c->chunk_bytes : ZC_DEFAULT_CHUNK;
    if (*chunk > ZC_MAX_CHUNK)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "chunk_bytes must be at most %zu, got %zu", ZC_MAX_CHUNK, *chunk);
    *chunk = round_up(*chunk, (c->flags & ZC_POOL_HUGE_PAGES) ? ZC_HUGE_CHUNK : ZC_GRANULE);
    *object = 0;
    if (!fixed_kind(kind)) {
        if (c->object_size)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                          "object_size applies to orders, price_levels and md_ring pools, not %s",
                          zc_pool_kind_name(kind));
        return ZC_OK;
    }
    *object = c->object_size ? c->object_size : kind == ZC_POOL_MD_RING ? 65536 : 64;
    if (*object > ZC_MAX_OBJECT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "object_size must be at most %zu, got %zu", ZC_MAX_OBJECT, *object);
    if (kind == ZC_POOL_MD_RING)
        *object = next_pow2(*object); /* rings index with a mask */
    return ZC_OK;
}

zc_status zc_pool_create(zc_pool_kind kind, const zc_pool_config *cfg, zc_pool *out)
{
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    out->id = 0;
    zc_pool_config c = {0};
    if (cfg)
        c = *cfg;
    size_t align = 0, chunk = 0, object = 0;
    ZC_CHECK(check_config(kind, &c, &align, &chunk, &object));
    zc_resource res;
    ZC_CHECK(zc_resource_init(&res, c.memory, c.device, c.flags & (ZC_POOL_SECURE | ZC_POOL_HUGE_PAGES)));
    if ((c.flags & (ZC_POOL_SECURE | ZC_POOL_GUARD)) && !res.host_accessible)
        return ZC_ERR(ZC_ERR_UNSUPPORTED,
                      "secure and guarded pools need host-accessible memory; %s memory of device %d is not",
                      zc_mem_kind_name(c.memory), c.device);
    zc_pool_impl *p = aligned_alloc(64, round_up(sizeof *p, 64));
    if (!p)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "pool descriptor");
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->res = res;
    snprintf(p->name, sizeof p->name, "%s", c.name ? c.name : zc_pool_kind_name(kind));
    p->alignment = align;
    p->align_shift = (unsigned)__builtin_ctzll(align);
#ifdef NDEBUG
    p->guard = (c.flags & ZC_POOL_GUARD) != 0;
#else
    p->guard = res.host_accessible; /* debug builds guard every pool that the host can check */
#endif
    p->flags = c.flags | (p->guard ? ZC_POOL_GUARD : 0);
    p->checked = p->guard || (c.flags & ZC_POOL_SECURE);
    p->object_size = object;
    p->chunk_bytes = chunk;
    p->max_bytes = c.max_bytes;
    pthread_mutex_init(&p->grow_lock, NULL);
    zc_arena_init(p);
    zc_status st = build_classes(p);
    if (st != ZC_OK) {
        teardown(p);
        return st;
    }
    p->fast_limit = p->guard ? 0 : object ? object : p->max_block;
    /* Fields that threads share through atomics (helgrind builds only). */
    ZC_BENIGN_RACE(p->chunks, sizeof p->chunks + sizeof p->nchunks);
    ZC_BENIGN_RACE(&p->reserved, (size_t)((char *)(&p->peak + 1) - (char *)&p->reserved));
    ZC_BENIGN_RACE(p->classes, p->nclasses * sizeof *p->classes);
    ZC_BENIGN_RACE(&g.slots, sizeof g.slots);
    ZC_BENIGN_RACE(&g.pools, (size_t)((char *)(&g.peak + 1) - (char *)&g.pools));

    pthread_mutex_lock(&g.lock);
    uint32_t s = 0;
    for (uint32_t i = 0; i < ZC_MAX_POOLS; i++) {
        /* Round robin delays reuse of a slot, so stale handles stay detectable longer. */
        s = (g.cursor + i) % ZC_MAX_POOLS;
        if (!atomic_load(&g.slots[s].pool))
            break;
        s = ZC_MAX_POOLS;
    }
    if (s == ZC_MAX_POOLS) {
        pthread_mutex_unlock(&g.lock);
        teardown(p);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "all %d pool slots are in use", ZC_MAX_POOLS);
    }
    p->slot = s;
    p->gen = atomic_load(&g.slots[s].gen) + 1;
    g.cursor = s + 1;
    atomic_store_explicit(&g.slots[s].pool, p, memory_order_release);
    ZC_HAPPENS_BEFORE(&g.slots[s].gen);
    atomic_store_explicit(&g.slots[s].gen, p->gen, memory_order_release);
    atomic_fetch_add(&g.pools, 1);
    atomic_fetch_add(&g.created, 1);
    pthread_mutex_unlock(&g.lock);
    out->id = (uint64_t)p->gen << 32 | s;
    return ZC_OK;
}

/* Sums the per-thread counters into out (and per class into cls); g.lock held. */
static void counters_locked(zc_pool_impl *p, zc_pool_counters *out, zc_pool_class_stats *cls)
{
    memset(out, 0, sizeof *out);
    int64_t in_use = 0;
    for (uint32_t c = 0; c < p->nclasses; c++) {
        zc_class *k = &p->classes[c];
        uint64_t allocs = atomic_load(&k->allocs_retired), frees = atomic_load(&k->frees_retired);
        for (zc_tcache *tc = p->tcaches; tc; tc = tc->next) {
            allocs += atomic_load_explicit(&tc->cls[c].allocs, memory_order_relaxed);
            frees += atomic_load_explicit(&tc->cls[c].frees, memory_order_relaxed);
        }
        /* Another thread's free may be counted before its allocation is. */
        int64_t blocks = allocs > frees ? (int64_t)(allocs - frees) : 0;
        in_use += blocks * (int64_t)k->size;
        out->allocs += allocs;
        out->frees += frees;
        if (cls) {
            cls[c].block_bytes = k->size;
            cls[c].allocs = allocs;
            cls[c].in_use = (uint64_t)blocks;
            cls[c].reserved = atomic_load(&k->reserved_slots);
        }
    }
    out->allocs += atomic_load(&p->large_allocs) + atomic_load(&p->arena.allocs);
    out->frees += atomic_load(&p->large_frees) + atomic_load(&p->arena.frees);
    in_use += (int64_t)(atomic_load(&p->large_in_use) + atomic_load(&p->arena.bytes_in_use));
    out->bytes_in_use = (uint64_t)in_use;
    max_update(&p->peak, in_use);
    out->peak_bytes = atomic_load(&p->peak);
    out->reserved_bytes = atomic_load(&p->reserved);
    out->failures = atomic_load(&p->failures);
    out->bad_requests = atomic_load(&p->bad_requests);
    out->double_frees = atomic_load(&p->double_frees);
    out->invalid_frees = atomic_load(&p->invalid_frees);
    out->overruns = atomic_load(&p->overruns);
    out->handles = atomic_load(&p->arena.live);
    out->compactions = atomic_load(&p->arena.compactions);
    out->background_compactions = atomic_load(&p->arena.background);
    out->blocks_moved = atomic_load(&p->arena.moved);
    out->bytes_moved = atomic_load(&p->arena.bytes_moved);
}

uint64_t zc_pool_alloc_count(zc_pool_impl *p)
{
    zc_pool_counters c;
    pthread_mutex_lock(&g.lock);
    counters_locked(p, &c, NULL);
    pthread_mutex_unlock(&g.lock);
    return c.allocs;
}

zc_status zc_pool_destroy(zc_pool pool)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    zc_defrag_shutdown(p);
    pthread_mutex_lock(&g.lock);
    if (atomic_load(&g.slots[p->slot].gen) != p->gen) {
        pthread_mutex_unlock(&g.lock); /* a racing destroy won */
        return zc_pool_resolve(pool, __func__, &p);
    }
    zc_pool_counters c;
    counters_locked(p, &c, NULL);
    atomic_fetch_add(&g.allocs, c.allocs);
    atomic_fetch_add(&g.frees, c.frees);
    atomic_fetch_add(&g.failures, c.failures);
    atomic_fetch_add(&g.bad_frees, c.double_frees + c.invalid_frees + c.overruns);
    atomic_fetch_sub(&g.published, atomic_load(&p->published));
    atomic_store(&g.slots[p->slot].pool, NULL);
    atomic_store_explicit(&g.slots[p->slot].gen, p->gen + 1, memory_order_release);
    /* Every thread's entry stops matching the handle before its cache goes. */
    for (zc_tcache *tc = p->tcaches, *next; tc; tc = next) {
        next = tc->next;
        atomic_store_explicit(&tc->owner->id, 0, memory_order_relaxed);
        tc->owner->tc = NULL;
        free(tc);
    }
    atomic_fetch_sub(&g.pools, 1);
    pthread_mutex_unlock(&g.lock);
    teardown(p);
    return ZC_OK;
}

zc_status zc_pool_info_get(zc_pool pool, zc_pool_info *out)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    memset(out, 0, sizeof *out);
    out->kind = p->kind;
    out->memory = p->res.kind;
    out->device = p->res.device < 0 ? 0 : p->res.device; /* process memory is the cpu's, device 0 */
    out->backend = p->res.backend;
    out->alignment = p->alignment;
    out->object_size = p->object_size;
    out->max_block = p->max_block - (p->guard ? ZC_GUARD_BYTES : 0);
    out->flags = p->flags;
    out->host_accessible = p->res.host_accessible;
    snprintf(out->name, sizeof out->name, "%s", p->name);
    return ZC_OK;
}

/* ---- statistics ---- */

zc_status zc_pool_snapshot(zc_pool pool, zc_pool_counters *out)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    pthread_mutex_lock(&g.lock);
    counters_locked(p, out, NULL);
    pthread_mutex_unlock(&g.lock);
    return ZC_OK;
}

/* Free runs of a slab: contiguous free slots. */
static void scan_chunk(const zc_chunk *ch, uint64_t *free_bytes, uint64_t *largest)
{
    uint64_t run = 0;
    for (uint32_t s = 0; s <= ch->nslots; s++) {
        if (s < ch->nslots && atomic_load_explicit(&ch->state[s], memory_order_relaxed) == ZC_SLOT_FREE) {
            run += ch->slot_size;
            continue;
        }
        *free_bytes += run;
        if (run > *largest)
            *largest = run;
        run = 0;
    }
}

zc_status zc_pool_stats_get(zc_pool pool, zc_pool_stats *out)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&g.lock);
    counters_locked(p, &out->counters, out->classes);
    pthread_mutex_unlock(&g.lock);
    out->nclasses = p->nclasses;
    out->large_allocs = atomic_load(&p->large_allocs);
    out->large_bytes_in_use = atomic_load(&p->large_in_use);
    uint64_t free_bytes = 0, largest = 0;
    uint32_t n = atomic_load_explicit(&p->nchunks, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        zc_chunk *ch = atomic_load_explicit(&p->chunks[i], memory_order_acquire);
        ZC_HAPPENS_AFTER(&p->chunks[i]);
        scan_chunk(ch, &free_bytes, &largest);
    }
    uint64_t arena_free = 0, arena_largest = 0;
    zc_arena_free_space(p, &arena_free, &arena_largest, &out->arena_bytes);
    out->arena_free_bytes = arena_free;
    out->arena_fragmentation = arena_free ? 1.0 - (double)arena_largest / (double)arena_free : 0.0;
    out->free_bytes = free_bytes + arena_free;
    out->largest_free_block = largest > arena_largest ? largest : arena_largest;
    out->fragmentation = out->free_bytes ? 1.0 - (double)out->largest_free_block / (double)out->free_bytes : 0.0;
    return ZC_OK;
}

void zc_mem_snapshot(zc_mem_counters *out)
{
    memset(out, 0, sizeof *out);
    int64_t in_use = 0;
    pthread_mutex_lock(&g.lock);
    for (uint32_t s = 0; s < ZC_MAX_POOLS; s++) {
        zc_pool_impl *p = atomic_load(&g.slots[s].pool);
        if (!p)
            continue;
        zc_pool_counters c;
        counters_locked(p, &c, NULL);
        in_use += (int64_t)c.bytes_in_use;
        out->reserved_bytes += c.reserved_bytes;
        out->allocs += c.allocs;
        out->frees += c.frees;
        out->failures += c.failures;
        out->bad_frees += c.double_frees + c.invalid_frees + c.overruns;
    }
    pthread_mutex_unlock(&g.lock);
    out->bytes_in_use = (uint64_t)in_use;
    max_update(&g.peak, in_use);
    out->peak_bytes = atomic_load(&g.peak);
    out->pools = atomic_load(&g.pools);
    out->pools_created = atomic_load(&g.created);
    out->stale_handles = atomic_load(&g.stale);
    out->allocs += atomic_load(&g.allocs);
    out->frees += atomic_load(&g.frees);
    out->failures += atomic_load(&g.failures);
    out->bad_frees += atomic_load(&g.bad_frees);
    zc_buffer_totals bt;
    zc_buffer_totals_get(&bt);
    out->buffers = bt.live;
    out->reserved_bytes += bt.reserved;
    out->buffer_copies = bt.copies;
    out->buffer_copy_bytes = bt.copy_bytes;
    out->zero_copy_maps = bt.zero_copy_maps;
    zc_array_cache_stats ac;
    zc_array_cache_stats_get(&ac);
    out->array_cache_bytes = ac.cached_bytes;
    out->array_cache_hits = ac.hits;
    out->array_cache_misses = ac.misses;
}

zc_status zc_pool_debug_read(zc_pool pool, const void *addr, void *dst, size_t bytes)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    if (!addr || !dst || bytes == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "address, destination and a positive size must be given");
    if (!p->res.host_accessible)
        return ZC_ERR(ZC_ERR_UNSUPPORTED, "pool '%s' holds device memory the host cannot read", p->name);
    zc_chunk *ch = zc_addrmap_lookup((uintptr_t)addr);
    if (!ch || ch->pool != p)
        return ZC_ERR(ZC_ERR_NOT_FOUND, "%p is not inside pool '%s'", addr, p->name);
    uintptr_t off = (uintptr_t)addr - ch->base;
    if (bytes > ch->region.bytes - off)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%zu bytes at %p run past the chunk of pool '%s'", bytes, addr, p->name);
    memcpy(dst, addr, bytes);
    return ZC_OK;
}
