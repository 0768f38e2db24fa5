/* Kernels of the cpu backend: C loops over the single-source ZC_FN bodies.
 * Each kernel processes work items [begin, end) of a launch. */
#ifndef ZC_CPU_KERNELS_H
#define ZC_CPU_KERNELS_H

#include "../backend.h"

typedef void (*zc_cpu_kernel_fn)(const zc_karg *args, size_t begin, size_t end);

static inline void *zc_cpu_ptr(const zc_karg *a) { return a->v.buf->handle; }

/* name, function, minimum work items per chunk */
#define ZC_CPU_KERNEL_LIST(X) X(zc_philox, zc_cpu_philox, 4096)

#define ZC_CPU_DECLARE(name, fn, grain) void fn(const zc_karg *args, size_t begin, size_t end);
ZC_CPU_KERNEL_LIST(ZC_CPU_DECLARE)
#undef ZC_CPU_DECLARE

#endif
