/* zkclob market data: technical indicators over many symbols (batch on any
 * backend, and streaming state with O(1) updates), L2 book processing and
 * depth analytics, trade bars, and order-flow analysis. */
#ifndef ZKCLOB_MD_H
#define ZKCLOB_MD_H

#include "zkclob/core.h"
#include "zkclob/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Technical indicators ----
 * Definitions, lookbacks and floating-point order follow TA-Lib (see
 * kernels/indicators.h). Inputs are row-major (nsym x ntime) float64 arrays,
 * one row per symbol. A bar whose inputs (those the indicator reads) are not
 * all finite is a gap: its outputs are NaN and the indicator restarts after
 * it, so each gap-free run is computed as TA-Lib would compute it alone.
 * Bars inside a run's lookback are NaN. */
typedef enum zc_md_kind {
    ZC_MD_SMA = 0,    /* close; period                      */
    ZC_MD_EMA = 1,    /* close; period                      */
    ZC_MD_WMA = 2,    /* close; period                      */
    ZC_MD_DEMA = 3,   /* close; period                      */
    ZC_MD_TEMA = 4,   /* close; period                      */
    ZC_MD_RSI = 5,    /* close; period >= 2                 */
    ZC_MD_MACD = 6,   /* close; fast, slow, signal -> macd, signal, hist */
    ZC_MD_BBANDS = 7, /* close; period >= 2, param = nbdevup, nbdevdn -> upper, middle, lower */
    ZC_MD_ATR = 8,    /* high, low, close; period           */
    ZC_MD_STOCH = 9,  /* high, low, close; fastk, slowk, slowd (SMA) -> slowk, slowd */
    ZC_MD_WILLR = 10, /* high, low, close; period >= 2      */
    ZC_MD_CCI = 11,   /* high, low, close; period >= 2      */
    ZC_MD_ADX = 12,   /* high, low, close; period >= 2      */
    ZC_MD_MFI = 13,   /* high, low, close, volume; period >= 2 */
    ZC_MD_OBV = 14,   /* close, volume                      */
    ZC_MD_VWAP = 15,  /* high, low, close, volume; period (0 = cumulative over the run) */
    ZC_MD_STDDEV = 16, /* close; period >= 2, param[0] = nbdev (population) */
    ZC_MD_ZSCORE = 17, /* close; period >= 2: (close - SMA) / STDDEV, 0 where STDDEV is 0 */
    ZC_MD_KIND_COUNT = 18
} zc_md_kind;

typedef struct zc_md_indicator {
    zc_md_kind kind;
    int32_t period[3];
    double param[2];
} zc_md_indicator;

/* "sma", "ema", ... (lower case); NULL for an unknown kind. */
ZC_API const char *zc_md_kind_name(zc_md_kind kind);
/* Validates kind and parameters (TA-Lib's ranges, periods up to 100000). */
ZC_API zc_status zc_md_indicator_check(const zc_md_indicator *ind);
/* Number of output series (1, 2 or 3) and the lookback of a valid indicator. */
ZC_API int zc_md_indicator_outputs(const zc_md_indicator *ind);
ZC_API int64_t zc_md_indicator_lookback(const zc_md_indicator *ind);

/* Batch over all symbols in parallel on *device (restartable; *device names
 * the device that ran it on return). Inputs the indicator does not read may
 * be NULL; out[0..outputs) must each hold nsym * ntime doubles. Negative
 * volume is an error. */
ZC_API zc_status zc_md_indicator_batch(int *device, const zc_md_indicator *ind, size_t nsym, size_t ntime,
                                       const double *high, const double *low, const double *close,
                                       const double *volume, double *const out[3]);

/* Several indicators over the same inputs: each symbol's rows are read once
 * while they are hot in cache and all indicators advance over them (the
 * results are those of zc_md_indicator_batch, bit for bit). out is
 * (columns x nsym x ntime), columns being the outputs of each indicator in
 * order. */
ZC_API zc_status zc_md_indicators_batch(int *device, const zc_md_indicator *inds, int count, size_t nsym,
                                        size_t ntime, const double *high, const double *low, const double *close,
                                        const double *volume, double *out);

/* Streaming state: per symbol and indicator, updated in O(1) per bar
 * (amortised for STOCH, WILLR, WMA, STDDEV, BBANDS and ZSCORE, which rebuild
 * a window sum or the window extremes once every so many bars; CCI is
 * O(period), its mean deviation being a window sum). After any sequence of updates, each output equals the batch
 * result over the whole history, bit for bit. Runs on the cpu backend. */
typedef struct zc_md_stream zc_md_stream;

ZC_API zc_status zc_md_stream_create(size_t nsym, const zc_md_indicator *inds, int count, zc_md_stream **out);
ZC_API void zc_md_stream_destroy(zc_md_stream *s);
/* Output columns: the outputs of each indicator in order. */
ZC_API int zc_md_stream_columns(const zc_md_stream *s);
/* Inputs the stream reads, as ZC_MD_IN_* bits. */
#define ZC_MD_IN_HIGH 1u
#define ZC_MD_IN_LOW 2u
#define ZC_MD_IN_CLOSE 4u
#define ZC_MD_IN_VOLUME 8u
ZC_API unsigned zc_md_stream_inputs(const zc_md_stream *s);
ZC_API zc_status zc_md_stream_reset(zc_md_stream *s);
/* nbars new bars for every symbol: inputs (nsym x nbars) row-major (unread
 * ones may be NULL); out is (columns x nsym x nbars). */
ZC_API zc_status zc_md_stream_update(zc_md_stream *s, size_t nbars, const double *high, const double *low,
                                     const double *close, const double *volume, double *out);
/* n bars of interleaved symbols, applied in order per symbol: symbol[i] in
 * [0, nsym); out is (n x columns). */
ZC_API zc_status zc_md_stream_update_ticks(zc_md_stream *s, size_t n, const uint32_t *symbol, const double *high,
                                           const double *low, const double *close, const double *volume,
                                           double *out);

/* ---- L2 books ----
 * Per-symbol depth maintained from interleaved L2 messages (or from the
 * matching engine's events). Prices and sizes are doubles (engine ticks and
 * lots convert exactly below 2^53).
 *
 * Messages. DELTA sets the level at (side, price) to (size, orders); size 0
 * removes it. SNAPSHOT messages sharing one seq form a snapshot: the first
 * clears the symbol's book, each sets one level, and deltas continue at
 * seq + 1.
 *
 * Sequencing, per symbol (the documented rule): deltas must arrive with
 * seq = last + 1. A delta with seq == last is a duplicate, one with
 * seq < last is late (out of order); both are dropped. A delta ahead of the
 * expected seq by at most reorder_window is held and applied in sequence
 * once the missing ones arrive (reported as reordered); anything further
 * ahead, or a full hold buffer, is a gap: the book is marked stale, held
 * messages are discarded, and deltas are dropped until a snapshot resyncs
 * it (drop and request resync). The first delta a symbol sees sets its
 * sequence. Invalid messages (side, action, non-finite price, negative or
 * non-finite size) are dropped and reported.
 *
 * Crossed books (best bid >= best ask) are applied as sent but flagged:
 * an event on entering and leaving the state, a counter, and
 * ZC_L2_F_CROSSED on every quote row and metrics row while it lasts.
 * Timestamps going backwards within a symbol are reported, not rejected
 * (sequence numbers order the book). */
typedef enum zc_l2_action { ZC_L2_DELTA = 0, ZC_L2_SNAPSHOT = 1 } zc_l2_action;

typedef struct zc_l2_msg {
    uint64_t seq;
    uint64_t ts;
    double price;
    double size;
    uint32_t symbol;
    uint32_t orders; /* orders at the level; 0 when the feed does not say */
    uint8_t side;    /* 0 bid, 1 ask */
    uint8_t action;  /* zc_l2_action */
    uint8_t pad[6];
} zc_l2_msg;

/* Quote row flags. */
#define ZC_L2_F_APPLIED 1u  /* the message changed the book */
#define ZC_L2_F_DROPPED 2u  /* dropped (duplicate, late, gap, stale book, invalid) */
#define ZC_L2_F_HELD 4u     /* held for reordering */
#define ZC_L2_F_STALE 8u    /* the book awaits a snapshot after a gap */
#define ZC_L2_F_CROSSED 16u /* best bid >= best ask */

/* Top of book after a message (NaN for an empty side). */
typedef struct zc_l2_quote {
    uint64_t ts;
    uint32_t symbol;
    uint32_t flags;
    double bid, bid_size, ask, ask_size, mid, spread, microprice, imbalance;
} zc_l2_quote;

typedef enum zc_l2_event_kind {
    ZC_L2_EV_GAP = 1,          /* expected = the missing seq; book stale until a snapshot */
    ZC_L2_EV_DUPLICATE = 2,
    ZC_L2_EV_OUT_OF_ORDER = 3, /* late message, dropped */
    ZC_L2_EV_REORDERED = 4,    /* held message applied once the gap filled */
    ZC_L2_EV_CROSSED = 5,
    ZC_L2_EV_UNCROSSED = 6,
    ZC_L2_EV_RESYNC = 7,       /* a snapshot replaced a stale book */
    ZC_L2_EV_OVERFLOW = 8,     /* a side exceeded its level capacity; the worst level was dropped */
    ZC_L2_EV_BAD = 9,          /* invalid message dropped */
    ZC_L2_EV_TS_BACKWARDS = 10,
    ZC_L2_EV_DROPPED_STALE = 11 /* delta dropped while the book awaits a snapshot */
} zc_l2_event_kind;

typedef struct zc_l2_event {
    uint64_t index; /* message (or engine event) index within the call */
    uint64_t seq;
    uint64_t ts;
    uint64_t expected; /* gaps, duplicates, late messages: the seq expected next */
    uint32_t symbol;
    uint32_t kind; /* zc_l2_event_kind */
} zc_l2_event;

typedef struct zc_l2_counters {
    uint64_t applied, snapshots, gaps, duplicates, out_of_order, reordered, dropped_stale, crossed, bad, overflow,
        ts_backwards, events_lost;
} zc_l2_counters;

typedef struct zc_l2_config {
    uint32_t symbols;
    uint32_t levels;         /* level capacity per side; 0 = 128 */
    uint32_t reorder_window; /* 0 (strict) .. 64 */
    uint32_t event_capacity; /* events kept per symbol per call (more are counted); 0 = 256 */
    const double *tick;      /* per-symbol tick size for liquidity holes; NULL = 1 */
} zc_l2_config;

typedef struct zc_l2 zc_l2;

ZC_API zc_status zc_l2_create(const zc_l2_config *cfg, zc_l2 **out);
ZC_API void zc_l2_destroy(zc_l2 *b);
ZC_API uint32_t zc_l2_symbols(const zc_l2 *b);
ZC_API uint32_t zc_l2_capacity(const zc_l2 *b);
/* Events kept per symbol per call (the resolved config value): a call of n
 * messages reports at most min(n, symbols) * zc_l2_event_capacity events. */
ZC_API uint32_t zc_l2_event_capacity(const zc_l2 *b);
/* Applies n messages (any interleaving of symbols; each symbol's messages in
 * order). quotes (n rows) and topk (n x 2 sides x k levels x [price, size],
 * NaN-padded) may be NULL. Events go to events[0 .. event_cap) in message
 * order; *nevents is how many there were in total. Symbols are processed in
 * parallel on the cpu backend (calls of a few thousand messages or more),
 * with results identical to one thread. An unknown symbol anywhere fails the
 * call and leaves the book unchanged; quote and top-k rows may have been
 * written (a large one-thread call checks symbols as it applies them, after
 * saving the state it changes). */
ZC_API zc_status zc_l2_apply(zc_l2 *b, const zc_l2_msg *msgs, size_t n, zc_l2_quote *quotes, double *topk,
                             uint32_t k, zc_l2_event *events, size_t event_cap, size_t *nevents);
/* Depth from the matching engine: `events` (EVENT_DTYPE) must be the
 * engine's output for `orders` (ORDER_DTYPE, the batch or batches in the
 * order submitted), which give each new order's side. Resting orders are
 * tracked by (symbol, id): an acknowledged limit order rests with what is
 * left after its fills unless it expires or is cancelled; fills reduce the
 * maker; cancels remove; modify acks move the order. quotes (one row per
 * event) may be NULL. */
ZC_API zc_status zc_l2_apply_engine(zc_l2 *b, const void *orders, size_t norders, const void *events,
                                    size_t nevents, zc_l2_quote *quotes);
/* The live depth arrays, with a reference each (release with
 * zc_array_release): levels f64 (symbols, 2, capacity, 3) [price, size,
 * orders], best first; counts i64 (symbols, 2) levels in use. Views see
 * every later update. */
ZC_API zc_status zc_l2_depth(zc_l2 *b, zc_array **levels, zc_array **counts);
ZC_API zc_status zc_l2_counters_get(const zc_l2 *b, uint32_t symbol, zc_l2_counters *out);

/* Depth metrics of every symbol's current book, one row per symbol:
 *   mid, spread, microprice,
 *   imbalance_1 .. imbalance_L     (bid - ask) / (bid + ask) size of the top 1..L levels,
 *   bid_depth_b, ask_depth_b       size within each band of bps around mid,
 *   buy_vwap_q, sell_vwap_q        VWAP of a market order of each size q through the book (NaN if the
 *                                  side is too thin),
 *   buy_cost_bps_q, sell_cost_bps_q  (VWAP - mid) / mid * 1e4 and (mid - VWAP) / mid * 1e4,
 *   bid_holes, ask_holes, bid_widest_gap, ask_widest_gap   empty ticks among the top L levels,
 *   flags                          ZC_L2_F_STALE | ZC_L2_F_CROSSED. */
typedef struct zc_l2_metrics_cfg {
    uint32_t levels;
    uint32_t nbands;
    const double *bands_bps;
    uint32_t nsizes;
    const double *sizes;
} zc_l2_metrics_cfg;

ZC_API size_t zc_l2_metrics_columns(const zc_l2_metrics_cfg *cfg);
ZC_API zc_status zc_l2_metrics(const zc_l2 *b, const zc_l2_metrics_cfg *cfg, double *out);

/* ---- Trades: bars and rolling statistics ----
 * Trades of many symbols interleaved; within a symbol, timestamps must not
 * go backwards (an error otherwise). side: +1 buyer-initiated, -1 seller,
 * 0 unknown. Prices and sizes must be finite, sizes >= 0. */
typedef struct zc_trade {
    uint64_t ts;
    double price;
    double size;
    uint32_t symbol;
    int8_t side;
    uint8_t pad[3];
} zc_trade;

typedef enum zc_bar_kind { ZC_BAR_TIME = 0, ZC_BAR_VOLUME = 1, ZC_BAR_DOLLAR = 2 } zc_bar_kind;

/* Time bars: trades with floor(ts / interval) equal (t_open = bucket start,
 * t_close = next bucket start; empty buckets give no bar). Volume and dollar
 * bars close on the trade that brings the bar's volume (notional) to at
 * least the threshold; that trade belongs to the bar (t_open, t_close = first
 * and last trade). The last bar of a symbol may be incomplete (complete 0). */
typedef struct zc_bar {
    uint64_t t_open, t_close;
    uint32_t symbol, trades, complete, pad;
    double open, high, low, close, volume, notional, vwap;
} zc_bar;

/* Bars ordered by symbol, then time; *nbars is the total (written up to cap). */
ZC_API zc_status zc_md_bars(const zc_trade *t, size_t n, uint32_t nsym, zc_bar_kind kind, double threshold,
                            zc_bar *out, size_t cap, size_t *nbars);
/* Per trade: volume and VWAP of the symbol's trades with ts in (ts - window, ts]. */
ZC_API zc_status zc_md_trades_rolling(const zc_trade *t, size_t n, uint32_t nsym, uint64_t window_ns,
                                      double *volume, double *vwap);

/* ---- Order flow ---- */

/* Trade signs (+1 buyer-initiated, -1 seller-initiated, 0 unknown), each
 * symbol in arrival order:
 *   tick       sign of the change from the symbol's previous trade price; a
 *              zero tick repeats the last non-zero sign (0 before any);
 *   quote      above the prevailing mid +1, below -1, at the mid 0;
 *   lee_ready  the quote rule, and the tick rule for trades at the mid
 *              (Lee & Ready 1991).
 * bid/ask (per trade) are the quotes to compare with; the caller lags them
 * if desired. They are needed by quote and lee_ready only. */
typedef enum zc_md_classifier { ZC_MD_TICK = 0, ZC_MD_QUOTE = 1, ZC_MD_LEE_READY = 2 } zc_md_classifier;

ZC_API zc_status zc_md_classify(const zc_trade *t, size_t n, uint32_t nsym, zc_md_classifier method,
                                const double *bid, const double *ask, int8_t *sign);

/* Bulk volume classification (Easley, Lopez de Prado & O'Hara 2012): the
 * buy fraction of bar j is Phi(dP_j / sigma_j), dP_j = close_j - close_{j-1}
 * and sigma_j the population standard deviation of the `window` price
 * changes ending at bar j; NaN before that. Rows are symbols. Phi goes
 * through erfc, so backends and references agree to about 1e-15. */
ZC_API zc_status zc_md_bvc(const double *close, size_t nsym, size_t nbars, uint32_t window, double *buy_fraction);

/* Order-flow imbalance per quote update (Cont, Kukanov & Stoikov 2014) at
 * each of `levels` book levels (level 0 is L1; summing levels gives the
 * multi-level OFI). Inputs are (n x levels) prices and sizes of the updates
 * of interleaved symbols; e is (n x levels), 0 for a symbol's first update
 * and for a level that is missing (NaN) before or after. */
ZC_API zc_status zc_md_ofi(const uint32_t *symbol, size_t n, uint32_t nsym, uint32_t levels, const double *bid_px,
                           const double *bid_sz, const double *ask_px, const double *ask_sz, double *e);

/* VPIN (Easley, Lopez de Prado & O'Hara 2012). Each symbol's trades fill
 * buckets of bucket_volume in order; a trade that overflows a bucket is
 * split across it and the next. A trade's buy volume is its size times its
 * buy fraction (NULL: 1 for side +1, 0 for -1, 1/2 for 0). One row per
 * completed bucket; vpin is mean |buy - sell| / bucket_volume over the last
 * `window` buckets (NaN before `window` buckets). */
typedef struct zc_vpin_bucket {
    uint64_t ts; /* the trade that completed the bucket */
    uint32_t symbol, index;
    double buy, sell, vpin;
} zc_vpin_bucket;

ZC_API zc_status zc_md_vpin(const zc_trade *t, size_t n, uint32_t nsym, const double *buy_fraction,
                            double bucket_volume, uint32_t window, zc_vpin_bucket *out, size_t cap,
                            size_t *nbuckets);

/* Kyle's lambda: the OLS slope (with intercept) of price changes dp on
 * signed volume q over the last `window` intervals, per symbol row; NaN
 * while the window is incomplete or q does not vary in it. */
ZC_API zc_status zc_md_kyle_lambda(const double *dp, const double *q, size_t nsym, size_t nint, uint32_t window,
                                   double *lambda);

/* Trade-size distribution: counts and volume per symbol (nsym x nbins) over
 * ascending edges (nbins + 1); sizes below the first edge count in the
 * first bin, at or above the last in the last. */
ZC_API zc_status zc_md_size_histogram(const zc_trade *t, size_t n, uint32_t nsym, const double *edges,
                                      uint32_t nbins, double *count, double *volume);

/* Institutional vs retail, per trade, by rules (bits in `rules`):
 *   BLOCK   1  size >= the symbol's block_quantile trade size (nearest rank
 *              over the call's trades of the symbol)             +0.45
 *   ROUND   2  a positive multiple of round_lot                  +0.10
 *   ODD     4  below round_lot                                   -0.25
 *   PARENT  8  one of >= min_children consecutive same-side (side != 0)
 *              round-lot fills of the symbol, each within child_gap_ns and
 *              child_band_bps of the previous one, summing to at least the
 *              block size (a parent split into children)         +0.35
 *   ICEBERG 16 one of >= min_children same-side fills at exactly one price
 *              with sizes within iceberg_size_tol of the first's, each
 *              within child_gap_ns of the previous (refills)      +0.30
 * p = clamp(0.25 + sum, 0, 1); label 1 (institutional) when p >= 0.5;
 * confidence = max(p, 1 - p). */
#define ZC_MD_RULE_BLOCK 1u
#define ZC_MD_RULE_ROUND 2u
#define ZC_MD_RULE_ODD 4u
#define ZC_MD_RULE_PARENT 8u
#define ZC_MD_RULE_ICEBERG 16u

typedef struct zc_md_participant_cfg {
    double block_quantile;   /* 0 = 0.99 */
    double round_lot;        /* 0 = 100 */
    uint64_t child_gap_ns;   /* 0 = 1 s */
    double child_band_bps;   /* 0 = 10 */
    uint32_t min_children;   /* 0 = 4 */
    double iceberg_size_tol; /* 0 = 0.1 */
} zc_md_participant_cfg;

ZC_API zc_status zc_md_participants(const zc_trade *t, size_t n, uint32_t nsym, const zc_md_participant_cfg *cfg,
                                    uint8_t *label, double *confidence, uint8_t *rules);

/* Patterns in the matching engine's events (with the orders that caused
 * them, as for zc_l2_apply_engine; timestamps and traders come from the
 * orders):
 *   SWEEP      one taker order filled against >= sweep_levels distinct maker
 *              prices; ids: the taker, then its makers.
 *   LAYERING   a trader adds >= layer_orders orders on one side of a symbol
 *              at distinct prices and cancels them unfilled, all within
 *              layer_window_ns, while trading on the other side in that
 *              time (add-then-cancel spoofing-like); ids: those orders.
 *   STUFFING   a burst of >= stuffing_msgs adds and cancels in a symbol
 *              within stuffing_window_ns with fills / messages <=
 *              stuffing_max_fill_ratio; overlapping windows merge; ids:
 *              the orders of the burst's messages.
 * Patterns come in event order; ids[first .. first + norders) are the
 * orders involved. Totals are reported even when out or ids are short. */
typedef enum zc_md_pattern_kind { ZC_MD_SWEEP = 1, ZC_MD_LAYERING = 2, ZC_MD_STUFFING = 3 } zc_md_pattern_kind;

typedef struct zc_md_pattern {
    uint64_t t_start, t_end;
    uint64_t first; /* into ids */
    uint32_t kind, symbol, trader, norders, levels, side;
    double qty;
} zc_md_pattern;

typedef struct zc_md_pattern_cfg {
    uint32_t sweep_levels;          /* 0 = 3 */
    uint32_t layer_orders;          /* 0 = 3 */
    uint64_t layer_window_ns;       /* 0 = 1 s */
    uint32_t stuffing_msgs;         /* 0 = 50 */
    uint64_t stuffing_window_ns;    /* 0 = 1 ms */
    double stuffing_max_fill_ratio; /* 0 = 0.05 */
} zc_md_pattern_cfg;

ZC_API zc_status zc_md_patterns(const void *orders, size_t norders, const void *events, size_t nevents,
                                const zc_md_pattern_cfg *cfg, zc_md_pattern *out, size_t cap, size_t *npatterns,
                                uint64_t *ids, size_t ids_cap, size_t *nids);

#ifdef __cplusplus
}
#endif
#endif
