/* The matching engine: ingress sequencing, the journal, matching with the
 * per-symbol routine of kernels/match.h, views, replay and the state root.
 * Semantics are in zkclob/book.h.
 *
 * Orchestration differs by device, results never do:
 *   cpu               the batch partitioned by symbol (stable), symbols spread
 *                     over the engine's thread pool, each writing its own
 *                     event buffer, events merged back in sequence order;
 *                     small batches on one thread run in sequence order;
 *   opencl, cuda      books resident in device buffers; the partitioned batch
 *                     uploaded, one work item per symbol, event offsets and
 *                     compaction on the device, read once and merged, all
 *                     queued without a host round trip; submit_async returns
 *                     once queued, two staging slots double-buffer batches. */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/internal.h"
#include "../core/threadpool.h"
#include "../../kernels/match.h"
#include "book_internal.h"
#include "zkclob/device.h"
#include "zkclob/merkle.h"

static_assert(sizeof(zc_order) == 44, "ORDER_DTYPE is 44 packed bytes");
static_assert(sizeof(zc_event) == 55, "EVENT_DTYPE is 55 packed bytes");
static_assert(sizeof(zc_depth_level) == 20 && sizeof(zc_book_entry) == 43, "view records are packed");
static_assert(sizeof(zc_mslot) == 64 && sizeof(zc_mlevel) == 32 && sizeof(zc_mref) == 16 && sizeof(zc_msym) == 336 &&
                  sizeof(zc_mbucket) == 8 &&
                  sizeof(zc_morder) == 40 && sizeof(zc_mevent) == 56 && sizeof(zc_mtask) == 56,
              "kernels/match.h layouts are shared with the devices");
static_assert(ZC_M_SELL == ZC_SIDE_SELL && ZC_M_MODIFY == ZC_ORDER_MODIFY && ZC_M_POST_ONLY == ZC_TIF_POST_ONLY &&
                  ZC_M_STP_BOTH == ZC_STP_CANCEL_BOTH && ZC_M_EXPIRE == ZC_EVENT_EXPIRE &&
                  ZC_M_R_STP == ZC_REASON_STP && ZC_M_R_CAPACITY == ZC_REASON_CAPACITY &&
                  ZC_M_R_BAD_TYPE == ZC_REASON_BAD_TYPE && ZC_M_AUCTION == ZC_MODE_AUCTION &&
                  ZC_M_MAX_QTY == ZC_BOOK_MAX_QTY,
              "kernels/match.h mirrors zkclob/book.h");

#define NO_TASK UINT32_MAX
#define SEQUENTIAL_MAX 64 /* batches up to this size on one cpu thread skip grouping */
#define STREAM_AHEAD 16   /* orders between a cache hint and its use in partition and merge */
#define TOP_LEVELS 32     /* levels per side hinted before a symbol's task */
#define CONFIG_VERSION 1
#define CONFIG_HEAD 16
#define CONFIG_PER_SYMBOL 48

/* The matcher is many small functions, and GCC inlined some of them into
 * the loops and called others out of line, with their argument set-up and
 * spills and the aliasing reloads a call boundary forces (bench/RESULTS.md,
 * pass 6: 86 fewer instructions per order in batches with every call in the
 * loop inlined). */
#if defined(__GNUC__)
#define MATCH_LOOP __attribute__((flatten))
#else
#define MATCH_LOOP
#endif

enum { B_SLOTS, B_LEVELS, B_SIDES, B_HASH, B_DIRTY, B_SYMS, B_COUNT };

/* One device batch from upload to read-back: the host staging its
 * transfers use (zc_host_alloc memory, grown as needed), its compacted
 * events on the device (a late read of the rest may follow later batches),
 * and, for submit_async, what the merge needs once the batch completes. Two
 * slots double-buffer asynchronous submission; the other device buffers
 * are the engine's, one set, since the in-order queue runs batches one
 * after the other. */
typedef struct dev_slot {
    int busy; /* queued, not yet completed */
    uint64_t ticket, seq0;
    size_t n;         /* orders */
    uint32_t nt;      /* tasks */
    uint64_t read_ev; /* events the queued read brings back */
    zc_fence *fence;
    void *up, *down; /* host: tasks and sorted orders; total, tasks, evcount, events */
    size_t up_cap, down_cap;
    zc_devbuf *d_dense;
    size_t n_dense;
    zc_order *orders; /* submit_async: the batch as given, and partition's task of each order */
    uint32_t *otask;
    size_t orders_cap, otask_cap;
} dev_slot;

/* A completed asynchronous batch waiting for zc_engine_wait. */
typedef struct done_batch {
    uint64_t ticket;
    zc_status status;
    zc_array *events; /* NULL when status is an error */
    char message[384];
} done_batch;

/* A growable array of packed events. */
typedef struct ev_vec {
    zc_event *data;
    size_t n, cap;
} ev_vec;

/* Where a call's events go: a new array, caller memory, or appended to a
 * vector (replay). */
typedef struct ev_sink {
    zc_array **array;
    zc_event *buf;
    size_t cap;
    ev_vec *vec;
} ev_sink;

struct zc_engine {
    pthread_mutex_t lock; /* the ingress lock: one state-changing call at a time */
    uint32_t nsym, cap, hsize;
    zc_symbol_config *symcfg;
    int dev;
    int on_host; /* cpu: books are host arrays */
    int prefault;
    int threads;
    zc_threadpool *pool;
    uint64_t k0, k1;
    uint64_t next_seq, batches;
    zc_status failed; /* sticky: a device error mid-batch leaves the books unknown */
    char failed_msg[256];

    /* Books: host arrays (cpu), or device buffers with host copies of the
     * per-symbol mode and resting count. */
    void *book[B_COUNT];
    size_t book_bytes[B_COUNT];
    void *book_map[B_COUNT]; /* mappings of the host books */
    size_t book_map_len[B_COUNT];
    zc_devbuf *dbook[B_COUNT];
    uint8_t *mode;
    uint32_t *resting;

    /* Batch staging. */
    zc_morder *sorted;
    uint32_t *otask, *evcount;
    size_t order_cap;
    zc_mtask *tasks;
    const zc_mevent **tbase;
    const uint32_t **ccur; /* merge's event-count cursors, one per task */
    size_t task_cap;
    uint32_t *task_of;
    uint64_t *stamp;
    uint64_t gen;
    zc_mevent **sev; /* cpu: per-symbol event buffers, grown as needed */
    uint64_t *sev_cap;
    atomic_int grow_failed;
    uint64_t auction_seq; /* seq of the uncross being run on the cpu */
    /* cpu: what single orders left to do, and their symbols (kept_flush) */
    zc_mdefer kept[2];
    uint32_t kept_sym[2];

    /* Device batches: two slots, outstanding asynchronous batches in ticket
     * order; per symbol, the orders of batches queued but not completed
     * (which bound its resting orders before the next batch). */
    dev_slot slot[2];
    zc_devbuf *d_orders, *d_tasks, *d_ev, *d_evcount, *d_total, *d_scratch;
    size_t n_orders, n_tasks, n_ev, n_evcount, n_total, n_scratch;
    uint32_t *pending;
    uint64_t ev_per_kilo; /* events per 1000 orders of the last completed batch: sizes the next read */
    zc_mevent *dense;     /* events beyond a slot's read, when a batch had more than it guessed */
    size_t dense_cap;
    done_batch *done; /* completed asynchronous batches not yet collected */
    size_t ndone, done_cap;
    void *view[B_COUNT]; /* host copies of one symbol's device book */

    zc_mevent *stage; /* one cpu thread: the batch's events in order */
    size_t stage_cap, stage_used;
    void *stage_map;
    size_t stage_map_len;
    ev_vec last;
    zc_journal *journal;
    zc_merkle_tree *tree;
};

/* ---- small helpers ---- */

/* Capacity a buffer of `have` grows to for `need`: doubled at least, so
 * that growing by small steps stays amortised, and never below `least`. */
static size_t grown(size_t have, size_t need, size_t least)
{
    size_t n = need > 2 * have ? need : 2 * have;
    return n < least ? least : n;
}

static int reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && *p)
        return 1;
    size_t n = grown(*cap, need, 16);
    void *q = realloc(*p, n * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = n;
    return 1;
}

static zc_status fail(zc_engine *e, zc_status st)
{
    e->failed = st;
    snprintf(e->failed_msg, sizeof e->failed_msg, "%s", zc_last_error());
    return st;
}

static zc_status check_usable(const zc_engine *e)
{
    if (e->failed)
        return ZC_ERR(ZC_ERR_STATE, "the engine stopped after an error in an earlier call (%s); replay its journal",
                      e->failed_msg);
    return ZC_OK;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static zc_mbook host_book(const zc_engine *e, uint32_t s)
{
    return zc_mbook_at(e->book[B_SLOTS], e->book[B_LEVELS], e->book[B_SIDES], e->book[B_HASH], e->book[B_DIRTY],
                       e->book[B_SYMS], e->cap, e->hsize, e->k0, e->k1, s);
}

static void pack(zc_event *d, const zc_mevent *s)
{
    /* order_id .. remaining lie in the same order in both: one copy. */
    static_assert(offsetof(zc_event, remaining) - offsetof(zc_event, order_id) ==
                      offsetof(zc_mevent, remaining) - offsetof(zc_mevent, order_id),
                  "zc_event and zc_mevent share the order_id .. remaining run");
    d->seq = s->seq;
    d->kind = s->kind;
    d->symbol = s->symbol;
    memcpy(&d->order_id, &s->order_id, offsetof(zc_mevent, remaining) + 8 - offsetof(zc_mevent, order_id));
    d->reason = s->reason;
}

static void decode(zc_morder *m, const zc_order *o, uint64_t seq)
{
    /* price and qty are adjacent in both, as are side, type, tif and stp:
     * copied as runs (these loops write every order of a batch). */
    static_assert(offsetof(zc_order, qty) == offsetof(zc_order, price) + 8 &&
                      offsetof(zc_morder, qty) == offsetof(zc_morder, price) + 8 &&
                      offsetof(zc_order, stp) == offsetof(zc_order, side) + 3 &&
                      offsetof(zc_morder, stp) == offsetof(zc_morder, side) + 3,
                  "zc_order and zc_morder share the price, qty and side .. stp runs");
    m->id = o->id;
    memcpy(&m->price, &o->price, 16);
    m->seq = seq;
    m->trader = o->trader;
    memcpy(&m->side, &o->side, 4);
}

static zc_status dev_reserve(zc_engine *e, zc_devbuf **b, size_t *have, size_t need)
{
    if (*b && need <= *have)
        return ZC_OK;
    size_t n = grown(*have, need, 4096);
    zc_buf_free(*b);
    *b = NULL;
    *have = 0;
    ZC_CHECK(zc_buf_alloc(e->dev, n, b));
    *have = n;
    return ZC_OK;
}

/* ---- configuration ---- */

static zc_status resolve_symbol(const zc_symbol_config *in, uint32_t s, zc_symbol_config *out)
{
    *out = *in;
    if (out->tick_size == 0)
        out->tick_size = 1;
    if (out->lot_size == 0)
        out->lot_size = 1;
    if (out->min_price == 0 && out->max_price == 0) {
        out->min_price = 1;
        out->max_price = ZC_BOOK_MAX_PRICE;
    }
    if (out->tick_size < 0 || out->lot_size < 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "symbol %u: tick and lot sizes must be positive", s);
    if (out->min_price < -ZC_BOOK_MAX_PRICE || out->max_price > ZC_BOOK_MAX_PRICE || out->min_price > out->max_price)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "symbol %u: price band [%lld, %lld] must be ordered within +-2^62", s,
                      (long long)out->min_price, (long long)out->max_price);
    if (out->ref_price < -ZC_BOOK_MAX_PRICE || out->ref_price > ZC_BOOK_MAX_PRICE)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "symbol %u: reference price must be within +-2^62", s);
    if (out->mode > ZC_MODE_AUCTION)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "symbol %u: unknown mode %u", s, out->mode);
    return ZC_OK;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_i64(uint8_t *p, int64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static int64_t get_i64(const uint8_t *p)
{
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The journal header's config: version, symbols, capacity, 0, then per
 * symbol tick, lot, min, max, ref (int64) and mode, 0 (uint32). */
static uint8_t *config_encode(const zc_engine *e, size_t *len)
{
    *len = CONFIG_HEAD + (size_t)e->nsym * CONFIG_PER_SYMBOL;
    uint8_t *b = calloc(1, *len);
    if (!b)
        return NULL;
    put_u32(b, CONFIG_VERSION);
    put_u32(b + 4, e->nsym);
    put_u32(b + 8, e->cap);
    for (uint32_t s = 0; s < e->nsym; s++) {
        uint8_t *p = b + CONFIG_HEAD + (size_t)s * CONFIG_PER_SYMBOL;
        const zc_symbol_config *c = &e->symcfg[s];
        put_i64(p, c->tick_size);
        put_i64(p + 8, c->lot_size);
        put_i64(p + 16, c->min_price);
        put_i64(p + 24, c->max_price);
        put_i64(p + 32, c->ref_price);
        put_u32(p + 40, c->mode);
    }
    return b;
}

static zc_status config_decode(const char *path, const uint8_t *b, size_t len, zc_engine_config *cfg,
                               zc_symbol_config **syms)
{
    if (len < CONFIG_HEAD || get_u32(b) != CONFIG_VERSION ||
        len != CONFIG_HEAD + (size_t)get_u32(b + 4) * CONFIG_PER_SYMBOL)
        return ZC_ERR(ZC_ERR_IO, "journal %s: unsupported or malformed engine config in the header", path);
    memset(cfg, 0, sizeof *cfg);
    cfg->symbols = get_u32(b + 4);
    cfg->capacity = get_u32(b + 8);
    *syms = calloc(cfg->symbols ? cfg->symbols : 1, sizeof **syms);
    if (!*syms)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "symbol configs");
    for (uint32_t s = 0; s < cfg->symbols; s++) {
        const uint8_t *p = b + CONFIG_HEAD + (size_t)s * CONFIG_PER_SYMBOL;
        zc_symbol_config *c = &(*syms)[s];
        c->tick_size = get_i64(p);
        c->lot_size = get_i64(p + 8);
        c->min_price = get_i64(p + 16);
        c->max_price = get_i64(p + 24);
        c->ref_price = get_i64(p + 32);
        c->mode = get_u32(p + 40);
    }
    cfg->per_symbol = *syms;
    return ZC_OK;
}

/* ---- books ---- */

#define HUGE_PAGE ((size_t)2 << 20)

/* Zeroed memory for a host book array: an empty book is all zeros, and
 * untouched pages cost nothing until orders use them. Order ids hash to
 * random buckets, so the larger arrays ask for 2 MiB pages (one TLB entry
 * covers what 512 small pages would). */
static zc_status map_zeroed(size_t bytes, int prefault, void **map, size_t *len, void **data)
{
    size_t huge = bytes >= 2 * HUGE_PAGE;
    *len = (bytes ? bytes : 1) + (huge ? HUGE_PAGE : 0);
    *map = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*map == MAP_FAILED) {
        *map = NULL;
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "order book array of %zu bytes", bytes);
    }
    uintptr_t p = (uintptr_t)*map;
    if (huge) {
        p = (p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
        madvise((void *)p, bytes, MADV_HUGEPAGE);
#endif
    }
    *data = (void *)p;
#ifdef MADV_POPULATE_WRITE
    if (prefault && bytes && madvise((void *)p, bytes, MADV_POPULATE_WRITE) != 0)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "cannot populate %zu bytes of order book", bytes);
#else
    if (prefault)
        memset((void *)p, 0, bytes);
#endif
    return ZC_OK;
}

static zc_status alloc_books(zc_engine *e)
{
    size_t slots = (size_t)e->nsym * e->cap, buckets = (size_t)e->nsym * e->hsize;
    const size_t bytes[B_COUNT] = {slots * sizeof(zc_mslot),
                                   e->nsym * zc_mlevel_stride(e->cap) * sizeof(zc_mlevel),
                                   e->nsym * zc_mside_stride(e->cap) * sizeof(zc_mref),
                                   buckets * sizeof(zc_mbucket),
                                   slots * sizeof(int32_t),
                                   (size_t)e->nsym * sizeof(zc_msym)};
    zc_msym *syms = calloc(e->nsym, sizeof *syms);
    if (!syms)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "symbol states");
    for (uint32_t s = 0; s < e->nsym; s++) {
        const zc_symbol_config *c = &e->symcfg[s];
        syms[s].tick = c->tick_size;
        syms[s].lot = c->lot_size;
        syms[s].min_price = c->min_price;
        syms[s].max_price = c->max_price;
        syms[s].last_price = c->ref_price;
        syms[s].mode = c->mode;
        e->mode[s] = (uint8_t)c->mode;
    }
    zc_status st = ZC_OK;
    if (e->on_host) {
        e->book[B_SYMS] = syms;
        e->book_bytes[B_SYMS] = bytes[B_SYMS];
        for (int k = 0; k < B_SYMS; k++) {
            e->book_bytes[k] = bytes[k];
            ZC_CHECK(map_zeroed(bytes[k], e->prefault, &e->book_map[k], &e->book_map_len[k], &e->book[k]));
        }
        return ZC_OK;
    }
    for (int k = 0; k < B_COUNT && st == ZC_OK; k++) {
        e->book_bytes[k] = bytes[k];
        st = zc_buf_alloc(e->dev, bytes[k] ? bytes[k] : 1, &e->dbook[k]);
    }
    if (st == ZC_OK)
        st = zc_buf_write(e->dbook[B_SYMS], 0, syms, bytes[B_SYMS]);
    free(syms);
    if (st != ZC_OK)
        return st;
    zc_karg args[] = {zc_arg_buf(e->dbook[B_SLOTS]), zc_arg_buf(e->dbook[B_LEVELS]), zc_arg_buf(e->dbook[B_SIDES]),
                      zc_arg_buf(e->dbook[B_HASH]),  zc_arg_buf(e->dbook[B_DIRTY]),  zc_arg_buf(e->dbook[B_SYMS]),
                      zc_arg_u32(e->cap),            zc_arg_u32(e->hsize),           zc_arg_u32(e->nsym)};
    return zc_launch(e->dev, "zc_book_init", e->nsym, args, 9);
}

static zc_karg *book_args(const zc_engine *e, zc_karg *a)
{
    for (int k = 0; k < B_COUNT; k++)
        a[k] = zc_arg_buf(e->dbook[k]);
    a[B_COUNT] = zc_arg_u32(e->cap);
    a[B_COUNT + 1] = zc_arg_u32(e->hsize);
    a[B_COUNT + 2] = zc_arg_u64(e->k0);
    a[B_COUNT + 3] = zc_arg_u64(e->k1);
    return a + B_COUNT + 4;
}

/* Does what a single order left in kept[k] (zc_mbook.defer), with the
 * lines it needs requested when the order ran: its walk's last erasures (a
 * maker's bucket is known only once its slot has arrived) and a cancel's
 * unlink (its stores to the order's FIFO neighbours, done at once, would
 * wait for those lines before the call could release the engine's lock).
 * cpu_sequential does it before the symbol's next order, or after the next
 * order, whose own misses cover the wait; every other reader of the books
 * (cpu_run, view_book, crossed, info, root_arrays) first does all of it. */
static void kept_flush(zc_engine *e, int k)
{
    zc_mdefer *d = &e->kept[k];
    if (d->erase.n == 0 && d->unlink < 0)
        return;
    zc_mbook b = host_book(e, e->kept_sym[k]);
    zc_merase_flush(&b, &d->erase);
    if (d->unlink >= 0) {
        zc_munlink(&b, d->unlink);
        d->unlink = -1;
    }
}

static void kept_flush_all(zc_engine *e)
{
    kept_flush(e, 0);
    kept_flush(e, 1);
}

/* A host view of symbol s: the book itself on the cpu, else a copy read from
 * the device (its hash table is not copied: views never use it). */
static zc_status view_book(zc_engine *e, uint32_t s, zc_mbook *b)
{
    if (e->on_host) {
        kept_flush_all(e);
        *b = host_book(e, s);
        return ZC_OK;
    }
    const size_t per[B_COUNT] = {[B_SLOTS] = e->cap * sizeof(zc_mslot),
                                 [B_LEVELS] = zc_mlevel_stride(e->cap) * sizeof(zc_mlevel),
                                 [B_SIDES] = zc_mside_stride(e->cap) * sizeof(zc_mref),
                                 [B_SYMS] = sizeof(zc_msym)};
    for (int k = 0; k < B_COUNT; k++) {
        if (!per[k])
            continue;
        if (!e->view[k] && !(e->view[k] = malloc(per[k])))
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "book view");
        ZC_CHECK(zc_buf_read(e->dbook[k], (size_t)s * per[k], e->view[k], per[k]));
    }
    memset(b, 0, sizeof *b);
    b->slot = e->view[B_SLOTS];
    b->level = e->view[B_LEVELS];
    b->bids = e->view[B_SIDES];
    b->asks = (zc_mref *)e->view[B_SIDES] + zc_mask_offset(e->cap);
    b->sym = e->view[B_SYMS];
    b->cap = e->cap;
    b->symbol = s;
    return ZC_OK;
}

/* ---- batches ---- */

/* Staging arrays that share one capacity grow together. */
static int reserve_orders(zc_engine *e, size_t n)
{
    if (n <= e->order_cap && e->sorted)
        return 1;
    size_t cap = grown(e->order_cap, n, 0);
    zc_morder *sorted = realloc(e->sorted, cap * sizeof *sorted);
    if (sorted)
        e->sorted = sorted;
    uint32_t *otask = realloc(e->otask, cap * sizeof *otask);
    if (otask)
        e->otask = otask;
    uint32_t *evcount = realloc(e->evcount, cap * sizeof *evcount);
    if (evcount)
        e->evcount = evcount;
    if (!sorted || !otask || !evcount)
        return 0;
    e->order_cap = cap;
    return 1;
}

static int reserve_tasks(zc_engine *e, size_t n)
{
    if (n <= e->task_cap && e->tasks)
        return 1;
    size_t cap = grown(e->task_cap, n, 0);
    zc_mtask *tasks = realloc(e->tasks, cap * sizeof *tasks);
    if (tasks)
        e->tasks = tasks;
    const zc_mevent **tbase = realloc(e->tbase, cap * sizeof *tbase);
    if (tbase)
        e->tbase = tbase;
    const uint32_t **ccur = realloc(e->ccur, cap * sizeof *ccur);
    if (ccur)
        e->ccur = ccur;
    if (!tasks || !tbase || !ccur)
        return 0;
    e->task_cap = cap;
    return 1;
}

/* Stable counting sort of the batch by symbol into tasks (one per symbol
 * present, in order of first appearance) and decoded orders. */
static zc_status partition(zc_engine *e, const zc_order *orders, size_t n, uint64_t seq0, uint32_t *ntasks)
{
    size_t tmax = n < e->nsym ? n : e->nsym;
    if (!reserve_orders(e, n) || !reserve_tasks(e, tmax))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "batch of %zu orders", n);
    /* Locals: the copies in decode may alias any memory, and would make
     * the compiler reload fields of e after each order. */
    uint64_t gen = ++e->gen, *stamp = e->stamp;
    uint32_t nt = 0, nsym = e->nsym, *otask = e->otask, *task_of = e->task_of;
    zc_mtask *tasks = e->tasks;
    zc_morder *sorted = e->sorted;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = orders[i].symbol;
        if (s >= nsym) {
            otask[i] = NO_TASK;
            continue;
        }
        if (stamp[s] != gen) {
            stamp[s] = gen;
            task_of[s] = nt;
            memset(&tasks[nt], 0, sizeof tasks[nt]);
            tasks[nt].symbol = s;
            nt++;
        }
        uint32_t t = task_of[s];
        otask[i] = t;
        tasks[t].end++;
    }
    uint32_t at = 0;
    for (uint32_t t = 0; t < nt; t++) {
        uint32_t cnt = tasks[t].end;
        tasks[t].begin = at;
        tasks[t].done = at; /* scatter cursor */
        at += cnt;
        tasks[t].end = at;
    }
    for (size_t i = 0; i < n; i++) {
        /* The scatter writes one stream per symbol, too many for the
         * hardware prefetcher: the line the order STREAM_AHEAD ahead goes to
         * is asked for early. */
        if (i + STREAM_AHEAD < n && otask[i + STREAM_AHEAD] != NO_TASK)
            __builtin_prefetch(&sorted[tasks[otask[i + STREAM_AHEAD]].done], 1);
        uint32_t t = otask[i];
        if (t != NO_TASK)
            decode(&sorted[tasks[t].done++], &orders[i], seq0 + i);
    }
    for (uint32_t t = 0; t < nt; t++)
        tasks[t].done = 0;
    *ntasks = nt;
    return ZC_OK;
}

static int sev_reserve(zc_engine *e, uint32_t s, uint64_t need)
{
    size_t cap = (size_t)e->sev_cap[s];
    if (!reserve((void **)&e->sev[s], &cap, (size_t)need, sizeof(zc_mevent)))
        return 0;
    e->sev_cap[s] = cap;
    return 1;
}

/* Hints for the levels near the top of both sides of symbol s, which most of
 * its orders touch: a book's levels have left the cache by the time its
 * symbol comes round again, so the next task's are asked for while a task
 * runs. */
static void prefetch_top(const zc_engine *e, uint32_t s)
{
    zc_mbook b = host_book(e, s);
    for (uint32_t side = 0; side < 2; side++) {
        const zc_mref *a = zc_mside(&b, side);
        uint32_t n = b.sym->nlev[side];
        for (uint32_t k = n > TOP_LEVELS ? n - TOP_LEVELS : 0; k < n; k++)
            __builtin_prefetch(&b.level[a[k].level]);
    }
}

/* cpu: tasks [begin, end), each into its symbol's own event buffer, sized
 * up front for the task's worst case. */
MATCH_LOOP static void cpu_match_range(void *ctx, size_t begin, size_t end)
{
    zc_engine *e = ctx;
    for (size_t t = begin; t < end; t++) {
        zc_mtask *task = &e->tasks[t];
        uint32_t s = task->symbol;
        zc_mbook b = host_book(e, s);
        if (t + 1 < end)
            prefetch_top(e, e->tasks[t + 1].symbol);
        /* An order writes at most two events besides one per resting order
         * it takes out, and a task takes out at most the orders resting at
         * its start and those it adds: 3 n + resting events always fit, and
         * with that room zc_match_run's test (room >= 3 + resting) never
         * stops it early, nor computes a bound. */
        uint32_t n = task->end - task->begin;
        if (!sev_reserve(e, s, 3 * (uint64_t)n + b.sym->count + 3)) {
            atomic_store(&e->grow_failed, 1);
            return;
        }
        uint64_t used = 0;
        uint32_t pos = zc_match_run(&b, e->sorted, task->begin, task->end, e->sev[s], e->sev_cap[s], &used, e->evcount);
        task->done = pos - task->begin;
        task->ev_used = used;
        task->resting = b.sym->count;
        e->tbase[t] = e->sev[s];
    }
}

static void cpu_auction_range(void *ctx, size_t begin, size_t end)
{
    zc_engine *e = ctx;
    for (size_t t = begin; t < end; t++) {
        zc_mtask *task = &e->tasks[t];
        uint32_t s = task->symbol;
        zc_mbook b = host_book(e, s);
        if (!sev_reserve(e, s, (uint64_t)b.sym->count + 1)) {
            atomic_store(&e->grow_failed, 1);
            return;
        }
        task->ev_used = zc_auction_uncross(&b, e->auction_seq, e->sev[s]);
        task->resting = b.sym->count;
        e->tbase[t] = e->sev[s];
    }
}

static zc_status cpu_run(zc_engine *e, uint32_t nt, zc_range_fn fn)
{
    kept_flush_all(e);
    atomic_store(&e->grow_failed, 0);
    if (nt <= 1 || !e->pool)
        fn(e, 0, nt);
    else
        zc_threadpool_parallel_for(e->pool, nt, 1, 0, fn, e);
    if (atomic_load(&e->grow_failed))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "event buffers");
    return ZC_OK;
}

/* Host staging of a slot, grown (contents dropped) to at least `need` bytes. */
static zc_status host_reserve(zc_engine *e, void **p, size_t *cap, size_t need)
{
    if (*p && need <= *cap)
        return ZC_OK;
    size_t n = grown(*cap, need, 4096);
    zc_host_free(e->dev, *p);
    *p = NULL;
    *cap = 0;
    ZC_CHECK(zc_host_alloc(e->dev, n, p));
    *cap = n;
    return ZC_OK;
}

/* A slot's read-back: the event total (8 bytes), the tasks, the orders'
 * event counts, then the events from this offset. */
static size_t down_events_at(uint32_t nt, size_t n)
{
    return (8 + (size_t)nt * sizeof(zc_mtask) + n * sizeof(uint32_t) + 7) & ~(size_t)7;
}

/* Queues the transfers and launches of slot s, then its fence. */
static zc_status queue_batch(zc_engine *e, dev_slot *s, uint32_t nt, size_t n, const char *kernel, uint64_t seq)
{
    uint8_t *up = s->up, *down = s->down;
    size_t tb = (size_t)nt * sizeof(zc_mtask);
    ZC_CHECK(zc_buf_write_async(e->d_tasks, 0, up, tb));
    zc_karg args[16];
    zc_karg *a = book_args(e, args);
    if (n) {
        ZC_CHECK(zc_buf_write_async(e->d_orders, 0, up + tb, n * sizeof(zc_morder)));
        *a++ = zc_arg_buf(e->d_orders);
    } else {
        *a++ = zc_arg_u64(seq);
    }
    *a++ = zc_arg_buf(e->d_tasks);
    *a++ = zc_arg_buf(e->d_ev);
    *a++ = zc_arg_buf(n ? e->d_evcount : e->d_scratch);
    *a++ = zc_arg_u32(nt);
    /* An auction runs one work group per symbol (kernels/match.h). */
    size_t items = n ? nt : (size_t)nt * ZC_AUCTION_GROUP;
    ZC_CHECK(zc_launch_async(e->dev, kernel, items, args, (int)(a - args)));
    zc_karg o[] = {zc_arg_buf(e->d_tasks), zc_arg_buf(e->d_total), zc_arg_u32(nt)};
    ZC_CHECK(zc_launch_async(e->dev, "zc_match_offsets", 1, o, 3));
    zc_karg c[] = {zc_arg_buf(e->d_tasks), zc_arg_buf(e->d_ev), zc_arg_buf(s->d_dense), zc_arg_u32(nt)};
    ZC_CHECK(zc_launch_async(e->dev, "zc_match_compact", nt, c, 4));
    ZC_CHECK(zc_buf_read_async(e->d_total, 0, down, sizeof(uint64_t)));
    ZC_CHECK(zc_buf_read_async(e->d_tasks, 0, down + 8, tb));
    if (n)
        ZC_CHECK(zc_buf_read_async(e->d_evcount, 0, down + 8 + tb, n * sizeof(uint32_t)));
    if (s->read_ev)
        ZC_CHECK(zc_buf_read_async(s->d_dense, 0, down + down_events_at(nt, n), s->read_ev * sizeof(zc_mevent)));
    return zc_fence_record(e->dev, &s->fence);
}

/* Device: queues a batch on the free slot s and returns without waiting.
 * One launch over the tasks with event regions large enough for any outcome
 * (4 per order plus a bound on the symbol's resting orders, see
 * kernels/match.h), the destination offsets and the compaction of the used
 * parts on the device, and the reads of the results, all on the device's
 * in-order queue: no host round trip between matching and compaction. */
static zc_status dev_enqueue(zc_engine *e, dev_slot *s, uint32_t nt, size_t n, const char *kernel, uint64_t seq)
{
    assert(!s->busy && nt > 0);
    if (!e->pending && !(e->pending = calloc(e->nsym, sizeof *e->pending)))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "engine of %u symbols", e->nsym);
    uint64_t off = 0;
    for (uint32_t t = 0; t < nt; t++) {
        zc_mtask *task = &e->tasks[t];
        /* Every order of a batch still queued rests at most once. */
        uint64_t resting = (uint64_t)e->resting[task->symbol] + e->pending[task->symbol];
        task->ev_off = off;
        task->ev_cap = 4 * (uint64_t)(task->end - task->begin) + (resting < e->cap ? resting : e->cap) + 4;
        off += task->ev_cap;
    }
    /* The read brings back what the last batch's rate predicts, with a
     * margin of half; dev_finish reads any excess. */
    s->read_ev = off;
    if (n && e->ev_per_kilo) {
        uint64_t guess = (uint64_t)n * e->ev_per_kilo * 3 / 2000 + 256;
        if (guess < s->read_ev)
            s->read_ev = guess;
    }
    size_t tb = (size_t)nt * sizeof(zc_mtask);
    ZC_CHECK(host_reserve(e, &s->up, &s->up_cap, tb + n * sizeof(zc_morder)));
    ZC_CHECK(host_reserve(e, &s->down, &s->down_cap, down_events_at(nt, n) + s->read_ev * sizeof(zc_mevent)));
    /* A shared buffer replaced while the other slot's batch runs is
     * released once that batch is done with it (OpenCL reference counts;
     * cudaFree waits for the device). */
    ZC_CHECK(dev_reserve(e, &e->d_tasks, &e->n_tasks, tb));
    ZC_CHECK(dev_reserve(e, &e->d_ev, &e->n_ev, off * sizeof(zc_mevent)));
    ZC_CHECK(dev_reserve(e, &s->d_dense, &s->n_dense, off * sizeof(zc_mevent)));
    ZC_CHECK(dev_reserve(e, &e->d_total, &e->n_total, sizeof(uint64_t)));
    if (n) {
        ZC_CHECK(dev_reserve(e, &e->d_orders, &e->n_orders, n * sizeof(zc_morder)));
        ZC_CHECK(dev_reserve(e, &e->d_evcount, &e->n_evcount, n * sizeof(uint32_t)));
    } else {
        /* The auctions' cumulative demand and supply per level. */
        ZC_CHECK(dev_reserve(e, &e->d_scratch, &e->n_scratch, (size_t)nt * 2 * e->cap * sizeof(int64_t)));
    }
    memcpy(s->up, e->tasks, tb);
    if (n)
        memcpy((uint8_t *)s->up + tb, e->sorted, n * sizeof(zc_morder));
    zc_status st = queue_batch(e, s, nt, n, kernel, seq);
    if (st != ZC_OK) {
        /* Part of the batch may be queued: let the device finish with the
         * slot's memory before anyone reuses it. */
        char why[ZC_TEXT_MAX];
        snprintf(why, sizeof why, "%s", zc_last_error());
        zc_fence *f;
        if (zc_fence_record(e->dev, &f) == ZC_OK) {
            zc_fence_wait(f);
            zc_fence_free(f);
        }
        return ZC_ERR(st, "queueing a batch of %zu orders: %s", n, why);
    }
    if (n)
        for (uint32_t t = 0; t < nt; t++)
            e->pending[e->tasks[t].symbol] += e->tasks[t].end - e->tasks[t].begin;
    s->nt = nt;
    s->n = n;
    s->busy = 1;
    return ZC_OK;
}

/* Waits for slot s and frees it; the device is done with its memory
 * afterwards whatever the result. */
static zc_status slot_release(zc_engine *e, dev_slot *s)
{
    zc_status st = zc_fence_wait(s->fence);
    zc_fence_free(s->fence);
    s->fence = NULL;
    s->busy = 0;
    const zc_mtask *tasks = s->up;
    if (s->n)
        for (uint32_t t = 0; t < s->nt; t++)
            e->pending[tasks[t].symbol] -= tasks[t].end - tasks[t].begin;
    return st;
}

/* Waits for slot s and leaves its results where dev_run's callers look:
 * e->tasks (ev_used, resting), e->evcount and e->tbase. */
static zc_status dev_finish(zc_engine *e, dev_slot *s)
{
    ZC_CHECK(slot_release(e, s));
    uint32_t nt = s->nt;
    size_t n = s->n, tb = (size_t)nt * sizeof(zc_mtask);
    const uint8_t *down = s->down;
    if (!reserve_tasks(e, nt) || (n && !reserve_orders(e, n)))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "batch of %zu orders", n);
    memcpy(e->tasks, down + 8, tb);
    if (n)
        memcpy(e->evcount, down + 8 + tb, n * sizeof(uint32_t));
    uint64_t m;
    memcpy(&m, down, sizeof m);
    for (uint32_t t = 0; t < nt; t++) {
        zc_mtask *task = &e->tasks[t];
        if (n && task->done != task->end - task->begin)
            return ZC_ERR(ZC_ERR_INTERNAL, "symbol %u: device event region of %llu was too small", task->symbol,
                          (unsigned long long)task->ev_cap);
        if (!n && task->done != 1)
            return ZC_ERR(ZC_ERR_INTERNAL, "symbol %u: the auction kernel did not run (work-group size)",
                          task->symbol);
        e->resting[task->symbol] = task->resting;
    }
    const zc_mevent *ev = (const zc_mevent *)(down + down_events_at(nt, n));
    if (m > s->read_ev) {
        /* More events than the read guessed: the rest now (rare). */
        if (!reserve((void **)&e->dense, &e->dense_cap, (size_t)m, sizeof *e->dense))
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%llu events", (unsigned long long)m);
        memcpy(e->dense, ev, s->read_ev * sizeof *ev);
        ZC_CHECK(zc_buf_read(s->d_dense, s->read_ev * sizeof *ev, e->dense + s->read_ev,
                             (size_t)(m - s->read_ev) * sizeof *ev));
        ev = e->dense;
    }
    if (n)
        e->ev_per_kilo = m * 1000 / n + 1;
    for (uint32_t t = 0; t < nt; t++)
        e->tbase[t] = ev + e->tasks[t].dst_off;
    return ZC_OK;
}

/* Device, synchronously: the caller has drained the asynchronous batches,
 * so slot 0 is free. */
static zc_status dev_run(zc_engine *e, uint32_t nt, size_t n, const char *kernel, uint64_t seq)
{
    dev_slot *s = &e->slot[0];
    ZC_CHECK(dev_enqueue(e, s, nt, n, kernel, seq));
    return dev_finish(e, s);
}

static void slot_free(zc_engine *e, dev_slot *s)
{
    if (s->busy)
        slot_release(e, s);
    zc_host_free(e->dev, s->up);
    zc_host_free(e->dev, s->down);
    zc_buf_free(s->d_dense);
    free(s->orders);
    free(s->otask);
}

/* Destination for m events. */
static zc_status sink_dest(zc_engine *e, ev_sink *sink, size_t m, zc_event **dst)
{
    if (sink->array) {
        size_t shape[1] = {m * sizeof(zc_event)};
        ZC_CHECK(zc_array_new(ZC_DTYPE_U8, 1, shape, sink->array));
        *dst = zc_array_data(*sink->array);
    } else if (sink->vec) {
        if (!reserve((void **)&sink->vec->data, &sink->vec->cap, sink->vec->n + m, sizeof(zc_event)))
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu events", sink->vec->n + m);
        *dst = sink->vec->data + sink->vec->n;
        sink->vec->n += m;
    } else if (m <= sink->cap) {
        *dst = sink->buf;
    } else {
        if (!reserve((void **)&e->last.data, &e->last.cap, m, sizeof(zc_event)))
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu events", m);
        e->last.n = m;
        *dst = e->last.data;
    }
    return ZC_OK;
}

/* Caller buffer that was too small: hand over what fits. */
static zc_status sink_finish(zc_engine *e, ev_sink *sink, size_t m)
{
    if (sink->array || sink->vec || m <= sink->cap)
        return ZC_OK;
    memcpy(sink->buf, e->last.data, sink->cap * sizeof(zc_event));
    return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%zu events do not fit in %zu; the batch was applied (zc_engine_last_events)",
                  m, sink->cap);
}

/* Events of orders[0, n) back in sequence order. */
static zc_status merge(zc_engine *e, const zc_order *orders, size_t n, uint64_t seq0, uint32_t nt, ev_sink *sink,
                       size_t *m)
{
    /* An order of no task (unknown symbol) has one event, a reject. */
    size_t grouped = 0, total = 0;
    for (uint32_t t = 0; t < nt; t++) {
        grouped += e->tasks[t].end - e->tasks[t].begin;
        total += (size_t)e->tasks[t].ev_used;
    }
    total += n - grouped;
    zc_event *dst;
    ZC_CHECK(sink_dest(e, sink, total, &dst));
    /* Each task's events and event counts (by position in the sorted
     * batch, zc_match_run) are read in order, from the cursors e->tbase[t]
     * and e->ccur[t]. They are held in locals: the copies in pack may alias
     * any memory, and would make the compiler reload fields of e after each
     * event. */
    const uint32_t **ccur = e->ccur, *otask = e->otask;
    const zc_mevent **cur = e->tbase;
    for (uint32_t t = 0; t < nt; t++)
        ccur[t] = e->evcount + e->tasks[t].begin;
    for (size_t i = 0; i < n; i++) {
        /* The streams interleave (one per symbol), too many for the
         * hardware prefetcher: the events and count of the order
         * STREAM_AHEAD ahead are asked for early. */
        if (i + STREAM_AHEAD < n && otask[i + STREAM_AHEAD] != NO_TASK) {
            uint32_t u = otask[i + STREAM_AHEAD];
            const char *p = (const char *)cur[u];
            __builtin_prefetch(p);
            __builtin_prefetch(p + sizeof(zc_mevent) - 1);
            __builtin_prefetch(ccur[u]);
        }
        uint32_t t = otask[i];
        if (t == NO_TASK) {
            const zc_order *o = &orders[i];
            zc_mevent r = {seq0 + i, o->id, 0, o->price, o->qty, 0, o->symbol, ZC_REASON_UNKNOWN_SYMBOL,
                           ZC_EVENT_REJECT, 0};
            pack(dst++, &r);
            continue;
        }
        /* Every order has an event. */
        const zc_mevent *src = cur[t];
        uint32_t k = *ccur[t]++;
        cur[t] = src + k;
        do
            pack(dst++, src++);
        while (--k);
    }
    *m = total;
    return sink_finish(e, sink, total);
}

/* Grows the staging buffer to `need` events keeping the first `keep`. It
 * lives as long as the engine and is mapped like the books: a batch of a
 * million orders would otherwise take tens of thousands of page faults. */
static int stage_reserve(zc_engine *e, size_t need, size_t keep)
{
    if (need <= e->stage_cap)
        return 1;
    size_t cap = grown(e->stage_cap, need, 0);
    void *map = NULL, *data = NULL;
    size_t len = 0;
    if (map_zeroed(cap * sizeof(zc_mevent), 0, &map, &len, &data) != ZC_OK)
        return 0;
    if (keep)
        memcpy(data, e->stage, keep * sizeof(zc_mevent));
    if (e->stage_map)
        munmap(e->stage_map, e->stage_map_len);
    e->stage_map = map;
    e->stage_map_len = len;
    e->stage = data;
    e->stage_cap = cap;
    return 1;
}

/* Small batches on one cpu thread: grouping by symbol pays off when each
 * book sees many orders in a row (it stays in cache while they run), not for
 * a handful, so these orders go through the same per-symbol routine in
 * sequence order, their events straight into the staging buffer. */
static zc_status cpu_sequential(zc_engine *e, const zc_order *orders, size_t n, uint64_t seq0)
{
    size_t used = 0;
    if (!stage_reserve(e, 2 * n + 16, 0))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "events of %zu orders", n);
    for (size_t i = 0; i < n && i < ZC_MATCH_AHEAD; i++) {
        if (orders[i].symbol < e->nsym) {
            zc_mbook b = host_book(e, orders[i].symbol);
            zc_mprefetch_now(&b, orders[i].type, orders[i].side, orders[i].id, orders[i].price, orders[i].qty);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (i + ZC_MATCH_AHEAD < n && orders[i + ZC_MATCH_AHEAD].symbol < e->nsym) {
            zc_mbook ahead = host_book(e, orders[i + ZC_MATCH_AHEAD].symbol);
            zc_mhint_bucket(&ahead, orders[i + ZC_MATCH_AHEAD].id);
        }
        size_t half = i + ZC_MATCH_AHEAD / 2;
        if (half < n && orders[half].symbol < e->nsym && orders[half].type >= ZC_ORDER_CANCEL) {
            zc_mbook ahead = host_book(e, orders[half].symbol);
            zc_mprefetch_slot(&ahead, orders[half].id);
        }
        const zc_order *src = &orders[i];
        zc_morder o;
        decode(&o, src, seq0 + i);
        if (!stage_reserve(e, used + 1, used))
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu events", used + 1);
        if (src->symbol >= e->nsym) {
            e->stage[used++] = (zc_mevent){o.seq, o.id, 0, o.price, o.qty, 0, src->symbol, ZC_REASON_UNKNOWN_SYMBOL,
                                           ZC_EVENT_REJECT, 0};
            continue;
        }
        zc_mbook b = host_book(e, src->symbol);
        /* At most one of kept[] holds work here. This symbol's is done
         * before its book is read; another symbol's waits for this order. */
        for (int k = 0; k < 2; k++)
            if (e->kept_sym[k] == src->symbol)
                kept_flush(e, k);
        int k = e->kept[0].erase.n || e->kept[0].unlink >= 0 ? 1 : 0;
        e->kept_sym[k] = src->symbol;
        b.defer = &e->kept[k];
        size_t room = e->stage_cap - used;
        if (room < 3 + (size_t)b.sym->count) {
            uint64_t need = zc_mbound(&b, &o);
            if (room < need && !stage_reserve(e, used + (size_t)need, used))
                return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu events", used + (size_t)need);
        }
        used += zc_match_order(&b, &o, e->stage + used);
        kept_flush(e, k ^ 1);
    }
    e->stage_used = used;
    return ZC_OK;
}

/* The staged events, packed into the sink. */
static zc_status emit_staged(zc_engine *e, ev_sink *sink, size_t *m)
{
    zc_event *dst;
    ZC_CHECK(sink_dest(e, sink, e->stage_used, &dst));
    for (size_t j = 0; j < e->stage_used; j++)
        pack(&dst[j], &e->stage[j]);
    *m = e->stage_used;
    return sink_finish(e, sink, e->stage_used);
}

/* Ingress of a batch (submit and submit_async alike): its sequence numbers
 * and its journal record, written before any matching. */
static zc_status ingress_batch(zc_engine *e, const zc_order *orders, size_t n, int journal, uint64_t *seq0)
{
    ZC_CHECK(check_usable(e));
    if (n >= UINT32_MAX)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a batch holds fewer than 2^32 orders, got %zu", n);
    *seq0 = e->next_seq;
    if (journal && e->journal) {
        uint8_t prefix[ZC_JREC_PREFIX] = {ZC_JREC_BATCH};
        uint64_t count = n;
        memcpy(prefix + 8, seq0, 8);
        memcpy(prefix + 16, &count, 8);
        ZC_CHECK(zc_journal_append(e->journal, prefix, sizeof prefix, orders, n * sizeof(zc_order)));
    }
    e->next_seq += n;
    e->batches++;
    return ZC_OK;
}

static zc_status submit_locked(zc_engine *e, const zc_order *orders, size_t n, int journal, ev_sink *sink, size_t *m)
{
    uint64_t seq0 = 0;
    ZC_CHECK(ingress_batch(e, orders, n, journal, &seq0));
    /* From here the batch is ingressed: it must be applied whole. */
    zc_status st;
    /* A single order never needs the pool: it skips grouping and merging
     * whatever the thread count. */
    if (e->on_host && n <= SEQUENTIAL_MAX && (!e->pool || n == 1)) {
        st = cpu_sequential(e, orders, n, seq0);
        if (st == ZC_OK)
            st = emit_staged(e, sink, m);
    } else {
        uint32_t nt = 0;
        st = partition(e, orders, n, seq0, &nt);
        if (st == ZC_OK && nt)
            st = e->on_host ? cpu_run(e, nt, cpu_match_range) : dev_run(e, nt, n, "zc_match_books", 0);
        if (st == ZC_OK)
            st = merge(e, orders, n, seq0, nt, sink, m);
    }
    if (st != ZC_OK && st != ZC_ERR_OUT_OF_RANGE)
        return fail(e, st);
    return st;
}

static zc_status check_engine(const zc_engine *e)
{
    if (!e)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "engine must not be NULL");
    return ZC_OK;
}

/* ---- asynchronous batches ---- */

/* The busy slot of the oldest outstanding batch, or NULL. */
static dev_slot *oldest_busy(zc_engine *e)
{
    dev_slot *a = &e->slot[0], *b = &e->slot[1];
    if (a->busy && b->busy)
        return a->ticket < b->ticket ? a : b;
    return a->busy ? a : b->busy ? b : NULL;
}

static done_batch *find_done(zc_engine *e, uint64_t ticket)
{
    for (size_t i = 0; i < e->ndone; i++)
        if (e->done[i].ticket == ticket)
            return &e->done[i];
    return NULL;
}

/* Completes the oldest outstanding batch: its events, or its error, are
 * kept for zc_engine_wait (submit_async reserved the entry). A failure stops
 * the engine, and the batches queued after a failed one are not applied:
 * their books are unknown. Returns the batch's status. */
static zc_status complete_oldest(zc_engine *e)
{
    dev_slot *s = oldest_busy(e);
    done_batch *d = &e->done[e->ndone++];
    memset(d, 0, sizeof *d);
    d->ticket = s->ticket;
    zc_status st;
    if (e->failed) {
        slot_release(e, s);
        st = ZC_ERR(ZC_ERR_STATE, "asynchronous batch %llu was not applied: the engine stopped after an error in "
                                  "an earlier call (%s); replay its journal",
                    (unsigned long long)s->ticket, e->failed_msg);
    } else {
        st = dev_finish(e, s);
        if (st == ZC_OK) {
            /* dev_finish sized the scratch arrays for the batch. */
            memcpy(e->otask, s->otask, s->n * sizeof *s->otask);
            ev_sink sink = {.array = &d->events};
            size_t m;
            st = merge(e, s->orders, s->n, s->seq0, s->nt, &sink, &m);
        }
        if (st != ZC_OK) {
            char why[ZC_TEXT_MAX];
            snprintf(why, sizeof why, "%s", zc_last_error());
            ZC_ERR(st, "asynchronous batch %llu (seq %llu to %llu) failed: %s", (unsigned long long)s->ticket,
                   (unsigned long long)s->seq0, (unsigned long long)(s->seq0 + s->n - 1), why);
            fail(e, st);
        }
    }
    if (st != ZC_OK) {
        zc_array_release(d->events);
        d->events = NULL;
        d->status = st;
        snprintf(d->message, sizeof d->message, "%s", zc_last_error());
    }
    return st;
}

/* Completes every outstanding batch, oldest first, up to the first that
 * fails (whose error is returned; the rest complete at the next drain). */
static zc_status drain(zc_engine *e)
{
    while (oldest_busy(e))
        ZC_CHECK(complete_oldest(e));
    return ZC_OK;
}

/* Synchronous calls first drain the asynchronous batches; a failure found
 * doing so has stopped the engine, which is what they report. */
static zc_status settle(zc_engine *e)
{
    return drain(e) == ZC_OK ? ZC_OK : check_usable(e);
}

static zc_status submit_async_locked(zc_engine *e, const zc_order *orders, size_t n, uint64_t *ticket)
{
    ZC_CHECK(check_usable(e));
    /* Room to keep this batch's result and those of the two in flight. */
    if (!reserve((void **)&e->done, &e->done_cap, e->ndone + 3, sizeof *e->done))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "asynchronous results");
    if (e->on_host) {
        done_batch *d = &e->done[e->ndone];
        memset(d, 0, sizeof *d);
        ev_sink sink = {.array = &d->events};
        size_t m;
        ZC_CHECK(submit_locked(e, orders, n, 1, &sink, &m));
        d->ticket = *ticket = e->batches;
        e->ndone++;
        return ZC_OK;
    }
    dev_slot *s = !e->slot[0].busy ? &e->slot[0] : !e->slot[1].busy ? &e->slot[1] : NULL;
    if (!s) {
        if (complete_oldest(e) != ZC_OK)
            return check_usable(e);
        s = !e->slot[0].busy ? &e->slot[0] : &e->slot[1];
    }
    uint64_t seq0 = 0;
    ZC_CHECK(ingress_batch(e, orders, n, 1, &seq0));
    /* From here the batch is ingressed: it must be applied whole. */
    uint32_t nt = 0;
    zc_status st = partition(e, orders, n, seq0, &nt);
    if (st == ZC_OK && nt) {
        /* The merge runs when the batch completes: it needs the orders and
         * their tasks after the caller's array and the scratch have moved on. */
        if (!reserve((void **)&s->orders, &s->orders_cap, n, sizeof *s->orders) ||
            !reserve((void **)&s->otask, &s->otask_cap, n, sizeof *s->otask))
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "batch of %zu orders", n);
        if (st == ZC_OK) {
            memcpy(s->orders, orders, n * sizeof *orders);
            memcpy(s->otask, e->otask, n * sizeof *s->otask);
            s->ticket = e->batches;
            s->seq0 = seq0;
            st = dev_enqueue(e, s, nt, n, "zc_match_books", 0);
        }
    } else if (st == ZC_OK) {
        /* Nothing for the device (no orders, or unknown symbols only). */
        done_batch *d = &e->done[e->ndone];
        memset(d, 0, sizeof *d);
        ev_sink sink = {.array = &d->events};
        size_t m;
        st = merge(e, orders, n, seq0, 0, &sink, &m);
        if (st == ZC_OK) {
            d->ticket = e->batches;
            e->ndone++;
        }
    }
    if (st != ZC_OK)
        return fail(e, st);
    *ticket = e->batches;
    return ZC_OK;
}

zc_status zc_engine_submit_async(zc_engine *e, const zc_order *orders, size_t n, uint64_t *ticket)
{
    ZC_CHECK(check_engine(e));
    if ((!orders && n) || !ticket)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "orders and ticket must not be NULL");
    *ticket = 0;
    pthread_mutex_lock(&e->lock);
    zc_status st = submit_async_locked(e, orders, n, ticket);
    pthread_mutex_unlock(&e->lock);
    return st;
}

zc_status zc_engine_wait(zc_engine *e, uint64_t ticket, zc_array **events)
{
    ZC_CHECK(check_engine(e));
    if (!events)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "events must not be NULL");
    *events = NULL;
    pthread_mutex_lock(&e->lock);
    done_batch *d;
    /* Batches complete in ticket order: the older ones first. */
    while (!(d = find_done(e, ticket)) && ((e->slot[0].busy && e->slot[0].ticket == ticket) ||
                                           (e->slot[1].busy && e->slot[1].ticket == ticket)))
        complete_oldest(e);
    zc_status st;
    if (!d) {
        st = ZC_ERR(ZC_ERR_NOT_FOUND, "ticket %llu is not an outstanding asynchronous batch of this engine "
                                      "(never issued, or already collected)",
                    (unsigned long long)ticket);
    } else {
        st = d->status;
        if (st == ZC_OK)
            *events = d->events;
        else
            ZC_ERR(st, "%s", d->message);
        *d = e->done[--e->ndone];
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* Asked for before the lock: the first order's hash bucket and symbol state,
 * which its matching reads first, so that these misses overlap the call
 * path. Their addresses depend only on what is fixed at creation: no book
 * state is read unlocked. */
static void hint_first(const zc_engine *e, const zc_order *orders, size_t n)
{
    if (n == 0 || !e->on_host || orders[0].symbol >= e->nsym)
        return;
    zc_mbook b = host_book(e, orders[0].symbol);
    zc_mhint_bucket(&b, orders[0].id);
    __builtin_prefetch(b.sym);
}

zc_status zc_engine_submit(zc_engine *e, const zc_order *orders, size_t n, zc_array **events)
{
    ZC_CHECK(check_engine(e));
    if ((!orders && n) || !events)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "orders and events must not be NULL");
    *events = NULL;
    ev_sink sink = {.array = events};
    size_t m;
    hint_first(e, orders, n);
    pthread_mutex_lock(&e->lock);
    zc_status st = settle(e);
    if (st == ZC_OK)
        st = submit_locked(e, orders, n, 1, &sink, &m);
    pthread_mutex_unlock(&e->lock);
    return st;
}

zc_status zc_engine_submit_into(zc_engine *e, const zc_order *orders, size_t n, zc_event *events, size_t cap,
                                size_t *m)
{
    ZC_CHECK(check_engine(e));
    if ((!orders && n) || (!events && cap) || !m)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "orders, events and m must not be NULL");
    ev_sink sink = {.buf = events, .cap = cap};
    hint_first(e, orders, n);
    pthread_mutex_lock(&e->lock);
    e->last.n = 0;
    zc_status st = settle(e);
    if (st == ZC_OK)
        st = submit_locked(e, orders, n, 1, &sink, m);
    pthread_mutex_unlock(&e->lock);
    return st;
}

zc_status zc_engine_last_events(zc_engine *e, const zc_event **events, size_t *m)
{
    ZC_CHECK(check_engine(e));
    if (!events || !m)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "events and m must not be NULL");
    pthread_mutex_lock(&e->lock);
    *events = e->last.data;
    *m = e->last.n;
    pthread_mutex_unlock(&e->lock);
    return ZC_OK;
}

/* ---- modes and auctions ---- */

static zc_status crossed(zc_engine *e, uint32_t s, int *out)
{
    zc_mbook b;
    if (e->on_host) {
        kept_flush_all(e);
        b = host_book(e, s);
    } else {
        /* Only the state and the two best levels are needed. */
        zc_msym sym;
        ZC_CHECK(zc_buf_read(e->dbook[B_SYMS], (size_t)s * sizeof sym, &sym, sizeof sym));
        *out = 0;
        if (!sym.nlev[0] || !sym.nlev[1])
            return ZC_OK;
        zc_mref bid, ask;
        size_t base = (size_t)s * zc_mside_stride(e->cap);
        ZC_CHECK(zc_buf_read(e->dbook[B_SIDES], (base + sym.nlev[0] - 1) * sizeof bid, &bid, sizeof bid));
        ZC_CHECK(zc_buf_read(e->dbook[B_SIDES], (base + zc_mask_offset(e->cap) + sym.nlev[1] - 1) * sizeof ask, &ask,
                             sizeof ask));
        *out = bid.key >= zc_mkey(ZC_M_SELL, ask.key);
        return ZC_OK;
    }
    *out = b.sym->nlev[0] && b.sym->nlev[1] &&
           b.bids[b.sym->nlev[0] - 1].key >= zc_mkey(ZC_M_SELL, b.asks[b.sym->nlev[1] - 1].key);
    return ZC_OK;
}

static zc_status set_mode_locked(zc_engine *e, uint32_t s, uint32_t mode, int journal)
{
    ZC_CHECK(check_usable(e));
    if (s >= e->nsym)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown symbol %u (%u symbols)", s, e->nsym);
    if (mode > ZC_MODE_AUCTION)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown mode %u", mode);
    if (e->mode[s] == mode)
        return ZC_OK;
    if (mode == ZC_MODE_CONTINUOUS) {
        int x;
        ZC_CHECK(crossed(e, s, &x));
        if (x)
            return ZC_ERR(ZC_ERR_STATE, "symbol %u: the auction book is crossed; uncross it first", s);
    }
    if (journal && e->journal) {
        uint8_t rec[ZC_JREC_PREFIX + 8] = {ZC_JREC_MODE};
        uint64_t count = 1;
        memcpy(rec + 8, &e->next_seq, 8);
        memcpy(rec + 16, &count, 8);
        put_u32(rec + 24, s);
        put_u32(rec + 28, mode);
        ZC_CHECK(zc_journal_append(e->journal, rec, sizeof rec, NULL, 0));
    }
    e->batches++;
    e->mode[s] = (uint8_t)mode;
    if (e->on_host) {
        ((zc_msym *)e->book[B_SYMS])[s].mode = mode;
        return ZC_OK;
    }
    zc_status st = zc_buf_write(e->dbook[B_SYMS], (size_t)s * sizeof(zc_msym) + offsetof(zc_msym, mode), &mode, 4);
    return st == ZC_OK ? ZC_OK : fail(e, st);
}

zc_status zc_engine_set_mode(zc_engine *e, uint32_t symbol, zc_book_mode mode)
{
    ZC_CHECK(check_engine(e));
    pthread_mutex_lock(&e->lock);
    zc_status st = settle(e);
    if (st == ZC_OK)
        st = set_mode_locked(e, symbol, (uint32_t)mode, 1);
    pthread_mutex_unlock(&e->lock);
    return st;
}

zc_status zc_engine_get_mode(zc_engine *e, uint32_t symbol, zc_book_mode *mode)
{
    ZC_CHECK(check_engine(e));
    if (!mode || symbol >= e->nsym)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown symbol %u (%u symbols)", symbol, e->nsym);
    pthread_mutex_lock(&e->lock);
    *mode = (zc_book_mode)e->mode[symbol];
    pthread_mutex_unlock(&e->lock);
    return ZC_OK;
}

static zc_status uncross_locked(zc_engine *e, const uint32_t *symbols, size_t k, int journal, ev_sink *sink,
                                size_t *m)
{
    ZC_CHECK(check_usable(e));
    if (k > e->nsym)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu symbols listed, the engine has %u", k, e->nsym);
    if (!reserve_tasks(e, k))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu auctions", k);
    uint64_t gen = ++e->gen;
    for (size_t t = 0; t < k; t++) {
        uint32_t s = symbols[t];
        if (s >= e->nsym)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown symbol %u (%u symbols)", s, e->nsym);
        if (e->stamp[s] == gen)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "symbol %u is listed twice", s);
        if (e->mode[s] != ZC_MODE_AUCTION)
            return ZC_ERR(ZC_ERR_STATE, "symbol %u is not in auction mode", s);
        e->stamp[s] = gen;
        memset(&e->tasks[t], 0, sizeof e->tasks[t]);
        e->tasks[t].symbol = s;
    }
    if (k == 0) {
        zc_event *none;
        *m = 0;
        return sink_dest(e, sink, 0, &none);
    }
    uint64_t seq = e->next_seq;
    if (journal && e->journal) {
        uint8_t prefix[ZC_JREC_PREFIX] = {ZC_JREC_UNCROSS};
        uint64_t count = k;
        memcpy(prefix + 8, &seq, 8);
        memcpy(prefix + 16, &count, 8);
        ZC_CHECK(zc_journal_append(e->journal, prefix, sizeof prefix, symbols, k * sizeof(uint32_t)));
    }
    e->next_seq++;
    e->batches++;
    zc_status st;
    if (e->on_host) {
        e->auction_seq = seq;
        st = cpu_run(e, (uint32_t)k, cpu_auction_range);
    } else {
        st = dev_run(e, (uint32_t)k, 0, "zc_auction_books", seq);
    }
    zc_event *dst = NULL;
    size_t total = 0;
    for (size_t t = 0; st == ZC_OK && t < k; t++)
        total += e->tasks[t].ev_used;
    if (st == ZC_OK)
        st = sink_dest(e, sink, total, &dst);
    for (size_t t = 0; st == ZC_OK && t < k; t++)
        for (uint64_t j = 0; j < e->tasks[t].ev_used; j++)
            pack(dst++, &e->tbase[t][j]);
    if (st == ZC_OK) {
        *m = total;
        st = sink_finish(e, sink, total);
    }
    if (st != ZC_OK && st != ZC_ERR_OUT_OF_RANGE)
        return fail(e, st);
    return st;
}

zc_status zc_engine_uncross(zc_engine *e, const uint32_t *symbols, size_t k, zc_array **events)
{
    ZC_CHECK(check_engine(e));
    if ((!symbols && k) || !events)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "symbols and events must not be NULL");
    *events = NULL;
    ev_sink sink = {.array = events};
    size_t m;
    pthread_mutex_lock(&e->lock);
    zc_status st = settle(e);
    if (st == ZC_OK)
        st = uncross_locked(e, symbols, k, 1, &sink, &m);
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* ---- views ---- */

static zc_status view_array(size_t count, size_t elem, zc_array **out, void **data)
{
    size_t shape[1] = {count * elem};
    ZC_CHECK(zc_array_new(ZC_DTYPE_U8, 1, shape, out));
    *data = zc_array_data(*out);
    return ZC_OK;
}

static zc_status depth_side(const zc_mbook *b, uint32_t side, size_t levels, zc_array **out)
{
    uint32_t n = b->sym->nlev[side];
    size_t k = levels < n ? levels : n;
    zc_depth_level *d;
    ZC_CHECK(view_array(k, sizeof *d, out, (void **)&d));
    const zc_mref *a = side == ZC_SIDE_BUY ? b->bids : b->asks;
    for (size_t i = 0; i < k; i++) {
        const zc_mlevel *l = &b->level[a[n - 1 - i].level];
        d[i].price = l->price;
        d[i].qty = l->qty;
        d[i].count = l->count;
    }
    return ZC_OK;
}

zc_status zc_engine_depth(zc_engine *e, uint32_t symbol, size_t levels, zc_array **bids, zc_array **asks)
{
    ZC_CHECK(check_engine(e));
    if (!bids || !asks)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "bids and asks must not be NULL");
    if (symbol >= e->nsym)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown symbol %u (%u symbols)", symbol, e->nsym);
    *bids = *asks = NULL;
    pthread_mutex_lock(&e->lock);
    zc_mbook b;
    zc_status st = settle(e);
    if (st == ZC_OK)
        st = view_book(e, symbol, &b);
    if (st == ZC_OK)
        st = depth_side(&b, ZC_SIDE_BUY, levels, bids);
    if (st == ZC_OK)
        st = depth_side(&b, ZC_SIDE_SELL, levels, asks);
    pthread_mutex_unlock(&e->lock);
    if (st != ZC_OK) {
        zc_array_release(*bids);
        *bids = NULL;
    }
    return st;
}

zc_status zc_engine_book(zc_engine *e, uint32_t symbol, zc_array **entries)
{
    ZC_CHECK(check_engine(e));
    if (!entries)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "entries must not be NULL");
    if (symbol >= e->nsym)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown symbol %u (%u symbols)", symbol, e->nsym);
    *entries = NULL;
    pthread_mutex_lock(&e->lock);
    zc_mbook b;
    zc_book_entry *d;
    zc_status st = settle(e);
    if (st == ZC_OK)
        st = view_book(e, symbol, &b);
    if (st == ZC_OK)
        st = view_array(b.sym->count, sizeof *d, entries, (void **)&d);
    for (uint32_t side = 0; st == ZC_OK && side < 2; side++) {
        const zc_mref *a = side == ZC_SIDE_BUY ? b.bids : b.asks;
        for (uint32_t k = b.sym->nlev[side]; k > 0; k--) {
            for (int32_t s = b.level[a[k - 1].level].head; s >= 0; s = b.slot[s].next) {
                const zc_mslot *o = &b.slot[s];
                d->id = o->id;
                d->trader = o->trader;
                d->slot = (uint32_t)s;
                d->side = o->side;
                d->tif = o->tif;
                d->stp = o->stp;
                d->price = o->price;
                d->qty = o->qty;
                d->seq = o->seq;
                d++;
            }
        }
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

zc_status zc_engine_sync(zc_engine *e)
{
    ZC_CHECK(check_engine(e));
    /* Synchronous calls finish their device work before returning; the
     * asynchronous batches complete here (their events wait for
     * zc_engine_wait), so views taken afterwards include them. */
    pthread_mutex_lock(&e->lock);
    zc_status st = drain(e);
    if (st == ZC_OK)
        st = check_usable(e);
    pthread_mutex_unlock(&e->lock);
    return st;
}

zc_status zc_engine_info_get(zc_engine *e, zc_engine_info *out)
{
    ZC_CHECK(check_engine(e));
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    pthread_mutex_lock(&e->lock);
    zc_status st = settle(e);
    if (st != ZC_OK) {
        pthread_mutex_unlock(&e->lock);
        return st;
    }
    out->symbols = e->nsym;
    out->capacity = e->cap;
    out->device = e->dev;
    out->threads = e->threads;
    out->next_seq = e->next_seq;
    out->batches = e->batches;
    kept_flush_all(e);
    out->resting = 0;
    for (uint32_t s = 0; s < e->nsym; s++)
        out->resting += e->on_host ? ((const zc_msym *)e->book[B_SYMS])[s].count : e->resting[s];
    pthread_mutex_unlock(&e->lock);
    return ZC_OK;
}

/* ---- state root ---- */

static void leaf_row(const zc_mslot *o, uint32_t symbol, uint32_t *row)
{
    memset(row, 0, ZC_BOOK_LEAF_ELEMS * sizeof *row);
    if (o->qty == 0)
        return;
    const uint64_t wide[4] = {(uint64_t)o->price, (uint64_t)o->qty, o->id, o->seq};
    row[0] = 1;
    row[1] = o->side;
    row[2] = o->tif | (uint32_t)o->stp << 8;
    row[3] = symbol & 0xFFFF;
    row[4] = symbol >> 16;
    row[5] = o->trader & 0xFFFF;
    row[6] = o->trader >> 16;
    for (int w = 0; w < 4; w++)
        for (int k = 0; k < 4; k++)
            row[7 + 4 * w + k] = (uint32_t)(wide[w] >> (16 * k)) & 0xFFFF;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Host arrays of the slots, dirty lists and states: the books themselves on
 * the cpu, copies read from the device otherwise (written back after). */
static zc_status root_arrays(zc_engine *e, void **arr)
{
    kept_flush_all(e);
    const int kinds[3] = {B_SLOTS, B_DIRTY, B_SYMS};
    for (int i = 0; i < 3; i++) {
        int k = kinds[i];
        if (e->on_host) {
            arr[k] = e->book[k];
            continue;
        }
        arr[k] = malloc(e->book_bytes[k] ? e->book_bytes[k] : 1);
        if (!arr[k])
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "state root staging");
        ZC_CHECK(zc_buf_read(e->dbook[k], 0, arr[k], e->book_bytes[k]));
    }
    return ZC_OK;
}

static zc_status update_root(zc_engine *e, void **arr)
{
    zc_mslot *slots = arr[B_SLOTS];
    int32_t *dirty = arr[B_DIRTY];
    zc_msym *syms = arr[B_SYMS];
    uint64_t leaves = (uint64_t)e->nsym * e->cap;
    int dev = e->dev;
    if (!e->tree) {
        /* calloc: rows of empty slots stay unmapped zero pages. */
        uint32_t *rows = calloc((size_t)leaves, ZC_BOOK_LEAF_ELEMS * sizeof *rows);
        if (!rows)
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%llu state-root leaves", (unsigned long long)leaves);
        for (uint64_t i = 0; i < leaves; i++)
            if (slots[i].qty)
                leaf_row(&slots[i], (uint32_t)(i / e->cap), rows + i * ZC_BOOK_LEAF_ELEMS);
        zc_status st = zc_merkle_build_rows(&dev, ZC_POSEIDON2_BABYBEAR_16, rows, (size_t)leaves,
                                            ZC_BOOK_LEAF_ELEMS, &e->tree);
        free(rows);
        ZC_CHECK(st);
        for (uint64_t i = 0; i < leaves; i++)
            slots[i].dirty = 0;
        for (uint32_t s = 0; s < e->nsym; s++)
            syms[s].ndirty = 0;
        return ZC_OK;
    }
    size_t k = 0;
    for (uint32_t s = 0; s < e->nsym; s++)
        k += syms[s].ndirty;
    if (k == 0)
        return ZC_OK;
    uint64_t *idx = malloc(k * sizeof *idx);
    uint32_t *rows = malloc(k * ZC_BOOK_LEAF_ELEMS * sizeof *rows);
    if (!idx || !rows) {
        free(idx);
        free(rows);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu changed state-root leaves", k);
    }
    size_t j = 0;
    for (uint32_t s = 0; s < e->nsym; s++) {
        int32_t *list = dirty + (size_t)s * e->cap;
        /* Leaves must be given in increasing order. */
        qsort(list, syms[s].ndirty, sizeof *list, cmp_i32);
        for (uint32_t d = 0; d < syms[s].ndirty; d++, j++) {
            uint64_t leaf = (uint64_t)s * e->cap + (uint32_t)list[d];
            zc_mslot *o = &slots[leaf];
            o->dirty = 0;
            idx[j] = leaf;
            leaf_row(o, s, rows + j * ZC_BOOK_LEAF_ELEMS);
        }
        syms[s].ndirty = 0;
    }
    zc_status st = zc_merkle_update_rows(&dev, e->tree, idx, k, rows);
    free(idx);
    free(rows);
    return st;
}

/* Device books once the tree exists: only the symbols' dirty lists and, per
 * symbol, the span of slots between its lowest and highest dirty slot cross
 * the bus (twice: read, then written back with the dirty marks cleared once
 * the tree has taken the new leaves), not the whole slot array. */
static zc_status update_root_spans(zc_engine *e)
{
    zc_msym *syms = malloc(e->book_bytes[B_SYMS]);
    uint64_t *span_at = malloc((size_t)e->nsym * sizeof *span_at);
    if (!syms || !span_at) {
        free(syms);
        free(span_at);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "state root staging");
    }
    int32_t *lists = NULL;
    zc_mslot *spans = NULL;
    uint64_t *idx = NULL;
    uint32_t *rows = NULL;
    size_t k = 0, nspan = 0;
    zc_status st = zc_buf_read(e->dbook[B_SYMS], 0, syms, e->book_bytes[B_SYMS]);
    for (uint32_t s = 0; st == ZC_OK && s < e->nsym; s++)
        k += syms[s].ndirty;
    if (st == ZC_OK && k == 0)
        goto done;
    if (st == ZC_OK) {
        lists = malloc(k * sizeof *lists);
        idx = malloc(k * sizeof *idx);
        rows = malloc(k * ZC_BOOK_LEAF_ELEMS * sizeof *rows);
        if (!lists || !idx || !rows)
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu changed state-root leaves", k);
    }
    /* Dirty lists, sorted (leaves go to the tree in increasing order). */
    for (uint32_t s = 0, at = 0; st == ZC_OK && s < e->nsym; at += syms[s].ndirty, s++) {
        uint32_t nd = syms[s].ndirty;
        span_at[s] = nspan;
        if (!nd)
            continue;
        int32_t *list = lists + at;
        st = zc_buf_read(e->dbook[B_DIRTY], (size_t)s * e->cap * sizeof *list, list, nd * sizeof *list);
        if (st == ZC_OK) {
            qsort(list, nd, sizeof *list, cmp_i32);
            nspan += (size_t)(list[nd - 1] - list[0]) + 1;
        }
    }
    if (st == ZC_OK && !(spans = malloc(nspan * sizeof *spans)))
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu state-root slots", nspan);
    for (uint32_t s = 0, at = 0; st == ZC_OK && s < e->nsym; at += syms[s].ndirty, s++) {
        uint32_t nd = syms[s].ndirty;
        if (!nd)
            continue;
        const int32_t *list = lists + at;
        zc_mslot *span = spans + span_at[s];
        size_t lo = (size_t)list[0], len = (size_t)(list[nd - 1] - list[0]) + 1;
        st = zc_buf_read(e->dbook[B_SLOTS], ((size_t)s * e->cap + lo) * sizeof *span, span, len * sizeof *span);
        for (uint32_t d = 0; st == ZC_OK && d < nd; d++) {
            zc_mslot *o = &span[(size_t)list[d] - lo];
            o->dirty = 0;
            idx[at + d] = (uint64_t)s * e->cap + (uint32_t)list[d];
            leaf_row(o, s, rows + (size_t)(at + d) * ZC_BOOK_LEAF_ELEMS);
        }
    }
    if (st == ZC_OK) {
        int dev = e->dev;
        st = zc_merkle_update_rows(&dev, e->tree, idx, k, rows);
    }
    /* The tree has the new leaves: from here a failed write leaves the
     * device's dirty marks out of step with it. */
    for (uint32_t s = 0, at = 0; st == ZC_OK && s < e->nsym; at += syms[s].ndirty, s++) {
        uint32_t nd = syms[s].ndirty;
        if (!nd)
            continue;
        size_t lo = (size_t)lists[at], len = (size_t)(lists[at + nd - 1] - lists[at]) + 1;
        st = zc_buf_write(e->dbook[B_SLOTS], ((size_t)s * e->cap + lo) * sizeof *spans, spans + span_at[s],
                          len * sizeof *spans);
        if (st != ZC_OK)
            fail(e, st);
    }
    for (uint32_t s = 0; st == ZC_OK && s < e->nsym; s++)
        syms[s].ndirty = 0;
    if (st == ZC_OK && (st = zc_buf_write(e->dbook[B_SYMS], 0, syms, e->book_bytes[B_SYMS])) != ZC_OK)
        fail(e, st);
done:
    free(syms);
    free(span_at);
    free(lists);
    free(spans);
    free(idx);
    free(rows);
    return st;
}

zc_status zc_engine_state_root(zc_engine *e, uint8_t root[32])
{
    ZC_CHECK(check_engine(e));
    if (!root)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "root must not be NULL");
    pthread_mutex_lock(&e->lock);
    void *arr[B_COUNT] = {0};
    zc_status st = settle(e);
    if (st == ZC_OK)
        st = check_usable(e);
    int spans = st == ZC_OK && !e->on_host && e->tree;
    if (spans)
        st = update_root_spans(e);
    if (st == ZC_OK && !spans)
        st = root_arrays(e, arr);
    if (st == ZC_OK && !spans)
        st = update_root(e, arr);
    if (st == ZC_OK && !e->on_host && !spans) {
        /* Cleared dirty marks go back to the device. */
        st = zc_buf_write(e->dbook[B_SLOTS], 0, arr[B_SLOTS], e->book_bytes[B_SLOTS]);
        if (st == ZC_OK)
            st = zc_buf_write(e->dbook[B_SYMS], 0, arr[B_SYMS], e->book_bytes[B_SYMS]);
        if (st != ZC_OK)
            fail(e, st);
    }
    if (st == ZC_OK)
        zc_merkle_root(e->tree, root);
    if (!e->on_host)
        for (int k = 0; k < B_COUNT; k++)
            free(arr[k]);
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* ---- lifetime ---- */

void zc_engine_destroy(zc_engine *e)
{
    if (!e)
        return;
    /* The device may still be using the slots' memory. */
    for (int k = 0; k < 2; k++)
        slot_free(e, &e->slot[k]);
    zc_devbuf *shared[] = {e->d_orders, e->d_tasks, e->d_ev, e->d_evcount, e->d_total, e->d_scratch};
    for (size_t i = 0; i < sizeof shared / sizeof *shared; i++)
        zc_buf_free(shared[i]);
    for (size_t i = 0; i < e->ndone; i++)
        zc_array_release(e->done[i].events);
    free(e->done);
    free(e->pending);
    zc_journal_close(e->journal);
    zc_merkle_free(e->tree);
    zc_threadpool_destroy(e->pool);
    for (int k = 0; k < B_COUNT; k++) {
        if (e->book_map[k])
            munmap(e->book_map[k], e->book_map_len[k]);
        else if (e->on_host)
            free(e->book[k]);
        zc_buf_free(e->dbook[k]);
        free(e->view[k]);
    }
    if (e->sev)
        for (uint32_t s = 0; s < e->nsym; s++)
            free(e->sev[s]);
    free(e->sev);
    free(e->sev_cap);
    free(e->dense);
    free(e->sorted);
    free(e->otask);
    free(e->evcount);
    free(e->tasks);
    free(e->tbase);
    free(e->ccur);
    free(e->task_of);
    free(e->stamp);
    free(e->mode);
    free(e->resting);
    free(e->symcfg);
    free(e->last.data);
    if (e->stage_map)
        munmap(e->stage_map, e->stage_map_len);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* An engine from a config, without journal. */
static zc_status create_bare(const zc_engine_config *cfg, zc_engine **out)
{
    if (!cfg || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "config and out must not be NULL");
    if (cfg->symbols == 0 || cfg->capacity == 0 || cfg->capacity > ZC_BOOK_MAX_CAPACITY)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "need symbols >= 1 and capacity in [1, %u], got %u and %u",
                      ZC_BOOK_MAX_CAPACITY, cfg->symbols, cfg->capacity);
    if (cfg->threads < 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "threads must be >= 0, got %d", cfg->threads);
    int dev;
    ZC_CHECK(zc_device_find(cfg->device ? cfg->device : "auto", &dev));
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(dev, &info));
    if (!info.available)
        return ZC_ERR(ZC_ERR_BACKEND_UNAVAILABLE, "device %d (%s) is unavailable: %s", dev, info.name, info.reason);
    zc_engine *e = calloc(1, sizeof *e);
    if (!e)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "engine");
    pthread_mutex_init(&e->lock, NULL);
    e->nsym = cfg->symbols;
    e->cap = cfg->capacity;
    e->hsize = 1;
    while (e->hsize < 2 * e->cap)
        e->hsize <<= 1;
    e->dev = dev;
    e->on_host = info.backend == ZC_BACKEND_CPU;
    e->kept[0].unlink = e->kept[1].unlink = -1;
    e->prefault = cfg->prefault;
    e->next_seq = 1;
    uint64_t seed = cfg->hash_seed;
    if (seed == 0 && getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)e;
    e->k0 = splitmix(&seed);
    e->k1 = splitmix(&seed);
    zc_status st = ZC_OK;
    e->symcfg = calloc(e->nsym, sizeof *e->symcfg);
    e->mode = calloc(e->nsym, 1);
    e->resting = calloc(e->nsym, sizeof *e->resting);
    e->task_of = calloc(e->nsym, sizeof *e->task_of);
    e->stamp = calloc(e->nsym, sizeof *e->stamp);
    if (e->on_host) {
        e->sev = calloc(e->nsym, sizeof *e->sev);
        e->sev_cap = calloc(e->nsym, sizeof *e->sev_cap);
    }
    if (!e->symcfg || !e->mode || !e->resting || !e->task_of || !e->stamp || (e->on_host && (!e->sev || !e->sev_cap)))
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "engine of %u symbols", e->nsym);
    for (uint32_t s = 0; st == ZC_OK && s < e->nsym; s++)
        st = resolve_symbol(cfg->per_symbol ? &cfg->per_symbol[s] : &cfg->defaults, s, &e->symcfg[s]);
    e->threads = 1;
    if (st == ZC_OK && e->on_host) {
        e->threads = cfg->threads ? cfg->threads : (int)(info.threads ? info.threads : 1);
        if (e->threads > 1)
            st = zc_threadpool_create(e->threads, &e->pool);
    }
    if (st == ZC_OK)
        st = alloc_books(e);
    if (st != ZC_OK) {
        zc_engine_destroy(e);
        return st;
    }
    *out = e;
    return ZC_OK;
}

typedef struct replay_ctx {
    zc_engine *e;
    ev_vec *vec;
} replay_ctx;

/* Applies one journal record (see book_internal.h for payloads). */
static zc_status apply_record(void *ctx, const uint8_t *p, size_t len)
{
    replay_ctx *r = ctx;
    zc_engine *e = r->e;
    uint64_t seq, count;
    memcpy(&seq, p + 8, 8);
    memcpy(&count, p + 16, 8);
    if (seq != e->next_seq)
        return ZC_ERR(ZC_ERR_IO, "journal record %llu starts at seq %llu, expected %llu",
                      (unsigned long long)e->batches, (unsigned long long)seq, (unsigned long long)e->next_seq);
    ev_vec scratch = {0};
    ev_sink sink = {.vec = r->vec ? r->vec : &scratch};
    size_t m;
    zc_status st;
    const uint8_t *body = p + ZC_JREC_PREFIX;
    size_t blen = len - ZC_JREC_PREFIX;
    if (p[0] == ZC_JREC_BATCH && count <= blen / sizeof(zc_order) && blen == count * sizeof(zc_order))
        st = submit_locked(e, (const zc_order *)body, (size_t)count, 0, &sink, &m);
    else if (p[0] == ZC_JREC_MODE && count == 1 && blen == 8)
        st = set_mode_locked(e, get_u32(body), get_u32(body + 4), 0);
    else if (p[0] == ZC_JREC_UNCROSS && count <= blen / 4 && blen == count * 4)
        st = uncross_locked(e, (const uint32_t *)body, (size_t)count, 0, &sink, &m);
    else
        st = ZC_ERR(ZC_ERR_IO, "journal record %llu: unknown type %u or bad length %zu",
                    (unsigned long long)e->batches, p[0], len);
    free(scratch.data);
    return st;
}

static int file_has_data(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

static zc_status read_config(const char *path, zc_engine_config *cfg, zc_symbol_config **syms)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    zc_status st = zc_journal_read_config(path, &bytes, &len);
    if (st == ZC_OK)
        st = config_decode(path, bytes, len, cfg, syms);
    free(bytes);
    return st;
}

zc_status zc_engine_create(const zc_engine_config *cfg, zc_engine **out)
{
    if (!cfg || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "config and out must not be NULL");
    *out = NULL;
    zc_engine *e;
    ZC_CHECK(create_bare(cfg, &e));
    if (!cfg->journal) {
        *out = e;
        return ZC_OK;
    }
    size_t len;
    uint8_t *bytes = config_encode(e, &len);
    zc_status st = bytes ? ZC_OK : ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "journal config");
    zc_journal_info info;
    int existing = st == ZC_OK && file_has_data(cfg->journal);
    if (existing) {
        uint8_t *have = NULL;
        size_t hlen = 0;
        replay_ctx r = {e, NULL};
        st = zc_journal_scan(cfg->journal, 1, &info, &have, &hlen, apply_record, &r);
        if (st == ZC_OK && (hlen != len || memcmp(have, bytes, len) != 0))
            st = ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "journal %s was written by an engine with another config",
                        cfg->journal);
        free(have);
    }
    if (st == ZC_OK)
        st = zc_journal_open(cfg->journal, bytes, len, existing ? &info : NULL, cfg->fsync, cfg->fsync_every,
                             &e->journal);
    free(bytes);
    if (st != ZC_OK) {
        zc_engine_destroy(e);
        return st;
    }
    *out = e;
    return ZC_OK;
}

zc_status zc_engine_replay(const char *path, const zc_engine_config *run, zc_engine **out, zc_array **events)
{
    if (!path || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "path and out must not be NULL");
    *out = NULL;
    if (events)
        *events = NULL;
    zc_engine_config cfg;
    zc_symbol_config *syms = NULL;
    ZC_CHECK(read_config(path, &cfg, &syms));
    if (run) {
        cfg.device = run->device;
        cfg.threads = run->threads;
        cfg.hash_seed = run->hash_seed;
    }
    zc_engine *e;
    zc_status st = create_bare(&cfg, &e);
    free(syms);
    ZC_CHECK(st);
    ev_vec vec = {0};
    replay_ctx r = {e, events ? &vec : NULL};
    zc_journal_info info;
    st = zc_journal_scan(path, 0, &info, NULL, NULL, apply_record, &r);
    if (st == ZC_OK && events) {
        zc_event *dst;
        st = view_array(vec.n, sizeof *dst, events, (void **)&dst);
        if (st == ZC_OK && vec.n)
            memcpy(dst, vec.data, vec.n * sizeof *dst);
    }
    free(vec.data);
    if (st != ZC_OK) {
        zc_engine_destroy(e);
        return st;
    }
    *out = e;
    return ZC_OK;
}
