/* The OpenCL backend plugin: every device of every platform, one context and
 * in-order queue per device, kernels built lazily from the embedded sources.
 * It never links libzkclob; errors and logs go through the host table. */
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CL/cl.h>
#include <CL/cl_ext.h>

#include "../backend.h"
#include "zkclob/mem.h"

#ifdef ZC_HAVE_CLFFT
#include <clFFT.h>
#endif

/* Generated from the kernels/opencl .cl files with includes inlined;
 * NULL-terminated. */
extern const char *const zc_cl_sources[];
extern const char *const zc_cl_names[];

#define BUILD_OPTIONS "-cl-std=CL1.2"
/* CL_DEVICE_SVM_CAPABILITIES is hidden by CL_TARGET_OPENCL_VERSION=120. */
#define OCL_DEVICE_SVM_CAPABILITIES 0x1053
/* Build log characters quoted in an error message (the host caps messages). */
#define LOG_EXCERPT 300

typedef struct ocl_kernel {
    char *name;
    cl_kernel kernel;
    cl_uint nargs;
    size_t group; /* reqd_work_group_size, 0 when the kernel has none */
} ocl_kernel;

typedef struct ocl_dev {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    char reason[ZC_TEXT_MAX]; /* why the device cannot be used; "" when it can */
    pthread_mutex_t lock;     /* program build, and kernel arguments through clFinish */
    cl_program *programs;     /* one slot per embedded source, NULL until built */
    int nprograms;
    ocl_kernel *kernels;
    int nkernels;
    cl_bitfield svm; /* SVM buffer capabilities usable here; 0 when none */
} ocl_dev;

static const zc_host_api *host;
static ocl_dev *devs;
static int ndevs;
static char runtime_text[ZC_NAME_MAX];

static const char *cl_error_name(cl_int code)
{
#define E(c) {c, #c}
    static const struct { cl_int code; const char *name; } names[] = {
        E(CL_SUCCESS),
        E(CL_DEVICE_NOT_FOUND),
        E(CL_DEVICE_NOT_AVAILABLE),
        E(CL_COMPILER_NOT_AVAILABLE),
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE),
        E(CL_OUT_OF_RESOURCES),
        E(CL_OUT_OF_HOST_MEMORY),
        E(CL_PROFILING_INFO_NOT_AVAILABLE),
        E(CL_MEM_COPY_OVERLAP),
        E(CL_IMAGE_FORMAT_MISMATCH),
        E(CL_IMAGE_FORMAT_NOT_SUPPORTED),
        E(CL_BUILD_PROGRAM_FAILURE),
        E(CL_MAP_FAILURE),
        E(CL_MISALIGNED_SUB_BUFFER_OFFSET),
        E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST),
        E(CL_COMPILE_PROGRAM_FAILURE),
        E(CL_LINKER_NOT_AVAILABLE),
        E(CL_LINK_PROGRAM_FAILURE),
        E(CL_DEVICE_PARTITION_FAILED),
        E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE),
        E(CL_INVALID_VALUE),
        E(CL_INVALID_DEVICE_TYPE),
        E(CL_INVALID_PLATFORM),
        E(CL_INVALID_DEVICE),
        E(CL_INVALID_CONTEXT),
        E(CL_INVALID_QUEUE_PROPERTIES),
        E(CL_INVALID_COMMAND_QUEUE),
        E(CL_INVALID_HOST_PTR),
        E(CL_INVALID_MEM_OBJECT),
        E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR),
        E(CL_INVALID_IMAGE_SIZE),
        E(CL_INVALID_SAMPLER),
        E(CL_INVALID_BINARY),
        E(CL_INVALID_BUILD_OPTIONS),
        E(CL_INVALID_PROGRAM),
        E(CL_INVALID_PROGRAM_EXECUTABLE),
        E(CL_INVALID_KERNEL_NAME),
        E(CL_INVALID_KERNEL_DEFINITION),
        E(CL_INVALID_KERNEL),
        E(CL_INVALID_ARG_INDEX),
        E(CL_INVALID_ARG_VALUE),
        E(CL_INVALID_ARG_SIZE),
        E(CL_INVALID_KERNEL_ARGS),
        E(CL_INVALID_WORK_DIMENSION),
        E(CL_INVALID_WORK_GROUP_SIZE),
        E(CL_INVALID_WORK_ITEM_SIZE),
        E(CL_INVALID_GLOBAL_OFFSET),
        E(CL_INVALID_EVENT_WAIT_LIST),
        E(CL_INVALID_EVENT),
        E(CL_INVALID_OPERATION),
        E(CL_INVALID_GL_OBJECT),
        E(CL_INVALID_BUFFER_SIZE),
        E(CL_INVALID_MIP_LEVEL),
        E(CL_INVALID_GLOBAL_WORK_SIZE),
        E(CL_INVALID_PROPERTY),
        E(CL_INVALID_IMAGE_DESCRIPTOR),
        E(CL_INVALID_COMPILER_OPTIONS),
        E(CL_INVALID_LINKER_OPTIONS),
        E(CL_INVALID_DEVICE_PARTITION_COUNT),
        E(CL_PLATFORM_NOT_FOUND_KHR),
    };
#undef E
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == code)
            return names[i].name;
    return "CL_UNKNOWN_ERROR";
}

static zc_status map_error(cl_int code)
{
    switch (code) {
    case CL_OUT_OF_RESOURCES:
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
        return ZC_ERR_DEVICE_OUT_OF_MEMORY;
    case CL_OUT_OF_HOST_MEMORY:
        return ZC_ERR_OUT_OF_MEMORY;
    case CL_DEVICE_NOT_AVAILABLE:
    case CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST:
        return ZC_ERR_DEVICE_LOST;
    case CL_BUILD_PROGRAM_FAILURE:
    case CL_COMPILE_PROGRAM_FAILURE:
    case CL_LINK_PROGRAM_FAILURE:
        return ZC_ERR_COMPILE;
    default:
        return ZC_ERR_BACKEND;
    }
}

/* Records "<call> failed: CL_NAME (code)[: detail]" for an OpenCL error. */
static zc_status cl_fail(cl_int code, int idx, const char *function, const char *call, const char *fmt, ...)
    ZC_PRINTF(5, 6);

static zc_status cl_fail(cl_int code, int idx, const char *function, const char *call, const char *fmt, ...)
{
    char detail[ZC_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return host->set_error(map_error(code), "opencl", idx, function, "%s failed: %s (%d)%s%s", call,
                           cl_error_name(code), code, detail[0] ? ": " : "", detail);
}

#define CL_FAIL(code, idx, call, ...) cl_fail((code), (idx), __func__, (call), __VA_ARGS__)

/* ---- queries ---- */

/* Copies a string property of a device (or, with dev NULL, of a platform)
 * into out without trailing blanks, truncated; "" when the query fails.
 * Returns the untruncated length. */
static size_t info_text(cl_platform_id plat, cl_device_id dev, cl_uint param, char *out, size_t cap)
{
    size_t need = 0;
    out[0] = '\0';
    cl_int err = dev ? clGetDeviceInfo(dev, param, 0, NULL, &need) : clGetPlatformInfo(plat, param, 0, NULL, &need);
    if (err != CL_SUCCESS || need == 0)
        return 0;
    char *tmp = malloc(need);
    if (!tmp)
        return 0;
    err = dev ? clGetDeviceInfo(dev, param, need, tmp, NULL) : clGetPlatformInfo(plat, param, need, tmp, NULL);
    size_t len = 0;
    if (err == CL_SUCCESS) {
        tmp[need - 1] = '\0';
        for (len = strlen(tmp); len > 0 && (tmp[len - 1] == ' ' || tmp[len - 1] == '\n'); len--)
            tmp[len - 1] = '\0';
        snprintf(out, cap, "%s", tmp);
    }
    free(tmp);
    return len;
}

/* Appends formatted text to dst, truncating at cap. */
static void text_append(char *dst, size_t cap, const char *fmt, ...) ZC_PRINTF(3, 4);

static void text_append(char *dst, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(dst);
    if (used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + used, cap - used, fmt, ap);
    va_end(ap);
}

/* A fixed-size device property; zeroed when the query fails (e.g. a 2.0
 * property on a 1.2 device). */
static void dev_query(cl_device_id dev, cl_device_info param, void *out, size_t size)
{
    if (clGetDeviceInfo(dev, param, size, out, NULL) != CL_SUCCESS)
        memset(out, 0, size);
}

/* Major version from "OpenCL <major>.<minor> ...", 0 when unparsable. */
static int opencl_major(const char *version)
{
    int major = 0, minor = 0;
    return sscanf(version, "OpenCL %d.%d", &major, &minor) == 2 ? major : 0;
}

/* The first `words` blank-separated words of s (vendor version strings can
 * carry long build descriptions). */
static void first_words(char *s, int words)
{
    for (char *p = s; *p; p++) {
        if (*p == ' ' && --words == 0) {
            *p = '\0';
            return;
        }
    }
}

static cl_int get_platforms(cl_platform_id **out, cl_uint *n)
{
    *out = NULL;
    *n = 0;
    cl_int err = clGetPlatformIDs(0, NULL, n);
    if (err == CL_SUCCESS && *n == 0)
        err = CL_PLATFORM_NOT_FOUND_KHR;
    if (err != CL_SUCCESS)
        return err;
    *out = malloc(*n * sizeof **out);
    if (!*out)
        return CL_OUT_OF_HOST_MEMORY;
    err = clGetPlatformIDs(*n, *out, NULL);
    if (err != CL_SUCCESS) {
        free(*out);
        *out = NULL;
    }
    return err;
}

/* ---- init and shutdown ---- */

static void release_kernels(ocl_dev *d)
{
    for (int i = 0; i < d->nkernels; i++) {
        clReleaseKernel(d->kernels[i].kernel);
        free(d->kernels[i].name);
    }
    free(d->kernels);
    d->kernels = NULL;
    d->nkernels = 0;
    for (int i = 0; i < d->nprograms; i++)
        if (d->programs[i])
            clReleaseProgram(d->programs[i]);
    free(d->programs);
    d->programs = NULL;
    d->nprograms = 0;
}

#ifdef ZC_HAVE_CLFFT
static void clfft_teardown(void);
#endif

static void ocl_shutdown(void)
{
#ifdef ZC_HAVE_CLFFT
    clfft_teardown();
#endif
    for (int i = 0; i < ndevs; i++) {
        ocl_dev *d = &devs[i];
        release_kernels(d);
        if (d->queue)
            clReleaseCommandQueue(d->queue);
        if (d->context)
            clReleaseContext(d->context);
        pthread_mutex_destroy(&d->lock);
    }
    free(devs);
    devs = NULL;
    ndevs = 0;
    runtime_text[0] = '\0';
}

/* ---- shared virtual memory (OpenCL 2.0) ----
 * The SVM entry points are hidden by CL_TARGET_OPENCL_VERSION=120 and absent
 * from old ICD loaders, so they are looked up in the loaded loader. */
#define OCL_MEM_SVM_FINE_GRAIN_BUFFER ((cl_bitfield)1 << 10)
#define OCL_DEVICE_SVM_COARSE_GRAIN_BUFFER ((cl_bitfield)1 << 0)
#define OCL_DEVICE_SVM_FINE_GRAIN_BUFFER ((cl_bitfield)1 << 1)

typedef void *(*svm_alloc_fn)(cl_context, cl_bitfield, size_t, cl_uint);
typedef void (*svm_free_fn)(cl_context, void *);
typedef cl_int (*svm_map_fn)(cl_command_queue, cl_bool, cl_map_flags, void *, size_t, cl_uint, const cl_event *,
                             cl_event *);
typedef cl_int (*svm_unmap_fn)(cl_command_queue, void *, cl_uint, const cl_event *, cl_event *);

static struct {
    pthread_once_t once;
    svm_alloc_fn alloc;
    svm_free_fn free;
    svm_map_fn map;
    svm_unmap_fn unmap;
} svm_api = {PTHREAD_ONCE_INIT, NULL, NULL, NULL, NULL};

static void svm_lookup(void)
{
    /* RTLD_NEXT searches this plugin's dependencies, the loader among them. */
    svm_api.alloc = (svm_alloc_fn)dlsym(RTLD_NEXT, "clSVMAlloc");
    svm_api.free = (svm_free_fn)dlsym(RTLD_NEXT, "clSVMFree");
    svm_api.map = (svm_map_fn)dlsym(RTLD_NEXT, "clEnqueueSVMMap");
    svm_api.unmap = (svm_unmap_fn)dlsym(RTLD_NEXT, "clEnqueueSVMUnmap");
    if (!svm_api.alloc || !svm_api.free || !svm_api.map || !svm_api.unmap)
        svm_api.alloc = NULL;
}

/* Buffer SVM the device supports, on a 2.0+ platform with a loader that has the entry points. */
static cl_bitfield usable_svm(const ocl_dev *d)
{
    char version[ZC_NAME_MAX];
    info_text(d->platform, NULL, CL_PLATFORM_VERSION, version, sizeof version);
    if (opencl_major(version) < 2)
        return 0;
    pthread_once(&svm_api.once, svm_lookup);
    cl_bitfield caps;
    dev_query(d->device, OCL_DEVICE_SVM_CAPABILITIES, &caps, sizeof caps);
    return svm_api.alloc ? caps & (OCL_DEVICE_SVM_COARSE_GRAIN_BUFFER | OCL_DEVICE_SVM_FINE_GRAIN_BUFFER) : 0;
}

/* Context and queue for one device; a failure leaves the device listed as
 * unavailable with the reason rather than failing the whole backend. */
static void open_device(int idx)
{
    ocl_dev *d = &devs[idx];
    cl_bool available = CL_FALSE, compiler = CL_FALSE;
    dev_query(d->device, CL_DEVICE_AVAILABLE, &available, sizeof available);
    dev_query(d->device, CL_DEVICE_COMPILER_AVAILABLE, &compiler, sizeof compiler);
    if (!available) {
        snprintf(d->reason, sizeof d->reason, "device reports CL_DEVICE_AVAILABLE = false");
        return;
    }
    if (!compiler) {
        /* Every kernel is built from source at run time. */
        snprintf(d->reason, sizeof d->reason, "device has no OpenCL C compiler");
        return;
    }
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0};
    cl_int err;
    d->context = clCreateContext(props, 1, &d->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        d->context = NULL;
        snprintf(d->reason, sizeof d->reason, "clCreateContext failed: %s (%d)", cl_error_name(err), err);
        return;
    }
    d->queue = clCreateCommandQueue(d->context, d->device, 0, &err);
    if (err != CL_SUCCESS) {
        d->queue = NULL;
        snprintf(d->reason, sizeof d->reason, "clCreateCommandQueue failed: %s (%d)", cl_error_name(err), err);
        return;
    }
    d->svm = usable_svm(d);
}

static zc_status ocl_init(const zc_host_api *h, int *ndev, char *reason, size_t reason_cap)
{
    host = h;
    *ndev = 0;
    cl_platform_id *plats;
    cl_uint nplat;
    cl_int err = get_platforms(&plats, &nplat);
    if (err == CL_PLATFORM_NOT_FOUND_KHR) {
        snprintf(runtime_text, sizeof runtime_text, "OpenCL ICD, no platforms");
        snprintf(reason, reason_cap, "no OpenCL platform found (clGetPlatformIDs: %s (%d))", cl_error_name(err), err);
        return ZC_OK;
    }
    if (err != CL_SUCCESS) {
        snprintf(reason, reason_cap, "clGetPlatformIDs failed: %s (%d)", cl_error_name(err), err);
        return CL_FAIL(err, -1, "clGetPlatformIDs", "cannot list OpenCL platforms");
    }

    /* Count first so the device table is allocated once. */
    cl_uint total = 0;
    cl_int last_err = CL_DEVICE_NOT_FOUND;
    snprintf(runtime_text, sizeof runtime_text, "OpenCL ICD, platforms:");
    for (cl_uint p = 0; p < nplat; p++) {
        char name[ZC_NAME_MAX], version[ZC_NAME_MAX];
        info_text(plats[p], NULL, CL_PLATFORM_NAME, name, sizeof name);
        info_text(plats[p], NULL, CL_PLATFORM_VERSION, version, sizeof version);
        first_words(version, 4);
        text_append(runtime_text, sizeof runtime_text, "%s %s %s", p ? ";" : "", name, version);
        cl_uint n = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n);
        if (err == CL_SUCCESS)
            total += n;
        else
            last_err = err;
    }
    if (total == 0) {
        snprintf(reason, reason_cap, "%u OpenCL platform(s) but no devices (clGetDeviceIDs: %s (%d))", nplat,
                 cl_error_name(last_err), last_err);
        free(plats);
        return ZC_OK;
    }
    devs = calloc(total, sizeof *devs);
    if (!devs) {
        free(plats);
        snprintf(reason, reason_cap, "out of host memory");
        return host->set_error(ZC_ERR_OUT_OF_MEMORY, "opencl", -1, __func__, "device table for %u devices", total);
    }
    for (cl_uint p = 0; p < nplat && (cl_uint)ndevs < total; p++) {
        cl_uint n = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n) != CL_SUCCESS || n == 0)
            continue;
        if (n > total - (cl_uint)ndevs)
            n = total - (cl_uint)ndevs; /* a platform gained devices since counting */
        cl_device_id ids[n];
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, n, ids, NULL) != CL_SUCCESS)
            continue;
        for (cl_uint i = 0; i < n; i++) {
            ocl_dev *d = &devs[ndevs];
            d->platform = plats[p];
            d->device = ids[i];
            pthread_mutex_init(&d->lock, NULL);
            ndevs++;
            open_device(ndevs - 1);
            if (d->reason[0])
                host->log(ZC_LOG_WARN, "opencl", "device %d unusable: %s", ndevs - 1, d->reason);
        }
    }
    free(plats);
    *ndev = ndevs;
    host->log(ZC_LOG_INFO, "opencl", "%d devices (%s)", ndevs, runtime_text);
    return ZC_OK;
}

static const char *ocl_runtime_version(void) { return runtime_text; }

static zc_status ocl_device_info(int idx, zc_device_info *out)
{
    const ocl_dev *d = &devs[idx];
    cl_device_id dev = d->device;
    memset(out, 0, sizeof *out);
    info_text(NULL, dev, CL_DEVICE_NAME, out->name, sizeof out->name);
    info_text(NULL, dev, CL_DEVICE_VENDOR, out->vendor, sizeof out->vendor);
    info_text(NULL, dev, CL_DRIVER_VERSION, out->driver_version, sizeof out->driver_version);
    info_text(NULL, dev, CL_DEVICE_VERSION, out->runtime_version, sizeof out->runtime_version);
    info_text(NULL, dev, CL_DEVICE_OPENCL_C_VERSION, out->language_version, sizeof out->language_version);

    char pname[ZC_NAME_MAX], pversion[ZC_NAME_MAX];
    info_text(d->platform, NULL, CL_PLATFORM_NAME, pname, sizeof pname);
    info_text(d->platform, NULL, CL_PLATFORM_VERSION, pversion, sizeof pversion);
    text_append(out->platform, sizeof out->platform, "%s %s", pname, pversion);

    /* Cut a truncated extension list at a word boundary. */
    if (info_text(NULL, dev, CL_DEVICE_EXTENSIONS, out->extensions, sizeof out->extensions) >=
        sizeof out->extensions) {
        char *space = strrchr(out->extensions, ' ');
        if (space)
            *space = '\0';
    }

    cl_uint units;
    cl_ulong global_mem, local_mem, const_mem;
    size_t wg;
    dev_query(dev, CL_DEVICE_MAX_COMPUTE_UNITS, &units, sizeof units);
    dev_query(dev, CL_DEVICE_GLOBAL_MEM_SIZE, &global_mem, sizeof global_mem);
    dev_query(dev, CL_DEVICE_LOCAL_MEM_SIZE, &local_mem, sizeof local_mem);
    dev_query(dev, CL_DEVICE_MAX_CONSTANT_BUFFER_SIZE, &const_mem, sizeof const_mem);
    dev_query(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, &wg, sizeof wg);
    out->compute_units = units;
    out->global_mem_bytes = global_mem;
    out->local_mem_bytes = local_mem;
    out->constant_mem_bytes = const_mem;
    out->max_work_group_size = wg;

    cl_device_fp_config fp64;
    cl_bool unified;
    cl_device_type type;
    dev_query(dev, CL_DEVICE_DOUBLE_FP_CONFIG, &fp64, sizeof fp64);
    dev_query(dev, CL_DEVICE_HOST_UNIFIED_MEMORY, &unified, sizeof unified);
    dev_query(dev, CL_DEVICE_TYPE, &type, sizeof type);
    if (fp64 || strstr(out->extensions, "cl_khr_fp64"))
        out->caps |= ZC_CAP_FP64;
    if (strstr(out->extensions, "cl_khr_int64_base_atomics"))
        out->caps |= ZC_CAP_INT64_ATOMICS;
    if (unified)
        out->caps |= ZC_CAP_UNIFIED_MEMORY;
    if (type & CL_DEVICE_TYPE_GPU)
        out->caps |= ZC_CAP_GPU;
    if (opencl_major(pversion) >= 2) {
        cl_bitfield svm;
        dev_query(dev, OCL_DEVICE_SVM_CAPABILITIES, &svm, sizeof svm);
        if (svm)
            out->caps |= ZC_CAP_SVM;
    }

    out->available = d->reason[0] == '\0';
    snprintf(out->reason, sizeof out->reason, "%s", d->reason);
    return ZC_OK;
}

/* ---- buffers ---- */

static zc_status ocl_alloc(int idx, size_t bytes, void **handle)
{
    cl_int err;
    cl_mem m = clCreateBuffer(devs[idx].context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err == CL_INVALID_BUFFER_SIZE) {
        /* Over CL_DEVICE_MAX_MEM_ALLOC_SIZE: the caller can split, as for any out-of-memory. */
        cl_ulong max_alloc;
        dev_query(devs[idx].device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, &max_alloc, sizeof max_alloc);
        return host->set_error(ZC_ERR_DEVICE_OUT_OF_MEMORY, "opencl", idx, __func__,
                               "clCreateBuffer failed: %s (%d): %zu bytes, device allows at most %llu per buffer",
                               cl_error_name(err), err, bytes, (unsigned long long)max_alloc);
    }
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clCreateBuffer", "%zu bytes", bytes);
    *handle = m;
    return ZC_OK;
}

static void ocl_release(int idx, void *handle)
{
    (void)idx;
    clReleaseMemObject((cl_mem)handle);
}

static zc_status ocl_write(int idx, void *handle, size_t offset, const void *src, size_t bytes)
{
    if (bytes == 0)
        return ZC_OK; /* OpenCL rejects empty transfers */
    cl_int err = clEnqueueWriteBuffer(devs[idx].queue, (cl_mem)handle, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clEnqueueWriteBuffer", "%zu bytes at offset %zu", bytes, offset);
    return ZC_OK;
}

static zc_status ocl_read(int idx, void *handle, size_t offset, void *dst, size_t bytes)
{
    if (bytes == 0)
        return ZC_OK;
    cl_int err = clEnqueueReadBuffer(devs[idx].queue, (cl_mem)handle, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clEnqueueReadBuffer", "%zu bytes at offset %zu", bytes, offset);
    return ZC_OK;
}

/* ---- memory kinds ---- */

/* Host memory that CL_MEM_USE_HOST_PTR buffers use in place: page aligned,
 * which satisfies every device's base address alignment. */
#define HOST_PTR_ALIGN 4096

static zc_status host_ptr_buffer(int idx, size_t bytes, void **handle, void **addr)
{
    void *p = aligned_alloc(HOST_PTR_ALIGN, (bytes + HOST_PTR_ALIGN - 1) / HOST_PTR_ALIGN * HOST_PTR_ALIGN);
    if (!p)
        return host->set_error(ZC_ERR_OUT_OF_MEMORY, "opencl", idx, __func__, "%zu bytes of host memory", bytes);
    cl_int err;
    cl_mem m = clCreateBuffer(devs[idx].context, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes, p, &err);
    if (err != CL_SUCCESS) {
        free(p);
        return CL_FAIL(err, idx, "clCreateBuffer", "CL_MEM_USE_HOST_PTR over %zu bytes", bytes);
    }
    *handle = m;
    *addr = p;
    return ZC_OK;
}

/* SVM, wrapped in a CL_MEM_USE_HOST_PTR buffer (OpenCL 2.0 makes the SVM
 * allocation its storage) so that kernels take it like any cl_mem. */
static zc_status svm_buffer(int idx, size_t bytes, void **handle, void **addr)
{
    ocl_dev *d = &devs[idx];
    cl_bitfield flags = CL_MEM_READ_WRITE;
    if (d->svm & OCL_DEVICE_SVM_FINE_GRAIN_BUFFER)
        flags |= OCL_MEM_SVM_FINE_GRAIN_BUFFER; /* coherent: maps need no copy or flush */
    void *p = svm_api.alloc(d->context, flags, bytes, 0);
    if (!p)
        return host->set_error(ZC_ERR_DEVICE_OUT_OF_MEMORY, "opencl", idx, __func__,
                               "clSVMAlloc of %zu bytes returned NULL", bytes);
    cl_int err;
    cl_mem m = clCreateBuffer(d->context, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes, p, &err);
    if (err != CL_SUCCESS) {
        svm_api.free(d->context, p);
        return CL_FAIL(err, idx, "clCreateBuffer", "CL_MEM_USE_HOST_PTR over %zu bytes of SVM", bytes);
    }
    *handle = m;
    *addr = p;
    return ZC_OK;
}

static zc_status ocl_alloc_kind(int idx, int kind, size_t bytes, void **handle, void **addr)
{
    cl_int err;
    switch (kind) {
    case ZC_MEM_HOST:
        return host_ptr_buffer(idx, bytes, handle, addr);
    case ZC_MEM_PINNED:
        *handle = clCreateBuffer(devs[idx].context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, NULL, &err);
        if (err != CL_SUCCESS)
            return CL_FAIL(err, idx, "clCreateBuffer", "CL_MEM_ALLOC_HOST_PTR of %zu bytes", bytes);
        return ZC_OK;
    case ZC_MEM_DEVICE:
        return ocl_alloc(idx, bytes, handle);
    case ZC_MEM_UNIFIED:
        /* Without SVM, host memory the device uses in place is the closest. */
        return devs[idx].svm ? svm_buffer(idx, bytes, handle, addr) : host_ptr_buffer(idx, bytes, handle, addr);
    default:
        return host->set_error(ZC_ERR_INVALID_ARGUMENT, "opencl", idx, __func__, "unknown memory kind %d", kind);
    }
}

static void ocl_release_kind(int idx, int kind, void *handle, void *addr)
{
    cl_mem m = handle;
    if (kind == ZC_MEM_UNIFIED && devs[idx].svm) {
        /* The SVM belongs to the buffer's context, which may predate a re-init. */
        cl_context ctx = devs[idx].context;
        clGetMemObjectInfo(m, CL_MEM_CONTEXT, sizeof ctx, &ctx, NULL);
        clRetainContext(ctx);
        clReleaseMemObject(m);
        svm_api.free(ctx, addr);
        clReleaseContext(ctx);
        return;
    }
    clReleaseMemObject(m);
    if (kind == ZC_MEM_HOST || kind == ZC_MEM_UNIFIED)
        free(addr);
}

static zc_status ocl_map(int idx, int kind, void *handle, void *addr, size_t bytes, unsigned flags, void **host_ptr)
{
    ocl_dev *d = &devs[idx];
    cl_map_flags mf = (flags & ZC_MAP_READ ? CL_MAP_READ : 0) | (flags & ZC_MAP_WRITE ? CL_MAP_WRITE : 0);
    cl_int err;
    if (kind == ZC_MEM_DEVICE)
        return host->set_error(ZC_ERR_UNSUPPORTED, "opencl", idx, __func__,
                               "device memory is not mapped: it is copied explicitly");
    if (kind == ZC_MEM_UNIFIED && d->svm) {
        if (d->svm & OCL_DEVICE_SVM_FINE_GRAIN_BUFFER)
            err = clFinish(d->queue); /* coherent: waiting for the device is enough */
        else
            err = svm_api.map(d->queue, CL_TRUE, mf, addr, bytes, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return CL_FAIL(err, idx, "clEnqueueSVMMap", "%zu bytes", bytes);
        *host_ptr = addr;
        return ZC_OK;
    }
    void *p = clEnqueueMapBuffer(d->queue, (cl_mem)handle, CL_TRUE, mf, 0, bytes, 0, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clEnqueueMapBuffer", "%zu bytes", bytes);
    *host_ptr = p;
    return ZC_OK;
}

static zc_status ocl_unmap(int idx, int kind, void *handle, void *host_ptr)
{
    ocl_dev *d = &devs[idx];
    cl_int err = CL_SUCCESS;
    if (kind == ZC_MEM_UNIFIED && d->svm) {
        if (!(d->svm & OCL_DEVICE_SVM_FINE_GRAIN_BUFFER))
            err = svm_api.unmap(d->queue, host_ptr, 0, NULL, NULL);
    } else {
        err = clEnqueueUnmapMemObject(d->queue, (cl_mem)handle, host_ptr, 0, NULL, NULL);
    }
    if (err == CL_SUCCESS)
        err = clFinish(d->queue);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clEnqueueUnmapMemObject", "%p", host_ptr);
    return ZC_OK;
}

static zc_status ocl_sync(int idx)
{
    cl_int err = clFinish(devs[idx].queue);
    return err == CL_SUCCESS ? ZC_OK : CL_FAIL(err, idx, "clFinish", "sync");
}

/* ---- programs and kernels ---- */

/* The build log of prog for dev, malloc'd; NULL when there is none. */
static char *build_log(cl_program prog, cl_device_id dev)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return NULL;
    char *text = malloc(size);
    if (!text)
        return NULL;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, size, text, NULL) != CL_SUCCESS) {
        free(text);
        return NULL;
    }
    text[size - 1] = '\0';
    return text;
}

/* The start of a build log on one line, for an error message. */
static void log_excerpt(const char *log, char *out, size_t cap)
{
    snprintf(out, cap, "%s", log ? log : "");
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    for (size_t n = strlen(out); n > 0 && out[n - 1] == ' '; n--)
        out[n - 1] = '\0';
}

/* Builds source for one device. The full build log goes to log (if given);
 * a failure quotes its start in the error message. */
static zc_status build_program(cl_context ctx, cl_device_id dev, int idx, const char *what, const char *source,
                               const char *options, char *log, size_t log_cap, cl_program *out)
{
    cl_int err;
    cl_program prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clCreateProgramWithSource", "%s", what);
    err = clBuildProgram(prog, 1, &dev, options, NULL, NULL);
    char *text = build_log(prog, dev);
    if (log && log_cap)
        snprintf(log, log_cap, "%s", text ? text : "");
    zc_status st = ZC_OK;
    if (err != CL_SUCCESS) {
        char excerpt[LOG_EXCERPT];
        log_excerpt(text, excerpt, sizeof excerpt);
        st = CL_FAIL(err, idx, "clBuildProgram", "%s with '%s': %s", what, options, excerpt);
        clReleaseProgram(prog);
    } else {
        *out = prog;
    }
    free(text);
    return st;
}

/* A kernel's function name (malloc'd) and argument count. */
/* k's name, argument count and declared work-group size. */
static cl_int kernel_info(cl_kernel kernel, cl_device_id dev, ocl_kernel *k)
{
    size_t len = 0, group[3] = {0, 0, 0};
    cl_int err = clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, 0, NULL, &len);
    if (err != CL_SUCCESS)
        return err;
    k->name = calloc(len + 1, 1);
    if (!k->name)
        return CL_OUT_OF_HOST_MEMORY;
    err = clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, len, k->name, NULL);
    if (err == CL_SUCCESS)
        err = clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof k->nargs, &k->nargs, NULL);
    if (err == CL_SUCCESS)
        err = clGetKernelWorkGroupInfo(kernel, dev, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof group, group, NULL);
    k->group = group[0];
    if (err != CL_SUCCESS) {
        free(k->name);
        k->name = NULL;
    }
    return err;
}

/* Caches every kernel of a built program with its name and argument count. */
static zc_status add_kernels(int idx, cl_program prog)
{
    ocl_dev *d = &devs[idx];
    cl_uint n = 0;
    cl_int err = clCreateKernelsInProgram(prog, 0, NULL, &n);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clCreateKernelsInProgram", "counting kernels");
    if (n == 0)
        return ZC_OK;
    ocl_kernel *grown = realloc(d->kernels, (size_t)(d->nkernels + (int)n) * sizeof *grown);
    cl_kernel *ks = malloc(n * sizeof *ks);
    if (grown)
        d->kernels = grown;
    if (!grown || !ks) {
        free(ks);
        return host->set_error(ZC_ERR_OUT_OF_MEMORY, "opencl", idx, __func__, "kernel table");
    }
    err = clCreateKernelsInProgram(prog, n, ks, NULL);
    if (err != CL_SUCCESS) {
        free(ks);
        return CL_FAIL(err, idx, "clCreateKernelsInProgram", "%u kernels", n);
    }
    zc_status st = ZC_OK;
    for (cl_uint i = 0; i < n; i++) {
        ocl_kernel *k = &d->kernels[d->nkernels];
        k->kernel = ks[i];
        err = kernel_info(ks[i], d->device, k);
        if (err != CL_SUCCESS) {
            /* Release this kernel and those not yet in the table. */
            for (cl_uint j = i; j < n; j++)
                clReleaseKernel(ks[j]);
            st = CL_FAIL(err, idx, "clGetKernel(WorkGroup)Info", "kernel %u of a program", i);
            break;
        }
        d->nkernels++;
    }
    free(ks);
    return st;
}

/* Whether source text defines `name`: the whole word followed by '('. */
static int defines(const char *source, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(source, name); p; p = strstr(p + 1, name)) {
        int word_start = p == source || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        const char *q = p + n;
        while (*q == ' ' || *q == '\t' || *q == '\n')
            q++;
        if (word_start && *q == '(')
            return 1;
    }
    return 0;
}

/* Builds, for device idx, the embedded sources that define kernel `name` and
 * caches their kernels. Sources are built on first use only: PoCL compiles
 * each one with LLVM, and most processes need few of them. The caller holds
 * the device lock. */
static zc_status build_for(int idx, const char *name)
{
    ocl_dev *d = &devs[idx];
    if (!d->programs) {
        int nsrc = 0;
        while (zc_cl_sources[nsrc])
            nsrc++;
        d->programs = calloc(nsrc ? (size_t)nsrc : 1, sizeof *d->programs);
        if (!d->programs)
            return host->set_error(ZC_ERR_OUT_OF_MEMORY, "opencl", idx, __func__, "program table");
        d->nprograms = nsrc;
    }
    for (int i = 0; i < d->nprograms; i++) {
        if (d->programs[i] || !defines(zc_cl_sources[i], name))
            continue;
        char what[ZC_NAME_MAX];
        snprintf(what, sizeof what, "%s.cl", zc_cl_names[i]);
        zc_status st = build_program(d->context, d->device, idx, what, zc_cl_sources[i], BUILD_OPTIONS, NULL, 0,
                                     &d->programs[i]);
        if (st == ZC_OK)
            st = add_kernels(idx, d->programs[i]);
        if (st != ZC_OK) {
            release_kernels(d); /* the next launch tries again */
            return st;
        }
        host->log(ZC_LOG_DEBUG, "opencl", "device %d: built %s", idx, what);
    }
    return ZC_OK;
}

static const ocl_kernel *find_kernel(const ocl_dev *d, const char *name)
{
    for (int i = 0; i < d->nkernels; i++)
        if (strcmp(d->kernels[i].name, name) == 0)
            return &d->kernels[i];
    return NULL;
}

static zc_status set_args(int idx, const ocl_kernel *k, const zc_karg *args, int nargs)
{
    for (int i = 0; i < nargs; i++) {
        cl_int err;
        switch (args[i].kind) {
        case ZC_KARG_BUF: {
            cl_mem m = (cl_mem)args[i].v.buf->handle;
            err = clSetKernelArg(k->kernel, (cl_uint)i, sizeof m, &m);
            break;
        }
        case ZC_KARG_U32: {
            cl_uint v = args[i].v.u32;
            err = clSetKernelArg(k->kernel, (cl_uint)i, sizeof v, &v);
            break;
        }
        case ZC_KARG_U64: {
            cl_ulong v = args[i].v.u64;
            err = clSetKernelArg(k->kernel, (cl_uint)i, sizeof v, &v);
            break;
        }
        case ZC_KARG_I64: {
            cl_long v = args[i].v.i64;
            err = clSetKernelArg(k->kernel, (cl_uint)i, sizeof v, &v);
            break;
        }
        case ZC_KARG_F64: {
            cl_double v = args[i].v.f64;
            err = clSetKernelArg(k->kernel, (cl_uint)i, sizeof v, &v);
            break;
        }
        default:
            return host->set_error(ZC_ERR_INVALID_ARGUMENT, "opencl", idx, __func__,
                                   "argument %d of %s has unknown kind %d", i, k->name, (int)args[i].kind);
        }
        if (err != CL_SUCCESS)
            return CL_FAIL(err, idx, "clSetKernelArg", "argument %d of %s", i, k->name);
    }
    return ZC_OK;
}

/* Sets the arguments and queues the kernel, then waits for it unless
 * queue_only; the caller holds the device lock because cl_kernel arguments
 * are shared state (clEnqueueNDRangeKernel captures them). */
static zc_status run_kernel(int idx, const char *name, size_t global, const zc_karg *args, int nargs, int queue_only)
{
    ocl_dev *d = &devs[idx];
    const ocl_kernel *k = find_kernel(d, name);
    if (!k) {
        zc_status st = build_for(idx, name);
        if (st != ZC_OK)
            return st;
        k = find_kernel(d, name);
    }
    if (!k)
        return host->set_error(ZC_ERR_NOT_FOUND, "opencl", idx, __func__, "no OpenCL kernel named '%s'", name);
    /* Arguments left over from an earlier launch would otherwise go unnoticed. */
    if ((cl_uint)nargs != k->nargs)
        return host->set_error(ZC_ERR_INVALID_ARGUMENT, "opencl", idx, __func__, "%s takes %u arguments, got %d",
                               name, k->nargs, nargs);
    zc_status st = set_args(idx, k, args, nargs);
    if (st != ZC_OK)
        return st;
    /* A kernel written for work groups (kernels/match.h auctions) gets its
     * declared group size; global is then a whole number of groups. */
    if (k->group && global % k->group)
        return host->set_error(ZC_ERR_INVALID_ARGUMENT, "opencl", idx, __func__,
                               "%s runs in groups of %zu work items, got %zu", name, k->group, global);
    cl_int err = clEnqueueNDRangeKernel(d->queue, k->kernel, 1, NULL, &global, k->group ? &k->group : NULL, 0, NULL,
                                        NULL);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clEnqueueNDRangeKernel", "%s over %zu work items", name, global);
    if (queue_only)
        return ZC_OK;
    err = clFinish(d->queue);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clFinish", "after %s", name);
    return ZC_OK;
}

static zc_status ocl_launch(int idx, const char *name, size_t global, const zc_karg *args, int nargs)
{
    ocl_dev *d = &devs[idx];
    pthread_mutex_lock(&d->lock);
    zc_status st = run_kernel(idx, name, global, args, nargs, 0);
    pthread_mutex_unlock(&d->lock);
    return st;
}

static zc_status ocl_launch_async(int idx, const char *name, size_t global, const zc_karg *args, int nargs)
{
    ocl_dev *d = &devs[idx];
    pthread_mutex_lock(&d->lock);
    zc_status st = run_kernel(idx, name, global, args, nargs, 1);
    pthread_mutex_unlock(&d->lock);
    return st;
}

/* ---- asynchronous submission ---- */

static zc_status ocl_write_async(int idx, void *handle, size_t offset, const void *src, size_t bytes)
{
    if (bytes == 0)
        return ZC_OK;
    cl_int err = clEnqueueWriteBuffer(devs[idx].queue, (cl_mem)handle, CL_FALSE, offset, bytes, src, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clEnqueueWriteBuffer", "non-blocking, %zu bytes at offset %zu", bytes, offset);
    return ZC_OK;
}

static zc_status ocl_read_async(int idx, void *handle, size_t offset, void *dst, size_t bytes)
{
    if (bytes == 0)
        return ZC_OK;
    cl_int err = clEnqueueReadBuffer(devs[idx].queue, (cl_mem)handle, CL_FALSE, offset, bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clEnqueueReadBuffer", "non-blocking, %zu bytes at offset %zu", bytes, offset);
    return ZC_OK;
}

/* A marker event after everything queued; the flush starts the work. */
static zc_status ocl_fence_record(int idx, void **fence)
{
    cl_event ev;
    cl_int err = clEnqueueMarkerWithWaitList(devs[idx].queue, 0, NULL, &ev);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clEnqueueMarkerWithWaitList", "fence");
    err = clFlush(devs[idx].queue);
    if (err != CL_SUCCESS) {
        clReleaseEvent(ev);
        return CL_FAIL(err, idx, "clFlush", "fence");
    }
    *fence = ev;
    return ZC_OK;
}

/* Errors of the queued work: clWaitForEvents' own, or a negative execution
 * status of the marker where the runtime terminated it after a failed
 * command before it. */
static zc_status ocl_fence_wait(int idx, void *fence)
{
    cl_event ev = fence;
    cl_int err = clWaitForEvents(1, &ev);
    cl_int status = CL_COMPLETE;
    cl_int qerr = clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, "clWaitForEvents", "fence (execution status %d)", qerr == CL_SUCCESS ? status : 0);
    if (qerr != CL_SUCCESS)
        return CL_FAIL(qerr, idx, "clGetEventInfo", "fence status");
    if (status < 0)
        return CL_FAIL(status, idx, "queued work", "a command before the fence failed");
    return ZC_OK;
}

static void ocl_fence_release(int idx, void *fence)
{
    (void)idx;
    clReleaseEvent((cl_event)fence);
}

/* ---- FFT (clFFT) ---- */

#ifdef ZC_HAVE_CLFFT
/* clFFT's library state is process-wide: set up on the first transform and
 * torn down by ocl_shutdown. */
static pthread_mutex_t clfft_lock = PTHREAD_MUTEX_INITIALIZER;
static int clfft_ready;

static clfftStatus clfft_init(void)
{
    pthread_mutex_lock(&clfft_lock);
    clfftStatus s = CLFFT_SUCCESS;
    if (!clfft_ready) {
        clfftSetupData setup;
        s = clfftInitSetupData(&setup);
        if (s == CLFFT_SUCCESS)
            s = clfftSetup(&setup);
        clfft_ready = s == CLFFT_SUCCESS;
    }
    pthread_mutex_unlock(&clfft_lock);
    return s;
}

static void clfft_teardown(void)
{
    pthread_mutex_lock(&clfft_lock);
    if (clfft_ready)
        clfftTeardown();
    clfft_ready = 0;
    pthread_mutex_unlock(&clfft_lock);
}

/* One plan per call: clFFT generates and builds its kernels when baking. The
 * backward transform is left unscaled, like FFTW's and cuFFT's. */
static zc_status ocl_fft(int idx, void *handle, size_t n, size_t batch, int inverse)
{
    clfftStatus setup = clfft_init();
    if (setup != CLFFT_SUCCESS)
        return host->set_error(ZC_ERR_UNSUPPORTED, "opencl", idx, __func__, "clfftSetup failed: status %d",
                               (int)setup);
    ocl_dev *d = &devs[idx];
    cl_mem buf = (cl_mem)handle;
    clfftPlanHandle plan;
    size_t len = n;
    pthread_mutex_lock(&d->lock);
    clfftStatus s = clfftCreateDefaultPlan(&plan, d->context, CLFFT_1D, &len);
    const char *call = "clfftCreateDefaultPlan";
    int have_plan = s == CLFFT_SUCCESS;
    if (s == CLFFT_SUCCESS && (s = clfftSetPlanPrecision(plan, CLFFT_DOUBLE)) != CLFFT_SUCCESS)
        call = "clfftSetPlanPrecision";
    if (s == CLFFT_SUCCESS &&
        (s = clfftSetLayout(plan, CLFFT_COMPLEX_INTERLEAVED, CLFFT_COMPLEX_INTERLEAVED)) != CLFFT_SUCCESS)
        call = "clfftSetLayout";
    if (s == CLFFT_SUCCESS && (s = clfftSetResultLocation(plan, CLFFT_INPLACE)) != CLFFT_SUCCESS)
        call = "clfftSetResultLocation";
    if (s == CLFFT_SUCCESS && (s = clfftSetPlanBatchSize(plan, batch)) != CLFFT_SUCCESS)
        call = "clfftSetPlanBatchSize";
    if (s == CLFFT_SUCCESS && (s = clfftSetPlanDistance(plan, n, n)) != CLFFT_SUCCESS)
        call = "clfftSetPlanDistance";
    if (s == CLFFT_SUCCESS && (s = clfftSetPlanScale(plan, CLFFT_BACKWARD, 1.0f)) != CLFFT_SUCCESS)
        call = "clfftSetPlanScale";
    if (s == CLFFT_SUCCESS && (s = clfftBakePlan(plan, 1, &d->queue, NULL, NULL)) != CLFFT_SUCCESS)
        call = "clfftBakePlan";
    if (s == CLFFT_SUCCESS &&
        (s = clfftEnqueueTransform(plan, inverse ? CLFFT_BACKWARD : CLFFT_FORWARD, 1, &d->queue, 0, NULL, NULL,
                                   &buf, NULL, NULL)) != CLFFT_SUCCESS)
        call = "clfftEnqueueTransform";
    cl_int err = CL_SUCCESS;
    if (s == CLFFT_SUCCESS && (err = clFinish(d->queue)) != CL_SUCCESS)
        call = "clFinish";
    if (have_plan)
        clfftDestroyPlan(&plan);
    pthread_mutex_unlock(&d->lock);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, idx, call, "after a clFFT transform of %zu x %zu", batch, n);
    if (s != CLFFT_SUCCESS) {
        /* clFFT statuses below 4096 are OpenCL error codes. */
        if ((int)s < 4096)
            return CL_FAIL((cl_int)s, idx, call, "clFFT transform of %zu x %zu", batch, n);
        return host->set_error(ZC_ERR_BACKEND, "opencl", idx, __func__, "%s failed: clFFT status %d (%zu x %zu)",
                               call, (int)s, batch, n);
    }
    return ZC_OK;
}
#endif

/* ---- compiler ---- */

/* The first device of any platform; compile does not depend on init so it
 * works while the backend itself is unusable. */
static zc_status first_device(cl_platform_id *plat, cl_device_id *dev)
{
    cl_platform_id *plats;
    cl_uint nplat;
    cl_int err = get_platforms(&plats, &nplat);
    if (err == CL_PLATFORM_NOT_FOUND_KHR)
        return host->set_error(ZC_ERR_BACKEND_UNAVAILABLE, "opencl", -1, __func__,
                               "no OpenCL platform to compile for (clGetPlatformIDs: %s (%d))", cl_error_name(err),
                               err);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, -1, "clGetPlatformIDs", "listing platforms to compile for");
    for (cl_uint p = 0; p < nplat; p++) {
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 1, dev, NULL) == CL_SUCCESS) {
            *plat = plats[p];
            free(plats);
            return ZC_OK;
        }
    }
    free(plats);
    return host->set_error(ZC_ERR_BACKEND_UNAVAILABLE, "opencl", -1, __func__,
                           "no OpenCL device to compile for (%u platforms)", nplat);
}

static zc_status program_binary(cl_program prog, void **out, size_t *out_bytes)
{
    size_t size = 0;
    cl_int err = clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL);
    if (err != CL_SUCCESS)
        return CL_FAIL(err, -1, "clGetProgramInfo", "CL_PROGRAM_BINARY_SIZES");
    if (size == 0)
        return host->set_error(ZC_ERR_UNSUPPORTED, "opencl", -1, __func__, "the device returned no program binary");
    unsigned char *bin = malloc(size);
    if (!bin)
        return host->set_error(ZC_ERR_OUT_OF_MEMORY, "opencl", -1, __func__, "program binary of %zu bytes", size);
    err = clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL);
    if (err != CL_SUCCESS) {
        free(bin);
        return CL_FAIL(err, -1, "clGetProgramInfo", "CL_PROGRAM_BINARIES");
    }
    *out = bin;
    *out_bytes = size;
    return ZC_OK;
}

static zc_status ocl_compile(const char *source, const char *arch, void **out, size_t *out_bytes, char *log,
                             size_t log_cap)
{
    cl_platform_id plat = NULL;
    cl_device_id dev = NULL;
    zc_status st = first_device(&plat, &dev);
    if (st != ZC_OK)
        return st;
    /* arch, when given, adds build options (e.g. "-cl-fast-relaxed-math"). */
    size_t opt_len = sizeof BUILD_OPTIONS + 1 + (arch ? strlen(arch) : 0);
    char *options = malloc(opt_len);
    if (!options)
        return host->set_error(ZC_ERR_OUT_OF_MEMORY, "opencl", -1, __func__, "build options");
    snprintf(options, opt_len, "%s%s%s", BUILD_OPTIONS, arch && *arch ? " " : "", arch ? arch : "");
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)plat, 0};
    cl_int err;
    cl_context ctx = clCreateContext(props, 1, &dev, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        free(options);
        return CL_FAIL(err, -1, "clCreateContext", "compiler context");
    }
    cl_program prog;
    st = build_program(ctx, dev, -1, "source", source, options, log, log_cap, &prog);
    if (st == ZC_OK) {
        st = program_binary(prog, out, out_bytes);
        clReleaseProgram(prog);
    }
    clReleaseContext(ctx);
    free(options);
    return st;
}

static const zc_backend_ops ocl_ops = {
    .abi_version = ZC_BACKEND_ABI_VERSION,
    .name = "opencl",
    .init = ocl_init,
    .shutdown = ocl_shutdown,
    .runtime_version = ocl_runtime_version,
    .device_info = ocl_device_info,
    .alloc = ocl_alloc,
    .release = ocl_release,
    .write = ocl_write,
    .read = ocl_read,
    .host_ptr = NULL,
    .launch = ocl_launch,
    .compile = ocl_compile,
    .alloc_kind = ocl_alloc_kind,
    .release_kind = ocl_release_kind,
    .map = ocl_map,
    .unmap = ocl_unmap,
    .sync = ocl_sync,
#ifdef ZC_HAVE_CLFFT
    .fft = ocl_fft,
#endif
    .write_async = ocl_write_async,
    .read_async = ocl_read_async,
    .launch_async = ocl_launch_async,
    .fence_record = ocl_fence_record,
    .fence_wait = ocl_fence_wait,
    .fence_release = ocl_fence_release,
};

__attribute__((visibility("default"))) const zc_backend_ops *zc_backend_entry(void) { return &ocl_ops; }
