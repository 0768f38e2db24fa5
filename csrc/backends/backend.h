/* Backend plugin ABI (internal). The cpu backend is built into libzkclob;
 * opencl and cuda are shared objects loaded with dlopen that export
 * zc_backend_entry(). Plugins never link libzkclob: the core hands them a
 * zc_host_api table for errors and logging. */
#ifndef ZC_BACKEND_H
#define ZC_BACKEND_H

#include "zkclob/device.h"

#define ZC_BACKEND_ABI_VERSION 2

struct zc_devbuf {
    int dev;        /* global device id */
    void *handle;   /* backend object: host pointer (cpu), cl_mem, CUdeviceptr */
    size_t bytes;
    int borrowed;   /* wraps caller memory: never released */
};

typedef struct zc_host_api {
    int abi_version;
    /* Records the thread's last error and returns st. */
    zc_status (*set_error)(zc_status st, const char *backend, int backend_index, const char *function,
                           const char *fmt, ...) ZC_PRINTF(5, 6);
    void (*log)(zc_log_level level, const char *module, const char *fmt, ...) ZC_PRINTF(3, 4);
} zc_host_api;

typedef struct zc_backend_ops {
    int abi_version;
    const char *name;
    /* Discover devices. On failure return an error and describe it in reason
     * (e.g. the exact CUDA error name and message); the backend is then listed
     * as unavailable. *ndev may be 0 with ZC_OK when a runtime has no devices. */
    zc_status (*init)(const zc_host_api *host, int *ndev, char *reason, size_t reason_cap);
    void (*shutdown)(void);
    const char *(*runtime_version)(void);
    zc_status (*device_info)(int idx, zc_device_info *out);
    zc_status (*alloc)(int idx, size_t bytes, void **handle);
    void (*release)(int idx, void *handle);
    zc_status (*write)(int idx, void *handle, size_t offset, const void *src, size_t bytes);
    zc_status (*read)(int idx, void *handle, size_t offset, void *dst, size_t bytes);
    /* NULL where device memory is not host addressable. */
    void *(*host_ptr)(int idx, void *handle);
    /* Buffer arguments carry struct zc_devbuf pointers of this backend. */
    zc_status (*launch)(int idx, const char *kernel, size_t global, const zc_karg *args, int nargs);
    /* Optional (NULL): compile source to a backend binary without a device. */
    zc_status (*compile)(const char *source, const char *arch, void **out, size_t *out_bytes, char *log,
                         size_t log_cap);
    /* Optional (NULL) memory kinds for csrc/mem; kind is a zc_mem_kind. *handle
     * is what a zc_devbuf carries to kernels (cl_mem, device pointer); *addr
     * is the allocation's own address where it has one (SVM, CUDA pointers),
     * else NULL. */
    zc_status (*alloc_kind)(int idx, int kind, size_t bytes, void **handle, void **addr);
    void (*release_kind)(int idx, int kind, void *handle, void *addr);
    /* Host view once the device's queued work is done; flags are ZC_MAP_READ
     * and/or ZC_MAP_WRITE. Valid until unmap. */
    zc_status (*map)(int idx, int kind, void *handle, void *addr, size_t bytes, unsigned flags, void **host);
    zc_status (*unmap)(int idx, int kind, void *handle, void *host);
    /* Waits for all work queued on the device. */
    zc_status (*sync)(int idx);
    /* Optional (NULL): in-place complex FFT of `batch` contiguous transforms of
     * length n (interleaved double re, im; unnormalised) in the buffer
     * `handle`; inverse selects the e^{+2 pi i jk/n} direction. */
    zc_status (*fft)(int idx, void *handle, size_t n, size_t batch, int inverse);
    /* Optional (NULL: the registry falls back to write, read and launch,
     * which finish before returning). Asynchronous submission: each call
     * queues its work on the device's in-order queue (OpenCL command queue,
     * CUDA stream) behind all work queued before and returns; src and dst
     * stay the caller's until a fence recorded afterwards has completed. */
    zc_status (*write_async)(int idx, void *handle, size_t offset, const void *src, size_t bytes);
    zc_status (*read_async)(int idx, void *handle, size_t offset, void *dst, size_t bytes);
    zc_status (*launch_async)(int idx, const char *kernel, size_t global, const zc_karg *args, int nargs);
    /* Optional, all three or none: a marker after all queued work, which is
     * flushed to the device; fence_wait blocks until it completes and returns
     * the error of queued work that failed; fence_release frees it, waited
     * for or not. */
    zc_status (*fence_record)(int idx, void **fence);
    zc_status (*fence_wait)(int idx, void *fence);
    void (*fence_release)(int idx, void *fence);
    /* Optional (NULL: plain host memory): page-locked host memory, which
     * asynchronous transfers need to overlap with the host (CUDA copies
     * pageable memory synchronously). */
    zc_status (*host_alloc)(int idx, size_t bytes, void **ptr);
    void (*host_free)(int idx, void *ptr);
} zc_backend_ops;

typedef const zc_backend_ops *(*zc_backend_entry_fn)(void);
#define ZC_BACKEND_ENTRY_SYMBOL "zc_backend_entry"

/* The built-in cpu backend: configure its pool size before init; the thread
 * limit (0 = whole pool) applies to every later launch. */
const zc_backend_ops *zc_cpu_backend(void);
void zc_cpu_backend_configure(int nthreads);
void zc_cpu_backend_set_thread_limit(int nthreads);
/* Threads a launch on the cpu backend runs on now (the limit, or the pool). */
int zc_cpu_backend_threads(void);

#endif
