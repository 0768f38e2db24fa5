/* zkclob devices: enumeration across backends, health, retry and failover
 * policies, fault injection, and the buffer/launch interface that the compute
 * modules use to run single-source kernels on any backend. */
#ifndef ZKCLOB_DEVICE_H
#define ZKCLOB_DEVICE_H

#include "zkclob/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zc_backend_kind {
    ZC_BACKEND_CPU = 0,
    ZC_BACKEND_OPENCL = 1,
    ZC_BACKEND_CUDA = 2,
    ZC_BACKEND_COUNT = 3
} zc_backend_kind;

ZC_API const char *zc_backend_name(zc_backend_kind kind);

typedef enum zc_health_state { ZC_HEALTH_OK = 0, ZC_HEALTH_DEGRADED = 1, ZC_HEALTH_FAILED = 2 } zc_health_state;

ZC_API const char *zc_health_str(zc_health_state s);

/* Capability flags. */
#define ZC_CAP_FP64 (1u << 0)
#define ZC_CAP_INT64_ATOMICS (1u << 1)
#define ZC_CAP_UNIFIED_MEMORY (1u << 2)
#define ZC_CAP_SVM (1u << 3)
#define ZC_CAP_HOST_SHARED (1u << 4) /* device buffers are host memory: no copies */
#define ZC_CAP_GPU (1u << 5)
#define ZC_CAP_SSE42 (1u << 8)
#define ZC_CAP_AVX2 (1u << 9)
#define ZC_CAP_AVX512F (1u << 10)

#define ZC_NAME_MAX 128
#define ZC_TEXT_MAX 512

typedef struct zc_device_info {
    int id;                      /* index in zc_device_count() order */
    zc_backend_kind backend;
    int backend_index;           /* n-th device of its backend */
    int available;               /* 0: listed with a reason, cannot run */
    char reason[ZC_TEXT_MAX];    /* why unavailable ("" when available) */
    char name[ZC_NAME_MAX];
    char vendor[ZC_NAME_MAX];
    char driver_version[ZC_NAME_MAX];
    char runtime_version[ZC_NAME_MAX];
    char platform[ZC_NAME_MAX];         /* OpenCL platform name and version */
    char language_version[ZC_NAME_MAX]; /* OpenCL C version, CUDA compute capability */
    char extensions[ZC_TEXT_MAX];       /* OpenCL extensions or CPU features, truncated */
    uint32_t compute_units;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t constant_mem_bytes;
    uint64_t max_work_group_size;
    uint64_t cache_l1_bytes, cache_l2_bytes, cache_l3_bytes; /* cpu */
    uint32_t threads;                   /* cpu worker threads */
    uint32_t caps;                      /* ZC_CAP_* */
} zc_device_info;

typedef struct zc_device_health {
    zc_health_state state;
    zc_status last_status;
    char last_error[ZC_TEXT_MAX];
    uint64_t launches, errors, retries, failovers, probes;
} zc_device_health;

ZC_API int zc_device_count(void);
ZC_API zc_status zc_device_info_get(int id, zc_device_info *out);
/* Resolve "auto", "cpu", "opencl", "cuda" (first healthy device of that
 * backend), "opencl:1" (backend-local index) or a plain id "3". */
ZC_API zc_status zc_device_find(const char *spec, int *id);
ZC_API zc_status zc_device_health_get(int id, zc_device_health *out);
/* Runs a known-answer kernel (Philox4x32-10 on the Random123 zero vector) and
 * updates health: success marks the device ok, a wrong answer or an error
 * marks it failed. Returns the probe's status. */
ZC_API zc_status zc_device_probe(int id);
/* Limit the worker threads a cpu device uses per launch (0 = all of its pool).
 * Other backends return ZC_ERR_UNSUPPORTED. */
ZC_API zc_status zc_device_set_threads(int id, int nthreads);
/* Clear a failed state (e.g. after operator action); counters are kept. */
ZC_API zc_status zc_device_reset_health(int id);
/* Backend runtime versions: "" if the backend is not loaded. */
ZC_API const char *zc_backend_runtime_version(zc_backend_kind kind);
/* Why a backend has no devices ("" when it has some). */
ZC_API const char *zc_backend_unavailable_reason(zc_backend_kind kind);

/* Retry and failover policy, applied by zc_run for every operation. */
typedef enum zc_failover_mode {
    ZC_FAILOVER_NONE = 0,         /* device_lost is returned to the caller */
    ZC_FAILOVER_SAME_BACKEND = 1, /* next healthy device of the same backend */
    ZC_FAILOVER_ANY = 2           /* same backend first, then other backends, cpu last */
} zc_failover_mode;

typedef struct zc_policy {
    int max_retries;          /* transient errors retried this many times per device */
    uint32_t backoff_initial_us;
    uint32_t backoff_max_us;
    double backoff_multiplier;
    zc_failover_mode failover;
} zc_policy;

ZC_API void zc_policy_get(zc_policy *out);
ZC_API zc_status zc_policy_set(const zc_policy *p);

/* Fault injection: a comma-separated list of rules "backend:op:nth[xcount][:class]".
 * op is alloc, write, read, launch, wait (zc_fence_wait) or probe (or * for
 * any); the nth matching
 * call (1-based, counted from when the rule was set) and the count-1 calls
 * after it fail with class transient (default) or lost. "" clears all rules.
 * ZC_FAULT_INJECT sets the rules at initialisation. */
ZC_API zc_status zc_fault_inject_set(const char *rules);

/* ---- Buffer and launch interface (used by compute modules). ---- */

typedef struct zc_devbuf zc_devbuf;

typedef enum zc_karg_kind { ZC_KARG_BUF = 1, ZC_KARG_U32, ZC_KARG_U64, ZC_KARG_I64, ZC_KARG_F64 } zc_karg_kind;

typedef struct zc_karg {
    zc_karg_kind kind;
    union {
        zc_devbuf *buf;
        uint32_t u32;
        uint64_t u64;
        int64_t i64;
        double f64;
    } v;
} zc_karg;

static inline zc_karg zc_arg_buf(zc_devbuf *b) { zc_karg a; a.kind = ZC_KARG_BUF; a.v.buf = b; return a; }
static inline zc_karg zc_arg_u32(uint32_t x) { zc_karg a; a.kind = ZC_KARG_U32; a.v.u32 = x; return a; }
static inline zc_karg zc_arg_u64(uint64_t x) { zc_karg a; a.kind = ZC_KARG_U64; a.v.u64 = x; return a; }
static inline zc_karg zc_arg_i64(int64_t x) { zc_karg a; a.kind = ZC_KARG_I64; a.v.i64 = x; return a; }
static inline zc_karg zc_arg_f64(double x) { zc_karg a; a.kind = ZC_KARG_F64; a.v.f64 = x; return a; }

ZC_API zc_status zc_buf_alloc(int dev, size_t bytes, zc_devbuf **out);
/* A buffer over caller-owned host memory, for devices with ZC_CAP_HOST_SHARED
 * (kernels then write the caller's memory directly). zc_buf_free releases only
 * the descriptor. Other devices return ZC_ERR_UNSUPPORTED. */
ZC_API zc_status zc_buf_wrap(int dev, void *host, size_t bytes, zc_devbuf **out);
ZC_API void zc_buf_free(zc_devbuf *b);
ZC_API zc_status zc_buf_write(zc_devbuf *b, size_t offset, const void *src, size_t bytes);
ZC_API zc_status zc_buf_read(zc_devbuf *b, size_t offset, void *dst, size_t bytes);
/* Host address of the buffer when the device shares host memory (cpu), else NULL. */
ZC_API void *zc_buf_host_ptr(zc_devbuf *b);
/* Launch a named kernel over `global` work items and wait for it. */
ZC_API zc_status zc_launch(int dev, const char *kernel, size_t global, const zc_karg *args, int nargs);

/* Asynchronous submission. These queue their work on the device's in-order
 * queue (OpenCL command queue, CUDA stream), behind all work queued before,
 * the synchronous calls' included, and return without waiting for it; a
 * backend without a queue (cpu) does the work before returning. The memory
 * a write reads from must stay unchanged, and the memory a read writes to
 * untouched, until a fence recorded after them has been waited for; memory
 * from zc_host_alloc lets the transfers really overlap with the host (CUDA
 * copies pageable memory synchronously). Errors found while queueing are
 * returned at once; errors of the queued work surface at zc_fence_wait.
 * Fault injection counts these calls as write, read and launch, and
 * zc_fence_wait as wait. */
ZC_API zc_status zc_buf_write_async(zc_devbuf *b, size_t offset, const void *src, size_t bytes);
ZC_API zc_status zc_buf_read_async(zc_devbuf *b, size_t offset, void *dst, size_t bytes);
ZC_API zc_status zc_launch_async(int dev, const char *kernel, size_t global, const zc_karg *args, int nargs);

typedef struct zc_fence zc_fence;
/* A fence after all work queued on dev so far; that work is started. */
ZC_API zc_status zc_fence_record(int dev, zc_fence **out);
/* Waits until the work before the fence is done and returns its first
 * error. An injected wait fault is reported after the real wait, so the
 * device is done with the fenced memory whatever this returns. */
ZC_API zc_status zc_fence_wait(zc_fence *f);
ZC_API void zc_fence_free(zc_fence *f);
/* Host memory for asynchronous transfers with dev, 64-byte aligned:
 * page-locked where the backend has it (CUDA), plain otherwise. */
ZC_API zc_status zc_host_alloc(int dev, size_t bytes, void **out);
ZC_API void zc_host_free(int dev, void *p);

/* Run op(dev, user) on the device `*dev` under the current policy: transient
 * errors are retried with backoff, device_lost marks the device failed and
 * moves to the next healthy device. On return *dev is the device that ran it.
 * op must be restartable: it is called again from scratch on retry or failover. */
typedef zc_status (*zc_op_fn)(int dev, void *user);
ZC_API zc_status zc_run(int *dev, const char *what, zc_op_fn op, void *user);

/* Runtime compilation of single-source kernels through a backend's compiler
 * (OpenCL: clBuildProgram on the first device; CUDA: NVRTC to CUBIN for
 * `arch`, e.g. "sm_80"). Works without a usable device when the compiler is
 * present. *out is malloc'd; free it with zc_free. */
ZC_API zc_status zc_backend_compile(zc_backend_kind kind, const char *source, const char *arch,
                                    void **out, size_t *out_bytes, char *log, size_t log_cap);
ZC_API void zc_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
