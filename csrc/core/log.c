/* Leveled logging with a replaceable sink. The level and sink are part of
 * the library's registry state; the sink is swapped under a lock so that a
 * callback never runs after zc_log_set_callback has replaced it. */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct {
    atomic_int level;
    pthread_mutex_t lock;
    zc_log_fn fn;
    void *user;
} log_state = {ZC_LOG_WARN, PTHREAD_MUTEX_INITIALIZER, NULL, NULL};

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void zc_log_set_level(zc_log_level level)
{
    if (level < ZC_LOG_ERROR)
        level = ZC_LOG_ERROR;
    if (level > ZC_LOG_TRACE)
        level = ZC_LOG_TRACE;
    atomic_store(&log_state.level, (int)level);
}

zc_log_level zc_log_get_level(void) { return (zc_log_level)atomic_load(&log_state.level); }

void zc_log_set_callback(zc_log_fn fn, void *user)
{
    pthread_mutex_lock(&log_state.lock);
    log_state.fn = fn;
    log_state.user = user;
    pthread_mutex_unlock(&log_state.lock);
}

void zc_log_init_from_env(void)
{
    const char *s = getenv("ZC_LOG_LEVEL");
    if (!s || !*s)
        return;
    if (isdigit((unsigned char)s[0])) {
        zc_log_set_level((zc_log_level)atoi(s));
        return;
    }
    for (int i = 0; i <= ZC_LOG_TRACE; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            zc_log_set_level((zc_log_level)i);
}

void zc_log(zc_log_level level, const char *module, const char *fmt, ...)
{
    if ((int)level > atomic_load(&log_state.level))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_state.lock);
    if (log_state.fn)
        log_state.fn(level, module, msg, log_state.user);
    else
        fprintf(stderr, "zkclob %s [%s] %s\n", level_names[level], module, msg);
    pthread_mutex_unlock(&log_state.lock);
}
