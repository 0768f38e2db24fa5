/* In-process A/B of two builds of the order matcher on the standard workload
 * (bench_book.c's generator). The old build's public functions are renamed
 * old_* (bench/ab_book.sh builds it); both engines run in one process, taking
 * turns batch by batch (mode 0) or `chunk` single orders at a time (mode 1),
 * the first turn alternating, so that the host's slow and fast periods fall
 * on both alike. Events must be byte-identical (CRC32C printed for each).
 *
 *   ab_book N MODE [CHUNK]
 *
 * Mode 0 prints each build's batch rate in thread CPU time and new/old;
 * mode 1 prints latency percentiles per order kind for each build. Run the
 * old build against itself first: that spread is the resolution. Take N of
 * 2M or more: with few batches the one that runs first is at a disadvantage
 * (1 batch: 20%). */
#define main bench_main
#include "bench_book.c"
#undef main

zc_status old_zc_engine_create(const zc_engine_config *cfg, zc_engine **out);
zc_status old_zc_engine_submit_into(zc_engine *e, const zc_order *orders, size_t n, zc_event *events, size_t cap,
                                    size_t *m);
zc_status old_zc_engine_last_events(zc_engine *e, const zc_event **events, size_t *m);
void old_zc_engine_destroy(zc_engine *e);

typedef struct build {
    const char *name;
    zc_status (*create)(const zc_engine_config *, zc_engine **);
    zc_status (*submit_into)(zc_engine *, const zc_order *, size_t, zc_event *, size_t, size_t *);
    zc_status (*last_events)(zc_engine *, const zc_event **, size_t *);
    void (*destroy)(zc_engine *);
    zc_engine *e;
    uint32_t crc;
} build;

static double at(const double *sorted, size_t n, double q) { return sorted[(size_t)(q * (double)(n - 1))] * 1e9; }

static void batches(build *b, const zc_order *o, size_t n)
{
    size_t cap = 4 * BATCH;
    zc_event *buf = malloc(cap * sizeof *buf);
    double t[2] = {0, 0};
    if (!buf)
        exit(1);
    for (size_t start = 0, k = 0; start < n; start += BATCH, k++) {
        size_t len = n - start < BATCH ? n - start : BATCH;
        for (int turn = 0; turn < 2; turn++) {
            int v = (int)(k & 1) ^ turn;
            size_t m;
            double c0 = thread_cpu();
            zc_status st = b[v].submit_into(b[v].e, o + start, len, buf, cap, &m);
            t[v] += thread_cpu() - c0;
            const zc_event *ev = buf;
            if (st == ZC_ERR_OUT_OF_RANGE)
                check(b[v].last_events(b[v].e, &ev, &m), "last events");
            else
                check(st, "submit");
            b[v].crc = zc_crc32c(b[v].crc, ev, m * sizeof *ev);
        }
    }
    for (int v = 0; v < 2; v++)
        printf("%s batch, 1 thread: %.3f M orders/s (CPU time), events crc %08x\n", b[v].name, (double)n / t[v] / 1e6,
               b[v].crc);
    printf("new/old %.3f\n", t[0] / t[1]);
    free(buf);
}

static void singles(build *b, const zc_order *o, size_t n, size_t chunk)
{
    static const char *kinds[4] = {"rest", "ioc", "cancel", "all"};
    double *lat[2][4];
    size_t cnt[2][4] = {{0}};
    for (int v = 0; v < 2; v++)
        for (int q = 0; q < 4; q++)
            if (!(lat[v][q] = malloc(n * sizeof(double))))
                exit(1);
    zc_event ev[256];
    for (size_t start = 0, k = 0; start < n; start += chunk, k++) {
        size_t end = n - start < chunk ? n : start + chunk;
        for (int turn = 0; turn < 2; turn++) {
            int v = (int)(k & 1) ^ turn;
            for (size_t i = start; i < end; i++) {
                size_t m;
                double t0 = now();
                zc_status st = b[v].submit_into(b[v].e, &o[i], 1, ev, 256, &m);
                double d = now() - t0;
                check(st, "submit");
                b[v].crc = zc_crc32c(b[v].crc, ev, m * sizeof *ev);
                int q = o[i].type == ZC_ORDER_CANCEL ? 2 : o[i].tif == ZC_TIF_IOC ? 1 : 0;
                lat[v][q][cnt[v][q]++] = d;
                lat[v][3][cnt[v][3]++] = d;
            }
        }
    }
    for (int q = 0; q < 4; q++)
        for (int v = 0; v < 2; v++) {
            qsort(lat[v][q], cnt[v][q], sizeof(double), cmp_double);
            printf("%-6s %s p50 %5.0f p90 %5.0f p99 %5.0f p99.9 %5.0f ns\n", kinds[q], b[v].name,
                   at(lat[v][q], cnt[v][q], 0.5), at(lat[v][q], cnt[v][q], 0.9), at(lat[v][q], cnt[v][q], 0.99),
                   at(lat[v][q], cnt[v][q], 0.999));
        }
    printf("events crc old %08x new %08x\n", b[0].crc, b[1].crc);
    for (int v = 0; v < 2; v++)
        for (int q = 0; q < 4; q++)
            free(lat[v][q]);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    int mode = argc > 2 ? atoi(argv[2]) : 0;
    size_t chunk = argc > 3 ? strtoull(argv[3], NULL, 10) : 20000;
    if (n == 0 || chunk == 0) {
        fprintf(stderr, "usage: ab_book N MODE [CHUNK] (N, CHUNK > 0; MODE 0 batches, 1 single orders)\n");
        return 2;
    }
    zc_order *o = generate(n);
    build b[2] = {{.name = "old",
                   .create = old_zc_engine_create,
                   .submit_into = old_zc_engine_submit_into,
                   .last_events = old_zc_engine_last_events,
                   .destroy = old_zc_engine_destroy},
                  {.name = "new",
                   .create = zc_engine_create,
                   .submit_into = zc_engine_submit_into,
                   .last_events = zc_engine_last_events,
                   .destroy = zc_engine_destroy}};
    zc_engine_config cfg = workload_config(CAPACITY, 1, 1);
    for (int v = 0; v < 2; v++)
        check(b[v].create(&cfg, &b[v].e), "create");
    if (mode == 0)
        batches(b, o, n);
    else
        singles(b, o, n, chunk);
    for (int v = 0; v < 2; v++)
        b[v].destroy(b[v].e);
    free(o);
    return b[0].crc == b[1].crc ? 0 : 1;
}
