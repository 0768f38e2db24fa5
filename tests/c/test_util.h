/* Helpers shared by the C tests (header-only, so every test stays one source
 * file). Include after <cmocka.h> and "zkclob/zkclob.h". */
#ifndef ZC_TEST_UTIL_H
#define ZC_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64: reproducible test data, one stream per test program. */
static inline uint64_t rng(void)
{
    static uint64_t s = 0x2545F4914F6CDD1Dull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

/* The whole file as a NUL-terminated string (free it); a missing file fails
 * the test. */
static inline char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

/* out[0..n) from the first 2n hex digits of hex; a bad digit fails the test. */
static inline void unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* The call failed with `want` and an error message naming `fragment`. */
static inline void expect_error(zc_status got, zc_status want, const char *fragment)
{
    assert_int_equal(got, want);
    if (!strstr(zc_last_error(), fragment))
        fail_msg("error '%s' lacks '%s'", zc_last_error(), fragment);
}

/* A plain limit order. */
static inline zc_order lim(uint64_t id, uint32_t trader, uint32_t sym, int side, int64_t price, int64_t qty)
{
    zc_order o;
    memset(&o, 0, sizeof o);
    o.id = id;
    o.trader = trader;
    o.symbol = sym;
    o.side = (uint8_t)side;
    o.type = ZC_ORDER_LIMIT;
    o.price = price;
    o.qty = qty;
    return o;
}

/* ids of up to max available devices, CUDA ones only with `cuda`; at least
 * two must be there (cpu and a PoCL device). Returns how many. */
static inline int run_devices(int *ids, int max, int cuda)
{
    int n = 0;
    for (int id = 0; id < zc_device_count() && n < max; id++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(id, &info), ZC_OK);
        if (info.available && (cuda || info.backend != ZC_BACKEND_CUDA))
            ids[n++] = id;
    }
    assert_true(n >= 2);
    return n;
}

#endif
