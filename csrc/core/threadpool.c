#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

struct zc_threadpool {
    int nthreads;
    pthread_t *workers;
    pthread_mutex_t submit_lock; /* one job at a time */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    uint64_t generation;
    int stopping;
    int started;  /* workers that have taken their index */
    int active;   /* workers taking part in the current job */
    int finished; /* workers done with the current job */
    /* current job */
    zc_range_fn fn;
    void *ctx;
    size_t n, chunk;
    atomic_size_t next;
};

static _Thread_local int tls_in_task;

static void run_chunks(zc_threadpool *p)
{
    for (;;) {
        size_t begin = atomic_fetch_add(&p->next, p->chunk);
        if (begin >= p->n)
            break;
        size_t end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
        p->fn(p->ctx, begin, end);
    }
}

static void *worker_main(void *arg)
{
    zc_threadpool *p = arg;
    pthread_mutex_lock(&p->lock);
    int index = p->started++;
    /* Jobs start at generation 1, so a worker that starts late still sees the
     * job that is waiting for it. */
    uint64_t seen = 0;
    pthread_mutex_unlock(&p->lock);
    tls_in_task = 1;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->stopping && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        seen = p->generation;
        int participate = index < p->active;
        pthread_mutex_unlock(&p->lock);
        if (!participate)
            continue;
        run_chunks(p);
        pthread_mutex_lock(&p->lock);
        if (++p->finished == p->active)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->lock);
    }
}

zc_status zc_threadpool_create(int nthreads, zc_threadpool **out)
{
    if (nthreads < 1)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "thread count must be at least 1, got %d", nthreads);
    zc_threadpool *p = calloc(1, sizeof *p);
    if (!p)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "thread pool");
    p->nthreads = nthreads;
    pthread_mutex_init(&p->submit_lock, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->workers = calloc((size_t)nthreads, sizeof *p->workers);
    if (!p->workers) {
        free(p);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "thread pool");
    }
    int started = 0;
    for (int i = 0; i < nthreads - 1; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0)
            break;
        started++;
    }
    p->nthreads = started + 1;
    *out = p;
    return ZC_OK;
}

void zc_threadpool_destroy(zc_threadpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads - 1; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->submit_lock);
    free(p->workers);
    free(p);
}

int zc_threadpool_size(const zc_threadpool *p) { return p->nthreads; }

void zc_threadpool_parallel_for(zc_threadpool *p, size_t n, size_t grain, int limit, zc_range_fn fn, void *ctx)
{
    if (n == 0)
        return;
    if (grain == 0)
        grain = 1;
    int threads = p->nthreads;
    if (limit > 0 && limit < threads)
        threads = limit;
    size_t max_useful = (n + grain - 1) / grain;
    if ((size_t)threads > max_useful)
        threads = (int)max_useful;
    if (threads <= 1 || tls_in_task) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&p->submit_lock);
    /* Several chunks per thread balance uneven work. */
    size_t chunk = n / ((size_t)threads * 4);
    if (chunk < grain)
        chunk = grain;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk;
    atomic_store(&p->next, 0);
    p->active = threads - 1;
    p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    tls_in_task = 1;
    run_chunks(p);
    tls_in_task = 0;

    pthread_mutex_lock(&p->lock);
    while (p->finished < p->active)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->submit_lock);
}
