/* Internal helpers shared by the core modules. */
#ifndef ZC_CORE_INTERNAL_H
#define ZC_CORE_INTERNAL_H

#include "zkclob/core.h"

/* Record the thread's last error (with the calling function) and return st. */
zc_status zc_error_set(zc_status st, const char *backend, int device, const char *function, const char *fmt, ...)
    ZC_PRINTF(5, 6);

#define ZC_ERR(st, ...) zc_error_set((st), "", -1, __func__, __VA_ARGS__)
#define ZC_CHECK(expr)                                                                                         \
    do {                                                                                                       \
        zc_status zc_check_st_ = (expr);                                                                       \
        if (zc_check_st_ != ZC_OK)                                                                             \
            return zc_check_st_;                                                                               \
    } while (0)

/* Library state that the log module owns inside the registry. */
void zc_log_init_from_env(void);

/* Monotonic clock in nanoseconds. */
uint64_t zc_now_ns(void);
void zc_sleep_us(uint32_t us);

#endif
