/* Single-source per-symbol order matching. Semantics (order types, tif, stp,
 * validation order, events, auctions) are specified in
 * csrc/include/zkclob/book.h; this file is their one implementation, run by
 * the cpu engine (csrc/book/engine.c) and the OpenCL and CUDA kernels.
 *
 * A symbol's book lives in flat arrays that work in device memory, with no
 * allocation after creation:
 *   slots   `cap` order slots; a resting order's FIFO neighbours in its
 *           price level are slot indices (prev/next, -1 for none), and so
 *           are the orders two places before and after it (prev2/next2: a
 *           sweep fetches two makers at a time, and an unlink learns every
 *           link it rewrites from the order itself); freed slots
 *           form a stack linked through next, and slots never used lie above
 *           a high-water mark, so an empty book is all zeros.
 *   levels  `cap` price levels (never more levels than orders): price, open
 *           quantity, order count, FIFO head and tail and the order before
 *           the tail; freed levels form a stack above which lie the never
 *           used ones.
 *   sides   per side, the active levels sorted so that the best is last:
 *           bids by ascending price, asks by descending price, each entry
 *           holding its level and its sort key (zc_mkey: the price, negated
 *           for asks), so that one comparison serves both sides. New levels
 *           near the top, the common case, move few entries. Levels and
 *           sides are at staggered per-symbol strides (zc_mlevel_stride).
 *   hash    open addressing with linear probing over `hsize` (a power of two,
 *           at least 2 * cap) buckets, each an 8-byte record of an order's
 *           slot + 1 (0: an empty bucket) and its tag, a keyed 32-bit mix
 *           of its id whose low bits are its home bucket; the id itself is
 *           read from the slot when the tags match. Backward-shift deletion
 *           (no tombstones, no rehashing of the entries it moves). Without
 *           the key, colliding ids cannot be chosen; results never depend
 *           on the key.
 *   dirty   slots changed since the state root was last updated, each once.
 * Stack links (free_slot, a free slot's next, free_level, next_free) hold an
 * index + 1, 0 ending the stack. Sums of quantities cannot overflow:
 * qty <= 2^40 and cap <= 2^22. */
#ifndef ZC_MATCH_H
#define ZC_MATCH_H

#include "zc_kernel.h"

/* Mirrors of the enumerations in zkclob/book.h (checked by engine.c). */
#define ZC_M_BUY 0
#define ZC_M_SELL 1
#define ZC_M_LIMIT 0
#define ZC_M_MARKET 1
#define ZC_M_CANCEL 2
#define ZC_M_MODIFY 3
#define ZC_M_GTC 0
#define ZC_M_IOC 1
#define ZC_M_FOK 2
#define ZC_M_POST_ONLY 3
#define ZC_M_STP_NONE 0
#define ZC_M_STP_NEWEST 1
#define ZC_M_STP_OLDEST 2
#define ZC_M_STP_BOTH 3
#define ZC_M_ACK 0
#define ZC_M_FILL 1
#define ZC_M_CANCELLED 2
#define ZC_M_REJECT 3
#define ZC_M_EXPIRE 4
#define ZC_M_R_NONE 0
#define ZC_M_R_BAD_TYPE 2
#define ZC_M_R_BAD_SIDE 3
#define ZC_M_R_BAD_TIF 4
#define ZC_M_R_BAD_STP 5
#define ZC_M_R_BAD_QTY 6
#define ZC_M_R_LOT 7
#define ZC_M_R_TICK 8
#define ZC_M_R_BAND 9
#define ZC_M_R_TIF_FOR_TYPE 10
#define ZC_M_R_CALL_PHASE 11
#define ZC_M_R_DUPLICATE_ID 12
#define ZC_M_R_UNKNOWN_ID 13
#define ZC_M_R_NOT_OWNER 14
#define ZC_M_R_POST_ONLY 15
#define ZC_M_R_CAPACITY 16
#define ZC_M_R_STP 17
#define ZC_M_CONTINUOUS 0
#define ZC_M_AUCTION 1
#define ZC_M_MAX_QTY ((int64_t)1 << 40)

/* Layouts shared by host and devices: naturally aligned, explicit padding. */
typedef struct zc_mslot {
    uint64_t id;
    int64_t price;
    int64_t qty; /* open quantity, 0 when the slot is free */
    uint64_t seq; /* time priority */
    uint32_t trader;
    int32_t prev, next;
    int32_t level;
    uint8_t side, tif, stp, dirty;
    int32_t prev2, next2; /* two places before and after in the FIFO */
    uint32_t pad;
} zc_mslot; /* 64 bytes */

typedef struct zc_mlevel {
    int64_t price;
    int64_t qty;
    int32_t head, tail;
    uint32_t count;
    int32_t link; /* in use: the order before the tail (-1: none); freed:
                     the next freed level + 1 (0: none) */
} zc_mlevel; /* 32 bytes */

typedef struct zc_mref {
    int64_t key; /* zc_mkey(side, price): ascending along a side */
    int32_t level;
    int32_t pad;
} zc_mref; /* 16 bytes */

/* Entries per side of a symbol's level cache (zc_mnear). */
#define ZC_MNEAR 32

typedef struct zc_msym {
    int64_t tick, lot, min_price, max_price;
    int64_t last_price; /* last trade, or the configured reference */
    uint32_t mode;
    uint32_t count; /* resting orders */
    uint32_t free_slot;  /* top of the freed-slot stack + 1 */
    uint32_t free_level; /* top of the freed-level stack + 1 */
    uint32_t nlev[2];
    uint32_t ndirty;
    uint32_t slot_hwm;  /* slots at or above were never used */
    uint32_t level_hwm;
    uint32_t pad;
    int32_t near[2][ZC_MNEAR]; /* level cache: a level of the side + 1, 0 for none */
} zc_msym; /* 336 bytes */

/* An order as the matcher sees it: decoded from the packed zc_order by the
 * host, with its ingress sequence. */
typedef struct zc_morder {
    uint64_t id;
    int64_t price;
    int64_t qty;
    uint64_t seq;
    uint32_t trader;
    uint8_t side, type, tif, stp;
} zc_morder; /* 40 bytes */

/* An event before the host packs it into zc_event. */
typedef struct zc_mevent {
    uint64_t seq;
    uint64_t order_id;
    uint64_t maker_id;
    int64_t price;
    int64_t qty;
    int64_t remaining;
    uint32_t symbol;
    uint16_t reason;
    uint8_t kind;
    uint8_t pad;
} zc_mevent; /* 56 bytes */

/* One symbol's share of a launch: the host fills symbol, begin, end, the
 * event region and dst_off; the kernel fills done, ev_used and resting. */
typedef struct zc_mtask {
    uint32_t symbol;
    uint32_t begin, end; /* its orders in the batch sorted by symbol */
    uint32_t done;       /* orders processed */
    uint64_t ev_off;     /* its event region */
    uint64_t ev_cap;
    uint64_t ev_used;
    uint64_t dst_off;    /* where compaction puts its events */
    uint32_t resting;    /* resting orders afterwards */
    uint32_t pad;
} zc_mtask; /* 56 bytes */

/* One hash bucket: a resting order's tag (zc_mhash of its id; its low bits
 * are the home bucket, which backward-shift deletion needs) and slot. Eight
 * buckets to a line, half the table of a record holding the id: the books
 * outgrow the cache and each order reads a random bucket, so the smaller
 * table misses less (bench/RESULTS.md, pass 8). */
typedef struct zc_mbucket {
    uint32_t tag;
    uint32_t slot1; /* slot + 1; 0 when empty */
} zc_mbucket; /* 8 bytes */

/* Erasures a taker's walk defers: a maker's bucket is known only once its
 * slot has arrived, and erasing it at once would wait for that second miss
 * before the walk goes on. Queued (and hinted) ids are erased in the same
 * order when the queue fills and when the walk ends, before anything looks
 * the hash up again, so the table ends up the same. */
#define ZC_MERASE_QUEUE 16

typedef struct zc_merase_q {
    int32_t slot[ZC_MERASE_QUEUE]; /* the erased orders' former slots */
    uint32_t h[ZC_MERASE_QUEUE];   /* and tags (zc_mhash) */
    uint32_t n;
} zc_merase_q;

#if defined(ZC_TARGET_HOST)
/* What a single order may leave for its host caller to do before the book is
 * next read (zc_mbook.defer): the erasures queued at its walk's end, and a
 * cancel's unlink (its slot, -1 for none). */
typedef struct zc_mdefer {
    zc_merase_q erase;
    int32_t unlink;
} zc_mdefer;
#endif

/* A symbol's view of the flat arrays. */
typedef struct zc_mbook {
    ZC_GLOBAL zc_mslot *slot;
    ZC_GLOBAL zc_mlevel *level;
    ZC_GLOBAL zc_mref *bids;
    ZC_GLOBAL zc_mref *asks;
    ZC_GLOBAL zc_mbucket *hash;
    ZC_GLOBAL int32_t *dirty;
    ZC_GLOBAL zc_msym *sym;
    uint32_t cap;
    uint32_t hmask;
    uint32_t symbol;
    uint64_t k0, k1;
#if defined(ZC_TARGET_HOST)
    zc_mdefer *defer; /* where an order leaves work for later, or NULL */
#endif
} zc_mbook;

/* Per-symbol strides of the level and side arrays, in entries: the
 * capacity and some extra cache lines. With a power-of-two capacity alone,
 * every symbol's hot entries (its first levels, the best end of each side)
 * would lie at the same offset modulo the caches' set period, and the hot
 * lines of all symbols would compete for the few ways of the same sets
 * (cachegrind with this host's 1 MiB 8-way L2: 3.3 more misses per single
 * order on the standard workload). An odd number of extra lines per symbol
 * (coprime with the power-of-two set counts) staggers them, and a symbol's
 * asks start half as many lines further from its bids. */
#define ZC_MSTAGGER_LINES 41

ZC_FN uint64_t zc_mlevel_stride(uint32_t cap) { return (uint64_t)cap + ZC_MSTAGGER_LINES * 2; }

ZC_FN uint64_t zc_mask_offset(uint32_t cap) { return (uint64_t)cap + ZC_MSTAGGER_LINES / 2 * 4; }

ZC_FN uint64_t zc_mside_stride(uint32_t cap) { return 2 * (uint64_t)cap + ZC_MSTAGGER_LINES * 4; }

ZC_FN zc_mbook zc_mbook_at(ZC_GLOBAL zc_mslot *slots, ZC_GLOBAL zc_mlevel *levels, ZC_GLOBAL zc_mref *sides,
                           ZC_GLOBAL zc_mbucket *buckets, ZC_GLOBAL int32_t *dirty,
                           ZC_GLOBAL zc_msym *syms, uint32_t cap, uint32_t hsize, uint64_t k0, uint64_t k1,
                           uint32_t symbol)
{
    zc_mbook b;
    uint64_t s = symbol;
    b.slot = slots + s * cap;
    b.level = levels + s * zc_mlevel_stride(cap);
    b.bids = sides + s * zc_mside_stride(cap);
    b.asks = b.bids + zc_mask_offset(cap);
    b.hash = buckets + s * hsize;
    b.dirty = dirty + s * cap;
    b.sym = syms + s;
    b.cap = cap;
    b.hmask = hsize - 1;
    b.symbol = symbol;
    b.k0 = k0;
    b.k1 = k1;
#if defined(ZC_TARGET_HOST)
    b.defer = 0;
#endif
    return b;
}

/* Empty book: all zeros, for device memory that is not allocated zeroed. The
 * host has written the symbol's configuration; its counters are cleared. */
ZC_FN void zc_mbook_reset(zc_mbook *b)
{
    ZC_GLOBAL uint8_t *z[3] = {(ZC_GLOBAL uint8_t *)b->slot, (ZC_GLOBAL uint8_t *)b->level,
                               (ZC_GLOBAL uint8_t *)b->hash};
    uint64_t bytes[3] = {(uint64_t)b->cap * sizeof(zc_mslot), (uint64_t)b->cap * sizeof(zc_mlevel),
                         (uint64_t)(b->hmask + 1) * sizeof(zc_mbucket)};
    for (int k = 0; k < 3; k++)
        for (uint64_t i = 0; i < bytes[k]; i++)
            z[k][i] = 0;
    b->sym->free_slot = 0;
    b->sym->free_level = 0;
    b->sym->count = 0;
    b->sym->nlev[0] = 0;
    b->sym->nlev[1] = 0;
    b->sym->ndirty = 0;
    b->sym->slot_hwm = 0;
    b->sym->level_hwm = 0;
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < ZC_MNEAR; k++)
            b->sym->near[side][k] = 0;
}

ZC_FN int64_t zc_mmin(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- order-id hash ---- */

/* The tag of order id: its home bucket is tag & hmask. */
ZC_FN uint32_t zc_mhash(const zc_mbook *b, uint64_t id)
{
    uint64_t h = (id ^ b->k0) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 32;
    h = (h ^ b->k1) * 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

/* Cache hints, host only (nothing on devices; a hint never changes
 * results): on the host the books do not fit in cache and most of a batch's
 * time goes to misses, so the matcher asks early for the lines it will need
 * and overlaps their misses. */
ZC_FN void zc_mhint_bucket_at(const zc_mbook *b, uint32_t h)
{
#if defined(ZC_TARGET_HOST)
    __builtin_prefetch(&b->hash[h & b->hmask]);
#endif
}

ZC_FN void zc_mhint_bucket(const zc_mbook *b, uint64_t id) { zc_mhint_bucket_at(b, zc_mhash(b, id)); }

ZC_FN void zc_mhint_slot(const zc_mbook *b, int32_t s)
{
#if defined(ZC_TARGET_HOST)
    __builtin_prefetch(&b->slot[s]);
#endif
}

/* Slot of order id, whose tag is h (zc_mhash), or -1. The matcher computes
 * an order's tag once, when it first hints its bucket, and passes it on to
 * every lookup and change of the table the order makes. Only a bucket with
 * the same tag sends the lookup to its slot to compare ids: the lookup of
 * an absent id reads the table alone. */
ZC_FN int32_t zc_mfind_at(const zc_mbook *b, uint64_t id, uint32_t h)
{
    for (uint32_t i = h & b->hmask;; i = (i + 1) & b->hmask) {
        ZC_GLOBAL const zc_mbucket *k = &b->hash[i];
        if (k->slot1 == 0)
            return -1;
        if (k->tag == h && b->slot[k->slot1 - 1].id == id)
            return (int32_t)k->slot1 - 1;
    }
}

ZC_FN int32_t zc_mfind(const zc_mbook *b, uint64_t id) { return zc_mfind_at(b, id, zc_mhash(b, id)); }

/* Adds the order in `slot`, whose id (tag h) is known to be absent; the
 * table is never full (hsize >= 2 cap). */
ZC_FN void zc_minsert_at(const zc_mbook *b, int32_t slot, uint32_t h)
{
    uint32_t i = h & b->hmask;
    while (b->hash[i].slot1 != 0)
        i = (i + 1) & b->hmask;
    b->hash[i].tag = h;
    b->hash[i].slot1 = (uint32_t)slot + 1;
}

/* Removes the entry of the order that was in `slot` with tag h (known to be
 * present) and shifts later members of its probe run back, so lookups never
 * need tombstones. The slot may hold another order by now (an erasure
 * deferred past a rest, zc_merase_q), whose own entry can lie in the same
 * run: the entry is the one matching both slot and tag, and should the two
 * orders' tags be equal too, the two entries are the same record and either
 * may go. */
ZC_FN void zc_merase_at(const zc_mbook *b, int32_t slot, uint32_t h)
{
    uint32_t i = h & b->hmask;
    while (b->hash[i].slot1 != (uint32_t)slot + 1 || b->hash[i].tag != h)
        i = (i + 1) & b->hmask;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & b->hmask;
        if (b->hash[j].slot1 == 0)
            break;
        uint32_t home = b->hash[j].tag & b->hmask;
        /* The entry at j may move to the hole at i unless its home lies
         * cyclically in (i, j]. */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            b->hash[i] = b->hash[j];
            i = j;
        }
    }
    b->hash[i].slot1 = 0;
}

/* ---- levels ---- */

/* An order's side is random, so the helpers that depend on it select
 * without branching: a mispredicted side cost most orders a pipeline flush
 * (cachegrind's branch simulation). The asks follow the bids (zc_mbook_at). */
ZC_FN ZC_GLOBAL zc_mref *zc_mside(const zc_mbook *b, uint32_t side)
{
    return b->bids + (zc_mask_offset(b->cap) & (0 - (uint64_t)(side & 1u)));
}

/* Sort key: ascending along a side array for both sides: the price for
 * bids, its negation for asks (|price| <= 2^62; wraps, never traps, for the
 * unvalidated prices that cache hints and event bounds may see). The side
 * arrays hold keys, not prices, so that searches and limit checks compare
 * them as they are; a key is its own inverse: zc_mkey(side, key) is the
 * price. */
ZC_FN int64_t zc_mkey(uint32_t side, int64_t price)
{
    uint64_t m = 0 - (uint64_t)(side & 1u);
    return (int64_t)(((uint64_t)price ^ m) - m);
}

/* A taker on `side` limited at `price` reaches the opposite entries whose
 * key is at least this. */
ZC_FN int64_t zc_mlimit(uint32_t side, int64_t price) { return zc_mkey(side ^ 1u, price); }

/* Index of the first entry whose key is >= key (n when none), for entries
 * whose prices are distinct multiples of tick. At most (top - key) / tick + 1
 * entries have keys in [key, top], the best key, so the answer is at least
 * n - 1 minus that quotient; where the levels near the best are dense, the
 * usual case, the entry there is the answer, found with one probe. Otherwise
 * the rest of that bracket is bisected without branching on the
 * comparisons, whose outcomes no predictor can learn. */
ZC_FN uint32_t zc_mlower(ZC_GLOBAL const zc_mref *a, uint32_t n, int64_t key, int64_t tick)
{
    if (n == 0)
        return 0;
    int64_t top = a[n - 1].key;
    if (top < key)
        return n;
    /* Keys lie within +-2^62, so the gap fits in 63 bits. */
    uint64_t gap = (uint64_t)top - (uint64_t)key;
    if (tick != 1)
        gap /= (uint64_t)tick;
    uint32_t lo = gap < (uint64_t)(n - 1) ? n - 1 - (uint32_t)gap : 0;
    if (a[lo].key >= key)
        return lo;
    /* The answer lies in (lo, n - 1], and a[n - 1] is not below key. */
    lo++;
    uint32_t len = n - lo;
    while (len > 1) {
        uint32_t part = len / 2;
        lo += part & (0u - (uint32_t)(a[lo + part - 1].key < key));
        len -= part;
    }
    return lo;
}

ZC_FN void zc_mdirty(const zc_mbook *b, int32_t s)
{
    if (!b->slot[s].dirty) {
        b->slot[s].dirty = 1;
        b->dirty[b->sym->ndirty++] = s;
    }
}

/* The level cache's entry for `key` on `side`: direct-mapped by the key in
 * ticks, so the ZC_MNEAR prices nearest any price never share an entry. An
 * entry names a live level of the side whose key maps to it, or none
 * (zc_mlevel_drop clears it), so a hit is a level whose price is the one
 * asked for. Resting orders, most of a book's traffic, join a few levels
 * near the top again and again; the cache spares them the search of the
 * side array (bench/RESULTS.md, pass 8). */
ZC_FN ZC_GLOBAL int32_t *zc_mnear(const zc_mbook *b, uint32_t side, int64_t key)
{
    int64_t tick = b->sym->tick;
    uint64_t ticks = (uint64_t)(tick == 1 ? key : key / tick);
    return &b->sym->near[side & 1u][ticks & (ZC_MNEAR - 1)];
}

/* Level of `price` on `side`, created (empty) when absent. */
ZC_FN int32_t zc_mlevel_get(const zc_mbook *b, uint32_t side, int64_t price)
{
    int64_t key = zc_mkey(side, price);
    ZC_GLOBAL int32_t *near = zc_mnear(b, side, key);
    int32_t cached = *near - 1;
    if (cached >= 0 && b->level[cached].price == price)
        return cached;
    ZC_GLOBAL zc_mref *a = zc_mside(b, side);
    uint32_t n = b->sym->nlev[side];
    uint32_t pos = zc_mlower(a, n, key, b->sym->tick);
    if (pos < n && a[pos].key == key) {
        *near = a[pos].level + 1;
        return a[pos].level;
    }
    int32_t lv;
    if (b->sym->free_level) {
        lv = (int32_t)b->sym->free_level - 1;
        b->sym->free_level = (uint32_t)b->level[lv].link;
    } else {
        lv = (int32_t)b->sym->level_hwm++;
    }
    ZC_GLOBAL zc_mlevel *l = &b->level[lv];
    l->price = price;
    l->qty = 0;
    l->head = -1;
    l->tail = -1;
    l->link = -1;
    l->count = 0;
    for (uint32_t i = n; i > pos; i--)
        a[i] = a[i - 1];
    a[pos].key = key;
    a[pos].level = lv;
    a[pos].pad = 0;
    b->sym->nlev[side] = n + 1;
    *near = lv + 1;
    return lv;
}

ZC_FN void zc_mlevel_drop(const zc_mbook *b, uint32_t side, int32_t lv)
{
    ZC_GLOBAL zc_mref *a = zc_mside(b, side);
    uint32_t n = b->sym->nlev[side];
    int64_t key = zc_mkey(side, b->level[lv].price);
    ZC_GLOBAL int32_t *near = zc_mnear(b, side, key);
    if (*near == lv + 1)
        *near = 0;
    uint32_t pos = zc_mlower(a, n, key, b->sym->tick);
    for (uint32_t i = pos; i + 1 < n; i++)
        a[i] = a[i + 1];
    b->sym->nlev[side] = n - 1;
    b->level[lv].link = (int32_t)b->sym->free_level;
    b->sym->free_level = (uint32_t)lv + 1;
}

/* ---- resting orders ---- */

ZC_FN int32_t zc_mrest(const zc_mbook *b, uint64_t id, uint32_t trader, uint32_t side, uint32_t tif, uint32_t stp,
                       int64_t price, int64_t qty, uint64_t seq, uint32_t h)
{
    int32_t s;
    if (b->sym->free_slot) {
        s = (int32_t)b->sym->free_slot - 1;
        b->sym->free_slot = (uint32_t)b->slot[s].next;
        /* The next order to rest takes the new top. */
        if (b->sym->free_slot)
            zc_mhint_slot(b, (int32_t)b->sym->free_slot - 1);
    } else {
        s = (int32_t)b->sym->slot_hwm++;
    }
    ZC_GLOBAL zc_mslot *o = &b->slot[s];
    int32_t lv = zc_mlevel_get(b, side, price);
    ZC_GLOBAL zc_mlevel *l = &b->level[lv];
    o->id = id;
    o->price = price;
    o->qty = qty;
    o->seq = seq;
    o->trader = trader;
    int32_t t = l->tail, t2 = l->link;
    o->prev = t;
    o->prev2 = t2;
    o->next = -1;
    o->next2 = -1;
    o->level = lv;
    o->side = (uint8_t)side;
    o->tif = (uint8_t)tif;
    o->stp = (uint8_t)stp;
    if (t >= 0)
        b->slot[t].next = s;
    else
        l->head = s;
    if (t2 >= 0)
        b->slot[t2].next2 = s;
    l->link = t;
    l->tail = s;
    l->qty += qty;
    l->count++;
    b->sym->count++;
    zc_minsert_at(b, s, h);
    zc_mdirty(b, s);
    return s;
}

/* Takes a resting order out of the book (its open quantity leaves the level)
 * and frees its slot, all but erasing its id from the hash. */
ZC_FN void zc_munlink(const zc_mbook *b, int32_t s)
{
    ZC_GLOBAL zc_mslot *o = &b->slot[s];
    ZC_GLOBAL zc_mlevel *l = &b->level[o->level];
    /* Only the neighbours' links are written: all four are known from the
     * order itself, so no load waits for their lines. */
    int32_t p1 = o->prev, p2 = o->prev2, n1 = o->next, n2 = o->next2;
    if (p1 >= 0) {
        b->slot[p1].next = n1;
        b->slot[p1].next2 = n2;
    } else {
        l->head = n1;
    }
    if (p2 >= 0)
        b->slot[p2].next2 = n1;
    if (n1 >= 0) {
        b->slot[n1].prev = p1;
        b->slot[n1].prev2 = p2;
    } else {
        l->tail = p1;
        l->link = p2;
    }
    if (n2 >= 0)
        b->slot[n2].prev2 = p1;
    else if (n1 >= 0)
        l->link = p1;
    l->qty -= o->qty;
    l->count--;
    if (l->count == 0)
        zc_mlevel_drop(b, o->side, o->level);
    o->qty = 0;
    o->prev = -1;
    o->prev2 = -1;
    o->next2 = -1;
    o->level = -1;
    o->next = (int32_t)b->sym->free_slot;
    b->sym->free_slot = (uint32_t)s + 1;
    b->sym->count--;
    zc_mdirty(b, s);
}

/* Removes the order in slot s, whose id's tag is h. */
ZC_FN void zc_mremove_at(const zc_mbook *b, int32_t s, uint32_t h)
{
    zc_merase_at(b, s, h);
    zc_munlink(b, s);
}

ZC_FN void zc_mremove(const zc_mbook *b, int32_t s) { zc_mremove_at(b, s, zc_mhash(b, b->slot[s].id)); }

ZC_FN void zc_merase_flush(const zc_mbook *b, zc_merase_q *q)
{
    for (uint32_t k = 0; k < q->n; k++)
        zc_merase_at(b, q->slot[k], q->h[k]);
    q->n = 0;
}

ZC_FN void zc_mremove_deferred(const zc_mbook *b, int32_t s, uint32_t h, zc_merase_q *q)
{
    if (q->n == ZC_MERASE_QUEUE)
        zc_merase_flush(b, q);
    q->slot[q->n] = s;
    q->h[q->n++] = h;
    zc_munlink(b, s);
}

/* The end of a walk: its erasures are done now, unless the caller keeps
 * them (host only). */
ZC_FN void zc_merase_end(const zc_mbook *b, zc_merase_q *q)
{
#if defined(ZC_TARGET_HOST)
    if (b->defer && q == &b->defer->erase)
        return;
#endif
    zc_merase_flush(b, q);
}

/* ---- events ---- */

ZC_FN void zc_memit(ZC_GLOBAL zc_mevent *ev, uint32_t *n, uint64_t seq, uint32_t kind, uint32_t symbol,
                    uint64_t order_id, uint64_t maker_id, int64_t price, int64_t qty, int64_t remaining,
                    uint32_t reason)
{
    ZC_GLOBAL zc_mevent *e = &ev[*n];
    e->seq = seq;
    e->order_id = order_id;
    e->maker_id = maker_id;
    e->price = price;
    e->qty = qty;
    e->remaining = remaining;
    e->symbol = symbol;
    e->reason = (uint16_t)reason;
    e->kind = (uint8_t)kind;
    e->pad = 0;
    *n += 1;
}

ZC_FN uint32_t zc_mreject(ZC_GLOBAL zc_mevent *ev, const zc_mbook *b, const zc_morder *o, uint32_t reason)
{
    uint32_t n = 0;
    zc_memit(ev, &n, o->seq, ZC_M_REJECT, b->symbol, o->id, 0, o->price, o->qty, 0, reason);
    return n;
}

/* ---- continuous matching ---- */

/* The opposite level k places below the best (k = 0: the best) when a taker
 * on `side` limited at `price` reaches it, else none. */
ZC_FN ZC_GLOBAL const zc_mlevel *zc_mreach(const zc_mbook *b, uint32_t side, int has_limit, int64_t price,
                                           uint32_t k)
{
    uint32_t opp = side ^ 1u, n = b->sym->nlev[opp];
    if (k >= n)
        return 0;
    ZC_GLOBAL const zc_mref *r = &zc_mside(b, opp)[n - 1 - k];
    if (has_limit && r->key < zc_mlimit(side, price))
        return 0;
    return &b->level[r->level];
}

/* Does a taker on `side` limited at `price` cross the opposite best? */
ZC_FN int zc_mcrosses(const zc_mbook *b, uint32_t side, int has_limit, int64_t price)
{
    return zc_mreach(b, side, has_limit, price, 0) != 0;
}

/* Quantity a taker would execute (self-trade prevention included), counted
 * up to qty, without changing the book; *stops is set when a self-trade
 * would cancel the taker before that. */
ZC_FN int64_t zc_mexecutable(const zc_mbook *b, uint32_t side, int has_limit, int64_t price, int64_t qty,
                             uint32_t trader, uint32_t stp, int *stops)
{
    int64_t exe = 0;
    *stops = 0;
    for (uint32_t k = 0; exe < qty; k++) {
        ZC_GLOBAL const zc_mlevel *l = zc_mreach(b, side, has_limit, price, k);
        if (!l)
            break;
        if (stp == ZC_M_STP_NONE) {
            exe += l->qty;
            continue;
        }
        for (int32_t s = l->head; s >= 0 && exe < qty; s = b->slot[s].next) {
            if (b->slot[s].trader != trader) {
                exe += b->slot[s].qty;
            } else if (stp != ZC_M_STP_OLDEST) {
                *stops = 1;
                return exe;
            }
        }
    }
    return exe;
}

#define ZC_MHINT_LEVELS 16

/* Hints the first maker of each level a taker on `side` reaches, up to the
 * level whose quantity covers qty and at most ZC_MHINT_LEVELS (more misses
 * than that do not overlap anyway, and qty may be unvalidated): within a
 * level the makers are a linked FIFO whose misses come one after another,
 * but the levels' heads are known up front, so a sweep's levels are fetched
 * together. */
ZC_FN void zc_mhint_makers(const zc_mbook *b, uint32_t side, int has_limit, int64_t price, int64_t qty)
{
#if defined(ZC_TARGET_HOST)
    int64_t covered = 0;
    for (uint32_t k = 0; covered < qty && k < ZC_MHINT_LEVELS; k++) {
        ZC_GLOBAL const zc_mlevel *l = zc_mreach(b, side, has_limit, price, k);
        if (!l)
            break;
        __builtin_prefetch(&b->slot[l->head]);
        covered += l->qty;
    }
#endif
}

/* Executes a taker against the opposite side. Returns its open quantity
 * afterwards; *stopped is set when self-trade prevention cancelled it. */
ZC_FN int64_t zc_mtake(const zc_mbook *b, uint32_t side, int has_limit, int64_t price, int64_t qty, uint64_t id,
                       uint32_t trader, uint32_t stp, uint64_t seq, ZC_GLOBAL zc_mevent *ev, uint32_t *n,
                       int *stopped)
{
    uint32_t opp = side ^ 1u;
    ZC_GLOBAL zc_mref *a = zc_mside(b, opp);
    zc_merase_q own, *q = &own;
    own.n = 0;
#if defined(ZC_TARGET_HOST)
    if (b->defer)
        q = &b->defer->erase;
#endif
    *stopped = 0;
    zc_mhint_makers(b, side, has_limit, price, qty);
    int64_t lim = zc_mlimit(side, price);
    while (qty > 0 && b->sym->nlev[opp] > 0) {
        ZC_GLOBAL zc_mref *top = &a[b->sym->nlev[opp] - 1];
        if (has_limit && top->key < lim)
            break;
        int32_t lv = top->level;
        int64_t p = b->level[lv].price;
        /* The level may be dropped below once its last order goes. */
        int32_t s = b->level[lv].head;
        uint32_t left = b->level[lv].count;
        while (left > 0 && qty > 0) {
            ZC_GLOBAL zc_mslot *m = &b->slot[s];
            int32_t next = m->next;
            left--;
            /* The slots of the makers one and two places on and this one's
             * bucket (erased when it fills, after the walk) are fetched
             * together: two makers' misses are in flight at each step. */
            if (left > 0)
                zc_mhint_slot(b, next);
            if (left > 1)
                zc_mhint_slot(b, m->next2);
            uint32_t mh = zc_mhash(b, m->id);
            zc_mhint_bucket_at(b, mh);
            if (stp != ZC_M_STP_NONE && m->trader == trader) {
                if (stp == ZC_M_STP_OLDEST || stp == ZC_M_STP_BOTH) {
                    zc_memit(ev, n, seq, ZC_M_CANCELLED, b->symbol, m->id, id, m->price, m->qty, 0, ZC_M_R_STP);
                    zc_mremove_deferred(b, s, mh, q);
                }
                if (stp != ZC_M_STP_OLDEST) {
                    zc_memit(ev, n, seq, ZC_M_CANCELLED, b->symbol, id, m->id, has_limit ? price : 0, qty, 0,
                             ZC_M_R_STP);
                    zc_merase_end(b, q);
                    *stopped = 1;
                    return 0;
                }
                s = next;
                continue;
            }
            int64_t fill = zc_mmin(qty, m->qty);
            qty -= fill;
            m->qty -= fill;
            b->level[lv].qty -= fill;
            b->sym->last_price = p;
            zc_memit(ev, n, seq, ZC_M_FILL, b->symbol, id, m->id, p, fill, qty, ZC_M_R_NONE);
            if (m->qty == 0)
                zc_mremove_deferred(b, s, mh, q);
            else
                zc_mdirty(b, s);
            s = next;
        }
    }
    zc_merase_end(b, q);
    return qty;
}

/* A new order or a re-entered modify after its ack: execute, then rest or
 * expire the remainder. */
ZC_FN void zc_menter(const zc_mbook *b, uint64_t id, uint32_t trader, uint32_t side, uint32_t type, uint32_t tif,
                     uint32_t stp, int64_t price, int64_t qty, uint64_t seq, uint32_t h, ZC_GLOBAL zc_mevent *ev,
                     uint32_t *n)
{
    int has_limit = type == ZC_M_LIMIT;
    int64_t shown = has_limit ? price : 0;
    if (b->sym->mode == ZC_M_AUCTION) {
        zc_mrest(b, id, trader, side, tif, stp, price, qty, seq, h);
        return;
    }
    int stops;
    if (tif == ZC_M_FOK && zc_mexecutable(b, side, has_limit, price, qty, trader, stp, &stops) < qty) {
        zc_memit(ev, n, seq, ZC_M_EXPIRE, b->symbol, id, 0, shown, qty, 0, ZC_M_R_NONE);
        return;
    }
    /* Most orders do not cross: they skip the walk's set-up. */
    int stopped = 0;
    int64_t left = qty;
    if (zc_mcrosses(b, side, has_limit, price))
        left = zc_mtake(b, side, has_limit, price, qty, id, trader, stp, seq, ev, n, &stopped);
    if (stopped || left == 0)
        return;
    if (has_limit && (tif == ZC_M_GTC || tif == ZC_M_POST_ONLY))
        zc_mrest(b, id, trader, side, tif, stp, price, left, seq, h);
    else
        zc_memit(ev, n, seq, ZC_M_EXPIRE, b->symbol, id, 0, shown, left, 0, ZC_M_R_NONE);
}

/* Reject reason of qty and (when priced) price, or 0. */
ZC_FN uint32_t zc_mcheck_qty_price(const zc_mbook *b, int64_t qty, int priced, int64_t price)
{
    if (qty <= 0 || qty > ZC_M_MAX_QTY)
        return ZC_M_R_BAD_QTY;
    /* A 64-bit division costs tens of cycles; unit sizes need none. */
    int64_t lot = b->sym->lot, tick = b->sym->tick;
    if (lot != 1 && qty % lot != 0)
        return ZC_M_R_LOT;
    if (priced && tick != 1 && price % tick != 0)
        return ZC_M_R_TICK;
    if (priced && (price < b->sym->min_price || price > b->sym->max_price))
        return ZC_M_R_BAND;
    return 0;
}

ZC_FN uint32_t zc_mnew(const zc_mbook *b, const zc_morder *o, uint32_t h, ZC_GLOBAL zc_mevent *ev)
{
    uint32_t side = o->side, type = o->type, tif = o->tif, stp = o->stp;
    if (side > ZC_M_SELL)
        return zc_mreject(ev, b, o, ZC_M_R_BAD_SIDE);
    if (tif > ZC_M_POST_ONLY)
        return zc_mreject(ev, b, o, ZC_M_R_BAD_TIF);
    if (stp > ZC_M_STP_BOTH)
        return zc_mreject(ev, b, o, ZC_M_R_BAD_STP);
    int has_limit = type == ZC_M_LIMIT;
    uint32_t r = zc_mcheck_qty_price(b, o->qty, has_limit, o->price);
    if (r)
        return zc_mreject(ev, b, o, r);
    if (type == ZC_M_MARKET && tif == ZC_M_POST_ONLY)
        return zc_mreject(ev, b, o, ZC_M_R_TIF_FOR_TYPE);
    int auction = b->sym->mode == ZC_M_AUCTION;
    if (auction && (type != ZC_M_LIMIT || tif != ZC_M_GTC))
        return zc_mreject(ev, b, o, ZC_M_R_CALL_PHASE);
    if (zc_mfind_at(b, o->id, h) >= 0)
        return zc_mreject(ev, b, o, ZC_M_R_DUPLICATE_ID);
    if (!auction && tif == ZC_M_POST_ONLY && zc_mcrosses(b, side, 1, o->price))
        return zc_mreject(ev, b, o, ZC_M_R_POST_ONLY);
    if (b->sym->count == b->cap && has_limit && tif != ZC_M_IOC && tif != ZC_M_FOK) {
        /* Rejected only when it would rest. */
        int stops = 0;
        int rests = auction || tif == ZC_M_POST_ONLY ||
                    (zc_mexecutable(b, side, 1, o->price, o->qty, o->trader, stp, &stops) < o->qty && !stops);
        if (rests)
            return zc_mreject(ev, b, o, ZC_M_R_CAPACITY);
    }
    uint32_t n = 0;
    int64_t shown = has_limit ? o->price : 0;
    zc_memit(ev, &n, o->seq, ZC_M_ACK, b->symbol, o->id, 0, shown, o->qty, o->qty, ZC_M_R_NONE);
    zc_menter(b, o->id, o->trader, side, type, tif, stp, o->price, o->qty, o->seq, h, ev, &n);
    return n;
}

ZC_FN uint32_t zc_mcancel(const zc_mbook *b, const zc_morder *o, uint32_t h, ZC_GLOBAL zc_mevent *ev)
{
    int32_t s = zc_mfind_at(b, o->id, h);
    if (s < 0)
        return zc_mreject(ev, b, o, ZC_M_R_UNKNOWN_ID);
    ZC_GLOBAL zc_mslot *m = &b->slot[s];
    if (m->trader != o->trader)
        return zc_mreject(ev, b, o, ZC_M_R_NOT_OWNER);
    uint32_t n = 0;
    zc_memit(ev, &n, o->seq, ZC_M_CANCELLED, b->symbol, m->id, 0, m->price, m->qty, 0, ZC_M_R_NONE);
#if defined(ZC_TARGET_HOST)
    if (b->defer) {
        /* The unlink writes the order's four FIFO neighbours, lines not
         * cached yet: the caller does it later, before anything reads this
         * book again, and the lines are asked for now. */
        zc_merase_at(b, s, h);
        int32_t near[4] = {m->prev, m->prev2, m->next, m->next2};
        for (int k = 0; k < 4; k++)
            if (near[k] >= 0)
                __builtin_prefetch(&b->slot[near[k]], 1);
        b->defer->unlink = s;
        return n;
    }
#endif
    zc_mremove_at(b, s, h);
    return n;
}

ZC_FN uint32_t zc_mmodify(const zc_mbook *b, const zc_morder *o, uint32_t h, ZC_GLOBAL zc_mevent *ev)
{
    uint32_t r = zc_mcheck_qty_price(b, o->qty, 1, o->price);
    if (r)
        return zc_mreject(ev, b, o, r);
    int32_t s = zc_mfind_at(b, o->id, h);
    if (s < 0)
        return zc_mreject(ev, b, o, ZC_M_R_UNKNOWN_ID);
    ZC_GLOBAL zc_mslot *m = &b->slot[s];
    if (m->trader != o->trader)
        return zc_mreject(ev, b, o, ZC_M_R_NOT_OWNER);
    uint32_t side = m->side, tif = m->tif, stp = m->stp;
    int keeps = o->price == m->price && o->qty <= m->qty;
    if (!keeps && b->sym->mode == ZC_M_CONTINUOUS && tif == ZC_M_POST_ONLY && zc_mcrosses(b, side, 1, o->price))
        return zc_mreject(ev, b, o, ZC_M_R_POST_ONLY);
    uint32_t n = 0;
    zc_memit(ev, &n, o->seq, ZC_M_ACK, b->symbol, o->id, 0, o->price, o->qty, o->qty, ZC_M_R_NONE);
    if (keeps) {
        if (o->qty < m->qty) {
            b->level[m->level].qty -= m->qty - o->qty;
            m->qty = o->qty;
            zc_mdirty(b, s);
        }
        return n;
    }
    zc_mremove_at(b, s, h);
    zc_menter(b, o->id, o->trader, side, ZC_M_LIMIT, tif, stp, o->price, o->qty, o->seq, h, ev, &n);
    return n;
}

/* Processes one order of this symbol, whose id's tag is h (zc_mhash);
 * ev must have room for zc_mbound(b, o) events. Returns the number of events
 * written. */
ZC_FN uint32_t zc_match_order_at(const zc_mbook *b, const zc_morder *o, uint32_t h, ZC_GLOBAL zc_mevent *ev)
{
    switch (o->type) {
    case ZC_M_LIMIT:
    case ZC_M_MARKET:
        return zc_mnew(b, o, h, ev);
    case ZC_M_CANCEL:
        return zc_mcancel(b, o, h, ev);
    case ZC_M_MODIFY:
        return zc_mmodify(b, o, h, ev);
    default:
        return zc_mreject(ev, b, o, ZC_M_R_BAD_TYPE);
    }
}

ZC_FN uint32_t zc_match_order(const zc_mbook *b, const zc_morder *o, ZC_GLOBAL zc_mevent *ev)
{
    return zc_match_order_at(b, o, zc_mhash(b, o->id), ev);
}

/* Most events one order can produce: ack and a final cancel or expire, plus
 * one fill or cancel per resting order it can reach: those of the crossing
 * levels until their quantity covers the order (all crossing levels when
 * self-trade prevention may cancel resting orders without using quantity). */
ZC_FN uint64_t zc_mbound(const zc_mbook *b, const zc_morder *o)
{
    if (o->type == ZC_M_CANCEL || o->type > ZC_M_MODIFY || b->sym->mode == ZC_M_AUCTION)
        return 3;
    uint32_t side = o->side, stp = o->stp;
    if (o->type == ZC_M_MODIFY) {
        /* A modify re-enters with the resting order's side and stp. */
        int32_t s = zc_mfind(b, o->id);
        if (s < 0)
            return 3;
        side = b->slot[s].side;
        stp = b->slot[s].stp;
    }
    if (side > ZC_M_SELL)
        return 3;
    int has_limit = o->type != ZC_M_MARKET;
    uint64_t bound = 3;
    int64_t covered = 0;
    for (uint32_t k = 0; stp == ZC_M_STP_OLDEST || covered < o->qty; k++) {
        ZC_GLOBAL const zc_mlevel *l = zc_mreach(b, side, has_limit, o->price, k);
        if (!l)
            break;
        covered += l->qty;
        bound += l->count;
    }
    return bound;
}

#if defined(ZC_TARGET_HOST)
/* Cache hints for orders processed soon (host only; nothing here changes the
 * book). Ids hash to random buckets: the caller hints the bucket of the
 * order ZC_MATCH_AHEAD ahead and, that bucket being cached by then, the slot
 * a cancel or modify half as far ahead names, and, that slot being cached,
 * the FIFO neighbours a cancel a quarter as far ahead will write, so the
 * misses overlap. Looking up levels and makers ahead cost batches more than
 * it saved (bench/RESULTS.md, passes 2 and 7). Sixteen orders: with eight,
 * batches were 5% slower on pass 8's host, and no faster on pass 6's. */
#define ZC_MATCH_AHEAD 16

/* The slot of the first bucket with tag h: the order's, but for a tag
 * shared with another order, which costs only a wasted hint (comparing ids
 * would wait for the very line hinted). */
ZC_FN void zc_mprefetch_slot_at(const zc_mbook *b, uint32_t h)
{
    for (uint32_t i = h & b->hmask;; i = (i + 1) & b->hmask) {
        ZC_GLOBAL const zc_mbucket *k = &b->hash[i];
        if (k->slot1 == 0)
            return;
        if (k->tag == h) {
            __builtin_prefetch(&b->slot[k->slot1 - 1]);
            return;
        }
    }
}

ZC_FN void zc_mprefetch_slot(const zc_mbook *b, uint64_t id) { zc_mprefetch_slot_at(b, zc_mhash(b, id)); }

/* Write hints for the FIFO neighbours a cancel's unlink will write, once its
 * slot is cached (hinted at ZC_MATCH_AHEAD / 2). zc_mcancel hints the same
 * lines for a single order; one helper shared by the two changed GCC's code
 * for the whole batch loop and lost the gain (bench/RESULTS.md, pass 7). */
ZC_FN void zc_mprefetch_unlink_at(const zc_mbook *b, uint64_t id, uint32_t h)
{
    int32_t s = zc_mfind_at(b, id, h);
    if (s < 0)
        return;
    ZC_GLOBAL const zc_mslot *o = &b->slot[s];
    int32_t near[4] = {o->prev, o->prev2, o->next, o->next2};
    for (int k = 0; k < 4; k++)
        if (near[k] >= 0)
            __builtin_prefetch(&b->slot[near[k]], 1);
}

/* For an order about to run with no hint given earlier (the first orders of
 * a call, a single order above all): its bucket and the slots it will reach
 * next (the first maker of each level it crosses, else the tail of the level
 * it would join), so that these misses overlap. */
ZC_FN void zc_mprefetch_now(const zc_mbook *b, uint32_t type, uint32_t side, uint64_t id, int64_t price,
                            int64_t qty)
{
    zc_mhint_bucket(b, id);
    if (type > ZC_M_MARKET || side > ZC_M_SELL)
        return;
    if (zc_mcrosses(b, side, type == ZC_M_LIMIT, price)) {
        /* The makers' heads now, while the duplicate-id check waits for
         * the bucket. */
        zc_mhint_makers(b, side, type == ZC_M_LIMIT, price, qty);
    } else if (type == ZC_M_LIMIT && price >= b->sym->min_price && price <= b->sym->max_price) {
        /* Only a price in the band can rest (the order is not validated
         * yet). */
        ZC_GLOBAL const zc_mref *a = zc_mside(b, side);
        uint32_t n = b->sym->nlev[side];
        int64_t key = zc_mkey(side, price);
        uint32_t pos = zc_mlower(a, n, key, b->sym->tick);
        if (pos < n && a[pos].key == key) {
            /* The tail and the order before it both get links to it. */
            ZC_GLOBAL const zc_mlevel *l = &b->level[a[pos].level];
            __builtin_prefetch(&b->slot[l->tail]);
            if (l->link >= 0)
                __builtin_prefetch(&b->slot[l->link]);
        }
    }
}
#endif

/* Processes orders[begin, end) of this symbol in order, appending their
 * events at ev[*used] (capacity cap) and each order's event count at
 * evcount[i] (i its position in orders, so that a symbol's counts are
 * written in sequence, not scattered over the batch). Stops before an order
 * whose events might not fit and returns the index reached (end when all are
 * done). */
ZC_FN uint32_t zc_match_run(const zc_mbook *b, ZC_GLOBAL const zc_morder *orders, uint32_t begin, uint32_t end,
                            ZC_GLOBAL zc_mevent *ev, uint64_t cap, uint64_t *used, ZC_GLOBAL uint32_t *evcount)
{
#if defined(ZC_TARGET_HOST)
    /* Each order's tag, computed once, when its bucket is hinted
     * ZC_MATCH_AHEAD orders ahead (the first ones' before the loop). */
    uint32_t ahead[ZC_MATCH_AHEAD];
    for (uint32_t i = begin; i < end && i - begin < ZC_MATCH_AHEAD; i++) {
        ahead[i % ZC_MATCH_AHEAD] = zc_mhash(b, orders[i].id);
        zc_mhint_bucket_at(b, ahead[i % ZC_MATCH_AHEAD]);
    }
#endif
    for (uint32_t i = begin; i < end; i++) {
#if defined(ZC_TARGET_HOST)
        uint32_t h = ahead[i % ZC_MATCH_AHEAD];
        if (i + ZC_MATCH_AHEAD < end) {
            uint32_t ha = zc_mhash(b, orders[i + ZC_MATCH_AHEAD].id);
            ahead[i % ZC_MATCH_AHEAD] = ha;
            zc_mhint_bucket_at(b, ha);
            /* And the next bucket, which a lookup that misses may read and
             * an erase always reads: for the last bucket of a line, the next
             * line. Not for single orders, whose rest orders it made about
             * 100 ns slower (bench/RESULTS.md, pass 6). */
            zc_mhint_bucket_at(b, ha + 1);
        }
        uint32_t half = i + ZC_MATCH_AHEAD / 2;
        if (half < end && orders[half].type >= ZC_M_CANCEL)
            zc_mprefetch_slot_at(b, ahead[half % ZC_MATCH_AHEAD]);
        uint32_t quarter = i + ZC_MATCH_AHEAD / 4;
        if (quarter < end && orders[quarter].type == ZC_M_CANCEL)
            zc_mprefetch_unlink_at(b, orders[quarter].id, ahead[quarter % ZC_MATCH_AHEAD]);
        /* The order is read in place: in this register-starved loop a copy
         * goes field by field to the stack, its bytes reloaded as wider
         * words (bench/RESULTS.md, pass 7). */
        const zc_morder *o = &orders[i];
#else
        uint32_t h = zc_mhash(b, orders[i].id);
        zc_morder copy = orders[i], *o = &copy;
#endif
        uint64_t room = cap - *used;
        if (room < 3 + (uint64_t)b->sym->count && room < zc_mbound(b, o))
            return i;
        uint32_t k = zc_match_order_at(b, o, h, ev + *used);
        evcount[i] = k;
        *used += k;
    }
    return end;
}

/* ---- call auction ---- */

ZC_FN int64_t zc_mabs(int64_t x) { return x < 0 ? -x : x; }

/* Clearing price and volume of the book's auction (rules in zkclob/book.h);
 * *volume is 0 when nothing executes. */
ZC_FN void zc_auction_price(const zc_mbook *b, int64_t *price, int64_t *volume, int64_t *imbalance)
{
    ZC_GLOBAL const zc_mref *bid = b->bids;
    ZC_GLOBAL const zc_mref *ask = b->asks;
    uint32_t nb = b->sym->nlev[ZC_M_BUY], na = b->sym->nlev[ZC_M_SELL];
    int64_t demand_all = 0;
    for (uint32_t i = 0; i < nb; i++)
        demand_all += b->level[bid[i].level].qty;
    int64_t ref = b->sym->last_price;
    int64_t best_v = 0, best_imb = 0, best_dist = 0, best_p = 0;
    /* Candidate prices in ascending order: bids run up from index 0, asks
     * from index na - 1 down (a bid's key is its price, an ask's is the
     * negated price). below = bid quantity priced under p,
     * supply = ask quantity priced at or under p. */
    uint32_t i = 0, j = na;
    int64_t below = 0, supply = 0;
    while (i < nb || j > 0) {
        int64_t p;
        if (j == 0 || (i < nb && bid[i].key <= zc_mkey(ZC_M_SELL, ask[j - 1].key)))
            p = bid[i].key;
        else
            p = zc_mkey(ZC_M_SELL, ask[j - 1].key);
        while (j > 0 && zc_mkey(ZC_M_SELL, ask[j - 1].key) <= p) {
            supply += b->level[ask[j - 1].level].qty;
            j--;
        }
        int64_t demand = demand_all - below;
        int64_t v = zc_mmin(demand, supply);
        int64_t imb = zc_mabs(demand - supply);
        int64_t dist = zc_mabs(p - ref);
        if (v > best_v || (v == best_v && v > 0 && (imb < best_imb || (imb == best_imb && dist < best_dist)))) {
            best_v = v;
            best_imb = imb;
            best_dist = dist;
            best_p = p;
        }
        while (i < nb && bid[i].key <= p) {
            below += b->level[bid[i].level].qty;
            i++;
        }
    }
    *price = best_p;
    *volume = best_v;
    *imbalance = best_imb;
}

/* Executes `volume` at the clearing price in price-time priority; ev needs
 * room for count + 1 events. */
ZC_FN uint32_t zc_auction_execute(const zc_mbook *b, uint64_t seq, int64_t price, int64_t volume,
                                  ZC_GLOBAL zc_mevent *ev)
{
    uint32_t n = 0;
    while (volume > 0) {
        int32_t bl = b->bids[b->sym->nlev[ZC_M_BUY] - 1].level;
        int32_t al = b->asks[b->sym->nlev[ZC_M_SELL] - 1].level;
        int32_t bs = b->level[bl].head, as = b->level[al].head;
        ZC_GLOBAL zc_mslot *bo = &b->slot[bs];
        ZC_GLOBAL zc_mslot *ao = &b->slot[as];
        int64_t q = zc_mmin(volume, zc_mmin(bo->qty, ao->qty));
        volume -= q;
        bo->qty -= q;
        ao->qty -= q;
        b->level[bl].qty -= q;
        b->level[al].qty -= q;
        int bid_newer = bo->seq > ao->seq;
        ZC_GLOBAL zc_mslot *newer = bid_newer ? bo : ao;
        ZC_GLOBAL zc_mslot *older = bid_newer ? ao : bo;
        zc_memit(ev, &n, seq, ZC_M_FILL, b->symbol, newer->id, older->id, price, q, newer->qty, ZC_M_R_NONE);
        if (bo->qty == 0)
            zc_mremove(b, bs);
        else
            zc_mdirty(b, bs);
        if (ao->qty == 0)
            zc_mremove(b, as);
        else
            zc_mdirty(b, as);
    }
    if (n > 0)
        b->sym->last_price = price;
    return n;
}

/* Executes the call auction; ev needs room for count + 1 events. */
ZC_FN uint32_t zc_auction_uncross(const zc_mbook *b, uint64_t seq, ZC_GLOBAL zc_mevent *ev)
{
    int64_t price, volume, imbalance;
    zc_auction_price(b, &price, &volume, &imbalance);
    return zc_auction_execute(b, seq, price, volume, ev);
}

/* ---- kernel bodies (one work item per task) ---- */

ZC_FN void zc_match_task(ZC_GLOBAL zc_mslot *slots, ZC_GLOBAL zc_mlevel *levels, ZC_GLOBAL zc_mref *sides,
                         ZC_GLOBAL zc_mbucket *buckets, ZC_GLOBAL int32_t *dirty,
                         ZC_GLOBAL zc_msym *syms, uint32_t cap, uint32_t hsize, uint64_t k0, uint64_t k1,
                         ZC_GLOBAL const zc_morder *orders, ZC_GLOBAL zc_mtask *tasks, ZC_GLOBAL zc_mevent *ev,
                         ZC_GLOBAL uint32_t *evcount, uint64_t t)
{
    ZC_GLOBAL zc_mtask *task = &tasks[t];
    zc_mbook b = zc_mbook_at(slots, levels, sides, buckets, dirty, syms, cap, hsize, k0, k1, task->symbol);
    uint64_t used = task->ev_used;
    uint32_t start = task->begin + task->done;
    task->done = zc_match_run(&b, orders, start, task->end, ev + task->ev_off, task->ev_cap, &used, evcount) -
                 task->begin;
    task->ev_used = used;
    task->resting = b.sym->count;
}

/* ---- call auction on devices: one work group per symbol ---- */
/* Work items per symbol; the CUDA backend's block size. */
#define ZC_AUCTION_GROUP 256

#if !defined(ZC_TARGET_HOST)

/* A candidate clearing price and its ranking keys. */
typedef struct zc_mclear {
    int64_t volume, imbalance, distance, price;
} zc_mclear;

/* Does a rank before b (rules in zkclob/book.h)? */
ZC_GROUP_FN int zc_mclear_before(const zc_mclear *a, const zc_mclear *b)
{
    if (a->volume != b->volume)
        return a->volume > b->volume;
    if (a->imbalance != b->imbalance)
        return a->imbalance < b->imbalance;
    if (a->distance != b->distance)
        return a->distance < b->distance;
    return a->price < b->price;
}

/* out[i] = sum of the quantities of side entries i..n-1 (the levels at
 * least as good as entry i), by an inclusive scan of the side read from its
 * best end, ZC_AUCTION_GROUP entries at a time (Hillis-Steele in local
 * memory, carry between chunks). */
ZC_GROUP_FN void zc_auction_suffix_sums(const zc_mbook *b, ZC_GLOBAL const zc_mref *side, uint32_t n,
                                        ZC_GLOBAL int64_t *out, ZC_LOCAL_PTR int64_t *scan, uint32_t lid)
{
    int64_t carry = 0;
    for (uint32_t base = 0; base < n; base += ZC_AUCTION_GROUP) {
        uint32_t r = base + lid; /* distance from the best end */
        scan[lid] = r < n ? b->level[side[n - 1 - r].level].qty : 0;
        ZC_BARRIER();
        for (uint32_t off = 1; off < ZC_AUCTION_GROUP; off <<= 1) {
            int64_t add = lid >= off ? scan[lid - off] : 0;
            ZC_BARRIER();
            scan[lid] += add;
            ZC_BARRIER();
        }
        if (r < n)
            out[n - 1 - r] = carry + scan[lid];
        carry += scan[ZC_AUCTION_GROUP - 1];
        ZC_BARRIER();
    }
}

/* Index of the first bid priced >= p (bids ascend; their keys are their
 * prices), nb when none. */
ZC_GROUP_FN uint32_t zc_auction_first_bid(ZC_GLOBAL const zc_mref *bid, uint32_t nb, int64_t p)
{
    uint32_t lo = 0, hi = nb;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (bid[mid].key < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the first ask priced <= p (asks descend), na when none. */
ZC_GROUP_FN uint32_t zc_auction_first_ask(ZC_GLOBAL const zc_mref *ask, uint32_t na, int64_t p)
{
    uint32_t lo = 0, hi = na;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (zc_mkey(ZC_M_SELL, ask[mid].key) > p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The same clearing price as zc_auction_price: demand at every bid level
 * and supply at every ask level by parallel prefix sums into scratch
 * (2 * cap entries), each work item ranks a share of the candidate prices
 * (the other side's cumulative sum found by binary search), and a tree
 * reduction in local memory (4 * ZC_AUCTION_GROUP entries) picks the best. */
ZC_GROUP_FN void zc_auction_price_group(const zc_mbook *b, ZC_GLOBAL int64_t *scratch, ZC_LOCAL_PTR int64_t *loc,
                                        uint32_t lid, int64_t *price, int64_t *volume)
{
    ZC_GLOBAL const zc_mref *bid = b->bids;
    ZC_GLOBAL const zc_mref *ask = b->asks;
    uint32_t nb = b->sym->nlev[ZC_M_BUY], na = b->sym->nlev[ZC_M_SELL];
    ZC_GLOBAL int64_t *demand = scratch;
    ZC_GLOBAL int64_t *supply = scratch + b->cap;
    /* One call site: PoCL 2.10's LLVM crashes inlining a barrier function twice. */
    for (int side = 0; side < 2; side++)
        zc_auction_suffix_sums(b, side ? ask : bid, side ? na : nb, side ? supply : demand, loc, lid);
    ZC_BARRIER_GLOBAL();
    int64_t ref = b->sym->last_price;
    zc_mclear best = {0, 0, 0, 0};
    for (uint32_t c = lid; c < nb + na; c += ZC_AUCTION_GROUP) {
        zc_mclear x;
        int64_t d, s;
        if (c < nb) {
            x.price = bid[c].key;
            d = demand[c];
            uint32_t k = zc_auction_first_ask(ask, na, x.price);
            s = k < na ? supply[k] : 0;
        } else {
            x.price = zc_mkey(ZC_M_SELL, ask[c - nb].key);
            s = supply[c - nb];
            uint32_t k = zc_auction_first_bid(bid, nb, x.price);
            d = k < nb ? demand[k] : 0;
        }
        x.volume = zc_mmin(d, s);
        x.imbalance = zc_mabs(d - s);
        x.distance = zc_mabs(x.price - ref);
        if (x.volume > 0 && zc_mclear_before(&x, &best))
            best = x;
    }
    ZC_LOCAL_PTR int64_t *v = loc, *imb = loc + ZC_AUCTION_GROUP, *dist = loc + 2 * ZC_AUCTION_GROUP,
                     *p = loc + 3 * ZC_AUCTION_GROUP;
    v[lid] = best.volume;
    imb[lid] = best.imbalance;
    dist[lid] = best.distance;
    p[lid] = best.price;
    ZC_BARRIER();
    for (uint32_t stride = ZC_AUCTION_GROUP / 2; stride > 0; stride >>= 1) {
        if (lid < stride) {
            zc_mclear mine = {v[lid], imb[lid], dist[lid], p[lid]};
            zc_mclear other = {v[lid + stride], imb[lid + stride], dist[lid + stride], p[lid + stride]};
            if (other.volume > 0 && zc_mclear_before(&other, &mine)) {
                v[lid] = other.volume;
                imb[lid] = other.imbalance;
                dist[lid] = other.distance;
                p[lid] = other.price;
            }
        }
        ZC_BARRIER();
    }
    *price = p[0];
    *volume = v[0];
}

/* A task's call auction by one work group of ZC_AUCTION_GROUP items; item 0
 * allocates (time priority is sequential by nature). */
ZC_GROUP_FN void zc_auction_group_task(ZC_GLOBAL zc_mslot *slots, ZC_GLOBAL zc_mlevel *levels,
                                       ZC_GLOBAL zc_mref *sides, ZC_GLOBAL zc_mbucket *buckets,
                                       ZC_GLOBAL int32_t *dirty, ZC_GLOBAL zc_msym *syms, uint32_t cap,
                                       uint32_t hsize, uint64_t k0, uint64_t k1, uint64_t seq,
                                       ZC_GLOBAL zc_mtask *tasks, ZC_GLOBAL zc_mevent *ev,
                                       ZC_GLOBAL int64_t *scratch, ZC_LOCAL_PTR int64_t *loc, uint64_t t, uint32_t lid)
{
    ZC_GLOBAL zc_mtask *task = &tasks[t];
    zc_mbook b = zc_mbook_at(slots, levels, sides, buckets, dirty, syms, cap, hsize, k0, k1, task->symbol);
    int64_t price, volume;
    zc_auction_price_group(&b, scratch + t * 2 * (uint64_t)cap, loc, lid, &price, &volume);
    if (lid != 0)
        return;
    task->ev_used = zc_auction_execute(&b, seq, price, volume, ev + task->ev_off);
    task->done = 1;
    task->resting = b.sym->count;
}
#endif

/* Copies task t's events to their place in the dense output. */
ZC_FN void zc_match_compact_task(ZC_GLOBAL const zc_mtask *tasks, ZC_GLOBAL const zc_mevent *ev,
                                 ZC_GLOBAL zc_mevent *dense, uint64_t t)
{
    ZC_GLOBAL const zc_mtask *task = &tasks[t];
    for (uint64_t i = 0; i < task->ev_used; i++)
        dense[task->dst_off + i] = ev[task->ev_off + i];
}

/* Exclusive prefix sum of the tasks' ev_used into dst_off, and the total in
 * *total: run on the device between matching and compaction (one work item;
 * a batch has at most one task per symbol), so that no host round trip
 * separates them. */
ZC_FN void zc_match_offsets_run(ZC_GLOBAL zc_mtask *tasks, ZC_GLOBAL uint64_t *total, uint32_t ntasks)
{
    uint64_t m = 0;
    for (uint32_t t = 0; t < ntasks; t++) {
        tasks[t].dst_off = m;
        m += tasks[t].ev_used;
    }
    *total = m;
}

#endif
