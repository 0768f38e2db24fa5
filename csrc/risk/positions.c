/* Real-time positions per (trader, symbol) from the engine's fill events,
 * mark-to-market, limits with transition alerts, and the pre-trade check the
 * engine calls at ingress. Semantics are in zkclob/risk.h.
 *
 * State is dense (traders x symbols, row-major) so Python can view it without
 * copying. Orders are remembered by (symbol, id) in an open-addressing table
 * (linear probing, backward-shift deletion) from their ack until they leave
 * the book. An update validates the whole batch and reserves every buffer it
 * can need before it changes anything, so a failed call leaves no trace. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../book/book_internal.h"
#include "../core/internal.h"
#include "zkclob/book.h"
#include "zkclob/risk.h"

#define POS_LIMIT ((int64_t)1 << 62) /* positions stay within +-2^62 lots */
#define NO_SYMBOL UINT32_MAX

/* Per-pair flags. */
#define PF_BREACH 1u  /* position limit breached */
#define PF_TOUCHED 2u /* changed in the current update */
/* Per-trader flags. */
#define TF_NOTIONAL 1u /* notional limit breached */
#define TF_LOSS 2u     /* loss limit breached */
#define TF_TOUCHED 4u  /* changed in the current update */
#define TF_PRETRADE 8u /* worst-case gross computed in the current pre-trade batch */
/* sflag bits during a pre-trade check (an update uses the byte as a plain 0/1 flag): the
 * symbol has had buy / sell flow accepted earlier in the batch. */
#define SF_SEEN_BUY 2u
#define SF_SEEN_SELL 4u

typedef struct order_slot {
    uint64_t id;
    uint32_t symbol;
    uint32_t trader;
    int64_t open;
    uint8_t used;
    uint8_t side;
} order_slot;

struct zc_position_tracker {
    pthread_mutex_t lock; /* the engine's ingress thread and the caller may both use it */
    uint32_t nt, ns;
    size_t pairs;
    int64_t *pos, *open_buy, *open_sell;
    double *avg, *real, *unreal, *notional;
    double *mark, *pnl, *gross;
    uint8_t *priced; /* per symbol: 1 once a mark or a fill gave it a price */
    uint8_t *marked; /* per symbol: 1 once zc_position_mark set it */
    uint8_t *pflag, *tflag, *sflag;
    uint64_t *pseq, *tseq; /* last event that touched a pair / trader in this update */
    zc_position_limits *lim;

    order_slot *table;
    size_t tcap, tcount; /* tcap is a power of two, load <= 1/2 */

    size_t *plist; /* pairs touched by the current update */
    size_t plist_cap, np;
    uint32_t *tlist; /* traders touched (capacity nt) */
    size_t ntl;
    uint32_t *slist; /* symbols whose price came from a fill in this update (capacity ns) */
    size_t nsl;
    zc_position_alert *alerts;
    size_t alert_cap, nalerts;

    int64_t max_abs; /* bound on |position| over all pairs */
    uint64_t fills, unknown_fills, alerts_total;

    /* Pre-trade scratch: quantities accepted earlier in the batch. */
    int64_t *pend_buy, *pend_sell;
    double *wgross; /* per trader: worst-case gross notional */
    size_t *pre_plist;
    size_t pre_cap, pre_np;
    uint32_t *pre_tlist;
    size_t pre_nt;
};

static uint64_t slot_hash(uint32_t symbol, uint64_t id)
{
    uint64_t z = id ^ ((uint64_t)symbol << 32 | symbol) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static order_slot *table_find(const zc_position_tracker *t, uint32_t symbol, uint64_t id)
{
    size_t mask = t->tcap - 1;
    for (size_t i = slot_hash(symbol, id) & mask;; i = (i + 1) & mask) {
        order_slot *s = &t->table[i];
        if (!s->used)
            return NULL;
        if (s->id == id && s->symbol == symbol)
            return s;
    }
}

/* Insert or overwrite; capacity was reserved beforehand. */
static order_slot *table_put(zc_position_tracker *t, uint32_t symbol, uint64_t id)
{
    size_t mask = t->tcap - 1;
    for (size_t i = slot_hash(symbol, id) & mask;; i = (i + 1) & mask) {
        order_slot *s = &t->table[i];
        if (!s->used) {
            memset(s, 0, sizeof *s);
            s->used = 1;
            s->id = id;
            s->symbol = symbol;
            t->tcount++;
            return s;
        }
        if (s->id == id && s->symbol == symbol)
            return s;
    }
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void table_remove(zc_position_tracker *t, order_slot *s)
{
    size_t mask = t->tcap - 1;
    size_t hole = (size_t)(s - t->table);
    for (size_t i = (hole + 1) & mask; t->table[i].used; i = (i + 1) & mask) {
        size_t home = slot_hash(t->table[i].symbol, t->table[i].id) & mask;
        /* Move entry i into the hole unless its home lies cyclically in (hole, i]. */
        int stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            t->table[hole] = t->table[i];
            hole = i;
        }
    }
    t->table[hole].used = 0;
    t->tcount--;
}

static int table_reserve(zc_position_tracker *t, size_t extra)
{
    size_t need = t->tcount + extra;
    if (2 * need <= t->tcap)
        return 1;
    size_t cap = t->tcap ? t->tcap : 64;
    while (cap < 2 * need)
        cap *= 2;
    order_slot *old = t->table;
    size_t oldcap = t->tcap;
    t->table = calloc(cap, sizeof *t->table);
    if (!t->table) {
        t->table = old;
        return 0;
    }
    t->tcap = cap;
    t->tcount = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].used)
            *table_put(t, old[i].symbol, old[i].id) = old[i];
    free(old);
    return 1;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && *p)
        return 1;
    size_t n = need > 2 * *cap ? need : 2 * *cap;
    if (n < 16)
        n = 16;
    void *q = realloc(*p, n * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = n;
    return 1;
}

void zc_position_destroy(zc_position_tracker *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    void *arrays[] = {t->pos,   t->open_buy, t->open_sell, t->avg,   t->real,  t->unreal,    t->notional,
                      t->mark,  t->pnl,      t->gross,     t->priced, t->marked, t->pflag,   t->tflag,
                      t->sflag, t->pseq,     t->tseq,      t->lim,    t->table,  t->plist,   t->tlist,
                      t->slist, t->alerts,   t->pend_buy,  t->pend_sell, t->wgross, t->pre_plist, t->pre_tlist};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    free(t);
}

zc_status zc_position_create(uint32_t traders, uint32_t symbols, zc_position_tracker **out)
{
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    *out = NULL;
    if (!traders || !symbols)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "traders and symbols must be >= 1, got %u and %u", traders, symbols);
    if ((uint64_t)traders * symbols > ((uint64_t)1 << 32))
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "traders x symbols = %llu exceeds 2^32 positions",
                      (unsigned long long)traders * symbols);
    zc_position_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "position tracker");
    pthread_mutex_init(&t->lock, NULL);
    size_t P = (size_t)traders * symbols;
    t->nt = traders;
    t->ns = symbols;
    t->pairs = P;
    t->pos = calloc(P, sizeof *t->pos);
    t->open_buy = calloc(P, sizeof *t->open_buy);
    t->open_sell = calloc(P, sizeof *t->open_sell);
    t->avg = calloc(P, sizeof *t->avg);
    t->real = calloc(P, sizeof *t->real);
    t->unreal = calloc(P, sizeof *t->unreal);
    t->notional = calloc(P, sizeof *t->notional);
    t->pflag = calloc(P, 1);
    t->pseq = calloc(P, sizeof *t->pseq);
    t->pend_buy = calloc(P, sizeof *t->pend_buy);
    t->pend_sell = calloc(P, sizeof *t->pend_sell);
    t->mark = calloc(symbols, sizeof *t->mark);
    t->priced = calloc(symbols, 1);
    t->marked = calloc(symbols, 1);
    t->sflag = calloc(symbols, 1);
    t->slist = calloc(symbols, sizeof *t->slist);
    t->pnl = calloc(traders, sizeof *t->pnl);
    t->gross = calloc(traders, sizeof *t->gross);
    t->tflag = calloc(traders, 1);
    t->tseq = calloc(traders, sizeof *t->tseq);
    t->lim = calloc(traders, sizeof *t->lim);
    t->tlist = calloc(traders, sizeof *t->tlist);
    t->wgross = calloc(traders, sizeof *t->wgross);
    t->pre_tlist = calloc(traders, sizeof *t->pre_tlist);
    if (!t->pos || !t->open_buy || !t->open_sell || !t->avg || !t->real || !t->unreal || !t->notional || !t->pflag ||
        !t->pseq || !t->pend_buy || !t->pend_sell || !t->mark || !t->priced || !t->marked || !t->sflag ||
        !t->slist || !t->pnl || !t->gross || !t->tflag || !t->tseq || !t->lim || !t->tlist || !t->wgross ||
        !t->pre_tlist || !table_reserve(t, 16)) {
        zc_position_destroy(t);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "position tracker of %u traders x %u symbols", traders, symbols);
    }
    *out = t;
    return ZC_OK;
}

static zc_status check_tracker(const zc_position_tracker *t)
{
    if (!t)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "tracker must not be NULL");
    return ZC_OK;
}

zc_status zc_position_set_limits(zc_position_tracker *t, uint32_t first, uint32_t count,
                                 const zc_position_limits *limits)
{
    ZC_CHECK(check_tracker(t));
    if (!limits && count)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "limits must not be NULL");
    if (first > t->nt || count > t->nt - first)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "traders [%u, %llu) are outside [0, %u)", first,
                      (unsigned long long)first + count, t->nt);
    for (uint32_t i = 0; i < count; i++) {
        const zc_position_limits *l = &limits[i];
        if (l->max_position < 0 || !isfinite(l->max_notional) || l->max_notional < 0 || !isfinite(l->max_loss) ||
            l->max_loss < 0)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                          "trader %u: limits must be finite and >= 0 (max_position %lld, max_notional %g, "
                          "max_loss %g)",
                          first + i, (long long)l->max_position, l->max_notional, l->max_loss);
    }
    pthread_mutex_lock(&t->lock);
    memcpy(&t->lim[first], limits, count * sizeof *limits);
    pthread_mutex_unlock(&t->lock);
    return ZC_OK;
}

static void touch_pair(zc_position_tracker *t, size_t k, uint64_t seq)
{
    if (!(t->pflag[k] & PF_TOUCHED)) {
        t->pflag[k] |= PF_TOUCHED;
        t->plist[t->np++] = k;
    }
    t->pseq[k] = seq;
}

static void touch_trader(zc_position_tracker *t, uint32_t tr, uint64_t seq)
{
    if (!(t->tflag[tr] & TF_TOUCHED)) {
        t->tflag[tr] |= TF_TOUCHED;
        t->tlist[t->ntl++] = tr;
    }
    t->tseq[tr] = seq;
}

/* Recomputes a pair's mark-dependent values and moves the trader's sums by
 * the difference. */
static void revalue(zc_position_tracker *t, size_t k, uint32_t tr, uint32_t s)
{
    double u = (double)t->pos[k] * (t->mark[s] - t->avg[k]);
    double n = fabs((double)t->pos[k]) * t->mark[s];
    if (t->pos[k] == 0)
        u = n = 0.0;
    t->pnl[tr] += u - t->unreal[k];
    t->gross[tr] += n - t->notional[k];
    t->unreal[k] = u;
    t->notional[k] = n;
}

/* One side of a fill, average-cost accounting. */
static void apply_trade(zc_position_tracker *t, uint32_t tr, uint32_t s, uint8_t side, int64_t q, int64_t p,
                        uint64_t seq)
{
    size_t k = (size_t)tr * t->ns + s;
    int64_t x = t->pos[k];
    int64_t sq = side == ZC_SIDE_BUY ? q : -q;
    int64_t ax = x < 0 ? -x : x;
    double price = (double)p;
    if (x == 0 || (x > 0) == (sq > 0)) {
        t->avg[k] = ((double)ax * t->avg[k] + (double)q * price) / (double)(ax + q);
    } else {
        int64_t closed = q < ax ? q : ax;
        double r = (double)closed * (price - t->avg[k]) * (x > 0 ? 1.0 : -1.0);
        t->real[k] += r;
        t->pnl[tr] += r;
        if (x + sq == 0)
            t->avg[k] = 0.0;
        else if ((x > 0) != (x + sq > 0))
            t->avg[k] = price;
    }
    t->pos[k] = x + sq;
    int64_t a = t->pos[k] < 0 ? -t->pos[k] : t->pos[k];
    if (a > t->max_abs)
        t->max_abs = a;
    revalue(t, k, tr, s);
    touch_pair(t, k, seq);
    touch_trader(t, tr, seq);
}

static void set_open(zc_position_tracker *t, order_slot *o, int64_t open)
{
    size_t k = (size_t)o->trader * t->ns + o->symbol;
    int64_t *side = o->side == ZC_SIDE_BUY ? t->open_buy : t->open_sell;
    side[k] += open - o->open;
    o->open = open;
    if (open <= 0)
        table_remove(t, o);
}

static void alert(zc_position_tracker *t, uint32_t tr, uint32_t s, zc_alert_kind kind, double value, double limit,
                  uint64_t seq)
{
    t->alerts[t->nalerts++] = (zc_position_alert){tr, s, (uint32_t)kind, value, limit, seq};
}

/* Trader-wide limits: raise on the transition into breach, re-arm on exit. */
static void check_trader(zc_position_tracker *t, uint32_t tr, uint64_t seq)
{
    const zc_position_limits *l = &t->lim[tr];
    int over = l->max_notional > 0 && t->gross[tr] > l->max_notional;
    if (over && !(t->tflag[tr] & TF_NOTIONAL))
        alert(t, tr, NO_SYMBOL, ZC_ALERT_NOTIONAL, t->gross[tr], l->max_notional, seq);
    t->tflag[tr] = (uint8_t)(over ? t->tflag[tr] | TF_NOTIONAL : t->tflag[tr] & ~TF_NOTIONAL);
    over = l->max_loss > 0 && -t->pnl[tr] > l->max_loss;
    if (over && !(t->tflag[tr] & TF_LOSS))
        alert(t, tr, NO_SYMBOL, ZC_ALERT_LOSS, -t->pnl[tr], l->max_loss, seq);
    t->tflag[tr] = (uint8_t)(over ? t->tflag[tr] | TF_LOSS : t->tflag[tr] & ~TF_LOSS);
}

static void check_pair(zc_position_tracker *t, size_t k, uint64_t seq)
{
    uint32_t tr = (uint32_t)(k / t->ns), s = (uint32_t)(k % t->ns);
    int64_t a = t->pos[k] < 0 ? -t->pos[k] : t->pos[k];
    int64_t lim = t->lim[tr].max_position;
    int over = lim > 0 && a > lim;
    if (over && !(t->pflag[k] & PF_BREACH))
        alert(t, tr, s, ZC_ALERT_POSITION, (double)a, (double)lim, seq);
    t->pflag[k] = (uint8_t)(over ? t->pflag[k] | PF_BREACH : t->pflag[k] & ~PF_BREACH);
}

/* Everything that can reject a batch, before anything changes. */
static zc_status validate(const zc_position_tracker *t, const zc_order *orders, size_t n, uint64_t seq0,
                          const zc_event *events, size_t m, size_t *acks)
{
    for (size_t i = 0; i < n; i++)
        if (orders[i].trader >= t->nt)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "order %zu: trader %u is outside [0, %u)", i, orders[i].trader,
                          t->nt);
    uint64_t total = 0;
    *acks = 0;
    for (size_t j = 0; j < m; j++) {
        const zc_event *e = &events[j];
        if (e->kind > ZC_EVENT_EXPIRE)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "event %zu: unknown kind %u", j, e->kind);
        if (e->kind == ZC_EVENT_REJECT)
            continue;
        if (e->symbol >= t->ns)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "event %zu: symbol %u is outside [0, %u)", j, e->symbol, t->ns);
        if (n == 0 && e->kind != ZC_EVENT_FILL)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                          "event %zu: without orders (an uncross) every event must be a fill, got kind %u", j,
                          e->kind);
        if (n && (e->seq < seq0 || e->seq - seq0 >= n))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "event %zu: seq %llu is outside the batch [%llu, %llu)", j,
                          (unsigned long long)e->seq, (unsigned long long)seq0, (unsigned long long)(seq0 + n));
        if (e->kind == ZC_EVENT_ACK) {
            const zc_order *o = &orders[e->seq - seq0];
            if (o->symbol != e->symbol || o->id != e->order_id)
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "event %zu: ack of order %llu does not match order %llu",
                              j, (unsigned long long)e->order_id, (unsigned long long)(e->seq - seq0));
            /* The side of a modify is ignored by the engine (the resting order keeps its own). */
            int new_order = o->type == ZC_ORDER_LIMIT || o->type == ZC_ORDER_MARKET;
            if ((new_order && o->side > ZC_SIDE_SELL) || e->remaining < 0 || e->remaining > ZC_BOOK_MAX_QTY)
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "event %zu: ack with side %u, remaining %lld", j, o->side,
                              (long long)e->remaining);
            (*acks)++;
        }
        if (e->kind == ZC_EVENT_FILL) {
            if (e->qty < 1 || e->qty > ZC_BOOK_MAX_QTY || e->remaining < 0 || e->remaining > ZC_BOOK_MAX_QTY ||
                e->price < -ZC_BOOK_MAX_PRICE || e->price > ZC_BOOK_MAX_PRICE)
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "event %zu: fill of qty %lld at %lld, remaining %lld", j,
                              (long long)e->qty, (long long)e->price, (long long)e->remaining);
            total += (uint64_t)e->qty;
            if (total > (uint64_t)POS_LIMIT)
                total = (uint64_t)POS_LIMIT;
        }
    }
    if ((uint64_t)t->max_abs + total > (uint64_t)POS_LIMIT)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "fills of %llu lots could take a position past 2^62 lots",
                      (unsigned long long)total);
    return ZC_OK;
}

static void apply_event(zc_position_tracker *t, const zc_order *orders, uint64_t seq0, const zc_event *e)
{
    uint32_t s = e->symbol;
    order_slot *o;
    switch (e->kind) {
    case ZC_EVENT_ACK: {
        const zc_order *src = &orders[e->seq - seq0];
        if (src->type == ZC_ORDER_MODIFY) {
            if ((o = table_find(t, s, src->id)) != NULL)
                set_open(t, o, e->remaining);
        } else if (src->type == ZC_ORDER_LIMIT || src->type == ZC_ORDER_MARKET) {
            /* An ack means no live order has this id, so an entry left here was missed: replace it. */
            if ((o = table_find(t, s, src->id)) != NULL)
                set_open(t, o, 0);
            if (e->remaining > 0) {
                o = table_put(t, s, src->id);
                o->trader = src->trader;
                o->side = src->side;
                set_open(t, o, e->remaining);
            }
        }
        break;
    }
    case ZC_EVENT_FILL: {
        order_slot *taker = table_find(t, s, e->order_id);
        order_slot *maker = table_find(t, s, e->maker_id);
        t->fills++;
        if (!taker || !maker)
            t->unknown_fills++;
        if (!t->marked[s]) {
            if (!t->sflag[s]) {
                t->sflag[s] = 1;
                t->slist[t->nsl++] = s;
            }
            t->mark[s] = (double)e->price;
            t->priced[s] = 1;
        }
        /* Both entries are read before either is removed (removal moves slots). */
        uint32_t tt = taker ? taker->trader : 0, mt = maker ? maker->trader : 0;
        uint8_t ts = taker ? taker->side : 0, ms = maker ? maker->side : 0;
        int64_t mopen = maker ? maker->open - e->qty : 0;
        if (taker)
            apply_trade(t, tt, s, ts, e->qty, e->price, e->seq);
        if (maker)
            apply_trade(t, mt, s, ms, e->qty, e->price, e->seq);
        if (taker)
            set_open(t, taker, e->remaining);
        if (maker && (maker = table_find(t, s, e->maker_id)) != NULL)
            set_open(t, maker, mopen);
        break;
    }
    case ZC_EVENT_CANCEL:
    case ZC_EVENT_EXPIRE:
        if ((o = table_find(t, s, e->order_id)) != NULL)
            set_open(t, o, 0);
        break;
    default:
        break;
    }
}

static zc_status update_locked(zc_position_tracker *t, const zc_order *orders, size_t n, uint64_t seq0,
                               const zc_event *events, size_t m)
{
    size_t acks = 0;
    zc_status st = validate(t, orders, n, seq0, events, m, &acks);
    /* Two pairs per fill; one alert per touched pair plus two per touched trader. */
    if (st == ZC_OK && (!table_reserve(t, acks) || !grow((void **)&t->plist, &t->plist_cap, 2 * m, sizeof(size_t)) ||
                        !grow((void **)&t->alerts, &t->alert_cap, 2 * m + 2 * (size_t)t->nt,
                              sizeof(zc_position_alert))))
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "update of %zu events", m);
    if (st != ZC_OK)
        return st;
    t->np = t->ntl = t->nsl = t->nalerts = 0;
    for (size_t j = 0; j < m; j++)
        apply_event(t, orders, seq0, &events[j]);
    /* A symbol priced by its fills moves every holder's unrealized P&L. */
    uint64_t last = m ? events[m - 1].seq : 0;
    for (size_t i = 0; i < t->nsl; i++) {
        uint32_t s = t->slist[i];
        t->sflag[s] = 0;
        for (uint32_t tr = 0; tr < t->nt; tr++) {
            size_t k = (size_t)tr * t->ns + s;
            if (t->pos[k] != 0 || t->unreal[k] != 0.0) {
                revalue(t, k, tr, s);
                touch_trader(t, tr, (t->tflag[tr] & TF_TOUCHED) ? t->tseq[tr] : last);
            }
        }
    }
    for (size_t i = 0; i < t->np; i++) {
        check_pair(t, t->plist[i], t->pseq[t->plist[i]]);
        t->pflag[t->plist[i]] &= (uint8_t)~PF_TOUCHED;
    }
    for (size_t i = 0; i < t->ntl; i++) {
        check_trader(t, t->tlist[i], t->tseq[t->tlist[i]]);
        t->tflag[t->tlist[i]] &= (uint8_t)~TF_TOUCHED;
    }
    t->alerts_total += t->nalerts;
    return ZC_OK;
}

zc_status zc_position_update(zc_position_tracker *t, const zc_order *orders, size_t n, uint64_t seq0,
                             const zc_event *events, size_t m)
{
    ZC_CHECK(check_tracker(t));
    if ((!orders && n) || (!events && m))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "orders and events must not be NULL");
    pthread_mutex_lock(&t->lock);
    zc_status st = update_locked(t, orders, n, seq0, events, m);
    pthread_mutex_unlock(&t->lock);
    return st;
}

zc_status zc_position_mark(zc_position_tracker *t, const double *prices, size_t symbols)
{
    ZC_CHECK(check_tracker(t));
    if (!prices)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "prices must not be NULL");
    if (symbols != t->ns)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "prices must have %u entries (one per symbol), got %zu", t->ns,
                      symbols);
    for (size_t s = 0; s < symbols; s++)
        if (!isfinite(prices[s]) || fabs(prices[s]) > (double)ZC_BOOK_MAX_PRICE)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "price of symbol %zu is %g: prices must be finite and within "
                                                   "+-2^62", s, prices[s]);
    pthread_mutex_lock(&t->lock);
    if (!grow((void **)&t->alerts, &t->alert_cap, 2 * (size_t)t->nt, sizeof(zc_position_alert))) {
        pthread_mutex_unlock(&t->lock);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "alerts");
    }
    t->nalerts = 0;
    for (uint32_t s = 0; s < t->ns; s++) {
        t->mark[s] = prices[s];
        t->marked[s] = t->priced[s] = 1;
    }
    /* Exact sums: updates only adjust them by differences. */
    for (uint32_t tr = 0; tr < t->nt; tr++) {
        double pnl = 0.0, gross = 0.0;
        for (uint32_t s = 0; s < t->ns; s++) {
            size_t k = (size_t)tr * t->ns + s;
            double x = (double)t->pos[k];
            t->unreal[k] = t->pos[k] ? x * (t->mark[s] - t->avg[k]) : 0.0;
            t->notional[k] = fabs(x) * t->mark[s];
            pnl += t->real[k] + t->unreal[k];
            gross += t->notional[k];
        }
        t->pnl[tr] = pnl;
        t->gross[tr] = gross;
        check_trader(t, tr, 0);
    }
    t->alerts_total += t->nalerts;
    pthread_mutex_unlock(&t->lock);
    return ZC_OK;
}

zc_status zc_position_alerts(zc_position_tracker *t, const zc_position_alert **alerts, size_t *k)
{
    ZC_CHECK(check_tracker(t));
    if (!alerts || !k)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "alerts and k must not be NULL");
    pthread_mutex_lock(&t->lock);
    *alerts = t->alerts;
    *k = t->nalerts;
    pthread_mutex_unlock(&t->lock);
    return ZC_OK;
}

zc_status zc_position_view(zc_position_tracker *t, zc_position_field field, void **data, size_t *count)
{
    ZC_CHECK(check_tracker(t));
    if (!data || !count)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "data and count must not be NULL");
    void *p[] = {t->pos, t->avg, t->real, t->unreal, t->notional, t->open_buy, t->open_sell, t->mark, t->pnl,
                 t->gross};
    size_t c[] = {t->pairs, t->pairs, t->pairs, t->pairs, t->pairs, t->pairs, t->pairs, t->ns, t->nt, t->nt};
    if ((unsigned)field >= sizeof p / sizeof p[0])
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown position field %d", (int)field);
    *data = p[field];
    *count = c[field];
    return ZC_OK;
}

zc_status zc_position_info_get(zc_position_tracker *t, zc_position_info *out)
{
    ZC_CHECK(check_tracker(t));
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    pthread_mutex_lock(&t->lock);
    *out = (zc_position_info){t->nt, t->ns, t->fills, t->unknown_fills, t->tcount, t->alerts_total};
    pthread_mutex_unlock(&t->lock);
    return ZC_OK;
}

/* ---- pre-trade check ---- */

/* max(|x + B|, |x - S|) * price over the trader's symbols: the gross notional
 * if every open order on the worse side of each symbol filled. */
static double worst_gross(const zc_position_tracker *t, uint32_t tr)
{
    double g = 0.0;
    for (uint32_t s = 0; s < t->ns; s++) {
        size_t k = (size_t)tr * t->ns + s;
        int64_t x = t->pos[k];
        int64_t b = x + t->open_buy[k] + t->pend_buy[k], a = x - t->open_sell[k] - t->pend_sell[k];
        double w = (double)(llabs(b) > llabs(a) ? llabs(b) : llabs(a));
        if (t->priced[s])
            g += w * fabs(t->mark[s]);
    }
    return g;
}

/* 1 when an order adding q lots on `side` to pair k passes the limits. */
static int pretrade_one(zc_position_tracker *t, const zc_order *o, size_t k, uint8_t side, int64_t q)
{
    const zc_position_limits *l = &t->lim[o->trader];
    int64_t x = t->pos[k];
    int64_t b = t->open_buy[k] + t->pend_buy[k], sl = t->open_sell[k] + t->pend_sell[k];
    if (q > POS_LIMIT - 1 - (side == ZC_SIDE_BUY ? b : sl))
        return 0; /* open quantity past 2^62 lots: no position could hold it */
    int64_t worst = side == ZC_SIDE_BUY ? x + b + q : x - sl - q;
    if (l->max_position > 0 && llabs(worst) > l->max_position)
        return 0;
    if (l->max_notional > 0) {
        uint32_t s = o->symbol;
        double price;
        if (t->priced[s])
            price = fabs(t->mark[s]);
        else if (o->type != ZC_ORDER_MARKET)
            price = fabs((double)o->price);
        else
            return 0; /* no reference price for a market order */
        if (!(t->tflag[o->trader] & TF_PRETRADE)) {
            t->tflag[o->trader] |= TF_PRETRADE;
            t->pre_tlist[t->pre_nt++] = o->trader;
            t->wgross[o->trader] = worst_gross(t, o->trader);
        }
        int64_t ob = x + b, os = x - sl;
        double before = (double)(llabs(ob) > llabs(os) ? llabs(ob) : llabs(os));
        if (side == ZC_SIDE_BUY)
            ob += q;
        else
            os -= q;
        double after = (double)(llabs(ob) > llabs(os) ? llabs(ob) : llabs(os));
        double g = t->wgross[o->trader] - (t->priced[s] ? before * price : 0.0) + after * price;
        if (g > l->max_notional)
            return 0;
        t->wgross[o->trader] = g;
    }
    if (l->max_loss > 0 && -t->pnl[o->trader] > l->max_loss) {
        int reduces = side == ZC_SIDE_BUY ? (x < 0 && worst <= 0) : (x > 0 && worst >= 0);
        if (!reduces)
            return 0;
    }
    return 1;
}

/* valid (NULL = all) is the signature verdict: a refused signature is the
 * first failing check, so such an order is not risk-checked and takes no
 * room from the orders after it. */
static zc_status pretrade_locked(zc_position_tracker *t, const zc_order *orders, const uint8_t *valid, size_t n,
                                 uint16_t *reasons)
{
    if (!grow((void **)&t->pre_plist, &t->pre_cap, n, sizeof(size_t)))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "pre-trade check of %zu orders", n);
    t->pre_np = t->pre_nt = 0;
    uint32_t nseen = 0;
    for (size_t i = 0; i < n; i++) {
        const zc_order *o = &orders[i];
        reasons[i] = valid && !valid[i] ? ZC_REASON_BAD_SIGNATURE : ZC_REASON_NONE;
        if (reasons[i])
            continue;
        if (o->trader >= t->nt || o->symbol >= t->ns || o->qty < 1 || o->qty > ZC_BOOK_MAX_QTY ||
            o->type == ZC_ORDER_CANCEL || o->type > ZC_ORDER_MODIFY ||
            (o->type != ZC_ORDER_MODIFY && o->side > ZC_SIDE_SELL))
            continue;
        uint8_t side = o->side;
        int64_t q = o->qty;
        if (o->type == ZC_ORDER_MODIFY) {
            /* A modify sets the open quantity, on the resting order's side. Fills earlier in the
             * batch may have cut that order down to one lot: with opposite-side flow ahead of it
             * in the symbol, the increase is bounded by qty - 1, not qty - open. */
            const order_slot *r = table_find(t, o->symbol, o->id);
            if (!r || r->trader != o->trader)
                continue;
            side = r->side;
            uint8_t opposite = side == ZC_SIDE_BUY ? SF_SEEN_SELL : SF_SEEN_BUY;
            int64_t open = t->sflag[o->symbol] & opposite ? 1 : r->open;
            q = o->qty - open;
        }
        size_t k = (size_t)o->trader * t->ns + o->symbol;
        if (q > 0 && !pretrade_one(t, o, k, side, q)) {
            reasons[i] = ZC_REASON_RISK_LIMIT;
            continue;
        }
        if (!t->sflag[o->symbol])
            t->slist[nseen++] = o->symbol;
        t->sflag[o->symbol] |= side == ZC_SIDE_BUY ? SF_SEEN_BUY : SF_SEEN_SELL;
        if (q <= 0)
            continue;
        if (!t->pend_buy[k] && !t->pend_sell[k])
            t->pre_plist[t->pre_np++] = k;
        if (side == ZC_SIDE_BUY)
            t->pend_buy[k] += q;
        else
            t->pend_sell[k] += q;
    }
    for (size_t i = 0; i < t->pre_np; i++)
        t->pend_buy[t->pre_plist[i]] = t->pend_sell[t->pre_plist[i]] = 0;
    for (uint32_t i = 0; i < nseen; i++)
        t->sflag[t->slist[i]] = 0;
    for (size_t i = 0; i < t->pre_nt; i++)
        t->tflag[t->pre_tlist[i]] &= (uint8_t)~TF_PRETRADE;
    return ZC_OK;
}

zc_status zc_position_pretrade(zc_position_tracker *t, const zc_order *orders, size_t n, uint16_t *reasons)
{
    ZC_CHECK(check_tracker(t));
    if ((!orders || !reasons) && n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "orders and reasons must not be NULL");
    pthread_mutex_lock(&t->lock);
    zc_status st = pretrade_locked(t, orders, NULL, n, reasons);
    pthread_mutex_unlock(&t->lock);
    return st;
}

/* ---- the gate in front of an engine ---- */

static zc_status gate_locked(zc_engine *e, zc_position_tracker *t, const zc_order *orders, const uint8_t *valid,
                             size_t n, uint16_t *reasons, zc_order *pass, zc_array **events)
{
    zc_engine_info info;
    ZC_CHECK(zc_engine_info_get(e, &info));
    if (info.symbols > t->ns)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "the tracker has %u symbols, the engine %u: it must cover them all",
                      t->ns, info.symbols);
    for (size_t i = 0; i < n; i++)
        if (orders[i].trader >= t->nt)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "order %zu: trader %u is outside [0, %u)", i, orders[i].trader,
                          t->nt);
    ZC_CHECK(pretrade_locked(t, orders, valid, n, reasons));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (reasons[i] == ZC_REASON_NONE)
            pass[k++] = orders[i];
    zc_array *ev = NULL;
    ZC_CHECK(zc_engine_submit(e, pass, k, &ev));
    const zc_event *v = zc_array_data(ev);
    size_t m = zc_array_nbytes(ev) / sizeof(zc_event);
    /* Every accepted order has an event, so the first names the batch's first seq. */
    uint64_t seq0 = m ? v[0].seq : info.next_seq;
    zc_status st = update_locked(t, pass, k, seq0, v, m);
    if (st == ZC_OK && k < n)
        st = zc_book_merge_rejects(orders, n, NULL, reasons, v, m, seq0, events);
    if (st == ZC_OK && k == n) {
        *events = ev;
        return ZC_OK;
    }
    zc_array_release(ev);
    return st;
}

zc_status zc_engine_submit_checked(zc_engine *e, zc_position_tracker *t, const zc_order *orders,
                                   const uint8_t *valid, size_t n, zc_array **events)
{
    ZC_CHECK(check_tracker(t));
    if (!e || !events || (!orders && n))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "engine, orders and events must not be NULL");
    *events = NULL;
    uint16_t *reasons = malloc((n ? n : 1) * sizeof *reasons);
    zc_order *pass = malloc((n ? n : 1) * sizeof *pass);
    zc_status st = ZC_OK;
    if (!reasons || !pass)
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "gate of %zu orders", n);
    if (st == ZC_OK) {
        /* Held across the submit: gated batches through one tracker go one at a time. */
        pthread_mutex_lock(&t->lock);
        st = gate_locked(e, t, orders, valid, n, reasons, pass, events);
        pthread_mutex_unlock(&t->lock);
    }
    free(reasons);
    free(pass);
    return st;
}
