/* L2 level arithmetic (kernels/md.h) against a plain sorted-array
 * reference: the portable search compiled here, and the library's (SSE2 on
 * x86-64 hosts) through zc_l2_apply, on books deeper than the block the
 * search counts at once and with capacities around it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The portable search, as OpenCL and CUDA compile it. */
#define ZC_L2_PORTABLE_FIND
#include "md.h"
#include "zkclob/zkclob.h"

#define MAX_CAP 64

typedef struct ref_side {
    double p[MAX_CAP], s[MAX_CAP], o[MAX_CAP];
    int64_t n, cap;
    int side;
} ref_side;

/* The documented rule written plainly: returns the zc_l2_set_level bits. */
static int ref_set(ref_side *r, double price, double size, double orders)
{
    int64_t j = 0;
    while (j < r->n && (r->side == ZC_L2_BID ? r->p[j] > price : r->p[j] < price))
        j++;
    int top = j == 0 ? ZC_L2_SET_TOP : 0;
    if (j < r->n && r->p[j] == price) {
        if (size == 0.0) {
            for (int64_t x = j; x + 1 < r->n; x++) {
                r->p[x] = r->p[x + 1];
                r->s[x] = r->s[x + 1];
                r->o[x] = r->o[x + 1];
            }
            r->n--;
        } else {
            r->s[j] = size;
            r->o[j] = orders;
        }
        return top;
    }
    if (size == 0.0)
        return 0;
    int bits = top;
    if (r->n == r->cap) {
        bits |= ZC_L2_SET_OVERFLOW;
        if (j == r->cap)
            return bits;
        r->n--;
    }
    for (int64_t x = r->n; x > j; x--) {
        r->p[x] = r->p[x - 1];
        r->s[x] = r->s[x - 1];
        r->o[x] = r->o[x - 1];
    }
    r->p[j] = price;
    r->s[j] = size;
    r->o[j] = orders;
    r->n++;
    return bits;
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void assert_same(const ref_side *r, const double *lv, int64_t n)
{
    assert_int_equal(n, r->n);
    for (int64_t j = 0; j < n; j++) {
        assert_true(lv[ZC_L2_LEVEL * j] == r->p[j]);
        assert_true(lv[ZC_L2_LEVEL * j + 1] == r->s[j]);
        assert_true(lv[ZC_L2_LEVEL * j + 2] == r->o[j]);
    }
}

static double op_price(int side, uint64_t v) { return (side == ZC_L2_BID ? 1000.0 - (double)v : 1000.0 + (double)v) * 0.25; }

static void test_portable_set_level_matches_reference(void **state)
{
    (void)state;
    const int64_t caps[] = {1, 4, 15, 16, 17, 40, 64};
    uint64_t x = 12345;
    for (size_t c = 0; c < sizeof caps / sizeof *caps; c++)
        for (int side = 0; side < 2; side++) {
            ref_side r = {.cap = caps[c], .side = side};
            double lv[MAX_CAP * ZC_L2_LEVEL] = {0};
            int64_t n = 0;
            for (int i = 0; i < 4000; i++) {
                double price = op_price(side, 1 + next_rand(&x) % 48);
                double size = next_rand(&x) % 5 == 0 ? 0.0 : (double)(1 + next_rand(&x) % 99);
                double orders = (double)(next_rand(&x) % 4);
                int want = ref_set(&r, price, size, orders);
                assert_int_equal(zc_l2_set_level(lv, &n, caps[c], side, price, size, orders), want);
                assert_same(&r, lv, n);
            }
        }
}

static void test_library_depth_matches_reference(void **state)
{
    (void)state;
    const uint32_t caps[] = {8, 16, 17, 40};
    uint64_t x = 777;
    for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
        zc_l2_config cfg = {2, caps[c], 0, 0, NULL};
        zc_l2 *b;
        assert_int_equal(zc_l2_create(&cfg, &b), ZC_OK);
        ref_side r[2][2];
        for (int s = 0; s < 2; s++)
            for (int side = 0; side < 2; side++)
                r[s][side] = (ref_side){.cap = caps[c], .side = side};
        enum { N = 3000 };
        zc_l2_msg *m = calloc(N, sizeof *m);
        zc_l2_quote *q = calloc(N, sizeof *q);
        assert_non_null(m);
        assert_non_null(q);
        uint64_t seq[2] = {0, 0};
        for (int i = 0; i < N; i++) {
            uint32_t s = (uint32_t)(next_rand(&x) % 2);
            m[i].symbol = s;
            m[i].seq = ++seq[s];
            m[i].side = (uint8_t)(next_rand(&x) % 2);
            /* Bids below asks, so that the book never crosses. */
            m[i].price = op_price(m[i].side, 1 + next_rand(&x) % 48);
            m[i].size = next_rand(&x) % 5 == 0 ? 0.0 : (double)(1 + next_rand(&x) % 99);
            m[i].orders = (uint32_t)(next_rand(&x) % 4);
            ref_set(&r[s][m[i].side], m[i].price, m[i].size, m[i].orders);
        }
        size_t nev;
        assert_int_equal(zc_l2_apply(b, m, N, q, NULL, 0, NULL, 0, &nev), ZC_OK);
        zc_array *levels, *counts;
        assert_int_equal(zc_l2_depth(b, &levels, &counts), ZC_OK);
        const double *lv = zc_array_data(levels);
        const int64_t *cnt = zc_array_data(counts);
        for (int s = 0; s < 2; s++)
            for (int side = 0; side < 2; side++)
                assert_same(&r[s][side], lv + ((size_t)s * 2 + (size_t)side) * caps[c] * ZC_L2_LEVEL,
                            cnt[s * 2 + side]);
        /* The last quote of each symbol is its final top of book. */
        for (int s = 0; s < 2; s++) {
            int last = N - 1;
            while (m[last].symbol != (uint32_t)s)
                last--;
            const ref_side *bid = &r[s][ZC_L2_BID], *ask = &r[s][ZC_L2_ASK];
            assert_true(bid->n ? q[last].bid == bid->p[0] && q[last].bid_size == bid->s[0] : isnan(q[last].bid));
            assert_true(ask->n ? q[last].ask == ask->p[0] && q[last].ask_size == ask->s[0] : isnan(q[last].ask));
        }
        zc_array_release(levels);
        zc_array_release(counts);
        free(m);
        free(q);
        zc_l2_destroy(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portable_set_level_matches_reference),
        cmocka_unit_test(test_library_depth_matches_reference),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown(); /* joins the worker threads, so that nothing is reported as leaked */
    return failed;
}
