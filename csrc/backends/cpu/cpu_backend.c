/* The cpu backend: host memory, its own thread pool, kernels as C loops. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/internal.h"
#include "../../core/threadpool.h"
#include "cpu_kernels.h"

#define CPU_ALIGN 64

static const zc_host_api *host;
static zc_threadpool *pool;
static int configured_threads = 1;
static atomic_int thread_limit;

typedef struct cpu_kernel_entry {
    const char *name;
    zc_cpu_kernel_fn fn;
    size_t grain;
} cpu_kernel_entry;

static const cpu_kernel_entry kernels[] = {
#define ZC_CPU_ENTRY(name, fn, grain) {#name, fn, grain},
    ZC_CPU_KERNEL_LIST(ZC_CPU_ENTRY)
#undef ZC_CPU_ENTRY
};

void zc_cpu_backend_configure(int nthreads) { configured_threads = nthreads; }

void zc_cpu_backend_set_thread_limit(int nthreads) { atomic_store(&thread_limit, nthreads); }

int zc_cpu_backend_threads(void)
{
    int threads = pool ? zc_threadpool_size(pool) : 1, limit = atomic_load(&thread_limit);
    return limit > 0 && limit < threads ? limit : threads;
}

static zc_status cpu_init(const zc_host_api *h, int *ndev, char *reason, size_t cap)
{
    host = h;
    zc_status st = zc_threadpool_create(configured_threads, &pool);
    if (st != ZC_OK) {
        snprintf(reason, cap, "thread pool: %s", zc_last_error());
        return st;
    }
    atomic_store(&thread_limit, 0);
    *ndev = 1;
    return ZC_OK;
}

static void cpu_shutdown(void)
{
    zc_threadpool_destroy(pool);
    pool = NULL;
}

static const char *cpu_runtime_version(void) { return "native"; }

static void cpu_model_name(char *out, size_t cap)
{
    snprintf(out, cap, "cpu");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            if (colon) {
                snprintf(out, cap, "%s", colon + 2);
                out[strcspn(out, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

static void cpu_vendor(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_is("intel"))
        snprintf(out, cap, "GenuineIntel");
    else if (__builtin_cpu_is("amd"))
        snprintf(out, cap, "AuthenticAMD");
#endif
}

static long sysconf_or_zero(int name)
{
    long v = sysconf(name);
    return v > 0 ? v : 0;
}

static zc_status cpu_device_info(int idx, zc_device_info *out)
{
    (void)idx;
    memset(out, 0, sizeof *out);
    cpu_model_name(out->name, sizeof out->name);
    cpu_vendor(out->vendor, sizeof out->vendor);
    snprintf(out->driver_version, sizeof out->driver_version, "zkclob %s", zc_version());
    snprintf(out->runtime_version, sizeof out->runtime_version, "native");
    snprintf(out->language_version, sizeof out->language_version, "C11");
    out->compute_units = (uint32_t)sysconf_or_zero(_SC_NPROCESSORS_ONLN);
    out->global_mem_bytes = (uint64_t)sysconf_or_zero(_SC_PHYS_PAGES) * (uint64_t)sysconf_or_zero(_SC_PAGESIZE);
    out->cache_l1_bytes = (uint64_t)sysconf_or_zero(_SC_LEVEL1_DCACHE_SIZE);
    out->cache_l2_bytes = (uint64_t)sysconf_or_zero(_SC_LEVEL2_CACHE_SIZE);
    out->cache_l3_bytes = (uint64_t)sysconf_or_zero(_SC_LEVEL3_CACHE_SIZE);
    out->local_mem_bytes = out->cache_l1_bytes;
    out->max_work_group_size = 1;
    out->available = 1;
    out->threads = (uint32_t)zc_threadpool_size(pool);
    out->caps = ZC_CAP_FP64 | ZC_CAP_INT64_ATOMICS | ZC_CAP_UNIFIED_MEMORY | ZC_CAP_HOST_SHARED;
    char *ext = out->extensions;
    size_t cap = sizeof out->extensions;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    static const struct { const char *name; uint32_t cap; } feats[] = {
        {"sse4.2", ZC_CAP_SSE42}, {"avx2", ZC_CAP_AVX2}, {"avx512f", ZC_CAP_AVX512F}};
    int sup[3] = {__builtin_cpu_supports("sse4.2"), __builtin_cpu_supports("avx2"),
                  __builtin_cpu_supports("avx512f")};
    for (int i = 0; i < 3; i++) {
        if (!sup[i])
            continue;
        out->caps |= feats[i].cap;
        size_t used = strlen(ext);
        snprintf(ext + used, cap - used, "%s%s", used ? " " : "", feats[i].name);
    }
#else
    snprintf(ext, cap, "generic");
#endif
    return ZC_OK;
}

static zc_status cpu_alloc(int idx, size_t bytes, void **handle)
{
    (void)idx;
    size_t rounded = (bytes + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
    void *p = aligned_alloc(CPU_ALIGN, rounded);
    if (!p)
        return host->set_error(ZC_ERR_OUT_OF_MEMORY, "cpu", 0, __func__, "cannot allocate %zu bytes", bytes);
    *handle = p;
    return ZC_OK;
}

static void cpu_release(int idx, void *handle)
{
    (void)idx;
    free(handle);
}

static zc_status cpu_write(int idx, void *handle, size_t offset, const void *src, size_t bytes)
{
    (void)idx;
    if ((char *)handle + offset != src)
        memcpy((char *)handle + offset, src, bytes);
    return ZC_OK;
}

static zc_status cpu_read(int idx, void *handle, size_t offset, void *dst, size_t bytes)
{
    (void)idx;
    if ((char *)handle + offset != dst)
        memcpy(dst, (char *)handle + offset, bytes);
    return ZC_OK;
}

static void *cpu_host_ptr(int idx, void *handle)
{
    (void)idx;
    return handle;
}

typedef struct cpu_job {
    zc_cpu_kernel_fn fn;
    const zc_karg *args;
} cpu_job;

static void cpu_run_range(void *ctx, size_t begin, size_t end)
{
    const cpu_job *job = ctx;
    job->fn(job->args, begin, end);
}

static zc_status cpu_launch(int idx, const char *name, size_t global, const zc_karg *args, int nargs)
{
    (void)idx;
    (void)nargs;
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        if (strcmp(kernels[i].name, name) != 0)
            continue;
        cpu_job job = {kernels[i].fn, args};
        zc_threadpool_parallel_for(pool, global, kernels[i].grain, atomic_load(&thread_limit), cpu_run_range, &job);
        return ZC_OK;
    }
    return host->set_error(ZC_ERR_NOT_FOUND, "cpu", 0, __func__, "no cpu kernel named '%s'", name);
}

static const zc_backend_ops cpu_ops = {
    .abi_version = ZC_BACKEND_ABI_VERSION,
    .name = "cpu",
    .init = cpu_init,
    .shutdown = cpu_shutdown,
    .runtime_version = cpu_runtime_version,
    .device_info = cpu_device_info,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .write = cpu_write,
    .read = cpu_read,
    .host_ptr = cpu_host_ptr,
    .launch = cpu_launch,
    .compile = NULL,
    .fft = zc_cpu_fft,
};

const zc_backend_ops *zc_cpu_backend(void) { return &cpu_ops; }
