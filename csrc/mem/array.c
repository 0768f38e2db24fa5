/* Reference-counted host arrays, and the cache of large blocks behind them.
 *
 * Small arrays come from aligned_alloc: malloc recycles them without page
 * faults. From ZC_ARRAY_CACHE_MIN (64 KiB) up, where malloc maps and unmaps
 * blocks or trims its heap and so faults the pages in again on every call,
 * arrays get blocks mapped on their own (2 MiB aligned with transparent huge
 * pages from 4 MiB), sized in classes 1/8 of a power of two apart. When the last reference to such an array goes, its
 * block is kept, already faulted in, in a process-wide cache bounded by a
 * byte limit (ZC_ARRAY_CACHE_BYTES, default an eighth of physical memory),
 * and the next array of that class reuses it: a caller that computes a large
 * result again and again pays the kernel's page faults and zeroing once, as
 * with PyTorch's caching allocator or jemalloc's retained extents. A block
 * is cached only after its array's last reference is released, so no view
 * can still see it when it is handed out again. The oldest blocks are
 * unmapped first when the limit is reached; zc_array_cache_trim releases
 * them on demand. Contents are uninitialised either way, as malloc's are;
 * arrays never hold secure pool memory, and blocks go back to the kernel
 * (which zeroes them) when they leave the cache. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/internal.h"
#include "zkclob/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ZC_HUGE_PAGE ((size_t)2 << 20)
#define ZC_HUGE_THRESHOLD ((size_t)4 << 20)
#define CACHE_SLOTS 64

struct zc_array {
    atomic_int refs;
    zc_dtype dtype;
    int ndim;
    size_t shape[ZC_ARRAY_MAX_DIMS];
    size_t size;
    size_t nbytes;
    size_t mapped; /* bytes of its own mapping (large arrays), 0 for malloc memory */
    void *data;
};

static const struct {
    size_t size;
    const char *typestr;
} dtypes[ZC_DTYPE_COUNT] = {{1, "|u1"}, {4, "<u4"}, {8, "<u8"}, {4, "<i4"}, {8, "<i8"}, {8, "<f8"}};

size_t zc_dtype_size(zc_dtype t) { return (unsigned)t < ZC_DTYPE_COUNT ? dtypes[t].size : 0; }

const char *zc_dtype_typestr(zc_dtype t) { return (unsigned)t < ZC_DTYPE_COUNT ? dtypes[t].typestr : ""; }

/* ---- the block cache ---- */

typedef struct cached_block {
    void *addr;
    size_t bytes;
    uint64_t stamp; /* insertion order: the oldest goes first */
} cached_block;

static struct {
    pthread_mutex_t lock;
    int configured;
    size_t limit;
    size_t nblocks;
    cached_block blocks[CACHE_SLOTS];
    uint64_t stamp;
    uint64_t cached_bytes, hits, misses, evictions, trimmed_bytes, in_use_bytes, in_use_blocks;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The default limit: ZC_ARRAY_CACHE_BYTES (an integer, optionally with a k,
 * m or g suffix; 0 turns caching off), else an eighth of physical memory. */
static size_t default_limit(void)
{
    const char *env = getenv("ZC_ARRAY_CACHE_BYTES");
    if (env && *env) {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        unsigned shift = 0;
        switch (*end) {
        case 'k': case 'K': shift = 10; end++; break;
        case 'm': case 'M': shift = 20; end++; break;
        case 'g': case 'G': shift = 30; end++; break;
        default: break;
        }
        if (*end == '\0' && end != env && v <= (SIZE_MAX >> shift))
            return (size_t)v << shift;
        zc_log(ZC_LOG_WARN, "mem", "ignoring ZC_ARRAY_CACHE_BYTES=%s (expected bytes, e.g. 2g)", env);
    }
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return (size_t)1 << 30;
    return (size_t)pages / 8 * (size_t)page;
}

static void configure_locked(void)
{
    if (!cache.configured) {
        cache.limit = default_limit();
        cache.configured = 1;
    }
}

/* Bytes mapped for a large array of n bytes: classes an eighth of a power of
 * two apart (at most 12.5% of address space unused, and untouched pages cost
 * nothing), in whole huge pages from the huge-page threshold up. */
static size_t size_class(size_t n)
{
    size_t top = (size_t)1 << (63 - __builtin_clzll((unsigned long long)n));
    size_t step = top / 8;
    if (n >= ZC_HUGE_THRESHOLD && step < ZC_HUGE_PAGE)
        step = ZC_HUGE_PAGE;
    if (step < ZC_ARRAY_CACHE_MIN / 8)
        step = ZC_ARRAY_CACHE_MIN / 8;
    return (n + step - 1) / step * step;
}

/* A fresh mapping of `bytes`, 2 MiB aligned when it can hold a huge page,
 * advised to use them: a first touch then faults once per 2 MiB, not per 4 KiB. */
static void *map_block(size_t bytes)
{
    size_t align = bytes >= ZC_HUGE_THRESHOLD ? ZC_HUGE_PAGE : 4096;
    size_t span = bytes + align - 4096;
    if (span < bytes)
        return NULL;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (p + bytes < raw + span)
        munmap(p + bytes, (size_t)(raw + span - (p + bytes)));
#ifdef MADV_HUGEPAGE
    if (align == ZC_HUGE_PAGE)
        madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static void unmap_all(cached_block *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        UNPOISON(b[i].addr, b[i].bytes);
        munmap(b[i].addr, b[i].bytes);
    }
}

/* Removes the oldest cached block into *out. */
static void evict_oldest_locked(cached_block *out)
{
    size_t old = 0;
    for (size_t i = 1; i < cache.nblocks; i++)
        if (cache.blocks[i].stamp < cache.blocks[old].stamp)
            old = i;
    *out = cache.blocks[old];
    cache.blocks[old] = cache.blocks[--cache.nblocks];
    cache.cached_bytes -= out->bytes;
}

/* A block of class `bytes`: the most recently cached one of that class (its
 * pages are the likeliest to still be in the caches), else a new mapping. */
static void *block_get(size_t bytes)
{
    void *p = NULL;
    pthread_mutex_lock(&cache.lock);
    configure_locked();
    size_t best = CACHE_SLOTS;
    for (size_t i = 0; i < cache.nblocks; i++)
        if (cache.blocks[i].bytes == bytes && (best == CACHE_SLOTS || cache.blocks[i].stamp > cache.blocks[best].stamp))
            best = i;
    if (best != CACHE_SLOTS) {
        p = cache.blocks[best].addr;
        cache.blocks[best] = cache.blocks[--cache.nblocks];
        cache.cached_bytes -= bytes;
        cache.hits++;
    } else {
        cache.misses++;
    }
    pthread_mutex_unlock(&cache.lock);
    if (p)
        UNPOISON(p, bytes);
    else
        p = map_block(bytes);
    if (p) {
        pthread_mutex_lock(&cache.lock);
        cache.in_use_bytes += bytes;
        cache.in_use_blocks++;
        pthread_mutex_unlock(&cache.lock);
    }
    return p;
}

/* A released block: cached if it fits under the limit (evicting the oldest
 * blocks), else unmapped. Unmapping happens outside the lock. */
static void block_put(void *p, size_t bytes)
{
    cached_block drop[CACHE_SLOTS + 1];
    size_t ndrop = 0;
    pthread_mutex_lock(&cache.lock);
    cache.in_use_bytes -= bytes;
    cache.in_use_blocks--;
    if (bytes > cache.limit) {
        drop[ndrop++] = (cached_block){p, bytes, 0};
    } else {
        while (cache.nblocks > 0 && (cache.nblocks == CACHE_SLOTS || cache.cached_bytes + bytes > cache.limit)) {
            evict_oldest_locked(&drop[ndrop++]);
            cache.evictions++;
        }
        POISON(p, bytes);
        cache.blocks[cache.nblocks++] = (cached_block){p, bytes, ++cache.stamp};
        cache.cached_bytes += bytes;
    }
    pthread_mutex_unlock(&cache.lock);
    unmap_all(drop, ndrop);
}

zc_status zc_array_cache_trim(size_t keep_bytes, size_t *released)
{
    cached_block drop[CACHE_SLOTS];
    size_t ndrop = 0, freed = 0;
    pthread_mutex_lock(&cache.lock);
    while (cache.nblocks > 0 && cache.cached_bytes > keep_bytes) {
        evict_oldest_locked(&drop[ndrop]);
        freed += drop[ndrop++].bytes;
    }
    cache.trimmed_bytes += freed;
    pthread_mutex_unlock(&cache.lock);
    unmap_all(drop, ndrop);
    if (released)
        *released = freed;
    return ZC_OK;
}

zc_status zc_array_cache_set_limit(size_t bytes)
{
    pthread_mutex_lock(&cache.lock);
    cache.limit = bytes;
    cache.configured = 1;
    pthread_mutex_unlock(&cache.lock);
    return zc_array_cache_trim(bytes, NULL);
}

zc_status zc_array_cache_stats_get(zc_array_cache_stats *out)
{
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    pthread_mutex_lock(&cache.lock);
    configure_locked();
    out->limit_bytes = cache.limit;
    out->cached_bytes = cache.cached_bytes;
    out->cached_blocks = cache.nblocks;
    out->in_use_bytes = cache.in_use_bytes;
    out->in_use_blocks = cache.in_use_blocks;
    out->hits = cache.hits;
    out->misses = cache.misses;
    out->evictions = cache.evictions;
    out->trimmed_bytes = cache.trimmed_bytes;
    pthread_mutex_unlock(&cache.lock);
    return ZC_OK;
}

/* ---- arrays ---- */

zc_status zc_array_new(zc_dtype dtype, int ndim, const size_t *shape, zc_array **out)
{
    if (!out || (ndim > 0 && !shape))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "shape and out must not be NULL");
    if ((unsigned)dtype >= ZC_DTYPE_COUNT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (ndim < 0 || ndim > ZC_ARRAY_MAX_DIMS)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "ndim must be in [0, %d], got %d", ZC_ARRAY_MAX_DIMS, ndim);
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && size > SIZE_MAX / shape[i])
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "array shape overflows size_t");
        size *= shape[i];
    }
    size_t elem = dtypes[dtype].size;
    if (size > (SIZE_MAX / 2) / elem)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "array of %zu elements overflows size_t", size);
    zc_array *a = calloc(1, sizeof *a);
    if (!a)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "array header");
    a->nbytes = size * elem;
    if (a->nbytes >= ZC_ARRAY_CACHE_MIN) {
        a->mapped = size_class(a->nbytes);
        a->data = block_get(a->mapped);
    } else {
        size_t rounded = (a->nbytes + ZC_ARRAY_ALIGN - 1) / ZC_ARRAY_ALIGN * ZC_ARRAY_ALIGN;
        a->data = aligned_alloc(ZC_ARRAY_ALIGN, rounded ? rounded : ZC_ARRAY_ALIGN);
    }
    if (!a->data) {
        size_t nbytes = a->nbytes;
        free(a);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes", nbytes);
    }
    atomic_init(&a->refs, 1);
    a->dtype = dtype;
    a->ndim = ndim;
    if (ndim > 0)
        memcpy(a->shape, shape, (size_t)ndim * sizeof *shape);
    a->size = size;
    *out = a;
    return ZC_OK;
}

void zc_array_retain(zc_array *a)
{
    if (a)
        atomic_fetch_add(&a->refs, 1);
}

void zc_array_release(zc_array *a)
{
    if (a && atomic_fetch_sub(&a->refs, 1) == 1) {
        if (a->mapped)
            block_put(a->data, a->mapped);
        else
            free(a->data);
        free(a);
    }
}

void *zc_array_data(const zc_array *a) { return a->data; }
size_t zc_array_nbytes(const zc_array *a) { return a->nbytes; }
size_t zc_array_size(const zc_array *a) { return a->size; }
zc_dtype zc_array_dtype(const zc_array *a) { return a->dtype; }
int zc_array_ndim(const zc_array *a) { return a->ndim; }
const size_t *zc_array_shape(const zc_array *a) { return a->shape; }
