/* Order matching on the standard workload, through the C API.
 *
 * Standard workload (deterministic: Philox4x64 with key (20240601, 0) for
 * words and (20240601, 1) for normals, counter (0, chunk, 0, 0)): N orders
 * (default 10M) over 100 symbols, tick and lot 1, mid price 100000 ticks,
 * 8192 resting orders per symbol at most. Each order is
 *   70%  a gtc limit order on a random side near the mid: 1 + floor(|z| * 10)
 *        ticks away on its own side (z standard normal), 1..10 lots;
 *   20%  a cancel of an order that is live at the time it is generated
 *        (chosen uniformly among the symbol's live orders);
 *   10%  a marketable ioc limit order 20 ticks through the mid, 10..40 lots.
 * Liveness comes from matching the stream while generating it, in chunks of
 * 10000 orders (a cancel may name an order filled within its own chunk).
 *
 * Cases, one JSON line each; the anchor is batch matching on one thread:
 *   c/book/batch/1thread, c/book/batch/all   orders/s, batches of 100000 into
 *                                            a reused buffer (zc_engine_submit_into)
 *   c/book/latency_p50|p99|p999              one order per zc_engine_submit_into
 *                                            call (seconds = latency)
 *   c/book/state_root_build                  first root over every slot
 *   c/book/state_root_update                 root after each batch (seconds per
 *                                            batch, rate = orders per second)
 * Batch results on one and on all threads are checked to be byte-identical. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zkclob/zkclob.h>

#define SYMBOLS 100
#define MID 100000
#define SIGMA 10.0
#define CHUNK 10000
#define BATCH 100000
#define CAPACITY 8192
#define ROOT_CAPACITY 8192
#define ROOT_ORDERS 1000000
#define SEED 20240601u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Thread CPU time, for the in-process tools that include this file
 * (ab_book.c, lean_book.c); inline, so that this program need not use it. */
static inline double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(zc_status st, const char *what)
{
    if (st != ZC_OK) {
        fprintf(stderr, "bench_book: %s: %s\n", what, zc_last_error());
        exit(1);
    }
}

/* The standard workload's engine on the cpu. */
static zc_engine_config workload_config(uint32_t capacity, int threads, int prefault)
{
    zc_engine_config cfg = {
        .symbols = SYMBOLS, .capacity = capacity, .device = "cpu", .threads = threads, .prefault = prefault};
    cfg.defaults.min_price = 1;
    cfg.defaults.max_price = 2 * MID;
    return cfg;
}

/* Measured engines are prefaulted: a long-running engine takes no page
 * faults once warm, and neither should a benchmark of one. */
static zc_engine *engine(uint32_t capacity, int threads, int prefault)
{
    zc_engine_config cfg = workload_config(capacity, threads, prefault);
    zc_engine *e;
    check(zc_engine_create(&cfg, &e), "zc_engine_create");
    return e;
}

/* Generator state: per symbol, the live order ids (swap-remove arrays). */
typedef struct gen {
    uint64_t *live[SYMBOLS];
    size_t nlive[SYMBOLS], cap[SYMBOLS];
    int64_t *open;   /* by id */
    int32_t *pos;    /* index in its symbol's live array, -1 when not live */
    uint32_t *owner; /* by id */
} gen;

static void live_add(gen *g, uint32_t s, uint64_t id)
{
    if (g->nlive[s] == g->cap[s]) {
        g->cap[s] = g->cap[s] ? 2 * g->cap[s] : 1024;
        g->live[s] = realloc(g->live[s], g->cap[s] * sizeof *g->live[s]);
        if (!g->live[s])
            exit(1);
    }
    g->pos[id] = (int32_t)g->nlive[s];
    g->live[s][g->nlive[s]++] = id;
}

static void live_remove(gen *g, uint32_t s, uint64_t id)
{
    int32_t p = g->pos[id];
    if (p < 0)
        return;
    uint64_t last = g->live[s][--g->nlive[s]];
    g->live[s][p] = last;
    g->pos[last] = p;
    g->pos[id] = -1;
}

static zc_order *generate(size_t n)
{
    zc_order *o = calloc(n, sizeof *o);
    gen g;
    memset(&g, 0, sizeof g);
    g.open = calloc(n + 1, sizeof *g.open);
    g.pos = malloc((n + 1) * sizeof *g.pos);
    g.owner = calloc(n + 1, sizeof *g.owner);
    uint64_t *w = malloc(4 * CHUNK * sizeof *w);
    double *z = malloc(CHUNK * sizeof *z);
    if (!o || !g.open || !g.pos || !g.owner || !w || !z)
        exit(1);
    memset(g.pos, 0xFF, (n + 1) * sizeof *g.pos);
    int cpu;
    check(zc_device_find("cpu", &cpu), "cpu device");
    zc_engine *e = engine(CAPACITY, 0, 0);
    uint64_t next_id = 1;
    for (size_t c0 = 0; c0 < n; c0 += CHUNK) {
        size_t k = n - c0 < CHUNK ? n - c0 : CHUNK;
        /* The chunk index is the counter's second word: chunks never overlap. */
        zc_philox_params raw = {ZC_PHILOX_4X64, {SEED, 0}, {0, c0 / CHUNK, 0, 0}};
        zc_philox_params nrm = {ZC_PHILOX_4X64, {SEED, 1}, {0, c0 / CHUNK, 0, 0}};
        int d = cpu;
        check(zc_philox_generate(&d, &raw, ZC_RANDOM_RAW, w, 4 * k), "philox");
        check(zc_philox_generate(&d, &nrm, ZC_RANDOM_NORMAL, z, k), "philox");
        for (size_t i = 0; i < k; i++) {
            const uint64_t *r = w + 4 * i;
            zc_order *x = &o[c0 + i];
            uint32_t s = (uint32_t)(r[0] % SYMBOLS);
            double u = (double)(r[1] >> 11) * 0x1.0p-53;
            x->symbol = s;
            x->side = (uint8_t)(r[2] & 1);
            if (u >= 0.7 && u < 0.9 && g.nlive[s]) {
                uint64_t id = g.live[s][r[3] % g.nlive[s]];
                live_remove(&g, s, id);
                x->id = id;
                x->trader = g.owner[id];
                x->type = ZC_ORDER_CANCEL;
                continue;
            }
            x->id = next_id++;
            x->trader = (uint32_t)(r[3] % 1000);
            g.owner[x->id] = x->trader;
            int buy = x->side == ZC_SIDE_BUY;
            if (u >= 0.9) {
                x->type = ZC_ORDER_LIMIT;
                x->tif = ZC_TIF_IOC;
                x->price = buy ? MID + 20 : MID - 20;
                x->qty = 10 + (int64_t)((r[2] >> 1) % 31);
            } else {
                int64_t off = 1 + (int64_t)floor(fabs(z[i]) * SIGMA);
                x->type = ZC_ORDER_LIMIT;
                x->price = buy ? MID - off : MID + off;
                x->qty = 1 + (int64_t)((r[2] >> 1) % 10);
                g.open[x->id] = x->qty;
                live_add(&g, s, x->id);
            }
        }
        zc_array *ev;
        check(zc_engine_submit(e, o + c0, k, &ev), "generator submit");
        const zc_event *v = zc_array_data(ev);
        size_t m = zc_array_nbytes(ev) / sizeof *v;
        for (size_t j = 0; j < m; j++) {
            if (v[j].kind != ZC_EVENT_FILL)
                continue;
            uint64_t id = v[j].maker_id;
            if ((g.open[id] -= v[j].qty) == 0)
                live_remove(&g, v[j].symbol, id);
        }
        zc_array_release(ev);
    }
    zc_engine_destroy(e);
    for (int s = 0; s < SYMBOLS; s++)
        free(g.live[s]);
    free(g.open);
    free(g.pos);
    free(g.owner);
    free(w);
    free(z);
    return o;
}

static void emit(const char *bench, size_t n, double seconds, double rate, double anchor_rate)
{
    printf("{\"bench\": \"%s\", \"n\": %zu, \"seconds\": %.9f, \"rate\": %.0f, \"anchor\": \"c/book/batch/1thread\", "
           "\"ratio\": %.3f}\n",
           bench, n, seconds, rate, rate / anchor_rate);
    fflush(stdout);
}

/* Matches the stream in batches into a reused event buffer; returns the
 * seconds spent in submit and a CRC32C of every event. */
static double run_batches(const zc_order *o, size_t n, int threads, zc_event *buf, size_t cap, uint32_t *crc)
{
    zc_engine *e = engine(CAPACITY, threads, 1);
    double t = 0;
    *crc = 0;
    for (size_t at = 0; at < n; at += BATCH) {
        size_t k = n - at < BATCH ? n - at : BATCH, m;
        double t0 = now();
        zc_status st = zc_engine_submit_into(e, o + at, k, buf, cap, &m);
        t += now() - t0;
        const zc_event *ev = buf;
        if (st == ZC_ERR_OUT_OF_RANGE)
            check(zc_engine_last_events(e, &ev, &m), "last events");
        else
            check(st, "submit");
        *crc = zc_crc32c(*crc, ev, m * sizeof *ev);
    }
    zc_engine_destroy(e);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    double t0 = now();
    zc_order *o = generate(n);
    fprintf(stderr, "bench_book: generated %zu orders in %.1f s\n", n, now() - t0);

    size_t cap = 4 * BATCH;
    zc_event *buf = malloc(cap * sizeof *buf);
    if (!buf)
        return 1;
    memset(buf, 0, cap * sizeof *buf);
    uint32_t crc1, crcn;
    double t1 = run_batches(o, n, 1, buf, cap, &crc1);
    double anchor = (double)n / t1;
    emit("c/book/batch/1thread", n, t1, anchor, anchor);
    double tn = run_batches(o, n, 0, buf, cap, &crcn);
    free(buf);
    emit("c/book/batch/all", n, tn, (double)n / tn, anchor);
    if (crc1 != crcn) {
        fprintf(stderr, "bench_book: events differ between 1 and all threads\n");
        return 1;
    }

    /* Latency: one order per call on a warm engine, into a reused buffer. */
    size_t nl = n < 2000000 ? n : 2000000;
    double *lat = malloc(nl * sizeof *lat);
    zc_engine *e = engine(CAPACITY, 1, 1);
    zc_event ev[256];
    for (size_t i = 0; i < nl; i++) {
        size_t m;
        double a = now();
        zc_status st = zc_engine_submit_into(e, &o[i], 1, ev, 256, &m);
        lat[i] = now() - a;
        if (st != ZC_OK && st != ZC_ERR_OUT_OF_RANGE)
            check(st, "submit_into");
    }
    zc_engine_destroy(e);
    qsort(lat, nl, sizeof *lat, cmp_double);
    const struct { const char *name; double q; } qs[] = {
        {"c/book/latency_p50", 0.5}, {"c/book/latency_p99", 0.99}, {"c/book/latency_p999", 0.999}};
    for (int i = 0; i < 3; i++) {
        double s = lat[(size_t)(qs[i].q * (double)(nl - 1))];
        emit(qs[i].name, nl, s, 1.0 / s, anchor);
    }
    free(lat);

    /* State root: full build, then incremental updates after each batch. */
    size_t nr = n < ROOT_ORDERS ? n : ROOT_ORDERS;
    e = engine(ROOT_CAPACITY, 0, 1);
    uint8_t root[32];
    double b0 = now();
    check(zc_engine_state_root(e, root), "state root");
    emit("c/book/state_root_build", (size_t)SYMBOLS * ROOT_CAPACITY, now() - b0,
         (double)SYMBOLS * ROOT_CAPACITY / (now() - b0), anchor);
    double tu = 0;
    size_t batches = 0;
    for (size_t at = 0; at < nr; at += BATCH, batches++) {
        size_t k = nr - at < BATCH ? nr - at : BATCH;
        zc_array *a;
        check(zc_engine_submit(e, o + at, k, &a), "submit");
        zc_array_release(a);
        double u0 = now();
        check(zc_engine_state_root(e, root), "state root");
        tu += now() - u0;
    }
    zc_engine_destroy(e);
    emit("c/book/state_root_update", BATCH, tu / (double)batches, (double)nr / tu, anchor);
    free(o);
    zc_shutdown();
    return 0;
}
