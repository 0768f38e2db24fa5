/* The cuda backend: honest reporting without a driver, results identical to
 * the cpu backend on a GPU, NVRTC compilation without a device, and the
 * architectures in the plugin's fatbinary. */
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

/* build/gen/cuda_sources.c: the sources in kernels/cuda, includes inlined. */
extern const char *const zc_cu_sources[];
extern const char *const zc_cu_names[];

/* Ids of the cuda devices that can run, in listing order. */
static int usable_cuda_devices(int *ids, int cap)
{
    int n = 0;
    for (int i = 0; i < zc_device_count(); i++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(i, &info), ZC_OK);
        if (info.backend == ZC_BACKEND_CUDA && info.available && n < cap)
            ids[n++] = i;
    }
    return n;
}

static void test_no_driver_is_reported(void **state)
{
    (void)state;
    const char *reason = zc_backend_unavailable_reason(ZC_BACKEND_CUDA);
    if (!reason[0])
        skip(); /* a driver is present: test_devices_listed covers that case */
    assert_non_null(strstr(reason, "cudaError"));
    const char *version = zc_backend_runtime_version(ZC_BACKEND_CUDA);
    assert_int_equal(strncmp(version, "runtime ", 8), 0);
    assert_non_null(strstr(version, ", driver "));

    int listed = 0;
    for (int i = 0; i < zc_device_count(); i++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(i, &info), ZC_OK);
        if (info.backend != ZC_BACKEND_CUDA)
            continue;
        listed++;
        assert_int_equal(info.available, 0);
        assert_string_equal(info.reason, reason);
        /* The placeholder refuses work instead of crashing. */
        zc_devbuf *b = NULL;
        assert_int_equal(zc_buf_alloc(i, 64, &b), ZC_ERR_BACKEND_UNAVAILABLE);
        assert_null(b);
        assert_int_equal(zc_device_probe(i), ZC_ERR_BACKEND_UNAVAILABLE);
    }
    assert_int_equal(listed, 1);

    zc_clear_error();
    int id = -1;
    assert_int_equal(zc_device_find("cuda", &id), ZC_ERR_BACKEND_UNAVAILABLE);
    assert_non_null(strstr(zc_last_error(), "cudaError"));
    assert_int_equal(zc_device_find("cuda:0", &id), ZC_ERR_BACKEND_UNAVAILABLE);
    /* "auto" falls back to another backend. */
    assert_int_equal(zc_device_find("auto", &id), ZC_OK);
    zc_device_info info;
    assert_int_equal(zc_device_info_get(id, &info), ZC_OK);
    assert_int_not_equal(info.backend, ZC_BACKEND_CUDA);
    print_message("cuda unavailable: %s [%s]\n", reason, version);
}

static void test_devices_listed(void **state)
{
    (void)state;
    int ids[64];
    if (usable_cuda_devices(ids, 64) == 0)
        skip();
    assert_string_equal(zc_backend_unavailable_reason(ZC_BACKEND_CUDA), "");
    assert_null(strstr(zc_backend_runtime_version(ZC_BACKEND_CUDA), "driver none"));
    for (int i = 0; i < zc_device_count(); i++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(i, &info), ZC_OK);
        if (info.backend != ZC_BACKEND_CUDA)
            continue;
        int sm = 0; /* sm_XY: major X (one or more digits), minor Y */
        assert_int_equal(sscanf(info.language_version, "sm_%d", &sm), 1);
        if (!info.available) {
            assert_true(info.reason[0] != '\0');
            continue;
        }
        assert_true(sm / 10 >= 7);
        assert_string_equal(info.vendor, "NVIDIA");
        assert_true(info.caps & ZC_CAP_GPU);
        assert_true(info.caps & ZC_CAP_FP64);
        assert_true(info.compute_units > 0);
        assert_true(info.global_mem_bytes > 0);
        assert_true(info.local_mem_bytes > 0);
        assert_true(info.max_work_group_size >= 256);
        assert_int_equal(zc_device_probe(i), ZC_OK);
        print_message("cuda device %d: %s %s, %u SMs\n", i, info.name, info.language_version, info.compute_units);
    }
}

static void test_buffers_and_unknown_kernel(void **state)
{
    (void)state;
    int ids[64];
    int n = usable_cuda_devices(ids, 64);
    if (n == 0)
        skip();
    for (int d = 0; d < n; d++) {
        uint8_t in[1000], out[1000];
        for (int i = 0; i < 1000; i++)
            in[i] = (uint8_t)(i * 7 + 3);
        zc_devbuf *b;
        assert_int_equal(zc_buf_alloc(ids[d], 4096, &b), ZC_OK);
        assert_null(zc_buf_host_ptr(b));
        assert_int_equal(zc_buf_write(b, 123, in, sizeof in), ZC_OK);
        assert_int_equal(zc_buf_read(b, 123, out, sizeof out), ZC_OK);
        assert_memory_equal(in, out, sizeof in);
        zc_karg arg = zc_arg_buf(b);
        assert_int_equal(zc_launch(ids[d], "zc_no_such_kernel", 1, &arg, 1), ZC_ERR_NOT_FOUND);
        zc_buf_free(b);
    }
}

/* Generates n elements on `dev` and on the cpu device; raw words and
 * uniforms must match bit for bit, normals (which go through log, sqrt,
 * sin and cos) within 1e-12 relative to max(1, |x|). */
static void compare_with_cpu(int dev, int cpu, zc_philox_variant variant, zc_random_output output, size_t n)
{
    zc_philox_params p = {variant, {0x0123456789abcdefull, 0}, {0xfffffffffffffff0ull, 7, 0, 0}};
    if (variant == ZC_PHILOX_4X64) {
        p.key[1] = 0xfedcba9876543210ull;
        p.counter[1] = UINT64_MAX; /* exercises the carry into counter[2] */
        p.counter[2] = 5;
        p.counter[3] = 9;
    }
    size_t bytes = n * zc_random_elem_size(variant, output);
    uint8_t *got = malloc(bytes), *want = malloc(bytes);
    assert_non_null(got);
    assert_non_null(want);
    int ran = dev;
    assert_int_equal(zc_philox_generate(&ran, &p, output, got, n), ZC_OK);
    assert_int_equal(ran, dev); /* no silent failover to another device */
    ran = cpu;
    assert_int_equal(zc_philox_generate(&ran, &p, output, want, n), ZC_OK);
    if (output != ZC_RANDOM_NORMAL) {
        assert_memory_equal(got, want, bytes);
    } else {
        const double *g = (const double *)got, *w = (const double *)want;
        for (size_t i = 0; i < n; i++)
            if (!(fabs(g[i] - w[i]) <= 1e-12 * fmax(1.0, fabs(w[i]))))
                fail_msg("normal %zu: cuda %.17g, cpu %.17g", i, g[i], w[i]);
    }
    free(got);
    free(want);
}

static void test_philox_matches_cpu(void **state)
{
    (void)state;
    int ids[64];
    int n = usable_cuda_devices(ids, 64);
    if (n == 0)
        skip();
    int cpu;
    assert_int_equal(zc_device_find("cpu", &cpu), ZC_OK);
    const zc_philox_variant variants[] = {ZC_PHILOX_4X32, ZC_PHILOX_4X64};
    const zc_random_output outputs[] = {ZC_RANDOM_RAW, ZC_RANDOM_UNIFORM, ZC_RANDOM_NORMAL};
    /* Sizes that end mid-block and span several thread blocks. */
    const size_t sizes[] = {1, 3, 1027, 200003};
    for (int d = 0; d < n; d++)
        for (int v = 0; v < 2; v++)
            for (int o = 0; o < 3; o++)
                for (int s = 0; s < 4; s++)
                    compare_with_cpu(ids[d], cpu, variants[v], outputs[o], sizes[s]);
}

static void test_nvrtc_compiles_every_kernel(void **state)
{
    (void)state;
    /* Every source for sm_80; the first one also for sm_90 and the default
     * arch (sm_80). NVRTC is slow on the large hash kernels, so not all x3. */
    const char *archs[] = {"sm_80", "sm_90", NULL};
    assert_non_null(zc_cu_sources[0]);
    for (int i = 0; zc_cu_sources[i]; i++)
        for (int a = 0; a < (i == 0 ? 3 : 1); a++) {
            void *bin = NULL;
            size_t bytes = 0;
            char log[4096];
            zc_status st = zc_backend_compile(ZC_BACKEND_CUDA, zc_cu_sources[i], archs[a], &bin, &bytes, log,
                                              sizeof log);
            if (st != ZC_OK)
                fail_msg("%s for %s: %s\n%s", zc_cu_names[i], archs[a] ? archs[a] : "default", zc_last_error(), log);
            assert_non_null(bin);
            assert_true(bytes > 4);
            assert_memory_equal(bin, "\x7f" "ELF", 4);
            zc_free(bin);
        }
}

static void test_nvrtc_reports_errors(void **state)
{
    (void)state;
    void *bin = NULL;
    size_t bytes = 0;
    char log[4096] = "";
    assert_int_equal(zc_backend_compile(ZC_BACKEND_CUDA, "extern \"C\" __global__ void k() { undeclared = 1; }",
                                        "sm_80", &bin, &bytes, log, sizeof log),
                     ZC_ERR_COMPILE);
    assert_null(bin);
    assert_non_null(strstr(log, "undeclared"));
    assert_non_null(strstr(zc_last_error(), "undeclared"));

    assert_int_equal(zc_backend_compile(ZC_BACKEND_CUDA, zc_cu_sources[0], "sm_1", &bin, &bytes, log, sizeof log),
                     ZC_ERR_INVALID_ARGUMENT);
    assert_null(bin);
}

static void test_fatbinary_has_sm80_and_sm90(void **state)
{
    (void)state;
    if (!ZC_CUOBJDUMP[0]) {
        print_message("cuobjdump not found at configure time (pip install nvidia-cuda-cuobjdump)\n");
        skip();
    }
    FILE *f = popen("'" ZC_CUOBJDUMP "' --list-elf '" ZC_BINARY_DIR "/lib/libzkclob_cuda.so' 2>&1", "r");
    assert_non_null(f);
    char text[8192];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    int rc = pclose(f);
    if (rc != 0)
        fail_msg("cuobjdump failed (%d):\n%s", rc, text);
    assert_non_null(strstr(text, "sm_80"));
    assert_non_null(strstr(text, "sm_90"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_driver_is_reported),
        cmocka_unit_test(test_devices_listed),
        cmocka_unit_test(test_buffers_and_unknown_kernel),
        cmocka_unit_test(test_philox_matches_cpu),
        cmocka_unit_test(test_nvrtc_compiles_every_kernel),
        cmocka_unit_test(test_nvrtc_reports_errors),
        cmocka_unit_test(test_fatbinary_has_sm80_and_sm90),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
