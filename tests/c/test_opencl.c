/* OpenCL backend through the public API: device listing, Philox known
 * answers, bit-identity with the cpu backend, errors and the runtime
 * compiler. Runs on PoCL with POCL_DEVICES="pthread pthread". */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#define MAX_CL 8

/* Ids of the usable opencl devices, in backend order; returns their count. */
static int opencl_devices(int ids[MAX_CL])
{
    int n = 0;
    for (int id = 0; id < zc_device_count() && n < MAX_CL; id++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(id, &info), ZC_OK);
        if (info.backend == ZC_BACKEND_OPENCL && info.available)
            ids[n++] = id;
    }
    return n;
}

static void test_devices_listed(void **state)
{
    (void)state;
    int ids[MAX_CL];
    int n = opencl_devices(ids);
    assert_true(n >= 2);
    assert_string_equal(zc_backend_unavailable_reason(ZC_BACKEND_OPENCL), "");
    assert_non_null(strstr(zc_backend_runtime_version(ZC_BACKEND_OPENCL), "OpenCL ICD"));
    for (int i = 0; i < n; i++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(ids[i], &info), ZC_OK);
        assert_int_equal(info.id, ids[i]);
        assert_int_equal(info.backend_index, i);
        assert_int_equal(info.available, 1);
        assert_string_equal(info.reason, "");
        assert_true(info.name[0] && info.vendor[0] && info.driver_version[0]);
        assert_non_null(strstr(info.runtime_version, "OpenCL"));
        assert_non_null(strstr(info.language_version, "OpenCL C"));
        assert_non_null(strstr(info.platform, "OpenCL"));
        assert_true(info.extensions[0]);
        assert_true(info.compute_units >= 1);
        assert_true(info.global_mem_bytes >= (1u << 20));
        assert_true(info.local_mem_bytes >= 1024);
        assert_true(info.constant_mem_bytes >= 1024);
        assert_true(info.max_work_group_size >= 1);
        assert_true(info.caps & ZC_CAP_FP64); /* the kernels use doubles */
        assert_false(info.caps & ZC_CAP_HOST_SHARED);
    }
    int id;
    assert_int_equal(zc_device_find("opencl:1", &id), ZC_OK);
    assert_int_equal(id, ids[1]);
}

/* Random123 kat_vectors for philox4x32-10: counter x0..x3, key k0 k1, result. */
static const struct {
    uint32_t ctr[4], key[2], expect[4];
} kat[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

static uint64_t pair(uint32_t lo, uint32_t hi) { return (uint64_t)lo | (uint64_t)hi << 32; }

static void test_philox_known_answers(void **state)
{
    (void)state;
    int ids[MAX_CL];
    int n = opencl_devices(ids);
    for (int d = 0; d < n; d++) {
        zc_devbuf *buf;
        assert_int_equal(zc_buf_alloc(ids[d], 16, &buf), ZC_OK);
        for (size_t v = 0; v < sizeof kat / sizeof kat[0]; v++) {
            zc_karg args[] = {zc_arg_buf(buf),
                              zc_arg_u64(4),
                              zc_arg_u32(0),
                              zc_arg_u32(0),
                              zc_arg_u64(pair(kat[v].key[0], kat[v].key[1])),
                              zc_arg_u64(0),
                              zc_arg_u64(pair(kat[v].ctr[0], kat[v].ctr[1])),
                              zc_arg_u64(pair(kat[v].ctr[2], kat[v].ctr[3])),
                              zc_arg_u64(0),
                              zc_arg_u64(0)};
            assert_int_equal(zc_launch(ids[d], "zc_philox", 1, args, 10), ZC_OK);
            uint32_t got[4] = {0};
            assert_int_equal(zc_buf_read(buf, 0, got, sizeof got), ZC_OK);
            for (int j = 0; j < 4; j++)
                assert_int_equal(got[j], kat[v].expect[j]);
        }
        zc_buf_free(buf);
        assert_int_equal(zc_device_probe(ids[d]), ZC_OK);
    }
}

/* Box-Muller goes through log, sqrt, cos and sin, which OpenCL and glibc
 * may round differently in the last ulps. */
static void assert_normals_close(const double *a, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double diff = fabs(a[i] - b[i]);
        if (diff > 1e-12 * fmax(fabs(a[i]), fabs(b[i])))
            fail_msg("normal %zu: cpu %.17g, opencl %.17g", i, a[i], b[i]);
    }
}

static void test_philox_matches_cpu(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 3, 4, 5, 1000, 100003};
    /* Counters near a word boundary so the long streams cross a carry. */
    const zc_philox_params variants[] = {
        {ZC_PHILOX_4X32, {0x0123456789abcdefull, 0}, {0xffffffffffffff00ull, 7, 0, 0}},
        {ZC_PHILOX_4X64,
         {0x243f6a8885a308d3ull, 0x13198a2e03707344ull},
         {0xffffffffffffff00ull, 0xffffffffffffffffull, 5, 9}},
    };
    int ids[MAX_CL];
    int n = opencl_devices(ids);
    int cpu;
    assert_int_equal(zc_device_find("cpu", &cpu), ZC_OK);
    size_t max = sizes[sizeof sizes / sizeof sizes[0] - 1];
    void *want = malloc(max * 8);
    void *got = malloc(max * 8);
    assert_non_null(want);
    assert_non_null(got);
    for (int d = 0; d < n; d++)
        for (size_t v = 0; v < 2; v++)
            for (int o = ZC_RANDOM_RAW; o <= ZC_RANDOM_NORMAL; o++)
                for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                    zc_random_output out = (zc_random_output)o;
                    size_t bytes = sizes[s] * zc_random_elem_size(variants[v].variant, out);
                    int dev = cpu;
                    assert_int_equal(zc_philox_generate(&dev, &variants[v], out, want, sizes[s]), ZC_OK);
                    assert_int_equal(dev, cpu);
                    memset(got, 0xa5, bytes);
                    dev = ids[d];
                    assert_int_equal(zc_philox_generate(&dev, &variants[v], out, got, sizes[s]), ZC_OK);
                    assert_int_equal(dev, ids[d]); /* no silent failover to the cpu */
                    if (out == ZC_RANDOM_NORMAL)
                        assert_normals_close(want, got, sizes[s]);
                    else
                        assert_memory_equal(want, got, bytes);
                }
    free(want);
    free(got);
}

static void test_buffer_roundtrip_and_range(void **state)
{
    (void)state;
    int id;
    assert_int_equal(zc_device_find("opencl:1", &id), ZC_OK);
    zc_devbuf *buf;
    assert_int_equal(zc_buf_alloc(id, 64, &buf), ZC_OK);
    assert_null(zc_buf_host_ptr(buf));
    uint8_t in[64], out[64];
    for (int i = 0; i < 64; i++)
        in[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(zc_buf_write(buf, 0, in, sizeof in), ZC_OK);
    memset(out, 0, sizeof out);
    assert_int_equal(zc_buf_read(buf, 10, out, 20), ZC_OK);
    assert_memory_equal(out, in + 10, 20);
    assert_int_equal(zc_buf_write(buf, 60, in, 4), ZC_OK);
    assert_int_equal(zc_buf_read(buf, 60, out, 4), ZC_OK);
    assert_memory_equal(out, in, 4);

    zc_clear_error();
    assert_int_equal(zc_buf_read(buf, 48, out, 17), ZC_ERR_OUT_OF_RANGE);
    assert_true(zc_last_error()[0]);
    assert_int_equal(zc_buf_read(buf, 65, out, 0), ZC_ERR_OUT_OF_RANGE);
    zc_buf_free(buf);
}

static void test_kernel_errors(void **state)
{
    (void)state;
    int id;
    assert_int_equal(zc_device_find("opencl:0", &id), ZC_OK);
    zc_devbuf *buf;
    assert_int_equal(zc_buf_alloc(id, 16, &buf), ZC_OK);
    zc_karg args[] = {zc_arg_buf(buf)};

    zc_clear_error();
    assert_int_equal(zc_launch(id, "zc_no_such_kernel", 1, args, 1), ZC_ERR_NOT_FOUND);
    assert_non_null(strstr(zc_last_error(), "zc_no_such_kernel"));
    assert_non_null(strstr(zc_last_error(), "opencl"));

    /* Too few arguments must not run with stale ones from an earlier launch. */
    zc_clear_error();
    assert_int_equal(zc_launch(id, "zc_philox", 1, args, 1), ZC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zc_last_error(), "zc_philox"));
    zc_buf_free(buf);

    /* Expected errors leave the device usable. */
    zc_device_health health;
    assert_int_equal(zc_device_health_get(id, &health), ZC_OK);
    assert_int_not_equal(health.state, ZC_HEALTH_FAILED);
}

static void test_compile(void **state)
{
    (void)state;
    const char *plain = "__kernel void fill(__global int *o) { o[get_global_id(0)] = 3; }\n";
    void *bin = NULL;
    size_t bytes = 0;
    char log[4096];
    assert_int_equal(zc_backend_compile(ZC_BACKEND_OPENCL, plain, NULL, &bin, &bytes, log, sizeof log), ZC_OK);
    assert_non_null(bin);
    assert_true(bytes > 0);
    zc_free(bin);

    /* arch, when given, is passed on as build options. */
    const char *valid = "__kernel void fill(__global int *o) { o[get_global_id(0)] = VALUE; }\n";
    bin = NULL;
    bytes = 0;
    assert_int_equal(zc_backend_compile(ZC_BACKEND_OPENCL, valid, "-DVALUE=3", &bin, &bytes, log, sizeof log),
                     ZC_OK);
    assert_non_null(bin);
    assert_true(bytes > 0);
    zc_free(bin);

    /* Without the define the same source fails, with the compiler's log. */
    bin = NULL;
    bytes = 0;
    zc_clear_error();
    assert_int_equal(zc_backend_compile(ZC_BACKEND_OPENCL, valid, NULL, &bin, &bytes, log, sizeof log),
                     ZC_ERR_COMPILE);
    assert_null(bin);
    assert_non_null(strstr(log, "VALUE"));
    assert_non_null(strstr(zc_last_error(), "CL_BUILD_PROGRAM_FAILURE"));

    const char *invalid = "__kernel void broken(__global int *o) { o[0] = ; }\n";
    log[0] = '\0';
    assert_int_equal(zc_backend_compile(ZC_BACKEND_OPENCL, invalid, "", &bin, &bytes, log, sizeof log),
                     ZC_ERR_COMPILE);
    assert_null(bin);
    assert_true(strlen(log) > 0);
    /* A tiny log buffer is truncated, not overrun. */
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(zc_backend_compile(ZC_BACKEND_OPENCL, invalid, NULL, &bin, &bytes, small, 4),
                     ZC_ERR_COMPILE);
    assert_int_equal(strlen(small), 3);
    assert_int_equal(small[4], 'x');
}

/* Shutdown releases every OpenCL object; a second init lists and runs the
 * same devices. */
static void test_reinit(void **state)
{
    (void)state;
    int before[MAX_CL], after[MAX_CL];
    int n = opencl_devices(before);
    zc_shutdown();
    assert_int_equal(opencl_devices(after), n);
    assert_memory_equal(before, after, (size_t)n * sizeof before[0]);
    for (int d = 0; d < n; d++)
        assert_int_equal(zc_device_probe(after[d]), ZC_OK);
}

int main(void)
{
    /* ctest sets this; keep a direct run on the same two PoCL devices. */
    setenv("POCL_DEVICES", "pthread pthread", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices_listed),
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_philox_matches_cpu),
        cmocka_unit_test(test_buffer_roundtrip_and_range),
        cmocka_unit_test(test_kernel_errors),
        cmocka_unit_test(test_compile),
        cmocka_unit_test(test_reinit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
