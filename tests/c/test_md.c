/* Market data from C: indicator known answers and the gap rule, cpu vs
 * opencl, streaming vs batch, L2 sequencing and metrics, bars and order
 * flow, and argument errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

static int cpu_device(void)
{
    int dev;
    assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
    return dev;
}

static void test_sma_ema_known_answers(void **state)
{
    (void)state;
    double x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, sma[10], ema[10];
    double *o1[3] = {sma, NULL, NULL}, *o2[3] = {ema, NULL, NULL};
    zc_md_indicator s = {ZC_MD_SMA, {3, 0, 0}, {0, 0}}, e = {ZC_MD_EMA, {3, 0, 0}, {0, 0}};
    int dev = cpu_device();
    assert_int_equal(zc_md_indicator_batch(&dev, &s, 1, 10, NULL, NULL, x, NULL, o1), ZC_OK);
    assert_int_equal(zc_md_indicator_batch(&dev, &e, 1, 10, NULL, NULL, x, NULL, o2), ZC_OK);
    assert_true(isnan(sma[0]) && isnan(sma[1]) && isnan(ema[1]));
    for (int t = 2; t < 10; t++)
        assert_true(sma[t] == (double)t); /* mean of t-1, t, t+1 */
    /* EMA seeded by the SMA of the first 3 (= 2), then k = 0.5. */
    assert_true(ema[2] == 2.0 && ema[3] == 3.0 && ema[4] == 4.0);
    assert_int_equal(zc_md_indicator_lookback(&s), 2);
    assert_int_equal(zc_md_indicator_outputs(&s), 1);
}

static void test_gap_restarts_the_indicator(void **state)
{
    (void)state;
    double x[9] = {1, 2, 3, NAN, 5, 6, 7, INFINITY, 9}, out[9];
    double *o[3] = {out, NULL, NULL};
    zc_md_indicator s = {ZC_MD_SMA, {2, 0, 0}, {0, 0}};
    int dev = cpu_device();
    assert_int_equal(zc_md_indicator_batch(&dev, &s, 1, 9, NULL, NULL, x, NULL, o), ZC_OK);
    double want[9] = {NAN, 1.5, 2.5, NAN, NAN, 5.5, 6.5, NAN, NAN};
    for (int t = 0; t < 9; t++)
        assert_true(isnan(want[t]) ? isnan(out[t]) : out[t] == want[t]);
}

static void test_checks_and_errors(void **state)
{
    (void)state;
    zc_md_indicator bad_rsi = {ZC_MD_RSI, {1, 0, 0}, {0, 0}};
    zc_md_indicator bad_kind = {(zc_md_kind)99, {5, 0, 0}, {0, 0}};
    zc_md_indicator bands = {ZC_MD_BBANDS, {5, 0, 0}, {NAN, 2.0}};
    assert_int_equal(zc_md_indicator_check(&bad_rsi), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(zc_md_indicator_check(&bad_kind), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_md_indicator_check(&bands), ZC_ERR_INVALID_ARGUMENT);
    assert_null(zc_md_kind_name((zc_md_kind)99));
    assert_string_equal(zc_md_kind_name(ZC_MD_MACD), "macd");

    double c[4] = {1, 2, 3, 4}, v[4] = {1, -1, 1, 1}, out[4];
    double *o[3] = {out, NULL, NULL};
    zc_md_indicator obv = {ZC_MD_OBV, {0, 0, 0}, {0, 0}};
    int dev = cpu_device();
    assert_int_equal(zc_md_indicator_batch(&dev, &obv, 1, 4, NULL, NULL, c, v, o), ZC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zc_last_error(), "negative"));
    assert_int_equal(zc_md_indicator_batch(&dev, &obv, 1, 4, NULL, NULL, c, NULL, o), ZC_ERR_INVALID_ARGUMENT);
}

/* A random walk, nsym x n, with a flat stretch and a gap. */
static void walk(double *h, double *l, double *c, double *v, size_t nsym, size_t n)
{
    uint64_t r = 88172645463325252ull;
    for (size_t s = 0; s < nsym; s++) {
        double x = 100.0 + (double)s;
        for (size_t t = 0; t < n; t++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            if (t < 100 || t > 140)
                x += (double)(r % 2001) / 1000.0 - 1.0;
            size_t i = s * n + t;
            c[i] = x;
            h[i] = x + (double)(r % 7) / 10.0;
            l[i] = x - (double)(r % 5) / 10.0;
            v[i] = (double)(r % 1000);
        }
    }
    c[n + 50] = NAN;
}

static void test_opencl_equals_cpu(void **state)
{
    (void)state;
    int ocl;
    if (zc_device_find("opencl", &ocl) != ZC_OK) {
        skip();
        return;
    }
    enum { S = 3, N = 400 };
    static double h[S * N], l[S * N], c[S * N], v[S * N], a[3][S * N], b[3][S * N];
    walk(h, l, c, v, S, N);
    for (int k = 0; k < ZC_MD_KIND_COUNT; k++) {
        zc_md_indicator ind = {(zc_md_kind)k, {14, 26, 9}, {2.0, 1.5}};
        if (k == ZC_MD_MACD)
            ind.period[0] = 12;
        if (k == ZC_MD_STOCH)
            ind.period[0] = 5, ind.period[1] = 3, ind.period[2] = 3;
        double *oa[3] = {a[0], a[1], a[2]}, *ob[3] = {b[0], b[1], b[2]};
        int cpu = cpu_device(), dev = ocl;
        assert_int_equal(zc_md_indicator_batch(&cpu, &ind, S, N, h, l, c, v, oa), ZC_OK);
        assert_int_equal(zc_md_indicator_batch(&dev, &ind, S, N, h, l, c, v, ob), ZC_OK);
        for (int q = 0; q < zc_md_indicator_outputs(&ind); q++)
            for (int i = 0; i < S * N; i++)
                assert_true(isnan(a[q][i]) ? isnan(b[q][i]) : a[q][i] == b[q][i]);
    }
}

static void test_stream_equals_batch(void **state)
{
    (void)state;
    enum { S = 2, N = 300 };
    static double h[S * N], l[S * N], c[S * N], v[S * N], batch[3][S * N], out[4 * S * N];
    walk(h, l, c, v, S, N);
    zc_md_indicator inds[2] = {{ZC_MD_MACD, {12, 26, 9}, {0, 0}}, {ZC_MD_ADX, {14, 0, 0}, {0, 0}}};
    zc_md_stream *s;
    assert_int_equal(zc_md_stream_create(S, inds, 2, &s), ZC_OK);
    assert_int_equal(zc_md_stream_columns(s), 4);
    assert_int_equal(zc_md_stream_inputs(s), ZC_MD_IN_HIGH | ZC_MD_IN_LOW | ZC_MD_IN_CLOSE);
    /* One bar at a time: inputs (S x 1) gathered from the rows. */
    for (int t = 0; t < N; t++) {
        double hh[S], ll[S], cc[S], o[4 * S];
        for (int k = 0; k < S; k++)
            hh[k] = h[k * N + t], ll[k] = l[k * N + t], cc[k] = c[k * N + t];
        assert_int_equal(zc_md_stream_update(s, 1, hh, ll, cc, NULL, o), ZC_OK);
        for (int col = 0; col < 4; col++)
            for (int k = 0; k < S; k++)
                out[(col * S + k) * N + t] = o[col * S + k];
    }
    int dev = cpu_device();
    for (int j = 0; j < 2; j++) {
        double *o[3] = {batch[0], batch[1], batch[2]};
        assert_int_equal(zc_md_indicator_batch(&dev, &inds[j], S, N, h, l, c, v, o), ZC_OK);
        for (int q = 0; q < zc_md_indicator_outputs(&inds[j]); q++)
            for (int i = 0; i < S * N; i++) {
                double got = out[((j == 0 ? q : 3) * S) * N + i];
                assert_true(isnan(batch[q][i]) ? isnan(got) : got == batch[q][i]);
            }
    }
    zc_md_stream_destroy(s);
}

/* Streams of 9 symbols (two groups of 4 that go through the AVX2 lock-step
 * path, and a lone one): one bar per call, a chunk of bars, then ticks. The
 * walk puts a gap in symbol 1 at bar 50 (group 0 leaves lock step with the
 * chunk that holds it) and ticks move group 1 to the scalar path with its
 * state exported; every output equals the batch. */
static void test_stream_vector_groups_equal_batch(void **state)
{
    (void)state;
    enum { S = 9, N = 240, C = 10 };
    static double h[S * N], l[S * N], c[S * N], v[S * N], batch[3][S * N], out[C][S * N];
    walk(h, l, c, v, S, N);
    zc_md_indicator inds[4] = {{ZC_MD_MACD, {12, 26, 9}, {0, 0}},
                               {ZC_MD_CCI, {14, 0, 0}, {0, 0}},
                               {ZC_MD_STOCH, {5, 3, 3}, {0, 0}},
                               {ZC_MD_BBANDS, {20, 0, 0}, {2.0, 1.5}}};
    zc_md_stream *s;
    assert_int_equal(zc_md_stream_create(S, inds, 4, &s), ZC_OK);
    assert_int_equal(zc_md_stream_columns(s), C - 1);
    static double hh[S * N], ll[S * N], cc[S * N], o[C * S * N];
    int t = 0;
    /* k bars for every symbol: inputs (S x k) from the rows, outputs (columns x S x k) back into out. */
    for (int k; t < 200; t += k) {
        k = t < 40 ? 1 : 160;
        for (int sym = 0; sym < S; sym++)
            for (int j = 0; j < k; j++) {
                hh[sym * k + j] = h[sym * N + t + j];
                ll[sym * k + j] = l[sym * N + t + j];
                cc[sym * k + j] = c[sym * N + t + j];
            }
        assert_int_equal(zc_md_stream_update(s, (size_t)k, hh, ll, cc, NULL, o), ZC_OK);
        for (int col = 0; col < C - 1; col++)
            for (int sym = 0; sym < S; sym++)
                for (int j = 0; j < k; j++)
                    out[col][sym * N + t + j] = o[(col * S + sym) * k + j];
    }
    /* The remaining bars as ticks, symbol by symbol from the last one (groups 2, 1, 0). */
    for (; t < N; t++) {
        uint32_t sym[S];
        for (int k = 0; k < S; k++) {
            sym[k] = (uint32_t)(S - 1 - k);
            hh[k] = h[sym[k] * N + t];
            ll[k] = l[sym[k] * N + t];
            cc[k] = c[sym[k] * N + t];
        }
        assert_int_equal(zc_md_stream_update_ticks(s, S, sym, hh, ll, cc, NULL, o), ZC_OK);
        for (int k = 0; k < S; k++)
            for (int col = 0; col < C - 1; col++)
                out[col][sym[k] * N + t] = o[k * (C - 1) + col];
    }
    int dev = cpu_device(), col = 0;
    for (int j = 0; j < 4; j++) {
        double *b[3] = {batch[0], batch[1], batch[2]};
        assert_int_equal(zc_md_indicator_batch(&dev, &inds[j], S, N, h, l, c, v, b), ZC_OK);
        for (int q = 0; q < zc_md_indicator_outputs(&inds[j]); q++, col++)
            for (int i = 0; i < S * N; i++)
                assert_true(isnan(batch[q][i]) ? isnan(out[col][i]) : out[col][i] == batch[q][i]);
    }
    zc_md_stream_destroy(s);
}

/* The combined batch's 4-lane AVX2 path (gap-free groups of 4 symbols) gives
 * the bits of the scalar path; row 1 has a gap, so group 0 stays scalar, and
 * row 8 is a tail of one. */
static void test_vector_path_equals_scalar(void **state)
{
    (void)state;
    enum { S = 9, N = 301, COLS = 15 };
    static double h[S * N], l[S * N], c[S * N], v[S * N], a[COLS * S * N], b[COLS * S * N];
    walk(h, l, c, v, S, N);
    zc_md_indicator inds[10] = {{ZC_MD_SMA, {20, 0, 0}, {0, 0}},     {ZC_MD_EMA, {20, 0, 0}, {0, 0}},
                                {ZC_MD_RSI, {14, 0, 0}, {0, 0}},     {ZC_MD_MACD, {12, 26, 9}, {0, 0}},
                                {ZC_MD_BBANDS, {20, 0, 0}, {2, 1.5}}, {ZC_MD_ATR, {14, 0, 0}, {0, 0}},
                                {ZC_MD_STOCH, {5, 3, 3}, {0, 0}},    {ZC_MD_ADX, {14, 0, 0}, {0, 0}},
                                {ZC_MD_CCI, {14, 0, 0}, {0, 0}},     {ZC_MD_OBV, {0, 0, 0}, {0, 0}}};
    int dev = cpu_device();
    zc_simd_level was = zc_zk_simd_get();
    assert_int_equal(zc_md_indicators_batch(&dev, inds, 10, S, N, h, l, c, v, a), ZC_OK);
    assert_int_equal(zc_zk_simd_set(ZC_SIMD_SCALAR), ZC_OK);
    assert_int_equal(zc_md_indicators_batch(&dev, inds, 10, S, N, h, l, c, v, b), ZC_OK);
    assert_int_equal(zc_zk_simd_set(was), ZC_OK);
    assert_memory_equal(a, b, sizeof a);
}

static zc_l2_msg msg(uint64_t seq, int side, double price, double size)
{
    zc_l2_msg m;
    memset(&m, 0, sizeof m);
    m.seq = seq;
    m.ts = seq;
    m.side = (uint8_t)side;
    m.price = price;
    m.size = size;
    return m;
}

static void test_l2_sequencing_and_metrics(void **state)
{
    (void)state;
    zc_l2_config cfg = {1, 8, 1, 0, NULL};
    zc_l2 *b;
    assert_int_equal(zc_l2_create(&cfg, &b), ZC_OK);
    zc_l2_msg m[6] = {msg(1, 0, 100, 5), msg(3, 1, 101, 2), msg(2, 0, 99, 4),
                      msg(2, 0, 98, 1), msg(5, 1, 102, 1), msg(9, 0, 97, 1)};
    zc_l2_quote q[6];
    zc_l2_event ev[8];
    size_t nev;
    for (int i = 0; i < 6; i++)
        m[i].ts = (uint64_t)i;
    assert_int_equal(zc_l2_apply(b, m, 6, q, NULL, 0, ev, 8, &nev), ZC_OK);
    /* seq 3 is held and applied after seq 2; the second seq 2 is late; 5 is
     * held (window 1); 9 is a gap. */
    assert_int_equal(nev, 3);
    assert_int_equal(ev[0].kind, ZC_L2_EV_REORDERED);
    assert_int_equal(ev[1].kind, ZC_L2_EV_OUT_OF_ORDER);
    assert_int_equal(ev[2].kind, ZC_L2_EV_GAP);
    assert_true(ev[2].expected == 4);
    assert_true(q[1].flags & ZC_L2_F_HELD);
    assert_true(q[2].bid == 100 && q[2].ask == 101 && q[2].mid == 100.5);
    assert_true(q[5].flags & ZC_L2_F_STALE);
    zc_l2_counters c;
    assert_int_equal(zc_l2_counters_get(b, 0, &c), ZC_OK);
    assert_true(c.reordered == 1 && c.out_of_order == 1 && c.gaps == 1 && c.applied == 3);

    double bands[1] = {100.0}, sizes[1] = {6.0};
    zc_l2_metrics_cfg mc = {2, 1, bands, 1, sizes};
    size_t ncol = zc_l2_metrics_columns(&mc);
    double row[32];
    assert_true(ncol <= 32);
    assert_int_equal(zc_l2_metrics(b, &mc, row), ZC_OK);
    assert_true(row[0] == 100.5 && row[1] == 1.0);
    assert_true(row[3] == (5.0 - 2.0) / 7.0 && row[4] == (9.0 - 2.0) / 11.0); /* imbalance_1, _2 */
    assert_true(isnan(row[7]));                                             /* buy 6 through 2 on the ask */
    assert_true(row[8] == (5.0 * 100 + 1.0 * 99) / 6.0);                    /* sell 6 through the bids */
    assert_true(row[ncol - 1] == ZC_L2_F_STALE);

    zc_array *levels, *counts;
    assert_int_equal(zc_l2_depth(b, &levels, &counts), ZC_OK);
    const int64_t *n = zc_array_data(counts);
    assert_true(n[0] == 2 && n[1] == 1);
    zc_array_release(levels);
    zc_array_release(counts);

    zc_l2_msg wrong = msg(10, 0, 1, 1);
    wrong.symbol = 3;
    assert_int_equal(zc_l2_apply(b, &wrong, 1, NULL, NULL, 0, NULL, 0, &nev), ZC_ERR_OUT_OF_RANGE);
    zc_l2_destroy(b);
}

static void test_bars_and_flow(void **state)
{
    (void)state;
    zc_trade t[5];
    memset(t, 0, sizeof t);
    double px[5] = {10, 11, 11, 9, 12}, sz[5] = {1, 2, 3, 4, 5};
    for (int i = 0; i < 5; i++) {
        t[i].ts = (uint64_t)i * 10;
        t[i].price = px[i];
        t[i].size = sz[i];
        t[i].side = (int8_t)(i % 2 ? -1 : 1);
    }
    zc_bar bars[4];
    size_t nb;
    assert_int_equal(zc_md_bars(t, 5, 1, ZC_BAR_VOLUME, 6.0, bars, 4, &nb), ZC_OK);
    assert_int_equal(nb, 2);
    assert_true(bars[0].open == 10 && bars[0].close == 11 && bars[0].volume == 6 && bars[0].complete);
    assert_true(bars[1].open == 9 && bars[1].high == 12 && bars[1].volume == 9 && bars[1].complete);
    assert_int_equal(zc_md_bars(t, 4, 1, ZC_BAR_VOLUME, 6.0, bars, 4, &nb), ZC_OK);
    assert_true(nb == 2 && bars[1].volume == 4 && !bars[1].complete);

    int8_t sign[5];
    assert_int_equal(zc_md_classify(t, 5, 1, ZC_MD_TICK, NULL, NULL, sign), ZC_OK);
    int8_t want[5] = {0, 1, 1, -1, 1};
    assert_memory_equal(sign, want, 5);

    zc_vpin_bucket vb[4];
    size_t nv;
    assert_int_equal(zc_md_vpin(t, 5, 1, NULL, 5.0, 1, vb, 4, &nv), ZC_OK);
    assert_int_equal(nv, 3);
    assert_true(vb[0].buy == 3.0 && vb[0].sell == 2.0 && vb[0].vpin == 0.2);

    t[3].ts = 5; /* backwards */
    assert_int_equal(zc_md_bars(t, 5, 1, ZC_BAR_TIME, 10.0, bars, 4, &nb), ZC_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sma_ema_known_answers), cmocka_unit_test(test_gap_restarts_the_indicator),
        cmocka_unit_test(test_checks_and_errors),     cmocka_unit_test(test_opencl_equals_cpu),
        cmocka_unit_test(test_stream_equals_batch),   cmocka_unit_test(test_stream_vector_groups_equal_batch),
        cmocka_unit_test(test_l2_sequencing_and_metrics),
        cmocka_unit_test(test_bars_and_flow),         cmocka_unit_test(test_vector_path_equals_scalar),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
