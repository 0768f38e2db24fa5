/* The address map: which chunk owns a 64 KiB granule of the address space.
 * A three-level radix tree over 48-bit addresses (host and CUDA pointers
 * share one address space). Lookups are lock-free; inserts and removals
 * take a lock. Interior nodes are never freed, so a lookup racing with a
 * removal reads valid memory. */
#include <stdlib.h>

#include "mem_internal.h"

#define L3_BITS 10
#define L2_BITS 11
#define L1_BITS 11
#define KEY_BITS (L1_BITS + L2_BITS + L3_BITS) /* 48 - ZC_GRANULE_SHIFT */

typedef struct leaf {
    _Atomic(void *) owner[1u << L3_BITS];
} leaf;

typedef struct mid {
    _Atomic(leaf *) child[1u << L2_BITS];
} mid;

static _Atomic(mid *) root[1u << L1_BITS];
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned l1(uint64_t key) { return (unsigned)(key >> (L2_BITS + L3_BITS)); }
static unsigned l2(uint64_t key) { return (unsigned)(key >> L3_BITS) & ((1u << L2_BITS) - 1); }
static unsigned l3(uint64_t key) { return (unsigned)key & ((1u << L3_BITS) - 1); }

void *zc_addrmap_lookup(uintptr_t addr)
{
    uint64_t key = (uint64_t)addr >> ZC_GRANULE_SHIFT;
    if (key >> KEY_BITS)
        return NULL;
    mid *m = atomic_load_explicit(&root[l1(key)], memory_order_acquire);
    if (!m)
        return NULL;
    ZC_HAPPENS_AFTER(&root[l1(key)]);
    leaf *lf = atomic_load_explicit(&m->child[l2(key)], memory_order_acquire);
    if (!lf)
        return NULL;
    ZC_HAPPENS_AFTER(&m->child[l2(key)]);
    void *owner = atomic_load_explicit(&lf->owner[l3(key)], memory_order_acquire);
    ZC_HAPPENS_AFTER(&lf->owner[l3(key)]);
    return owner;
}

/* The leaf slot of key, creating nodes on the way; NULL when out of memory.
 * The caller holds map_lock. */
static _Atomic(void *) *slot_for(uint64_t key)
{
    mid *m = atomic_load_explicit(&root[l1(key)], memory_order_relaxed);
    if (!m) {
        if (!(m = calloc(1, sizeof *m)))
            return NULL;
        ZC_BENIGN_RACE(&root[l1(key)], sizeof root[0]);
        ZC_BENIGN_RACE(m, sizeof *m);
        ZC_HAPPENS_BEFORE(&root[l1(key)]);
        atomic_store_explicit(&root[l1(key)], m, memory_order_release);
    }
    leaf *lf = atomic_load_explicit(&m->child[l2(key)], memory_order_relaxed);
    if (!lf) {
        if (!(lf = calloc(1, sizeof *lf)))
            return NULL;
        ZC_BENIGN_RACE(lf, sizeof *lf);
        ZC_HAPPENS_BEFORE(&m->child[l2(key)]);
        atomic_store_explicit(&m->child[l2(key)], lf, memory_order_release);
    }
    return &lf->owner[l3(key)];
}

static void set_range(uint64_t first, uint64_t end, void *owner)
{
    for (uint64_t key = first; key < end; key++) {
        _Atomic(void *) *slot = slot_for(key); /* found, not created: insert made the nodes */
        if (!slot)
            continue;
        ZC_HAPPENS_BEFORE(slot);
        atomic_store_explicit(slot, owner, memory_order_release);
    }
}

zc_status zc_addrmap_insert(uintptr_t base, size_t bytes, void *owner)
{
    uint64_t first = (uint64_t)base >> ZC_GRANULE_SHIFT;
    uint64_t end = ((uint64_t)base + bytes + ZC_GRANULE - 1) >> ZC_GRANULE_SHIFT;
    if (end > (1ull << KEY_BITS))
        return ZC_ERR(ZC_ERR_UNSUPPORTED, "memory at %p lies above the 48-bit address space", (void *)base);
    pthread_mutex_lock(&map_lock);
    zc_status st = ZC_OK;
    for (uint64_t key = first; key < end && st == ZC_OK; key++) {
        _Atomic(void *) *slot = slot_for(key);
        if (!slot)
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "address map node");
        else if (atomic_load_explicit(slot, memory_order_relaxed))
            st = ZC_ERR(ZC_ERR_INTERNAL, "memory at %p already belongs to a chunk", (void *)(key << ZC_GRANULE_SHIFT));
    }
    if (st == ZC_OK)
        set_range(first, end, owner);
    pthread_mutex_unlock(&map_lock);
    return st;
}

void zc_addrmap_remove(uintptr_t base, size_t bytes)
{
    uint64_t first = (uint64_t)base >> ZC_GRANULE_SHIFT;
    uint64_t end = ((uint64_t)base + bytes + ZC_GRANULE - 1) >> ZC_GRANULE_SHIFT;
    pthread_mutex_lock(&map_lock);
    set_range(first, end, NULL);
    pthread_mutex_unlock(&map_lock);
}
