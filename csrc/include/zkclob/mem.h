/* zkclob memory: reference-counted host arrays handed to Python without
 * copying; typed lock-free pools over host, pinned, device and unified
 * memory; movable handles with compaction; buffers with a host and a device
 * view; statistics and secure wiping. */
#ifndef ZKCLOB_MEM_H
#define ZKCLOB_MEM_H

#include "zkclob/core.h"
#include "zkclob/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zc_dtype {
    ZC_DTYPE_U8 = 0,
    ZC_DTYPE_U32,
    ZC_DTYPE_U64,
    ZC_DTYPE_I32,
    ZC_DTYPE_I64,
    ZC_DTYPE_F64,
    ZC_DTYPE_COUNT
} zc_dtype;

ZC_API size_t zc_dtype_size(zc_dtype t);
/* NumPy typestr of the dtype, e.g. "<u8". */
ZC_API const char *zc_dtype_typestr(zc_dtype t);

#define ZC_ARRAY_MAX_DIMS 4
#define ZC_ARRAY_ALIGN 64

typedef struct zc_array zc_array;

/* A new array with refcount 1, 64-byte aligned, contents uninitialised. */
ZC_API zc_status zc_array_new(zc_dtype dtype, int ndim, const size_t *shape, zc_array **out);
ZC_API void zc_array_retain(zc_array *a);
/* Frees the memory when the last reference goes. */
ZC_API void zc_array_release(zc_array *a);
ZC_API void *zc_array_data(const zc_array *a);
ZC_API size_t zc_array_nbytes(const zc_array *a);
ZC_API size_t zc_array_size(const zc_array *a);
ZC_API zc_dtype zc_array_dtype(const zc_array *a);
ZC_API int zc_array_ndim(const zc_array *a);
ZC_API const size_t *zc_array_shape(const zc_array *a);

/* ---- Cache of large array blocks ----
 * Arrays of ZC_ARRAY_CACHE_MIN bytes and more (where malloc would map and
 * unmap, or trim its heap, faulting pages in again) get blocks of their own
 * (2 MiB aligned, transparent huge pages from 4 MiB), sized in classes an
 * eighth of a power of two apart. When such an array's last reference goes,
 * its block (already faulted in) is kept in a process-wide cache and the
 * next array of its class reuses it, so repeated large results cost no page
 * faults or kernel zeroing. Cached bytes stay under a limit: the environment
 * variable ZC_ARRAY_CACHE_BYTES read at first use (bytes, k/m/g suffixes
 * allowed, 0 = no caching), else an eighth of physical memory; the oldest
 * blocks are unmapped first. A block is cached only once no reference to its
 * array remains. Thread-safe. */
#define ZC_ARRAY_CACHE_MIN ((size_t)64 << 10)

typedef struct zc_array_cache_stats {
    uint64_t limit_bytes;   /* the current limit on cached bytes */
    uint64_t cached_bytes;  /* idle blocks kept for reuse */
    uint64_t cached_blocks;
    uint64_t in_use_bytes;  /* blocks of live large arrays */
    uint64_t in_use_blocks;
    uint64_t hits;          /* large arrays served from the cache */
    uint64_t misses;        /* large arrays that needed a new mapping */
    uint64_t evictions;     /* blocks unmapped to stay under the limit */
    uint64_t trimmed_bytes; /* released by zc_array_cache_trim and zc_array_cache_set_limit */
} zc_array_cache_stats;

ZC_API zc_status zc_array_cache_stats_get(zc_array_cache_stats *out);
/* Sets the limit (0 = no caching) and trims the cache down to it. */
ZC_API zc_status zc_array_cache_set_limit(size_t bytes);
/* Unmaps the oldest cached blocks until at most keep_bytes remain cached;
 * *released (may be NULL) gets the bytes given back to the system. */
ZC_API zc_status zc_array_cache_trim(size_t keep_bytes, size_t *released);

/* ---- Memory kinds ---- */

typedef enum zc_mem_kind {
    ZC_MEM_HOST = 0,    /* pageable host memory */
    ZC_MEM_PINNED = 1,  /* page-locked host memory the device reaches directly: mlock (cpu),
                           CL_MEM_ALLOC_HOST_PTR mapped (opencl), cudaHostAlloc mapped (cuda) */
    ZC_MEM_DEVICE = 2,  /* device memory: host memory (cpu), cl_mem (opencl), cudaMalloc (cuda) */
    ZC_MEM_UNIFIED = 3, /* one address for host and device: host memory (cpu), SVM or
                           CL_MEM_USE_HOST_PTR (opencl), cudaMallocManaged (cuda) */
    ZC_MEM_KIND_COUNT
} zc_mem_kind;

/* "host", "pinned", "device", "unified". */
ZC_API const char *zc_mem_kind_name(zc_mem_kind kind);

/* ---- Pools ----
 * A pool hands out blocks of one memory kind on one device. Blocks come from
 * slabs of fixed-size slots; the fast path is a per-thread cache, refilled
 * from and flushed to lock-free per-class free lists, so any thread may free
 * any block. Pools are named by value handles: a destroyed pool's handle
 * stays detectably invalid (ZC_ERR_STATE), it never dangles. All functions
 * are thread-safe except zc_pool_destroy, which must not race with other
 * calls on the same pool. */

typedef enum zc_pool_kind {
    ZC_POOL_GENERIC = 0,       /* size classes from the alignment up to chunk_bytes / 8; larger
                                  requests get a chunk of their own */
    ZC_POOL_ORDERS = 1,        /* fixed slots for order records (default 64 bytes) */
    ZC_POOL_PRICE_LEVELS = 2,  /* fixed slots for price levels (default 64 bytes) */
    ZC_POOL_MD_RING = 3,       /* fixed power-of-two market-data ring buffers (default 64 KiB) */
    ZC_POOL_FIELD_VECTORS = 4, /* power-of-two field-element vectors; larger requests get a chunk */
    ZC_POOL_KIND_COUNT
} zc_pool_kind;

/* "generic", "orders", "price_levels", "md_ring", "field_vectors". */
ZC_API const char *zc_pool_kind_name(zc_pool_kind kind);

#define ZC_POOL_SECURE (1u << 0)     /* wipe (explicit_bzero) on free and destroy: memory handed out is
                                        always zeroed; host-addressable memory only */
#define ZC_POOL_GUARD (1u << 1)      /* an 8-byte canary after each block, checked at free; always on
                                        in debug builds for host-addressable memory */
#define ZC_POOL_HUGE_PAGES (1u << 2) /* madvise(MADV_HUGEPAGE) on host chunks (2 MiB aligned) */

#define ZC_POOL_DEFAULT_ALIGN 64
#define ZC_POOL_MAX_ALIGN 65536
#define ZC_POOL_MAX_CLASSES 64

/* A zeroed config (or NULL) means: host memory, device 0 (cpu), 64-byte
 * alignment, the kind's default slot size, 1 MiB chunks, no limit. */
typedef struct zc_pool_config {
    zc_mem_kind memory;
    int device;         /* device id; host memory ignores it */
    size_t alignment;   /* power of two in [8, ZC_POOL_MAX_ALIGN]; 0 = 64 */
    size_t object_size; /* slot size of orders, price levels and ring pools; 0 = default */
    size_t chunk_bytes; /* memory taken from the device at a time; 0 = 1 MiB */
    size_t max_bytes;   /* limit on memory taken from the device; 0 = none */
    uint32_t flags;     /* ZC_POOL_* */
    const char *name;   /* shown in messages and stats (copied); NULL = the kind's name */
} zc_pool_config;

/* A pool handle. {0} is never a valid pool. */
typedef struct zc_pool {
    uint64_t id;
} zc_pool;

typedef struct zc_pool_info {
    zc_pool_kind kind;
    zc_mem_kind memory;
    int device;
    zc_backend_kind backend;
    size_t alignment;
    size_t object_size;   /* slot size of fixed-size pools, 0 for the others */
    size_t max_block;     /* largest slab class; bigger requests get a chunk of their own */
    uint32_t flags;       /* effective ZC_POOL_* flags */
    int host_accessible;  /* blocks can be read and written by the host */
    char name[64];
} zc_pool_info;

ZC_API zc_status zc_pool_create(zc_pool_kind kind, const zc_pool_config *cfg, zc_pool *out);
/* Releases all memory (outstanding blocks included) and invalidates the handle. */
ZC_API zc_status zc_pool_destroy(zc_pool pool);
ZC_API zc_status zc_pool_info_get(zc_pool pool, zc_pool_info *out);

/* A block of at least `bytes` bytes, aligned to the pool's alignment. Zero
 * requests, requests over a fixed pool's slot size or over max_bytes are
 * errors. */
ZC_API zc_status zc_pool_alloc(zc_pool pool, size_t bytes, void **out);
/* Same, with the block zeroed (secure pools hand out zeroed memory anyway). */
ZC_API zc_status zc_pool_alloc_zeroed(zc_pool pool, size_t bytes, void **out);
/* Returns a block to the pool. NULL is a no-op. A pointer the pool did not
 * hand out, an interior pointer or a second free is an error and changes
 * nothing; an overrun caught by the guard canary is reported after the block
 * has been freed. */
ZC_API zc_status zc_pool_free(zc_pool pool, void *ptr);

/* ---- Inline caches: the fastest path, for one thread at a time ----
 * A zc_pool_cache holds up to ZC_POOL_CACHE_SLOTS free blocks of one size
 * class of a pool in the caller's memory. zc_pool_cache_alloc and
 * zc_pool_cache_free are inline: on their fast path they touch only the
 * cache, the block's state byte and the pool's generation word, and make no
 * call into the library. They keep the guarantees of zc_pool_alloc and
 * zc_pool_free:
 * - every call first checks the pool's generation, so a destroyed pool is an
 *   error (ZC_ERR_STATE), never a crash;
 * - a double free, a foreign, interior or misaligned pointer is an error and
 *   is counted, exactly as with zc_pool_free;
 * - allocations and frees are counted in the cache and folded into the
 *   pool's statistics every ZC_POOL_CACHE_FOLD of either, and at flush and
 *   close: zc_pool_snapshot lags by at most that many blocks per open cache
 *   (counts a cache holds when its pool is destroyed are dropped).
 * Requests larger than the cache's class, frees of blocks of other classes,
 * of classes whose slot size is not a power of two and of other slabs than
 * the latest one, and every call on guarded or
 * secure pools (canaries and wiping happen at free) leave the inline path
 * for an out-of-line call with the semantics of zc_pool_alloc / zc_pool_free.
 * The cache trades half its blocks at a time with the calling thread's
 * cache of the pool. Blocks a cache holds are free but no other thread can
 * take them until zc_pool_cache_flush or zc_pool_cache_close. Blocks may be
 * freed through any cache of the pool or with zc_pool_free, in any thread. */

#define ZC_POOL_CACHE_SLOTS 256 /* 4 KiB of entries: a batch of up to 256 blocks never leaves the cache */
#define ZC_POOL_CACHE_FOLD 1024

typedef struct zc_pool_cache_entry {
    void *ptr;
    unsigned char *state; /* the block's state byte in the slab's metadata */
} zc_pool_cache_entry;

/* Private fields: only the functions below read and write them. A zeroed or
 * closed cache is valid to pass: every call on it fails with ZC_ERR_STATE. */
typedef struct zc_pool_cache {
    uint32_t n;                 /* cached blocks */
    uint32_t gen;               /* the pool's generation when opened; 0 when closed */
    const uint32_t *live;       /* the pool's current generation, in the library's slot table */
    uint64_t allocs, frees;     /* not yet folded into the pool's statistics */
    size_t limit;               /* largest request served inline; 0 on checked pools */
    uintptr_t base, span;       /* the slab of the latest out-of-line free: frees into it stay inline */
    uintptr_t slot_mask;        /* slot size - 1 (power-of-two slots only) */
    unsigned shift;             /* log2(slot size) */
    uint32_t cls;
    unsigned char *state;       /* state bytes of that slab */
    zc_pool pool;
    zc_pool_cache_entry e[ZC_POOL_CACHE_SLOTS];
} zc_pool_cache;

/* Opens a cache for blocks of `bytes` (0 = a fixed pool's object size); it
 * serves inline every request up to its class size (a fixed pool's object
 * size). */
ZC_API zc_status zc_pool_cache_open(zc_pool pool, size_t bytes, zc_pool_cache *out);
/* Returns the cached blocks to the pool and folds the counts; the cache
 * stays open. */
ZC_API zc_status zc_pool_cache_flush(zc_pool_cache *c);
/* Flushes and closes. A cache whose pool was destroyed closes without error:
 * the pool has released its blocks. */
ZC_API zc_status zc_pool_cache_close(zc_pool_cache *c);
/* The out-of-line halves of the inline functions below; call those instead. */
ZC_API zc_status zc_pool_cache_alloc_slow(zc_pool_cache *c, size_t bytes, void **out);
ZC_API zc_status zc_pool_cache_free_slow(zc_pool_cache *c, void *ptr);

/* The slot states of zc_pool_cache_entry.state (also used by zc_pool_free). */
#define ZC_POOL_SLOT_FREE 0
#define ZC_POOL_SLOT_USED 1

/* zc_pool_alloc through a cache. */
static inline zc_status zc_pool_cache_alloc(zc_pool_cache *c, size_t bytes, void **out)
{
    if (__builtin_expect(c != NULL && bytes - 1 < c->limit && c->n != 0 && c->allocs < ZC_POOL_CACHE_FOLD && out != NULL &&
                             __atomic_load_n(c->live, __ATOMIC_RELAXED) == c->gen,
                         1)) {
        zc_pool_cache_entry e = c->e[--c->n];
        __atomic_store_n(e.state, ZC_POOL_SLOT_USED, __ATOMIC_RELAXED);
        c->allocs++;
        *out = e.ptr;
        return ZC_OK;
    }
    return zc_pool_cache_alloc_slow(c, bytes, out);
}

/* zc_pool_free through a cache. */
static inline zc_status zc_pool_cache_free(zc_pool_cache *c, void *ptr)
{
    uintptr_t off = (uintptr_t)ptr - (c != NULL ? c->base : 0);
    if (__builtin_expect(c != NULL && off < c->span && (off & c->slot_mask) == 0 && c->n < ZC_POOL_CACHE_SLOTS &&
                             c->frees < ZC_POOL_CACHE_FOLD && __atomic_load_n(c->live, __ATOMIC_RELAXED) == c->gen,
                         1)) {
        unsigned char *state = c->state + (off >> c->shift);
        if (__builtin_expect(__atomic_load_n(state, __ATOMIC_RELAXED) == ZC_POOL_SLOT_USED, 1)) {
            __atomic_store_n(state, ZC_POOL_SLOT_FREE, __ATOMIC_RELAXED);
            c->e[c->n].ptr = ptr;
            c->e[c->n].state = state;
            c->n++;
            c->frees++;
            return ZC_OK;
        }
    }
    return zc_pool_cache_free_slow(c, ptr);
}

/* Counters, cheap enough to poll: no locks on the fast path are taken and
 * nothing is scanned. */
typedef struct zc_pool_counters {
    uint64_t bytes_in_use;   /* block bytes handed out and not freed (handles included) */
    uint64_t peak_bytes;     /* high-water mark of bytes_in_use; threads publish their share when
                                their cache trades with the pool, so a peak can be missed by what
                                one thread's cache holds (at most 256 KiB per size class) */
    uint64_t reserved_bytes; /* memory taken from the device */
    uint64_t allocs;         /* successful allocations (blocks and handles) */
    uint64_t frees;          /* successful frees */
    uint64_t failures;       /* failed allocations: bad requests and out of memory */
    uint64_t bad_requests;   /* zero, oversize or over-limit requests */
    uint64_t double_frees;
    uint64_t invalid_frees;  /* foreign, interior or misaligned pointers, stale handles */
    uint64_t overruns;       /* guard canaries found overwritten */
    uint64_t handles;        /* live handles */
    uint64_t compactions;    /* on demand and background */
    uint64_t background_compactions;
    uint64_t blocks_moved;
    uint64_t bytes_moved;
} zc_pool_counters;

typedef struct zc_pool_class_stats {
    size_t block_bytes;
    uint64_t allocs;          /* allocations served by this class */
    uint64_t in_use;          /* blocks handed out now */
    uint64_t reserved;        /* slots in this class's slabs */
} zc_pool_class_stats;

/* Full statistics: the counters plus a scan of the free space. */
typedef struct zc_pool_stats {
    zc_pool_counters counters;
    uint64_t free_bytes;          /* free slab slots and free handle-arena space */
    uint64_t largest_free_block;  /* largest contiguous free range */
    double fragmentation;         /* 1 - largest_free_block / free_bytes (0 when nothing is free) */
    uint64_t arena_bytes;         /* memory of the handle arena */
    uint64_t arena_free_bytes;
    double arena_fragmentation;   /* the same metric over the handle arena alone */
    uint64_t large_allocs;        /* requests above the largest class */
    uint64_t large_bytes_in_use;
    uint32_t nclasses;
    zc_pool_class_stats classes[ZC_POOL_MAX_CLASSES];
} zc_pool_stats;

ZC_API zc_status zc_pool_snapshot(zc_pool pool, zc_pool_counters *out);
ZC_API zc_status zc_pool_stats_get(zc_pool pool, zc_pool_stats *out);

/* Copies bytes at addr, which must lie inside this pool's slabs, whatever
 * the state of the blocks there: tests use it to see that freed memory of a
 * secure pool was wiped. Host-accessible pools only. */
ZC_API zc_status zc_pool_debug_read(zc_pool pool, const void *addr, void *dst, size_t bytes);

/* Totals over every pool and buffer, live and destroyed. */
typedef struct zc_mem_counters {
    uint64_t pools;            /* live pools */
    uint64_t pools_created;
    uint64_t bytes_in_use;     /* live pools */
    uint64_t peak_bytes;       /* high-water mark over all pools */
    uint64_t reserved_bytes;   /* live pools and buffers */
    uint64_t allocs, frees, failures;
    uint64_t bad_frees;        /* double, foreign, interior frees, overruns */
    uint64_t stale_handles;    /* calls with a destroyed or never-created pool */
    uint64_t buffers;          /* live zc_buffers */
    uint64_t buffer_copies;    /* explicit host<->device copies made by zc_buffer */
    uint64_t buffer_copy_bytes;
    uint64_t zero_copy_maps;   /* maps served by shared memory, no copy */
    uint64_t array_cache_bytes;  /* idle large-array blocks cached (zc_array_cache_stats_get) */
    uint64_t array_cache_hits;
    uint64_t array_cache_misses;
} zc_mem_counters;

ZC_API void zc_mem_snapshot(zc_mem_counters *out);

/* ---- Movable allocations ----
 * A handle names a block that compaction may move while it is not pinned.
 * Pin to get its current address (stable until the matching unpin); pins
 * nest and are lock-free. Handles live in a per-pool arena of host-accessible
 * memory. */

typedef struct zc_handle {
    uint64_t id;
} zc_handle;

ZC_API zc_status zc_handle_alloc(zc_pool pool, size_t bytes, zc_handle *out);
/* A pinned handle cannot be freed (ZC_ERR_STATE). */
ZC_API zc_status zc_handle_free(zc_pool pool, zc_handle h);
ZC_API zc_status zc_handle_pin(zc_pool pool, zc_handle h, void **ptr);
ZC_API zc_status zc_handle_unpin(zc_pool pool, zc_handle h);

typedef struct zc_compact_report {
    uint64_t blocks_moved;
    uint64_t bytes_moved;
    uint64_t pinned_skipped;   /* blocks that would have moved but were pinned */
    uint64_t segments_released;
    double fragmentation_before; /* of the handle arena */
    double fragmentation_after;
} zc_compact_report;

/* Slides unpinned blocks down within each arena segment, moves blocks out of
 * the last segments into free space of earlier ones and releases segments
 * left empty. out may be NULL. */
ZC_API zc_status zc_pool_compact(zc_pool pool, zc_compact_report *out);

/* Background compaction: every interval the thread measures the pool's
 * allocation rate and compacts when it is at most max_alloc_rate and the
 * arena's fragmentation is at least min_fragmentation. */
typedef struct zc_defrag_config {
    uint32_t interval_ms;     /* 0 = 100 */
    double max_alloc_rate;    /* allocations per second; 0 = 1000 */
    double min_fragmentation; /* 0 = 0.25 */
} zc_defrag_config;

ZC_API zc_status zc_pool_defrag_start(zc_pool pool, const zc_defrag_config *cfg);
/* paused != 0: returns once no background compaction is running and none
 * starts until resumed with paused == 0. */
ZC_API zc_status zc_pool_defrag_pause(zc_pool pool, int paused);
ZC_API zc_status zc_pool_defrag_stop(zc_pool pool);

/* ---- Buffers: one allocation, a host view and a device view ----
 * Ownership: the buffer owns the memory. The host view from zc_buffer_map is
 * valid until zc_buffer_unmap; a device view (zc_buffer_device_view) is a
 * descriptor the caller frees with zc_buf_free, which never frees the
 * buffer's memory, and which must not outlive the buffer. Do not launch
 * kernels on a buffer while it is mapped.
 * Where the device shares the memory (cpu; OpenCL SVM, CL_MEM_USE_HOST_PTR or
 * CL_MEM_ALLOC_HOST_PTR on host-unified devices; CUDA pinned and managed
 * memory) map and unmap copy nothing. Otherwise the buffer keeps a host
 * shadow: mapping for reading copies device to host, unmapping after writing
 * copies host to device, and each copy is counted. */

typedef struct zc_buffer zc_buffer;

#define ZC_MAP_READ 1u
#define ZC_MAP_WRITE 2u

typedef struct zc_buffer_info {
    int device;
    zc_mem_kind kind;
    size_t bytes;
    int zero_copy;        /* host and device views share memory */
    int mapped;
    uint64_t maps;
    uint64_t copies;      /* explicit host<->device copies */
    uint64_t copy_bytes;
} zc_buffer_info;

ZC_API zc_status zc_buffer_create(int device, zc_mem_kind kind, size_t bytes, zc_buffer **out);
/* Ends any mapping without copying back and frees the memory. NULL is a no-op. */
ZC_API void zc_buffer_destroy(zc_buffer *b);
/* Waits for device work, then returns the host view (ZC_MAP_READ and/or
 * ZC_MAP_WRITE). A buffer is mapped at most once at a time. */
ZC_API zc_status zc_buffer_map(zc_buffer *b, unsigned flags, void **host);
ZC_API zc_status zc_buffer_unmap(zc_buffer *b);
/* Fence: waits until the device has finished all work issued so far. */
ZC_API zc_status zc_buffer_sync(zc_buffer *b);
ZC_API zc_status zc_buffer_device_view(zc_buffer *b, zc_devbuf **out);
ZC_API zc_status zc_buffer_info_get(const zc_buffer *b, zc_buffer_info *out);

#ifdef __cplusplus
}
#endif
#endif
