/* A small fork-join thread pool for the cpu backend. One parallel_for runs at
 * a time; concurrent callers queue on the pool lock, and a parallel_for called
 * from inside a task runs inline, so nesting cannot deadlock. */
#ifndef ZC_THREADPOOL_H
#define ZC_THREADPOOL_H

#include <stddef.h>

#include "zkclob/core.h"

typedef struct zc_threadpool zc_threadpool;
typedef void (*zc_range_fn)(void *ctx, size_t begin, size_t end);

/* nthreads counts the calling thread: nthreads - 1 workers are started. */
zc_status zc_threadpool_create(int nthreads, zc_threadpool **out);
void zc_threadpool_destroy(zc_threadpool *pool);
int zc_threadpool_size(const zc_threadpool *pool);
/* Calls fn over [0, n) in chunks of at least `grain` items and returns when
 * every chunk is done. `limit` caps the threads used (0 = all). */
void zc_threadpool_parallel_for(zc_threadpool *pool, size_t n, size_t grain, int limit, zc_range_fn fn, void *ctx);

#endif
