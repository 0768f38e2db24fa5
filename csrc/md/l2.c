/* L2 book processing: per-symbol depth from interleaved L2 messages or from
 * the matching engine's events, sequence checking with bounded reordering,
 * crossed-book flags, top-of-book rows and depth metrics. The rules are
 * documented in zkclob/md.h. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "l2_internal.h"

#include "../backends/backend.h"
#include "../core/internal.h"
#include "zkclob/book.h"
#include "zkclob/device.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define STREAM_QUOTES 1
#else
#define STREAM_QUOTES 0
#endif

_Static_assert(sizeof(zc_l2_msg) == 48 && sizeof(zc_l2_quote) == 80 && sizeof(zc_l2_event) == 40,
               "record layouts are the NumPy dtypes of zkclob.md");

/* Messages ahead whose symbol state and levels are prefetched: the books of
 * many symbols do not fit in L2, and overlapping their misses is worth more
 * than anything else in the loop. */
#define PREFETCH_AHEAD 8
/* Symbols whose level counts (2 x int64) share a cache line. */
#define SYMS_PER_LINE 4
/* Calls with fewer messages run on one worker: a partitioned call reads
 * the messages once more and pays two launches. */
#define PARALLEL_MIN 4096
/* Messages a check chunk covers at least. */
#define CHECK_CHUNK 16384
#define DEFAULT_LEVELS 128
#define DEFAULT_EVENTS 256

static double nan_value(void) { return (double)NAN; }

static int is_finite(double x) { return x - x == 0.0; }

/* ---- per symbol state ---- */

static double *side_levels(zc_l2 *b, uint32_t s, int side)
{
    return b->lv + ((size_t)s * 2 + (size_t)side) * b->cap * ZC_L2_LEVEL;
}

/* Publishes a side's level count in the counts array after it changed. */
static void count_changed(zc_l2 *b, uint32_t s, int side) { b->cnt[(size_t)s * 2 + (size_t)side] = b->sym[s].n[side]; }

static void record(zc_l2 *b, uint32_t s, zc_l2_event_kind kind, uint64_t index, uint64_t seq, uint64_t ts,
                   uint64_t expected)
{
    l2_sym *y = &b->sym[s];
    if (y->nev == b->evcap) {
        y->c.events_lost++;
        return;
    }
    zc_l2_event *e = &b->ev[(size_t)s * b->evcap + y->nev++];
    e->index = index;
    e->seq = seq;
    e->ts = ts;
    e->expected = expected;
    e->symbol = s;
    e->kind = (uint32_t)kind;
}

/* Recomputes the cached top after a best level changed, and reports
 * entering or leaving the crossed state. An empty side's NaN compares false,
 * so a book is crossed only with both sides present. */
static void top_changed(zc_l2 *b, uint32_t s, uint64_t index, uint64_t seq, uint64_t ts)
{
    l2_sym *y = &b->sym[s];
    y->top = zc_l2_top(side_levels(b, s, ZC_L2_BID), y->n[ZC_L2_BID], side_levels(b, s, ZC_L2_ASK), y->n[ZC_L2_ASK],
                       nan_value());
    uint8_t crossed = y->top.bid >= y->top.ask;
    if (crossed != y->crossed) {
        y->crossed = crossed;
        if (crossed)
            y->c.crossed++;
        record(b, s, crossed ? ZC_L2_EV_CROSSED : ZC_L2_EV_UNCROSSED, index, seq, ts, 0);
    }
}

/* Applies one level message; `cleared` says the book was just cleared, which
 * changes the top even when the message itself leaves it empty. */
static inline void set_level(zc_l2 *b, uint32_t s, const zc_l2_msg *m, uint64_t index, int cleared)
{
    int side = m->side;
    l2_sym *y = &b->sym[s];
    int64_t n = y->n[side];
    int r = zc_l2_set_level(side_levels(b, s, side), &y->n[side], b->cap, side, m->price, m->size,
                            (double)m->orders);
    if (y->n[side] != n)
        count_changed(b, s, side);
    if (r & ZC_L2_SET_OVERFLOW) {
        y->c.overflow++;
        record(b, s, ZC_L2_EV_OVERFLOW, index, m->seq, m->ts, 0);
    }
    y->applied++;
    if ((r & ZC_L2_SET_TOP) || cleared)
        top_changed(b, s, index, m->seq, m->ts);
}

static void clear_book(zc_l2 *b, uint32_t s)
{
    for (int side = 0; side < 2; side++) {
        b->sym[s].n[side] = 0;
        count_changed(b, s, side);
    }
}

/* Applies held messages that are now next in sequence. */
static void drain_held(zc_l2 *b, uint32_t s, uint64_t index)
{
    l2_sym *y = &b->sym[s];
    zc_l2_msg *h = b->held + (size_t)s * b->window;
    int32_t used = 0;
    while (used < y->held && h[used].seq == y->last_seq + 1) {
        set_level(b, s, &h[used], index, 0);
        y->last_seq = h[used].seq;
        y->c.reordered++;
        record(b, s, ZC_L2_EV_REORDERED, index, h[used].seq, h[used].ts, 0);
        used++;
    }
    if (used) {
        memmove(h, h + used, (size_t)(y->held - used) * sizeof *h);
        y->held -= used;
    }
}

/* Holds an early message in seq order; 0 when it is already held. */
static int hold(zc_l2 *b, uint32_t s, const zc_l2_msg *m)
{
    l2_sym *y = &b->sym[s];
    zc_l2_msg *h = b->held + (size_t)s * b->window;
    int32_t i = 0;
    while (i < y->held && h[i].seq < m->seq)
        i++;
    if (i < y->held && h[i].seq == m->seq)
        return 0;
    memmove(h + i + 1, h + i, (size_t)(y->held - i) * sizeof *h);
    h[i] = *m;
    y->held++;
    return 1;
}

/* One message of symbol s by the documented rules; returns the quote flags
 * it earned. */
__attribute__((noinline)) static uint32_t process_any(zc_l2 *b, uint32_t s, const zc_l2_msg *m, uint64_t index)
{
    l2_sym *y = &b->sym[s];
    if (m->side > ZC_L2_ASK || m->action > ZC_L2_SNAPSHOT || !is_finite(m->price) || !is_finite(m->size) ||
        m->size < 0.0) {
        y->c.bad++;
        record(b, s, ZC_L2_EV_BAD, index, m->seq, m->ts, 0);
        return ZC_L2_F_DROPPED;
    }
    if (y->has_ts && m->ts < y->last_ts) {
        y->c.ts_backwards++;
        record(b, s, ZC_L2_EV_TS_BACKWARDS, index, m->seq, m->ts, 0);
    }
    y->has_ts = 1;
    y->last_ts = m->ts;

    if (m->action == ZC_L2_SNAPSHOT) {
        int same = y->has_snap && m->seq == y->snap_seq && y->has_seq && y->last_seq == m->seq;
        if (!same) {
            clear_book(b, s);
            if (y->stale)
                record(b, s, ZC_L2_EV_RESYNC, index, m->seq, m->ts, 0);
            y->stale = 0;
            y->held = 0;
            y->has_snap = 1;
            y->snap_seq = m->seq;
            y->c.snapshots++;
        }
        y->has_seq = 1;
        y->last_seq = m->seq;
        set_level(b, s, m, index, !same);
        return ZC_L2_F_APPLIED;
    }
    if (y->stale) {
        y->c.dropped_stale++;
        return ZC_L2_F_DROPPED;
    }
    if (!y->has_seq || m->seq == y->last_seq + 1) {
        y->has_seq = 1;
        y->last_seq = m->seq;
        set_level(b, s, m, index, 0);
        if (y->held)
            drain_held(b, s, index);
        return ZC_L2_F_APPLIED;
    }
    uint64_t expected = y->last_seq + 1;
    if (m->seq <= y->last_seq) {
        int dup = m->seq == y->last_seq;
        if (dup)
            y->c.duplicates++;
        else
            y->c.out_of_order++;
        record(b, s, dup ? ZC_L2_EV_DUPLICATE : ZC_L2_EV_OUT_OF_ORDER, index, m->seq, m->ts, expected);
        return ZC_L2_F_DROPPED;
    }
    if (m->seq - expected <= b->window && y->held < (int32_t)b->window) {
        if (hold(b, s, m))
            return ZC_L2_F_HELD;
        y->c.duplicates++;
        record(b, s, ZC_L2_EV_DUPLICATE, index, m->seq, m->ts, expected);
        return ZC_L2_F_DROPPED;
    }
    y->c.gaps++;
    y->stale = 1;
    y->held = 0;
    record(b, s, ZC_L2_EV_GAP, index, m->seq, m->ts, expected);
    return ZC_L2_F_DROPPED;
}

_Static_assert(offsetof(zc_l2_msg, action) == offsetof(zc_l2_msg, side) + 1 && ZC_L2_DELTA == 0,
               "side and action are adjacent bytes");
_Static_assert(offsetof(l2_sym, has_seq) == offsetof(l2_sym, held) + 4 &&
                   offsetof(l2_sym, has_ts) == offsetof(l2_sym, held) + 5 &&
                   offsetof(l2_sym, stale) == offsetof(l2_sym, held) + 6,
               "held and the sequencing flags share a word");
/* The fast path's tests on whole words: (side, action) is (0 or 1, delta),
 * and (held, has_seq, has_ts, stale) is (0, 1, 1, 0); the flags hold 0 or 1. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FAST_KIND_MASK 0xfffeu
#define FAST_STATE_MASK 0x00ffffffffffffffull
#define FAST_STATE 0x0000010100000000ull
#else
#define FAST_KIND_MASK 0xfeffu
#define FAST_STATE_MASK 0xffffffffffffff00ull
#define FAST_STATE 0x0000000001010000ull
#endif

/* process_any, with inline handling of the message that makes up nearly
 * every call: a valid delta next in sequence, nothing held, the book not
 * stale and time not going backwards (no event and no held message to
 * apply, so the rules reduce to setting the level). */
static inline uint32_t process(zc_l2 *b, uint32_t s, const zc_l2_msg *m, uint64_t index)
{
    l2_sym *y = &b->sym[s];
    /* Fewer tests than field by field (this runs for every message); a
     * non-finite price or size makes the sum NaN. */
    uint16_t kind;
    uint64_t state;
    memcpy(&kind, &m->side, sizeof kind);
    memcpy(&state, (const char *)y + offsetof(l2_sym, held), sizeof state);
    int valid = ((kind & FAST_KIND_MASK) == 0) & ((m->price - m->price) + (m->size - m->size) == 0.0) &
                (m->size >= 0.0);
    int next = ((state & FAST_STATE_MASK) == FAST_STATE) & (m->seq == y->last_seq + 1) & (m->ts >= y->last_ts);
    if (__builtin_expect(valid & next, 1)) {
        y->last_seq = m->seq;
        y->last_ts = m->ts;
        set_level(b, s, m, index, 0);
        return ZC_L2_F_APPLIED;
    }
    return process_any(b, s, m, index);
}

static void write_quote(const zc_l2 *b, uint32_t s, uint64_t ts, uint32_t flags, zc_l2_quote *q)
{
    const l2_sym *y = &b->sym[s];
    q->ts = ts;
    q->symbol = s;
    q->flags = flags | (y->stale ? ZC_L2_F_STALE : 0u) | (y->crossed ? ZC_L2_F_CROSSED : 0u);
    q->bid = y->top.bid;
    q->bid_size = y->top.bid_size;
    q->ask = y->top.ask;
    q->ask_size = y->top.ask_size;
    q->mid = y->top.mid;
    q->spread = y->top.spread;
    q->microprice = y->top.microprice;
    q->imbalance = y->top.imbalance;
}

static void write_topk(zc_l2 *b, uint32_t s, uint32_t k, double *row)
{
    for (int side = 0; side < 2; side++) {
        const double *lv = side_levels(b, s, side);
        int64_t n = b->sym[s].n[side];
        for (uint32_t i = 0; i < k; i++) {
            double *out = row + ((size_t)side * k + i) * 2;
            out[0] = (int64_t)i < n ? lv[ZC_L2_LEVEL * i] : nan_value();
            out[1] = (int64_t)i < n ? lv[ZC_L2_LEVEL * i + 1] : nan_value();
        }
    }
}

/* Prefetches, for writing, what applying message f will touch: its
 * symbol's state and the levels zc_l2_find reads at once. Always inlined:
 * GCC 12 dropped every call of it otherwise (a function that only
 * prefetches looks free of effects to it). */
__attribute__((always_inline)) static inline void prefetch_msg(zc_l2 *b, const zc_l2_msg *f, size_t block)
{
    const char *y = (const char *)&b->sym[f->symbol];
    __builtin_prefetch(y, 1);
    __builtin_prefetch(y + 64, 1);
    const char *lv = (const char *)side_levels(b, f->symbol, f->side & 1);
    /* The usual full block as straight-line code. */
    if (block == ZC_L2_FIND_BLOCK * ZC_L2_LEVEL * sizeof(double)) {
        for (size_t at = 0; at < ZC_L2_FIND_BLOCK * ZC_L2_LEVEL * sizeof(double); at += 64)
            __builtin_prefetch(lv + at, 1);
        return;
    }
    for (size_t at = 0; at < block; at += 64)
        __builtin_prefetch(lv + at, 1);
}

static inline void apply_msg(zc_l2 *b, const l2_job *job, size_t i)
{
    const zc_l2_msg *m = &job->msgs[i];
    uint32_t s = m->symbol;
    uint32_t flags = process(b, s, m, i);
    if (job->quotes)
        write_quote(b, s, m->ts, flags, &job->quotes[i]);
    if (job->topk)
        write_topk(b, s, job->k, job->topk + i * 4 * job->k);
}

/* Message indices a worker decodes from part[] at a time. */
#define WALK_BLOCK 512
/* How far ahead a worker prefetches its message records: it reads them
 * with gaps (the other workers' messages), which the hardware prefetcher
 * does not follow, and prefetch_msg needs them PREFETCH_AHEAD ahead. */
#define RECORD_AHEAD (4 * PREFETCH_AHEAD)

/* Applies the messages of worker w in arrival order. Their indices are
 * decoded from part[] a block at a time (branch free: the workers of
 * neighbouring messages are random), RECORD_AHEAD of them ahead at least. */
static void apply_worker(zc_l2 *b, const l2_job *job, uint8_t w, size_t block)
{
    size_t ix[WALK_BLOCK], at = 0, have = 0, scan = 0;
    for (;;) {
        if (have - at <= RECORD_AHEAD && scan < job->n) {
            memmove(ix, ix + at, (have - at) * sizeof *ix);
            have -= at;
            at = 0;
            size_t end = scan + (WALK_BLOCK - RECORD_AHEAD - 1);
            if (end > job->n)
                end = job->n;
            for (; scan < end; scan++) {
                ix[have] = scan;
                have += job->part[scan] == w;
            }
            continue;
        }
        if (at == have)
            return;
        if (at + RECORD_AHEAD < have) {
            /* Both lines a 48-byte record may span. */
            const char *r = (const char *)&job->msgs[ix[at + RECORD_AHEAD]];
            __builtin_prefetch(r);
            __builtin_prefetch(r + sizeof(zc_l2_msg) - 1);
        }
        if (at + PREFETCH_AHEAD < have)
            prefetch_msg(b, &job->msgs[ix[at + PREFETCH_AHEAD]], block);
        apply_msg(b, job, ix[at++]);
    }
}

/* How far ahead the checked pass prefetches its quote rows (for writing)
 * and message records: with the hardware prefetcher alone it waited on both
 * streams whenever other jobs loaded the memory system (4 to 7% slower in
 * alternated comparisons). */
#define QUOTE_AHEAD 24
#define STREAM_AHEAD 40

/* Calls with at least this many quote rows (20 MiB) write them with
 * non-temporal stores: rows that would not stay in the caches anyway then
 * cost no read of their lines before the write (3 to 6% faster than cached
 * stores in alternated comparisons; storing field by field, or rows staged
 * in memory, was slower). */
#define STREAM_ROWS_MIN ((size_t)1 << 18)

_Static_assert(offsetof(zc_l2_quote, bid) == 16 && sizeof(zc_l1) == 64 && offsetof(l2_sym, top) == 0,
               "a quote row is (ts, symbol, flags) and the cached top of its symbol");

#if STREAM_QUOTES
/* write_quote as five 16-byte non-temporal stores from registers (q is
 * 16-byte aligned). */
static inline void stream_quote(const zc_l2 *b, uint32_t s, uint64_t ts, uint32_t flags, zc_l2_quote *q)
{
    const l2_sym *y = &b->sym[s];
    flags |= (y->stale ? ZC_L2_F_STALE : 0u) | (y->crossed ? ZC_L2_F_CROSSED : 0u);
    const __m128i *top = (const __m128i *)&y->top;
    __m128i *d = (__m128i *)q;
    _mm_stream_si128(d, _mm_set_epi64x((long long)((uint64_t)flags << 32 | s), (long long)ts));
    for (int k = 0; k < 4; k++)
        _mm_stream_si128(d + 1 + k, _mm_load_si128(top + k));
}
#endif

/* First message in [lo, hi) with an unknown symbol, or SIZE_MAX. */
static size_t first_bad(const zc_l2 *b, const zc_l2_msg *m, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++)
        if (m[i].symbol >= b->nsym)
            return i;
    return SIZE_MAX;
}

/* The error of a call whose first unknown symbol is at message i. */
static zc_status bad_symbol(const zc_l2 *b, const zc_l2_msg *m, size_t i)
{
    return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "message %zu: symbol %u is not below %u", i, m[i].symbol, b->nsym);
}

/* The single pass with the symbol check folded in: the input is read once
 * instead of twice (a check of the whole call before the pass costs about
 * a tenth of the call in reading the records). Each symbol is checked where
 * the pass reads it to prefetch for its message, PREFETCH_AHEAD messages
 * ahead, so the first bad one is found before anything touches its symbol;
 * the pass stops there and the caller restores the state it saved. */
static void apply_checked(zc_l2 *b, l2_job *job, size_t block)
{
    size_t n = job->n, i = 0;
    job->bad_at = first_bad(b, job->msgs, 0, n < PREFETCH_AHEAD ? n : PREFETCH_AHEAD);
    if (job->bad_at != SIZE_MAX)
        return;
    int stream = STREAM_QUOTES && job->quotes && n >= STREAM_ROWS_MIN && (uintptr_t)job->quotes % 16 == 0;
    /* Up to n - STREAM_AHEAD every prefetch stays inside its array; without
     * quotes to prefetch the row prefetch reads the records again (no
     * branch). */
    size_t steady = n > STREAM_AHEAD ? n - STREAM_AHEAD : 0;
    const char *row = job->quotes && !stream ? (const char *)(job->quotes + QUOTE_AHEAD) : (const char *)job->msgs;
    size_t row_step = job->quotes && !stream ? sizeof *job->quotes : 0;
    for (; i < steady; i++) {
        const zc_l2_msg *f = &job->msgs[i + PREFETCH_AHEAD];
        if (__builtin_expect(f->symbol >= b->nsym, 0)) {
            job->bad_at = i + PREFETCH_AHEAD;
            break;
        }
        prefetch_msg(b, f, block);
        __builtin_prefetch(row + i * row_step, 1);
        __builtin_prefetch(&job->msgs[i + STREAM_AHEAD]);
#if STREAM_QUOTES
        if (stream) {
            const zc_l2_msg *m = &job->msgs[i];
            stream_quote(b, m->symbol, m->ts, process(b, m->symbol, m, i), &job->quotes[i]);
            if (job->topk)
                write_topk(b, m->symbol, job->k, job->topk + i * 4 * job->k);
            continue;
        }
#endif
        apply_msg(b, job, i);
    }
#if STREAM_QUOTES
    /* The rows are visible to other threads once the call returns. */
    if (stream)
        _mm_sfence();
#endif
    if (job->bad_at != SIZE_MAX)
        return;
    for (; i < n; i++) {
        if (i + PREFETCH_AHEAD < n) {
            const zc_l2_msg *f = &job->msgs[i + PREFETCH_AHEAD];
            if (f->symbol >= b->nsym) {
                job->bad_at = i + PREFETCH_AHEAD;
                return;
            }
            prefetch_msg(b, f, block);
        }
        apply_msg(b, job, i);
    }
}

/* Checks the symbols of chunk c and records each message's worker. */
static void check_chunk(zc_l2 *b, const l2_job *job, size_t c)
{
    size_t per = (job->n + job->chunks - 1) / job->chunks, lo = c * per, hi = lo + per < job->n ? lo + per : job->n;
    for (size_t i = lo; i < hi; i++) {
        uint32_t s = job->msgs[i].symbol;
        if (s >= b->nsym) {
            job->bad[c] = i;
            return;
        }
        job->part[i] = job->worker_of[b->part_of[s]];
    }
}

void zc_l2_apply_parts(zc_l2 *b, size_t begin, size_t end)
{
    const l2_job *job = b->job;
    if (job->phase == L2_CHECK) {
        for (size_t c = begin; c < end; c++)
            check_chunk(b, job, c);
        return;
    }
    /* The levels zc_l2_find reads at once. */
    size_t block = (b->cap < ZC_L2_FIND_BLOCK ? b->cap : ZC_L2_FIND_BLOCK) * ZC_L2_LEVEL * sizeof(double);
    /* One worker, or one thread given every item: a single pass over all
     * messages. */
    if (begin == 0 && end >= job->workers && job->checked) {
        apply_checked(b, (l2_job *)job, block);
        return;
    }
    if (begin == 0 && end >= job->workers) {
        for (size_t i = 0; i < job->n; i++) {
            if (i + PREFETCH_AHEAD < job->n)
                prefetch_msg(b, &job->msgs[i + PREFETCH_AHEAD], block);
            apply_msg(b, job, i);
        }
        return;
    }
    for (size_t w = begin; w < end; w++)
        apply_worker(b, job, (uint8_t)w, block);
}

/* ---- lifetime ---- */

zc_status zc_l2_create(const zc_l2_config *cfg, zc_l2 **out)
{
    if (!cfg || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "config and out must not be NULL");
    *out = NULL;
    if (cfg->symbols == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "an L2 book needs at least one symbol");
    if (cfg->reorder_window > ZC_L2_MAX_WINDOW)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "reorder_window must be at most %d, got %u", ZC_L2_MAX_WINDOW,
                      cfg->reorder_window);
    uint32_t levels = cfg->levels ? cfg->levels : DEFAULT_LEVELS;
    if (levels > (1u << 20))
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "levels must be at most 2^20, got %u", levels);
    if (cfg->tick)
        for (uint32_t s = 0; s < cfg->symbols; s++)
            if (!(cfg->tick[s] > 0.0) || !is_finite(cfg->tick[s]))
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tick[%u] must be positive and finite", s);
    int cpu;
    zc_device_info info;
    ZC_CHECK(zc_device_find("cpu", &cpu));
    ZC_CHECK(zc_device_info_get(cpu, &info));
    zc_l2 *b = calloc(1, sizeof *b);
    if (!b)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "L2 book");
    b->nsym = cfg->symbols;
    b->cap = levels;
    b->window = cfg->reorder_window;
    b->evcap = cfg->event_capacity ? cfg->event_capacity : DEFAULT_EVENTS;
    b->cpu = cpu;
    /* One partition of symbols per worker thread of the cpu device (at most
     * what a partition byte holds). */
    b->parts = info.threads ? info.threads : 1;
    if (b->parts > UINT8_MAX)
        b->parts = UINT8_MAX;
    if (b->parts > b->nsym)
        b->parts = b->nsym;
    size_t lshape[4] = {b->nsym, 2, b->cap, ZC_L2_LEVEL}, cshape[2] = {b->nsym, 2};
    zc_status st = zc_array_new(ZC_DTYPE_F64, 4, lshape, &b->levels);
    if (st == ZC_OK)
        st = zc_array_new(ZC_DTYPE_I64, 2, cshape, &b->counts);
    if (st == ZC_OK) {
        b->lv = zc_array_data(b->levels);
        b->cnt = zc_array_data(b->counts);
        memset(b->lv, 0, zc_array_nbytes(b->levels));
        memset(b->cnt, 0, zc_array_nbytes(b->counts));
        b->tick = malloc(b->nsym * sizeof *b->tick);
        b->part_of = malloc(b->nsym);
        b->sym = aligned_alloc(_Alignof(l2_sym), b->nsym * sizeof *b->sym);
        b->held = calloc((size_t)b->nsym * (b->window ? b->window : 1), sizeof *b->held);
        b->ev = calloc((size_t)b->nsym * b->evcap, sizeof *b->ev);
        if (!b->tick || !b->part_of || !b->sym || !b->held || !b->ev)
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "L2 state for %u symbols", b->nsym);
    }
    if (st != ZC_OK) {
        zc_l2_destroy(b);
        return st;
    }
    memset(b->sym, 0, b->nsym * sizeof *b->sym);
    zc_l1 empty = zc_l2_top(NULL, 0, NULL, 0, nan_value());
    for (uint32_t s = 0; s < b->nsym; s++) {
        b->tick[s] = cfg->tick ? cfg->tick[s] : 1.0;
        b->sym[s].top = empty;
        /* Runs of SYMS_PER_LINE symbols share a partition: their entries of
         * the counts array share a cache line, which one worker then owns. */
        b->part_of[s] = (uint8_t)(s / SYMS_PER_LINE % b->parts);
    }
    *out = b;
    return ZC_OK;
}

static void tracker_free(struct l2_tracker *t);

void zc_l2_destroy(zc_l2 *b)
{
    if (!b)
        return;
    zc_array_release(b->levels);
    zc_array_release(b->counts);
    free(b->tick);
    free(b->part_of);
    free(b->sym);
    free(b->held);
    free(b->ev);
    tracker_free(b->tracker);
    free(b);
}

uint32_t zc_l2_symbols(const zc_l2 *b) { return b ? b->nsym : 0; }

uint32_t zc_l2_capacity(const zc_l2 *b) { return b ? b->cap : 0; }

uint32_t zc_l2_event_capacity(const zc_l2 *b) { return b ? b->evcap : 0; }

zc_status zc_l2_depth(zc_l2 *b, zc_array **levels, zc_array **counts)
{
    if (!b || !levels || !counts)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "book and outputs must not be NULL");
    zc_array_retain(b->levels);
    zc_array_retain(b->counts);
    *levels = b->levels;
    *counts = b->counts;
    return ZC_OK;
}

zc_status zc_l2_counters_get(const zc_l2 *b, uint32_t symbol, zc_l2_counters *out)
{
    if (!b || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "book and out must not be NULL");
    if (symbol >= b->nsym)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "symbol %u is not below %u", symbol, b->nsym);
    *out = b->sym[symbol].c;
    out->applied = b->sym[symbol].applied;
    return ZC_OK;
}

/* ---- apply ---- */

static int event_order(const void *pa, const void *pb)
{
    const zc_l2_event *a = pa, *b = pb;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    return a->symbol < b->symbol ? -1 : (a->symbol > b->symbol);
}

/* Moves the call's per-symbol events to the caller in message order. */
static zc_status collect_events(zc_l2 *b, zc_l2_event *events, size_t cap, size_t *nevents)
{
    size_t total = 0;
    for (uint32_t s = 0; s < b->nsym; s++)
        total += b->sym[s].nev;
    *nevents = total;
    if (total == 0)
        return ZC_OK;
    zc_l2_event *all = malloc(total * sizeof *all);
    if (!all)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu events", total);
    size_t k = 0;
    for (uint32_t s = 0; s < b->nsym; s++) {
        memcpy(all + k, b->ev + (size_t)s * b->evcap, b->sym[s].nev * sizeof *all);
        k += b->sym[s].nev;
        b->sym[s].nev = 0;
    }
    /* Per-symbol lists are already in order; a stable merge by index would do, qsort is simpler and events are rare. */
    qsort(all, total, sizeof *all, event_order);
    if (events)
        memcpy(events, all, (total < cap ? total : cap) * sizeof *all);
    free(all);
    return ZC_OK;
}

/* Runs `items` items of the job on the cpu device. */
static zc_status launch(zc_l2 *b, const l2_job *job, size_t items)
{
    b->job = job;
    zc_devbuf *buf = NULL;
    zc_status st = zc_buf_wrap(b->cpu, b, sizeof *b, &buf);
    if (st == ZC_OK) {
        zc_karg arg = zc_arg_buf(buf);
        st = zc_launch(b->cpu, "zc_md_l2_apply", items, &arg, 1);
    }
    zc_buf_free(buf);
    b->job = NULL;
    return st;
}

/* One-worker calls whose input is at least this many times the size of
 * the state they may change run the checked pass, after saving that state:
 * the copy costs less than reading the input twice. */
#define UNDO_RATIO 4

/* The state a call may change: levels, counts, symbol states (with their
 * event counts) and held messages. */
static size_t undo_bytes(const zc_l2 *b)
{
    return zc_array_nbytes(b->levels) + zc_array_nbytes(b->counts) + b->nsym * sizeof *b->sym +
           (size_t)b->nsym * (b->window ? b->window : 1) * sizeof *b->held;
}

/* Copies that state into u (save = 1) or back from it. */
static void undo_copy(zc_l2 *b, unsigned char *u, int save)
{
    struct {
        void *p;
        size_t bytes;
    } part[4] = {{b->lv, zc_array_nbytes(b->levels)},
                 {b->cnt, zc_array_nbytes(b->counts)},
                 {b->sym, b->nsym * sizeof *b->sym},
                 {b->held, (size_t)b->nsym * (b->window ? b->window : 1) * sizeof *b->held}};
    for (int i = 0; i < 4; i++) {
        memcpy(save ? u : part[i].p, save ? part[i].p : u, part[i].bytes);
        u += part[i].bytes;
    }
}

/* A one-worker call through the checked pass. The saved state lives in an
 * array, so that from call to call the array cache hands back the same
 * faulted-in block. */
static zc_status apply_checked_call(zc_l2 *b, l2_job *job, zc_array *undo)
{
    unsigned char *u = zc_array_data(undo);
    job->checked = 1;
    job->phase = L2_APPLY;
    undo_copy(b, u, 1);
    zc_status st = launch(b, job, 1);
    if (st == ZC_OK && job->bad_at != SIZE_MAX)
        st = bad_symbol(b, job->msgs, job->bad_at);
    if (st != ZC_OK)
        undo_copy(b, u, 0);
    return st;
}

zc_status zc_l2_apply(zc_l2 *b, const zc_l2_msg *msgs, size_t n, zc_l2_quote *quotes, double *topk, uint32_t k,
                      zc_l2_event *events, size_t event_cap, size_t *nevents)
{
    if (!b || (!msgs && n) || !nevents || (!events && event_cap) || (topk && k == 0))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "book, messages, nevents (and topk with k > 0) must be given");
    *nevents = 0;
    if (n == 0)
        return ZC_OK;
    l2_job job = {.phase = L2_CHECK, .msgs = msgs, .n = n, .workers = 1, .quotes = quotes, .topk = topk, .k = k,
                  .bad_at = SIZE_MAX};
    zc_array *part = NULL;
    zc_status st = ZC_OK;
    uint32_t workers = (uint32_t)zc_cpu_backend_threads();
    if (workers > b->parts)
        workers = b->parts;
    size_t undo_size = undo_bytes(b);
    zc_array *undo = NULL;
    if ((workers <= 1 || n < PARALLEL_MIN) && n / UNDO_RATIO >= undo_size / sizeof *msgs &&
        zc_array_new(ZC_DTYPE_U8, 1, &undo_size, &undo) == ZC_OK) {
        st = apply_checked_call(b, &job, undo);
        zc_array_release(undo);
        return st == ZC_OK ? collect_events(b, events, event_cap, nevents) : st;
    }
    if (workers <= 1 || n < PARALLEL_MIN) {
        /* Smaller calls (or no memory for the saved state): the check
         * precedes any change. */
        size_t bad = first_bad(b, msgs, 0, n);
        if (bad != SIZE_MAX)
            return bad_symbol(b, msgs, bad);
    } else {
        /* Partitioned: the check also sorts the messages to their workers
         * (partitions in turn, when the thread limit is below the pool). */
        size_t shape[1] = {n};
        job.workers = workers;
        for (uint32_t p = 0; p < b->parts; p++)
            job.worker_of[p] = (uint8_t)(p % workers);
        job.chunks = (n + CHECK_CHUNK - 1) / CHECK_CHUNK;
        if (job.chunks > 4 * (size_t)workers)
            job.chunks = 4 * (size_t)workers;
        job.bad = malloc(job.chunks * sizeof *job.bad);
        st = job.bad ? zc_array_new(ZC_DTYPE_U8, 1, shape, &part) : ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "check chunks");
        if (st == ZC_OK) {
            job.part = zc_array_data(part);
            for (size_t c = 0; c < job.chunks; c++)
                job.bad[c] = SIZE_MAX;
            st = launch(b, &job, job.chunks);
        }
        /* Chunks are in message order: the first bad one has the first bad message. */
        for (size_t c = 0; st == ZC_OK && c < job.chunks; c++)
            if (job.bad[c] != SIZE_MAX)
                st = bad_symbol(b, msgs, job.bad[c]);
    }
    if (st == ZC_OK) {
        job.phase = L2_APPLY;
        st = launch(b, &job, job.workers);
        zc_status ev = collect_events(b, events, event_cap, nevents);
        if (st == ZC_OK)
            st = ev;
    }
    free(job.bad);
    zc_array_release(part);
    return st;
}

/* ---- engine events ---- */

/* Resting orders keyed by (symbol, id): open addressing, linear probing. */
typedef struct l2_order {
    uint64_t id;
    uint32_t symbol;
    uint8_t side, used; /* used: 0 empty, 1 live, 2 deleted */
    double price, qty;
} l2_order;

struct l2_tracker {
    l2_order *slot;
    size_t cap, live, deleted;
};

static void tracker_free(struct l2_tracker *t)
{
    if (t)
        free(t->slot);
    free(t);
}

static size_t order_hash(uint32_t symbol, uint64_t id, size_t cap)
{
    uint64_t h = (id ^ ((uint64_t)symbol << 40)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static l2_order *tracker_find(struct l2_tracker *t, uint32_t symbol, uint64_t id)
{
    if (t->cap == 0)
        return NULL;
    for (size_t i = order_hash(symbol, id, t->cap);; i = (i + 1) & (t->cap - 1)) {
        l2_order *o = &t->slot[i];
        if (o->used == 0)
            return NULL;
        if (o->used == 1 && o->id == id && o->symbol == symbol)
            return o;
    }
}

static zc_status tracker_grow(struct l2_tracker *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    if ((t->live + 1) * 4 < t->cap * 3 / 2 && t->cap)
        cap = t->cap; /* mostly tombstones: rebuild at the same size */
    l2_order *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "order tracker of %zu slots", cap);
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slot[i].used != 1)
            continue;
        size_t j = order_hash(t->slot[i].symbol, t->slot[i].id, cap);
        while (slot[j].used)
            j = (j + 1) & (cap - 1);
        slot[j] = t->slot[i];
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    t->deleted = 0;
    return ZC_OK;
}

static zc_status tracker_put(struct l2_tracker *t, const l2_order *o)
{
    if ((t->live + t->deleted + 1) * 2 > t->cap)
        ZC_CHECK(tracker_grow(t));
    size_t i = order_hash(o->symbol, o->id, t->cap);
    while (t->slot[i].used == 1)
        i = (i + 1) & (t->cap - 1);
    if (t->slot[i].used == 2)
        t->deleted--;
    t->slot[i] = *o;
    t->slot[i].used = 1;
    t->live++;
    return ZC_OK;
}

static void tracker_del(struct l2_tracker *t, l2_order *o)
{
    o->used = 2;
    t->live--;
    t->deleted++;
}

/* Adds (qty, orders) to an order's level and checks for a cross. */
static void engine_level(zc_l2 *b, uint32_t s, int side, double price, double dqty, double dorders, uint64_t index,
                         uint64_t seq)
{
    int64_t n = b->sym[s].n[side];
    int r = zc_l2_add_level(side_levels(b, s, side), &b->sym[s].n[side], b->cap, side, price, dqty, dorders);
    if (b->sym[s].n[side] != n)
        count_changed(b, s, side);
    if (r & ZC_L2_SET_OVERFLOW)
        b->sym[s].c.overflow++;
    b->sym[s].applied++;
    if (r & ZC_L2_SET_TOP)
        top_changed(b, s, index, seq, 0);
}

/* Reduces a resting order by qty, removing it when nothing is left. */
static void engine_reduce(zc_l2 *b, l2_order *o, double qty, uint64_t index, uint64_t seq)
{
    double take = qty < o->qty ? qty : o->qty;
    o->qty -= take;
    int gone = o->qty <= 0.0;
    engine_level(b, o->symbol, o->side, o->price, -take, gone ? -1.0 : 0.0, index, seq);
    if (gone)
        tracker_del(b->tracker, o);
}

typedef struct incoming {
    int active;
    uint32_t symbol;
    uint64_t id, seq;
    uint8_t side;
    double price, qty;
} incoming;

zc_status zc_l2_apply_engine(zc_l2 *b, const void *orders_v, size_t norders, const void *events_v, size_t nevents,
                             zc_l2_quote *quotes)
{
    const zc_order *orders = orders_v;
    const zc_event *ev = events_v;
    if (!b || (!orders && norders) || (!ev && nevents))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "book, orders and events must not be NULL");
    if (nevents == 0)
        return ZC_OK;
    if (!b->tracker && !(b->tracker = calloc(1, sizeof *b->tracker)))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "order tracker");
    uint64_t seq0 = ev[0].seq;
    for (size_t i = 0; i < nevents; i++) {
        if (ev[i].symbol >= b->nsym)
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "event %zu: symbol %u is not below %u", i, ev[i].symbol, b->nsym);
        if (i && ev[i].seq < ev[i - 1].seq)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "event %zu: seq goes backwards (engine events are in seq order)",
                          i);
        if (ev[i].kind == ZC_EVENT_ACK &&
            (ev[i].seq - seq0 >= norders || orders[ev[i].seq - seq0].id != ev[i].order_id))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                          "event %zu: ack of order %llu does not match orders[seq - %llu]: pass the orders the "
                          "engine produced these events for",
                          i, (unsigned long long)ev[i].order_id, (unsigned long long)seq0);
    }
    incoming in = {0};
    zc_status st = ZC_OK;
    for (size_t i = 0; i < nevents && st == ZC_OK; i++) {
        const zc_event *e = &ev[i];
        uint32_t s = e->symbol;
        int is_in = in.active && in.symbol == s && in.id == e->order_id && in.seq == e->seq;
        switch (e->kind) {
        case ZC_EVENT_ACK: {
            const zc_order *o = &orders[e->seq - seq0];
            l2_order *old = tracker_find(b->tracker, s, e->order_id);
            uint8_t side = o->side;
            if (old && o->type == ZC_ORDER_MODIFY) {
                side = old->side;
                engine_level(b, s, old->side, old->price, -old->qty, -1.0, i, e->seq);
                tracker_del(b->tracker, old);
            }
            in = (incoming){1, s, e->order_id, e->seq, side, (double)e->price, (double)e->remaining};
            if (o->type == ZC_ORDER_MARKET)
                in.qty = 0.0; /* a market order never rests */
            break;
        }
        case ZC_EVENT_FILL: {
            l2_order *maker = tracker_find(b->tracker, s, e->maker_id);
            if (maker)
                engine_reduce(b, maker, (double)e->qty, i, e->seq);
            if (is_in) {
                in.qty = (double)e->remaining;
            } else {
                /* Uncross: both sides of the pair were resting. */
                l2_order *other = tracker_find(b->tracker, s, e->order_id);
                if (other)
                    engine_reduce(b, other, (double)e->qty, i, e->seq);
            }
            break;
        }
        case ZC_EVENT_CANCEL:
        case ZC_EVENT_EXPIRE:
            if (is_in) {
                in.qty = 0.0;
            } else {
                l2_order *o = tracker_find(b->tracker, s, e->order_id);
                if (o)
                    engine_reduce(b, o, o->qty, i, e->seq);
            }
            break;
        default: /* rejects change nothing */
            break;
        }
        /* The incoming order rests once its last event has been seen. */
        if (in.active && (i + 1 == nevents || ev[i + 1].seq != in.seq)) {
            if (in.qty > 0.0) {
                l2_order o = {in.id, in.symbol, in.side, 1, in.price, in.qty};
                st = tracker_put(b->tracker, &o);
                engine_level(b, in.symbol, in.side, in.price, in.qty, 1.0, i, in.seq);
            }
            in.active = 0;
        }
        if (quotes)
            write_quote(b, s, 0, 0, &quotes[i]);
    }
    size_t lost;
    collect_events(b, NULL, 0, &lost);
    return st;
}

/* ---- metrics ---- */

size_t zc_l2_metrics_columns(const zc_l2_metrics_cfg *cfg)
{
    return 3 + cfg->levels + 2 * (size_t)cfg->nbands + 4 * (size_t)cfg->nsizes + 5;
}

zc_status zc_l2_metrics(const zc_l2 *b, const zc_l2_metrics_cfg *cfg, double *out)
{
    if (!b || !cfg || !out || (cfg->nbands && !cfg->bands_bps) || (cfg->nsizes && !cfg->sizes))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "book, config and out must not be NULL");
    if (cfg->levels == 0 || cfg->levels > b->cap)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "levels must be in [1, %u], got %u", b->cap, cfg->levels);
    for (uint32_t j = 0; j < cfg->nbands; j++)
        if (!(cfg->bands_bps[j] >= 0.0) || !is_finite(cfg->bands_bps[j]))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "bands must be finite and >= 0");
    for (uint32_t j = 0; j < cfg->nsizes; j++)
        if (!(cfg->sizes[j] > 0.0) || !is_finite(cfg->sizes[j]))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "sizes must be finite and > 0");
    size_t ncol = zc_l2_metrics_columns(cfg);
    double nan = nan_value();
    zc_l2 *mb = (zc_l2 *)b; /* read only */
    for (uint32_t s = 0; s < b->nsym; s++) {
        double *row = out + (size_t)s * ncol;
        const double *bids = side_levels(mb, s, ZC_L2_BID), *asks = side_levels(mb, s, ZC_L2_ASK);
        int64_t nb = b->sym[s].n[ZC_L2_BID], na = b->sym[s].n[ZC_L2_ASK];
        zc_l1 t = zc_l2_top(bids, nb, asks, na, nan);
        size_t c = 0;
        row[c++] = t.mid;
        row[c++] = t.spread;
        row[c++] = t.microprice;
        for (uint32_t k = 1; k <= cfg->levels; k++) {
            double sb = zc_l2_size_top(bids, nb, k), sa = zc_l2_size_top(asks, na, k);
            row[c++] = sb + sa > 0.0 ? (sb - sa) / (sb + sa) : nan;
        }
        for (uint32_t j = 0; j < cfg->nbands; j++)
            row[c++] = nb && na ? zc_l2_depth_within(bids, nb, ZC_L2_BID, t.mid, cfg->bands_bps[j]) : nan;
        for (uint32_t j = 0; j < cfg->nbands; j++)
            row[c++] = nb && na ? zc_l2_depth_within(asks, na, ZC_L2_ASK, t.mid, cfg->bands_bps[j]) : nan;
        for (uint32_t j = 0; j < cfg->nsizes; j++)
            row[c++] = zc_l2_vwap_through(asks, na, cfg->sizes[j], nan);
        for (uint32_t j = 0; j < cfg->nsizes; j++)
            row[c++] = zc_l2_vwap_through(bids, nb, cfg->sizes[j], nan);
        for (uint32_t j = 0; j < cfg->nsizes; j++) {
            double v = row[c - 2 * cfg->nsizes];
            row[c++] = (v - t.mid) / t.mid * 10000.0;
        }
        for (uint32_t j = 0; j < cfg->nsizes; j++) {
            double v = row[c - 2 * cfg->nsizes];
            row[c++] = (t.mid - v) / t.mid * 10000.0;
        }
        double wb, wa;
        row[c++] = (double)zc_l2_holes(bids, nb, cfg->levels, b->tick[s], &wb);
        row[c++] = (double)zc_l2_holes(asks, na, cfg->levels, b->tick[s], &wa);
        row[c++] = wb;
        row[c++] = wa;
        row[c++] = (double)((b->sym[s].stale ? ZC_L2_F_STALE : 0u) | (b->sym[s].crossed ? ZC_L2_F_CROSSED : 0u));
    }
    return ZC_OK;
}
