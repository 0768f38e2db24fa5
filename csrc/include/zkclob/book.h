/* zkclob order book: deterministic multi-symbol matching (price-time priority
 * and periodic call auctions), a hash-chained journal with replay, and a
 * Poseidon2 state root over all resting orders.
 *
 * Determinism. Every order gets an ingress sequence number (seq) when its
 * batch is accepted: a batch of n orders takes the next n numbers in array
 * order. Symbols are independent; within a symbol orders are processed in seq
 * order. The events of a batch are sorted by seq, and the events of one order
 * appear in the order they happened. They are byte-identical on every backend
 * and every thread count.
 *
 * Concurrent callers. Every engine call that changes state (submit,
 * submit_async, set_mode, uncross) takes the engine's ingress lock, assigns
 * its sequence numbers and appends to the journal under it; the synchronous
 * calls also match before releasing it, submit_async queues its matching on
 * the device behind every earlier call's. Conflict rule: ingress order is
 * lock acquisition order. Of two calls that race, the one that takes the lock
 * first gets the lower sequence numbers and the lower ticket (batch number),
 * and is applied to the books completely before the other; the orders of
 * two batches never interleave. The outcome is the one of running the calls
 * one after the other in seq order, which is what the journal records and
 * replay reproduces.
 *
 * Asynchronous submission (zc_engine_submit_async, zc_engine_wait). On an
 * opencl or cuda device, submit_async sequences and journals a batch exactly
 * as submit does, partitions it on the host into one of two staging slots
 * and queues the upload, the matching, the compaction of the events and
 * their read-back on the device's in-order queue, then returns a ticket
 * without waiting: while the device matches batch k, the host sequences,
 * partitions and stages batch k + 1. With two batches queued, submit_async
 * first completes the oldest (waits for it and merges its events into
 * sequence order while the device matches the other; the events are kept
 * until collected). zc_engine_wait(ticket)
 * returns the batch's events, byte-identical to what submit would have
 * returned at the same point. On the cpu device the batch is matched inside
 * submit_async (same results; wait returns them). The ticket is the batch's
 * number among the engine's state-changing calls (zc_engine_info.batches
 * once it is accepted, i.e. its journal record, from 1): tickets grow with
 * ingress order, so a larger ticket has a later seq range; the batch's n
 * orders take seq [s, s + n), where s is the seq of its first event (n > 0
 * gives at least one event per order). Waits
 * may come in any order and each ticket is collected once; waiting for any
 * other number is ZC_ERR_NOT_FOUND. Results not collected are kept until the
 * engine is destroyed. Every other call (submit, submit_into, set_mode,
 * uncross, depth, book, state_root, info, sync) first completes the
 * outstanding batches in ticket order, so views and the state root include
 * every batch submitted before. Errors: one found while submitting (bad
 * arguments, a stopped engine, a journal write, queueing on the device) is
 * returned by submit_async, with no ticket; one that surfaces when the device
 * work completes (a failed transfer or kernel) belongs to its batch:
 * zc_engine_wait of that ticket returns it, naming the ticket and seq range,
 * and so does zc_engine_sync when it completes that batch (any other call
 * that completes it returns ZC_ERR_STATE quoting it). A failure after a
 * batch was accepted, while queueing or at completion, stops the engine as a
 * failed synchronous call does: later calls return ZC_ERR_STATE (replay the
 * journal, which holds every accepted batch), and the batches queued after
 * the failed one are not applied (their waits return ZC_ERR_STATE).
 *
 * Orders (zc_order; see ORDER_DTYPE in DESIGN.md section 5):
 *   limit    id, trader, symbol, side, tif, stp, price, qty.
 *   market   as limit; price is ignored; gtc and ioc both mean ioc, fok is
 *            fill-or-kill, post_only is rejected.
 *   cancel   id names the resting order of `symbol` to cancel; trader must be
 *            its owner. side, tif, stp, price and qty are ignored.
 *   modify   id names the resting order; price and qty are its new limit
 *            price and open quantity (qty > 0; cancel to remove). The same
 *            price with a smaller qty keeps time priority; the same price and
 *            qty changes nothing; any other change loses priority: the order
 *            is taken out and re-entered with the modify's seq, keeping its
 *            side, tif and stp, and (in continuous mode) matches like a new
 *            limit order. In continuous mode a post-only order re-priced
 *            through the spread is rejected. side, tif and stp of the modify
 *            are ignored.
 * Order ids identify live orders within a symbol: a new order whose id is
 * resting in the same symbol is a duplicate; ids may be reused once the
 * earlier order is gone.
 *
 * Validation, first failing check wins (the reject event carries the
 * reason): symbol; type; side, tif, stp (new orders); qty in [1, MAX_QTY]
 * and a multiple of the lot size; price a multiple of the tick size and in
 * [min_price, max_price] (limit and modify); market with post_only; call
 * phase restrictions (only limit gtc, cancel and modify); duplicate id; for
 * cancel and modify: unknown id, not the owner; post-only that would cross;
 * capacity (no free slot for an order that would rest; an order that can
 * execute in full is never rejected for capacity). A rejected order leaves
 * the book unchanged.
 *
 * Continuous matching. An accepted new order or modify is acknowledged
 * (ack: price = its limit price, 0 for market; qty = remaining = its
 * quantity), then executes against the opposite side from the best price,
 * FIFO within a price level, while its limit price crosses. Each execution
 * is one fill event: order_id = the incoming (taker) order, maker_id = the
 * resting order, price = the maker's price, qty = the executed quantity,
 * remaining = the taker's open quantity after the fill. The remainder of a
 * gtc or post-only limit order rests; that of ioc and market orders expires
 * (expire: qty = expired quantity, remaining = 0). A fok order that cannot
 * execute in full (counting self-trade prevention as below) is acknowledged
 * and expires whole, with no fills and the book unchanged.
 * Self-trade prevention applies when the taker meets a resting order of the
 * same trader, under the taker's stp mode: none trades normally;
 * cancel_newest cancels the taker's remainder and stops; cancel_oldest
 * cancels the resting order and continues; cancel_both does both and stops.
 * Each cancellation is a cancel event (order_id = the cancelled order,
 * maker_id = the other order, qty = the cancelled quantity, remaining = 0,
 * reason = ZC_REASON_STP). A user cancel is a cancel event with maker_id = 0
 * and reason = ZC_REASON_NONE.
 *
 * Call auctions. A symbol in ZC_MODE_AUCTION collects limit gtc orders
 * (and cancels and modifies) without matching, so its book may cross.
 * zc_engine_uncross then executes it at one uniform clearing price P:
 *   demand(p) = open quantity of bids priced >= p, supply(p) = open
 *   quantity of asks priced <= p (cumulative sums over the sorted levels),
 *   executed(p) = min(demand(p), supply(p)); P is the resting-order price
 *   that (1) maximises executed(p), then (2) minimises |demand - supply|,
 *   then (3) minimises |p - reference|, then (4) is the lowest.
 * The reference is the symbol's last trade price (initially its configured
 * ref_price). Nothing executes when the maximum is 0. Otherwise bids priced
 * >= P and asks priced <= P are allocated the executed volume in
 * price-time priority: the best-priced, earliest bid trades with the
 * best-priced, earliest ask for the smaller of their open quantities, and so
 * on. Each pair is one fill event at P: order_id = the order of the pair
 * with the higher seq, maker_id = the other, remaining = the open quantity
 * of order_id afterwards. After an uncross the book does not cross.
 * The cpu computes P by one sweep over the merged levels; an OpenCL or CUDA
 * device runs one work group per symbol that forms demand and supply at
 * every level by parallel prefix sums, ranks a share of the candidate prices
 * per work item and reduces to P in local memory (kernels/match.h); both give
 * the same events byte for byte.
 *
 * Arithmetic. Prices and quantities are int64 ticks and lots. Quantities are
 * at most ZC_BOOK_MAX_QTY and capacities at most ZC_BOOK_MAX_CAPACITY, so
 * every sum of quantities fits in int64 (2^40 * 2^22 = 2^62); prices are
 * within +-ZC_BOOK_MAX_PRICE so their differences fit; price * qty is never
 * computed.
 *
 * State root (zc_engine_state_root). Every symbol has `capacity` order slots;
 * leaf i = symbol * capacity + slot of a Poseidon2 Merkle tree
 * (ZC_POSEIDON2_BABYBEAR_16, rules of zkclob/merkle.h) with
 * symbols * capacity leaves. A leaf is a row of 24 BabyBear elements; an
 * empty slot is 24 zeros, a resting order is
 *   [1, side, tif | stp << 8, symbol (2 limbs), trader (2 limbs),
 *    price (4 limbs), qty (4 limbs), id (4 limbs), seq (4 limbs), 0]
 * where a k-limb value is split into 16-bit limbs, least significant first
 * (int64 as its two's-complement uint64), and seq is the order's time
 * priority (the seq of the order or modify that placed it). A symbol's free
 * slots form a stack: a new resting order takes the slot freed most recently
 * (slot 0 first on an empty book). The tree is built on the first call and
 * afterwards updated from the slots changed since (only those leaves are
 * rehashed).
 *
 * Journal. When configured, every accepted submit, set_mode and uncross is
 * appended (write-ahead, before matching) to the journal file:
 *   header:  "ZCJOURN1", u32 header length L, L bytes of engine config,
 *            u32 CRC32C of the previous bytes
 *   records: u32 magic 0x52434A5A ("ZJCR"), u32 payload length, u32 CRC32C of
 *            (payload || chain hash), u32 CRC32C of the previous 12 bytes,
 *            payload, 32-byte chain hash
 *   chain:   h_0 = SHA-256(header), h_i = SHA-256(h_{i-1} || payload_i)
 *   payload: type u8 (1 submit, 2 set_mode, 3 uncross), 7 zero bytes, seq
 *            u64 (the call's first ingress sequence), count u64, then count
 *            packed zc_order (submit), symbol u32 and mode u32 (set_mode,
 *            count 1) or count symbols u32 (uncross)
 * All integers are little-endian. The config is the engine's: version 1,
 * symbols, capacity, 0 (u32), then per symbol tick, lot, min_price,
 * max_price, ref_price (int64), mode, 0 (u32). A record that runs past the end of the
 * file, the last record when its payload CRC fails, or a zero-filled tail
 * (as a crash can leave after the file grew) is a torn tail: it is
 * reported (log warning, zc_journal_info) and ignored by replay, and
 * truncated when an engine opens the journal to append to it. Any other bad record (header CRC, payload
 * CRC with data after it, chain hash) is corruption: an error that names its
 * byte offset. */
#ifndef ZKCLOB_BOOK_H
#define ZKCLOB_BOOK_H

#include "zkclob/core.h"
#include "zkclob/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zc_side { ZC_SIDE_BUY = 0, ZC_SIDE_SELL = 1 } zc_side;

typedef enum zc_order_type {
    ZC_ORDER_LIMIT = 0,
    ZC_ORDER_MARKET = 1,
    ZC_ORDER_CANCEL = 2,
    ZC_ORDER_MODIFY = 3
} zc_order_type;

typedef enum zc_tif { ZC_TIF_GTC = 0, ZC_TIF_IOC = 1, ZC_TIF_FOK = 2, ZC_TIF_POST_ONLY = 3 } zc_tif;

typedef enum zc_stp {
    ZC_STP_NONE = 0,
    ZC_STP_CANCEL_NEWEST = 1,
    ZC_STP_CANCEL_OLDEST = 2,
    ZC_STP_CANCEL_BOTH = 3
} zc_stp;

typedef enum zc_event_kind {
    ZC_EVENT_ACK = 0,
    ZC_EVENT_FILL = 1,
    ZC_EVENT_CANCEL = 2,
    ZC_EVENT_REJECT = 3,
    ZC_EVENT_EXPIRE = 4
} zc_event_kind;

/* Reject reasons (reject events) and cancel causes (cancel events). */
typedef enum zc_reason {
    ZC_REASON_NONE = 0,
    ZC_REASON_UNKNOWN_SYMBOL = 1,
    ZC_REASON_BAD_TYPE = 2,
    ZC_REASON_BAD_SIDE = 3,
    ZC_REASON_BAD_TIF = 4,
    ZC_REASON_BAD_STP = 5,
    ZC_REASON_BAD_QTY = 6,        /* qty <= 0 or > ZC_BOOK_MAX_QTY */
    ZC_REASON_LOT = 7,            /* qty not a multiple of the lot size */
    ZC_REASON_TICK = 8,           /* price not a multiple of the tick size */
    ZC_REASON_BAND = 9,           /* price outside [min_price, max_price] */
    ZC_REASON_TIF_FOR_TYPE = 10,  /* market order with post_only */
    ZC_REASON_CALL_PHASE = 11,    /* not a limit gtc order during a call auction */
    ZC_REASON_DUPLICATE_ID = 12,
    ZC_REASON_UNKNOWN_ID = 13,    /* cancel or modify of an id not resting in the symbol */
    ZC_REASON_NOT_OWNER = 14,     /* cancel or modify by another trader */
    ZC_REASON_POST_ONLY = 15,     /* post-only order would cross */
    ZC_REASON_CAPACITY = 16,      /* no free order slot in the symbol */
    ZC_REASON_STP = 17,           /* cancel event: self-trade prevention */
    ZC_REASON_BAD_SIGNATURE = 18, /* signature missing or invalid for the order's trader */
    ZC_REASON_RISK_LIMIT = 19     /* pre-trade check: the order would breach a position or loss limit */
} zc_reason;

typedef enum zc_book_mode { ZC_MODE_CONTINUOUS = 0, ZC_MODE_AUCTION = 1 } zc_book_mode;

#define ZC_BOOK_MAX_QTY ((int64_t)1 << 40)
#define ZC_BOOK_MAX_PRICE ((int64_t)1 << 62)
#define ZC_BOOK_MAX_CAPACITY (1u << 22)
#define ZC_BOOK_LEAF_ELEMS 24

/* Packed little-endian records: the layouts of ORDER_DTYPE and EVENT_DTYPE. */
#pragma pack(push, 1)
typedef struct zc_order {
    uint64_t id;
    uint32_t trader;
    uint32_t symbol;
    uint8_t side; /* zc_side */
    uint8_t type; /* zc_order_type */
    uint8_t tif;  /* zc_tif */
    uint8_t stp;  /* zc_stp */
    int64_t price;
    int64_t qty;
    uint64_t ts; /* caller's timestamp, carried in the journal, not used by matching */
} zc_order;

typedef struct zc_event {
    uint64_t seq; /* ingress sequence of the order (or uncross) that caused it */
    uint8_t kind; /* zc_event_kind */
    uint32_t symbol;
    uint64_t order_id;
    uint64_t maker_id;
    int64_t price;
    int64_t qty;
    int64_t remaining;
    uint16_t reason; /* zc_reason */
} zc_event;

/* One aggregated price level (depth views). */
typedef struct zc_depth_level {
    int64_t price;
    int64_t qty;   /* open quantity at the price */
    uint32_t count; /* resting orders at the price */
} zc_depth_level;

/* One resting order (book views), in priority order. */
typedef struct zc_book_entry {
    uint64_t id;
    uint32_t trader;
    uint32_t slot; /* state-root leaf is symbol * capacity + slot */
    uint8_t side;
    uint8_t tif;
    uint8_t stp;
    int64_t price;
    int64_t qty;
    uint64_t seq; /* time priority */
} zc_book_entry;
#pragma pack(pop)

typedef struct zc_symbol_config {
    int64_t tick_size; /* >= 1; 0 = 1 */
    int64_t lot_size;  /* >= 1; 0 = 1 */
    int64_t min_price; /* band; both 0 = [1, ZC_BOOK_MAX_PRICE] */
    int64_t max_price;
    int64_t ref_price; /* initial auction reference price */
    uint32_t mode;     /* zc_book_mode at start */
} zc_symbol_config;

typedef enum zc_fsync_policy {
    ZC_FSYNC_NONE = 0,  /* the OS decides when data reaches the disk */
    ZC_FSYNC_BATCH = 1, /* fdatasync after every record */
    ZC_FSYNC_EVERY = 2  /* fdatasync after every fsync_every records */
} zc_fsync_policy;

typedef struct zc_engine_config {
    uint32_t symbols;                   /* symbol ids are 0 .. symbols-1 */
    uint32_t capacity;                  /* resting orders per symbol, <= ZC_BOOK_MAX_CAPACITY */
    zc_symbol_config defaults;          /* for every symbol without its own entry */
    const zc_symbol_config *per_symbol; /* NULL, or `symbols` entries */
    const char *device;                 /* "auto", "cpu", "opencl:0", an id ...; NULL = "auto" */
    int threads;                        /* cpu device: matching threads, 0 = all cores */
    const char *journal;                /* NULL = none; an existing journal is recovered and extended */
    zc_fsync_policy fsync;
    uint32_t fsync_every;
    uint64_t hash_seed;                 /* key of the order-id hash; 0 = random (no effect on results) */
    int prefault;                       /* cpu: map every book page at creation, so matching never
                                           takes a page fault (memory for the full capacity) */
} zc_engine_config;

typedef struct zc_engine zc_engine;

typedef struct zc_engine_info {
    uint32_t symbols;
    uint32_t capacity;
    int device;          /* device id that holds the books */
    int threads;         /* cpu matching threads (1 on other devices) */
    uint64_t next_seq;   /* ingress sequence of the next order */
    uint64_t batches;    /* state-changing calls so far (journal records) */
    uint64_t resting;    /* resting orders, all symbols */
} zc_engine_info;

typedef struct zc_journal_info {
    uint64_t records;      /* good records */
    uint64_t good_bytes;   /* end of the last good record */
    uint64_t file_bytes;
    int torn;              /* 1 when bytes after good_bytes are a torn tail */
    uint64_t next_seq;     /* ingress sequence after the last good record */
    uint8_t head[32];      /* chain hash of the last good record */
} zc_journal_info;

/* Creates an engine. With a journal path that exists, the journal's config
 * must match, its records are replayed (a torn tail is truncated) and new
 * records are appended. */
ZC_API zc_status zc_engine_create(const zc_engine_config *cfg, zc_engine **out);
ZC_API void zc_engine_destroy(zc_engine *e);
ZC_API zc_status zc_engine_info_get(zc_engine *e, zc_engine_info *out);

/* Matches n orders; *events is a new (m * sizeof(zc_event)) uint8 array of
 * the batch's m events. */
ZC_API zc_status zc_engine_submit(zc_engine *e, const zc_order *orders, size_t n, zc_array **events);
/* As zc_engine_submit into caller memory. When the m events do not fit in
 * cap, the batch is still applied, the first cap are written, *m = m and
 * ZC_ERR_OUT_OF_RANGE is returned; zc_engine_last_events then has them all. */
ZC_API zc_status zc_engine_submit_into(zc_engine *e, const zc_order *orders, size_t n, zc_event *events, size_t cap,
                                       size_t *m);
/* Events of the last call that overflowed its caller buffer, valid until the
 * next state-changing call. */
ZC_API zc_status zc_engine_last_events(zc_engine *e, const zc_event **events, size_t *m);

/* Switching a crossed auction book to continuous is refused (ZC_ERR_STATE):
 * uncross it first. */
ZC_API zc_status zc_engine_set_mode(zc_engine *e, uint32_t symbol, zc_book_mode mode);
ZC_API zc_status zc_engine_get_mode(zc_engine *e, uint32_t symbol, zc_book_mode *mode);
/* Runs the call auction of k distinct symbols (all in auction mode; they stay
 * in it) with one ingress sequence number; events are grouped by symbol in
 * the order given. k = 0 does nothing. */
ZC_API zc_status zc_engine_uncross(zc_engine *e, const uint32_t *symbols, size_t k, zc_array **events);

/* Depth of a symbol, best first, at most `levels` per side, as new
 * (count * sizeof(zc_depth_level)) uint8 arrays. */
ZC_API zc_status zc_engine_depth(zc_engine *e, uint32_t symbol, size_t levels, zc_array **bids, zc_array **asks);
/* Every resting order of a symbol: bids best first, then asks best first,
 * FIFO within a level, as a new (count * sizeof(zc_book_entry)) uint8 array. */
ZC_API zc_status zc_engine_book(zc_engine *e, uint32_t symbol, zc_array **entries);
/* Queues a batch (see "Asynchronous submission" above); *ticket receives
 * its batch number. */
ZC_API zc_status zc_engine_submit_async(zc_engine *e, const zc_order *orders, size_t n, uint64_t *ticket);
/* Completes the batch of `ticket` (and any older one still queued) and
 * hands over its events as a new (m * sizeof(zc_event)) uint8 array; the
 * ticket is then collected. */
ZC_API zc_status zc_engine_wait(zc_engine *e, uint64_t ticket, zc_array **events);
/* Completes every outstanding asynchronous batch (their events stay for
 * zc_engine_wait); views taken afterwards are consistent with every call
 * that returned before. Returns the error of a batch that failed. */
ZC_API zc_status zc_engine_sync(zc_engine *e);
ZC_API zc_status zc_engine_state_root(zc_engine *e, uint8_t root[32]);

/* Rebuilds an engine from a journal: the journal's config with device,
 * threads and hash_seed from `run` (NULL = auto; its other fields are
 * ignored), without a journal of its own. *events (optional) receives every
 * replayed event. The file is not changed (a torn tail is ignored). */
ZC_API zc_status zc_engine_replay(const char *path, const zc_engine_config *run, zc_engine **out,
                                  zc_array **events);
/* Scans a journal without changing it: ZC_OK with the good prefix (torn
 * tails are reported in info), ZC_ERR_IO naming the offset of corruption. */
ZC_API zc_status zc_journal_check(const char *path, zc_journal_info *info);

/* CRC32C (Castagnoli), reflected, init and final xor 0xFFFFFFFF:
 * zc_crc32c(0, "123456789", 9) == 0xE3069283. Chain by passing the previous
 * result as crc. */
ZC_API uint32_t zc_crc32c(uint32_t crc, const void *data, size_t n);

/* ---- Generated order streams (csrc/book/orders_gen.c) ----
 *
 * The standard matching workload, deterministic in the seed: order i (from
 * 0) takes Philox4x64-10 block 0 of key (seed, 0) and counter (0, i, 0, 0),
 * words r0..r3: symbol = r0 mod symbols, u = r1 as a unit double, side =
 * r2 & 1, ts = (i + 1) * ts_step_ns. Then
 *   0.7 <= u < 0.9 and the symbol has live orders: a cancel of one of them,
 *        chosen as r3 mod count (id and trader of that order);
 *   u >= 0.9: a marketable limit order 20 ticks through the mid, ioc (gtc in
 *        a call phase), 10 + (r2 >> 1) mod 31 lots;
 *   otherwise a gtc limit order 1 + floor(10 |z|) ticks from the mid on its
 *        own side (z: Box-Muller of key (seed, 1), counter (0, i, 0, 0)),
 *        1 + (r2 >> 1) mod 10 lots.
 * New orders have id i + 1 and trader r3 mod traders. Orders are made in
 * pieces of 8192 within each phase; before a piece starting at order p every
 * symbol's mid takes a step of round(2 z) ticks (z of key (seed, 2), counter
 * (0, p, symbol, 0)), kept within [mid/2, 3 mid/2]. A live order is one that
 * rests in the book the stream is meant for (zc_orders_gen_engine_config):
 * the generator matches each piece in a private engine before making the
 * next, so a cancel can still name an order filled within its own piece
 * (rejected with ZC_REASON_UNKNOWN_ID).
 * Phases: with auction_orders = a > 0, orders [0, a) form an opening call
 * auction and [n - a, n) a closing one. The stream is meant to be run as:
 * every symbol set to auction, orders [0, a), uncross of all symbols in
 * order, every symbol set to continuous, orders [a, n - a), every symbol set
 * to auction, orders [n - a, n), uncross of all symbols. Batch boundaries
 * within a phase do not change the outcome. */
typedef struct zc_orders_gen_config {
    uint64_t seed;
    uint32_t symbols;      /* 0 = 256 */
    uint32_t traders;      /* 0 = 10000 */
    uint32_t capacity;     /* resting orders per symbol of the engine; 0 = 1024 */
    size_t auction_orders; /* orders of each call auction (at most n / 2); 0 = none */
    int64_t mid;           /* initial mid price in ticks, in [1024, 2^40]; 0 = 100000 */
    uint64_t ts_step_ns;   /* 0 = 1000000 */
} zc_orders_gen_config;

/* The engine a stream is meant for: symbols, capacity, tick and lot 1, band
 * [1, 2 mid], reference price mid, continuous mode; device, journal and the
 * other run settings zeroed for the caller to fill. */
ZC_API zc_status zc_orders_gen_engine_config(const zc_orders_gen_config *cfg, zc_engine_config *out);
/* Writes orders 0 .. n-1 (n < 2^32) of the stream into out. */
ZC_API zc_status zc_orders_generate(const zc_orders_gen_config *cfg, zc_order *out, size_t n);

/* ---- Signed orders (csrc/book/signed.c) ----
 *
 * Canonical encoding of an order, ZC_ORDER_SIGNED_BYTES bytes:
 *   0   8  "ZCORDER1" (ASCII domain tag and encoding version)
 *   8   8  id        u64 little-endian
 *   16  4  trader    u32
 *   20  4  symbol    u32
 *   24  1  side, 25 type, 26 tif, 27 stp (u8 each)
 *   28  8  price     i64 two's complement little-endian
 *   36  8  qty       i64
 *   44  8  ts        u64
 * i.e. the tag followed by the packed zc_order; every field is signed,
 * including those an order type ignores. The digest an order's trader signs
 * is Keccak-256 (Ethereum padding) of the encoding.
 *
 * Demo and test keys: trader t's secret key under a seed is the first
 * Keccak-256("ZCKEY001" || seed u64 LE || t u32 LE || c u32 LE), c = 0, 1,
 * ..., that read as a big-endian integer is in [1, n - 1] (n: the secp256k1
 * group order).
 *
 * Signature gate: zc_engine_submit_verified matches the orders whose
 * verdict is non-zero and rejects the others with ZC_REASON_BAD_SIGNATURE.
 * A rejected order is refused before ingress, as a gateway refuses an
 * unauthenticated message: it takes no sequence number, is not journaled
 * (replay reproduces every other event and the same state root) and never
 * reaches the book. Its reject event (order_id, price, qty of the order,
 * remaining 0) carries seq = the ingress sequence of the next accepted
 * order of the batch, or the engine's next_seq when none follows, so the
 * events stay sorted by seq and in array order. */
#define ZC_ORDER_SIGNED_BYTES 52

/* out receives n x ZC_ORDER_SIGNED_BYTES bytes. */
ZC_API zc_status zc_order_encode(const zc_order *orders, size_t n, uint8_t *out);
/* Keccak-256 digests of the encodings (n x 32 bytes) on *device. */
ZC_API zc_status zc_order_digest(int *device, const zc_order *orders, size_t n, uint8_t *digests32);
/* Secret keys of traders first .. first + n - 1 under seed (n x 32 bytes). */
ZC_API zc_status zc_trader_seckeys(uint64_t seed, uint32_t first, uint32_t n, uint8_t *seckeys32);
/* Their public keys (n x 64 bytes, the parsed form of zkclob/crypto.h). */
ZC_API zc_status zc_trader_pubkeys(uint64_t seed, uint32_t first, uint32_t n, uint8_t *pubkeys64);
/* Signs each order's digest with its trader's key (seckeys32[trader], RFC
 * 6979, low s) on the cpu thread pool: sigs64 receives n x 64 bytes r || s.
 * A trader >= ntraders is an error. */
ZC_API zc_status zc_orders_sign(const uint8_t *seckeys32, uint32_t ntraders, const zc_order *orders, size_t n,
                                uint8_t *sigs64);
/* valid[i] = 1 when sigs64[i] is a valid signature of order i's digest
 * under pubkeys64[trader] (flags of zc_ecdsa_verify_batch), else 0; a
 * trader >= ntraders gives 0. Runs in blocks on *device. */
ZC_API zc_status zc_orders_verify(int *device, const uint8_t *pubkeys64, uint32_t ntraders, const zc_order *orders,
                                  const uint8_t *sigs64, size_t n, unsigned flags, uint8_t *valid);
/* Signature gate with verdicts already computed: valid[i] != 0 admits
 * orders[i]. *events receives the batch's events, rejects included. */
ZC_API zc_status zc_engine_submit_verified(zc_engine *e, const zc_order *orders, const uint8_t *valid, size_t n,
                                           zc_array **events);
/* zc_orders_verify on *device, then zc_engine_submit_verified. */
ZC_API zc_status zc_engine_submit_signed(zc_engine *e, int *device, const uint8_t *pubkeys64, uint32_t ntraders,
                                         const zc_order *orders, const uint8_t *sigs64, size_t n, unsigned flags,
                                         zc_array **events);

#ifdef __cplusplus
}
#endif
#endif
