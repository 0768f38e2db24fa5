/* Internals of the memory module: memory resources, the address map, the
 * pool structure shared by pool.c and handle.c, and the registry functions
 * the module calls. */
#ifndef ZC_MEM_INTERNAL_H
#define ZC_MEM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../core/internal.h"
#include "zkclob/mem.h"

/* Helgrind cannot see C11 atomics; a build with -DZC_HELGRIND tells it
 * where they order memory. Elsewhere these compile to nothing. */
#ifdef ZC_HELGRIND
#include <valgrind/helgrind.h>
#define ZC_HAPPENS_BEFORE(p) ANNOTATE_HAPPENS_BEFORE(p)
#define ZC_HAPPENS_AFTER(p) ANNOTATE_HAPPENS_AFTER(p)
#define ZC_BENIGN_RACE(p, n) ANNOTATE_BENIGN_RACE_SIZED(p, n, "relaxed atomic")
#else
#define ZC_HAPPENS_BEFORE(p) ((void)0)
#define ZC_HAPPENS_AFTER(p) ((void)0)
#define ZC_BENIGN_RACE(p, n) ((void)0)
#endif

#define ZC_LIKELY(x) __builtin_expect(!!(x), 1)
#define ZC_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- registry side (csrc/device/registry.c) ---- */

zc_status zc_dev_mem_alloc(int dev, int kind, size_t bytes, void **handle, void **addr);
void zc_dev_mem_release(int dev, int kind, void *handle, void *addr);
zc_status zc_dev_mem_map(int dev, int kind, void *handle, void *addr, size_t bytes, unsigned flags, void **host);
zc_status zc_dev_mem_unmap(int dev, int kind, void *handle, void *host);
zc_status zc_dev_mem_sync(int dev);
zc_status zc_dev_buf_borrow(int dev, void *handle, size_t bytes, zc_devbuf **out);

/* ---- memory resources (resource.c) ---- */

/* Chunks are aligned to, and sized in, granules: the address map's unit. */
#define ZC_GRANULE_SHIFT 16
#define ZC_GRANULE ((size_t)1 << ZC_GRANULE_SHIFT)

typedef struct zc_resource {
    zc_mem_kind kind;
    int device;              /* -1: process memory (host kind or the cpu device) */
    zc_backend_kind backend; /* cpu for process memory */
    uint32_t flags;          /* ZC_POOL_HUGE_PAGES, ZC_POOL_SECURE */
    int host_accessible;
} zc_resource;

typedef struct zc_region {
    void *addr;         /* granule aligned */
    size_t bytes;
    void *handle;       /* backend handle; NULL for process memory */
    void *dev_addr;     /* the backend allocation's own address */
    size_t raw_bytes;   /* size of the backend allocation */
    void *mapped;       /* persistent host mapping, undone at release */
} zc_region;

/* Checks that the device can provide the kind with an address to carve
 * blocks from (OpenCL device memory has none). */
zc_status zc_resource_init(zc_resource *r, zc_mem_kind kind, int device, uint32_t flags);
/* bytes must be a multiple of ZC_GRANULE. Secure resources hand out zeroed memory. */
zc_status zc_resource_alloc(const zc_resource *r, size_t bytes, zc_region *out);
/* Wipes secure memory first. */
void zc_resource_release(const zc_resource *r, zc_region *reg);
/* explicit_bzero: the compiler may not drop it. */
void zc_wipe(void *p, size_t n);

/* ---- address map (addrmap.c): granule -> owner, lock-free lookups ---- */

zc_status zc_addrmap_insert(uintptr_t base, size_t bytes, void *owner);
void zc_addrmap_remove(uintptr_t base, size_t bytes);
void *zc_addrmap_lookup(uintptr_t addr);

/* ---- pools (pool.c) ---- */

#define ZC_MAX_POOLS 1024
#define ZC_MAX_CHUNKS 4096
#define ZC_SLOT_BITS 20
#define ZC_SLOT_MASK ((1u << ZC_SLOT_BITS) - 1)
#define ZC_NIL UINT32_MAX
#define ZC_CLASS_LARGE UINT32_MAX

typedef struct zc_pool_impl zc_pool_impl;

/* A slab of equal slots, or one large block. Immutable once published
 * except for the atomics. */
typedef struct zc_chunk {
    uintptr_t base;
    size_t span;             /* nslots * slot_size */
    size_t slot_size;
    uint64_t magic;          /* division by slot_size as a multiply */
    unsigned shift;          /* log2(slot_size) when it is a power of two, else 0 */
    zc_pool_impl *pool;
    uint32_t cls;            /* size class, or ZC_CLASS_LARGE */
    uint32_t index;          /* in the pool's chunk table (slabs) */
    uint32_t nslots;
    _Atomic uint32_t *next;  /* free-list link per slot */
    _Atomic uint8_t *state;  /* per slot: free or used */
    uint32_t *req;           /* requested bytes per slot (guard pools) */
    _Atomic uint8_t large_state;
    size_t large_req;
    zc_region region;
    struct zc_chunk *link;   /* large chunks: live list or spare list */
} zc_chunk;

typedef struct zc_class {
    _Alignas(64) _Atomic uint64_t head; /* tag << 32 | first block id */
    size_t size;
    size_t chunk_bytes;
    uint32_t nslots;                    /* per chunk */
    uint32_t cache_cap;                 /* per-thread cache entries */
    _Atomic uint64_t allocs_retired;    /* from exited threads */
    _Atomic uint64_t frees_retired;
    _Atomic uint64_t reserved_slots;
} zc_class;

/* ---- handle arena (handle.c) ---- */

#define ZC_HANDLE_PAGE_BITS 10
#define ZC_HANDLE_PAGES 4096

typedef struct zc_hentry {
    _Atomic uintptr_t addr;
    _Atomic uint32_t pins;   /* pin count, or ZC_PIN_MOVING while it is moved or freed */
    _Atomic uint32_t gen;    /* odd while allocated */
    uint32_t seg;            /* the rest: under the arena lock */
    uint32_t next_free;
    size_t offset;
    size_t bytes;
} zc_hentry;

typedef struct zc_segment {
    zc_region region;
    size_t tail;        /* from here to the end is free */
    uint32_t *blocks;   /* entry indices by offset */
    uint32_t nblocks, cap;
} zc_segment;

typedef struct zc_arena {
    pthread_mutex_t lock;
    _Atomic(zc_hentry *) pages[ZC_HANDLE_PAGES];
    uint32_t nentries;
    uint32_t free_entry;
    zc_segment *segs;
    uint32_t nsegs, segcap;
    _Atomic uint64_t live, bytes_in_use, allocs, frees;
    _Atomic uint64_t compactions, background, moved, bytes_moved;
} zc_arena;

typedef struct zc_defrag {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int running, paused, stop, compacting;
    zc_defrag_config cfg;
} zc_defrag;

struct zc_pool_impl {
    uint32_t slot, gen;
    zc_pool_kind kind;
    zc_resource res;
    char name[64];
    size_t alignment;
    unsigned align_shift;
    uint32_t flags;
    int guard;
    int checked;            /* guard or secure: frees take the slow path */
    size_t object_size;     /* fixed pools: largest request */
    size_t max_block;       /* largest class */
    size_t fast_limit;      /* requests up to this take the fast path */
    size_t chunk_bytes;
    size_t max_bytes;
    uint32_t nclasses;
    zc_class *classes;
    uint8_t *class_of;      /* (bytes - 1) >> align_shift -> class */
    pthread_mutex_t grow_lock;
    _Atomic(zc_chunk *) chunks[ZC_MAX_CHUNKS];
    _Atomic uint32_t nchunks;
    zc_chunk *large, *spare;                /* grow_lock */
    struct zc_tcache *tcaches;              /* the global lock */
    _Atomic uint64_t reserved;
    _Atomic uint64_t large_allocs, large_frees, large_in_use;
    _Atomic uint64_t failures, bad_requests, double_frees, invalid_frees, overruns;
    _Atomic int64_t published;              /* bytes in use as last published */
    _Atomic uint64_t peak;
    zc_arena arena;
    zc_defrag defrag;
};

/* The live pool of a handle, or an error naming `fn`. */
zc_status zc_pool_resolve(zc_pool pool, const char *fn, zc_pool_impl **out);
/* Records a change of bytes in use for the peak. */
void zc_pool_publish(zc_pool_impl *p, int64_t delta);
/* Allocations so far (blocks and handles), for the defrag thread. */
uint64_t zc_pool_alloc_count(zc_pool_impl *p);

void zc_arena_init(zc_pool_impl *p);
void zc_arena_teardown(zc_pool_impl *p);
/* Free bytes and the largest free range of the handle arena. */
void zc_arena_free_space(zc_pool_impl *p, uint64_t *free_bytes, uint64_t *largest, uint64_t *bytes);
void zc_defrag_shutdown(zc_pool_impl *p);

/* ---- buffers (buffer.c) ---- */

typedef struct zc_buffer_totals {
    uint64_t live, reserved, copies, copy_bytes, zero_copy_maps;
} zc_buffer_totals;

void zc_buffer_totals_get(zc_buffer_totals *out);

#endif
