/* The NTT pass plans: the GPU plan (few stages per launch, one lane per work
 * item, untiled bit reversal) is what CUDA and OpenCL GPUs run; here it runs
 * on the cpu device and on the OpenCL devices present (PoCL, which otherwise
 * gets the cpu plan) and must give the bits of the cpu plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zk/ntt_internal.h"
#include "zkclob/zkclob.h"

static uint64_t rng_state = 12345;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One transform with the chosen plan, staged as zc_ntt does. */
static void run_plan(int dev, int cpu_style, const zc_ntt_params *p, const void *in, void *out, uint32_t log_rows,
                     size_t cols)
{
    const zc_field_desc *f = zc_field_lookup(p->field);
    assert_non_null(f);
    zc_zk_dev d;
    assert_int_equal(zc_zk_dev_open(dev, f, &d), ZC_OK);
    d.cpu_style = cpu_style;
    size_t bytes = (f->esz * cols) << log_rows;
    zc_devbuf *src = NULL, *dst = NULL;
    assert_int_equal(zc_zk_stage_out(&d, out, bytes, &dst), ZC_OK);
    if (d.shared)
        assert_int_equal(zc_zk_stage_in(&d, in, bytes, &src), ZC_OK);
    else
        assert_int_equal(zc_buf_write(dst, 0, in, bytes), ZC_OK);
    zc_ntt_engine e;
    zc_ntt_engine_init(&e, &d);
    int rev_in = p->order == ZC_NTT_RN || p->order == ZC_NTT_RR;
    int rev_out = p->order == ZC_NTT_NR || p->order == ZC_NTT_RR;
    assert_int_equal(zc_ntt_engine_run(&e, src ? src : dst, dst, log_rows, cols, p->inverse, rev_in, rev_out, p->coset),
                     ZC_OK);
    assert_int_equal(zc_zk_stage_finish(&d, dst, out, bytes), ZC_OK);
    zc_ntt_engine_free(&e);
    zc_buf_free(src);
    zc_buf_free(dst);
}

/* Shapes that cover one and several passes and tile sizes, narrow and wide
 * rows; `nlogs` of them. */
static const uint32_t logs[] = {0, 1, 4, 5, 9, 3, 12};
static const size_t cols[] = {1, 3, 16};

static void check_device(int dev, size_t nlogs)
{
    for (int field = 0; field < 2; field++)
        for (size_t li = 0; li < nlogs; li++)
            for (size_t ci = 0; ci < sizeof cols / sizeof cols[0]; ci++) {
                size_t count = cols[ci] << logs[li], esz = field ? 8 : 4;
                uint64_t p = field ? ZC_GOLDILOCKS_P : ZC_BABYBEAR_P;
                uint8_t *in = malloc(count * esz), *want = malloc(count * esz), *got = malloc(count * esz);
                assert_non_null(in);
                assert_non_null(want);
                assert_non_null(got);
                for (size_t k = 0; k < count; k++) {
                    uint64_t v = rnd() % p;
                    if (esz == 4)
                        ((uint32_t *)in)[k] = (uint32_t)v;
                    else
                        ((uint64_t *)in)[k] = v;
                }
                for (int variant = 0; variant < 16; variant++) {
                    zc_ntt_params prm = {(zc_field)field, variant & 1, (zc_ntt_order)((variant >> 1) & 3),
                                         variant >> 3};
                    int cpu = 0;
                    assert_int_equal(zc_ntt(&cpu, &prm, in, want, (size_t)1 << logs[li], cols[ci]), ZC_OK);
                    memset(got, 0xff, count * esz);
                    run_plan(dev, 0, &prm, in, got, logs[li], cols[ci]);
                    if (memcmp(got, want, count * esz) != 0)
                        fail_msg("device %d, GPU plan: field %d, 2^%u x %zu, variant %d differs", dev, field, logs[li],
                                 cols[ci], variant);
                }
                free(in);
                free(want);
                free(got);
            }
}

static void test_gpu_plan_on_cpu(void **state)
{
    (void)state;
    int cpu;
    assert_int_equal(zc_device_find("cpu", &cpu), ZC_OK);
    check_device(cpu, sizeof logs / sizeof logs[0]);
}

/* The first OpenCL device, with the shapes that keep PoCL quick. */
static void test_gpu_plan_on_opencl(void **state)
{
    (void)state;
    int dev;
    if (zc_device_find("opencl", &dev) != ZC_OK)
        skip();
    check_device(dev, 5);
}

/* Statically linked: the plugins are not next to the executable. */
static int setup(void **state)
{
    (void)state;
    zc_config cfg = {.plugin_path = ZC_BINARY_DIR "/lib", .disable_cuda = 1};
    return zc_init(&cfg) == ZC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    zc_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpu_plan_on_cpu),
        cmocka_unit_test(test_gpu_plan_on_opencl),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
