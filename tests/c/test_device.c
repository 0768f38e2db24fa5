/* Device registry, health, retry/failover under fault injection, and the
 * Philox known answers on every executing device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

static int find(const char *spec)
{
    int id = -1;
    assert_int_equal(zc_device_find(spec, &id), ZC_OK);
    return id;
}

static void reset(void)
{
    assert_int_equal(zc_init(NULL), ZC_OK);
}

static int count_available(zc_backend_kind kind)
{
    int n = 0;
    for (int i = 0; i < zc_device_count(); i++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(i, &info), ZC_OK);
        n += info.backend == kind && info.available;
    }
    return n;
}

static void test_enumeration(void **state)
{
    (void)state;
    reset();
    int n = zc_device_count();
    assert_true(n >= 3); /* cpu, opencl (or its reason), cuda (or its reason) */
    int seen[ZC_BACKEND_COUNT] = {0};
    for (int i = 0; i < n; i++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(i, &info), ZC_OK);
        assert_int_equal(info.id, i);
        seen[info.backend]++;
        if (info.available) {
            assert_string_equal(info.reason, "");
            assert_true(strlen(info.name) > 0);
            assert_true(info.compute_units > 0);
            assert_true(info.global_mem_bytes > 0);
        } else {
            assert_true(strlen(info.reason) > 0);
        }
    }
    for (int k = 0; k < ZC_BACKEND_COUNT; k++)
        assert_true(seen[k] >= 1);
    zc_device_info cpu;
    assert_int_equal(zc_device_info_get(find("cpu"), &cpu), ZC_OK);
    assert_true(cpu.available);
    assert_true(cpu.threads >= 1);
    assert_true(cpu.caps & ZC_CAP_HOST_SHARED);
    zc_device_info bad;
    assert_int_equal(zc_device_info_get(n, &bad), ZC_ERR_NOT_FOUND);
    assert_int_equal(zc_device_info_get(-1, &bad), ZC_ERR_NOT_FOUND);
}

static void test_find_specs(void **state)
{
    (void)state;
    reset();
    int id;
    assert_int_equal(find("cpu:0"), find("cpu"));
    assert_int_equal(find("0"), 0);
    assert_int_equal(zc_device_find("auto", &id), ZC_OK);
    assert_int_equal(zc_device_find("cpu:7", &id), ZC_ERR_NOT_FOUND);
    assert_int_equal(zc_device_find("cpu:x", &id), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_device_find("cpu:", &id), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_device_find("tpu", &id), ZC_ERR_NOT_FOUND);
    assert_int_equal(zc_device_find("999", &id), ZC_ERR_NOT_FOUND);
    assert_int_equal(zc_device_find(NULL, &id), ZC_ERR_INVALID_ARGUMENT);
    if (zc_backend_unavailable_reason(ZC_BACKEND_CUDA)[0]) {
        assert_int_equal(zc_device_find("cuda", &id), ZC_ERR_BACKEND_UNAVAILABLE);
        assert_non_null(strstr(zc_last_error(), "unavailable"));
    }
}

/* Random123 kat_vectors (also ../shared/vectors/philox4x32_10.json). */
static const struct {
    uint32_t ctr[4], key[2], out[4];
} kat4x32[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

static void test_philox_known_answers_every_device(void **state)
{
    (void)state;
    reset();
    int checked = 0;
    for (int d = 0; d < zc_device_count(); d++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(d, &info), ZC_OK);
        if (!info.available)
            continue;
        for (size_t k = 0; k < sizeof kat4x32 / sizeof kat4x32[0]; k++) {
            zc_philox_params p = {ZC_PHILOX_4X32,
                                  {kat4x32[k].key[0] | (uint64_t)kat4x32[k].key[1] << 32, 0},
                                  {kat4x32[k].ctr[0] | (uint64_t)kat4x32[k].ctr[1] << 32,
                                   kat4x32[k].ctr[2] | (uint64_t)kat4x32[k].ctr[3] << 32, 0, 0}};
            uint32_t out[4] = {0};
            int dev = d;
            assert_int_equal(zc_philox_generate(&dev, &p, ZC_RANDOM_RAW, out, 4), ZC_OK);
            assert_int_equal(dev, d);
            assert_memory_equal(out, kat4x32[k].out, sizeof out);
        }
        assert_int_equal(zc_device_probe(d), ZC_OK);
        checked++;
    }
    assert_true(checked >= 1);
}

/* Philox4x64-10 in the numpy.random.Philox convention (counter + 1 before
 * each block): Philox(key=0, counter=0).random_raw(5) from NumPy 2.x. */
static void test_philox4x64_matches_numpy_words(void **state)
{
    (void)state;
    reset();
    static const uint64_t numpy_words[5] = {0x02f4ba6408e4d89bull, 0x3dd62b0b9ca8c5b2ull, 0x1c8667a55d902e79ull,
                                            0x907d7a052fd5b4dcull, 0x809bf322883987c3ull};
    zc_philox_params p = {ZC_PHILOX_4X64, {0, 0}, {0, 0, 0, 0}};
    uint64_t out[5];
    int dev = find("cpu");
    assert_int_equal(zc_philox_generate(&dev, &p, ZC_RANDOM_RAW, out, 5), ZC_OK);
    assert_memory_equal(out, numpy_words, sizeof out);
    /* Carry across all four counter words: c + 1 = (0,0,0,6) = c2 + 2, so the
     * second block of c2 is the first block of c. */
    zc_philox_params c = {ZC_PHILOX_4X64, {7, 9}, {~0ull, ~0ull, ~0ull, 5}};
    zc_philox_params c2 = {ZC_PHILOX_4X64, {7, 9}, {~0ull - 1, ~0ull, ~0ull, 5}};
    uint64_t a[4], b[8];
    assert_int_equal(zc_philox_generate(&dev, &c, ZC_RANDOM_RAW, a, 4), ZC_OK);
    assert_int_equal(zc_philox_generate(&dev, &c2, ZC_RANDOM_RAW, b, 8), ZC_OK);
    assert_memory_equal(a, b + 4, sizeof a);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    reset();
    int dev = find("cpu");
    uint64_t out[4];
    zc_philox_params p = {ZC_PHILOX_4X32, {0, 1}, {0}};
    assert_int_equal(zc_philox_generate(&dev, &p, ZC_RANDOM_RAW, out, 4), ZC_ERR_OUT_OF_RANGE);
    p.key[1] = 0;
    p.variant = (zc_philox_variant)9;
    assert_int_equal(zc_philox_generate(&dev, &p, ZC_RANDOM_RAW, out, 4), ZC_ERR_INVALID_ARGUMENT);
    p.variant = ZC_PHILOX_4X32;
    assert_int_equal(zc_philox_generate(&dev, &p, (zc_random_output)7, out, 4), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_philox_generate(&dev, &p, ZC_RANDOM_RAW, NULL, 4), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_philox_generate(&dev, &p, ZC_RANDOM_RAW, out, 0), ZC_OK);
    int missing = zc_device_count();
    assert_int_equal(zc_philox_generate(&missing, &p, ZC_RANDOM_RAW, out, 4), ZC_ERR_NOT_FOUND);
    zc_devbuf *b;
    assert_int_equal(zc_buf_alloc(dev, 0, &b), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_buf_alloc(dev, 64, &b), ZC_OK);
    assert_int_equal(zc_buf_read(b, 60, out, 8), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(zc_buf_write(b, SIZE_MAX, out, 8), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(zc_launch(dev, "no_such_kernel", 1, NULL, 0), ZC_ERR_NOT_FOUND);
    zc_buf_free(b);
    zc_policy pol;
    zc_policy_get(&pol);
    pol.backoff_multiplier = 0.5;
    assert_int_equal(zc_policy_set(&pol), ZC_ERR_INVALID_ARGUMENT);
    const char *bad_rules[] = {"cpu", "cpu:launch", "cpu:launch:0", "cpu:launch:2x0", "cpu:launch:1:maybe",
                               ":launch:1", "cpu:launch:1x"};
    for (size_t i = 0; i < sizeof bad_rules / sizeof bad_rules[0]; i++)
        assert_int_equal(zc_fault_inject_set(bad_rules[i]), ZC_ERR_INVALID_ARGUMENT);
}

static void fast_policy(zc_failover_mode mode)
{
    zc_policy pol = {3, 10, 100, 2.0, mode};
    assert_int_equal(zc_policy_set(&pol), ZC_OK);
}

static void reference_words(uint32_t *out, size_t n)
{
    zc_philox_params p = {ZC_PHILOX_4X32, {42, 0}, {7, 0, 0, 0}};
    int cpu = find("cpu");
    assert_int_equal(zc_philox_generate(&cpu, &p, ZC_RANDOM_RAW, out, n), ZC_OK);
}

static zc_status generate_on(int *dev, uint32_t *out, size_t n)
{
    zc_philox_params p = {ZC_PHILOX_4X32, {42, 0}, {7, 0, 0, 0}};
    return zc_philox_generate(dev, &p, ZC_RANDOM_RAW, out, n);
}

static void test_retry_succeeds(void **state)
{
    (void)state;
    reset();
    fast_policy(ZC_FAILOVER_ANY);
    uint32_t want[64], got[64];
    reference_words(want, 64);
    int cpu = find("cpu");
    zc_device_health h0;
    assert_int_equal(zc_device_health_get(cpu, &h0), ZC_OK);
    assert_int_equal(zc_fault_inject_set("cpu:launch:1x2"), ZC_OK);
    int dev = cpu;
    assert_int_equal(generate_on(&dev, got, 64), ZC_OK);
    assert_int_equal(dev, cpu);
    assert_memory_equal(got, want, sizeof want);
    zc_device_health h;
    assert_int_equal(zc_device_health_get(cpu, &h), ZC_OK);
    assert_int_equal(h.retries - h0.retries, 2);
    assert_int_equal(h.errors - h0.errors, 2);
    assert_int_equal(h.state, ZC_HEALTH_DEGRADED);
    assert_int_equal(h.last_status, ZC_ERR_TRANSIENT);
    assert_non_null(strstr(h.last_error, "injected"));
    /* A passing probe restores ok. */
    assert_int_equal(zc_device_probe(cpu), ZC_OK);
    assert_int_equal(zc_device_health_get(cpu, &h), ZC_OK);
    assert_int_equal(h.state, ZC_HEALTH_OK);
}

static void test_retries_exhausted(void **state)
{
    (void)state;
    reset();
    fast_policy(ZC_FAILOVER_ANY);
    assert_int_equal(zc_fault_inject_set("cpu:launch:1x100:transient"), ZC_OK);
    uint32_t got[8];
    int dev = find("cpu");
    assert_int_equal(generate_on(&dev, got, 8), ZC_ERR_TRANSIENT);
    assert_non_null(strstr(zc_last_error(), "retries exhausted after 4 attempts"));
    zc_device_health h;
    assert_int_equal(zc_device_health_get(find("cpu"), &h), ZC_OK);
    assert_int_equal(h.retries, 3);
}

static void test_failover_to_second_opencl_device(void **state)
{
    (void)state;
    reset();
    if (count_available(ZC_BACKEND_OPENCL) < 2)
        skip();
    fast_policy(ZC_FAILOVER_SAME_BACKEND);
    uint32_t want[1000], got[1000];
    reference_words(want, 1000);
    int first = find("opencl:0"), second = find("opencl:1");
    assert_int_equal(zc_fault_inject_set("opencl:launch:1:lost"), ZC_OK);
    int dev = first;
    assert_int_equal(generate_on(&dev, got, 1000), ZC_OK);
    assert_int_equal(dev, second);
    assert_memory_equal(got, want, sizeof want);
    zc_device_health h;
    assert_int_equal(zc_device_health_get(first, &h), ZC_OK);
    assert_int_equal(h.state, ZC_HEALTH_FAILED);
    assert_int_equal(h.failovers, 1);
    /* A failed device is skipped by name lookups and by later runs. */
    assert_int_equal(find("opencl"), second);
    dev = first;
    assert_int_equal(generate_on(&dev, got, 1000), ZC_OK);
    assert_int_equal(dev, second);
    /* Operator reset brings it back. */
    assert_int_equal(zc_device_reset_health(first), ZC_OK);
    assert_int_equal(find("opencl"), first);
}

static void test_failover_across_backends(void **state)
{
    (void)state;
    reset();
    fast_policy(ZC_FAILOVER_ANY);
    uint32_t want[100], got[100];
    reference_words(want, 100);
    /* Lose every opencl device: the work lands on the cpu backend. */
    assert_int_equal(zc_fault_inject_set("opencl:launch:1x10:lost,opencl:alloc:1x10:lost"), ZC_OK);
    int start = count_available(ZC_BACKEND_OPENCL) ? find("opencl") : find("cpu");
    int dev = start;
    assert_int_equal(generate_on(&dev, got, 100), ZC_OK);
    assert_int_equal(dev, find("cpu"));
    assert_memory_equal(got, want, sizeof want);
}

static void test_no_failover_policy(void **state)
{
    (void)state;
    reset();
    fast_policy(ZC_FAILOVER_NONE);
    assert_int_equal(zc_fault_inject_set("cpu:launch:1:lost"), ZC_OK);
    uint32_t got[8];
    int dev = find("cpu");
    assert_int_equal(generate_on(&dev, got, 8), ZC_ERR_DEVICE_LOST);
    assert_non_null(strstr(zc_last_error(), "injected device_lost"));
}

static void test_all_devices_failed(void **state)
{
    (void)state;
    reset();
    fast_policy(ZC_FAILOVER_ANY);
    assert_int_equal(zc_fault_inject_set("*:launch:1x1000:lost"), ZC_OK);
    uint32_t got[8];
    int dev = find("cpu");
    assert_int_equal(generate_on(&dev, got, 8), ZC_ERR_ALL_DEVICES_FAILED);
    assert_non_null(strstr(zc_last_error(), "all devices failed"));
    for (int i = 0; i < zc_device_count(); i++) {
        zc_device_health h;
        assert_int_equal(zc_device_health_get(i, &h), ZC_OK);
        assert_int_equal(h.state, ZC_HEALTH_FAILED);
    }
    /* Nothing healthy is left to run on. */
    dev = find("cpu");
    assert_int_equal(generate_on(&dev, got, 8), ZC_ERR_ALL_DEVICES_FAILED);
}

static void test_probe_failure_marks_failed(void **state)
{
    (void)state;
    reset();
    int cpu = find("cpu");
    assert_int_equal(zc_fault_inject_set("cpu:probe:1"), ZC_OK);
    assert_int_equal(zc_device_probe(cpu), ZC_ERR_TRANSIENT);
    zc_device_health h;
    assert_int_equal(zc_device_health_get(cpu, &h), ZC_OK);
    assert_int_equal(h.state, ZC_HEALTH_FAILED);
    assert_int_equal(h.probes, 1);
    assert_int_equal(zc_device_probe(cpu), ZC_OK);
    assert_int_equal(zc_device_health_get(cpu, &h), ZC_OK);
    assert_int_equal(h.state, ZC_HEALTH_OK);
}

static void test_fault_inject_from_config(void **state)
{
    (void)state;
    zc_config cfg = {.fault_inject = "cpu:alloc:2"};
    assert_int_equal(zc_init(&cfg), ZC_OK);
    int cpu = find("cpu");
    zc_devbuf *a, *b, *c;
    assert_int_equal(zc_buf_alloc(cpu, 8, &a), ZC_OK);
    assert_int_equal(zc_buf_alloc(cpu, 8, &b), ZC_ERR_TRANSIENT);
    assert_int_equal(zc_buf_alloc(cpu, 8, &c), ZC_OK);
    zc_buf_free(a);
    zc_buf_free(c);
}

static void test_thread_limit_same_words(void **state)
{
    (void)state;
    reset();
    int cpu = find("cpu");
    size_t n = 200003;
    uint64_t *one = malloc(n * 8), *all = malloc(n * 8);
    zc_philox_params p = {ZC_PHILOX_4X64, {3, 4}, {5, 6, 7, 8}};
    assert_int_equal(zc_device_set_threads(cpu, 1), ZC_OK);
    int dev = cpu;
    assert_int_equal(zc_philox_generate(&dev, &p, ZC_RANDOM_RAW, one, n), ZC_OK);
    assert_int_equal(zc_device_set_threads(cpu, 0), ZC_OK);
    assert_int_equal(zc_philox_generate(&dev, &p, ZC_RANDOM_RAW, all, n), ZC_OK);
    assert_memory_equal(one, all, n * 8);
    assert_int_equal(zc_device_set_threads(cpu, -1), ZC_ERR_INVALID_ARGUMENT);
    free(one);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumeration),
        cmocka_unit_test(test_find_specs),
        cmocka_unit_test(test_philox_known_answers_every_device),
        cmocka_unit_test(test_philox4x64_matches_numpy_words),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_retry_succeeds),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_failover_to_second_opencl_device),
        cmocka_unit_test(test_failover_across_backends),
        cmocka_unit_test(test_no_failover_policy),
        cmocka_unit_test(test_all_devices_failed),
        cmocka_unit_test(test_probe_failure_marks_failed),
        cmocka_unit_test(test_fault_inject_from_config),
        cmocka_unit_test(test_thread_limit_same_words),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
