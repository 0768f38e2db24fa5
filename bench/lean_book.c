/* A yardstick for the batch matcher on this host: how fast does a lean
 * matcher run the standard workload (bench_book.c's generator), producing
 * the same events byte for byte? Not part of the library, and not a matcher
 * for anything but this workload: gtc and ioc limit orders without
 * self-trade prevention, and cancels, in a fixed price window (anything else
 * exits). It has none of the engine's other order types and checks, level
 * counts, auction, device layouts or state-root bookkeeping beyond the dirty
 * list, so its rate is roughly what the engine's data flow (group by symbol,
 * match, merge back in sequence order) gives on this host without the
 * engine's generality.
 *
 * Per symbol: 32-byte slots (id, open quantity, FIFO links, trader, price
 * index, side) with the sequence numbers apart; 8-byte hash buckets (tag and
 * slot, as the engine's); a direct-indexed price ladder of LADDER keys per
 * side (16-byte levels) with a bitmap to find the next level, instead of
 * sorted side arrays. A batch is grouped by symbol, matched and merged back
 * in sequence order as the engine does (mode 0), or matched in sequence
 * order with no grouping (mode 1); lookahead hints as the engine's.
 *
 *   lean_book N [MODE]
 *
 * The engine (one thread) and the lean matcher take turns batch by batch,
 * the first turn alternating; prints both rates in thread CPU time, their
 * ratio and, for mode 0, the lean matcher's rate per phase. Exit status 1
 * when the events differ. */
#define main bench_main
#include "bench_book.c"
#undef main

#include <sys/mman.h>

#define LADDER 4096 /* keys per side, centred on the mid */
#define HSIZE (2 * CAPACITY)
#define AHEAD 32

typedef struct lslot {
    uint64_t id;
    int64_t qty;
    int32_t prev, next; /* in its level's FIFO; next links the free stack */
    uint32_t trader;
    uint16_t idx; /* ladder index */
    uint8_t side, dirty;
} lslot; /* 32 bytes */

typedef struct llevel {
    int64_t qty;
    int32_t head, tail; /* -1 when empty */
} llevel;

typedef struct lbucket {
    uint32_t tag, slot1;
} lbucket;

typedef struct lorder {
    uint64_t id;
    int64_t price, qty;
    uint64_t seq;
    uint32_t trader;
    uint8_t side, type, tif, stp;
} lorder;

typedef struct levent {
    uint64_t seq, order_id, maker_id;
    int64_t price, qty, remaining;
    uint32_t symbol;
    uint16_t reason;
    uint8_t kind, pad;
} levent;

typedef struct lbook {
    lslot *slot;
    uint64_t *seq;
    lbucket *hash;
    llevel *ladder[2];
    uint64_t *bits[2];
    int32_t *dirty;
    int64_t base[2]; /* key of ladder index 0 */
    int32_t best[2]; /* highest occupied index, -1 for none */
    uint32_t free_slot, hwm, ndirty, symbol;
} lbook;

typedef struct lean {
    lbook book[SYMBOLS];
    lorder *sorted;
    uint32_t *evcount;
    levent *sev[SYMBOLS];
    uint32_t begin[SYMBOLS], end[SYMBOLS];
    double phase[3];
} lean;

static void *mapped(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "lean_book: mmap of %zu bytes failed\n", bytes);
        exit(1);
    }
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

static void lean_init(lean *L)
{
    lslot *slots = mapped((size_t)SYMBOLS * CAPACITY * sizeof(lslot));
    uint64_t *seqs = mapped((size_t)SYMBOLS * CAPACITY * sizeof(uint64_t));
    lbucket *hash = mapped((size_t)SYMBOLS * HSIZE * sizeof(lbucket));
    llevel *ladders = mapped((size_t)SYMBOLS * 2 * (LADDER + 64) * sizeof(llevel));
    uint64_t *bits = mapped((size_t)SYMBOLS * 2 * (LADDER / 64) * sizeof(uint64_t));
    int32_t *dirty = mapped((size_t)SYMBOLS * CAPACITY * sizeof(int32_t));
    for (uint32_t s = 0; s < SYMBOLS; s++) {
        lbook *b = &L->book[s];
        b->slot = slots + (size_t)s * CAPACITY;
        b->seq = seqs + (size_t)s * CAPACITY;
        b->hash = hash + (size_t)s * HSIZE;
        b->dirty = dirty + (size_t)s * CAPACITY;
        b->symbol = s;
        for (int d = 0; d < 2; d++) {
            /* Staggered, like the engine's levels, so the symbols' hot
             * levels do not share cache sets. */
            b->ladder[d] = ladders + ((size_t)s * 2 + d) * (LADDER + 64) + s * 7 % 64;
            b->bits[d] = bits + ((size_t)s * 2 + d) * (LADDER / 64);
            b->best[d] = -1;
            for (int x = 0; x < LADDER; x++)
                b->ladder[d][x].head = b->ladder[d][x].tail = -1;
        }
        b->base[ZC_SIDE_BUY] = MID - LADDER / 2;
        b->base[ZC_SIDE_SELL] = -MID - LADDER / 2;
    }
    L->sorted = malloc(BATCH * sizeof *L->sorted);
    L->evcount = malloc(BATCH * sizeof *L->evcount);
    if (!L->sorted || !L->evcount)
        exit(1);
    /* Room for any symbol's share of a batch: 3 events an order plus every
     * resting order. */
    for (uint32_t s = 0; s < SYMBOLS; s++)
        L->sev[s] = mapped((size_t)(3 * BATCH / 10 + CAPACITY + 16) * sizeof(levent));
}

/* The engine's mix of an id (zc_mhash), with keys of 0. */
static inline uint32_t ltag(uint64_t id)
{
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

static inline int32_t lfind(const lbook *b, uint64_t id, uint32_t t)
{
    for (uint32_t i = t;; i++) {
        const lbucket *k = &b->hash[i & (HSIZE - 1)];
        if (k->slot1 == 0)
            return -1;
        if (k->tag == t && b->slot[k->slot1 - 1].id == id)
            return (int32_t)k->slot1 - 1;
    }
}

static inline void linsert(lbook *b, int32_t s, uint32_t t)
{
    uint32_t i = t & (HSIZE - 1);
    while (b->hash[i].slot1)
        i = (i + 1) & (HSIZE - 1);
    b->hash[i].tag = t;
    b->hash[i].slot1 = (uint32_t)s + 1;
}

static inline void lerase(lbook *b, int32_t s, uint32_t t)
{
    uint32_t i = t & (HSIZE - 1);
    while (b->hash[i].slot1 != (uint32_t)s + 1)
        i = (i + 1) & (HSIZE - 1);
    for (uint32_t j = i;;) {
        j = (j + 1) & (HSIZE - 1);
        if (b->hash[j].slot1 == 0)
            break;
        uint32_t home = b->hash[j].tag & (HSIZE - 1);
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            b->hash[i] = b->hash[j];
            i = j;
        }
    }
    b->hash[i].slot1 = 0;
}

static inline void ldirty(lbook *b, int32_t s)
{
    if (!b->slot[s].dirty) {
        b->slot[s].dirty = 1;
        b->dirty[b->ndirty++] = s;
    }
}

static inline int64_t lkey(uint32_t side, int64_t price) { return side == ZC_SIDE_BUY ? price : -price; }

/* Highest occupied index below `from`, or -1. */
static inline int32_t lbelow(const uint64_t *bits, int32_t from)
{
    if (from <= 0)
        return -1;
    int32_t w = (from - 1) >> 6;
    uint64_t word = bits[w] & (~0ull >> (63 - ((from - 1) & 63)));
    while (!word) {
        if (--w < 0)
            return -1;
        word = bits[w];
    }
    return w * 64 + 63 - __builtin_clzll(word);
}

static inline void lemit(levent *e, uint64_t seq, uint32_t kind, uint32_t symbol, uint64_t order_id,
                         uint64_t maker_id, int64_t price, int64_t qty, int64_t remaining, uint32_t reason)
{
    *e = (levent){seq, order_id, maker_id, price, qty, remaining, symbol, (uint16_t)reason, (uint8_t)kind, 0};
}

static inline void lfree(lbook *b, int32_t s)
{
    b->slot[s].qty = 0;
    b->slot[s].next = (int32_t)b->free_slot;
    b->free_slot = (uint32_t)s + 1;
    ldirty(b, s);
}

static inline void lempty(lbook *b, uint32_t side, int32_t idx)
{
    b->bits[side][idx >> 6] &= ~(1ull << (idx & 63));
    if (b->best[side] == idx)
        b->best[side] = lbelow(b->bits[side], idx);
}

static uint32_t lcancel(lbook *b, const lorder *o, uint32_t t, levent *ev)
{
    int32_t s = lfind(b, o->id, t);
    if (s < 0 || b->slot[s].trader != o->trader) {
        uint32_t why = s < 0 ? ZC_REASON_UNKNOWN_ID : ZC_REASON_NOT_OWNER;
        lemit(ev, o->seq, ZC_EVENT_REJECT, b->symbol, o->id, 0, o->price, o->qty, 0, why);
        return 1;
    }
    lslot *m = &b->slot[s];
    uint32_t side = m->side;
    lemit(ev, o->seq, ZC_EVENT_CANCEL, b->symbol, m->id, 0, lkey(side, m->idx + b->base[side]), m->qty, 0, 0);
    lerase(b, s, t);
    llevel *l = &b->ladder[side][m->idx];
    if (m->prev >= 0)
        b->slot[m->prev].next = m->next;
    else
        l->head = m->next;
    if (m->next >= 0)
        b->slot[m->next].prev = m->prev;
    else
        l->tail = m->prev;
    l->qty -= m->qty;
    if (l->head < 0)
        lempty(b, side, m->idx);
    lfree(b, s);
    return 1;
}

static void lrest(lbook *b, const lorder *o, int64_t qty, uint32_t t)
{
    int32_t s;
    if (b->free_slot) {
        s = (int32_t)b->free_slot - 1;
        b->free_slot = (uint32_t)b->slot[s].next;
        if (b->free_slot) {
            /* The next order to rest takes the new top of the stack. */
            __builtin_prefetch(&b->slot[b->free_slot - 1]);
            __builtin_prefetch(&b->seq[b->free_slot - 1], 1);
        }
    } else {
        s = (int32_t)b->hwm++;
    }
    uint32_t side = o->side;
    int64_t idx = lkey(side, o->price) - b->base[side];
    if (idx < 0 || idx >= LADDER || s >= CAPACITY) {
        fprintf(stderr, "lean_book: price %lld or book size outside the workload this matcher handles\n", (long long)o->price);
        exit(1);
    }
    llevel *l = &b->ladder[side][idx];
    lslot *m = &b->slot[s];
    m->id = o->id;
    m->qty = qty;
    m->trader = o->trader;
    m->idx = (uint16_t)idx;
    m->side = (uint8_t)side;
    m->prev = l->tail;
    m->next = -1;
    b->seq[s] = o->seq;
    if (l->tail >= 0) {
        b->slot[l->tail].next = s;
    } else {
        l->head = s;
        b->bits[side][idx >> 6] |= 1ull << (idx & 63);
        if (idx > b->best[side])
            b->best[side] = (int32_t)idx;
    }
    l->tail = s;
    l->qty += qty;
    linsert(b, s, t);
    ldirty(b, s);
}

static uint32_t lmatch(lbook *b, const lorder *o, uint32_t t, levent *ev)
{
    if (o->type == ZC_ORDER_CANCEL)
        return lcancel(b, o, t, ev);
    /* The engine's checks, for their cost; this workload passes them all. */
    if (o->type != ZC_ORDER_LIMIT || o->side > ZC_SIDE_SELL || o->stp != ZC_STP_NONE || o->qty <= 0 ||
        o->qty > ZC_BOOK_MAX_QTY || o->price < 1 || o->price > 2 * MID || lfind(b, o->id, t) >= 0) {
        fprintf(stderr, "lean_book: order %llu is outside the workload this matcher handles\n", (unsigned long long)o->id);
        exit(1);
    }
    uint32_t n = 0, opp = o->side ^ 1u, nerase = 0;
    int64_t qty = o->qty;
    /* Filled makers' buckets are erased after the walk, as the engine's
     * are (zc_merase_q): each is hinted when its maker goes, so the walk
     * does not wait for them. */
    int32_t erase_slot[64];
    uint32_t erase_tag[64];
    lemit(&ev[n++], o->seq, ZC_EVENT_ACK, b->symbol, o->id, 0, o->price, qty, qty, 0);
    int64_t reach = lkey(opp, o->price) - b->base[opp]; /* opposite indices the order reaches */
    while (qty > 0 && b->best[opp] >= 0 && b->best[opp] >= reach) {
        int32_t idx = b->best[opp];
        llevel *l = &b->ladder[opp][idx];
        int64_t price = lkey(opp, idx + b->base[opp]);
        __builtin_prefetch(&b->ladder[opp][lbelow(b->bits[opp], idx) & (LADDER - 1)]);
        int32_t s = l->head;
        while (s >= 0 && qty > 0) {
            lslot *m = &b->slot[s];
            int32_t next = m->next;
            if (next >= 0)
                __builtin_prefetch(&b->slot[next]);
            int64_t fill = m->qty < qty ? m->qty : qty;
            qty -= fill;
            m->qty -= fill;
            l->qty -= fill;
            lemit(&ev[n++], o->seq, ZC_EVENT_FILL, b->symbol, o->id, m->id, price, fill, qty, 0);
            if (m->qty == 0) {
                l->head = next;
                if (next >= 0)
                    b->slot[next].prev = -1;
                else
                    l->tail = -1;
                if (nerase == 64) {
                    for (uint32_t j = 0; j < nerase; j++)
                        lerase(b, erase_slot[j], erase_tag[j]);
                    nerase = 0;
                }
                erase_slot[nerase] = s;
                erase_tag[nerase] = ltag(m->id);
                __builtin_prefetch(&b->hash[erase_tag[nerase++] & (HSIZE - 1)]);
                lfree(b, s);
            } else {
                ldirty(b, s);
            }
            s = next;
        }
        if (l->head < 0)
            lempty(b, opp, idx);
    }
    for (uint32_t j = 0; j < nerase; j++)
        lerase(b, erase_slot[j], erase_tag[j]);
    if (qty > 0 && o->tif == ZC_TIF_GTC)
        lrest(b, o, qty, t);
    else if (qty > 0)
        lemit(&ev[n++], o->seq, ZC_EVENT_EXPIRE, b->symbol, o->id, 0, o->price, qty, 0, 0);
    return n;
}

static inline void ldecode(lorder *d, const zc_order *o, uint64_t seq)
{
    d->id = o->id;
    d->price = o->price;
    d->qty = o->qty;
    d->seq = seq;
    d->trader = o->trader;
    d->side = o->side;
    d->type = o->type;
    d->tif = o->tif;
    d->stp = o->stp;
}

static inline void lpack(zc_event *d, const levent *s)
{
    d->seq = s->seq;
    d->kind = s->kind;
    d->symbol = s->symbol;
    memcpy(&d->order_id, &s->order_id, 40);
    d->reason = s->reason;
}

/* The engine's hints for the order AHEAD on (its bucket and the next),
 * AHEAD / 2 on (a cancel's slot) and AHEAD / 4 on (a cancel's FIFO
 * neighbours). */
static inline void lhints(const lbook *ba, const lorder *a, uint32_t *ta, const lbook *bh, const lorder *h,
                          uint32_t th, const lbook *bq, const lorder *q, uint32_t tq)
{
    if (a) {
        *ta = ltag(a->id);
        __builtin_prefetch(&ba->hash[*ta & (HSIZE - 1)]);
        __builtin_prefetch(&ba->hash[(*ta + 1) & (HSIZE - 1)]); /* an erasure's shift reads on */
    }
    if (h && h->type == ZC_ORDER_CANCEL) {
        for (uint32_t k = th;; k++) {
            const lbucket *x = &bh->hash[k & (HSIZE - 1)];
            if (x->slot1 == 0)
                break;
            if (x->tag == th) {
                __builtin_prefetch(&bh->slot[x->slot1 - 1]);
                break;
            }
        }
    }
    if (q && q->type == ZC_ORDER_CANCEL) {
        int32_t s = lfind(bq, q->id, tq);
        if (s >= 0 && bq->slot[s].prev >= 0)
            __builtin_prefetch(&bq->slot[bq->slot[s].prev], 1);
        if (s >= 0 && bq->slot[s].next >= 0)
            __builtin_prefetch(&bq->slot[bq->slot[s].next], 1);
    }
}

/* Mode 0: grouped by symbol, matched, merged back in sequence order. */
static size_t lean_grouped(lean *L, const zc_order *orders, size_t n, uint64_t seq0, zc_event *out)
{
    double c0 = thread_cpu();
    uint32_t cursor[SYMBOLS];
    memset(L->end, 0, sizeof L->end);
    for (size_t i = 0; i < n; i++)
        L->end[orders[i].symbol]++;
    for (uint32_t s = 0, at = 0; s < SYMBOLS; s++) {
        L->begin[s] = cursor[s] = at;
        at += L->end[s];
        L->end[s] = at;
    }
    for (size_t i = 0; i < n; i++) {
        if (i + 16 < n)
            __builtin_prefetch(&L->sorted[cursor[orders[i + 16].symbol]], 1);
        ldecode(&L->sorted[cursor[orders[i].symbol]++], &orders[i], seq0 + i);
    }
    double c1 = thread_cpu();
    for (uint32_t s = 0; s < SYMBOLS; s++) {
        lbook *b = &L->book[s];
        const lorder *o = L->sorted;
        uint32_t used = 0, begin = L->begin[s], end = L->end[s], tag[AHEAD] = {0};
        for (uint32_t i = begin; i < end && i - begin < AHEAD; i++)
            lhints(b, &o[i], &tag[i % AHEAD], NULL, NULL, 0, NULL, NULL, 0);
        for (uint32_t i = begin; i < end; i++) {
            uint32_t t = tag[i % AHEAD], h = i + AHEAD / 2, q = i + AHEAD / 4;
            lhints(b, i + AHEAD < end ? &o[i + AHEAD] : NULL, &tag[i % AHEAD], b, h < end ? &o[h] : NULL,
                   tag[h % AHEAD], b, q < end ? &o[q] : NULL, tag[q % AHEAD]);
            uint32_t k = lmatch(b, &o[i], t, L->sev[s] + used);
            L->evcount[i] = k;
            used += k;
        }
    }
    double c2 = thread_cpu();
    const levent *cur[SYMBOLS];
    const uint32_t *count[SYMBOLS];
    for (uint32_t s = 0; s < SYMBOLS; s++) {
        cur[s] = L->sev[s];
        count[s] = L->evcount + L->begin[s];
    }
    zc_event *dst = out;
    for (size_t i = 0; i < n; i++) {
        if (i + 16 < n) {
            uint32_t u = orders[i + 16].symbol;
            __builtin_prefetch(cur[u]);
            __builtin_prefetch((const char *)cur[u] + sizeof(levent) - 1);
            __builtin_prefetch(count[u]);
        }
        uint32_t s = orders[i].symbol, k = *count[s]++;
        const levent *src = cur[s];
        cur[s] = src + k;
        do
            lpack(dst++, src++);
        while (--k);
    }
    double c3 = thread_cpu();
    L->phase[0] += c1 - c0;
    L->phase[1] += c2 - c1;
    L->phase[2] += c3 - c2;
    return (size_t)(dst - out);
}

/* Mode 1: in sequence order, events packed as they come. */
static size_t lean_sequential(lean *L, const zc_order *orders, size_t n, uint64_t seq0, zc_event *out)
{
    lorder o[AHEAD];
    uint32_t tag[AHEAD] = {0};
    levent *ev = L->sev[0]; /* room for any order's events */
    zc_event *dst = out;
    for (size_t i = 0; i < n && i < AHEAD; i++) {
        ldecode(&o[i % AHEAD], &orders[i], seq0 + i);
        lhints(&L->book[orders[i].symbol], &o[i % AHEAD], &tag[i % AHEAD], NULL, NULL, 0, NULL, NULL, 0);
    }
    for (size_t i = 0; i < n; i++) {
        lorder cur = o[i % AHEAD];
        uint32_t t = tag[i % AHEAD];
        size_t a = i + AHEAD, h = i + AHEAD / 2, q = i + AHEAD / 4;
        if (a < n)
            ldecode(&o[a % AHEAD], &orders[a], seq0 + a);
        lhints(&L->book[orders[a < n ? a : i].symbol], a < n ? &o[a % AHEAD] : NULL, &tag[i % AHEAD],
               &L->book[orders[h < n ? h : i].symbol], h < n ? &o[h % AHEAD] : NULL, tag[h % AHEAD],
               &L->book[orders[q < n ? q : i].symbol], q < n ? &o[q % AHEAD] : NULL, tag[q % AHEAD]);
        uint32_t k = lmatch(&L->book[orders[i].symbol], &cur, t, ev);
        for (uint32_t j = 0; j < k; j++)
            lpack(dst++, &ev[j]);
    }
    return (size_t)(dst - out);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    int mode = argc > 2 ? atoi(argv[2]) : 0;
    if (n == 0 || (mode != 0 && mode != 1)) {
        fprintf(stderr, "usage: lean_book N [MODE] (N > 0; MODE 0 grouped by symbol, 1 in sequence order)\n");
        return 2;
    }
    zc_order *o = generate(n);
    zc_engine *e = engine(CAPACITY, 1, 1);
    static lean L;
    lean_init(&L);
    size_t cap = 4 * BATCH;
    zc_event *buf = malloc(cap * sizeof *buf), *lbuf = malloc(cap * sizeof *lbuf);
    if (!buf || !lbuf)
        return 1;
    double t[2] = {0, 0};
    for (size_t start = 0, k = 0; start < n; start += BATCH, k++) {
        size_t len = n - start < BATCH ? n - start : BATCH, m = 0, lm = 0;
        for (int turn = 0; turn < 2; turn++) {
            int v = (int)(k & 1) ^ turn;
            double c0 = thread_cpu();
            if (v == 0)
                check(zc_engine_submit_into(e, o + start, len, buf, cap, &m), "submit");
            else if (mode == 0)
                lm = lean_grouped(&L, o + start, len, start + 1, lbuf);
            else
                lm = lean_sequential(&L, o + start, len, start + 1, lbuf);
            t[v] += thread_cpu() - c0;
        }
        if (m != lm || memcmp(buf, lbuf, m * sizeof *buf)) {
            fprintf(stderr, "lean_book: events differ in the batch at order %zu (%zu and %zu events)\n", start, m,
                    lm);
            return 1;
        }
    }
    printf("engine %.3f M orders/s, lean (%s) %.3f M orders/s (CPU time), lean/engine %.3f\n", (double)n / t[0] / 1e6,
           mode ? "sequence order" : "grouped", (double)n / t[1] / 1e6, t[0] / t[1]);
    if (mode == 0)
        printf("lean phases, M orders/s: partition %.1f, match %.2f, merge %.1f\n", (double)n / L.phase[0] / 1e6,
               (double)n / L.phase[1] / 1e6, (double)n / L.phase[2] / 1e6);
    zc_engine_destroy(e);
    free(buf);
    free(lbuf);
    free(o);
    return 0;
}
