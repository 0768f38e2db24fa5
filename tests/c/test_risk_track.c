/* Real-time risk from C: average-cost accounting known answers, transition
 * alerts, validation leaving the tracker unchanged, the pre-trade gate in
 * front of an engine (rejects, unchanged book, journal replay, thread-count
 * independence), and the correlation tracker against direct recomputation
 * and across thread counts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#include "test_util.h"

static zc_engine *make_engine(uint32_t symbols, int threads, const char *journal)
{
    zc_engine_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.symbols = symbols;
    cfg.capacity = 256;
    cfg.device = "cpu";
    cfg.threads = threads;
    cfg.journal = journal;
    cfg.hash_seed = 7;
    zc_engine *e = NULL;
    if (zc_engine_create(&cfg, &e) != ZC_OK)
        fail_msg("zc_engine_create: %s", zc_last_error());
    return e;
}

/* Submits through the engine and feeds the tracker the plain way. */
static void feed(zc_engine *e, zc_position_tracker *t, const zc_order *o, size_t n)
{
    zc_array *a = NULL;
    assert_int_equal(zc_engine_submit(e, o, n, &a), ZC_OK);
    const zc_event *ev = zc_array_data(a);
    size_t m = zc_array_nbytes(a) / sizeof(zc_event);
    assert_int_equal(zc_position_update(t, o, n, ev[0].seq, ev, m), ZC_OK);
    zc_array_release(a);
}

static double field(zc_position_tracker *t, zc_position_field f, size_t k)
{
    void *d;
    size_t c;
    assert_int_equal(zc_position_view(t, f, &d, &c), ZC_OK);
    assert_true(k < c);
    if (f == ZC_POS_POSITION || f == ZC_POS_OPEN_BUY || f == ZC_POS_OPEN_SELL)
        return (double)((int64_t *)d)[k];
    return ((double *)d)[k];
}

static void test_average_cost(void **state)
{
    (void)state;
    zc_engine *e = make_engine(1, 1, NULL);
    zc_position_tracker *t;
    assert_int_equal(zc_position_create(2, 1, &t), ZC_OK);
    /* Trader 0 buys 5 @ 100 and 5 @ 110 from trader 1 (maker). */
    zc_order a[] = {lim(1, 1, 0, ZC_SIDE_SELL, 100, 5), lim(2, 0, 0, ZC_SIDE_BUY, 100, 5),
                    lim(3, 1, 0, ZC_SIDE_SELL, 110, 5), lim(4, 0, 0, ZC_SIDE_BUY, 110, 5)};
    feed(e, t, a, 4);
    assert_true(field(t, ZC_POS_POSITION, 0) == 10 && field(t, ZC_POS_AVG_COST, 0) == 105.0);
    assert_true(field(t, ZC_POS_POSITION, 1) == -10 && field(t, ZC_POS_AVG_COST, 1) == 105.0);
    /* Sells 7 @ 120: realized 7 * 15; then 5 @ 100 closes 3 (-15) and flips to -2 at 100. */
    zc_order b[] = {lim(5, 1, 0, ZC_SIDE_BUY, 120, 7), lim(6, 0, 0, ZC_SIDE_SELL, 120, 7),
                    lim(7, 1, 0, ZC_SIDE_BUY, 100, 5), lim(8, 0, 0, ZC_SIDE_SELL, 100, 5)};
    feed(e, t, b, 4);
    assert_true(field(t, ZC_POS_POSITION, 0) == -2);
    assert_true(field(t, ZC_POS_REALIZED, 0) == 90.0);
    assert_true(field(t, ZC_POS_AVG_COST, 0) == 100.0);
    assert_true(field(t, ZC_POS_MARK, 0) == 100.0); /* last fill before any mark */
    double px = 90.0;
    assert_int_equal(zc_position_mark(t, &px, 1), ZC_OK);
    assert_true(field(t, ZC_POS_UNREALIZED, 0) == 20.0 && field(t, ZC_POS_NOTIONAL, 0) == 180.0);
    assert_true(field(t, ZC_POS_PNL, 0) == 110.0);
    /* Zero-sum: the counterparty holds the mirror image. */
    assert_true(field(t, ZC_POS_PNL, 0) + field(t, ZC_POS_PNL, 1) == 0.0);
    zc_position_info info;
    assert_int_equal(zc_position_info_get(t, &info), ZC_OK);
    assert_int_equal(info.fills, 4);
    assert_int_equal(info.unknown_fills, 0);
    assert_int_equal(info.open_orders, 0);
    zc_position_destroy(t);
    zc_engine_destroy(e);
}

static void test_alerts_are_transitions(void **state)
{
    (void)state;
    zc_engine *e = make_engine(1, 1, NULL);
    zc_position_tracker *t;
    assert_int_equal(zc_position_create(2, 1, &t), ZC_OK);
    zc_position_limits l = {4, 0, 50};
    assert_int_equal(zc_position_set_limits(t, 0, 1, &l), ZC_OK);
    zc_order a[] = {lim(1, 1, 0, ZC_SIDE_SELL, 100, 20), lim(2, 0, 0, ZC_SIDE_BUY, 100, 5)};
    feed(e, t, a, 2);
    const zc_position_alert *al;
    size_t k;
    assert_int_equal(zc_position_alerts(t, &al, &k), ZC_OK);
    assert_int_equal(k, 1);
    assert_int_equal(al[0].trader, 0);
    assert_int_equal(al[0].kind, ZC_ALERT_POSITION);
    assert_true(al[0].value == 5 && al[0].limit == 4);
    /* Still in breach: no new alert. */
    zc_order b[] = {lim(3, 0, 0, ZC_SIDE_BUY, 100, 1)};
    feed(e, t, b, 1);
    assert_int_equal(zc_position_alerts(t, &al, &k), ZC_OK);
    assert_int_equal(k, 0);
    /* A mark at 80 loses 120 > 50: one loss alert. */
    double px = 80.0;
    assert_int_equal(zc_position_mark(t, &px, 1), ZC_OK);
    assert_int_equal(zc_position_alerts(t, &al, &k), ZC_OK);
    assert_int_equal(k, 1);
    assert_int_equal(al[0].kind, ZC_ALERT_LOSS);
    assert_true(al[0].value == 120.0 && al[0].seq == 0);
    zc_position_destroy(t);
    zc_engine_destroy(e);
}

static void test_bad_input_changes_nothing(void **state)
{
    (void)state;
    zc_position_tracker *t;
    assert_int_equal(zc_position_create(2, 2, &t), ZC_OK);
    zc_order o[] = {lim(1, 0, 0, ZC_SIDE_BUY, 100, 5)};
    zc_event ack = {.seq = 10, .kind = ZC_EVENT_ACK, .symbol = 0, .order_id = 1, .price = 100, .qty = 5,
                    .remaining = 5};
    zc_event bad = ack;
    bad.seq = 11; /* outside [seq0, seq0 + 1) */
    assert_int_equal(zc_position_update(t, o, 1, 10, &bad, 1), ZC_ERR_INVALID_ARGUMENT);
    bad = ack;
    bad.symbol = 2;
    assert_int_equal(zc_position_update(t, o, 1, 10, &bad, 1), ZC_ERR_INVALID_ARGUMENT);
    zc_order far = o[0];
    far.trader = 2;
    assert_int_equal(zc_position_update(t, &far, 1, 10, &ack, 1), ZC_ERR_INVALID_ARGUMENT);
    /* An uncross has only fills. */
    assert_int_equal(zc_position_update(t, NULL, 0, 0, &ack, 1), ZC_ERR_INVALID_ARGUMENT);
    zc_position_info info;
    assert_int_equal(zc_position_info_get(t, &info), ZC_OK);
    assert_int_equal(info.open_orders, 0);
    assert_int_equal(zc_position_update(t, o, 1, 10, &ack, 1), ZC_OK);
    assert_true(field(t, ZC_POS_OPEN_BUY, 0) == 5);
    double px[2] = {1.0, NAN};
    assert_int_equal(zc_position_mark(t, px, 2), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_position_mark(t, px, 1), ZC_ERR_INVALID_ARGUMENT);
    assert_true(field(t, ZC_POS_MARK, 0) == 0.0);
    zc_position_limits neg = {-1, 0, 0};
    assert_int_equal(zc_position_set_limits(t, 0, 1, &neg), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_position_set_limits(t, 1, 2, &neg), ZC_ERR_OUT_OF_RANGE);
    /* A fill whose maker was never seen moves only the known side. */
    zc_event fill = {.seq = 20, .kind = ZC_EVENT_FILL, .symbol = 0, .order_id = 1, .maker_id = 99, .price = 100,
                     .qty = 2, .remaining = 3};
    assert_int_equal(zc_position_update(t, NULL, 0, 0, &fill, 1), ZC_OK);
    assert_int_equal(zc_position_info_get(t, &info), ZC_OK);
    assert_int_equal(info.unknown_fills, 1);
    assert_true(field(t, ZC_POS_POSITION, 0) == 2 && field(t, ZC_POS_OPEN_BUY, 0) == 3);
    zc_position_destroy(t);
}

/* The gated batch: trader 0 may hold 10 lots. */
static void gated_batch(zc_order *o)
{
    o[0] = lim(1, 1, 0, ZC_SIDE_SELL, 100, 50);
    o[1] = lim(2, 0, 0, ZC_SIDE_BUY, 100, 6);
    o[2] = lim(3, 0, 0, ZC_SIDE_BUY, 99, 5); /* 6 + 5 > 10: refused */
    o[3] = lim(4, 0, 1, ZC_SIDE_BUY, 50, 10);
    o[4] = lim(5, 0, 0, ZC_SIDE_BUY, 98, 4); /* 6 + 4 = 10: accepted */
    o[5] = lim(6, 2, 1, ZC_SIDE_SELL, 60, 3);
}

static zc_array *gate(zc_engine *e, zc_position_tracker *t, const zc_order *o, const uint8_t *valid, size_t n)
{
    zc_array *a = NULL;
    if (zc_engine_submit_checked(e, t, o, valid, n, &a) != ZC_OK)
        fail_msg("zc_engine_submit_checked: %s", zc_last_error());
    return a;
}

static void test_pretrade_gate(void **state)
{
    (void)state;
    char path[] = "/tmp/zc_test_risk_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    zc_engine *e = make_engine(2, 1, path);
    zc_position_tracker *t;
    assert_int_equal(zc_position_create(3, 2, &t), ZC_OK);
    zc_position_limits l = {10, 0, 0};
    assert_int_equal(zc_position_set_limits(t, 0, 1, &l), ZC_OK);
    zc_order o[6];
    gated_batch(o);
    uint16_t reasons[6];
    assert_int_equal(zc_position_pretrade(t, o, 6, reasons), ZC_OK);
    uint16_t want[6] = {0, 0, ZC_REASON_RISK_LIMIT, 0, 0, 0};
    assert_memory_equal(reasons, want, sizeof want);
    uint8_t valid[6] = {1, 1, 1, 1, 1, 0};
    zc_array *a = gate(e, t, o, valid, 6);
    const zc_event *ev = zc_array_data(a);
    size_t m = zc_array_nbytes(a) / sizeof(zc_event);
    int risk = 0, sig = 0;
    for (size_t j = 0; j < m; j++) {
        assert_true(j == 0 || ev[j].seq >= ev[j - 1].seq);
        if (ev[j].kind == ZC_EVENT_REJECT && ev[j].reason == ZC_REASON_RISK_LIMIT) {
            assert_int_equal(ev[j].order_id, 3);
            assert_int_equal(ev[j].seq, ev[0].seq + 2); /* the next accepted order's seq */
            risk++;
        }
        if (ev[j].kind == ZC_EVENT_REJECT && ev[j].reason == ZC_REASON_BAD_SIGNATURE)
            sig++;
    }
    assert_int_equal(risk, 1);
    assert_int_equal(sig, 1);
    zc_array_release(a);
    /* The refused order never reached the book: symbol 0 holds the seller's 44 and bid 5 @ 98. */
    zc_array *entries = NULL;
    assert_int_equal(zc_engine_book(e, 0, &entries), ZC_OK);
    assert_int_equal(zc_array_nbytes(entries) / sizeof(zc_book_entry), 2);
    zc_array_release(entries);
    assert_true(field(t, ZC_POS_POSITION, 0) == 6 && field(t, ZC_POS_OPEN_BUY, 0) == 4);
    /* The journal holds only the accepted orders: a replay gives the same root. */
    uint8_t root[32], root2[32];
    assert_int_equal(zc_engine_state_root(e, root), ZC_OK);
    zc_engine *r = NULL;
    assert_int_equal(zc_engine_replay(path, NULL, &r, NULL), ZC_OK);
    assert_int_equal(zc_engine_state_root(r, root2), ZC_OK);
    assert_memory_equal(root, root2, 32);
    zc_engine_destroy(r);
    zc_engine_destroy(e);
    zc_position_destroy(t);
    unlink(path);
}

static void test_gate_independent_of_threads(void **state)
{
    (void)state;
    zc_array *out[2][4];
    for (int run = 0; run < 2; run++) {
        zc_engine *e = make_engine(8, run ? 2 : 1, NULL);
        zc_position_tracker *t;
        assert_int_equal(zc_position_create(16, 8, &t), ZC_OK);
        zc_position_limits l[16];
        for (int i = 0; i < 16; i++)
            l[i] = (zc_position_limits){12, 3000.0, 0};
        assert_int_equal(zc_position_set_limits(t, 0, 16, l), ZC_OK);
        zc_order o[400];
        uint64_t x = 12345;
        for (int i = 0; i < 400; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            o[i] = lim((uint64_t)i + 1, (uint32_t)(x >> 60), (uint32_t)(x >> 20) % 8, (int)(x >> 40) & 1,
                       95 + (int64_t)((x >> 30) % 11), 1 + (int64_t)((x >> 50) % 9));
        }
        for (int b = 0; b < 4; b++)
            out[run][b] = gate(e, t, o + 100 * b, NULL, 100);
        zc_position_destroy(t);
        zc_engine_destroy(e);
    }
    int refused = 0;
    for (int b = 0; b < 4; b++) {
        assert_int_equal(zc_array_nbytes(out[0][b]), zc_array_nbytes(out[1][b]));
        assert_memory_equal(zc_array_data(out[0][b]), zc_array_data(out[1][b]), zc_array_nbytes(out[0][b]));
        const zc_event *ev = zc_array_data(out[0][b]);
        for (size_t j = 0; j < zc_array_nbytes(out[0][b]) / sizeof(zc_event); j++)
            refused += ev[j].reason == ZC_REASON_RISK_LIMIT;
        zc_array_release(out[0][b]);
        zc_array_release(out[1][b]);
    }
    assert_true(refused > 0);
}

/* Reproducible normal-ish data: sums of uniforms of an LCG. */
static double noise(uint64_t *s)
{
    double v = 0;
    for (int k = 0; k < 4; k++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        v += (double)(*s >> 11) / 9007199254740992.0 - 0.5;
    }
    return v;
}

static void direct_corr(const double *x, size_t rows, size_t n, double *out)
{
    double *m = calloc(n, sizeof *m);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < n; i++)
            m[i] += x[r * n + i] / (double)rows;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double c = 0;
            for (size_t r = 0; r < rows; r++)
                c += (x[r * n + i] - m[i]) * (x[r * n + j] - m[j]);
            out[i * n + j] = c;
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j)
                out[i * n + j] /= sqrt(out[i * n + i] * out[j * n + j]);
    for (size_t i = 0; i < n; i++)
        out[i * n + i] = 1.0;
    free(m);
}

static void test_rolling_matches_recomputation(void **state)
{
    (void)state;
    enum { N = 7, T = 900, W = 60 };
    double *x = malloc(sizeof(double) * T * N), got[N * N], want[N * N];
    uint64_t s = 99;
    for (size_t r = 0; r < T; r++)
        for (size_t i = 0; i < N; i++)
            x[r * N + i] = 1000.0 + noise(&s) + (i ? 0.5 * x[r * N] - 500.0 : 0.0); /* large means */
    zc_corr_config c = {.n = N, .window = W, .short_window = 20, .refresh = 100000, .threads = 1};
    zc_corr_tracker *t;
    assert_int_equal(zc_corr_create(&c, &t), ZC_OK);
    assert_int_equal(zc_corr_update(t, x, T, N), ZC_OK);
    assert_int_equal(zc_corr_matrix(t, ZC_CORR_ROLLING, 0, got), ZC_OK);
    direct_corr(x + (T - W) * N, W, N, want);
    for (int k = 0; k < N * N; k++)
        assert_true(fabs(got[k] - want[k]) < 1e-10);
    assert_int_equal(zc_corr_matrix(t, ZC_CORR_SHORT, 0, got), ZC_OK);
    direct_corr(x + (T - 20) * N, 20, N, want);
    for (int k = 0; k < N * N; k++)
        assert_true(fabs(got[k] - want[k]) < 1e-10);
    /* NaN: an error, and nothing changes. */
    double bad[N] = {0, 1, 2, NAN, 4, 5, 6};
    uint64_t count;
    assert_int_equal(zc_corr_update(t, bad, 1, N), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_corr_update(t, bad, 1, N - 1), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_corr_count(t, &count), ZC_OK);
    assert_int_equal(count, T);
    assert_int_equal(zc_corr_matrix(t, ZC_CORR_EWMA, 0, got), ZC_ERR_STATE);
    zc_corr_destroy(t);
    free(x);
}

static void test_threads_do_not_change_results(void **state)
{
    (void)state;
    enum { N = 130, T = 80 };
    double *x = malloc(sizeof(double) * T * N), *a = malloc(sizeof(double) * N * N),
           *b = malloc(sizeof(double) * N * N);
    uint64_t s = 5;
    for (size_t k = 0; k < (size_t)T * N; k++)
        x[k] = noise(&s);
    zc_corr_kind kinds[] = {ZC_CORR_EWMA, ZC_CORR_ROLLING, ZC_CORR_SHORT};
    for (int k = 0; k < 3; k++) {
        for (int run = 0; run < 2; run++) {
            zc_corr_config c = {.n = N, .alpha = 0.03, .window = 50, .short_window = 20, .threads = run ? 2 : 1};
            zc_corr_tracker *t;
            assert_int_equal(zc_corr_create(&c, &t), ZC_OK);
            assert_int_equal(zc_corr_update(t, x, T, N), ZC_OK);
            assert_int_equal(zc_corr_matrix(t, kinds[k], 0, run ? b : a), ZC_OK);
            zc_corr_destroy(t);
        }
        assert_memory_equal(a, b, sizeof(double) * N * N);
    }
    free(x);
    free(a);
    free(b);
}

static void test_corr_config_errors(void **state)
{
    (void)state;
    zc_corr_tracker *t = NULL;
    zc_corr_config c = {.n = 1, .window = 10};
    assert_int_equal(zc_corr_create(&c, &t), ZC_ERR_INVALID_ARGUMENT);
    c = (zc_corr_config){.n = 3};
    assert_int_equal(zc_corr_create(&c, &t), ZC_ERR_INVALID_ARGUMENT);
    c = (zc_corr_config){.n = 3, .alpha = 1.5};
    assert_int_equal(zc_corr_create(&c, &t), ZC_ERR_INVALID_ARGUMENT);
    c = (zc_corr_config){.n = 3, .window = 20, .short_window = 13};
    assert_int_equal(zc_corr_create(&c, &t), ZC_ERR_INVALID_ARGUMENT);
    c = (zc_corr_config){.n = 3, .alpha = 0.1};
    assert_int_equal(zc_corr_create(&c, &t), ZC_OK);
    zc_corr_breakdown b;
    assert_int_equal(zc_corr_detect(t, &b, NULL, 0), ZC_ERR_STATE);
    zc_corr_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_average_cost),
        cmocka_unit_test(test_alerts_are_transitions),
        cmocka_unit_test(test_bad_input_changes_nothing),
        cmocka_unit_test(test_pretrade_gate),
        cmocka_unit_test(test_gate_independent_of_threads),
        cmocka_unit_test(test_rolling_matches_recomputation),
        cmocka_unit_test(test_threads_do_not_change_results),
        cmocka_unit_test(test_corr_config_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
