/* Small fixed-size (64-byte) alloc/free pairs per second: typed and generic
 * pools, through zc_pool_alloc/zc_pool_free and through the inline
 * zc_pool_cache path, against glibc malloc/free (the anchor) and, where
 * installed, jemalloc and mimalloc (dlopen'ed, so the build never depends on
 * them), on one thread and on two; "pairs" frees each block at once,
 * "batch256" holds 256 blocks (or argv[2]) before freeing them; argv[1] is
 * the number of pairs. "seconds" is the CPU time of the busiest worker
 * thread, best of 5 runs per case (argv[3]). Then the handle arena's
 * fragmentation before and after compaction on a churn workload. One JSON
 * line per case. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zkclob/zkclob.h>

#define MAX_BATCH 4096
#define BLOCK 64

typedef enum { GLIBC, POOL, POOL_CACHE, EXTERNAL } family;

typedef struct allocator {
    const char *name;
    family fam;
    zc_pool pool;
    void *(*ext_alloc)(size_t);
    void (*ext_free)(void *);
} allocator;

typedef struct job {
    const allocator *a;
    long n;
    int batch;
    pthread_barrier_t *start;
    double t0, t1; /* CPU time of the thread */
} job;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The calling thread's CPU time: on a shared machine the time a thread
 * waits for a core says nothing about the allocator. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_mem: %s: %s\n", what, zc_last_error());
    exit(1);
}

/* One loop per family, so no indirect call skews the fast ones. Every block
 * is written once, as a user would, which also keeps the compiler from
 * eliding a malloc/free pair. */
static void run_glibc(long n, int batch)
{
    void *held[MAX_BATCH];
    for (long i = 0; i < n; i += batch) {
        for (int j = 0; j < batch; j++) {
            held[j] = malloc(BLOCK);
            *(volatile char *)held[j] = (char)j;
        }
        for (int j = 0; j < batch; j++)
            free(held[j]);
    }
}

static void run_pool(zc_pool pool, long n, int batch)
{
    void *held[MAX_BATCH];
    for (long i = 0; i < n; i += batch) {
        for (int j = 0; j < batch; j++) {
            if (zc_pool_alloc(pool, BLOCK, &held[j]) != ZC_OK)
                die("zc_pool_alloc");
            *(volatile char *)held[j] = (char)j;
        }
        for (int j = 0; j < batch; j++)
            zc_pool_free(pool, held[j]);
    }
}

/* The inline path: each thread opens its own cache of the pool. */
static void run_pool_cache(zc_pool pool, long n, int batch)
{
    void *held[MAX_BATCH];
    zc_pool_cache cache;
    if (zc_pool_cache_open(pool, BLOCK, &cache) != ZC_OK)
        die("zc_pool_cache_open");
    for (long i = 0; i < n; i += batch) {
        for (int j = 0; j < batch; j++) {
            if (zc_pool_cache_alloc(&cache, BLOCK, &held[j]) != ZC_OK)
                die("zc_pool_cache_alloc");
            *(volatile char *)held[j] = (char)j;
        }
        for (int j = 0; j < batch; j++)
            zc_pool_cache_free(&cache, held[j]);
    }
    if (zc_pool_cache_close(&cache) != ZC_OK)
        die("zc_pool_cache_close");
}

static void run_external(const allocator *a, long n, int batch)
{
    void *held[MAX_BATCH];
    for (long i = 0; i < n; i += batch) {
        for (int j = 0; j < batch; j++) {
            held[j] = a->ext_alloc(BLOCK);
            *(volatile char *)held[j] = (char)j;
        }
        for (int j = 0; j < batch; j++)
            a->ext_free(held[j]);
    }
}

static void *run(void *arg)
{
    job *jb = arg;
    if (jb->start)
        pthread_barrier_wait(jb->start);
    jb->t0 = cpu_now();
    switch (jb->a->fam) {
    case GLIBC: run_glibc(jb->n, jb->batch); break;
    case POOL: run_pool(jb->a->pool, jb->n, jb->batch); break;
    case POOL_CACHE: run_pool_cache(jb->a->pool, jb->n, jb->batch); break;
    case EXTERNAL: run_external(jb->a, jb->n, jb->batch); break;
    }
    jb->t1 = cpu_now();
    return NULL;
}

/* CPU seconds of the busiest of `threads` threads sharing n pairs, best of
 * `repeats` after a warm-up. */
static double best_seconds(const allocator *a, long n, int batch, int threads, int repeats)
{
    double best = 1e30;
    for (int r = 0; r <= repeats; r++) {
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
        pthread_t t[2];
        job jobs[2];
        for (int i = 0; i < threads; i++) {
            jobs[i] = (job){a, n / threads, batch, &start, 0, 0};
            pthread_create(&t[i], NULL, run, &jobs[i]);
        }
        pthread_barrier_wait(&start);
        double dt = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(t[i], NULL);
            if (jobs[i].t1 - jobs[i].t0 > dt)
                dt = jobs[i].t1 - jobs[i].t0;
        }
        pthread_barrier_destroy(&start);
        if (r > 0 && dt < best)
            best = dt;
    }
    return best;
}

static void emit(const char *name, long n, double seconds, const char *anchor, double anchor_rate)
{
    double rate = (double)n / seconds;
    printf("{\"bench\": \"%s\", \"n\": %ld, \"seconds\": %.6f, \"rate\": %.0f, \"anchor\": \"%s\", "
           "\"ratio\": %.3f}\n",
           name, n, seconds, rate, anchor, rate / anchor_rate);
    fflush(stdout);
}

/* jemalloc and mimalloc, when their runtime packages are installed. */
static int load_external(const char *lib, const char *alloc_sym, const char *free_sym, allocator *a)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return 0;
    a->ext_alloc = (void *(*)(size_t))dlsym(h, alloc_sym);
    a->ext_free = (void (*)(void *))dlsym(h, free_sym);
    return a->ext_alloc && a->ext_free;
}

/* Handles of random sizes, a random half freed, more allocated, a quarter
 * of those freed: the arena is full of holes. Then one compaction. */
static void compaction_churn(void)
{
    enum { N = 20000, MORE = 5000 };
    zc_pool_config cfg = {.chunk_bytes = 1 << 20, .name = "churn"};
    zc_pool pool;
    if (zc_pool_create(ZC_POOL_GENERIC, &cfg, &pool) != ZC_OK)
        die("zc_pool_create");
    static zc_handle h[N + MORE];
    static char live[N + MORE];
    unsigned seed = 42;
    long n = 0;
    for (int i = 0; i < N + MORE; i++) {
        if (i == N)
            for (int j = 0; j < N; j++)
                if (live[j] && (seed = seed * 1103515245u + 12345u) >> 31) {
                    zc_handle_free(pool, h[j]);
                    live[j] = 0;
                }
        seed = seed * 1103515245u + 12345u;
        if (zc_handle_alloc(pool, 64 + (seed >> 8) % 4033, &h[i]) != ZC_OK)
            die("zc_handle_alloc");
        live[i] = 1;
    }
    for (int i = N; i < N + MORE; i++)
        if ((seed = seed * 1103515245u + 12345u) % 4 == 0) {
            zc_handle_free(pool, h[i]);
            live[i] = 0;
        }
    for (int i = 0; i < N + MORE; i++)
        n += live[i];
    zc_pool_stats before, after;
    zc_pool_stats_get(pool, &before);
    zc_compact_report r;
    double t0 = now();
    if (zc_pool_compact(pool, &r) != ZC_OK)
        die("zc_pool_compact");
    double dt = now() - t0;
    zc_pool_stats_get(pool, &after);
    printf("{\"bench\": \"c/mem/compaction_churn\", \"n\": %ld, \"seconds\": %.6f, \"rate\": %.0f, "
           "\"anchor\": \"fragmentation before compaction\", \"ratio\": %.3f, \"fragmentation_before\": %.3f, "
           "\"fragmentation_after\": %.3f, \"blocks_moved\": %llu, \"reserved_before\": %llu, "
           "\"reserved_after\": %llu}\n",
           n, dt, (double)r.bytes_moved / dt, before.fragmentation ? after.fragmentation / before.fragmentation : 0,
           before.fragmentation, after.fragmentation, (unsigned long long)r.blocks_moved,
           (unsigned long long)before.counters.reserved_bytes, (unsigned long long)after.counters.reserved_bytes);
    fflush(stdout);
    zc_pool_destroy(pool);
}

int main(int argc, char **argv)
{
    /* Debian's jemalloc needs more static TLS than a dlopen may take by
     * default: run again with a larger reserve (a glibc tunable). */
    if (!getenv("ZC_BENCH_MEM_REEXEC") && !dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL)) {
        const char *err = dlerror();
        if (err && strstr(err, "static TLS")) {
            setenv("ZC_BENCH_MEM_REEXEC", "1", 1);
            setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=65536", 1);
            execv("/proc/self/exe", argv);
        }
    }
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 4000000;
    long batch = argc > 2 ? strtol(argv[2], NULL, 10) : 256;
    long repeats = argc > 3 ? strtol(argv[3], NULL, 10) : 5;
    if (n < 2 * MAX_BATCH || batch < 2 || batch > MAX_BATCH || repeats < 1 || repeats > 10000) {
        fprintf(stderr, "bench_mem: usage: bench_mem [pairs >= %d] [batch in 2..%d] [repeats in 1..10000]\n",
                2 * MAX_BATCH, MAX_BATCH);
        return 1;
    }
    n = n / batch * batch;
    allocator glibc = {"glibc", GLIBC, {0}, NULL, NULL};
    allocator subjects[6];
    int count = 0;
    zc_pool orders, generic;
    if (zc_pool_create(ZC_POOL_ORDERS, NULL, &orders) != ZC_OK || zc_pool_create(ZC_POOL_GENERIC, NULL, &generic))
        die("zc_pool_create");
    subjects[count++] = (allocator){"pool_orders", POOL, orders, NULL, NULL};
    subjects[count++] = (allocator){"pool_generic", POOL, generic, NULL, NULL};
    subjects[count++] = (allocator){"pool_orders_cache", POOL_CACHE, orders, NULL, NULL};
    subjects[count++] = (allocator){"pool_generic_cache", POOL_CACHE, generic, NULL, NULL};
    allocator ext = {"jemalloc", EXTERNAL, {0}, NULL, NULL};
    if (load_external("libjemalloc.so.2", "malloc", "free", &ext))
        subjects[count++] = ext;
    ext = (allocator){"mimalloc", EXTERNAL, {0}, NULL, NULL};
    if (load_external("libmimalloc.so.2", "mi_malloc", "mi_free", &ext))
        subjects[count++] = ext;

    struct { char pattern[32]; int batch; } patterns[2] = {{"pairs", 1}, {"", (int)batch}};
    snprintf(patterns[1].pattern, sizeof patterns[1].pattern, "batch%ld", batch);
    for (int threads = 1; threads <= 2; threads++) {
        for (size_t p = 0; p < 2; p++) {
            char name[128], anchor[128];
            snprintf(anchor, sizeof anchor, "c/mem/glibc_%s/%dthread", patterns[p].pattern, threads);
            double anchor_rate = (double)n / best_seconds(&glibc, n, patterns[p].batch, threads, (int)repeats);
            emit(anchor, n, (double)n / anchor_rate, anchor, anchor_rate);
            for (int s = 0; s < count; s++) {
                snprintf(name, sizeof name, "c/mem/%s_%s/%dthread", subjects[s].name, patterns[p].pattern, threads);
                emit(name, n, best_seconds(&subjects[s], n, patterns[p].batch, threads, (int)repeats), anchor, anchor_rate);
            }
        }
    }
    zc_pool_destroy(orders);
    zc_pool_destroy(generic);
    compaction_churn();
    return 0;
}
