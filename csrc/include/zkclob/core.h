/* zkclob core: status codes, error classes, thread-local last error, logging,
 * version and build information. */
#ifndef ZKCLOB_CORE_H
#define ZKCLOB_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ZC_API __attribute__((visibility("default")))
#define ZC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ZC_API
#define ZC_PRINTF(f, a)
#endif

/* Every public function returns a zc_status: 0 is success, negative is an error.
 * Each error code belongs to exactly one class (zc_status_class), which is what
 * retry and failover policies act on. */
typedef enum zc_status {
    ZC_OK = 0,
    /* invalid_argument */
    ZC_ERR_INVALID_ARGUMENT = -1,
    ZC_ERR_NOT_FOUND = -2,
    ZC_ERR_OUT_OF_RANGE = -3,
    ZC_ERR_STATE = -4,
    /* out_of_memory */
    ZC_ERR_OUT_OF_MEMORY = -20,
    ZC_ERR_DEVICE_OUT_OF_MEMORY = -21,
    /* unsupported */
    ZC_ERR_UNSUPPORTED = -40,
    ZC_ERR_BACKEND_UNAVAILABLE = -41,
    ZC_ERR_VERSION_MISMATCH = -42,
    /* transient */
    ZC_ERR_TRANSIENT = -60,
    ZC_ERR_TIMEOUT = -61,
    ZC_ERR_BUSY = -62,
    /* device_lost */
    ZC_ERR_DEVICE_LOST = -80,
    ZC_ERR_ALL_DEVICES_FAILED = -81,
    /* internal */
    ZC_ERR_INTERNAL = -100,
    ZC_ERR_BACKEND = -101,
    ZC_ERR_IO = -102,
    ZC_ERR_COMPILE = -103
} zc_status;

typedef enum zc_error_class {
    ZC_CLASS_NONE = 0,
    ZC_CLASS_INVALID_ARGUMENT,
    ZC_CLASS_OUT_OF_MEMORY,
    ZC_CLASS_UNSUPPORTED,
    ZC_CLASS_TRANSIENT,
    ZC_CLASS_DEVICE_LOST,
    ZC_CLASS_INTERNAL
} zc_error_class;

ZC_API zc_error_class zc_status_class(zc_status st);
/* Stable identifier of a status, e.g. "ZC_ERR_TRANSIENT". */
ZC_API const char *zc_status_str(zc_status st);
/* Class name: "ok", "invalid_argument", "out_of_memory", "unsupported",
 * "transient", "device_lost", "internal". */
ZC_API const char *zc_error_class_str(zc_error_class cls);

/* The last error raised on this thread. The message carries the function and,
 * where one was involved, the backend and device. */
typedef struct zc_error_info {
    zc_status status;
    const char *message;  /* human-readable, never NULL */
    const char *function; /* C function that raised it, "" if none */
    const char *backend;  /* "cpu", "opencl", "cuda" or "" */
    int device;           /* device id, -1 if none */
} zc_error_info;

ZC_API const char *zc_last_error(void);
ZC_API void zc_last_error_info(zc_error_info *out);
ZC_API void zc_clear_error(void);

/* Logging. The level starts from ZC_LOG_LEVEL (error, warn, info, debug, trace
 * or 0..4); messages at or below it go to the callback, or to stderr when no
 * callback is set. */
typedef enum zc_log_level {
    ZC_LOG_ERROR = 0,
    ZC_LOG_WARN = 1,
    ZC_LOG_INFO = 2,
    ZC_LOG_DEBUG = 3,
    ZC_LOG_TRACE = 4
} zc_log_level;

typedef void (*zc_log_fn)(zc_log_level level, const char *module, const char *message, void *user);

ZC_API void zc_log_set_level(zc_log_level level);
ZC_API zc_log_level zc_log_get_level(void);
/* fn == NULL restores the stderr sink. */
ZC_API void zc_log_set_callback(zc_log_fn fn, void *user);
ZC_API void zc_log(zc_log_level level, const char *module, const char *fmt, ...) ZC_PRINTF(3, 4);

/* Version. */
#define ZC_VERSION_MAJOR 0
#define ZC_VERSION_MINOR 1
#define ZC_VERSION_PATCH 0

ZC_API const char *zc_version(void);
ZC_API void zc_version_numbers(int *major, int *minor, int *patch);

typedef struct zc_build_info {
    const char *version;
    const char *compiler;
    const char *flags;
    const char *build_type;
    const char *backends;   /* backends compiled in, e.g. "cpu,opencl,cuda" */
    const char *sanitizers; /* "" when none */
} zc_build_info;

ZC_API void zc_build_info_get(zc_build_info *out);

/* Library lifetime. zc_init is optional (every entry point initialises the
 * registry on first use); call it to pass a config. zc_shutdown releases
 * backends and devices; the library may be initialised again afterwards. */
typedef struct zc_config {
    int num_threads;         /* cpu backend worker threads; 0 = ZC_NUM_THREADS or all cores */
    const char *plugin_path; /* directory of backend plugins; NULL = ZC_PLUGIN_PATH or next to the library */
    const char *fault_inject;/* NULL = ZC_FAULT_INJECT */
    int disable_opencl;
    int disable_cuda;
} zc_config;

ZC_API zc_status zc_init(const zc_config *cfg);
ZC_API void zc_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif
