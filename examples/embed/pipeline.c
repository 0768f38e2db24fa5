/* The pipeline of `python -m zkclob run` through the C API only: generate the
 * standard signed order stream, verify every signature, match it in batches
 * with a journal (opening and closing call auctions optional), commit the
 * state root after each batch, replay the journal and check that it
 * reproduces the root. Prints the final state root, which equals the one
 * `python -m zkclob run --json` reports for the same arguments.
 *
 *   pipeline [--orders N] [--seed S] [--symbols K] [--traders T] [--capacity C]
 *            [--batch B] [--auction A] [--device cpu|opencl|auto] [--journal PATH] */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zkclob/zkclob.h>

typedef struct options {
    zc_orders_gen_config gen;
    size_t orders, batch;
    const char *device, *journal;
} options;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int check(zc_status st, const char *what)
{
    if (st != ZC_OK)
        fprintf(stderr, "pipeline: %s: %s: %s\n", what, zc_status_str(st), zc_last_error());
    return st == ZC_OK;
}

static int parse(int argc, char **argv, options *o)
{
    *o = (options){.gen = {.symbols = 256, .traders = 10000, .capacity = 1024},
                   .orders = 1000000,
                   .batch = 65536,
                   .device = "auto"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "pipeline: %s needs a value\n", a);
            return 0;
        }
        unsigned long long x = strtoull(v, NULL, 10);
        if (!strcmp(a, "--orders"))
            o->orders = (size_t)x;
        else if (!strcmp(a, "--seed"))
            o->gen.seed = x;
        else if (!strcmp(a, "--symbols"))
            o->gen.symbols = (uint32_t)x;
        else if (!strcmp(a, "--traders"))
            o->gen.traders = (uint32_t)x;
        else if (!strcmp(a, "--capacity"))
            o->gen.capacity = (uint32_t)x;
        else if (!strcmp(a, "--batch"))
            o->batch = (size_t)x;
        else if (!strcmp(a, "--auction"))
            o->gen.auction_orders = (size_t)x;
        else if (!strcmp(a, "--device"))
            o->device = v;
        else if (!strcmp(a, "--journal"))
            o->journal = v;
        else {
            fprintf(stderr, "pipeline: unknown option %s\n", a);
            return 0;
        }
        i++;
    }
    if (!o->batch || !o->gen.symbols || !o->gen.traders) {
        fprintf(stderr, "pipeline: batch, symbols and traders must be positive\n");
        return 0;
    }
    return 1;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static int set_all(zc_engine *e, uint32_t nsym, zc_book_mode mode)
{
    for (uint32_t s = 0; s < nsym; s++)
        if (!check(zc_engine_set_mode(e, s, mode), "set_mode"))
            return 0;
    return 1;
}

/* Orders [begin, end) in batches through the signature gate, the root after each. */
static int match_phase(zc_engine *e, const zc_order *orders, const uint8_t *valid, size_t begin, size_t end,
                       size_t batch, size_t *events, size_t *roots)
{
    uint8_t root[32];
    for (size_t at = begin; at < end; at += batch) {
        size_t k = end - at < batch ? end - at : batch;
        zc_array *ev;
        if (!check(zc_engine_submit_verified(e, orders + at, valid + at, k, &ev), "submit") ||
            !check(zc_engine_state_root(e, root), "state_root"))
            return 0;
        *events += zc_array_nbytes(ev) / sizeof(zc_event);
        zc_array_release(ev);
        (*roots)++;
    }
    return 1;
}

static int uncross(zc_engine *e, const uint32_t *syms, uint32_t nsym, size_t *events, size_t *roots)
{
    zc_array *ev;
    uint8_t root[32];
    if (!check(zc_engine_uncross(e, syms, nsym, &ev), "uncross") || !check(zc_engine_state_root(e, root), "root"))
        return 0;
    *events += zc_array_nbytes(ev) / sizeof(zc_event);
    zc_array_release(ev);
    (*roots)++;
    return 1;
}

static int run(const options *o, zc_order *orders, uint8_t *sk, uint8_t *pk, uint8_t *sigs, uint8_t *valid,
               uint32_t *syms, const char *journal)
{
    size_t n = o->orders, a = o->gen.auction_orders;
    uint32_t nsym = o->gen.symbols;
    double t = now();
    if (!check(zc_orders_generate(&o->gen, orders, n), "generate") ||
        !check(zc_trader_seckeys(o->gen.seed, 0, o->gen.traders, sk), "seckeys") ||
        !check(zc_trader_pubkeys(o->gen.seed, 0, o->gen.traders, pk), "pubkeys"))
        return 0;
    printf("generate   %10zu orders  %8.3f s\n", n, now() - t);
    t = now();
    if (!check(zc_orders_sign(sk, o->gen.traders, orders, n, sigs), "sign"))
        return 0;
    printf("sign       %10zu orders  %8.3f s\n", n, now() - t);
    int dev;
    if (!check(zc_device_find(o->device, &dev), "device"))
        return 0;
    t = now();
    if (!check(zc_orders_verify(&dev, pk, o->gen.traders, orders, sigs, n, 0, valid), "verify"))
        return 0;
    size_t nvalid = 0;
    for (size_t i = 0; i < n; i++)
        nvalid += valid[i];
    printf("verify     %10zu orders  %8.3f s  %zu valid\n", n, now() - t, nvalid);

    zc_engine_config cfg;
    if (!check(zc_orders_gen_engine_config(&o->gen, &cfg), "engine config"))
        return 0;
    cfg.device = o->device;
    cfg.journal = journal;
    zc_engine *e;
    if (!check(zc_engine_create(&cfg, &e), "engine"))
        return 0;
    for (uint32_t s = 0; s < nsym; s++)
        syms[s] = s;
    size_t events = 0, roots = 0;
    t = now();
    int ok = 1;
    if (a)
        ok = set_all(e, nsym, ZC_MODE_AUCTION) && match_phase(e, orders, valid, 0, a, o->batch, &events, &roots) &&
             uncross(e, syms, nsym, &events, &roots) && set_all(e, nsym, ZC_MODE_CONTINUOUS);
    ok = ok && match_phase(e, orders, valid, a, n - a, o->batch, &events, &roots);
    if (a)
        ok = ok && set_all(e, nsym, ZC_MODE_AUCTION) &&
             match_phase(e, orders, valid, n - a, n, o->batch, &events, &roots) &&
             uncross(e, syms, nsym, &events, &roots);
    uint8_t root[32], again[32];
    ok = ok && check(zc_engine_state_root(e, root), "state_root");
    zc_engine_destroy(e);
    if (!ok)
        return 0;
    printf("match      %10zu orders  %8.3f s  %zu events, %zu roots\n", n, now() - t, events, roots);

    t = now();
    zc_engine_config run_cfg = {.device = o->device};
    zc_array *rev;
    if (!check(zc_engine_replay(journal, &run_cfg, &e, &rev), "replay"))
        return 0;
    size_t replayed = zc_array_nbytes(rev) / sizeof(zc_event);
    zc_array_release(rev);
    ok = check(zc_engine_state_root(e, again), "replay root");
    zc_engine_destroy(e);
    if (!ok)
        return 0;
    printf("replay     %10zu events  %8.3f s\n", replayed, now() - t);
    char h[65], h2[65];
    hex(root, 32, h);
    hex(again, 32, h2);
    if (memcmp(root, again, 32) != 0 || replayed != events) {
        fprintf(stderr, "pipeline: replay disagrees: root %s vs %s, %zu vs %zu events\n", h2, h, replayed, events);
        return 0;
    }
    printf("state_root %s\n", h);
    return 1;
}

int main(int argc, char **argv)
{
    options o;
    if (!parse(argc, argv, &o) || !check(zc_init(NULL), "init"))
        return 2;
    char tmp[] = "/tmp/zkclob-pipeline-XXXXXX";
    char path[sizeof tmp + 16];
    const char *journal = o.journal;
    if (!journal) {
        if (!mkdtemp(tmp)) {
            perror("pipeline: mkdtemp");
            return 2;
        }
        snprintf(path, sizeof path, "%s/run.zcj", tmp);
        journal = path;
    }
    zc_order *orders = malloc((o.orders ? o.orders : 1) * sizeof *orders);
    uint8_t *sk = malloc((size_t)o.gen.traders * 32), *pk = malloc((size_t)o.gen.traders * 64);
    uint8_t *sigs = malloc((o.orders ? o.orders : 1) * 64), *valid = malloc(o.orders ? o.orders : 1);
    uint32_t *syms = malloc(o.gen.symbols * sizeof *syms);
    int ok = orders && sk && pk && sigs && valid && syms;
    if (!ok)
        fprintf(stderr, "pipeline: out of memory for %zu orders\n", o.orders);
    ok = ok && run(&o, orders, sk, pk, sigs, valid, syms, journal);
    if (!o.journal) {
        unlink(path);
        rmdir(tmp);
    }
    free(orders);
    free(sk);
    free(pk);
    free(sigs);
    free(valid);
    free(syms);
    zc_shutdown();
    return ok ? 0 : 1;
}
