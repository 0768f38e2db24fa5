/* Status codes, error classes and the thread-local last error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

typedef struct zc_error_tls {
    zc_status status;
    int device;
    char message[512];
    char function[64];
    char backend[16];
} zc_error_tls;

static _Thread_local zc_error_tls tls_error;

zc_error_class zc_status_class(zc_status st)
{
    if (st >= 0)
        return ZC_CLASS_NONE;
    if (st > -20)
        return ZC_CLASS_INVALID_ARGUMENT;
    if (st > -40)
        return ZC_CLASS_OUT_OF_MEMORY;
    if (st > -60)
        return ZC_CLASS_UNSUPPORTED;
    if (st > -80)
        return ZC_CLASS_TRANSIENT;
    if (st > -100)
        return ZC_CLASS_DEVICE_LOST;
    return ZC_CLASS_INTERNAL;
}

const char *zc_status_str(zc_status st)
{
    switch (st) {
#define ZC_CASE(x) case x: return #x
    ZC_CASE(ZC_OK);
    ZC_CASE(ZC_ERR_INVALID_ARGUMENT);
    ZC_CASE(ZC_ERR_NOT_FOUND);
    ZC_CASE(ZC_ERR_OUT_OF_RANGE);
    ZC_CASE(ZC_ERR_STATE);
    ZC_CASE(ZC_ERR_OUT_OF_MEMORY);
    ZC_CASE(ZC_ERR_DEVICE_OUT_OF_MEMORY);
    ZC_CASE(ZC_ERR_UNSUPPORTED);
    ZC_CASE(ZC_ERR_BACKEND_UNAVAILABLE);
    ZC_CASE(ZC_ERR_VERSION_MISMATCH);
    ZC_CASE(ZC_ERR_TRANSIENT);
    ZC_CASE(ZC_ERR_TIMEOUT);
    ZC_CASE(ZC_ERR_BUSY);
    ZC_CASE(ZC_ERR_DEVICE_LOST);
    ZC_CASE(ZC_ERR_ALL_DEVICES_FAILED);
    ZC_CASE(ZC_ERR_INTERNAL);
    ZC_CASE(ZC_ERR_BACKEND);
    ZC_CASE(ZC_ERR_IO);
    ZC_CASE(ZC_ERR_COMPILE);
#undef ZC_CASE
    }
    return "ZC_ERR_UNKNOWN";
}

const char *zc_error_class_str(zc_error_class cls)
{
    static const char *const names[] = {"ok", "invalid_argument", "out_of_memory", "unsupported",
                                        "transient", "device_lost", "internal"};
    if ((unsigned)cls < sizeof names / sizeof names[0])
        return names[cls];
    return "internal";
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

zc_status zc_error_set(zc_status st, const char *backend, int device, const char *function, const char *fmt, ...)
{
    zc_error_tls *e = &tls_error;
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    e->status = st;
    e->device = device;
    copy_str(e->function, sizeof e->function, function);
    copy_str(e->backend, sizeof e->backend, backend);
    if (backend && backend[0] && device >= 0)
        snprintf(e->message, sizeof e->message, "%s [device %d (%s), %s]", text, device, backend, e->function);
    else if (backend && backend[0])
        snprintf(e->message, sizeof e->message, "%s [%s, %s]", text, backend, e->function);
    else
        snprintf(e->message, sizeof e->message, "%s [%s]", text, e->function);
    zc_log(ZC_LOG_DEBUG, "error", "%s: %s", zc_status_str(st), e->message);
    return st;
}

const char *zc_last_error(void) { return tls_error.status ? tls_error.message : ""; }

void zc_last_error_info(zc_error_info *out)
{
    const zc_error_tls *e = &tls_error;
    out->status = e->status;
    out->message = e->status ? e->message : "";
    out->function = e->status ? e->function : "";
    out->backend = e->status ? e->backend : "";
    out->device = e->status ? e->device : -1;
}

void zc_clear_error(void) { memset(&tls_error, 0, sizeof tls_error); }

uint64_t zc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void zc_sleep_us(uint32_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}
