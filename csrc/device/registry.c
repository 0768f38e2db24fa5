/* The registry: the library's one piece of global state. It owns the loaded
 * backends, the device table with health, the retry/failover policy and the
 * fault-injection rules. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backends/backend.h"
#include "../core/internal.h"
#include "fault.h"
#include "../risk/risk_internal.h"

#define ZC_MAX_DEVICES 64

typedef struct zc_backend_slot {
    const zc_backend_ops *ops; /* NULL when unavailable */
    void *dl;
    int ndev;
    char reason[ZC_TEXT_MAX];
    char runtime_version[ZC_NAME_MAX];
} zc_backend_slot;

typedef struct zc_dev {
    zc_device_info info;
    const zc_backend_ops *ops; /* NULL for a device listed as unavailable */
    zc_health_state state;
    zc_status last_status;
    char last_error[ZC_TEXT_MAX];
    atomic_uint_fast64_t launches, errors, retries, failovers, probes;
} zc_dev;

static struct {
    pthread_mutex_t lock; /* init/shutdown and health updates */
    atomic_int ready;
    zc_backend_slot backends[ZC_BACKEND_COUNT];
    zc_dev devices[ZC_MAX_DEVICES];
    int ndevices;
    zc_policy policy;
    zc_fault_rules faults;
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const zc_policy default_policy = {3, 100, 100000, 4.0, ZC_FAILOVER_ANY};

static zc_status host_set_error(zc_status st, const char *backend, int backend_index, const char *function,
                                const char *fmt, ...) ZC_PRINTF(5, 6);

/* Plugins name devices by backend index; errors carry the global device id. */
static int global_id(const char *backend, int backend_index)
{
    for (int i = 0; i < reg.ndevices; i++)
        if (reg.devices[i].info.backend_index == backend_index &&
            strcmp(zc_backend_name(reg.devices[i].info.backend), backend) == 0)
            return i;
    return backend_index < 0 ? -1 : backend_index;
}

static zc_status host_set_error(zc_status st, const char *backend, int backend_index, const char *function,
                                const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return zc_error_set(st, backend, global_id(backend, backend_index), function, "%s", text);
}

static const zc_host_api host_api = {ZC_BACKEND_ABI_VERSION, host_set_error, zc_log};

const char *zc_backend_name(zc_backend_kind kind)
{
    static const char *const names[] = {"cpu", "opencl", "cuda"};
    return (unsigned)kind < ZC_BACKEND_COUNT ? names[kind] : "unknown";
}

const char *zc_health_str(zc_health_state s)
{
    static const char *const names[] = {"ok", "degraded", "failed"};
    return (unsigned)s <= ZC_HEALTH_FAILED ? names[s] : "unknown";
}

static void set_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memmove(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* Directory that holds this library (or the executable it is linked into). */
static void self_dir(char *out, size_t cap)
{
    Dl_info info;
    out[0] = '\0';
    if (dladdr((void *)&zc_init, &info) && info.dli_fname) {
        set_text(out, cap, info.dli_fname);
        char *slash = strrchr(out, '/');
        if (slash)
            *slash = '\0';
        else
            set_text(out, cap, ".");
    }
}

static void load_plugin(zc_backend_kind kind, const char *explicit_dir)
{
    zc_backend_slot *slot = &reg.backends[kind];
    char dirs[3][1024];
    int ndirs = 0;
    const char *env = getenv("ZC_PLUGIN_PATH");
    if (explicit_dir && *explicit_dir)
        set_text(dirs[ndirs++], sizeof dirs[0], explicit_dir);
    if (env && *env)
        set_text(dirs[ndirs++], sizeof dirs[0], env);
    self_dir(dirs[ndirs], sizeof dirs[0]);
    if (dirs[ndirs][0])
        ndirs++;
    char tried[ZC_TEXT_MAX] = "";
    for (int i = 0; i < ndirs; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/libzkclob_%s.so", dirs[i], zc_backend_name(kind));
        if (access(path, R_OK) != 0) {
            size_t used = strlen(tried);
            snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", dirs[i]);
            continue;
        }
        void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
            snprintf(slot->reason, sizeof slot->reason, "cannot load %s: %s", path, dlerror());
            return;
        }
        zc_backend_entry_fn entry = (zc_backend_entry_fn)dlsym(dl, ZC_BACKEND_ENTRY_SYMBOL);
        const zc_backend_ops *ops = entry ? entry() : NULL;
        if (!ops || ops->abi_version != ZC_BACKEND_ABI_VERSION) {
            snprintf(slot->reason, sizeof slot->reason, "%s: plugin ABI %d, library expects %d", path,
                     ops ? ops->abi_version : -1, ZC_BACKEND_ABI_VERSION);
            dlclose(dl);
            return;
        }
        slot->dl = dl;
        slot->ops = ops;
        return;
    }
    snprintf(slot->reason, sizeof slot->reason, "plugin libzkclob_%s.so not found (searched %s)",
             zc_backend_name(kind), tried[0] ? tried : "nothing");
}

static void list_unavailable(zc_backend_kind kind)
{
    if (reg.ndevices >= ZC_MAX_DEVICES)
        return;
    zc_dev *d = &reg.devices[reg.ndevices];
    memset(d, 0, sizeof *d);
    d->info.id = reg.ndevices;
    d->info.backend = kind;
    d->info.backend_index = 0;
    d->info.available = 0;
    set_text(d->info.name, sizeof d->info.name, zc_backend_name(kind));
    set_text(d->info.reason, sizeof d->info.reason, reg.backends[kind].reason);
    d->state = ZC_HEALTH_FAILED;
    reg.ndevices++;
}

static void start_backend(zc_backend_kind kind)
{
    zc_backend_slot *slot = &reg.backends[kind];
    if (!slot->ops) {
        list_unavailable(kind);
        return;
    }
    int ndev = 0;
    char reason[ZC_TEXT_MAX] = "";
    zc_status st = slot->ops->init(&host_api, &ndev, reason, sizeof reason);
    if (slot->ops->runtime_version)
        set_text(slot->runtime_version, sizeof slot->runtime_version, slot->ops->runtime_version());
    if (st != ZC_OK || ndev == 0) {
        set_text(slot->reason, sizeof slot->reason,
                 reason[0] ? reason : (st != ZC_OK ? zc_last_error() : "no devices found"));
        if (st == ZC_OK)
            slot->ops->shutdown();
        slot->ops = NULL;
        list_unavailable(kind);
        return;
    }
    for (int i = 0; i < ndev && reg.ndevices < ZC_MAX_DEVICES; i++) {
        zc_dev *d = &reg.devices[reg.ndevices];
        memset(d, 0, sizeof *d);
        if (slot->ops->device_info(i, &d->info) != ZC_OK)
            continue;
        d->info.id = reg.ndevices;
        d->info.backend = kind;
        d->info.backend_index = i;
        /* A backend may list a device it cannot use (e.g. too old), with a reason. */
        d->ops = d->info.available ? slot->ops : NULL;
        d->state = d->info.available ? ZC_HEALTH_OK : ZC_HEALTH_FAILED;
        reg.ndevices++;
    }
    slot->ndev = ndev;
}

static zc_status init_locked(const zc_config *cfg)
{
    zc_config c = {0};
    if (cfg)
        c = *cfg;
    zc_log_init_from_env();
    reg.policy = default_policy;
    const char *fault = c.fault_inject ? c.fault_inject : getenv("ZC_FAULT_INJECT");
    zc_status st = zc_fault_rules_parse(&reg.faults, fault ? fault : "");
    if (st != ZC_OK)
        return st;
    int threads = c.num_threads;
    if (threads <= 0) {
        const char *env = getenv("ZC_NUM_THREADS");
        threads = env ? atoi(env) : 0;
    }
    if (threads <= 0)
        threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    zc_cpu_backend_configure(threads < 1 ? 1 : threads);

    reg.ndevices = 0;
    reg.backends[ZC_BACKEND_CPU].ops = zc_cpu_backend();
    start_backend(ZC_BACKEND_CPU);
    if (c.disable_opencl || getenv("ZC_DISABLE_OPENCL"))
        set_text(reg.backends[ZC_BACKEND_OPENCL].reason, ZC_TEXT_MAX, "disabled by configuration");
    else
        load_plugin(ZC_BACKEND_OPENCL, c.plugin_path);
    start_backend(ZC_BACKEND_OPENCL);
    if (c.disable_cuda || getenv("ZC_DISABLE_CUDA"))
        set_text(reg.backends[ZC_BACKEND_CUDA].reason, ZC_TEXT_MAX, "disabled by configuration");
    else
        load_plugin(ZC_BACKEND_CUDA, c.plugin_path);
    start_backend(ZC_BACKEND_CUDA);
    if (reg.backends[ZC_BACKEND_CPU].ops == NULL)
        return ZC_ERR(ZC_ERR_INTERNAL, "cpu backend failed to start: %s", reg.backends[ZC_BACKEND_CPU].reason);
    atomic_store(&reg.ready, 1);
    zc_log(ZC_LOG_INFO, "device", "%d devices registered", reg.ndevices);
    return ZC_OK;
}

static void shutdown_locked(void)
{
    for (int k = 0; k < ZC_BACKEND_COUNT; k++) {
        zc_backend_slot *slot = &reg.backends[k];
        if (slot->ops)
            slot->ops->shutdown();
        if (slot->dl)
            dlclose(slot->dl);
        memset(slot, 0, sizeof *slot);
    }
    zc_fault_rules_parse(&reg.faults, "");
    reg.ndevices = 0;
    atomic_store(&reg.ready, 0);
}

zc_status zc_init(const zc_config *cfg)
{
    pthread_mutex_lock(&reg.lock);
    if (atomic_load(&reg.ready))
        shutdown_locked();
    zc_status st = init_locked(cfg);
    if (st != ZC_OK)
        shutdown_locked();
    pthread_mutex_unlock(&reg.lock);
    return st;
}

void zc_shutdown(void)
{
    pthread_mutex_lock(&reg.lock);
    if (atomic_load(&reg.ready))
        shutdown_locked();
    pthread_mutex_unlock(&reg.lock);
}

static zc_status ensure_init(void)
{
    if (atomic_load_explicit(&reg.ready, memory_order_acquire))
        return ZC_OK;
    pthread_mutex_lock(&reg.lock);
    zc_status st = ZC_OK;
    if (!atomic_load(&reg.ready)) {
        st = init_locked(NULL);
        if (st != ZC_OK)
            shutdown_locked();
    }
    pthread_mutex_unlock(&reg.lock);
    return st;
}

static zc_status get_dev(int id, zc_dev **out)
{
    ZC_CHECK(ensure_init());
    if (id < 0 || id >= reg.ndevices)
        return ZC_ERR(ZC_ERR_NOT_FOUND, "no device with id %d (%d devices)", id, reg.ndevices);
    *out = &reg.devices[id];
    return ZC_OK;
}

static zc_status get_usable(int id, zc_dev **out)
{
    ZC_CHECK(get_dev(id, out));
    zc_dev *d = *out;
    if (!d->info.available)
        return ZC_ERR(ZC_ERR_BACKEND_UNAVAILABLE, "device %d (%s) is unavailable: %s", id,
                      zc_backend_name(d->info.backend), d->info.reason);
    return ZC_OK;
}

int zc_device_count(void)
{
    if (ensure_init() != ZC_OK)
        return 0;
    return reg.ndevices;
}

zc_status zc_device_info_get(int id, zc_device_info *out)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_dev(id, &d));
    *out = d->info;
    return ZC_OK;
}

zc_status zc_device_health_get(int id, zc_device_health *out)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_dev(id, &d));
    pthread_mutex_lock(&reg.lock);
    out->state = d->state;
    out->last_status = d->last_status;
    set_text(out->last_error, sizeof out->last_error, d->last_error);
    pthread_mutex_unlock(&reg.lock);
    out->launches = atomic_load(&d->launches);
    out->errors = atomic_load(&d->errors);
    out->retries = atomic_load(&d->retries);
    out->failovers = atomic_load(&d->failovers);
    out->probes = atomic_load(&d->probes);
    return ZC_OK;
}

zc_status zc_device_reset_health(int id)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(id, &d));
    pthread_mutex_lock(&reg.lock);
    d->state = ZC_HEALTH_OK;
    pthread_mutex_unlock(&reg.lock);
    return ZC_OK;
}

zc_status zc_device_set_threads(int id, int nthreads)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(id, &d));
    if (d->info.backend != ZC_BACKEND_CPU)
        return ZC_ERR(ZC_ERR_UNSUPPORTED, "thread limits apply to cpu devices only, device %d is %s", id,
                      zc_backend_name(d->info.backend));
    if (nthreads < 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "thread count must be >= 0, got %d", nthreads);
    zc_cpu_backend_set_thread_limit(nthreads);
    return ZC_OK;
}

const char *zc_backend_runtime_version(zc_backend_kind kind)
{
    if (ensure_init() != ZC_OK || (unsigned)kind >= ZC_BACKEND_COUNT)
        return "";
    return reg.backends[kind].runtime_version;
}

const char *zc_backend_unavailable_reason(zc_backend_kind kind)
{
    if (ensure_init() != ZC_OK || (unsigned)kind >= ZC_BACKEND_COUNT)
        return "";
    return reg.backends[kind].ops ? "" : reg.backends[kind].reason;
}

static int healthy(const zc_dev *d) { return d->info.available && d->state != ZC_HEALTH_FAILED; }

static int parse_backend(const char *s, size_t len, zc_backend_kind *out)
{
    for (int k = 0; k < ZC_BACKEND_COUNT; k++)
        if (strlen(zc_backend_name((zc_backend_kind)k)) == len && strncmp(s, zc_backend_name((zc_backend_kind)k), len) == 0) {
            *out = (zc_backend_kind)k;
            return 1;
        }
    return 0;
}

zc_status zc_device_find(const char *spec, int *id)
{
    ZC_CHECK(ensure_init());
    if (!spec || !id)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device spec and id must not be NULL");
    if (strcmp(spec, "auto") == 0) {
        /* A healthy GPU first (cuda, then opencl GPUs), otherwise the native cpu backend. */
        const zc_backend_kind order[] = {ZC_BACKEND_CUDA, ZC_BACKEND_OPENCL};
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < reg.ndevices; i++)
                if (reg.devices[i].info.backend == order[o] && healthy(&reg.devices[i]) &&
                    (reg.devices[i].info.caps & ZC_CAP_GPU)) {
                    *id = i;
                    return ZC_OK;
                }
        spec = "cpu";
    }
    char *end;
    long n = strtol(spec, &end, 10);
    if (*spec && *end == '\0') {
        if (n < 0 || n >= reg.ndevices)
            return ZC_ERR(ZC_ERR_NOT_FOUND, "no device with id %ld (%d devices)", n, reg.ndevices);
        *id = (int)n;
        return ZC_OK;
    }
    const char *colon = strchr(spec, ':');
    size_t blen = colon ? (size_t)(colon - spec) : strlen(spec);
    zc_backend_kind kind;
    if (!parse_backend(spec, blen, &kind))
        return ZC_ERR(ZC_ERR_NOT_FOUND, "unknown device '%s' (use auto, cpu, opencl, cuda, backend:index or an id)",
                      spec);
    long index = -1;
    if (colon) {
        index = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || index < 0)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "bad device index in '%s'", spec);
    }
    const zc_backend_slot *slot = &reg.backends[kind];
    if (!slot->ops)
        return ZC_ERR(ZC_ERR_BACKEND_UNAVAILABLE, "backend %s is unavailable: %s", zc_backend_name(kind),
                      slot->reason);
    int first_any = -1;
    for (int i = 0; i < reg.ndevices; i++) {
        const zc_dev *d = &reg.devices[i];
        if (d->info.backend != kind || !d->info.available)
            continue;
        if (index >= 0 && d->info.backend_index == index) {
            *id = i;
            return ZC_OK;
        }
        if (index < 0 && healthy(d)) {
            *id = i;
            return ZC_OK;
        }
        if (first_any < 0)
            first_any = i;
    }
    if (index < 0 && first_any >= 0) {
        *id = first_any; /* every device failed: report that when it is used */
        return ZC_OK;
    }
    if (index < 0)
        return ZC_ERR(ZC_ERR_BACKEND_UNAVAILABLE, "backend %s has no usable device: %s", zc_backend_name(kind),
                      slot->reason[0] ? slot->reason : "every device is unavailable");
    return ZC_ERR(ZC_ERR_NOT_FOUND, "backend %s has no device %ld (%d devices)", zc_backend_name(kind), index,
                  slot->ndev);
}

/* ---- health bookkeeping ---- */

static void record_error(zc_dev *d, zc_status st)
{
    atomic_fetch_add(&d->errors, 1);
    pthread_mutex_lock(&reg.lock);
    d->last_status = st;
    set_text(d->last_error, sizeof d->last_error, zc_last_error());
    zc_error_class cls = zc_status_class(st);
    if (cls == ZC_CLASS_DEVICE_LOST)
        d->state = ZC_HEALTH_FAILED;
    else if (cls == ZC_CLASS_TRANSIENT && d->state == ZC_HEALTH_OK)
        d->state = ZC_HEALTH_DEGRADED;
    pthread_mutex_unlock(&reg.lock);
}

/* A backend call's status, with errors counted against the device's health. */
static zc_status track(zc_dev *d, zc_status st)
{
    if (st != ZC_OK)
        record_error(d, st);
    return st;
}

static zc_status inject(zc_dev *d, const char *op)
{
    zc_status st = zc_fault_rules_hit(&reg.faults, zc_backend_name(d->info.backend), op);
    if (st == ZC_OK)
        return ZC_OK;
    zc_error_set(st, zc_backend_name(d->info.backend), d->info.id, op,
                 "injected %s fault in %s", zc_error_class_str(zc_status_class(st)), op);
    record_error(d, st);
    return st;
}

zc_status zc_buf_alloc(int dev, size_t bytes, zc_devbuf **out)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    if (bytes == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "buffer size must be positive");
    ZC_CHECK(inject(d, "alloc"));
    zc_devbuf *b = calloc(1, sizeof *b);
    if (!b)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "buffer descriptor");
    zc_status st = d->ops->alloc(d->info.backend_index, bytes, &b->handle);
    if (st != ZC_OK) {
        free(b);
        return track(d, st);
    }
    b->dev = dev;
    b->bytes = bytes;
    *out = b;
    return ZC_OK;
}

zc_status zc_buf_wrap(int dev, void *host, size_t bytes, zc_devbuf **out)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!host || !out || bytes == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "host pointer, size and out must be given");
    if (!(d->info.caps & ZC_CAP_HOST_SHARED))
        return ZC_ERR(ZC_ERR_UNSUPPORTED, "device %d does not share host memory", dev);
    zc_devbuf *b = calloc(1, sizeof *b);
    if (!b)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "buffer descriptor");
    b->dev = dev;
    b->handle = host;
    b->bytes = bytes;
    b->borrowed = 1;
    *out = b;
    return ZC_OK;
}

void zc_buf_free(zc_devbuf *b)
{
    if (!b)
        return;
    zc_dev *d = NULL;
    if (!b->borrowed && get_dev(b->dev, &d) == ZC_OK && d->ops)
        d->ops->release(d->info.backend_index, b->handle);
    free(b);
}

static zc_status buf_range(const zc_devbuf *b, size_t offset, size_t bytes, const void *p)
{
    if (!b || !p)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "buffer and pointer must not be NULL");
    if (offset > b->bytes || bytes > b->bytes - offset)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "range [%zu, %zu) exceeds buffer of %zu bytes", offset, offset + bytes,
                      b->bytes);
    return ZC_OK;
}

zc_status zc_buf_write(zc_devbuf *b, size_t offset, const void *src, size_t bytes)
{
    ZC_CHECK(buf_range(b, offset, bytes, src));
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(b->dev, &d));
    ZC_CHECK(inject(d, "write"));
    return track(d, d->ops->write(d->info.backend_index, b->handle, offset, src, bytes));
}

zc_status zc_buf_read(zc_devbuf *b, size_t offset, void *dst, size_t bytes)
{
    ZC_CHECK(buf_range(b, offset, bytes, dst));
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(b->dev, &d));
    ZC_CHECK(inject(d, "read"));
    return track(d, d->ops->read(d->info.backend_index, b->handle, offset, dst, bytes));
}

void *zc_buf_host_ptr(zc_devbuf *b)
{
    zc_dev *d = NULL;
    if (!b || get_dev(b->dev, &d) != ZC_OK || !d->ops || !d->ops->host_ptr)
        return NULL;
    return d->ops->host_ptr(d->info.backend_index, b->handle);
}

/* Checks a launch's kernel name and arguments (buffers of this device). */
static zc_status launch_args(int dev, const char *kernel, const zc_karg *args, int nargs)
{
    if (!kernel || (nargs > 0 && !args) || nargs < 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "kernel name and arguments must be given");
    for (int i = 0; i < nargs; i++)
        if (args[i].kind == ZC_KARG_BUF && (!args[i].v.buf || args[i].v.buf->dev != dev))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "argument %d of %s is not a buffer of device %d", i, kernel, dev);
    return ZC_OK;
}

zc_status zc_launch(int dev, const char *kernel, size_t global, const zc_karg *args, int nargs)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    ZC_CHECK(launch_args(dev, kernel, args, nargs));
    if (global == 0)
        return ZC_OK;
    ZC_CHECK(inject(d, "launch"));
    atomic_fetch_add(&d->launches, 1);
    return track(d, d->ops->launch(d->info.backend_index, kernel, global, args, nargs));
}

/* ---- asynchronous submission ---- */

struct zc_fence {
    int dev;
    void *handle; /* backend marker; NULL where the work was done when queued */
};

zc_status zc_buf_write_async(zc_devbuf *b, size_t offset, const void *src, size_t bytes)
{
    ZC_CHECK(buf_range(b, offset, bytes, src));
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(b->dev, &d));
    if (!d->ops->write_async)
        return zc_buf_write(b, offset, src, bytes);
    ZC_CHECK(inject(d, "write"));
    return track(d, d->ops->write_async(d->info.backend_index, b->handle, offset, src, bytes));
}

zc_status zc_buf_read_async(zc_devbuf *b, size_t offset, void *dst, size_t bytes)
{
    ZC_CHECK(buf_range(b, offset, bytes, dst));
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(b->dev, &d));
    if (!d->ops->read_async)
        return zc_buf_read(b, offset, dst, bytes);
    ZC_CHECK(inject(d, "read"));
    return track(d, d->ops->read_async(d->info.backend_index, b->handle, offset, dst, bytes));
}

zc_status zc_launch_async(int dev, const char *kernel, size_t global, const zc_karg *args, int nargs)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!d->ops->launch_async)
        return zc_launch(dev, kernel, global, args, nargs);
    ZC_CHECK(launch_args(dev, kernel, args, nargs));
    if (global == 0)
        return ZC_OK;
    ZC_CHECK(inject(d, "launch"));
    atomic_fetch_add(&d->launches, 1);
    return track(d, d->ops->launch_async(d->info.backend_index, kernel, global, args, nargs));
}

zc_status zc_fence_record(int dev, zc_fence **out)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    zc_fence *f = calloc(1, sizeof *f);
    if (!f)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "fence");
    f->dev = dev;
    if (d->ops->fence_record) {
        zc_status st = track(d, d->ops->fence_record(d->info.backend_index, &f->handle));
        if (st != ZC_OK) {
            free(f);
            return st;
        }
    }
    *out = f;
    return ZC_OK;
}

zc_status zc_fence_wait(zc_fence *f)
{
    if (!f)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "fence must not be NULL");
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(f->dev, &d));
    zc_status st = ZC_OK;
    if (f->handle)
        st = track(d, d->ops->fence_wait(d->info.backend_index, f->handle));
    /* Injected after the real wait: the caller may then reuse the memory. */
    if (st == ZC_OK)
        st = inject(d, "wait");
    return st;
}

void zc_fence_free(zc_fence *f)
{
    if (!f)
        return;
    zc_dev *d = NULL;
    if (f->handle && get_dev(f->dev, &d) == ZC_OK && d->ops)
        d->ops->fence_release(d->info.backend_index, f->handle);
    free(f);
}

#define HOST_ALIGN 64

zc_status zc_host_alloc(int dev, size_t bytes, void **out)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!out || bytes == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "size must be positive and out not NULL");
    *out = NULL;
    if (d->ops->host_alloc)
        return track(d, d->ops->host_alloc(d->info.backend_index, bytes, out));
    /* aligned_alloc wants a multiple of the alignment. */
    size_t rounded = (bytes + HOST_ALIGN - 1) / HOST_ALIGN * HOST_ALIGN;
    if (bytes > SIZE_MAX - HOST_ALIGN || !(*out = aligned_alloc(HOST_ALIGN, rounded)))
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu bytes of staging memory", bytes);
    return ZC_OK;
}

void zc_host_free(int dev, void *p)
{
    zc_dev *d = NULL;
    if (!p || get_dev(dev, &d) != ZC_OK || !d->ops)
        return;
    if (d->ops->host_free)
        d->ops->host_free(d->info.backend_index, p);
    else
        free(p);
}

/* ---- retry and failover ---- */

void zc_policy_get(zc_policy *out)
{
    ensure_init();
    pthread_mutex_lock(&reg.lock);
    *out = reg.policy;
    pthread_mutex_unlock(&reg.lock);
}

zc_status zc_policy_set(const zc_policy *p)
{
    ZC_CHECK(ensure_init());
    if (!p || p->max_retries < 0 || p->backoff_multiplier < 1.0 || p->backoff_max_us < p->backoff_initial_us ||
        (unsigned)p->failover > ZC_FAILOVER_ANY)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT,
                      "policy needs max_retries >= 0, multiplier >= 1, max backoff >= initial, valid failover mode");
    pthread_mutex_lock(&reg.lock);
    reg.policy = *p;
    pthread_mutex_unlock(&reg.lock);
    return ZC_OK;
}

zc_status zc_fault_inject_set(const char *rules)
{
    ZC_CHECK(ensure_init());
    pthread_mutex_lock(&reg.lock);
    zc_status st = zc_fault_rules_parse(&reg.faults, rules ? rules : "");
    pthread_mutex_unlock(&reg.lock);
    return st;
}

/* The next device to try after `from` failed: same backend first, then other
 * backends with cpu last. -1 when none is left. */
static int next_device(int from, zc_failover_mode mode)
{
    zc_backend_kind kind = reg.devices[from].info.backend;
    for (int i = 0; i < reg.ndevices; i++)
        if (i != from && reg.devices[i].info.backend == kind && healthy(&reg.devices[i]))
            return i;
    if (mode != ZC_FAILOVER_ANY)
        return -1;
    const zc_backend_kind order[] = {ZC_BACKEND_CUDA, ZC_BACKEND_OPENCL, ZC_BACKEND_CPU};
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < reg.ndevices; i++)
            if (reg.devices[i].info.backend == order[o] && healthy(&reg.devices[i]))
                return i;
    return -1;
}

zc_status zc_run(int *dev, const char *what, zc_op_fn op, void *user)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(*dev, &d));
    zc_policy pol;
    zc_policy_get(&pol);
    int cur = *dev;
    if (!healthy(&reg.devices[cur])) {
        if (pol.failover == ZC_FAILOVER_NONE || (cur = next_device(cur, pol.failover)) < 0)
            return ZC_ERR(ZC_ERR_ALL_DEVICES_FAILED, "%s: device %d has failed and no healthy device is left", what,
                          *dev);
    }
    for (;;) {
        uint32_t delay = pol.backoff_initial_us;
        int attempt = 0;
        zc_status st;
        for (;;) {
            st = op(cur, user);
            if (st == ZC_OK) {
                *dev = cur;
                return ZC_OK;
            }
            if (zc_status_class(st) != ZC_CLASS_TRANSIENT || attempt >= pol.max_retries)
                break;
            attempt++;
            atomic_fetch_add(&reg.devices[cur].retries, 1);
            zc_log(ZC_LOG_WARN, "device", "%s on device %d: %s; retry %d/%d in %u us", what, cur,
                   zc_last_error(), attempt, pol.max_retries, delay);
            zc_sleep_us(delay);
            double next = delay * pol.backoff_multiplier;
            delay = next > pol.backoff_max_us ? pol.backoff_max_us : (uint32_t)next;
        }
        if (zc_status_class(st) == ZC_CLASS_TRANSIENT)
            return zc_error_set(st, zc_backend_name(reg.devices[cur].info.backend), cur,
                                "zc_run", "%s: retries exhausted after %d attempts: %s", what, attempt + 1,
                                zc_last_error());
        if (zc_status_class(st) != ZC_CLASS_DEVICE_LOST || pol.failover == ZC_FAILOVER_NONE)
            return st;
        int next = next_device(cur, pol.failover);
        if (next < 0)
            return ZC_ERR(ZC_ERR_ALL_DEVICES_FAILED, "%s: all devices failed; last error: %s", what, zc_last_error());
        zc_log(ZC_LOG_WARN, "device", "%s: device %d lost (%s); failing over to device %d", what, cur,
               zc_last_error(), next);
        atomic_fetch_add(&reg.devices[cur].failovers, 1);
        cur = next;
    }
}

/* ---- probe and compile ---- */

static zc_status probe_op(int dev, void *user)
{
    uint32_t *words = user;
    zc_devbuf *b;
    ZC_CHECK(zc_buf_alloc(dev, 16, &b));
    zc_karg args[] = {zc_arg_buf(b), zc_arg_u64(4), zc_arg_u32(0), zc_arg_u32(0), zc_arg_u64(0), zc_arg_u64(0),
                      zc_arg_u64(0), zc_arg_u64(0), zc_arg_u64(0), zc_arg_u64(0)};
    zc_status st = zc_launch(dev, "zc_philox", 1, args, 10);
    if (st == ZC_OK)
        st = zc_buf_read(b, 0, words, 16);
    zc_buf_free(b);
    return st;
}

zc_status zc_device_probe(int id)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(id, &d));
    atomic_fetch_add(&d->probes, 1);
    /* Random123 kat_vectors: philox4x32-10 of a zero counter and key. */
    static const uint32_t expect[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
    uint32_t got[4] = {0};
    zc_status st = inject(d, "probe");
    if (st == ZC_OK)
        st = probe_op(id, got);
    if (st == ZC_OK && memcmp(got, expect, sizeof got) != 0)
        st = zc_error_set(ZC_ERR_DEVICE_LOST, zc_backend_name(d->info.backend), id, __func__,
                          "health probe returned a wrong answer (%08x %08x %08x %08x)", got[0], got[1], got[2], got[3]);
    pthread_mutex_lock(&reg.lock);
    if (st == ZC_OK) {
        d->state = ZC_HEALTH_OK;
    } else {
        d->state = ZC_HEALTH_FAILED;
        d->last_status = st;
        set_text(d->last_error, sizeof d->last_error, zc_last_error());
    }
    pthread_mutex_unlock(&reg.lock);
    return st;
}

zc_status zc_backend_compile(zc_backend_kind kind, const char *source, const char *arch, void **out,
                             size_t *out_bytes, char *log, size_t log_cap)
{
    ZC_CHECK(ensure_init());
    if ((unsigned)kind >= ZC_BACKEND_COUNT || !source || !out || !out_bytes)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "backend, source and outputs must be given");
    const zc_backend_ops *ops = reg.backends[kind].ops;
    if (!ops && reg.backends[kind].dl) {
        /* Runtime unusable but the plugin loaded: its compiler may still work. */
        zc_backend_entry_fn entry = (zc_backend_entry_fn)dlsym(reg.backends[kind].dl, ZC_BACKEND_ENTRY_SYMBOL);
        ops = entry ? entry() : NULL;
    }
    if (!ops || !ops->compile)
        return ZC_ERR(ZC_ERR_UNSUPPORTED, "backend %s has no runtime compiler: %s", zc_backend_name(kind),
                      reg.backends[kind].reason[0] ? reg.backends[kind].reason : "not provided");
    if (log && log_cap)
        log[0] = '\0';
    return ops->compile(source, arch, out, out_bytes, log, log_cap);
}

void zc_free(void *p) { free(p); }

/* ---- memory kinds for csrc/mem (declared in csrc/mem/mem_internal.h) ---- */

static zc_status no_mem_op(const zc_dev *d, const char *what)
{
    return ZC_ERR(ZC_ERR_UNSUPPORTED, "backend %s of device %d has no %s", zc_backend_name(d->info.backend),
                  d->info.id, what);
}

zc_status zc_dev_mem_alloc(int dev, int kind, size_t bytes, void **handle, void **addr)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!d->ops->alloc_kind)
        return no_mem_op(d, "memory kinds");
    ZC_CHECK(inject(d, "alloc"));
    *handle = NULL;
    *addr = NULL;
    return track(d, d->ops->alloc_kind(d->info.backend_index, kind, bytes, handle, addr));
}

void zc_dev_mem_release(int dev, int kind, void *handle, void *addr)
{
    zc_dev *d = NULL;
    if (get_dev(dev, &d) == ZC_OK && d->ops && d->ops->release_kind)
        d->ops->release_kind(d->info.backend_index, kind, handle, addr);
}

zc_status zc_dev_mem_map(int dev, int kind, void *handle, void *addr, size_t bytes, unsigned flags, void **host)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!d->ops->map)
        return no_mem_op(d, "host mapping");
    return track(d, d->ops->map(d->info.backend_index, kind, handle, addr, bytes, flags, host));
}

zc_status zc_dev_mem_unmap(int dev, int kind, void *handle, void *host)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!d->ops->unmap)
        return no_mem_op(d, "host mapping");
    return track(d, d->ops->unmap(d->info.backend_index, kind, handle, host));
}

zc_status zc_dev_mem_sync(int dev)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!d->ops->sync)
        return ZC_OK; /* the cpu backend finishes every launch before returning */
    return track(d, d->ops->sync(d->info.backend_index));
}

/* Backend FFT for csrc/risk (declared in csrc/risk/risk_internal.h). */
zc_status zc_dev_fft(int dev, zc_devbuf *buf, size_t n, size_t batch, int inverse)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    if (!buf || buf->dev != dev)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "FFT buffer is not a buffer of device %d", dev);
    if (!d->ops->fft)
        return no_mem_op(d, "FFT");
    ZC_CHECK(inject(d, "launch"));
    atomic_fetch_add(&d->launches, 1);
    return track(d, d->ops->fft(d->info.backend_index, buf->handle, n, batch, inverse));
}

/* A descriptor over memory the caller owns (a zc_buffer's), for kernels:
 * zc_buf_free releases only the descriptor. */
zc_status zc_dev_buf_borrow(int dev, void *handle, size_t bytes, zc_devbuf **out)
{
    zc_dev *d = NULL;
    ZC_CHECK(get_usable(dev, &d));
    zc_devbuf *b = calloc(1, sizeof *b);
    if (!b)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "buffer descriptor");
    b->dev = dev;
    b->handle = handle;
    b->bytes = bytes;
    b->borrowed = 1;
    *out = b;
    return ZC_OK;
}
