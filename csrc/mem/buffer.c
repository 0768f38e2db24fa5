/* zc_buffer: one allocation with a host view and a device view.
 *
 * Three layouts, chosen by backend and kind:
 *  - shared: cpu memory; both views are the same bytes.
 *  - backend: the plugin's memory of that kind (OpenCL SVM, USE_HOST_PTR or
 *    ALLOC_HOST_PTR buffers; CUDA mapped pinned or managed memory), mapped
 *    and unmapped through the plugin. Zero copy where the device shares it.
 *  - copy: device memory plus a host shadow (device kind, or host kind on
 *    CUDA, where pageable memory is out of the device's reach); map and
 *    unmap copy explicitly, and every copy is counted. */
#include <stdlib.h>
#include <string.h>

#include "../backends/backend.h"
#include "mem_internal.h"

enum { BUF_SHARED, BUF_BACKEND, BUF_COPY };

struct zc_buffer {
    int dev;
    zc_mem_kind kind;
    size_t bytes;
    int layout;
    int zero_copy;
    zc_resource host_res;
    zc_region host;      /* shared memory, or the copy layout's shadow */
    void *handle;        /* backend layout: the plugin's handle and address */
    void *addr;
    zc_devbuf *device;   /* copy layout: the device memory */
    void *mapped;
    unsigned map_flags;
    int counted;         /* created completely: in the totals */
    uint64_t maps, copies, copy_bytes;
};

static struct {
    _Atomic uint64_t live, reserved, copies, copy_bytes, zero_copy_maps;
} totals;

void zc_buffer_totals_get(zc_buffer_totals *out)
{
    out->live = atomic_load(&totals.live);
    out->reserved = atomic_load(&totals.reserved);
    out->copies = atomic_load(&totals.copies);
    out->copy_bytes = atomic_load(&totals.copy_bytes);
    out->zero_copy_maps = atomic_load(&totals.zero_copy_maps);
}

static size_t granules(size_t bytes) { return (bytes + ZC_GRANULE - 1) / ZC_GRANULE * ZC_GRANULE; }

/* Process memory for the shared layout or a shadow (pinned stays pinned on cpu). */
static zc_status host_memory(zc_buffer *b, zc_mem_kind kind)
{
    ZC_CHECK(zc_resource_init(&b->host_res, kind, 0, 0));
    return zc_resource_alloc(&b->host_res, granules(b->bytes), &b->host);
}

zc_status zc_buffer_create(int device, zc_mem_kind kind, size_t bytes, zc_buffer **out)
{
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    *out = NULL;
    if (bytes == 0 || bytes > SIZE_MAX / 4)
        return ZC_ERR(bytes ? ZC_ERR_OUT_OF_RANGE : ZC_ERR_INVALID_ARGUMENT, "buffer of %zu bytes", bytes);
    if ((unsigned)kind >= ZC_MEM_KIND_COUNT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown memory kind %d", (int)kind);
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(device, &info));
    if (!info.available)
        return ZC_ERR(ZC_ERR_BACKEND_UNAVAILABLE, "device %d (%s) is unavailable: %s", device,
                      zc_backend_name(info.backend), info.reason);
    zc_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "buffer descriptor");
    b->dev = device;
    b->kind = kind;
    b->bytes = bytes;
    zc_status st;
    if (info.backend == ZC_BACKEND_CPU) {
        b->layout = BUF_SHARED;
        b->zero_copy = 1;
        st = host_memory(b, kind == ZC_MEM_PINNED ? ZC_MEM_PINNED : ZC_MEM_HOST);
    } else if (kind == ZC_MEM_DEVICE || (kind == ZC_MEM_HOST && info.backend == ZC_BACKEND_CUDA)) {
        b->layout = BUF_COPY;
        st = zc_buf_alloc(device, bytes, &b->device);
        if (st == ZC_OK)
            st = host_memory(b, ZC_MEM_HOST);
    } else {
        b->layout = BUF_BACKEND;
        /* CUDA mapped and managed memory and OpenCL SVM are shared by design;
         * OpenCL host-pointer buffers are where the device uses host memory. */
        b->zero_copy = info.backend == ZC_BACKEND_CUDA || (kind == ZC_MEM_UNIFIED && (info.caps & ZC_CAP_SVM)) ||
                       (info.caps & ZC_CAP_UNIFIED_MEMORY);
        st = zc_dev_mem_alloc(device, (int)kind, bytes, &b->handle, &b->addr);
    }
    if (st != ZC_OK) {
        zc_buffer_destroy(b);
        return st;
    }
    atomic_fetch_add(&totals.live, 1);
    atomic_fetch_add(&totals.reserved, bytes);
    b->counted = 1;
    *out = b;
    return ZC_OK;
}

void zc_buffer_destroy(zc_buffer *b)
{
    if (!b)
        return;
    if (b->mapped && b->layout == BUF_BACKEND)
        zc_dev_mem_unmap(b->dev, (int)b->kind, b->handle, b->mapped);
    if (b->handle)
        zc_dev_mem_release(b->dev, (int)b->kind, b->handle, b->addr);
    zc_buf_free(b->device);
    zc_resource_release(&b->host_res, &b->host);
    if (b->counted) {
        atomic_fetch_sub(&totals.live, 1);
        atomic_fetch_sub(&totals.reserved, b->bytes);
    }
    free(b);
}

static void count_copy(zc_buffer *b)
{
    b->copies++;
    b->copy_bytes += b->bytes;
    atomic_fetch_add(&totals.copies, 1);
    atomic_fetch_add(&totals.copy_bytes, b->bytes);
}

zc_status zc_buffer_map(zc_buffer *b, unsigned flags, void **host)
{
    if (!b || !host)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "buffer and host must not be NULL");
    if (!flags || (flags & ~(ZC_MAP_READ | ZC_MAP_WRITE)))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "map flags must be ZC_MAP_READ and/or ZC_MAP_WRITE, got %#x", flags);
    if (b->mapped)
        return ZC_ERR(ZC_ERR_STATE, "buffer is already mapped: unmap it first");
    void *p = NULL;
    switch (b->layout) {
    case BUF_SHARED:
        p = b->host.addr;
        break;
    case BUF_BACKEND:
        ZC_CHECK(zc_dev_mem_map(b->dev, (int)b->kind, b->handle, b->addr, b->bytes, flags, &p));
        break;
    default:
        if (flags & ZC_MAP_READ) {
            ZC_CHECK(zc_buf_read(b->device, 0, b->host.addr, b->bytes));
            count_copy(b);
        }
        p = b->host.addr;
    }
    if (b->zero_copy)
        atomic_fetch_add(&totals.zero_copy_maps, 1);
    b->maps++;
    b->mapped = p;
    b->map_flags = flags;
    *host = p;
    return ZC_OK;
}

zc_status zc_buffer_unmap(zc_buffer *b)
{
    if (!b)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "buffer must not be NULL");
    if (!b->mapped)
        return ZC_ERR(ZC_ERR_STATE, "buffer is not mapped");
    if (b->layout == BUF_BACKEND)
        ZC_CHECK(zc_dev_mem_unmap(b->dev, (int)b->kind, b->handle, b->mapped));
    if (b->layout == BUF_COPY && (b->map_flags & ZC_MAP_WRITE)) {
        ZC_CHECK(zc_buf_write(b->device, 0, b->host.addr, b->bytes));
        count_copy(b);
    }
    b->mapped = NULL;
    return ZC_OK;
}

zc_status zc_buffer_sync(zc_buffer *b)
{
    if (!b)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "buffer must not be NULL");
    return b->layout == BUF_SHARED ? ZC_OK : zc_dev_mem_sync(b->dev);
}

zc_status zc_buffer_device_view(zc_buffer *b, zc_devbuf **out)
{
    if (!b || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "buffer and out must not be NULL");
    switch (b->layout) {
    case BUF_SHARED:
        return zc_buf_wrap(b->dev, b->host.addr, b->bytes, out);
    case BUF_BACKEND:
        return zc_dev_buf_borrow(b->dev, b->handle, b->bytes, out);
    default:
        return zc_dev_buf_borrow(b->dev, b->device->handle, b->bytes, out);
    }
}

zc_status zc_buffer_info_get(const zc_buffer *b, zc_buffer_info *out)
{
    if (!b || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "buffer and out must not be NULL");
    out->device = b->dev;
    out->kind = b->kind;
    out->bytes = b->bytes;
    out->zero_copy = b->zero_copy;
    out->mapped = b->mapped != NULL;
    out->maps = b->maps;
    out->copies = b->copies;
    out->copy_bytes = b->copy_bytes;
    return ZC_OK;
}
