/* Movable allocations: handles into a per-pool arena of segments, compaction
 * and the background defragmentation thread.
 *
 * A handle names an entry that holds the block's current address. Pinning
 * is lock-free: it raises the entry's pin count unless compaction holds the
 * entry (ZC_PIN_MOVING), then reads the address. Compaction takes an entry
 * only while its pin count is zero, moves the block, publishes the new
 * address and releases the entry. Allocation, free and compaction take the
 * arena lock. Entry pages are never freed before the pool, so a pin racing
 * with a free reads valid memory and sees the generation change. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem_internal.h"

#define ZC_PIN_MOVING 0x80000000u
#define ZC_PIN_MAX 0x7fffffffu
#define ZC_PAGE_ENTRIES (1u << ZC_HANDLE_PAGE_BITS)
#define ZC_MAX_SEGMENTS 4096

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static zc_hentry *entry_at(zc_arena *a, uint32_t idx)
{
    if (idx >= ZC_HANDLE_PAGES * ZC_PAGE_ENTRIES)
        return NULL;
    zc_hentry *page = atomic_load_explicit(&a->pages[idx >> ZC_HANDLE_PAGE_BITS], memory_order_acquire);
    ZC_HAPPENS_AFTER(&a->pages[idx >> ZC_HANDLE_PAGE_BITS]);
    return page ? &page[idx & (ZC_PAGE_ENTRIES - 1)] : NULL;
}

void zc_arena_init(zc_pool_impl *p)
{
    pthread_mutex_init(&p->arena.lock, NULL);
    ZC_BENIGN_RACE(p->arena.pages, sizeof p->arena.pages);
    ZC_BENIGN_RACE(&p->arena.live, (size_t)((char *)(&p->arena.bytes_moved + 1) - (char *)&p->arena.live));
    p->arena.free_entry = ZC_NIL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->defrag.cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->defrag.lock, NULL);
}

void zc_arena_teardown(zc_pool_impl *p)
{
    zc_arena *a = &p->arena;
    for (uint32_t s = 0; s < a->nsegs; s++) {
        zc_resource_release(&p->res, &a->segs[s].region);
        free(a->segs[s].blocks);
    }
    free(a->segs);
    for (uint32_t i = 0; i < ZC_HANDLE_PAGES; i++)
        free(atomic_load(&a->pages[i]));
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&p->defrag.cond);
    pthread_mutex_destroy(&p->defrag.lock);
}

/* Free ranges of a segment: the gaps between blocks and the tail. */
static void add_gap(size_t gap, uint64_t *free_bytes, uint64_t *largest)
{
    *free_bytes += gap;
    if (gap > *largest)
        *largest = gap;
}

static void segment_free_space(zc_arena *a, const zc_segment *sg, uint64_t *free_bytes, uint64_t *largest)
{
    size_t end = 0;
    for (uint32_t i = 0; i < sg->nblocks; i++) {
        const zc_hentry *e = entry_at(a, sg->blocks[i]);
        add_gap(e->offset - end, free_bytes, largest);
        end = e->offset + e->bytes;
    }
    add_gap(sg->region.bytes - end, free_bytes, largest);
}

static double arena_fragmentation_locked(zc_arena *a)
{
    uint64_t free_bytes = 0, largest = 0;
    for (uint32_t s = 0; s < a->nsegs; s++)
        segment_free_space(a, &a->segs[s], &free_bytes, &largest);
    return free_bytes ? 1.0 - (double)largest / (double)free_bytes : 0.0;
}

void zc_arena_free_space(zc_pool_impl *p, uint64_t *free_bytes, uint64_t *largest, uint64_t *bytes)
{
    zc_arena *a = &p->arena;
    pthread_mutex_lock(&a->lock);
    *bytes = 0;
    for (uint32_t s = 0; s < a->nsegs; s++) {
        segment_free_space(a, &a->segs[s], free_bytes, largest);
        *bytes += a->segs[s].region.bytes;
    }
    pthread_mutex_unlock(&a->lock);
}

/* ---- allocation ---- */

static zc_status insert_block(zc_segment *sg, uint32_t pos, uint32_t idx)
{
    if (sg->nblocks == sg->cap) {
        uint32_t cap = sg->cap ? 2 * sg->cap : 16;
        uint32_t *grown = realloc(sg->blocks, cap * sizeof *grown);
        if (!grown)
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "segment block list");
        sg->blocks = grown;
        sg->cap = cap;
    }
    memmove(sg->blocks + pos + 1, sg->blocks + pos, (sg->nblocks - pos) * sizeof *sg->blocks);
    sg->blocks[pos] = idx;
    sg->nblocks++;
    return ZC_OK;
}

static void remove_block(zc_arena *a, zc_segment *sg, size_t offset)
{
    uint32_t lo = 0, hi = sg->nblocks;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (entry_at(a, sg->blocks[mid])->offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(sg->blocks + lo, sg->blocks + lo + 1, (sg->nblocks - lo - 1) * sizeof *sg->blocks);
    sg->nblocks--;
    if (lo == sg->nblocks) { /* the last block went: the tail grows back */
        const zc_hentry *prev = sg->nblocks ? entry_at(a, sg->blocks[sg->nblocks - 1]) : NULL;
        sg->tail = prev ? prev->offset + prev->bytes : 0;
    }
}

/* Where a block of `size` fits: a segment's tail first (cheap), else the
 * first gap between blocks. Compaction gives the gaps back as tail. */
static int place(zc_arena *a, size_t size, uint32_t *seg, size_t *offset, uint32_t *pos)
{
    for (uint32_t s = 0; s < a->nsegs; s++) {
        zc_segment *sg = &a->segs[s];
        if (sg->region.bytes - sg->tail >= size) {
            *seg = s;
            *offset = sg->tail;
            *pos = sg->nblocks;
            return 1;
        }
    }
    for (uint32_t s = 0; s < a->nsegs; s++) {
        zc_segment *sg = &a->segs[s];
        size_t end = 0;
        for (uint32_t i = 0; i < sg->nblocks; i++) {
            const zc_hentry *e = entry_at(a, sg->blocks[i]);
            if (e->offset - end >= size) {
                *seg = s;
                *offset = end;
                *pos = i;
                return 1;
            }
            end = e->offset + e->bytes;
        }
    }
    return 0;
}

static zc_status add_segment(zc_pool_impl *p, size_t size, const char *fn)
{
    zc_arena *a = &p->arena;
    size_t bytes = align_up(size > p->chunk_bytes ? size : p->chunk_bytes, ZC_GRANULE);
    uint64_t reserved = atomic_load(&p->reserved);
    if (p->max_bytes && reserved + bytes > p->max_bytes)
        return zc_error_set(ZC_ERR_OUT_OF_MEMORY, "", -1, fn, "pool '%s' reached max_bytes: %llu reserved + %zu > %zu",
                            p->name, (unsigned long long)reserved, bytes, p->max_bytes);
    if (a->nsegs == ZC_MAX_SEGMENTS)
        return zc_error_set(ZC_ERR_OUT_OF_MEMORY, "", -1, fn, "pool '%s' has %d arena segments, its maximum", p->name,
                            ZC_MAX_SEGMENTS);
    if (a->nsegs == a->segcap) {
        uint32_t cap = a->segcap ? 2 * a->segcap : 4;
        zc_segment *grown = realloc(a->segs, cap * sizeof *grown);
        if (!grown)
            return zc_error_set(ZC_ERR_OUT_OF_MEMORY, "", -1, fn, "arena segment table");
        a->segs = grown;
        a->segcap = cap;
    }
    zc_segment *sg = &a->segs[a->nsegs];
    memset(sg, 0, sizeof *sg);
    ZC_CHECK(zc_resource_alloc(&p->res, bytes, &sg->region));
    a->nsegs++;
    atomic_fetch_add(&p->reserved, bytes);
    return ZC_OK;
}

/* A free entry index, recycled or new. */
static zc_status new_entry(zc_arena *a, uint32_t *out, const char *fn)
{
    if (a->free_entry != ZC_NIL) {
        *out = a->free_entry;
        a->free_entry = entry_at(a, *out)->next_free;
        return ZC_OK;
    }
    uint32_t idx = a->nentries;
    uint32_t page = idx >> ZC_HANDLE_PAGE_BITS;
    if (page >= ZC_HANDLE_PAGES)
        return zc_error_set(ZC_ERR_OUT_OF_MEMORY, "", -1, fn, "the arena holds %u handles, its maximum", idx);
    if (!atomic_load_explicit(&a->pages[page], memory_order_relaxed)) {
        zc_hentry *entries = calloc(ZC_PAGE_ENTRIES, sizeof *entries);
        if (!entries)
            return zc_error_set(ZC_ERR_OUT_OF_MEMORY, "", -1, fn, "handle table page");
        ZC_BENIGN_RACE(entries, ZC_PAGE_ENTRIES * sizeof *entries);
        ZC_HAPPENS_BEFORE(&a->pages[page]);
        atomic_store_explicit(&a->pages[page], entries, memory_order_release);
    }
    a->nentries++;
    *out = idx;
    return ZC_OK;
}

static zc_status host_arena(zc_pool_impl *p, const char *fn)
{
    if (p->res.host_accessible)
        return ZC_OK;
    return zc_error_set(ZC_ERR_UNSUPPORTED, "", -1, fn,
                        "handles need host-accessible memory (compaction moves blocks from the host); pool '%s' "
                        "holds device memory", p->name);
}

zc_status zc_handle_alloc(zc_pool pool, size_t bytes, zc_handle *out)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    ZC_CHECK(host_arena(p, __func__));
    if (!out || bytes == 0 || bytes > SIZE_MAX / 4 || (p->max_bytes && bytes > p->max_bytes)) {
        atomic_fetch_add(&p->bad_requests, 1);
        atomic_fetch_add(&p->failures, 1);
        if (!out)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
        if (bytes == 0)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "zero-byte handle requested from pool '%s'", p->name);
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "handle of %zu bytes exceeds the limit of pool '%s'", bytes, p->name);
    }
    out->id = 0;
    zc_arena *a = &p->arena;
    size_t size = align_up(bytes, p->alignment);
    pthread_mutex_lock(&a->lock);
    uint32_t seg, pos, idx = ZC_NIL;
    size_t offset;
    zc_status st = ZC_OK;
    if (!place(a, size, &seg, &offset, &pos)) {
        st = add_segment(p, size, __func__);
        seg = a->nsegs - 1;
        offset = 0;
        pos = 0;
    }
    if (st == ZC_OK)
        st = new_entry(a, &idx, __func__);
    if (st == ZC_OK && (st = insert_block(&a->segs[seg], pos, idx)) != ZC_OK) {
        entry_at(a, idx)->next_free = a->free_entry;
        a->free_entry = idx;
    }
    if (st != ZC_OK) {
        pthread_mutex_unlock(&a->lock);
        atomic_fetch_add(&p->failures, 1);
        return st;
    }
    zc_segment *sg = &a->segs[seg];
    if (offset + size > sg->tail)
        sg->tail = offset + size;
    zc_hentry *e = entry_at(a, idx);
    e->seg = seg;
    e->offset = offset;
    e->bytes = size;
    atomic_store_explicit(&e->addr, (uintptr_t)sg->region.addr + offset, memory_order_relaxed);
    atomic_store_explicit(&e->pins, 0, memory_order_relaxed);
    uint32_t gen = atomic_load_explicit(&e->gen, memory_order_relaxed) + 1;
    ZC_HAPPENS_BEFORE(e);
    atomic_store_explicit(&e->gen, gen, memory_order_release);
    atomic_fetch_add(&a->live, 1);
    atomic_fetch_add(&a->allocs, 1);
    atomic_fetch_add(&a->bytes_in_use, size);
    pthread_mutex_unlock(&a->lock);
    zc_pool_publish(p, (int64_t)size);
    out->id = (uint64_t)gen << 32 | (idx + 1u);
    return ZC_OK;
}

/* The entry of a live handle, or an error (counted as an invalid free). */
static zc_status handle_entry(zc_pool_impl *p, zc_handle h, const char *fn, zc_hentry **out)
{
    uint32_t gen = (uint32_t)(h.id >> 32);
    zc_hentry *e = (uint32_t)h.id ? entry_at(&p->arena, (uint32_t)h.id - 1) : NULL;
    if (e && (gen & 1) && atomic_load_explicit(&e->gen, memory_order_acquire) == gen) {
        ZC_HAPPENS_AFTER(e);
        *out = e;
        return ZC_OK;
    }
    atomic_fetch_add(&p->invalid_frees, 1);
    if (e && (gen & 1))
        return zc_error_set(ZC_ERR_STATE, "", -1, fn, "handle %#llx of pool '%s' is stale: it was freed",
                            (unsigned long long)h.id, p->name);
    return zc_error_set(ZC_ERR_INVALID_ARGUMENT, "", -1, fn, "%#llx is not a handle of pool '%s'",
                        (unsigned long long)h.id, p->name);
}

/* Takes the entry from pin count zero to ZC_PIN_MOVING: nobody can pin it
 * until release_entry. */
static int hold_entry(zc_hentry *e)
{
    uint32_t zero = 0;
    int held = atomic_compare_exchange_strong_explicit(&e->pins, &zero, ZC_PIN_MOVING, memory_order_acquire,
                                                        memory_order_relaxed);
    if (held)
        ZC_HAPPENS_AFTER(&e->pins);
    return held;
}

static void release_entry(zc_hentry *e)
{
    ZC_HAPPENS_BEFORE(&e->pins);
    atomic_store_explicit(&e->pins, 0, memory_order_release);
}

zc_status zc_handle_free(zc_pool pool, zc_handle h)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    zc_arena *a = &p->arena;
    pthread_mutex_lock(&a->lock);
    zc_hentry *e;
    zc_status st = handle_entry(p, h, __func__, &e);
    if (st == ZC_OK && !hold_entry(e)) {
        atomic_fetch_add(&p->invalid_frees, 1);
        st = ZC_ERR(ZC_ERR_STATE, "handle %#llx of pool '%s' is pinned: unpin it before freeing it",
                    (unsigned long long)h.id, p->name);
    }
    if (st != ZC_OK) {
        pthread_mutex_unlock(&a->lock);
        return st;
    }
    atomic_store_explicit(&e->gen, (uint32_t)(h.id >> 32) + 1, memory_order_release);
    zc_segment *sg = &a->segs[e->seg];
    if (p->flags & ZC_POOL_SECURE)
        zc_wipe((char *)sg->region.addr + e->offset, e->bytes);
    remove_block(a, sg, e->offset);
    size_t size = e->bytes;
    release_entry(e);
    uint32_t idx = (uint32_t)h.id - 1;
    e->next_free = a->free_entry;
    a->free_entry = idx;
    atomic_fetch_sub(&a->live, 1);
    atomic_fetch_add(&a->frees, 1);
    atomic_fetch_sub(&a->bytes_in_use, size);
    pthread_mutex_unlock(&a->lock);
    zc_pool_publish(p, -(int64_t)size);
    return ZC_OK;
}

zc_status zc_handle_pin(zc_pool pool, zc_handle h, void **ptr)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    if (!ptr)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "ptr must not be NULL");
    zc_hentry *e;
    ZC_CHECK(handle_entry(p, h, __func__, &e));
    uint32_t pins = atomic_load_explicit(&e->pins, memory_order_relaxed);
    for (;;) {
        if (pins & ZC_PIN_MOVING) {
            sched_yield(); /* compaction is copying this block */
            pins = atomic_load_explicit(&e->pins, memory_order_relaxed);
            continue;
        }
        if (pins == ZC_PIN_MAX)
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "handle %#llx is pinned %u times, the maximum",
                          (unsigned long long)h.id, pins);
        if (atomic_compare_exchange_weak_explicit(&e->pins, &pins, pins + 1, memory_order_acquire,
                                                  memory_order_relaxed))
            break;
    }
    ZC_HAPPENS_AFTER(&e->pins);
    /* Freed while we waited: undo and report. */
    if (atomic_load_explicit(&e->gen, memory_order_acquire) != (uint32_t)(h.id >> 32)) {
        atomic_fetch_sub_explicit(&e->pins, 1, memory_order_release);
        return handle_entry(p, h, __func__, &e);
    }
    *ptr = (void *)atomic_load_explicit(&e->addr, memory_order_relaxed);
    return ZC_OK;
}

zc_status zc_handle_unpin(zc_pool pool, zc_handle h)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    zc_hentry *e;
    ZC_CHECK(handle_entry(p, h, __func__, &e));
    uint32_t pins = atomic_load_explicit(&e->pins, memory_order_relaxed);
    do {
        if (pins == 0 || (pins & ZC_PIN_MOVING))
            return ZC_ERR(ZC_ERR_STATE, "handle %#llx of pool '%s' is not pinned", (unsigned long long)h.id, p->name);
        ZC_HAPPENS_BEFORE(&e->pins);
    } while (!atomic_compare_exchange_weak_explicit(&e->pins, &pins, pins - 1, memory_order_release,
                                                    memory_order_relaxed));
    return ZC_OK;
}

/* ---- compaction ---- */

/* Moves an entry's block within or between segments; the entry is held. */
static void move_block(zc_pool_impl *p, zc_hentry *e, uint32_t to_seg, size_t to_off, zc_compact_report *r)
{
    zc_arena *a = &p->arena;
    char *src = (char *)a->segs[e->seg].region.addr + e->offset;
    char *dst = (char *)a->segs[to_seg].region.addr + to_off;
    memmove(dst, src, e->bytes);
    if (p->flags & ZC_POOL_SECURE) {
        /* Wipe what the copy left behind outside its new place. */
        if (to_seg != e->seg || to_off + e->bytes <= e->offset)
            zc_wipe(src, e->bytes);
        else
            zc_wipe(dst + e->bytes, e->offset - to_off);
    }
    e->seg = to_seg;
    e->offset = to_off;
    atomic_store_explicit(&e->addr, (uintptr_t)dst, memory_order_relaxed);
    r->blocks_moved++;
    r->bytes_moved += e->bytes;
}

/* Slides blocks towards the segment start; pinned blocks stay and the
 * following ones close up behind them. */
static void slide_segment(zc_pool_impl *p, uint32_t s, zc_compact_report *r)
{
    zc_arena *a = &p->arena;
    zc_segment *sg = &a->segs[s];
    size_t cursor = 0;
    for (uint32_t i = 0; i < sg->nblocks; i++) {
        zc_hentry *e = entry_at(a, sg->blocks[i]);
        if (e->offset > cursor) {
            if (hold_entry(e)) {
                move_block(p, e, s, cursor, r);
                release_entry(e);
            } else {
                r->pinned_skipped++;
            }
        }
        cursor = e->offset + e->bytes;
    }
    sg->tail = cursor;
}

/* Moves the blocks of segment `from` into the tails of earlier segments;
 * returns whether it ended up empty. */
static int evacuate(zc_pool_impl *p, uint32_t from, zc_compact_report *r)
{
    zc_arena *a = &p->arena;
    zc_segment *src = &a->segs[from];
    uint32_t kept = 0;
    for (uint32_t i = 0; i < src->nblocks; i++) {
        uint32_t idx = src->blocks[i];
        zc_hentry *e = entry_at(a, idx);
        uint32_t to = 0;
        while (to < from && a->segs[to].region.bytes - a->segs[to].tail < e->bytes)
            to++;
        int moved = 0;
        if (to < from && hold_entry(e)) {
            if (insert_block(&a->segs[to], a->segs[to].nblocks, idx) == ZC_OK) {
                size_t off = a->segs[to].tail;
                a->segs[to].tail += e->bytes;
                move_block(p, e, to, off, r);
                moved = 1;
            }
            release_entry(e);
        } else if (to < from) {
            r->pinned_skipped++;
        }
        if (!moved)
            src->blocks[kept++] = idx;
    }
    src->nblocks = kept;
    if (kept)
        slide_segment(p, from, r);
    else
        src->tail = 0;
    return kept == 0;
}

static void compact_locked(zc_pool_impl *p, zc_compact_report *r)
{
    zc_arena *a = &p->arena;
    r->fragmentation_before = arena_fragmentation_locked(a);
    for (uint32_t s = 0; s < a->nsegs; s++)
        slide_segment(p, s, r);
    for (uint32_t s = a->nsegs; s-- > 1;) {
        if (!evacuate(p, s, r))
            continue;
        /* Empty: give it back. Entries name segments by index, so the
         * segments above shift down and their entries follow. */
        uint64_t bytes = a->segs[s].region.bytes;
        zc_resource_release(&p->res, &a->segs[s].region);
        free(a->segs[s].blocks);
        memmove(a->segs + s, a->segs + s + 1, (a->nsegs - s - 1) * sizeof *a->segs);
        a->nsegs--;
        for (uint32_t t = s; t < a->nsegs; t++)
            for (uint32_t i = 0; i < a->segs[t].nblocks; i++)
                entry_at(a, a->segs[t].blocks[i])->seg = t;
        atomic_fetch_sub(&p->reserved, bytes);
        r->segments_released++;
    }
    r->fragmentation_after = arena_fragmentation_locked(a);
    atomic_fetch_add(&a->compactions, 1);
    atomic_fetch_add(&a->moved, r->blocks_moved);
    atomic_fetch_add(&a->bytes_moved, r->bytes_moved);
}

zc_status zc_pool_compact(zc_pool pool, zc_compact_report *out)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    zc_compact_report r = {0};
    pthread_mutex_lock(&p->arena.lock);
    compact_locked(p, &r);
    pthread_mutex_unlock(&p->arena.lock);
    if (out)
        *out = r;
    return ZC_OK;
}

/* ---- background defragmentation ---- */

static void *defrag_main(void *arg)
{
    zc_pool_impl *p = arg;
    zc_defrag *d = &p->defrag;
    uint64_t last_allocs = zc_pool_alloc_count(p), last_ns = zc_now_ns();
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)d->cfg.interval_ms * 1000000u;
        until.tv_sec += (time_t)(ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        while (!d->stop && pthread_cond_timedwait(&d->cond, &d->lock, &until) != ETIMEDOUT)
            ;
        if (d->stop)
            break;
        zc_defrag_config cfg = d->cfg;
        int paused = d->paused;
        pthread_mutex_unlock(&d->lock);

        /* Activity is the allocation rate since the last look. */
        uint64_t allocs = zc_pool_alloc_count(p), now = zc_now_ns();
        double rate = (double)(allocs - last_allocs) * 1e9 / (double)(now - last_ns + 1);
        last_allocs = allocs;
        last_ns = now;
        int compact = 0;
        if (!paused && rate <= cfg.max_alloc_rate) {
            pthread_mutex_lock(&p->arena.lock);
            compact = arena_fragmentation_locked(&p->arena) >= cfg.min_fragmentation;
            pthread_mutex_unlock(&p->arena.lock);
        }

        pthread_mutex_lock(&d->lock);
        if (!compact || d->paused || d->stop)
            continue;
        d->compacting = 1;
        pthread_mutex_unlock(&d->lock);
        zc_compact_report r = {0};
        pthread_mutex_lock(&p->arena.lock);
        compact_locked(p, &r);
        pthread_mutex_unlock(&p->arena.lock);
        atomic_fetch_add(&p->arena.background, 1);
        pthread_mutex_lock(&d->lock);
        d->compacting = 0;
        pthread_cond_broadcast(&d->cond);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

zc_status zc_pool_defrag_start(zc_pool pool, const zc_defrag_config *cfg)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    zc_defrag_config c = {0};
    if (cfg)
        c = *cfg;
    if (c.interval_ms == 0)
        c.interval_ms = 100;
    if (c.max_alloc_rate == 0)
        c.max_alloc_rate = 1000;
    if (c.min_fragmentation == 0)
        c.min_fragmentation = 0.25;
    if (c.max_alloc_rate < 0 || c.min_fragmentation < 0 || c.min_fragmentation > 1)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "max_alloc_rate must be >= 0 and min_fragmentation in [0, 1]");
    zc_defrag *d = &p->defrag;
    pthread_mutex_lock(&d->lock);
    zc_status st = ZC_OK;
    if (d->running) {
        st = ZC_ERR(ZC_ERR_STATE, "pool '%s' already has a defragmentation thread", p->name);
    } else {
        d->cfg = c;
        d->stop = d->paused = d->compacting = 0;
        int err = pthread_create(&d->thread, NULL, defrag_main, p);
        if (err)
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "cannot start the defragmentation thread: %s", strerror(err));
        d->running = err == 0;
    }
    pthread_mutex_unlock(&d->lock);
    return st;
}

zc_status zc_pool_defrag_pause(zc_pool pool, int paused)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    zc_defrag *d = &p->defrag;
    pthread_mutex_lock(&d->lock);
    zc_status st = ZC_OK;
    if (!d->running) {
        st = ZC_ERR(ZC_ERR_STATE, "pool '%s' has no defragmentation thread", p->name);
    } else {
        d->paused = paused != 0;
        while (d->paused && d->compacting)
            pthread_cond_wait(&d->cond, &d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return st;
}

static int stop_thread(zc_defrag *d)
{
    pthread_mutex_lock(&d->lock);
    int running = d->running;
    d->stop = 1;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    if (running)
        pthread_join(d->thread, NULL);
    d->running = 0;
    return running;
}

zc_status zc_pool_defrag_stop(zc_pool pool)
{
    zc_pool_impl *p = NULL;
    ZC_CHECK(zc_pool_resolve(pool, __func__, &p));
    if (!stop_thread(&p->defrag))
        return ZC_ERR(ZC_ERR_STATE, "pool '%s' has no defragmentation thread", p->name);
    return ZC_OK;
}

void zc_defrag_shutdown(zc_pool_impl *p) { stop_thread(&p->defrag); }
