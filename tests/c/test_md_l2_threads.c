/* zc_l2_apply on several threads (messages sorted to workers by symbol
 * partition) against one thread: random streams with duplicates, late and
 * swapped messages, gaps and snapshots, invalid messages, time going
 * backwards, crossed books and level overflow give bit-identical quotes,
 * top-k rows, events, depth and counters; a bad symbol anywhere leaves the
 * book unchanged on both paths. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#define NSYM 37 /* not a multiple of the symbols a partition takes at once */
#define CAP 8   /* small: the crossing-free stream below overflows it */
#define K 2
#define EVCAP 65536

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* n messages over NSYM symbols around per-symbol mids, with faults. */
static zc_l2_msg *faulty_stream(size_t n, uint64_t seed)
{
    rng_state = seed;
    zc_l2_msg *m = calloc(n, sizeof *m);
    uint64_t seq[NSYM] = {0};
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        uint32_t s = (uint32_t)(rnd() % NSYM);
        int side = (int)(rnd() & 1), off = 1 + (int)(rnd() % 12);
        zc_l2_msg *x = &m[i];
        x->symbol = s;
        x->side = (uint8_t)side;
        x->price = 100.0 + s + (side ? off : -off) * 0.25;
        x->size = rnd() % 5 == 0 ? 0.0 : (double)(1 + rnd() % 50);
        x->orders = (uint32_t)(rnd() % 4);
        x->ts = i;
        x->seq = ++seq[s];
        switch (rnd() % 64) {
        case 0: /* duplicate of the symbol's last seq */
            x->seq = --seq[s];
            break;
        case 1: /* late */
            x->seq = seq[s] > 3 ? seq[s] - 3 : 1;
            seq[s]--;
            break;
        case 2: /* ahead: held within a window of 2, a gap beyond */
            x->seq = seq[s] += 1 + rnd() % 4;
            break;
        case 3: /* snapshot: a run of levels sharing one seq */
            x->action = ZC_L2_SNAPSHOT;
            for (int j = 1; j < 4 && i + 1 < n; j++) {
                i++;
                m[i] = *x;
                m[i].side = (uint8_t)(j & 1);
                m[i].price = x->price + (j & 1 ? 1.0 : -1.0) * j;
                m[i].ts = i;
            }
            break;
        case 4: /* crosses the book */
            x->price = 100.0 + s + (side ? -2.0 : 2.0);
            break;
        case 5: /* invalid */
            if (rnd() & 1)
                x->price = NAN;
            else
                x->side = 2;
            break;
        case 6: /* time going backwards */
            x->ts = i > 10 ? i - 10 : 0;
            break;
        default:
            break;
        }
    }
    /* Swap neighbours now and then (reordered within the window, late or
     * gaps otherwise). */
    for (size_t i = 0; i + 1 < n; i += 1 + rnd() % 200) {
        zc_l2_msg t = m[i];
        m[i] = m[i + 1];
        m[i + 1] = t;
    }
    return m;
}

typedef struct run {
    zc_l2 *b;
    zc_l2_quote *q;
    double *topk;
    zc_l2_event *ev;
    size_t nev;
} run;

/* Applies m in calls of the given sizes (partitioned and single-worker
 * calls mixed) with the cpu device limited to `threads`. */
static void apply_in_calls(run *r, const zc_l2_msg *m, const size_t *sizes, int ncalls, int threads)
{
    int dev;
    assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
    assert_int_equal(zc_device_set_threads(dev, threads), ZC_OK);
    size_t at = 0;
    r->nev = 0;
    for (int c = 0; c < ncalls; c++) {
        size_t nev;
        assert_int_equal(zc_l2_apply(r->b, m + at, sizes[c], r->q + at, r->topk + at * 4 * K, K, r->ev + r->nev,
                                     EVCAP - r->nev, &nev),
                         ZC_OK);
        assert_true(r->nev + nev <= EVCAP);
        /* Indices are per call; make them global for the comparison. */
        for (size_t e = 0; e < nev; e++)
            r->ev[r->nev + e].index += at;
        r->nev += nev;
        at += sizes[c];
    }
    assert_int_equal(zc_device_set_threads(dev, 0), ZC_OK);
}

static void book_equal(zc_l2 *a, zc_l2 *b)
{
    zc_array *la, *ca, *lb, *cb;
    assert_int_equal(zc_l2_depth(a, &la, &ca), ZC_OK);
    assert_int_equal(zc_l2_depth(b, &lb, &cb), ZC_OK);
    assert_memory_equal(zc_array_data(la), zc_array_data(lb), zc_array_nbytes(la));
    assert_memory_equal(zc_array_data(ca), zc_array_data(cb), zc_array_nbytes(ca));
    for (uint32_t s = 0; s < NSYM; s++) {
        zc_l2_counters x, y;
        assert_int_equal(zc_l2_counters_get(a, s, &x), ZC_OK);
        assert_int_equal(zc_l2_counters_get(b, s, &y), ZC_OK);
        assert_memory_equal(&x, &y, sizeof x);
    }
    zc_array_release(la);
    zc_array_release(ca);
    zc_array_release(lb);
    zc_array_release(cb);
}

static void run_init(run *r, size_t n, uint32_t window)
{
    zc_l2_config cfg = {NSYM, CAP, window, 0, NULL};
    assert_int_equal(zc_l2_create(&cfg, &r->b), ZC_OK);
    r->q = malloc(n * sizeof *r->q);
    r->topk = malloc(n * 4 * K * sizeof *r->topk);
    r->ev = malloc(EVCAP * sizeof *r->ev);
    assert_true(r->q && r->topk && r->ev);
    /* Unwritten rows would differ: every row must be written. */
    memset(r->q, 0xA5, n * sizeof *r->q);
    memset(r->topk, 0x5A, n * 4 * K * sizeof *r->topk);
}

static void run_free(run *r)
{
    zc_l2_destroy(r->b);
    free(r->q);
    free(r->topk);
    free(r->ev);
}

static void test_threads_equal_one_thread(void **state)
{
    (void)state;
    const size_t n = 30000, sizes[3] = {17000, 1000, 12000};
    const uint32_t windows[2] = {0, 2};
    const int threads[2] = {2, 3};
    for (int w = 0; w < 2; w++) {
        zc_l2_msg *m = faulty_stream(n, 0x9E3779B97F4A7C15ull + w);
        run one;
        run_init(&one, n, windows[w]);
        apply_in_calls(&one, m, sizes, 3, 1);
        assert_true(one.nev > 100); /* the faults above do happen */
        for (int t = 0; t < 2; t++) {
            run many;
            run_init(&many, n, windows[w]);
            apply_in_calls(&many, m, sizes, 3, threads[t]);
            assert_memory_equal(many.q, one.q, n * sizeof *one.q);
            assert_memory_equal(many.topk, one.topk, n * 4 * K * sizeof *one.topk);
            assert_int_equal(many.nev, one.nev);
            assert_memory_equal(many.ev, one.ev, one.nev * sizeof *one.ev);
            book_equal(many.b, one.b);
            run_free(&many);
        }
        run_free(&one);
        free(m);
    }
}

static void test_bad_symbol_leaves_the_book_unchanged(void **state)
{
    (void)state;
    const size_t n = 20000, first = 20000, second = 20000;
    zc_l2_msg *m = faulty_stream(first + second, 7);
    for (int threads = 1; threads <= 3; threads++) {
        run r, ref;
        run_init(&r, first + second, 2);
        run_init(&ref, first + second, 2);
        apply_in_calls(&r, m, &first, 1, threads);
        apply_in_calls(&ref, m, &first, 1, 1);
        zc_l2_msg *bad = malloc(n * sizeof *bad);
        memcpy(bad, m + first, n * sizeof *bad);
        bad[15000].symbol = NSYM + 5;
        bad[n - 1].symbol = UINT32_MAX;
        int dev;
        size_t nev = 0;
        assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
        assert_int_equal(zc_device_set_threads(dev, threads), ZC_OK);
        assert_int_equal(zc_l2_apply(r.b, bad, n, r.q, NULL, 0, NULL, 0, &nev), ZC_ERR_OUT_OF_RANGE);
        /* The first bad message is named. */
        assert_non_null(strstr(zc_last_error(), "message 15000: symbol 42"));
        assert_int_equal(zc_device_set_threads(dev, 0), ZC_OK);
        book_equal(r.b, ref.b);
        free(bad);
        run_free(&r);
        run_free(&ref);
    }
    free(m);
}

static int pool_of_three(void **state)
{
    (void)state;
    zc_config cfg = {3, NULL, NULL, 1, 1};
    return zc_init(&cfg) == ZC_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_equal_one_thread),
        cmocka_unit_test(test_bad_symbol_leaves_the_book_unchanged),
    };
    int rc = cmocka_run_group_tests(tests, pool_of_three, NULL);
    zc_shutdown();
    return rc;
}
