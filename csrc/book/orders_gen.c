/* Deterministic order streams: the standard matching workload over many
 * symbols and traders, with optional opening and closing call auctions. The
 * stream is specified in zkclob/book.h (zc_orders_generate). Liveness of the
 * orders that cancels name comes from matching the stream in a private cpu
 * engine while generating it, piece by piece. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../../kernels/philox.h"
#include "zkclob/book.h"

#define GEN_PIECE 8192         /* orders generated before they are matched */
#define GEN_MAX_ORDERS 0xFFFFFFFEu
#define GEN_LIMIT_SIGMA 10.0   /* ticks per standard normal of a limit order's offset */
#define GEN_DRIFT_SIGMA 2.0    /* ticks per standard normal of a mid step */
#define GEN_THROUGH 20         /* ticks a marketable order reaches through the mid */

enum { STREAM_ORDER = 0, STREAM_OFFSET = 1, STREAM_DRIFT = 2 };

/* Per symbol, the tracked live orders as dense arrays of order indices
 * (id - 1) with swap-remove; pos[] finds an order in its array. */
typedef struct gen_state {
    zc_orders_gen_config cfg;
    uint32_t *live;   /* symbols x slots */
    uint32_t *nlive;  /* per symbol */
    uint32_t slots;   /* per symbol: capacity + GEN_PIECE */
    int64_t *mid;     /* per symbol */
    int64_t *open;    /* by order index */
    uint32_t *pos;    /* by order index; UINT32_MAX when not live */
    zc_event *ev;
    size_t ev_cap;
} gen_state;

static void resolve(const zc_orders_gen_config *in, zc_orders_gen_config *out)
{
    *out = *in;
    if (!out->symbols)
        out->symbols = 256;
    if (!out->traders)
        out->traders = 10000;
    if (!out->capacity)
        out->capacity = 1024;
    if (!out->mid)
        out->mid = 100000;
    if (!out->ts_step_ns)
        out->ts_step_ns = 1000000;
}

static zc_status check_config(const zc_orders_gen_config *c)
{
    if (c->capacity > ZC_BOOK_MAX_CAPACITY)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "capacity %u is above %u", c->capacity, ZC_BOOK_MAX_CAPACITY);
    /* The mid stays within [mid/2, 3 mid/2]; orders reach GEN_THROUGH and
     * many sigmas beyond it, all inside the band [1, 2 mid]. */
    if (c->mid < 1024 || c->mid > ((int64_t)1 << 40))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "mid %lld is outside [1024, 2^40]", (long long)c->mid);
    return ZC_OK;
}

static zc_status check_size(const zc_orders_gen_config *c, size_t n)
{
    if (n > GEN_MAX_ORDERS)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "at most %u orders, got %zu", GEN_MAX_ORDERS, n);
    if (c->auction_orders > n / 2)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "auction_orders %zu: two auctions do not fit in %zu orders",
                      c->auction_orders, n);
    if (c->ts_step_ns > UINT64_MAX / (n + 1))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "ts_step_ns %llu overflows the timestamps of %zu orders",
                      (unsigned long long)c->ts_step_ns, n);
    return ZC_OK;
}

zc_status zc_orders_gen_engine_config(const zc_orders_gen_config *cfg, zc_engine_config *out)
{
    if (!cfg || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "cfg and out must not be NULL");
    zc_orders_gen_config c;
    resolve(cfg, &c);
    ZC_CHECK(check_config(&c));
    memset(out, 0, sizeof *out);
    out->symbols = c.symbols;
    out->capacity = c.capacity;
    out->defaults = (zc_symbol_config){1, 1, 1, 2 * c.mid, c.mid, ZC_MODE_CONTINUOUS};
    return ZC_OK;
}

static void live_add(gen_state *g, uint32_t s, uint32_t idx)
{
    g->pos[idx] = g->nlive[s];
    g->live[(size_t)s * g->slots + g->nlive[s]++] = idx;
}

static void live_remove(gen_state *g, uint32_t s, uint32_t idx)
{
    uint32_t p = g->pos[idx];
    if (p == UINT32_MAX)
        return;
    uint32_t *arr = g->live + (size_t)s * g->slots;
    uint32_t last = arr[--g->nlive[s]];
    arr[p] = last;
    g->pos[last] = p;
    g->pos[idx] = UINT32_MAX;
}

static double normal(uint64_t seed, uint64_t stream, uint64_t c0, uint64_t c1)
{
    zc_u64x4 w = zc_philox4x64_block(seed, stream, 0, c0, c1, 0, 0);
    double z0, z1;
    zc_box_muller(w.v[0], w.v[1], &z0, &z1);
    return z0;
}

/* Orders [begin, end) of the stream into out. */
static zc_status gen_piece(gen_state *g, zc_order *out, size_t begin, size_t end, int auction)
{
    const zc_orders_gen_config *c = &g->cfg;
    int64_t lo = c->mid / 2, hi = c->mid + c->mid / 2;
    for (uint32_t s = 0; s < c->symbols; s++) {
        int64_t step = (int64_t)llround(normal(c->seed, STREAM_DRIFT, begin, s) * GEN_DRIFT_SIGMA);
        int64_t m = g->mid[s] + step;
        g->mid[s] = m < lo ? lo : m > hi ? hi : m;
    }
    for (size_t i = begin; i < end; i++) {
        zc_u64x4 r = zc_philox4x64_block(c->seed, STREAM_ORDER, 0, i, 0, 0, 0);
        zc_order *x = &out[i];
        memset(x, 0, sizeof *x);
        uint32_t s = (uint32_t)(r.v[0] % c->symbols);
        double u = zc_unit_double(r.v[1]);
        x->symbol = s;
        x->side = (uint8_t)(r.v[2] & 1);
        x->ts = (uint64_t)(i + 1) * c->ts_step_ns;
        if (u >= 0.7 && u < 0.9 && g->nlive[s]) {
            uint32_t idx = g->live[(size_t)s * g->slots + r.v[3] % g->nlive[s]];
            live_remove(g, s, idx);
            x->id = (uint64_t)idx + 1;
            x->trader = out[idx].trader;
            x->type = ZC_ORDER_CANCEL;
            continue;
        }
        x->id = (uint64_t)i + 1;
        x->trader = (uint32_t)(r.v[3] % c->traders);
        x->type = ZC_ORDER_LIMIT;
        int buy = x->side == ZC_SIDE_BUY;
        if (u >= 0.9) {
            /* Marketable: ioc through the mid (gtc in a call phase, where
             * only gtc limit orders are accepted). */
            x->tif = auction ? ZC_TIF_GTC : ZC_TIF_IOC;
            x->price = buy ? g->mid[s] + GEN_THROUGH : g->mid[s] - GEN_THROUGH;
            x->qty = 10 + (int64_t)((r.v[2] >> 1) % 31);
            if (!auction)
                continue;
        } else {
            int64_t off = 1 + (int64_t)floor(fabs(normal(c->seed, STREAM_OFFSET, i, 0)) * GEN_LIMIT_SIGMA);
            x->tif = ZC_TIF_GTC;
            x->price = buy ? g->mid[s] - off : g->mid[s] + off;
            x->qty = 1 + (int64_t)((r.v[2] >> 1) % 10);
        }
        /* Tracked orders rest (at most capacity) or came in this piece. */
        if (g->nlive[s] == g->slots)
            return ZC_ERR(ZC_ERR_INTERNAL, "symbol %u: more live orders than its %u slots", s, g->slots);
        g->open[i] = x->qty;
        live_add(g, s, (uint32_t)i);
    }
    return ZC_OK;
}

/* Liveness after matching: fills reduce both sides, rejects and
 * self-trade cancels remove. Ids not tracked are ignored. */
static void track(gen_state *g, const zc_event *ev, size_t m, size_t n)
{
    for (size_t j = 0; j < m; j++) {
        const zc_event *e = &ev[j];
        uint64_t id = e->order_id;
        int tracked = id >= 1 && id <= n && g->pos[id - 1] != UINT32_MAX;
        switch (e->kind) {
        case ZC_EVENT_FILL: {
            uint64_t mk = e->maker_id;
            if (mk >= 1 && mk <= n && g->pos[mk - 1] != UINT32_MAX && (g->open[mk - 1] -= e->qty) <= 0)
                live_remove(g, e->symbol, (uint32_t)(mk - 1));
            if (tracked && (g->open[id - 1] -= e->qty) <= 0)
                live_remove(g, e->symbol, (uint32_t)(id - 1));
            break;
        }
        case ZC_EVENT_REJECT:
        case ZC_EVENT_CANCEL:
        case ZC_EVENT_EXPIRE:
            if (tracked)
                live_remove(g, e->symbol, (uint32_t)(id - 1));
            break;
        default:
            break;
        }
    }
}

static zc_status match_piece(gen_state *g, zc_engine *e, const zc_order *o, size_t k, size_t n)
{
    size_t m;
    zc_status st = zc_engine_submit_into(e, o, k, g->ev, g->ev_cap, &m);
    const zc_event *ev = g->ev;
    if (st == ZC_ERR_OUT_OF_RANGE)
        st = zc_engine_last_events(e, &ev, &m);
    ZC_CHECK(st);
    track(g, ev, m, n);
    return ZC_OK;
}

static zc_status set_modes(zc_engine *e, uint32_t nsym, zc_book_mode mode)
{
    for (uint32_t s = 0; s < nsym; s++)
        ZC_CHECK(zc_engine_set_mode(e, s, mode));
    return ZC_OK;
}

static zc_status uncross_all(gen_state *g, zc_engine *e, uint32_t *syms, size_t n)
{
    zc_array *ev;
    ZC_CHECK(zc_engine_uncross(e, syms, g->cfg.symbols, &ev));
    track(g, zc_array_data(ev), zc_array_nbytes(ev) / sizeof(zc_event), n);
    zc_array_release(ev);
    return ZC_OK;
}

/* A phase [begin, end) generated and matched piece by piece. */
static zc_status run_phase(gen_state *g, zc_engine *e, zc_order *out, size_t begin, size_t end, size_t n,
                           int auction)
{
    for (size_t p = begin; p < end; p += GEN_PIECE) {
        size_t k = end - p < GEN_PIECE ? end - p : GEN_PIECE;
        ZC_CHECK(gen_piece(g, out, p, p + k, auction));
        ZC_CHECK(match_piece(g, e, out + p, k, n));
    }
    return ZC_OK;
}

static zc_status generate(gen_state *g, zc_engine *e, uint32_t *syms, zc_order *out, size_t n)
{
    size_t a = g->cfg.auction_orders;
    for (uint32_t s = 0; s < g->cfg.symbols; s++)
        syms[s] = s;
    if (a) {
        ZC_CHECK(set_modes(e, g->cfg.symbols, ZC_MODE_AUCTION));
        ZC_CHECK(run_phase(g, e, out, 0, a, n, 1));
        ZC_CHECK(uncross_all(g, e, syms, n));
        ZC_CHECK(set_modes(e, g->cfg.symbols, ZC_MODE_CONTINUOUS));
    }
    ZC_CHECK(run_phase(g, e, out, a, n - a, n, 0));
    if (a) {
        ZC_CHECK(set_modes(e, g->cfg.symbols, ZC_MODE_AUCTION));
        ZC_CHECK(run_phase(g, e, out, n - a, n, n, 1));
    }
    return ZC_OK;
}

zc_status zc_orders_generate(const zc_orders_gen_config *cfg, zc_order *out, size_t n)
{
    if (!cfg || (!out && n))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "cfg and out must not be NULL");
    gen_state g;
    memset(&g, 0, sizeof g);
    resolve(cfg, &g.cfg);
    ZC_CHECK(check_config(&g.cfg));
    ZC_CHECK(check_size(&g.cfg, n));
    if (!n)
        return ZC_OK;
    zc_engine_config ec;
    ZC_CHECK(zc_orders_gen_engine_config(cfg, &ec));
    ec.device = "cpu";
    g.slots = g.cfg.capacity + GEN_PIECE;
    g.ev_cap = 4 * (size_t)GEN_PIECE;
    g.live = malloc((size_t)g.cfg.symbols * g.slots * sizeof *g.live);
    g.nlive = calloc(g.cfg.symbols, sizeof *g.nlive);
    g.mid = malloc(g.cfg.symbols * sizeof *g.mid);
    g.open = calloc(n, sizeof *g.open);
    g.pos = malloc(n * sizeof *g.pos);
    g.ev = malloc(g.ev_cap * sizeof *g.ev);
    uint32_t *syms = malloc(g.cfg.symbols * sizeof *syms);
    zc_engine *e = NULL;
    zc_status st = ZC_OK;
    if (!g.live || !g.nlive || !g.mid || !g.open || !g.pos || !g.ev || !syms)
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "generator state for %zu orders over %u symbols", n, g.cfg.symbols);
    if (st == ZC_OK)
        st = zc_engine_create(&ec, &e);
    if (st == ZC_OK) {
        memset(g.pos, 0xFF, n * sizeof *g.pos);
        for (uint32_t s = 0; s < g.cfg.symbols; s++)
            g.mid[s] = g.cfg.mid;
        st = generate(&g, e, syms, out, n);
    }
    zc_engine_destroy(e);
    free(g.live);
    free(g.nlive);
    free(g.mid);
    free(g.open);
    free(g.pos);
    free(g.ev);
    free(syms);
    return st;
}
