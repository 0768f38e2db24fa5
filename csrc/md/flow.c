/* Order-flow analysis: trade classification, bulk volume classification,
 * order-flow imbalance, VPIN, Kyle's lambda, trade sizes, institutional vs
 * retail rules and pattern detection on the engine's events. Definitions
 * are in zkclob/md.h. */
#include <stdlib.h>
#include <string.h>

#include "md_internal.h"

#include "../../kernels/md.h"
#include "../core/internal.h"
#include "zkclob/book.h"

_Static_assert(sizeof(zc_trade) == 32 && sizeof(zc_vpin_bucket) == 40 && sizeof(zc_md_pattern) == 56,
               "record layouts are the NumPy dtypes of zkclob.md");

static double nan_value(void) { return (double)NAN; }

zc_status zc_md_classify(const zc_trade *t, size_t n, uint32_t nsym, zc_md_classifier method, const double *bid,
                         const double *ask, int8_t *sign)
{
    if ((unsigned)method > ZC_MD_LEE_READY)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown classifier %d", (int)method);
    if ((!sign && n) || (method != ZC_MD_TICK && n && (!bid || !ask)))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "sign (and bid/ask for the quote rules) must not be NULL");
    ZC_CHECK(zc_md_check_trades(t, n, nsym));
    double *prev = malloc((nsym ? nsym : 1) * sizeof *prev);
    int8_t *last = calloc(nsym ? nsym : 1, 1);
    uint8_t *seen = calloc(nsym ? nsym : 1, 1);
    if (!prev || !last || !seen) {
        free(prev);
        free(last);
        free(seen);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "classifier state");
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t s = t[i].symbol;
        int tick = seen[s] ? zc_tick_sign(t[i].price, prev[s], last[s]) : 0;
        seen[s] = 1;
        prev[s] = t[i].price;
        last[s] = (int8_t)tick;
        int q = method == ZC_MD_TICK ? 0 : zc_quote_sign(t[i].price, bid[i], ask[i]);
        sign[i] = (int8_t)(method == ZC_MD_TICK ? tick : (method == ZC_MD_QUOTE || q != 0 ? q : tick));
    }
    free(prev);
    free(last);
    free(seen);
    return ZC_OK;
}

zc_status zc_md_bvc(const double *close, size_t nsym, size_t nbars, uint32_t window, double *buy_fraction)
{
    if ((!close || !buy_fraction) && nsym && nbars)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "close and buy_fraction must not be NULL");
    if (window < 2)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "the BVC window must be at least 2 price changes, got %u", window);
    for (size_t s = 0; s < nsym; s++) {
        const double *c = close + s * nbars;
        double *out = buy_fraction + s * nbars;
        for (size_t j = 0; j < nbars; j++) {
            out[j] = nan_value();
            if (j < window)
                continue;
            /* Two passes over the window: exact enough and independent of history. */
            double mean = 0.0, var = 0.0;
            for (size_t i = j + 1 - window; i <= j; i++)
                mean += c[i] - c[i - 1];
            mean /= window;
            for (size_t i = j + 1 - window; i <= j; i++) {
                double d = (c[i] - c[i - 1]) - mean;
                var += d * d;
            }
            double sd = sqrt(var / window);
            double dp = c[j] - c[j - 1];
            if (sd > 0.0)
                out[j] = 0.5 * erfc(-(dp / sd) / sqrt(2.0));
            else if (dp == dp)
                out[j] = 0.5;
        }
    }
    return ZC_OK;
}

zc_status zc_md_ofi(const uint32_t *symbol, size_t n, uint32_t nsym, uint32_t levels, const double *bid_px,
                    const double *bid_sz, const double *ask_px, const double *ask_sz, double *e)
{
    if (n && (!symbol || !bid_px || !bid_sz || !ask_px || !ask_sz || !e))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "symbols, quotes and e must not be NULL");
    if (levels == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "levels must be at least 1");
    for (size_t i = 0; i < n; i++)
        if (symbol[i] >= nsym)
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "update %zu: symbol %u is not below %u", i, symbol[i], nsym);
    int64_t *prev = malloc((nsym ? nsym : 1) * sizeof *prev);
    if (!prev)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "OFI state");
    for (uint32_t s = 0; s < nsym; s++)
        prev[s] = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t p = prev[symbol[i]];
        prev[symbol[i]] = (int64_t)i;
        for (uint32_t m = 0; m < levels; m++) {
            size_t a = i * levels + m, b = (size_t)p * levels + m;
            double v = 0.0;
            if (p >= 0) {
                double x[8] = {bid_px[b], bid_sz[b], ask_px[b], ask_sz[b], bid_px[a], bid_sz[a], ask_px[a], ask_sz[a]};
                int ok = 1;
                for (int k = 0; k < 8; k++)
                    ok &= x[k] == x[k];
                if (ok)
                    v = zc_ofi_step(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);
            }
            e[a] = v;
        }
    }
    free(prev);
    return ZC_OK;
}

zc_status zc_md_vpin(const zc_trade *t, size_t n, uint32_t nsym, const double *buy_fraction, double bucket_volume,
                     uint32_t window, zc_vpin_bucket *out, size_t cap, size_t *nbuckets)
{
    if (!nbuckets || (!out && cap))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "nbuckets (and out when cap > 0) must not be NULL");
    *nbuckets = 0;
    if (!(bucket_volume > 0.0) || bucket_volume - bucket_volume != 0.0 || window == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "bucket volume must be positive and finite and window >= 1");
    ZC_CHECK(zc_md_check_trades(t, n, nsym));
    for (size_t i = 0; buy_fraction && i < n; i++)
        if (!(buy_fraction[i] >= 0.0 && buy_fraction[i] <= 1.0))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "buy_fraction[%zu] = %g is not in [0, 1]", i, buy_fraction[i]);
    uint64_t *off, *order;
    ZC_CHECK(zc_md_group(&t->symbol, sizeof *t, n, nsym, &off, &order));
    double *imb = malloc(window * sizeof *imb); /* |buy - sell| of the last `window` buckets */
    if (!imb) {
        free(off);
        free(order);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "VPIN window");
    }
    size_t nb = 0;
    for (uint32_t s = 0; s < nsym; s++) {
        double buy = 0.0, filled = 0.0, sum = 0.0;
        uint32_t done = 0;
        for (uint64_t j = off[s]; j < off[s + 1]; j++) {
            const zc_trade *x = &t[order[j]];
            double f = buy_fraction ? buy_fraction[order[j]] : (x->side > 0 ? 1.0 : (x->side < 0 ? 0.0 : 0.5));
            double left = x->size;
            while (left > 0.0) {
                double take = bucket_volume - filled < left ? bucket_volume - filled : left;
                buy += take * f;
                filled += take;
                left -= take;
                if (filled < bucket_volume)
                    break;
                double sell = bucket_volume - buy, d = fabs(buy - sell);
                uint32_t slot = done % window;
                if (done >= window)
                    sum -= imb[slot];
                imb[slot] = d;
                sum += d;
                done++;
                if (nb < cap) {
                    zc_vpin_bucket *o = &out[nb];
                    o->ts = x->ts;
                    o->symbol = s;
                    o->index = done - 1;
                    o->buy = buy;
                    o->sell = sell;
                    /* Recomputed from the window, not the running sum, so it never drifts. */
                    double w = 0.0;
                    for (uint32_t k = 0; done >= window && k < window; k++)
                        w += imb[k];
                    o->vpin = done >= window ? w / (window * bucket_volume) : nan_value();
                }
                nb++;
                buy = 0.0;
                filled = 0.0;
            }
        }
    }
    free(imb);
    free(off);
    free(order);
    *nbuckets = nb;
    return ZC_OK;
}

zc_status zc_md_kyle_lambda(const double *dp, const double *q, size_t nsym, size_t nint, uint32_t window,
                            double *lambda)
{
    if ((!dp || !q || !lambda) && nsym && nint)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "dp, q and lambda must not be NULL");
    if (window < 2)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "the regression window must be at least 2, got %u", window);
    for (size_t s = 0; s < nsym; s++) {
        const double *y = dp + s * nint, *x = q + s * nint;
        double *out = lambda + s * nint;
        for (size_t j = 0; j < nint; j++) {
            out[j] = nan_value();
            if (j + 1 < window)
                continue;
            double mx = 0.0, my = 0.0;
            for (size_t i = j + 1 - window; i <= j; i++) {
                mx += x[i];
                my += y[i];
            }
            mx /= window;
            my /= window;
            double sxy = 0.0, sxx = 0.0;
            for (size_t i = j + 1 - window; i <= j; i++) {
                sxy += (x[i] - mx) * (y[i] - my);
                sxx += (x[i] - mx) * (x[i] - mx);
            }
            if (sxx > 0.0)
                out[j] = sxy / sxx;
        }
    }
    return ZC_OK;
}

zc_status zc_md_size_histogram(const zc_trade *t, size_t n, uint32_t nsym, const double *edges, uint32_t nbins,
                               double *count, double *volume)
{
    if (!edges || !count || !volume || nbins == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "edges, count and volume must be given and nbins >= 1");
    for (uint32_t b = 0; b < nbins; b++)
        if (!(edges[b] < edges[b + 1]))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "edges must be strictly ascending");
    ZC_CHECK(zc_md_check_trades(t, n, nsym));
    memset(count, 0, (size_t)nsym * nbins * sizeof *count);
    memset(volume, 0, (size_t)nsym * nbins * sizeof *volume);
    for (size_t i = 0; i < n; i++) {
        uint32_t lo = 0, hi = nbins; /* the bin b with edges[b] <= size < edges[b + 1], clipped */
        while (hi - lo > 1) {
            uint32_t mid = (lo + hi) / 2;
            if (t[i].size >= edges[mid])
                lo = mid;
            else
                hi = mid;
        }
        count[(size_t)t[i].symbol * nbins + lo] += 1.0;
        volume[(size_t)t[i].symbol * nbins + lo] += t[i].size;
    }
    return ZC_OK;
}

/* ---- participants ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y);
}

/* Marks chains of same-side trades of one symbol (indices idx[0..m) in time
 * order): a trade extends the chain when it follows the previous member by
 * <= gap ns and `fits` (given the chain's first and previous members);
 * chains of >= min members with volume >= min_volume get `bit`. */
typedef int (*chain_fit)(const zc_trade *first, const zc_trade *prev, const zc_trade *x,
                         const zc_md_participant_cfg *cfg);

/* Children walk the price: each within the band of the one before. */
static int fit_parent(const zc_trade *first, const zc_trade *prev, const zc_trade *x, const zc_md_participant_cfg *cfg)
{
    return fabs(x->price - prev->price) / prev->price * 10000.0 <= cfg->child_band_bps;
}

/* Refills of one displayed clip: one price, the first clip's size. */
static int fit_iceberg(const zc_trade *first, const zc_trade *prev, const zc_trade *x,
                       const zc_md_participant_cfg *cfg)
{
    return x->price == first->price && fabs(x->size - first->size) <= cfg->iceberg_size_tol * first->size;
}

static void mark_chains(const zc_trade *t, const uint64_t *idx, size_t m, const zc_md_participant_cfg *cfg,
                        chain_fit fits, double min_volume, uint8_t bit, uint8_t *rules)
{
    size_t start = 0;
    double vol = 0.0;
    for (size_t k = 0; k <= m; k++) {
        int extend = k < m && k > start && t[idx[k]].ts - t[idx[k - 1]].ts <= cfg->child_gap_ns &&
                     fits(&t[idx[start]], &t[idx[k - 1]], &t[idx[k]], cfg);
        if (k < m && (k == start || extend)) {
            vol += t[idx[k]].size;
            continue;
        }
        if (k - start >= cfg->min_children && vol >= min_volume)
            for (size_t j = start; j < k; j++)
                rules[idx[j]] |= bit;
        start = k;
        vol = k < m ? t[idx[k]].size : 0.0;
    }
}

zc_status zc_md_participants(const zc_trade *t, size_t n, uint32_t nsym, const zc_md_participant_cfg *cfg_in,
                             uint8_t *label, double *confidence, uint8_t *rules)
{
    if (n && (!label || !confidence || !rules))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "label, confidence and rules must not be NULL");
    zc_md_participant_cfg cfg = cfg_in ? *cfg_in : (zc_md_participant_cfg){0};
    if (cfg.block_quantile == 0.0)
        cfg.block_quantile = 0.99;
    if (cfg.round_lot == 0.0)
        cfg.round_lot = 100.0;
    if (cfg.child_gap_ns == 0)
        cfg.child_gap_ns = 1000000000ull;
    if (cfg.child_band_bps == 0.0)
        cfg.child_band_bps = 10.0;
    if (cfg.min_children == 0)
        cfg.min_children = 4;
    if (cfg.iceberg_size_tol == 0.0)
        cfg.iceberg_size_tol = 0.1;
    if (!(cfg.block_quantile > 0.0 && cfg.block_quantile <= 1.0) || !(cfg.round_lot > 0.0) ||
        !(cfg.child_band_bps >= 0.0) || !(cfg.iceberg_size_tol >= 0.0))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "participant rule parameters out of range");
    ZC_CHECK(zc_md_check_trades(t, n, nsym));
    uint64_t *off, *order;
    ZC_CHECK(zc_md_group(&t->symbol, sizeof *t, n, nsym, &off, &order));
    double *sizes = malloc((n ? n : 1) * sizeof *sizes);
    uint64_t *side_idx = malloc((n ? n : 1) * sizeof *side_idx);
    if (!sizes || !side_idx) {
        free(sizes);
        free(side_idx);
        free(off);
        free(order);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "participant rules over %zu trades", n);
    }
    memset(rules, 0, n);
    for (uint32_t s = 0; s < nsym; s++) {
        size_t m = (size_t)(off[s + 1] - off[s]);
        if (m == 0)
            continue;
        const uint64_t *idx = order + off[s];
        for (size_t k = 0; k < m; k++)
            sizes[k] = t[idx[k]].size;
        qsort(sizes, m, sizeof *sizes, cmp_double);
        size_t rank = (size_t)ceil(cfg.block_quantile * (double)m);
        double block = sizes[(rank ? rank : 1) - 1];
        for (size_t k = 0; k < m; k++) {
            const zc_trade *x = &t[idx[k]];
            if (x->size >= block)
                rules[idx[k]] |= ZC_MD_RULE_BLOCK;
            if (x->size < cfg.round_lot)
                rules[idx[k]] |= ZC_MD_RULE_ODD;
            else if (fmod(x->size, cfg.round_lot) == 0.0)
                rules[idx[k]] |= ZC_MD_RULE_ROUND;
        }
        for (int side = -1; side <= 1; side += 2) {
            size_t mm = 0;
            for (size_t k = 0; k < m; k++)
                if (t[idx[k]].side == side && t[idx[k]].size >= cfg.round_lot)
                    side_idx[mm++] = idx[k];
            mark_chains(t, side_idx, mm, &cfg, fit_parent, block, ZC_MD_RULE_PARENT, rules);
            mm = 0;
            for (size_t k = 0; k < m; k++)
                if (t[idx[k]].side == side)
                    side_idx[mm++] = idx[k];
            mark_chains(t, side_idx, mm, &cfg, fit_iceberg, 0.0, ZC_MD_RULE_ICEBERG, rules);
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t r = rules[i];
        double score = 0.25 + ((r & ZC_MD_RULE_BLOCK) ? 0.45 : 0.0) + ((r & ZC_MD_RULE_ROUND) ? 0.10 : 0.0) -
                       ((r & ZC_MD_RULE_ODD) ? 0.25 : 0.0) + ((r & ZC_MD_RULE_PARENT) ? 0.35 : 0.0) +
                       ((r & ZC_MD_RULE_ICEBERG) ? 0.30 : 0.0);
        double p = score < 0.0 ? 0.0 : (score > 1.0 ? 1.0 : score);
        label[i] = p >= 0.5;
        confidence[i] = p >= 0.5 ? p : 1.0 - p;
    }
    free(sizes);
    free(side_idx);
    free(off);
    free(order);
    return ZC_OK;
}

/* ---- patterns ---- */

typedef struct pattern_out {
    zc_md_pattern *out;
    size_t cap, n;
    uint64_t *ids;
    size_t ids_cap, nids;
    zc_md_pattern sink; /* patterns past cap are counted, not stored */
} pattern_out;

static zc_md_pattern *pattern_new(pattern_out *po, zc_md_pattern_kind kind, uint32_t symbol, uint32_t trader,
                                  uint64_t t0, uint64_t t1)
{
    zc_md_pattern *p = po->n < po->cap ? &po->out[po->n] : &po->sink;
    po->n++;
    memset(p, 0, sizeof *p);
    p->kind = (uint32_t)kind;
    p->symbol = symbol;
    p->trader = trader;
    p->t_start = t0;
    p->t_end = t1;
    p->first = po->nids;
    return p;
}

static void pattern_id(pattern_out *po, zc_md_pattern *p, uint64_t id)
{
    if (po->nids < po->ids_cap)
        po->ids[po->nids] = id;
    po->nids++;
    p->norders++;
}

/* What is known of an acknowledged order. */
typedef struct ord_info {
    uint64_t id, t_add;
    uint32_t symbol, trader;
    int8_t side;
    double price, filled;
    int open;
} ord_info;

/* (symbol, id) -> latest ord_info index; open addressing, never deletes. */
typedef struct id_map {
    uint64_t *key_id;
    uint32_t *key_sym;
    int64_t *val;
    size_t mask;
} id_map;

static size_t id_slot(const id_map *m, uint32_t symbol, uint64_t id)
{
    size_t i = (size_t)(((id ^ ((uint64_t)symbol << 40)) * 0x9E3779B97F4A7C15ull) >> 17) & m->mask;
    while (m->val[i] >= 0 && (m->key_id[i] != id || m->key_sym[i] != symbol))
        i = (i + 1) & m->mask;
    return i;
}

static ord_info *find_info(const id_map *m, ord_info *info, uint32_t symbol, uint64_t id)
{
    size_t i = id_slot(m, symbol, id);
    return m->val[i] >= 0 ? &info[m->val[i]] : NULL;
}

static void put_info(id_map *m, uint32_t symbol, uint64_t id, int64_t v)
{
    size_t i = id_slot(m, symbol, id);
    m->key_id[i] = id;
    m->key_sym[i] = symbol;
    m->val[i] = v;
}

typedef struct fleeting {
    uint64_t id, t_add, t_cancel;
    uint32_t symbol, trader;
    int8_t side;
    double price;
} fleeting;

/* Order by trader, symbol, side, then time. */
static int cmp_owner_time(uint32_t ta, uint32_t sa, int8_t da, uint64_t xa, uint32_t tb, uint32_t sb, int8_t db,
                          uint64_t xb)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (da != db)
        return da < db ? -1 : 1;
    return xa < xb ? -1 : (xa > xb);
}

static int cmp_fleeting(const void *pa, const void *pb)
{
    const fleeting *a = pa, *b = pb;
    return cmp_owner_time(a->trader, a->symbol, a->side, a->t_add, b->trader, b->symbol, b->side, b->t_add);
}

typedef struct fill_rec {
    uint64_t ts;
    uint32_t trader, symbol;
    int8_t side;
} fill_rec;

static int cmp_fill(const void *pa, const void *pb)
{
    const fill_rec *a = pa, *b = pb;
    return cmp_owner_time(a->trader, a->symbol, a->side, a->ts, b->trader, b->symbol, b->side, b->ts);
}

/* Whether the trader has a fill of `side` in the symbol within [t0, t1]. */
static int has_fill(const fill_rec *f, size_t n, uint32_t trader, uint32_t symbol, int8_t side, uint64_t t0,
                    uint64_t t1)
{
    fill_rec key = {t0, trader, symbol, side};
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_fill(&f[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && f[lo].trader == trader && f[lo].symbol == symbol && f[lo].side == side && f[lo].ts <= t1;
}

typedef struct pattern_state {
    ord_info *info;
    fleeting *fl;
    fill_rec *fills;
    double *prices;
    uint32_t *sym;
    uint64_t *msg, *nfill_before;
    id_map map;
} pattern_state;

static void pattern_state_free(pattern_state *ps)
{
    free(ps->info);
    free(ps->fl);
    free(ps->fills);
    free(ps->prices);
    free(ps->sym);
    free(ps->msg);
    free(ps->nfill_before);
    free(ps->map.key_id);
    free(ps->map.key_sym);
    free(ps->map.val);
}

zc_status zc_md_patterns(const void *orders_v, size_t norders, const void *events_v, size_t nevents,
                         const zc_md_pattern_cfg *cfg_in, zc_md_pattern *out, size_t cap, size_t *npatterns,
                         uint64_t *ids, size_t ids_cap, size_t *nids)
{
    const zc_order *orders = orders_v;
    const zc_event *ev = events_v;
    if (!npatterns || !nids || (!out && cap) || (!ids && ids_cap) || (!orders && norders) || (!ev && nevents))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "orders, events and the outputs must not be NULL");
    *npatterns = *nids = 0;
    zc_md_pattern_cfg cfg = cfg_in ? *cfg_in : (zc_md_pattern_cfg){0};
    cfg.sweep_levels = cfg.sweep_levels ? cfg.sweep_levels : 3;
    cfg.layer_orders = cfg.layer_orders ? cfg.layer_orders : 3;
    cfg.layer_window_ns = cfg.layer_window_ns ? cfg.layer_window_ns : 1000000000ull;
    cfg.stuffing_msgs = cfg.stuffing_msgs ? cfg.stuffing_msgs : 50;
    cfg.stuffing_window_ns = cfg.stuffing_window_ns ? cfg.stuffing_window_ns : 1000000ull;
    cfg.stuffing_max_fill_ratio = cfg.stuffing_max_fill_ratio > 0.0 ? cfg.stuffing_max_fill_ratio : 0.05;
    if (nevents == 0)
        return ZC_OK;
    uint64_t seq0 = ev[0].seq;
    uint32_t nsym = 0;
    for (size_t i = 0; i < nevents; i++) {
        if (i && ev[i].seq < ev[i - 1].seq)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "event %zu: seq goes backwards (engine events are in seq order)",
                          i);
        if (ev[i].symbol >= nsym)
            nsym = ev[i].symbol + 1;
    }
    size_t mcap = 1;
    while (mcap < 2 * nevents)
        mcap <<= 1;
    pattern_state ps = {0};
    ps.info = calloc(nevents, sizeof *ps.info);
    ps.fl = calloc(nevents, sizeof *ps.fl);
    ps.fills = calloc(2 * nevents, sizeof *ps.fills);
    ps.prices = malloc(nevents * sizeof *ps.prices);
    ps.sym = malloc(nevents * sizeof *ps.sym);
    ps.msg = malloc(nevents * sizeof *ps.msg);
    ps.nfill_before = malloc(nevents * sizeof *ps.nfill_before);
    ps.map.key_id = malloc(mcap * sizeof *ps.map.key_id);
    ps.map.key_sym = malloc(mcap * sizeof *ps.map.key_sym);
    ps.map.val = malloc(mcap * sizeof *ps.map.val);
    if (!ps.info || !ps.fl || !ps.fills || !ps.prices || !ps.sym || !ps.msg || !ps.nfill_before || !ps.map.key_id ||
        !ps.map.key_sym || !ps.map.val) {
        pattern_state_free(&ps);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "pattern state for %zu events", nevents);
    }
    ps.map.mask = mcap - 1;
    for (size_t i = 0; i < mcap; i++)
        ps.map.val[i] = -1;
    pattern_out po = {out, cap, 0, ids, ids_cap, 0, {0}};
    size_t ninfo = 0, nfl = 0, nfills = 0;

    /* One pass: sweeps per taker, order lifetimes, fills per trader. */
    for (size_t i = 0; i < nevents;) {
        size_t j = i;
        while (j < nevents && ev[j].seq == ev[i].seq)
            j++;
        const zc_order *o = ev[i].seq - seq0 < norders ? &orders[ev[i].seq - seq0] : NULL;
        uint64_t ts = o ? o->ts : 0;
        size_t nprices = 0;
        double qty = 0.0;
        for (size_t k = i; k < j; k++) {
            const zc_event *e = &ev[k];
            uint32_t sym = e->symbol;
            if (e->kind == ZC_EVENT_ACK && o && o->type != ZC_ORDER_MARKET) {
                ord_info *old = o->type == ZC_ORDER_MODIFY ? find_info(&ps.map, ps.info, sym, e->order_id) : NULL;
                int8_t side = old ? old->side : (int8_t)(o->side == ZC_SIDE_BUY ? 1 : -1);
                ps.info[ninfo] = (ord_info){e->order_id, ts, sym, o->trader, side, (double)e->price, 0.0, 1};
                put_info(&ps.map, sym, e->order_id, (int64_t)ninfo++);
            } else if (e->kind == ZC_EVENT_FILL) {
                ord_info *mk = find_info(&ps.map, ps.info, sym, e->maker_id);
                if (mk) {
                    mk->filled += (double)e->qty;
                    ps.fills[nfills++] = (fill_rec){ts, mk->trader, sym, mk->side};
                }
                if (o && o->id == e->order_id) {
                    ord_info *tk = find_info(&ps.map, ps.info, sym, e->order_id);
                    if (tk)
                        tk->filled += (double)e->qty;
                    ps.fills[nfills++] = (fill_rec){ts, o->trader, sym, (int8_t)(o->side == ZC_SIDE_BUY ? 1 : -1)};
                    int fresh = 1;
                    for (size_t p = 0; p < nprices; p++)
                        fresh &= ps.prices[p] != (double)e->price;
                    if (fresh)
                        ps.prices[nprices++] = (double)e->price;
                    qty += (double)e->qty;
                }
            } else if (e->kind == ZC_EVENT_CANCEL && e->maker_id == 0) {
                ord_info *c = find_info(&ps.map, ps.info, sym, e->order_id);
                if (c && c->open) {
                    c->open = 0;
                    if (c->filled == 0.0)
                        ps.fl[nfl++] = (fleeting){c->id, c->t_add, ts, c->symbol, c->trader, c->side, c->price};
                }
            }
        }
        if (o && nprices >= cfg.sweep_levels) {
            zc_md_pattern *p = pattern_new(&po, ZC_MD_SWEEP, o->symbol, o->trader, ts, ts);
            p->levels = (uint32_t)nprices;
            p->side = o->side;
            p->qty = qty;
            pattern_id(&po, p, o->id);
            for (size_t k = i; k < j; k++)
                if (ev[k].kind == ZC_EVENT_FILL && ev[k].order_id == o->id)
                    pattern_id(&po, p, ev[k].maker_id);
        }
        i = j;
    }

    /* Layering: per trader, symbol and side, fleeting orders placed and
     * cancelled within one window, with a fill on the other side. */
    qsort(ps.fl, nfl, sizeof *ps.fl, cmp_fleeting);
    qsort(ps.fills, nfills, sizeof *ps.fills, cmp_fill);
    const fleeting *fl = ps.fl;
    for (size_t a = 0; a < nfl;) {
        size_t b = a;
        uint64_t t1 = fl[a].t_cancel;
        while (b < nfl && fl[b].trader == fl[a].trader && fl[b].symbol == fl[a].symbol && fl[b].side == fl[a].side &&
               fl[b].t_cancel - fl[a].t_add <= cfg.layer_window_ns) {
            t1 = fl[b].t_cancel > t1 ? fl[b].t_cancel : t1;
            b++;
        }
        size_t distinct = 0;
        for (size_t k = a; k < b; k++) {
            int fresh = 1;
            for (size_t p = a; p < k; p++)
                fresh &= fl[p].price != fl[k].price;
            distinct += (size_t)fresh;
        }
        if (distinct >= cfg.layer_orders &&
            has_fill(ps.fills, nfills, fl[a].trader, fl[a].symbol, (int8_t)-fl[a].side, fl[a].t_add, t1)) {
            zc_md_pattern *p = pattern_new(&po, ZC_MD_LAYERING, fl[a].symbol, fl[a].trader, fl[a].t_add, t1);
            p->levels = (uint32_t)distinct;
            p->side = fl[a].side > 0 ? ZC_SIDE_BUY : ZC_SIDE_SELL;
            p->qty = (double)(b - a);
            for (size_t k = a; k < b; k++)
                pattern_id(&po, p, fl[k].id);
            a = b;
        } else {
            a++;
        }
    }

    /* Quote stuffing: per symbol, sliding windows over its adds and cancels. */
    for (size_t i = 0; i < nevents; i++)
        ps.sym[i] = ev[i].symbol;
    uint64_t *off, *order;
    zc_status st = zc_md_group(ps.sym, sizeof *ps.sym, nevents, nsym, &off, &order);
    for (uint32_t s = 0; s < nsym && st == ZC_OK; s++) {
        size_t m = 0;
        uint64_t nfill = 0;
        for (uint64_t j = off[s]; j < off[s + 1]; j++) {
            const zc_event *e = &ev[order[j]];
            if (e->kind == ZC_EVENT_FILL)
                nfill++;
            else if (e->kind == ZC_EVENT_ACK || (e->kind == ZC_EVENT_CANCEL && e->maker_id == 0)) {
                ps.nfill_before[m] = nfill;
                ps.msg[m++] = order[j];
            }
        }
#define TS(k) (ev[ps.msg[k]].seq - seq0 < norders ? orders[ev[ps.msg[k]].seq - seq0].ts : 0)
        size_t lo = 0, burst_start = SIZE_MAX, burst_end = 0;
        for (size_t hi = 0; hi <= m; hi++) {
            int burst = 0;
            if (hi < m) {
                while (TS(hi) - TS(lo) > cfg.stuffing_window_ns)
                    lo++;
                size_t count = hi - lo + 1;
                uint64_t fills = ps.nfill_before[hi] - ps.nfill_before[lo];
                burst = count >= cfg.stuffing_msgs && (double)fills <= cfg.stuffing_max_fill_ratio * (double)count;
            }
            /* Overlapping qualifying windows make one burst. */
            if (burst_start != SIZE_MAX && (hi == m || lo > burst_end)) {
                zc_md_pattern *p = pattern_new(&po, ZC_MD_STUFFING, s, 0, TS(burst_start), TS(burst_end));
                p->qty = (double)(burst_end - burst_start + 1);
                for (size_t k = burst_start; k <= burst_end; k++)
                    pattern_id(&po, p, ev[ps.msg[k]].order_id);
                burst_start = SIZE_MAX;
            }
            if (burst) {
                if (burst_start == SIZE_MAX)
                    burst_start = lo;
                burst_end = hi;
            }
        }
#undef TS
    }
    free(off);
    free(order);
    pattern_state_free(&ps);
    *npatterns = po.n;
    *nids = po.nids;
    return st;
}
