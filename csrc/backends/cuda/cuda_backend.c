/* The cuda backend plugin: cudart (linked statically) for devices, memory and
 * launches of the kernels nvcc compiled into this module, NVRTC for runtime
 * compilation. With no usable driver, init fails with the exact CUDA error
 * and the core lists the backend as unavailable; NVRTC still works. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cufft.h>
#include <cuda_runtime_api.h>
#include <nvrtc.h>

#include "../backend.h"
#include "zkclob/mem.h"

#define BLOCK_SIZE 256
#define MAX_ARGS 32
#define MIN_CC_MAJOR 7

/* Defined in cuda_kernels.cu, terminated by a NULL name. */
struct zc_cuda_kernel {
    const char *name;
    const void *fn;
};
extern const struct zc_cuda_kernel zc_cuda_kernels[];

typedef struct cuda_dev {
    zc_device_info info;
    cudaStream_t stream; /* created only for available devices */
} cuda_dev;

static const zc_host_api *host;
static cuda_dev *devs;
static int ndevs;
static char version_text[ZC_NAME_MAX];

static zc_status map_error(cudaError_t e)
{
    switch (e) {
    case cudaErrorMemoryAllocation:
        return ZC_ERR_DEVICE_OUT_OF_MEMORY;
    case cudaErrorNotReady:
        return ZC_ERR_TRANSIENT;
    case cudaErrorTimeout:
        return ZC_ERR_TIMEOUT;
    case cudaErrorInsufficientDriver:
    case cudaErrorNoDevice:
    case cudaErrorNotSupported:
    case cudaErrorStubLibrary:
    case cudaErrorInitializationError:
    case cudaErrorSystemNotReady:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
        return ZC_ERR_BACKEND_UNAVAILABLE;
    case cudaErrorCallRequiresNewerDriver:
        return ZC_ERR_VERSION_MISMATCH;
    case cudaErrorNoKernelImageForDevice:
        return ZC_ERR_UNSUPPORTED;
    /* Sticky errors: the context is unusable until the process restarts, so
     * the device is lost. driver_types.h documents cudaErrorLaunchTimeout as
     * one of them. */
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
    case cudaErrorNvlinkUncorrectable:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorContained:
    case cudaErrorTensorMemoryLeak:
    case cudaErrorExternalDevice:
    case cudaErrorMpsClientTerminated:
    case cudaErrorDevicesUnavailable:
    case cudaErrorContextIsDestroyed:
        return ZC_ERR_DEVICE_LOST;
    default:
        return ZC_ERR_BACKEND;
    }
}

/* Records a CUDA failure as "<what>: <message> (<cudaErrorName>)". */
static zc_status fail(cudaError_t e, int idx, const char *function, const char *fmt, ...) ZC_PRINTF(4, 5);

static zc_status fail(cudaError_t e, int idx, const char *function, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* Reset the runtime's last error so that it cannot resurface in a later
     * launch's cudaGetLastError (sticky errors stay regardless). */
    cudaGetLastError();
    return host->set_error(map_error(e), "cuda", idx, function, "%s: %s (%s)", what, cudaGetErrorString(e),
                           cudaGetErrorName(e));
}

/* CUDA encodes versions as 1000 * major + 10 * minor; 0 means no driver. */
static void format_version(char *out, size_t cap, int v)
{
    if (v <= 0)
        snprintf(out, cap, "none");
    else
        snprintf(out, cap, "%d.%d", v / 1000, v % 1000 / 10);
}

static void set_unavailable(zc_device_info *info, cudaError_t e, const char *what)
{
    info->available = 0;
    snprintf(info->reason, sizeof info->reason, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    cudaGetLastError();
}

/* Fills d->info; creates the primary context and a stream where the device can
 * run this module's kernels, otherwise leaves it listed with a reason. */
static void open_device(int i, cuda_dev *d, const char *runtime, const char *driver)
{
    zc_device_info *info = &d->info;
    memset(d, 0, sizeof *d);
    snprintf(info->vendor, sizeof info->vendor, "NVIDIA");
    snprintf(info->driver_version, sizeof info->driver_version, "%s", driver);
    snprintf(info->runtime_version, sizeof info->runtime_version, "%s", runtime);
    snprintf(info->platform, sizeof info->platform, "CUDA");
    snprintf(info->name, sizeof info->name, "cuda:%d", i);

    struct cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, i);
    if (e != cudaSuccess) {
        set_unavailable(info, e, "cudaGetDeviceProperties");
        return;
    }
    snprintf(info->name, sizeof info->name, "%s", p.name);
    snprintf(info->language_version, sizeof info->language_version, "sm_%d%d", p.major, p.minor);
    info->compute_units = (uint32_t)p.multiProcessorCount;
    info->global_mem_bytes = p.totalGlobalMem;
    info->local_mem_bytes = p.sharedMemPerBlock;
    info->constant_mem_bytes = p.totalConstMem;
    info->max_work_group_size = (uint64_t)p.maxThreadsPerBlock;
    info->caps = ZC_CAP_GPU | ZC_CAP_FP64 | ZC_CAP_INT64_ATOMICS | (p.managedMemory ? ZC_CAP_UNIFIED_MEMORY : 0u);
    if (p.major < MIN_CC_MAJOR) {
        snprintf(info->reason, sizeof info->reason, "compute capability %d.%d is below the required %d.0", p.major,
                 p.minor, MIN_CC_MAJOR);
        return;
    }

    e = cudaSetDevice(i);
    if (e == cudaSuccess)
        e = cudaFree(NULL); /* creates the primary context now, not in the first launch */
    if (e != cudaSuccess) {
        set_unavailable(info, e, "cannot create a context");
        return;
    }
    /* The fatbinary holds code for a few architectures only; a device it has no
     * image for would fail every launch, so say so up front. */
    for (const struct zc_cuda_kernel *k = zc_cuda_kernels; k->name; k++) {
        struct cudaFuncAttributes fa;
        e = cudaFuncGetAttributes(&fa, k->fn);
        if (e != cudaSuccess) {
            char what[160];
            snprintf(what, sizeof what, "kernel %s has no image for sm_%d%d in this build", k->name, p.major,
                     p.minor);
            set_unavailable(info, e, what);
            return;
        }
    }
    e = cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        d->stream = NULL;
        set_unavailable(info, e, "cannot create a stream");
        return;
    }
    info->available = 1;
}

static void cuda_shutdown(void)
{
    for (int i = 0; i < ndevs; i++) {
        if (!devs[i].stream)
            continue;
        cudaSetDevice(i);
        cudaStreamDestroy(devs[i].stream);
    }
    free(devs);
    devs = NULL;
    ndevs = 0;
    version_text[0] = '\0';
}

static zc_status cuda_init(const zc_host_api *h, int *ndev, char *reason, size_t reason_cap)
{
    host = h;
    int rt = 0, drv = 0;
    char runtime[16], driver[16];
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv); /* succeeds with 0 when no driver is installed */
    format_version(runtime, sizeof runtime, rt);
    format_version(driver, sizeof driver, drv);
    snprintf(version_text, sizeof version_text, "runtime %s, driver %s", runtime, driver);

    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        zc_status st = map_error(e);
        if (drv > 0 && drv < rt) {
            st = ZC_ERR_VERSION_MISMATCH;
            snprintf(reason, reason_cap, "%s (%s); driver %s is older than runtime %s", cudaGetErrorString(e),
                     cudaGetErrorName(e), driver, runtime);
        } else {
            snprintf(reason, reason_cap, "%s (%s); runtime %s, driver %s", cudaGetErrorString(e),
                     cudaGetErrorName(e), runtime, driver);
        }
        cudaGetLastError();
        return host->set_error(st, "cuda", -1, __func__, "%s", reason);
    }
    if (drv > 0 && drv < rt)
        host->log(ZC_LOG_WARN, "cuda", "driver %s is older than runtime %s: running under minor version compatibility",
                  driver, runtime);
    if (count == 0) {
        *ndev = 0;
        return ZC_OK;
    }
    devs = calloc((size_t)count, sizeof *devs);
    if (!devs) {
        snprintf(reason, reason_cap, "cannot allocate the table of %d devices", count);
        return host->set_error(ZC_ERR_OUT_OF_MEMORY, "cuda", -1, __func__, "%s", reason);
    }
    ndevs = count;
    for (int i = 0; i < count; i++) {
        open_device(i, &devs[i], runtime, driver);
        host->log(ZC_LOG_INFO, "cuda", "device %d: %s (%s)%s%s", i, devs[i].info.name, devs[i].info.language_version,
                  devs[i].info.available ? "" : ", unavailable: ", devs[i].info.reason);
    }
    *ndev = count;
    return ZC_OK;
}

static const char *cuda_runtime_version(void) { return version_text; }

static zc_status cuda_device_info(int idx, zc_device_info *out)
{
    if (idx < 0 || idx >= ndevs)
        return host->set_error(ZC_ERR_NOT_FOUND, "cuda", idx, __func__, "no cuda device %d (%d devices)", idx, ndevs);
    *out = devs[idx].info;
    return ZC_OK;
}

static zc_status cuda_alloc(int idx, size_t bytes, void **handle)
{
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaMalloc(handle, bytes);
    return e == cudaSuccess ? ZC_OK : fail(e, idx, __func__, "cudaMalloc of %zu bytes", bytes);
}

static void cuda_release(int idx, void *handle)
{
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaFree(handle);
    if (e != cudaSuccess) {
        host->log(ZC_LOG_WARN, "cuda", "device %d: cudaFree: %s (%s)", idx, cudaGetErrorString(e), cudaGetErrorName(e));
        cudaGetLastError();
    }
}

/* A copy on the device's stream, waited for unless queue_only. */
static zc_status cuda_copy(int idx, void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                           const char *function, int queue_only)
{
    cudaStream_t s = devs[idx].stream;
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(dst, src, bytes, kind, s);
    if (e == cudaSuccess && !queue_only)
        e = cudaStreamSynchronize(s);
    if (e == cudaSuccess)
        return ZC_OK;
    return fail(e, idx, function, "%s copy of %zu bytes", kind == cudaMemcpyHostToDevice ? "host-to-device"
                                                                                        : "device-to-host", bytes);
}

static zc_status cuda_write(int idx, void *handle, size_t offset, const void *src, size_t bytes)
{
    return cuda_copy(idx, (char *)handle + offset, src, bytes, cudaMemcpyHostToDevice, __func__, 0);
}

static zc_status cuda_read(int idx, void *handle, size_t offset, void *dst, size_t bytes)
{
    return cuda_copy(idx, dst, (const char *)handle + offset, bytes, cudaMemcpyDeviceToHost, __func__, 0);
}

static zc_status cuda_write_async(int idx, void *handle, size_t offset, const void *src, size_t bytes)
{
    return cuda_copy(idx, (char *)handle + offset, src, bytes, cudaMemcpyHostToDevice, __func__, 1);
}

static zc_status cuda_read_async(int idx, void *handle, size_t offset, void *dst, size_t bytes)
{
    return cuda_copy(idx, dst, (const char *)handle + offset, bytes, cudaMemcpyDeviceToHost, __func__, 1);
}

/* Launches on the device's stream and waits unless queue_only (errors of
 * the kernel itself then surface at the next synchronisation). */
static zc_status launch_on_stream(int idx, const char *name, size_t global, const zc_karg *args, int nargs,
                                  int queue_only)
{
    const struct zc_cuda_kernel *k = zc_cuda_kernels;
    while (k->name && strcmp(k->name, name) != 0)
        k++;
    if (!k->name)
        return host->set_error(ZC_ERR_NOT_FOUND, "cuda", idx, __func__, "no cuda kernel named '%s'", name);
    if (nargs > MAX_ARGS)
        return host->set_error(ZC_ERR_INVALID_ARGUMENT, "cuda", idx, __func__, "%s: %d arguments, at most %d",
                               name, nargs, MAX_ARGS);
    size_t blocks = (global + BLOCK_SIZE - 1) / BLOCK_SIZE;
    if (blocks > INT32_MAX)
        return host->set_error(ZC_ERR_OUT_OF_RANGE, "cuda", idx, __func__, "%s: %zu work items exceed the grid limit",
                               name, global);

    /* cudaLaunchKernel takes a pointer to each argument's value. */
    union {
        void *ptr;
        uint32_t u32;
        uint64_t u64;
        int64_t i64;
        double f64;
    } vals[MAX_ARGS];
    void *argv[MAX_ARGS];
    for (int i = 0; i < nargs; i++) {
        switch (args[i].kind) {
        case ZC_KARG_BUF: vals[i].ptr = ((struct zc_devbuf *)args[i].v.buf)->handle; break;
        case ZC_KARG_U32: vals[i].u32 = args[i].v.u32; break;
        case ZC_KARG_U64: vals[i].u64 = args[i].v.u64; break;
        case ZC_KARG_I64: vals[i].i64 = args[i].v.i64; break;
        case ZC_KARG_F64: vals[i].f64 = args[i].v.f64; break;
        default:
            return host->set_error(ZC_ERR_INVALID_ARGUMENT, "cuda", idx, __func__, "%s: argument %d has unknown kind %d",
                                   name, i, (int)args[i].kind);
        }
        argv[i] = &vals[i];
    }

    dim3 grid = {(unsigned)blocks, 1, 1};
    dim3 block = {BLOCK_SIZE, 1, 1};
    cudaStream_t s = devs[idx].stream;
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaLaunchKernel(k->fn, grid, block, argv, 0, s);
    if (e == cudaSuccess)
        e = cudaGetLastError();
    if (e == cudaSuccess && !queue_only)
        e = cudaStreamSynchronize(s);
    return e == cudaSuccess ? ZC_OK : fail(e, idx, __func__, "kernel %s over %zu work items", name, global);
}

static zc_status cuda_launch(int idx, const char *name, size_t global, const zc_karg *args, int nargs)
{
    return launch_on_stream(idx, name, global, args, nargs, 0);
}

static zc_status cuda_launch_async(int idx, const char *name, size_t global, const zc_karg *args, int nargs)
{
    return launch_on_stream(idx, name, global, args, nargs, 1);
}

/* ---- fences and page-locked staging ---- */

static zc_status cuda_fence_record(int idx, void **fence)
{
    cudaEvent_t ev = NULL;
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
    if (e == cudaSuccess && (e = cudaEventRecord(ev, devs[idx].stream)) != cudaSuccess)
        cudaEventDestroy(ev);
    if (e != cudaSuccess)
        return fail(e, idx, __func__, "cudaEventRecord");
    *fence = ev;
    return ZC_OK;
}

static zc_status cuda_fence_wait(int idx, void *fence)
{
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaEventSynchronize((cudaEvent_t)fence);
    return e == cudaSuccess ? ZC_OK : fail(e, idx, __func__, "cudaEventSynchronize");
}

static void cuda_fence_release(int idx, void *fence)
{
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaEventDestroy((cudaEvent_t)fence);
    if (e != cudaSuccess) {
        host->log(ZC_LOG_WARN, "cuda", "device %d: cudaEventDestroy: %s (%s)", idx, cudaGetErrorString(e),
                  cudaGetErrorName(e));
        cudaGetLastError();
    }
}

static zc_status cuda_host_alloc(int idx, size_t bytes, void **ptr)
{
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaHostAlloc(ptr, bytes, cudaHostAllocPortable);
    return e == cudaSuccess ? ZC_OK : fail(e, idx, __func__, "cudaHostAlloc of %zu bytes", bytes);
}

static void cuda_host_free(int idx, void *ptr)
{
    cudaError_t e = cudaFreeHost(ptr);
    if (e != cudaSuccess) {
        host->log(ZC_LOG_WARN, "cuda", "device %d: cudaFreeHost: %s (%s)", idx, cudaGetErrorString(e),
                  cudaGetErrorName(e));
        cudaGetLastError();
    }
}

/* ---- memory kinds ---- */

static zc_status cuda_alloc_kind(int idx, int kind, size_t bytes, void **handle, void **addr)
{
    void *p = NULL, *dptr = NULL;
    cudaError_t e = cudaSetDevice(idx);
    switch (kind) {
    case ZC_MEM_DEVICE:
        if (e == cudaSuccess)
            e = cudaMalloc(&p, bytes);
        if (e != cudaSuccess)
            return fail(e, idx, __func__, "cudaMalloc of %zu bytes", bytes);
        *handle = *addr = p;
        return ZC_OK;
    case ZC_MEM_PINNED:
        /* Mapped: kernels reach it through its device pointer, no copies. */
        if (e == cudaSuccess)
            e = cudaHostAlloc(&p, bytes, cudaHostAllocMapped | cudaHostAllocPortable);
        if (e == cudaSuccess && (e = cudaHostGetDevicePointer(&dptr, p, 0)) != cudaSuccess)
            cudaFreeHost(p);
        if (e != cudaSuccess)
            return fail(e, idx, __func__, "cudaHostAlloc (mapped) of %zu bytes", bytes);
        *handle = dptr;
        *addr = p;
        return ZC_OK;
    case ZC_MEM_UNIFIED:
        if (e == cudaSuccess)
            e = cudaMallocManaged(&p, bytes, cudaMemAttachGlobal);
        if (e != cudaSuccess)
            return fail(e, idx, __func__, "cudaMallocManaged of %zu bytes", bytes);
        *handle = *addr = p;
        return ZC_OK;
    default:
        /* Pageable host memory is the caller's: the device reaches it by copies. */
        return host->set_error(ZC_ERR_UNSUPPORTED, "cuda", idx, __func__, "no cuda allocation of memory kind %d",
                               kind);
    }
}

static void cuda_release_kind(int idx, int kind, void *handle, void *addr)
{
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = kind == ZC_MEM_PINNED ? cudaFreeHost(addr) : cudaFree(handle);
    if (e != cudaSuccess) {
        host->log(ZC_LOG_WARN, "cuda", "device %d: freeing %s memory: %s (%s)", idx,
                  kind == ZC_MEM_PINNED ? "pinned" : "device", cudaGetErrorString(e), cudaGetErrorName(e));
        cudaGetLastError();
    }
}

static zc_status cuda_sync(int idx)
{
    cudaError_t e = cudaSetDevice(idx);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(devs[idx].stream);
    return e == cudaSuccess ? ZC_OK : fail(e, idx, __func__, "cudaStreamSynchronize");
}

/* Pinned and managed memory are host addresses already: mapping waits for
 * the kernels that may be writing them. */
static zc_status cuda_map(int idx, int kind, void *handle, void *addr, size_t bytes, unsigned flags, void **host_ptr)
{
    (void)handle;
    (void)bytes;
    (void)flags;
    if (kind == ZC_MEM_DEVICE)
        return host->set_error(ZC_ERR_UNSUPPORTED, "cuda", idx, __func__,
                               "device memory is not mapped: it is copied explicitly");
    zc_status st = cuda_sync(idx);
    if (st == ZC_OK)
        *host_ptr = addr;
    return st;
}

static zc_status cuda_unmap(int idx, int kind, void *handle, void *host_ptr)
{
    (void)idx;
    (void)kind;
    (void)handle;
    (void)host_ptr;
    return ZC_OK; /* host writes to mapped and managed memory reach later kernels as they are */
}

static void copy_program_log(nvrtcProgram prog, char *log, size_t log_cap)
{
    size_t n = 0;
    if (nvrtcGetProgramLogSize(prog, &n) != NVRTC_SUCCESS || n == 0)
        return;
    char *text = malloc(n);
    if (text && nvrtcGetProgramLog(prog, text) == NVRTC_SUCCESS) {
        snprintf(log, log_cap, "%s", text);
        /* The trailing newline would end up inside the error message. */
        size_t len = strlen(log);
        while (len && log[len - 1] == '\n')
            log[--len] = '\0';
    }
    free(text);
}

static zc_status cuda_compile(const char *source, const char *arch, void **out, size_t *out_bytes, char *log,
                              size_t log_cap)
{
    char own_log[1024]; /* the error message quotes the log even when the caller wants none */
    if (!log || log_cap == 0) {
        log = own_log;
        log_cap = sizeof own_log;
    }
    log[0] = '\0';
    const char *target = arch && *arch ? arch : "sm_80";
    char arch_opt[64];
    snprintf(arch_opt, sizeof arch_opt, "--gpu-architecture=%s", target);
    const char *opts[] = {arch_opt, "-std=c++17"};

    nvrtcProgram prog;
    nvrtcResult r = nvrtcCreateProgram(&prog, source, "zkclob.cu", 0, NULL, NULL);
    if (r != NVRTC_SUCCESS)
        return host->set_error(r == NVRTC_ERROR_OUT_OF_MEMORY ? ZC_ERR_OUT_OF_MEMORY : ZC_ERR_COMPILE, "cuda", -1,
                               __func__, "nvrtcCreateProgram: %s", nvrtcGetErrorString(r));
    r = nvrtcCompileProgram(prog, 2, opts);
    copy_program_log(prog, log, log_cap);
    zc_status st = ZC_OK;
    if (r != NVRTC_SUCCESS) {
        zc_status code = r == NVRTC_ERROR_INVALID_OPTION  ? ZC_ERR_INVALID_ARGUMENT
                         : r == NVRTC_ERROR_OUT_OF_MEMORY ? ZC_ERR_OUT_OF_MEMORY
                                                          : ZC_ERR_COMPILE;
        st = host->set_error(code, "cuda", -1, __func__, "NVRTC for %s: %s: %s", target, nvrtcGetErrorString(r),
                             log[0] ? log : "no log");
        nvrtcDestroyProgram(&prog);
        return st;
    }

    size_t size = 0;
    r = nvrtcGetCUBINSize(prog, &size);
    if (r != NVRTC_SUCCESS || size == 0) {
        nvrtcDestroyProgram(&prog);
        return host->set_error(ZC_ERR_INVALID_ARGUMENT, "cuda", -1, __func__,
                               "%s gives no CUBIN (%s): name a real architecture such as sm_80", target,
                               r != NVRTC_SUCCESS ? nvrtcGetErrorString(r) : "virtual architecture");
    }
    char *bin = malloc(size);
    if (!bin)
        st = host->set_error(ZC_ERR_OUT_OF_MEMORY, "cuda", -1, __func__, "CUBIN of %zu bytes", size);
    else if ((r = nvrtcGetCUBIN(prog, bin)) != NVRTC_SUCCESS)
        st = host->set_error(ZC_ERR_COMPILE, "cuda", -1, __func__, "nvrtcGetCUBIN: %s", nvrtcGetErrorString(r));
    nvrtcDestroyProgram(&prog);
    if (st != ZC_OK) {
        free(bin);
        return st;
    }
    *out = bin;
    *out_bytes = size;
    return ZC_OK;
}

/* cuFFT double complex transforms on the device's stream, unnormalised. */
static zc_status cuda_fft(int idx, void *handle, size_t n, size_t batch, int inverse)
{
    if (n > INT32_MAX || batch > INT32_MAX)
        return host->set_error(ZC_ERR_INVALID_ARGUMENT, "cuda", idx, __func__, "cuFFT takes int sizes: %zu x %zu",
                               batch, n);
    cudaError_t e = cudaSetDevice(idx);
    if (e != cudaSuccess)
        return fail(e, idx, __func__, "cudaSetDevice");
    cufftHandle plan;
    int len = (int)n;
    const char *call = "cufftPlanMany";
    cufftResult r = cufftPlanMany(&plan, 1, &len, NULL, 1, len, NULL, 1, len, CUFFT_Z2Z, (int)batch);
    int have_plan = r == CUFFT_SUCCESS;
    if (r == CUFFT_SUCCESS && (r = cufftSetStream(plan, devs[idx].stream)) != CUFFT_SUCCESS)
        call = "cufftSetStream";
    if (r == CUFFT_SUCCESS && (r = cufftExecZ2Z(plan, (cufftDoubleComplex *)handle, (cufftDoubleComplex *)handle,
                                                inverse ? CUFFT_INVERSE : CUFFT_FORWARD)) != CUFFT_SUCCESS)
        call = "cufftExecZ2Z";
    if (r == CUFFT_SUCCESS)
        e = cudaStreamSynchronize(devs[idx].stream);
    if (have_plan)
        cufftDestroy(plan);
    if (r != CUFFT_SUCCESS)
        return host->set_error(r == CUFFT_ALLOC_FAILED ? ZC_ERR_DEVICE_OUT_OF_MEMORY : ZC_ERR_BACKEND, "cuda", idx,
                               __func__, "%s failed: cufftResult %d (%zu x %zu)", call, (int)r, batch, n);
    return e == cudaSuccess ? ZC_OK : fail(e, idx, __func__, "cudaStreamSynchronize after cuFFT");
}

static const zc_backend_ops cuda_ops = {
    .abi_version = ZC_BACKEND_ABI_VERSION,
    .name = "cuda",
    .init = cuda_init,
    .shutdown = cuda_shutdown,
    .runtime_version = cuda_runtime_version,
    .device_info = cuda_device_info,
    .alloc = cuda_alloc,
    .release = cuda_release,
    .write = cuda_write,
    .read = cuda_read,
    .host_ptr = NULL,
    .launch = cuda_launch,
    .compile = cuda_compile,
    .alloc_kind = cuda_alloc_kind,
    .release_kind = cuda_release_kind,
    .map = cuda_map,
    .unmap = cuda_unmap,
    .sync = cuda_sync,
    .fft = cuda_fft,
    .write_async = cuda_write_async,
    .read_async = cuda_read_async,
    .launch_async = cuda_launch_async,
    .fence_record = cuda_fence_record,
    .fence_wait = cuda_fence_wait,
    .fence_release = cuda_fence_release,
    .host_alloc = cuda_host_alloc,
    .host_free = cuda_host_free,
};

__attribute__((visibility("default"))) const zc_backend_ops *zc_backend_entry(void) { return &cuda_ops; }
