/* Memory resources: where chunks come from. Host memory, and every kind on
 * the cpu device, is mmap'd by the process (2 MiB aligned for huge pages,
 * mlock'ed when pinned); other devices' kinds come from their backend
 * plugin, mapped into the host for as long as the chunk lives. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "mem_internal.h"

#define ZC_HUGE_PAGE ((size_t)2 << 20)

void zc_wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

static int process_memory(const zc_resource *r) { return r->device < 0; }

zc_status zc_resource_init(zc_resource *r, zc_mem_kind kind, int device, uint32_t flags)
{
    memset(r, 0, sizeof *r);
    if ((unsigned)kind >= ZC_MEM_KIND_COUNT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown memory kind %d", (int)kind);
    r->kind = kind;
    r->flags = flags;
    r->device = -1;
    r->host_accessible = 1;
    if (kind == ZC_MEM_HOST)
        return ZC_OK; /* host memory is the same whichever device uses it */
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(device, &info));
    if (!info.available)
        return ZC_ERR(ZC_ERR_BACKEND_UNAVAILABLE, "device %d (%s) is unavailable: %s", device,
                      zc_backend_name(info.backend), info.reason);
    r->backend = info.backend;
    if (info.backend == ZC_BACKEND_CPU)
        return ZC_OK; /* cpu device memory is host memory */
    r->device = device;
    if (kind == ZC_MEM_DEVICE) {
        if (info.backend == ZC_BACKEND_OPENCL)
            return ZC_ERR(ZC_ERR_UNSUPPORTED,
                          "OpenCL device memory (cl_mem) has no address to carve blocks from: use a zc_buffer, "
                          "or unified (SVM) or pinned memory for a pool on device %d", device);
        r->host_accessible = 0; /* CUDA device pointers */
    }
    return ZC_OK;
}

static zc_status host_alloc(const zc_resource *r, size_t bytes, zc_region *out)
{
    int huge = (r->flags & ZC_POOL_HUGE_PAGES) != 0;
    size_t align = huge ? ZC_HUGE_PAGE : ZC_GRANULE;
    if (bytes > SIZE_MAX - align)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%zu bytes of host memory overflow size_t", bytes);
    size_t raw = bytes + align;
    char *p = mmap(NULL, raw, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "mmap of %zu bytes: %s", raw, strerror(errno));
    /* Over-map, then trim to the alignment: nothing is wasted. */
    char *a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    size_t head = (size_t)(a - p), tail = raw - head - bytes;
    if (head)
        munmap(p, head);
    if (tail)
        munmap(a + bytes, tail);
#ifdef MADV_HUGEPAGE
    if (huge && madvise(a, bytes, MADV_HUGEPAGE) != 0)
        zc_log(ZC_LOG_DEBUG, "mem", "madvise(MADV_HUGEPAGE): %s; using normal pages", strerror(errno));
#endif
#ifdef MADV_DONTDUMP
    if (r->flags & ZC_POOL_SECURE)
        madvise(a, bytes, MADV_DONTDUMP); /* keep secrets out of core dumps */
#endif
    if (r->kind == ZC_MEM_PINNED && mlock(a, bytes) != 0) {
        int err = errno;
        munmap(a, bytes);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "mlock of %zu bytes of pinned memory: %s (see RLIMIT_MEMLOCK)", bytes,
                      strerror(err));
    }
    out->addr = a; /* fresh anonymous pages are zero */
    out->bytes = bytes;
    return ZC_OK;
}

static zc_status device_alloc(const zc_resource *r, size_t bytes, zc_region *out)
{
    /* Backends do not take an alignment: over-allocate one granule. */
    if (bytes > SIZE_MAX - ZC_GRANULE)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%zu bytes of device memory overflow size_t", bytes);
    size_t raw = bytes + ZC_GRANULE;
    void *handle = NULL, *addr = NULL;
    ZC_CHECK(zc_dev_mem_alloc(r->device, (int)r->kind, raw, &handle, &addr));
    void *base = addr;
    if (r->kind != ZC_MEM_DEVICE) {
        zc_status st = zc_dev_mem_map(r->device, (int)r->kind, handle, addr, raw, ZC_MAP_READ | ZC_MAP_WRITE,
                                      &out->mapped);
        if (st != ZC_OK) {
            zc_dev_mem_release(r->device, (int)r->kind, handle, addr);
            return st;
        }
        base = out->mapped;
    }
    if (!base) {
        zc_dev_mem_release(r->device, (int)r->kind, handle, addr);
        return ZC_ERR(ZC_ERR_UNSUPPORTED, "%s memory of device %d has no address", zc_mem_kind_name(r->kind),
                      r->device);
    }
    out->addr = (void *)(((uintptr_t)base + ZC_GRANULE - 1) & ~(uintptr_t)(ZC_GRANULE - 1));
    out->bytes = bytes;
    out->handle = handle;
    out->dev_addr = addr;
    out->raw_bytes = raw;
    if ((r->flags & ZC_POOL_SECURE) && r->host_accessible)
        zc_wipe(out->addr, bytes); /* backends do not promise zeroed memory */
    return ZC_OK;
}

zc_status zc_resource_alloc(const zc_resource *r, size_t bytes, zc_region *out)
{
    memset(out, 0, sizeof *out);
    return process_memory(r) ? host_alloc(r, bytes, out) : device_alloc(r, bytes, out);
}

void zc_resource_release(const zc_resource *r, zc_region *reg)
{
    if (!reg->addr)
        return;
    if ((r->flags & ZC_POOL_SECURE) && r->host_accessible)
        zc_wipe(reg->addr, reg->bytes);
    if (process_memory(r)) {
        munmap(reg->addr, reg->bytes); /* also ends an mlock */
    } else {
        if (reg->mapped)
            zc_dev_mem_unmap(r->device, (int)r->kind, reg->handle, reg->mapped);
        zc_dev_mem_release(r->device, (int)r->kind, reg->handle, reg->dev_addr);
    }
    memset(reg, 0, sizeof *reg);
}
