/* Order book C API: packed layouts, matching and events, every reject reason,
 * the order-id hash table under colliding ids, caller-buffer overflow,
 * auctions, CRC32C, the journal (replay, torn tails, corruption) and
 * cross-device determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "match.h"
#include "zkclob/zkclob.h"

#include "test_util.h"

static zc_engine *make_engine(const char *device, uint32_t symbols, uint32_t capacity, const char *journal)
{
    zc_engine_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.symbols = symbols;
    cfg.capacity = capacity;
    cfg.device = device;
    cfg.journal = journal;
    cfg.defaults.tick_size = 5;
    cfg.defaults.lot_size = 10;
    cfg.defaults.min_price = 100;
    cfg.defaults.max_price = 1000;
    cfg.hash_seed = 42;
    zc_engine *e = NULL;
    zc_status st = zc_engine_create(&cfg, &e);
    if (st != ZC_OK)
        fail_msg("zc_engine_create: %s", zc_last_error());
    return e;
}

/* Submits and returns the events (caller frees). */
static zc_event *submit(zc_engine *e, const zc_order *o, size_t n, size_t *m)
{
    zc_array *a = NULL;
    zc_status st = zc_engine_submit(e, o, n, &a);
    if (st != ZC_OK)
        fail_msg("zc_engine_submit: %s", zc_last_error());
    *m = zc_array_nbytes(a) / sizeof(zc_event);
    zc_event *ev = malloc(zc_array_nbytes(a) + 1);
    memcpy(ev, zc_array_data(a), zc_array_nbytes(a));
    zc_array_release(a);
    return ev;
}

static void test_layouts(void **state)
{
    (void)state;
    assert_int_equal(sizeof(zc_order), 44);
    assert_int_equal(offsetof(zc_order, side), 16);
    assert_int_equal(offsetof(zc_order, price), 20);
    assert_int_equal(offsetof(zc_order, ts), 36);
    assert_int_equal(sizeof(zc_event), 55);
    assert_int_equal(offsetof(zc_event, symbol), 9);
    assert_int_equal(offsetof(zc_event, reason), 53);
}

static void test_cross_and_fills(void **state)
{
    (void)state;
    zc_engine *e = make_engine("cpu", 2, 64, NULL);
    zc_order o[4] = {lim(1, 7, 0, ZC_SIDE_SELL, 500, 30), lim(2, 7, 0, ZC_SIDE_SELL, 505, 20),
                     lim(3, 8, 0, ZC_SIDE_BUY, 505, 40), lim(4, 8, 1, ZC_SIDE_BUY, 500, 10)};
    size_t m;
    zc_event *ev = submit(e, o, 4, &m);
    /* ack 1, ack 2, ack 3, fill 3x1 30 @500, fill 3x2 10 @505, ack 4 */
    assert_int_equal(m, 6);
    assert_int_equal(ev[3].kind, ZC_EVENT_FILL);
    assert_int_equal(ev[3].seq, 3);
    assert_int_equal(ev[3].order_id, 3);
    assert_int_equal(ev[3].maker_id, 1);
    assert_int_equal(ev[3].price, 500);
    assert_int_equal(ev[3].qty, 30);
    assert_int_equal(ev[3].remaining, 10);
    assert_int_equal(ev[4].maker_id, 2);
    assert_int_equal(ev[4].price, 505);
    assert_int_equal(ev[4].qty, 10);
    assert_int_equal(ev[4].remaining, 0);
    assert_int_equal(ev[5].symbol, 1);
    assert_int_equal(ev[5].seq, 4);
    free(ev);

    zc_array *bids, *asks;
    assert_int_equal(zc_engine_depth(e, 0, 10, &bids, &asks), ZC_OK);
    assert_int_equal(zc_array_nbytes(bids), 0);
    assert_int_equal(zc_array_nbytes(asks), sizeof(zc_depth_level));
    const zc_depth_level *a = zc_array_data(asks);
    assert_int_equal(a->price, 505);
    assert_int_equal(a->qty, 10);
    assert_int_equal(a->count, 1);
    zc_array_release(bids);
    zc_array_release(asks);
    zc_engine_info info;
    assert_int_equal(zc_engine_info_get(e, &info), ZC_OK);
    assert_int_equal(info.next_seq, 5);
    assert_int_equal(info.resting, 2);
    zc_engine_destroy(e);
}

static void expect_reject(zc_engine *e, zc_order o, zc_reason reason)
{
    size_t m;
    zc_event *ev = submit(e, &o, 1, &m);
    assert_int_equal(m, 1);
    assert_int_equal(ev[0].kind, ZC_EVENT_REJECT);
    assert_int_equal(ev[0].reason, reason);
    free(ev);
}

static void test_rejects(void **state)
{
    (void)state;
    zc_engine *e = make_engine("cpu", 1, 2, NULL);
    size_t m;
    zc_order base = lim(1, 1, 0, ZC_SIDE_BUY, 500, 10);
    free(submit(e, &base, 1, &m));
    uint8_t root[32], root2[32];
    assert_int_equal(zc_engine_state_root(e, root), ZC_OK);

    zc_order o = base;
    o.id = 2;
    o.symbol = 5;
    expect_reject(e, o, ZC_REASON_UNKNOWN_SYMBOL);
    o = base, o.id = 2, o.type = 9;
    expect_reject(e, o, ZC_REASON_BAD_TYPE);
    o = base, o.id = 2, o.side = 2;
    expect_reject(e, o, ZC_REASON_BAD_SIDE);
    o = base, o.id = 2, o.tif = 4;
    expect_reject(e, o, ZC_REASON_BAD_TIF);
    o = base, o.id = 2, o.stp = 4;
    expect_reject(e, o, ZC_REASON_BAD_STP);
    o = base, o.id = 2, o.qty = 0;
    expect_reject(e, o, ZC_REASON_BAD_QTY);
    o = base, o.id = 2, o.qty = -10;
    expect_reject(e, o, ZC_REASON_BAD_QTY);
    o = base, o.id = 2, o.qty = ZC_BOOK_MAX_QTY + 10;
    expect_reject(e, o, ZC_REASON_BAD_QTY);
    o = base, o.id = 2, o.qty = 15;
    expect_reject(e, o, ZC_REASON_LOT);
    o = base, o.id = 2, o.price = 502;
    expect_reject(e, o, ZC_REASON_TICK);
    o = base, o.id = 2, o.price = 1005;
    expect_reject(e, o, ZC_REASON_BAND);
    o = base, o.id = 2, o.price = 95;
    expect_reject(e, o, ZC_REASON_BAND);
    o = base, o.id = 2, o.type = ZC_ORDER_MARKET, o.tif = ZC_TIF_POST_ONLY;
    expect_reject(e, o, ZC_REASON_TIF_FOR_TYPE);
    o = base;
    expect_reject(e, o, ZC_REASON_DUPLICATE_ID);
    o = base, o.id = 99, o.type = ZC_ORDER_CANCEL;
    expect_reject(e, o, ZC_REASON_UNKNOWN_ID);
    o = base, o.id = 99, o.type = ZC_ORDER_MODIFY;
    expect_reject(e, o, ZC_REASON_UNKNOWN_ID);
    o = base, o.trader = 2, o.type = ZC_ORDER_CANCEL;
    expect_reject(e, o, ZC_REASON_NOT_OWNER);
    o = base, o.id = 2, o.side = ZC_SIDE_SELL, o.tif = ZC_TIF_POST_ONLY;
    expect_reject(e, o, ZC_REASON_POST_ONLY);
    o = base, o.id = 2, o.price = 400;
    free(submit(e, &o, 1, &m)); /* fills the second of two slots */
    assert_int_equal(zc_engine_state_root(e, root2), ZC_OK);
    o = base, o.id = 3, o.price = 300;
    expect_reject(e, o, ZC_REASON_CAPACITY);
    assert_int_equal(zc_engine_set_mode(e, 0, ZC_MODE_AUCTION), ZC_OK);
    o = base, o.id = 3, o.tif = ZC_TIF_IOC;
    expect_reject(e, o, ZC_REASON_CALL_PHASE);
    uint8_t root3[32];
    assert_int_equal(zc_engine_state_root(e, root3), ZC_OK);
    assert_memory_equal(root2, root3, 32);
    assert_memory_not_equal(root, root2, 32);
    zc_engine_destroy(e);
}

/* ---- hash table ---- */

static uint64_t inv_odd(uint64_t a)
{
    uint64_t x = a; /* Newton: each step doubles the correct low bits */
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

/* One symbol's flat arrays, for the tests that drive the matcher directly
 * (one at a time), with room for DIRECT_CAP orders. */
enum { DIRECT_CAP = 512 };
static struct {
    zc_mslot slots[DIRECT_CAP];
    zc_mlevel levels[DIRECT_CAP + 2 * ZC_MSTAGGER_LINES];
    zc_mref sides[2 * DIRECT_CAP + 4 * ZC_MSTAGGER_LINES];
    zc_mbucket buckets[2 * DIRECT_CAP];
    int32_t dirty[DIRECT_CAP];
    zc_mevent ev[3 + DIRECT_CAP];
} direct;

/* The random streams of these tests: Knuth's 64-bit LCG, top bits. */
static uint32_t lcg_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*state >> 33);
}

/* An empty book of `cap` orders (at most DIRECT_CAP) over `direct`. */
static zc_mbook direct_book(zc_msym *sym, uint32_t cap, uint64_t k0, uint64_t k1)
{
    memset(&direct, 0, sizeof direct);
    zc_mbook b = zc_mbook_at(direct.slots, direct.levels, direct.sides, direct.buckets, direct.dirty, sym, cap,
                             2 * cap, k0, k1, 0);
    zc_mbook_reset(&b);
    return b;
}

/* The slot of the resting order number `pick` (below the count), in slot
 * order. */
static int32_t nth_resting(const zc_mbook *b, uint32_t pick)
{
    uint32_t seen = 0;
    for (int32_t x = 0; x < (int32_t)b->cap; x++)
        if (b->slot[x].qty > 0 && seen++ == pick)
            return x;
    fail_msg("fewer than %u resting orders", pick + 1);
    return -1;
}

/* An id whose 64-bit keyed mix (zc_mhash: its low 32 bits) is h. */
static uint64_t id_for_hash(uint64_t h, uint64_t k0, uint64_t k1)
{
    h ^= h >> 32;
    h *= inv_odd(0xD6E8FEB86659FD93ull);
    h ^= k1;
    h ^= h >> 32;
    h *= inv_odd(0x9E3779B97F4A7C15ull);
    return h ^ k0;
}

static void test_hash_collisions(void **state)
{
    (void)state;
    enum { CAP = 1024, HSIZE = 2048, N = 900 };
    zc_mbucket *buckets = calloc(HSIZE, sizeof *buckets);
    zc_mslot *slots = calloc(N, sizeof *slots);
    zc_mbook b;
    memset(&b, 0, sizeof b);
    b.hash = buckets;
    b.slot = slots;
    b.hmask = HSIZE - 1;
    b.k0 = 0x1234567887654321ull;
    b.k1 = 0x0F0F0F0FF0F0F0F0ull;
    /* Every id lands in bucket 2040 (the run wraps past the end), plus
     * a second cluster at bucket 5 that the first run overruns; the ids of
     * a cluster share their whole tag, so only their slots tell them apart.
     * Order i rests in slot i. */
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        uint64_t bucket = i % 3 ? 2040 : 5;
        ids[i] = id_for_hash(((uint64_t)(i + 1) << 32) | bucket, b.k0, b.k1);
        assert_int_equal(zc_mhash(&b, ids[i]), bucket);
        slots[i].id = ids[i];
    }
    int present[N] = {0};
    uint32_t rng = 12345;
    for (int round = 0; round < 20000; round++) {
        rng = rng * 1664525u + 1013904223u;
        int i = (int)((rng >> 8) % N);
        if (present[i]) {
            assert_int_equal(zc_mfind(&b, ids[i]), i);
            zc_merase_at(&b, i, zc_mhash(&b, ids[i]));
            present[i] = 0;
        } else {
            assert_int_equal(zc_mfind(&b, ids[i]), -1);
            zc_minsert_at(&b, i, zc_mhash(&b, ids[i]));
            present[i] = 1;
        }
        if (round % 1000 == 0)
            for (int j = 0; j < N; j++)
                assert_int_equal(zc_mfind(&b, ids[j]), present[j] ? j : -1);
    }
    for (int j = 0; j < N; j++)
        assert_int_equal(zc_mfind(&b, ids[j]), present[j] ? j : -1);
    free(slots);
    free(buckets);
}

/* An erasure deferred past a rest (zc_merase_q): the erased order's slot
 * already holds a new order, whose entry is in the same probe run, with a
 * different tag or with the same one. The erasure takes the old entry, and
 * the new order stays findable. */
static void test_hash_erase_reused_slot(void **state)
{
    (void)state;
    for (int same_tag = 0; same_tag < 2; same_tag++) {
        static zc_msym sym;
        zc_mbook b = direct_book(&sym, 8, 3, 5); /* 16 buckets */
        zc_mslot *slots = b.slot;
        zc_mbucket *buckets = b.hash;
        uint64_t old_id = id_for_hash((1ull << 32) | 0x107, b.k0, b.k1);
        uint64_t new_id = id_for_hash((2ull << 32) | (same_tag ? 0x107 : 0x207), b.k0, b.k1);
        uint64_t other = id_for_hash((3ull << 32) | 0x307, b.k0, b.k1);
        /* old in slot 2, another order in slot 1, both homed at bucket 7;
         * old leaves and new takes slot 2 before old's entry is erased. */
        slots[2].id = old_id;
        zc_minsert_at(&b, 2, zc_mhash(&b, old_id));
        slots[1].id = other;
        zc_minsert_at(&b, 1, zc_mhash(&b, other));
        slots[2].id = new_id;
        zc_minsert_at(&b, 2, zc_mhash(&b, new_id));
        zc_merase_at(&b, 2, zc_mhash(&b, old_id));
        assert_int_equal(zc_mfind(&b, old_id), -1);
        assert_int_equal(zc_mfind(&b, new_id), 2);
        assert_int_equal(zc_mfind(&b, other), 1);
        int used = 0;
        for (uint32_t i = 0; i <= b.hmask; i++)
            used += buckets[i].slot1 != 0;
        assert_int_equal(used, 2);
        /* The run closed up behind the erasure: both are in their home line
         * from bucket 7 on, with no hole. */
        assert_int_not_equal(buckets[7].slot1, 0);
        assert_int_not_equal(buckets[8].slot1, 0);
    }
}

/* The price-level search, its sort keys and the crossing test against
 * plain definitions: every length up to 70, both sides, ticks of 1, 2 and 3,
 * levels dense on the tick grid and with holes of up to 7 ticks (so the
 * first probe is the answer, or below it with every bracket size after it),
 * a tick of 1 for levels two apart, a far outlier, keys between and on the
 * entries, beyond both ends, and prices at the +-2^62 bound. */
static void test_level_search(void **state)
{
    (void)state;
    enum { MAXN = 70 };
    const int64_t big = (int64_t)1 << 62;
    static const struct {
        int64_t tick, step; /* step 0: holes */
    } grids[] = {{1, 1}, {1, 2}, {2, 2}, {3, 3}, {1, 0}, {3, 0}};
    static const int64_t holes[] = {1, 1, 2, 1, 7, 1, 3, 1, 1, 5, 2, 1};
    for (uint32_t side = 0; side < 2; side++) {
        assert_int_equal(zc_mkey(side, 12345), side == ZC_M_BUY ? 12345 : -12345);
        assert_int_equal(zc_mkey(side, -big), side == ZC_M_BUY ? -big : big);
        assert_int_equal(zc_mkey(side, big), side == ZC_M_BUY ? big : -big);
        /* A taker limited at `price` reaches an opposite entry at p. */
        for (int64_t price = 98; price <= 102; price++)
            for (int64_t p = 98; p <= 102; p++)
                assert_int_equal(zc_mkey(side ^ 1u, p) >= zc_mlimit(side, price),
                                 side == ZC_M_BUY ? p <= price : p >= price);
    }
    /* Side arrays hold keys, whatever the side. */
    for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
        int64_t tick = grids[g].tick;
        zc_mref a[MAXN];
        for (uint32_t n = 0; n <= MAXN; n++) {
            /* Keys ascending on multiples of the tick; with n > 1, the
             * first is far below. */
            int64_t k = -42;
            for (uint32_t i = 0; i < n; i++) {
                k += tick * (grids[g].step ? grids[g].step / tick : holes[(i + n) % (sizeof holes / sizeof holes[0])]);
                a[i].key = i == 0 && n > 1 ? k - (big / 2 / 6) * 6 : k;
                a[i].level = (int32_t)i;
                a[i].pad = 0;
            }
            for (int64_t key = -big; key <= k + 3; key = key == -big ? -45 : key + 1) {
                uint32_t want = 0;
                while (want < n && a[want].key < key)
                    want++;
                assert_int_equal(zc_mlower(a, n, key, tick), want);
            }
        }
    }
}

/* Symbols' level and side arrays lie at strides whose size in cache lines
 * is odd, so a power-of-two capacity does not put every symbol's hot
 * entries in the same cache sets, and each side has room for `cap` levels
 * without touching the next side or symbol. */
static void test_book_strides(void **state)
{
    (void)state;
    for (uint32_t cap = 4; cap <= (1u << 22); cap *= 2) {
        assert_int_equal(zc_mlevel_stride(cap) * sizeof(zc_mlevel) % 128, 64);
        assert_int_equal(zc_mside_stride(cap) * sizeof(zc_mref) % 128, 64);
        assert_int_not_equal(zc_mask_offset(cap) * sizeof(zc_mref) % 4096, 0);
        assert_true(zc_mask_offset(cap) >= cap);
        assert_true(zc_mside_stride(cap) >= zc_mask_offset(cap) + cap);
        assert_true(zc_mlevel_stride(cap) >= cap);
    }
    enum { CAP = 4 };
    static zc_mslot slots[2 * CAP];
    static zc_mlevel levels[2 * (CAP + 2 * ZC_MSTAGGER_LINES)];
    static zc_mref sides[2 * (2 * CAP + 4 * ZC_MSTAGGER_LINES)];
    static zc_mbucket buckets[2 * 2 * CAP];
    static int32_t dirty[2 * CAP];
    static zc_msym syms[2];
    zc_mbook b[2];
    for (uint32_t s = 0; s < 2; s++) {
        b[s] = zc_mbook_at(slots, levels, sides, buckets, dirty, syms, CAP, 2 * CAP, 0, 0, s);
        assert_ptr_equal(zc_mside(&b[s], ZC_M_BUY), b[s].bids);
        assert_ptr_equal(zc_mside(&b[s], ZC_M_SELL), b[s].asks);
        assert_true(b[s].asks >= b[s].bids + CAP);
        assert_true(b[s].asks + CAP <= sides + (s + 1) * zc_mside_stride(CAP));
        assert_true(b[s].level + CAP <= levels + (s + 1) * zc_mlevel_stride(CAP));
    }
    assert_ptr_equal(b[1].bids, sides + zc_mside_stride(CAP));
    assert_ptr_equal(b[1].level, levels + zc_mlevel_stride(CAP));
}

/* Every level's FIFO links: prev and next, the two-places-on links prev2 and
 * next2 and the level's link to the order before its tail. */
static void check_fifo_links(const zc_mbook *b)
{
    uint32_t resting = 0;
    for (uint32_t side = 0; side < 2; side++) {
        const zc_mref *a = zc_mside(b, side);
        for (uint32_t k = 0; k < b->sym->nlev[side]; k++) {
            const zc_mlevel *l = &b->level[a[k].level];
            int32_t p1 = -1, p2 = -1;
            uint32_t count = 0;
            for (int32_t x = l->head; x >= 0; x = b->slot[x].next) {
                const zc_mslot *o = &b->slot[x];
                int32_t n1 = o->next;
                assert_int_equal(o->level, a[k].level);
                assert_int_equal(o->prev, p1);
                assert_int_equal(o->prev2, p2);
                assert_int_equal(o->next2, n1 >= 0 ? b->slot[n1].next : -1);
                p2 = p1;
                p1 = x;
                count++;
            }
            assert_int_equal(l->tail, p1);
            assert_int_equal(l->link, p2);
            assert_int_equal(l->count, count);
            resting += count;
        }
    }
    assert_int_equal(b->sym->count, resting);
}

/* The level cache (zc_mnear): each entry names no level, or a level that is
 * live on the entry's side and whose key maps to the entry. */
static void check_level_cache(const zc_mbook *b)
{
    for (uint32_t side = 0; side < 2; side++) {
        const zc_mref *a = zc_mside(b, side);
        for (uint32_t k = 0; k < ZC_MNEAR; k++) {
            int32_t lv = b->sym->near[side][k] - 1;
            if (lv < 0)
                continue;
            uint32_t at = 0;
            while (at < b->sym->nlev[side] && a[at].level != lv)
                at++;
            assert_true(at < b->sym->nlev[side]);
            assert_int_equal(zc_mkey(side, b->level[lv].price), a[at].key);
            assert_ptr_equal(zc_mnear(b, side, a[at].key), &b->sym->near[side][k]);
        }
    }
}

/* Rests and cancels over more prices than the level cache has entries (so
 * prices share entries), with a tick of 1 and of 3, in continuous mode with
 * sweeps and in auction mode (bids and asks at the same prices), then an
 * uncross: the cache stays consistent after every order, and levels come
 * and go throughout. */
static void test_level_cache(void **state)
{
    (void)state;
    enum { N = 6000 };
    for (int run = 0; run < 4; run++) {
        static zc_msym sym;
        int64_t tick = run & 1 ? 3 : 1;
        uint32_t mode = run >= 2 ? ZC_M_AUCTION : ZC_M_CONTINUOUS;
        memset(&sym, 0, sizeof sym);
        sym.tick = tick;
        sym.lot = 1;
        sym.min_price = tick;
        sym.max_price = 1000 * tick;
        sym.mode = mode;
        zc_mbook b = direct_book(&sym, DIRECT_CAP, 5, 9);
        uint64_t rng = 99 + (uint64_t)run, next_id = 1;
        uint32_t dropped = 0;
        for (uint64_t seq = 0; seq < N; seq++) {
            uint32_t r = lcg_next(&rng);
            zc_morder o = {0};
            o.seq = seq;
            o.side = r & 1;
            o.qty = 1 + (r >> 1) % 5;
            uint32_t levels_before = sym.nlev[0] + sym.nlev[1];
            if ((r >> 4) % 3 == 0 && sym.count > 0) {
                const zc_mslot *m = &b.slot[nth_resting(&b, (r >> 6) % sym.count)];
                o.id = m->id;
                o.trader = m->trader;
                o.type = ZC_M_CANCEL;
            } else {
                /* 120 prices a side around 500 ticks, the sides overlapping
                 * by 10; in continuous mode a bid above the best ask sweeps. */
                int64_t off = (int64_t)((r >> 6) % 120);
                o.id = next_id++;
                o.type = ZC_M_LIMIT;
                o.price = tick * (o.side == ZC_M_BUY ? 510 - off : 490 + off);
            }
            zc_match_order(&b, &o, direct.ev);
            dropped += sym.nlev[0] + sym.nlev[1] < levels_before;
            check_level_cache(&b);
            for (int32_t x = 0; x < DIRECT_CAP; x++)
                if (b.slot[x].qty > 0)
                    assert_int_equal(b.level[b.slot[x].level].price, b.slot[x].price);
        }
        assert_true(dropped > N / 20);
        assert_true(sym.nlev[0] > ZC_MNEAR && sym.nlev[1] > ZC_MNEAR);
        if (mode == ZC_M_AUCTION) {
            zc_auction_uncross(&b, N, direct.ev);
            check_level_cache(&b);
        }
    }
}

/* A random stream of every order kind straight through the matcher (one
 * symbol, few prices, so levels are deep and rest, cancel, modify, sweep and
 * self-trade cancel all unlink orders at every place in a FIFO), with the
 * links checked after each order. */
static void test_fifo_links(void **state)
{
    (void)state;
    enum { N = 20000 };
    static zc_msym sym;
    sym.tick = sym.lot = 1;
    sym.min_price = 1;
    sym.max_price = 1000;
    zc_mbook b = direct_book(&sym, 256, 7, 11);
    uint64_t rng = 12345, next_id = 1;
    uint32_t unlinked = 0;
    for (uint64_t seq = 0; seq < N; seq++) {
        uint32_t r = lcg_next(&rng);
        zc_morder o = {0};
        o.seq = seq;
        o.trader = r % 3;
        o.side = (r >> 2) & 1;
        o.stp = (r >> 3) % 4;
        o.qty = 1 + (r >> 5) % 9;
        uint32_t kind = (r >> 9) % 10;
        if (kind < 3 && sym.count > 0) {
            /* Cancel or modify a resting order (any of them: its trader is
             * the owner's), a fresh price or size half the time. */
            const zc_mslot *m = &b.slot[nth_resting(&b, (r >> 13) % sym.count)];
            o.id = m->id;
            o.trader = m->trader;
            o.type = kind == 0 ? ZC_M_MODIFY : ZC_M_CANCEL;
            o.price = m->price + ((r >> 20) & 1 ? (int64_t)((r >> 21) % 3) - 1 : 0);
            o.qty = (r >> 23) & 1 ? m->qty : 1 + (r >> 24) % 9;
        } else {
            o.id = next_id++;
            o.type = ZC_M_LIMIT;
            o.tif = kind == 9 ? ZC_M_IOC : ZC_M_GTC;
            /* Bids at 96..100 and asks at 100..104 when resting; an ioc
             * sweeps three levels through the other side. */
            int64_t off = (int64_t)((r >> 13) % 5);
            o.price = o.tif == ZC_M_IOC ? (o.side == ZC_M_BUY ? 103 : 97) : (o.side == ZC_M_BUY ? 100 - off : 100 + off);
            o.qty = o.tif == ZC_M_IOC ? 10 + (r >> 16) % 20 : o.qty;
        }
        uint32_t before = sym.count;
        zc_match_order(&b, &o, direct.ev);
        unlinked += before + 1 > sym.count ? before + 1 - sym.count : 0;
        check_fifo_links(&b);
        check_level_cache(&b);
    }
    /* The stream did unlink a lot, at heads (sweeps) and inside (cancels). */
    assert_true(unlinked > N / 2);
    assert_true(sym.count > 20);
}

/* Orders through the engine with colliding ids behave as distinct orders. */
static void test_engine_colliding_ids(void **state)
{
    (void)state;
    zc_engine *e = make_engine("cpu", 1, 600, NULL);
    /* The engine's key comes from hash_seed 42 the way create derives it. */
    uint64_t seed = 42, k[2];
    for (int i = 0; i < 2; i++) {
        uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        k[i] = z ^ (z >> 31);
    }
    enum { N = 500 };
    zc_order o[N];
    for (int i = 0; i < N; i++)
        o[i] = lim(id_for_hash((uint64_t)(i + 1) << 40, k[0], k[1]), 1, 0, ZC_SIDE_BUY, 100 + 5 * (i % 50), 10);
    size_t m;
    free(submit(e, o, N, &m));
    assert_int_equal(m, N);
    for (int i = 0; i < N; i += 2) {
        o[i].type = ZC_ORDER_CANCEL;
        zc_event *ev = submit(e, &o[i], 1, &m);
        assert_int_equal(ev[0].kind, ZC_EVENT_CANCEL);
        assert_int_equal(ev[0].order_id, o[i].id);
        free(ev);
    }
    for (int i = 0; i < N; i++) {
        o[i].type = ZC_ORDER_CANCEL;
        zc_event *ev = submit(e, &o[i], 1, &m);
        assert_int_equal(ev[0].kind, i % 2 ? ZC_EVENT_CANCEL : ZC_EVENT_REJECT);
        free(ev);
    }
    zc_engine_info info;
    zc_engine_info_get(e, &info);
    assert_int_equal(info.resting, 0);
    zc_engine_destroy(e);
}

static void test_submit_into_overflow(void **state)
{
    (void)state;
    zc_engine *e = make_engine("cpu", 1, 64, NULL);
    zc_order o[3] = {lim(1, 1, 0, ZC_SIDE_SELL, 500, 10), lim(2, 1, 0, ZC_SIDE_SELL, 500, 10),
                     lim(3, 2, 0, ZC_SIDE_BUY, 500, 20)};
    zc_event ev[2];
    size_t m = 0;
    assert_int_equal(zc_engine_submit_into(e, o, 3, ev, 2, &m), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(m, 5);
    assert_int_equal(ev[1].order_id, 2);
    const zc_event *all;
    size_t n;
    assert_int_equal(zc_engine_last_events(e, &all, &n), ZC_OK);
    assert_int_equal(n, 5);
    assert_int_equal(all[4].maker_id, 2);
    assert_int_equal(all[4].remaining, 0);
    zc_engine_destroy(e);
}

static void test_auction(void **state)
{
    (void)state;
    zc_engine *e = make_engine("cpu", 1, 64, NULL);
    assert_int_equal(zc_engine_set_mode(e, 0, ZC_MODE_AUCTION), ZC_OK);
    zc_order o[4] = {lim(1, 1, 0, ZC_SIDE_BUY, 510, 30), lim(2, 2, 0, ZC_SIDE_BUY, 500, 20),
                     lim(3, 3, 0, ZC_SIDE_SELL, 495, 20), lim(4, 4, 0, ZC_SIDE_SELL, 505, 20)};
    size_t m;
    free(submit(e, o, 4, &m));
    assert_int_equal(m, 4);
    assert_int_equal(zc_engine_set_mode(e, 0, ZC_MODE_CONTINUOUS), ZC_ERR_STATE);
    /* demand/supply: 495: 50/20, 500: 50/20, 505: 30/40, 510: 30/40 -> 30
     * at 505 and 510 (imbalance 10 both), reference 0: 505. */
    uint32_t sym = 0;
    zc_array *a;
    assert_int_equal(zc_engine_uncross(e, &sym, 1, &a), ZC_OK);
    const zc_event *ev = zc_array_data(a);
    assert_int_equal(zc_array_nbytes(a), 2 * sizeof(zc_event));
    assert_int_equal(ev[0].price, 505);
    assert_int_equal(ev[0].qty, 20);
    assert_int_equal(ev[0].order_id, 3);
    assert_int_equal(ev[0].maker_id, 1);
    assert_int_equal(ev[0].seq, 5);
    assert_int_equal(ev[1].qty, 10);
    assert_int_equal(ev[1].order_id, 4);
    assert_int_equal(ev[1].remaining, 10);
    zc_array_release(a);
    assert_int_equal(zc_engine_set_mode(e, 0, ZC_MODE_CONTINUOUS), ZC_OK);
    zc_engine_destroy(e);
}

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(zc_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(zc_crc32c(0, "", 0), 0);
    uint8_t zeros[32] = {0}, ones[32];
    memset(ones, 0xFF, sizeof ones);
    /* RFC 3720 B.4 */
    assert_int_equal(zc_crc32c(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(zc_crc32c(0, ones, 32), 0x62A8AB43u);
    assert_int_equal(zc_crc32c(zc_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static char *temp_path(void)
{
    char *p = strdup("/tmp/zc_test_book_XXXXXX");
    int fd = mkstemp(p);
    close(fd);
    return p;
}

static void test_journal_replay(void **state)
{
    (void)state;
    char *path = temp_path();
    zc_engine *e = make_engine("cpu", 3, 64, path);
    zc_order o[6] = {lim(1, 1, 0, ZC_SIDE_SELL, 500, 30), lim(2, 1, 1, ZC_SIDE_SELL, 505, 20),
                     lim(3, 2, 0, ZC_SIDE_BUY, 505, 40), lim(4, 2, 1, ZC_SIDE_BUY, 500, 10),
                     lim(5, 3, 2, ZC_SIDE_BUY, 500, 10), lim(6, 4, 2, ZC_SIDE_SELL, 500, 10)};
    size_t m1, m2;
    zc_event *a = submit(e, o, 4, &m1);
    assert_int_equal(zc_engine_set_mode(e, 2, ZC_MODE_AUCTION), ZC_OK);
    zc_event *b = submit(e, o + 4, 2, &m2);
    uint32_t sym = 2;
    zc_array *u;
    assert_int_equal(zc_engine_uncross(e, &sym, 1, &u), ZC_OK);
    uint8_t root[32];
    assert_int_equal(zc_engine_state_root(e, root), ZC_OK);
    zc_engine_destroy(e);

    zc_engine *r;
    zc_array *ev;
    assert_int_equal(zc_engine_replay(path, NULL, &r, &ev), ZC_OK);
    size_t mu = zc_array_nbytes(u) / sizeof(zc_event);
    assert_int_equal(zc_array_nbytes(ev), (m1 + m2 + mu) * sizeof(zc_event));
    const zc_event *all = zc_array_data(ev);
    assert_memory_equal(all, a, m1 * sizeof(zc_event));
    assert_memory_equal(all + m1, b, m2 * sizeof(zc_event));
    assert_memory_equal(all + m1 + m2, zc_array_data(u), mu * sizeof(zc_event));
    uint8_t root2[32];
    assert_int_equal(zc_engine_state_root(r, root2), ZC_OK);
    assert_memory_equal(root, root2, 32);
    zc_engine_destroy(r);
    zc_array_release(ev);
    zc_array_release(u);

    /* Reopening for append recovers the state and continues the sequence. */
    zc_engine *c = make_engine("cpu", 3, 64, path);
    zc_engine_info info;
    zc_engine_info_get(c, &info);
    assert_int_equal(info.next_seq, 8);
    assert_int_equal(zc_engine_state_root(c, root2), ZC_OK);
    assert_memory_equal(root, root2, 32);
    zc_engine_destroy(c);

    /* Another config is refused. */
    zc_engine_config cfg = {.symbols = 4, .capacity = 64, .device = "cpu", .journal = path};
    zc_engine *bad = NULL;
    assert_int_equal(zc_engine_create(&cfg, &bad), ZC_ERR_INVALID_ARGUMENT);
    free(a);
    free(b);
    unlink(path);
    free(path);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void test_journal_faults(void **state)
{
    (void)state;
    char *path = temp_path();
    zc_engine *e = make_engine("cpu", 1, 64, path);
    long ends[4];
    for (int i = 0; i < 4; i++) {
        zc_order o = lim((uint64_t)i + 1, 1, 0, ZC_SIDE_BUY, 500, 10);
        size_t m;
        free(submit(e, &o, 1, &m));
        ends[i] = file_size(path);
    }
    zc_engine_destroy(e);
    long size = ends[3];
    FILE *f = fopen(path, "rb");
    unsigned char *orig = malloc((size_t)size);
    assert_int_equal(fread(orig, 1, (size_t)size, f), (size_t)size);
    fclose(f);

    /* A torn last record, cut at every byte. */
    for (long cut = ends[2]; cut < size; cut++) {
        f = fopen(path, "wb");
        fwrite(orig, 1, (size_t)cut, f);
        fclose(f);
        zc_journal_info info;
        assert_int_equal(zc_journal_check(path, &info), ZC_OK);
        assert_int_equal(info.records, 3);
        assert_int_equal(info.torn, cut > ends[2]);
        assert_int_equal(info.good_bytes, ends[2]);
    }
    /* A flipped byte in the middle of record 2 is corruption at its offset. */
    for (long at = ends[0]; at < ends[1]; at += 7) {
        unsigned char *copy = malloc((size_t)size);
        memcpy(copy, orig, (size_t)size);
        copy[at] ^= 0x40;
        f = fopen(path, "wb");
        fwrite(copy, 1, (size_t)size, f);
        fclose(f);
        free(copy);
        zc_journal_info info;
        assert_int_equal(zc_journal_check(path, &info), ZC_ERR_IO);
        char want[64];
        snprintf(want, sizeof want, "offset %ld", ends[0]);
        assert_non_null(strstr(zc_last_error(), want));
        zc_engine *r = NULL;
        assert_int_equal(zc_engine_replay(path, NULL, &r, NULL), ZC_ERR_IO);
    }
    /* Opening a torn journal truncates it and appends after the good part. */
    f = fopen(path, "wb");
    fwrite(orig, 1, (size_t)(size - 5), f);
    fclose(f);
    e = make_engine("cpu", 1, 64, path);
    assert_int_equal(file_size(path), ends[2]);
    zc_engine_info info;
    zc_engine_info_get(e, &info);
    assert_int_equal(info.next_seq, 4);
    zc_engine_destroy(e);
    free(orig);
    unlink(path);
    free(path);
}

/* The same stream on cpu (1 and 4 threads) and every OpenCL device gives the
 * same events and root. */
static void test_cross_device(void **state)
{
    (void)state;
    enum { N = 3000, SYMS = 7 };
    zc_order *o = calloc(N, sizeof *o);
    uint32_t rng = 99;
    for (int i = 0; i < N; i++) {
        rng = rng * 1664525u + 1013904223u;
        uint32_t r = rng >> 8;
        o[i] = lim((uint64_t)(i % 400) + 1, r % 5, r % SYMS, (r >> 3) & 1, 450 + 5 * (int64_t)((r >> 4) % 20),
                   10 * (1 + (r >> 9) % 5));
        o[i].type = (uint8_t)((r >> 12) % 4);
        o[i].tif = (uint8_t)((r >> 14) % 4);
        o[i].stp = (uint8_t)((r >> 16) % 4);
    }
    const char *devs[] = {"cpu", "cpu", "opencl:0", "opencl:1"};
    zc_array *ref = NULL;
    uint8_t ref_root[3][32];
    for (int d = 0; d < 4; d++) {
        zc_engine_config cfg = {.symbols = SYMS, .capacity = 128, .device = devs[d], .threads = d == 1 ? 4 : 1};
        cfg.defaults.tick_size = 5;
        cfg.defaults.lot_size = 10;
        zc_engine *e = NULL;
        int id;
        if (d >= 2 && zc_device_find(devs[d], &id) != ZC_OK)
            continue; /* no such OpenCL device here */
        if (zc_engine_create(&cfg, &e) != ZC_OK)
            fail_msg("%s: %s", devs[d], zc_last_error());
        /* Growing batches exercise the staging buffers' growth. */
        const size_t part[3] = {10, 990, N - 1000};
        zc_array *all[3];
        size_t bytes = 0, at = 0;
        /* A root after every part: the first builds the tree, the others
         * take the incremental path (dirty spans only, on a device). */
        uint8_t root[3][32];
        for (int k = 0; k < 3; k++) {
            assert_int_equal(zc_engine_submit(e, o + at, part[k], &all[k]), ZC_OK);
            assert_int_equal(zc_engine_state_root(e, root[k]), ZC_OK);
            at += part[k];
            bytes += zc_array_nbytes(all[k]);
        }
        if (!ref) {
            size_t shape[1] = {bytes};
            zc_array_new(ZC_DTYPE_U8, 1, shape, &ref);
            uint8_t *p = zc_array_data(ref);
            for (int k = 0; k < 3; k++) {
                memcpy(p, zc_array_data(all[k]), zc_array_nbytes(all[k]));
                p += zc_array_nbytes(all[k]);
            }
            memcpy(ref_root, root, sizeof root);
        } else {
            assert_int_equal(bytes, zc_array_nbytes(ref));
            const uint8_t *p = zc_array_data(ref);
            for (int k = 0; k < 3; k++) {
                assert_memory_equal(p, zc_array_data(all[k]), zc_array_nbytes(all[k]));
                p += zc_array_nbytes(all[k]);
            }
            assert_memory_equal(ref_root, root, sizeof root);
        }
        for (int k = 0; k < 3; k++)
            zc_array_release(all[k]);
        zc_engine_destroy(e);
    }
    zc_array_release(ref);
    free(o);
}

/* The book is empty after the run, and its events equal those of the first
 * run (kept in *ref). */
static void expect_drained_and_same(zc_engine *e, zc_array **ref, const zc_event *ev, size_t m)
{
    zc_engine_info info;
    assert_int_equal(zc_engine_info_get(e, &info), ZC_OK);
    assert_int_equal(info.resting, 0);
    if (!*ref) {
        size_t shape[1] = {m * sizeof *ev};
        assert_int_equal(zc_array_new(ZC_DTYPE_U8, 1, shape, ref), ZC_OK);
        memcpy(zc_array_data(*ref), ev, m * sizeof *ev);
    } else {
        assert_int_equal(zc_array_nbytes(*ref), m * sizeof *ev);
        assert_memory_equal(zc_array_data(*ref), ev, m * sizeof *ev);
    }
}

/* A taker's walk erases its filled makers' ids after the walk (more than a
 * queue's worth of them here, so the queue also empties mid-walk, and a
 * self-trade stop leaves early): afterwards every filled id is unknown,
 * reusable, and the hash still finds the orders that rest, on every
 * device alike. */
static void test_long_sweeps_erase_ids(void **state)
{
    (void)state;
    enum { MAKERS = 41 };
    const char *devs[] = {"cpu", "opencl:0"};
    zc_array *ref = NULL;
    for (int d = 0; d < 2; d++) {
        int id;
        if (d == 1 && zc_device_find(devs[d], &id) != ZC_OK)
            continue;
        zc_engine *e = make_engine(devs[d], 1, 256, NULL);
        zc_order o[4 * MAKERS + 8];
        size_t n = 0, m;
        for (int k = 0; k < MAKERS; k++)
            o[n++] = lim(100 + (uint64_t)k, 1 + (uint32_t)k % 3, 0, ZC_SIDE_SELL, 500 + 5 * (k / 4), 10);
        /* Sweeps all 41 (ids 100..140) and rests the rest. */
        o[n++] = lim(1, 9, 0, ZC_SIDE_BUY, 700, 10 * MAKERS + 20);
        /* Every filled id is free again: trader 2 reposts them at 900, but
         * the 21st (k = 20) belongs to trader 5. */
        for (int k = 0; k < MAKERS; k++)
            o[n++] = lim(100 + (uint64_t)k, k == 20 ? 5 : 2, 0, ZC_SIDE_SELL, 900, 10);
        /* Trader 5 buys through them with stp both: 20 fills, then the
         * self-trade cancels its own maker and the taker. */
        o[n] = lim(2, 5, 0, ZC_SIDE_BUY, 900, 10 * MAKERS);
        o[n++].stp = ZC_STP_CANCEL_BOTH;
        /* Cancels: the 20 filled and the stopped maker are unknown, the
         * other 20 and order 1's remainder are found. */
        for (int k = 0; k < MAKERS; k++)
            o[n++] = (zc_order){.id = 100 + (uint64_t)k, .trader = 2, .type = ZC_ORDER_CANCEL};
        o[n++] = (zc_order){.id = 1, .trader = 9, .type = ZC_ORDER_CANCEL};
        zc_event *ev = submit(e, o, n, &m);
        size_t fills = 0, unknown = 0, cancelled = 0, stp = 0;
        for (size_t i = 0; i < m; i++) {
            fills += ev[i].kind == ZC_EVENT_FILL;
            unknown += ev[i].kind == ZC_EVENT_REJECT && ev[i].reason == ZC_REASON_UNKNOWN_ID;
            cancelled += ev[i].kind == ZC_EVENT_CANCEL && ev[i].reason == ZC_REASON_NONE;
            stp += ev[i].kind == ZC_EVENT_CANCEL && ev[i].reason == ZC_REASON_STP;
            assert_false(ev[i].kind == ZC_EVENT_REJECT && ev[i].reason != ZC_REASON_UNKNOWN_ID);
        }
        assert_int_equal(fills, MAKERS + 20);
        assert_int_equal(stp, 2);
        assert_int_equal(unknown, 21);
        assert_int_equal(cancelled, 21);
        expect_drained_and_same(e, &ref, ev, m);
        free(ev);
        zc_engine_destroy(e);
    }
    zc_array_release(ref);
}

/* A batch writing almost three events per order into a book with resting
 * orders: each symbol's event buffer is sized once for the worst case
 * (3 n + resting), so nothing may be cut short; same events on cpu with 1
 * and 2 threads and on OpenCL. */
static void test_event_heavy_batch(void **state)
{
    (void)state;
    enum { RESTING = 300, PAIRS = 200, N = 2 * PAIRS + 1 };
    const char *devs[] = {"cpu", "cpu", "opencl:0"};
    zc_array *ref = NULL;
    for (int d = 0; d < 3; d++) {
        int id;
        if (d == 2 && zc_device_find(devs[d], &id) != ZC_OK)
            continue;
        zc_engine_config cfg = {.symbols = 1, .capacity = 1024, .device = devs[d], .threads = d == 1 ? 2 : 1};
        cfg.defaults.tick_size = 5;
        cfg.defaults.lot_size = 10;
        cfg.defaults.min_price = 100;
        cfg.defaults.max_price = 1000;
        zc_engine *e = NULL;
        assert_int_equal(zc_engine_create(&cfg, &e), ZC_OK);
        zc_order o[RESTING > N ? RESTING : N];
        size_t m;
        /* In small batches, so that the buffer has not grown beforehand. */
        for (int k = 0; k < RESTING; k++)
            o[k] = lim(1000 + (uint64_t)k, 1, 0, ZC_SIDE_SELL, 900, 10);
        for (int k = 0; k < RESTING; k += 50) {
            free(submit(e, o + k, 50, &m));
            assert_int_equal(m, 50);
        }
        /* A bid rests and an ioc sell takes it, then expires: 1 + 3 events
         * per pair; a market buy sweeps the 300 asks: 2 + 300. */
        for (int k = 0; k < PAIRS; k++) {
            o[2 * k] = lim(1 + 2 * (uint64_t)k, 2, 0, ZC_SIDE_BUY, 500, 10);
            o[2 * k + 1] = lim(2 + 2 * (uint64_t)k, 3, 0, ZC_SIDE_SELL, 500, 20);
            o[2 * k + 1].tif = ZC_TIF_IOC;
        }
        o[N - 1] = lim(5000, 4, 0, ZC_SIDE_BUY, 0, 10 * RESTING + 10);
        o[N - 1].type = ZC_ORDER_MARKET;
        zc_event *ev = submit(e, o, N, &m);
        assert_int_equal(m, 4 * PAIRS + 2 + RESTING);
        size_t fills = 0, expired = 0;
        for (size_t i = 0; i < m; i++) {
            fills += ev[i].kind == ZC_EVENT_FILL;
            expired += ev[i].kind == ZC_EVENT_EXPIRE;
        }
        assert_int_equal(fills, PAIRS + RESTING);
        assert_int_equal(expired, PAIRS + 1);
        expect_drained_and_same(e, &ref, ev, m);
        free(ev);
        zc_engine_destroy(e);
    }
    zc_array_release(ref);
}

/* Single orders leave their walks' erasures for later (kept_flush in
 * engine.c): a filled maker's id must be free again for a new order of its
 * symbol and unknown to a cancel right after the sweep, and every event the
 * same as when the stream runs as one batch. Sweeps of 20 makers
 * (the queue of 16 empties mid-walk) alternate between two symbols, with a
 * batch of more than 64 orders (the grouped path) in the middle. */
static void test_kept_erasures(void **state)
{
    (void)state;
    enum { MAKERS = 20, ROUNDS = 6, PER_ROUND = 2 * (MAKERS + 1) + MAKERS + 2 };
    zc_order *o = calloc(ROUNDS * PER_ROUND, sizeof *o);
    size_t n = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (uint32_t sym = 0; sym < 2; sym++) {
            for (int k = 0; k < MAKERS; k++)
                o[n++] = lim(100 + (uint64_t)k + 1000 * sym, 1 + (uint32_t)k % 3, sym, ZC_SIDE_SELL, 500, 10);
            o[n] = lim(1 + (uint64_t)r * 10 + sym, 9, sym, ZC_SIDE_BUY, 500, 10 * MAKERS + 10);
            o[n++].tif = ZC_TIF_IOC;
            /* Right after the sweep, the last maker's id (still queued for
             * erasure at the walk's end): symbol 0 reuses it for a new
             * order, symbol 1 cancels it and then the others, last first. */
            if (sym == 0)
                o[n++] = lim(100 + MAKERS - 1, 7, 0, ZC_SIDE_BUY, 400, 10);
        }
        for (int k = MAKERS - 1; k >= 0; k--)
            o[n++] = (zc_order){.id = 1100 + (uint64_t)k, .trader = 1 + (uint32_t)k % 3, .symbol = 1,
                                .type = ZC_ORDER_CANCEL};
        o[n++] = (zc_order){.id = 100 + MAKERS - 1, .trader = 7, .symbol = 0, .type = ZC_ORDER_CANCEL};
    }
    size_t total = n;
    zc_engine *ref_e = make_engine("cpu", 2, 256, NULL);
    size_t mref;
    zc_event *ref = submit(ref_e, o, total, &mref);
    zc_engine_destroy(ref_e);
    zc_engine *e = make_engine("cpu", 2, 256, NULL);
    zc_event *got = malloc((mref + 1) * sizeof *got);
    size_t m = 0, at = 0;
    while (at < total) {
        /* One order per call, except one grouped batch of 100. */
        size_t k = at == 3 * PER_ROUND ? 100 : 1;
        if (at + k > total)
            k = total - at;
        size_t mk;
        zc_event *ev = submit(e, o + at, k, &mk);
        assert_true(m + mk <= mref);
        memcpy(got + m, ev, mk * sizeof *ev);
        free(ev);
        m += mk;
        at += k;
    }
    assert_int_equal(m, mref);
    assert_memory_equal(got, ref, m * sizeof *got);
    size_t unknown = 0, dup = 0, fills = 0, cancelled = 0;
    for (size_t i = 0; i < m; i++) {
        cancelled += got[i].kind == ZC_EVENT_CANCEL && got[i].reason == ZC_REASON_NONE;
        unknown += got[i].kind == ZC_EVENT_REJECT && got[i].reason == ZC_REASON_UNKNOWN_ID;
        dup += got[i].kind == ZC_EVENT_REJECT && got[i].reason == ZC_REASON_DUPLICATE_ID;
        fills += got[i].kind == ZC_EVENT_FILL;
    }
    assert_int_equal(dup, 0);
    assert_int_equal(unknown, ROUNDS * MAKERS);
    assert_int_equal(fills, ROUNDS * 2 * MAKERS);
    assert_int_equal(cancelled, ROUNDS);
    free(got);
    free(ref);
    free(o);
    zc_engine_destroy(e);
}

enum { UNLINK_SYMBOLS = 3 };

/* What the engine shows: the resting count, the state root, and every
 * symbol's depth and book entries, as bytes, with the part named by `first`
 * (0 count, 1 root, 2 views) read before the others. */
static size_t snapshot(zc_engine *e, int first, uint8_t *out)
{
    size_t n = 0;
    for (int part = 0; part < 3; part++) {
        int what = (first + part) % 3;
        if (what == 0) {
            zc_engine_info info;
            assert_int_equal(zc_engine_info_get(e, &info), ZC_OK);
            memcpy(out + n, &info.resting, sizeof info.resting);
            n += sizeof info.resting;
        } else if (what == 1) {
            assert_int_equal(zc_engine_state_root(e, out + n), ZC_OK);
            n += 32;
        } else {
            for (uint32_t sym = 0; sym < UNLINK_SYMBOLS; sym++) {
                zc_array *bids = NULL, *asks = NULL, *entries = NULL;
                assert_int_equal(zc_engine_depth(e, sym, 16, &bids, &asks), ZC_OK);
                assert_int_equal(zc_engine_book(e, sym, &entries), ZC_OK);
                zc_array *arrays[3] = {bids, asks, entries};
                for (int k = 0; k < 3; k++) {
                    memcpy(out + n, zc_array_data(arrays[k]), zc_array_nbytes(arrays[k]));
                    n += zc_array_nbytes(arrays[k]);
                    zc_array_release(arrays[k]);
                }
            }
        }
    }
    return n;
}

/* A single cancel leaves its unlink for later (engine.c kept_flush). Right
 * after cancels, one order per call, the resting count, state root, views,
 * grouped batches, mode changes, auctions and events must be those of the
 * same orders submitted as one batch. Cancels (of orders deep in their
 * levels, some already gone) are followed by orders of the same symbol or of
 * another: a neighbour's cancel, an order joining the level, a sweep through
 * it, a cancel on a third symbol. */
static void test_kept_unlinks(void **state)
{
    (void)state;
    enum { N = 600, EVERY = 23, GROUP_AT = 300, GROUP = 70 };
    zc_order *o = calloc(N, sizeof *o);
    uint64_t rng = 99;
    for (size_t i = 0; i < N; i++) {
        uint32_t r = lcg_next(&rng), sym = (r >> 1) % UNLINK_SYMBOLS, kind = (r >> 3) % 8;
        if (kind < 3 && i > 10) {
            /* One of the last 40 orders; some of them were filled or
             * cancelled already (unknown ids). */
            uint64_t id = (uint64_t)i - (r >> 6) % (i < 40 ? i : 40);
            o[i] = (zc_order){.id = id, .trader = 1 + (uint32_t)(id % 3), .symbol = o[id - 1].symbol,
                              .type = ZC_ORDER_CANCEL};
        } else if (kind == 7) {
            o[i] = lim(1 + i, 9, sym, (r >> 6) & 1 ? ZC_SIDE_BUY : ZC_SIDE_SELL, (r >> 6) & 1 ? 520 : 480, 60);
            o[i].tif = ZC_TIF_IOC;
        } else {
            int buy = (r >> 6) & 1;
            int64_t off = 5 * (int64_t)((r >> 7) % 3);
            o[i] = lim(1 + i, 1 + (uint32_t)((1 + i) % 3), sym, buy ? ZC_SIDE_BUY : ZC_SIDE_SELL,
                       buy ? 495 - off : 505 + off, 10 * (1 + (int64_t)(r >> 9) % 3));
        }
    }
    /* Before every check, the grouped batch and the auction, an order deep
     * in a level and its cancel, whose unlink is then still left. */
    for (size_t i = 1; i < N; i++) {
        if ((i + 1) % EVERY != 0 && i + 1 != GROUP_AT && i + 1 != N)
            continue;
        uint32_t sym = (uint32_t)(i / EVERY) % UNLINK_SYMBOLS;
        o[i - 1] = lim(i, 1 + (uint32_t)(i % 3), sym, i % 2 ? ZC_SIDE_SELL : ZC_SIDE_BUY, i % 2 ? 510 : 490, 10);
        o[i] = (zc_order){.id = i, .trader = o[i - 1].trader, .symbol = sym, .type = ZC_ORDER_CANCEL};
    }
    zc_engine *e = make_engine("cpu", UNLINK_SYMBOLS, 128, NULL);
    zc_event *got = malloc(4 * N * sizeof *got);
    uint8_t *a = malloc(1 << 16), *b = malloc(1 << 16);
    size_t m = 0, cancelled = 0, checks = 0;
    for (size_t i = 0; i < N;) {
        /* One order per call, except GROUP orders at GROUP_AT (grouped by
         * symbol, more than the sequential path takes). */
        size_t k = i == GROUP_AT ? GROUP : 1, mk;
        zc_event *ev = submit(e, &o[i], k, &mk);
        memcpy(got + m, ev, mk * sizeof *ev);
        for (size_t j = 0; j < mk; j++)
            cancelled += ev[j].kind == ZC_EVENT_CANCEL && ev[j].reason == ZC_REASON_NONE;
        free(ev);
        m += mk;
        i += k;
        if (i % EVERY != 0 && i != GROUP_AT + GROUP && i != N)
            continue;
        /* Here and in a reference engine given orders 0..i as one batch:
         * the same events, count, root and views, the first of them read
         * in turn. */
        zc_engine *ref = make_engine("cpu", UNLINK_SYMBOLS, 128, NULL);
        size_t mr;
        zc_event *rev = submit(ref, o, i, &mr);
        assert_int_equal(mr, m);
        assert_memory_equal(rev, got, m * sizeof *got);
        free(rev);
        if (i < N) {
            size_t na = snapshot(e, (int)(checks % 3), a), nb = snapshot(ref, (int)(checks % 3), b);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na);
            checks++;
        } else {
            /* A call auction on both, with a buy order crossing the asks. */
            zc_engine *both[2] = {e, ref};
            zc_array *uncrossed[2];
            zc_order cross = lim(5000, 4, 0, ZC_SIDE_BUY, 600, 50);
            for (int v = 0; v < 2; v++) {
                uint32_t sym = 0;
                assert_int_equal(zc_engine_set_mode(both[v], sym, ZC_MODE_AUCTION), ZC_OK);
                free(submit(both[v], &cross, 1, &mk));
                assert_int_equal(zc_engine_uncross(both[v], &sym, 1, &uncrossed[v]), ZC_OK);
            }
            assert_true(zc_array_nbytes(uncrossed[0]) > 0);
            assert_int_equal(zc_array_nbytes(uncrossed[0]), zc_array_nbytes(uncrossed[1]));
            assert_memory_equal(zc_array_data(uncrossed[0]), zc_array_data(uncrossed[1]),
                                zc_array_nbytes(uncrossed[0]));
            zc_array_release(uncrossed[0]);
            zc_array_release(uncrossed[1]);
            /* Back to continuous trading right after a cancel that
             * uncrossed the book. */
            zc_order bid = lim(6000, 5, 2, ZC_SIDE_BUY, 550, 10);
            zc_order cancel = {.id = 6000, .trader = 5, .symbol = 2, .type = ZC_ORDER_CANCEL};
            for (int v = 0; v < 2; v++) {
                assert_int_equal(zc_engine_set_mode(both[v], 2, ZC_MODE_AUCTION), ZC_OK);
                free(submit(both[v], &bid, 1, &mk));
                assert_int_equal(zc_engine_set_mode(both[v], 2, ZC_MODE_CONTINUOUS), ZC_ERR_STATE);
                free(submit(both[v], &cancel, 1, &mk));
                assert_int_equal(zc_engine_set_mode(both[v], 2, ZC_MODE_CONTINUOUS), ZC_OK);
            }
            size_t na = snapshot(e, 0, a), nb = snapshot(ref, 0, b);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na);
        }
        zc_engine_destroy(ref);
    }
    assert_true(cancelled > N / 10);
    free(a);
    free(b);
    free(got);
    free(o);
    zc_engine_destroy(e);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    zc_engine *e = NULL;
    zc_engine_config cfg = {.symbols = 0, .capacity = 8, .device = "cpu"};
    assert_int_equal(zc_engine_create(&cfg, &e), ZC_ERR_INVALID_ARGUMENT);
    cfg.symbols = 1;
    cfg.capacity = ZC_BOOK_MAX_CAPACITY + 1;
    assert_int_equal(zc_engine_create(&cfg, &e), ZC_ERR_INVALID_ARGUMENT);
    cfg.capacity = 8;
    cfg.defaults.min_price = 10;
    cfg.defaults.max_price = 5;
    assert_int_equal(zc_engine_create(&cfg, &e), ZC_ERR_INVALID_ARGUMENT);
    cfg.defaults.max_price = 50;
    assert_int_equal(zc_engine_create(&cfg, &e), ZC_OK);
    zc_array *a;
    assert_int_equal(zc_engine_submit(e, NULL, 3, &a), ZC_ERR_INVALID_ARGUMENT);
    uint32_t syms[2] = {0, 0};
    assert_int_equal(zc_engine_uncross(e, syms, 1, &a), ZC_ERR_STATE);
    assert_int_equal(zc_engine_set_mode(e, 0, ZC_MODE_AUCTION), ZC_OK);
    assert_int_equal(zc_engine_uncross(e, syms, 2, &a), ZC_ERR_INVALID_ARGUMENT);
    syms[0] = 3;
    assert_int_equal(zc_engine_uncross(e, syms, 1, &a), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_engine_set_mode(e, 1, ZC_MODE_AUCTION), ZC_ERR_INVALID_ARGUMENT);
    zc_array *b;
    assert_int_equal(zc_engine_depth(e, 1, 5, &a, &b), ZC_ERR_INVALID_ARGUMENT);
    zc_engine_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),          cmocka_unit_test(test_cross_and_fills),
        cmocka_unit_test(test_rejects),          cmocka_unit_test(test_hash_collisions),
        cmocka_unit_test(test_hash_erase_reused_slot),
        cmocka_unit_test(test_engine_colliding_ids), cmocka_unit_test(test_submit_into_overflow),
        cmocka_unit_test(test_auction),          cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_journal_replay),   cmocka_unit_test(test_journal_faults),
        cmocka_unit_test(test_cross_device),     cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_long_sweeps_erase_ids), cmocka_unit_test(test_level_search),
        cmocka_unit_test(test_book_strides), cmocka_unit_test(test_fifo_links), cmocka_unit_test(test_level_cache), cmocka_unit_test(test_event_heavy_batch), cmocka_unit_test(test_kept_erasures), cmocka_unit_test(test_kept_unlinks),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
