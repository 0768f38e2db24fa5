/* Core: status classes, last error, logging, version, config, thread pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

static void test_status_classes(void **state)
{
    (void)state;
    assert_int_equal(zc_status_class(ZC_OK), ZC_CLASS_NONE);
    assert_int_equal(zc_status_class(ZC_ERR_INVALID_ARGUMENT), ZC_CLASS_INVALID_ARGUMENT);
    assert_int_equal(zc_status_class(ZC_ERR_NOT_FOUND), ZC_CLASS_INVALID_ARGUMENT);
    assert_int_equal(zc_status_class(ZC_ERR_OUT_OF_MEMORY), ZC_CLASS_OUT_OF_MEMORY);
    assert_int_equal(zc_status_class(ZC_ERR_DEVICE_OUT_OF_MEMORY), ZC_CLASS_OUT_OF_MEMORY);
    assert_int_equal(zc_status_class(ZC_ERR_BACKEND_UNAVAILABLE), ZC_CLASS_UNSUPPORTED);
    assert_int_equal(zc_status_class(ZC_ERR_TRANSIENT), ZC_CLASS_TRANSIENT);
    assert_int_equal(zc_status_class(ZC_ERR_TIMEOUT), ZC_CLASS_TRANSIENT);
    assert_int_equal(zc_status_class(ZC_ERR_DEVICE_LOST), ZC_CLASS_DEVICE_LOST);
    assert_int_equal(zc_status_class(ZC_ERR_ALL_DEVICES_FAILED), ZC_CLASS_DEVICE_LOST);
    assert_int_equal(zc_status_class(ZC_ERR_INTERNAL), ZC_CLASS_INTERNAL);
    assert_int_equal(zc_status_class(ZC_ERR_COMPILE), ZC_CLASS_INTERNAL);
    assert_string_equal(zc_status_str(ZC_ERR_TRANSIENT), "ZC_ERR_TRANSIENT");
    assert_string_equal(zc_status_str((zc_status)-999), "ZC_ERR_UNKNOWN");
    assert_string_equal(zc_error_class_str(ZC_CLASS_DEVICE_LOST), "device_lost");
}

static void test_last_error_has_context(void **state)
{
    (void)state;
    zc_clear_error();
    assert_string_equal(zc_last_error(), "");
    int id;
    assert_int_equal(zc_device_find("nonsense", &id), ZC_ERR_NOT_FOUND);
    zc_error_info info;
    zc_last_error_info(&info);
    assert_int_equal(info.status, ZC_ERR_NOT_FOUND);
    assert_string_equal(info.function, "zc_device_find");
    assert_non_null(strstr(info.message, "nonsense"));
    assert_non_null(strstr(zc_last_error(), "zc_device_find"));
    zc_clear_error();
    assert_string_equal(zc_last_error(), "");
}

typedef struct log_capture {
    int count;
    zc_log_level level;
    char module[32];
    char message[256];
} log_capture;

static void capture(zc_log_level level, const char *module, const char *message, void *user)
{
    log_capture *c = user;
    c->count++;
    c->level = level;
    snprintf(c->module, sizeof c->module, "%s", module);
    snprintf(c->message, sizeof c->message, "%s", message);
}

static void test_logging_levels_and_callback(void **state)
{
    (void)state;
    log_capture c = {0};
    zc_log_level old = zc_log_get_level();
    zc_log_set_callback(capture, &c);
    zc_log_set_level(ZC_LOG_WARN);
    zc_log(ZC_LOG_INFO, "test", "hidden %d", 1);
    assert_int_equal(c.count, 0);
    zc_log(ZC_LOG_WARN, "test", "shown %d", 2);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.level, ZC_LOG_WARN);
    assert_string_equal(c.module, "test");
    assert_string_equal(c.message, "shown 2");
    zc_log_set_level((zc_log_level)42); /* clamped */
    assert_int_equal(zc_log_get_level(), ZC_LOG_TRACE);
    zc_log_set_callback(NULL, NULL);
    zc_log_set_level(old);
}

static void test_version_and_build_info(void **state)
{
    (void)state;
    int major, minor, patch;
    zc_version_numbers(&major, &minor, &patch);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", major, minor, patch);
    assert_string_equal(zc_version(), expect);
    zc_build_info b;
    zc_build_info_get(&b);
    assert_string_equal(b.version, expect);
    assert_non_null(strstr(b.backends, "cpu"));
    assert_true(strlen(b.compiler) > 0);
}

static void test_init_config_threads(void **state)
{
    (void)state;
    zc_config cfg = {.num_threads = 3};
    assert_int_equal(zc_init(&cfg), ZC_OK);
    zc_device_info info;
    int cpu;
    assert_int_equal(zc_device_find("cpu", &cpu), ZC_OK);
    assert_int_equal(zc_device_info_get(cpu, &info), ZC_OK);
    assert_int_equal(info.threads, 3);
    assert_true(info.available);
    zc_config bad = {.fault_inject = "cpu:launch"};
    assert_int_equal(zc_init(&bad), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_init(NULL), ZC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_classes),
        cmocka_unit_test(test_last_error_has_context),
        cmocka_unit_test(test_logging_levels_and_callback),
        cmocka_unit_test(test_version_and_build_info),
        cmocka_unit_test(test_init_config_threads),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
