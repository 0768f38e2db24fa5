/* Asynchronous submission of the order book: submit_async + wait against
 * submit byte for byte on cpu and OpenCL, pipelined batches drained by one
 * sync, waits out of order, unknown and collected tickets, synchronous calls
 * draining outstanding batches, a read-back larger than its guess, journal
 * and replay, a fault that surfaces at wait time and one at queueing, and
 * concurrent submitters serialised by the ingress lock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#include "test_util.h"

#define SYMS 12
#define CAP 256

static const char *const devices[] = {"cpu", "opencl:0"};
#define NDEV (int)(sizeof devices / sizeof *devices)

/* NULL when the device is not here (no OpenCL platform). */
static zc_engine *make_engine(const char *device, const char *journal, int threads)
{
    int id;
    if (zc_device_find(device, &id) != ZC_OK)
        return NULL;
    zc_engine_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.symbols = SYMS;
    cfg.capacity = CAP;
    cfg.device = device;
    cfg.journal = journal;
    cfg.threads = threads;
    cfg.hash_seed = 7;
    cfg.defaults.min_price = 1;
    cfg.defaults.max_price = 1 << 20;
    zc_engine *e = NULL;
    if (zc_engine_create(&cfg, &e) != ZC_OK)
        fail_msg("zc_engine_create(%s): %s", device, zc_last_error());
    return e;
}

/* The standard workload for this engine, with every 97th order sent to an
 * unknown symbol (rejected on the host, never on the device). */
static zc_order *stream(size_t n, uint64_t seed)
{
    zc_orders_gen_config g = {.seed = seed, .symbols = SYMS, .traders = 40, .capacity = CAP, .mid = 4096};
    zc_order *o = malloc(n * sizeof *o);
    assert_int_equal(zc_orders_generate(&g, o, n), ZC_OK);
    for (size_t i = 96; i < n; i += 97)
        o[i].symbol = SYMS + 3;
    return o;
}

static zc_array *submit(zc_engine *e, const zc_order *o, size_t n)
{
    zc_array *a = NULL;
    if (zc_engine_submit(e, o, n, &a) != ZC_OK)
        fail_msg("zc_engine_submit: %s", zc_last_error());
    return a;
}

static uint64_t submit_async(zc_engine *e, const zc_order *o, size_t n)
{
    uint64_t t = 0;
    if (zc_engine_submit_async(e, o, n, &t) != ZC_OK)
        fail_msg("zc_engine_submit_async: %s", zc_last_error());
    return t;
}

static zc_array *wait_for(zc_engine *e, uint64_t ticket)
{
    zc_array *a = NULL;
    if (zc_engine_wait(e, ticket, &a) != ZC_OK)
        fail_msg("zc_engine_wait(%llu): %s", (unsigned long long)ticket, zc_last_error());
    return a;
}

static void assert_same_events(zc_array *a, zc_array *b)
{
    assert_int_equal(zc_array_nbytes(a), zc_array_nbytes(b));
    assert_memory_equal(zc_array_data(a), zc_array_data(b), zc_array_nbytes(a));
}

/* Root, and every symbol's book, of two engines agree. */
static void assert_same_state(zc_engine *a, zc_engine *b)
{
    uint8_t ra[32], rb[32];
    assert_int_equal(zc_engine_state_root(a, ra), ZC_OK);
    assert_int_equal(zc_engine_state_root(b, rb), ZC_OK);
    assert_memory_equal(ra, rb, 32);
    for (uint32_t s = 0; s < SYMS; s++) {
        zc_array *x, *y;
        assert_int_equal(zc_engine_book(a, s, &x), ZC_OK);
        assert_int_equal(zc_engine_book(b, s, &y), ZC_OK);
        assert_same_events(x, y);
        zc_array_release(x);
        zc_array_release(y);
    }
}

/* Batch sizes: an empty batch, one order, unknown symbols only (nothing for
 * the device), and larger ones. */
#define NBATCH 7
static const size_t sizes[NBATCH] = {400, 0, 1, 3, 1500, 2500, 700};

/* Pipelined batches, one sync, waits in submission order: the same events
 * as submit, batch by batch, and the same books. */
static void test_async_equals_sync(void **state)
{
    (void)state;
    size_t total = 0;
    for (int k = 0; k < NBATCH; k++)
        total += sizes[k];
    zc_order *o = stream(total, 11);
    zc_order unknown[3];
    memcpy(unknown, o, sizeof unknown);
    for (int i = 0; i < 3; i++)
        unknown[i].symbol = SYMS + (uint32_t)i;
    for (int d = 0; d < NDEV; d++) {
        zc_engine *sync = make_engine(devices[d], NULL, 0);
        zc_engine *async = make_engine(devices[d], NULL, 0);
        if (!sync)
            continue;
        zc_array *ref[NBATCH];
        uint64_t ticket[NBATCH];
        size_t at = 0;
        for (int k = 0; k < NBATCH; k++) {
            const zc_order *b = k == 3 ? unknown : o + at;
            ref[k] = submit(sync, b, sizes[k]);
            ticket[k] = submit_async(async, b, sizes[k]);
            if (k)
                assert_true(ticket[k] > ticket[k - 1]);
            at += k == 3 ? 0 : sizes[k];
        }
        assert_int_equal(zc_engine_sync(async), ZC_OK);
        for (int k = 0; k < NBATCH; k++) {
            zc_array *got = wait_for(async, ticket[k]);
            assert_same_events(ref[k], got);
            zc_array_release(got);
            zc_array_release(ref[k]);
        }
        zc_engine_info ia, ib;
        assert_int_equal(zc_engine_info_get(sync, &ia), ZC_OK);
        assert_int_equal(zc_engine_info_get(async, &ib), ZC_OK);
        assert_int_equal(ia.next_seq, ib.next_seq);
        assert_int_equal(ia.batches, ib.batches);
        assert_int_equal(ia.resting, ib.resting);
        assert_same_state(sync, async);
        zc_engine_destroy(sync);
        zc_engine_destroy(async);
    }
    free(o);
}

/* Waits in reverse order (each completes the older batches first), a ticket
 * collected twice, tickets never issued, a synchronous call's batch number
 * and bad arguments. */
static void test_wait_out_of_order(void **state)
{
    (void)state;
    enum { K = 5, N = 600 };
    zc_order *o = stream(K * N, 12);
    for (int d = 0; d < NDEV; d++) {
        zc_engine *sync = make_engine(devices[d], NULL, 1);
        zc_engine *async = make_engine(devices[d], NULL, 1);
        if (!sync)
            continue;
        zc_array *ref[K];
        uint64_t ticket[K];
        for (int k = 0; k < K; k++) {
            ref[k] = submit(sync, o + k * N, N);
            ticket[k] = submit_async(async, o + k * N, N);
        }
        for (int k = K - 1; k >= 0; k--) {
            zc_array *got = wait_for(async, ticket[k]);
            assert_same_events(ref[k], got);
            zc_array_release(got);
            zc_array_release(ref[k]);
        }
        zc_array *a = NULL;
        expect_error(zc_engine_wait(async, ticket[2], &a), ZC_ERR_NOT_FOUND, "already collected");
        assert_null(a);
        expect_error(zc_engine_wait(async, 0, &a), ZC_ERR_NOT_FOUND, "ticket 0");
        expect_error(zc_engine_wait(async, ticket[K - 1] + 100, &a), ZC_ERR_NOT_FOUND, "never issued");
        zc_array_release(submit(async, o, 1));
        zc_engine_info info;
        assert_int_equal(zc_engine_info_get(async, &info), ZC_OK);
        expect_error(zc_engine_wait(async, info.batches, &a), ZC_ERR_NOT_FOUND, "asynchronous");
        uint64_t t = 0;
        assert_int_equal(zc_engine_submit_async(async, NULL, 3, &t), ZC_ERR_INVALID_ARGUMENT);
        assert_int_equal(zc_engine_submit_async(async, o, 3, NULL), ZC_ERR_INVALID_ARGUMENT);
        assert_int_equal(zc_engine_submit_async(NULL, o, 3, &t), ZC_ERR_INVALID_ARGUMENT);
        assert_int_equal(zc_engine_wait(async, 1, NULL), ZC_ERR_INVALID_ARGUMENT);
        assert_int_equal(zc_engine_wait(NULL, 1, &a), ZC_ERR_INVALID_ARGUMENT);
        /* Refused arguments change nothing. */
        zc_engine_info after;
        assert_int_equal(zc_engine_info_get(async, &after), ZC_OK);
        assert_int_equal(after.batches, info.batches);
        assert_int_equal(after.next_seq, info.next_seq);
        zc_engine_destroy(sync);
        zc_engine_destroy(async);
    }
    free(o);
}

/* Synchronous calls between asynchronous batches drain them first: views,
 * state root, set_mode, uncross and submit see every earlier batch, and the
 * uncollected events stay for wait. */
static void test_sync_calls_drain(void **state)
{
    (void)state;
    enum { N = 800 };
    zc_order *o = stream(4 * N, 13);
    for (int d = 0; d < NDEV; d++) {
        zc_engine *sync = make_engine(devices[d], NULL, 0);
        zc_engine *async = make_engine(devices[d], NULL, 0);
        if (!sync)
            continue;
        zc_array *ref[4], *got[4];
        uint64_t t0 = submit_async(async, o, N);
        ref[0] = submit(sync, o, N);
        /* Depth of a symbol with resting orders. */
        zc_array *b1, *a1, *b2, *a2;
        assert_int_equal(zc_engine_depth(sync, 0, 5, &b1, &a1), ZC_OK);
        assert_int_equal(zc_engine_depth(async, 0, 5, &b2, &a2), ZC_OK);
        assert_true(zc_array_nbytes(b1) + zc_array_nbytes(a1) > 0);
        assert_same_events(b1, b2);
        assert_same_events(a1, a2);
        zc_array_release(b1);
        zc_array_release(a1);
        zc_array_release(b2);
        zc_array_release(a2);
        uint64_t t1 = submit_async(async, o + N, N);
        ref[1] = submit(sync, o + N, N);
        assert_same_state(sync, async);
        uint64_t t2 = submit_async(async, o + 2 * N, N);
        ref[2] = submit(sync, o + 2 * N, N);
        assert_int_equal(zc_engine_set_mode(sync, 1, ZC_MODE_AUCTION), ZC_OK);
        assert_int_equal(zc_engine_set_mode(async, 1, ZC_MODE_AUCTION), ZC_OK);
        uint64_t t3 = submit_async(async, o + 3 * N, N);
        ref[3] = submit(sync, o + 3 * N, N);
        uint32_t sym = 1;
        zc_array *u1, *u2;
        assert_int_equal(zc_engine_uncross(sync, &sym, 1, &u1), ZC_OK);
        assert_int_equal(zc_engine_uncross(async, &sym, 1, &u2), ZC_OK);
        assert_same_events(u1, u2);
        zc_array_release(u1);
        zc_array_release(u2);
        got[3] = wait_for(async, t3);
        got[0] = wait_for(async, t0);
        got[2] = wait_for(async, t2);
        got[1] = wait_for(async, t1);
        for (int k = 0; k < 4; k++) {
            assert_same_events(ref[k], got[k]);
            zc_array_release(ref[k]);
            zc_array_release(got[k]);
        }
        assert_same_state(sync, async);
        zc_engine_destroy(sync);
        zc_engine_destroy(async);
    }
    free(o);
}

/* A device batch sizes its read-back from the previous batch's events per
 * order. Resting orders only (one ack each), then orders that each sweep
 * four of them (an ack and four fills each): the second batch has more
 * events than its read brought back, and the rest is read on completion.
 * Both devices' engines, synchronous and not, agree with the cpu's. */
static void test_read_beyond_guess(void **state)
{
    (void)state;
    enum { N = 2000, SWEEP = N / 5 };
    zc_order *rest = malloc(N * sizeof *rest);
    zc_order *sweep = malloc(SWEEP * sizeof *sweep);
    for (int i = 0; i < N; i++)
        rest[i] = lim((uint64_t)i + 1, 1, (uint32_t)(i % SYMS), ZC_SIDE_SELL, 1000 + i / SYMS, 1);
    for (int i = 0; i < SWEEP; i++) {
        sweep[i] = lim((uint64_t)N + i + 1, 2, (uint32_t)(i % SYMS), ZC_SIDE_BUY, 1 << 19, 4);
        sweep[i].tif = ZC_TIF_IOC;
    }
    zc_engine *cpu = make_engine("cpu", NULL, 1);
    zc_array *r1 = submit(cpu, rest, N), *r2 = submit(cpu, sweep, SWEEP);
    assert_int_equal(zc_array_nbytes(r1), N * sizeof(zc_event));
    assert_int_equal(zc_array_nbytes(r2), 5 * SWEEP * sizeof(zc_event));
    for (int d = 0; d < NDEV; d++) {
        zc_engine *sync = make_engine(devices[d], NULL, 0);
        zc_engine *async = make_engine(devices[d], NULL, 0);
        if (!sync)
            continue;
        zc_array *s1 = submit(sync, rest, N), *s2 = submit(sync, sweep, SWEEP);
        uint64_t t1 = submit_async(async, rest, N);
        zc_array *g1 = wait_for(async, t1);
        uint64_t t2 = submit_async(async, sweep, SWEEP);
        zc_array *g2 = wait_for(async, t2);
        assert_same_events(r1, s1);
        assert_same_events(r2, s2);
        assert_same_events(r1, g1);
        assert_same_events(r2, g2);
        assert_same_state(cpu, sync);
        assert_same_state(cpu, async);
        zc_array_release(s1);
        zc_array_release(s2);
        zc_array_release(g1);
        zc_array_release(g2);
        zc_engine_destroy(sync);
        zc_engine_destroy(async);
    }
    zc_array_release(r1);
    zc_array_release(r2);
    zc_engine_destroy(cpu);
    free(rest);
    free(sweep);
}

static char *temp_path(void)
{
    char *p = strdup("/tmp/zc_test_book_async_XXXXXX");
    int fd = mkstemp(p);
    close(fd);
    return p;
}

/* Asynchronous batches are journaled at ingress like any other call: replay
 * gives the same events and the same state root. */
static void test_journal_replay(void **state)
{
    (void)state;
    enum { K = 4, N = 700 };
    zc_order *o = stream(K * N, 14);
    for (int d = 0; d < NDEV; d++) {
        char *path = temp_path();
        zc_engine *e = make_engine(devices[d], path, 0);
        if (!e) {
            unlink(path);
            free(path);
            continue;
        }
        zc_array *ev[K + 1];
        uint64_t t[K];
        for (int k = 0; k < 2; k++)
            t[k] = submit_async(e, o + k * N, N);
        ev[2] = submit(e, o, 5); /* duplicate ids: rejects, in the journal too */
        for (int k = 2; k < K; k++)
            t[k] = submit_async(e, o + k * N, N);
        uint8_t root[32];
        assert_int_equal(zc_engine_sync(e), ZC_OK);
        assert_int_equal(zc_engine_state_root(e, root), ZC_OK);
        ev[0] = wait_for(e, t[0]);
        ev[1] = wait_for(e, t[1]);
        ev[3] = wait_for(e, t[2]);
        ev[4] = wait_for(e, t[3]);
        zc_engine_destroy(e);

        zc_engine *r;
        zc_array *all;
        assert_int_equal(zc_engine_replay(path, NULL, &r, &all), ZC_OK);
        const uint8_t *p = zc_array_data(all);
        size_t bytes = 0;
        for (int k = 0; k <= K; k++) {
            assert_true(bytes + zc_array_nbytes(ev[k]) <= zc_array_nbytes(all));
            assert_memory_equal(p + bytes, zc_array_data(ev[k]), zc_array_nbytes(ev[k]));
            bytes += zc_array_nbytes(ev[k]);
            zc_array_release(ev[k]);
        }
        assert_int_equal(bytes, zc_array_nbytes(all));
        uint8_t root2[32];
        assert_int_equal(zc_engine_state_root(r, root2), ZC_OK);
        assert_memory_equal(root, root2, 32);
        zc_array_release(all);
        zc_engine_destroy(r);
        unlink(path);
        free(path);
    }
    free(o);
}

/* A device fault that surfaces when a batch completes belongs to that batch:
 * its wait returns it (naming the ticket), the batches before it are
 * intact, the one after it is not applied, the engine is stopped, and the
 * journal replays to the state of a fault-free run. A fault while queueing
 * is returned by submit_async itself. */
static void test_fault_at_wait(void **state)
{
    (void)state;
    enum { N = 500 };
    int id;
    if (zc_device_find("opencl:0", &id) != ZC_OK)
        skip();
    zc_order *o = stream(3 * N, 15);
    char *path = temp_path();
    zc_engine *e = make_engine("opencl:0", path, 0);
    zc_engine *ref = make_engine("opencl:0", NULL, 0);
    zc_array *want0 = submit(ref, o, N);
    zc_array_release(submit(ref, o + N, N));
    zc_array_release(submit(ref, o + 2 * N, N));
    /* The engine's second fence wait from now fails. */
    assert_int_equal(zc_fault_inject_set("opencl:wait:2"), ZC_OK);
    uint64_t t0 = submit_async(e, o, N);
    uint64_t t1 = submit_async(e, o + N, N);
    uint64_t t2 = submit_async(e, o + 2 * N, N); /* completes t0 first */
    zc_array *a = NULL;
    char want[64];
    snprintf(want, sizeof want, "asynchronous batch %llu", (unsigned long long)t1);
    expect_error(zc_engine_wait(e, t1, &a), ZC_ERR_TRANSIENT, want);
    assert_non_null(strstr(zc_last_error(), "injected"));
    assert_null(a);
    expect_error(zc_engine_wait(e, t2, &a), ZC_ERR_STATE, "not applied");
    a = wait_for(e, t0);
    assert_same_events(want0, a);
    zc_array_release(a);
    expect_error(zc_engine_wait(e, t1, &a), ZC_ERR_NOT_FOUND, "already collected");
    expect_error(zc_engine_sync(e), ZC_ERR_STATE, "stopped");
    uint64_t t;
    expect_error(zc_engine_submit_async(e, o, 1, &t), ZC_ERR_STATE, "stopped");
    expect_error(zc_engine_submit(e, o, 1, &a), ZC_ERR_STATE, "stopped");
    zc_engine_destroy(e);
    assert_int_equal(zc_fault_inject_set(""), ZC_OK);
    assert_int_equal(zc_device_reset_health(id), ZC_OK);

    zc_engine *r;
    assert_int_equal(zc_engine_replay(path, &(zc_engine_config){.device = "opencl:0"}, &r, NULL), ZC_OK);
    uint8_t r1[32], r2[32];
    assert_int_equal(zc_engine_state_root(r, r1), ZC_OK);
    assert_int_equal(zc_engine_state_root(ref, r2), ZC_OK);
    assert_memory_equal(r1, r2, 32);
    zc_engine_destroy(r);

    /* Queueing fails: the caller gets the error and no ticket. */
    e = make_engine("opencl:0", NULL, 0);
    assert_int_equal(zc_fault_inject_set("opencl:launch:1"), ZC_OK);
    t = 99;
    expect_error(zc_engine_submit_async(e, o, N, &t), ZC_ERR_TRANSIENT, "queueing");
    assert_int_equal(t, 0);
    assert_int_equal(zc_fault_inject_set(""), ZC_OK);
    assert_int_equal(zc_device_reset_health(id), ZC_OK);
    expect_error(zc_engine_submit_async(e, o, N, &t), ZC_ERR_STATE, "stopped");
    zc_engine_destroy(e);
    zc_engine_destroy(ref);
    zc_array_release(want0);
    unlink(path);
    free(path);
    free(o);
}

/* ---- concurrent submitters ---- */

#define THREADS 4
#define PER_THREAD 6
#define CN 150

typedef struct submitter {
    zc_engine *e;
    const zc_order *orders; /* PER_THREAD * CN */
    uint64_t ticket[PER_THREAD]; /* 0 for a synchronous batch */
    zc_array *events[PER_THREAD];
    zc_status st;
} submitter;

/* Every other batch asynchronous; a thread waits for its own tickets. */
static void *submit_thread(void *arg)
{
    submitter *s = arg;
    for (int k = 0; k < PER_THREAD && s->st == ZC_OK; k++) {
        const zc_order *b = s->orders + k * CN;
        if (k % 2)
            s->st = zc_engine_submit(s->e, b, CN, &s->events[k]);
        else
            s->st = zc_engine_submit_async(s->e, b, CN, &s->ticket[k]);
    }
    for (int k = 0; k < PER_THREAD && s->st == ZC_OK; k += 2)
        s->st = zc_engine_wait(s->e, s->ticket[k], &s->events[k]);
    return NULL;
}

typedef struct batch_ref {
    uint64_t first, ticket;
    zc_array *events;
} batch_ref;

static int by_first(const void *a, const void *b)
{
    const batch_ref *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* Threads race with submit and submit_async. Each batch's events carry one
 * contiguous seq range of CN numbers (every order has at least one event);
 * the ranges tile [1, THREADS * PER_THREAD * CN]; tickets grow with them;
 * and the journal replays to the same events in seq order and the same root. */
static void test_concurrent_submitters(void **state)
{
    (void)state;
    zc_order *o = stream(THREADS * PER_THREAD * CN, 16);
    for (int d = 0; d < NDEV; d++) {
        char *path = temp_path();
        zc_engine *e = make_engine(devices[d], path, 0);
        if (!e) {
            unlink(path);
            free(path);
            continue;
        }
        submitter sub[THREADS];
        pthread_t th[THREADS];
        memset(sub, 0, sizeof sub);
        for (int i = 0; i < THREADS; i++) {
            sub[i].e = e;
            sub[i].orders = o + (size_t)i * PER_THREAD * CN;
            assert_int_equal(pthread_create(&th[i], NULL, submit_thread, &sub[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        batch_ref refs[THREADS * PER_THREAD];
        int nb = 0;
        for (int i = 0; i < THREADS; i++) {
            if (sub[i].st != ZC_OK)
                fail_msg("thread %d: %s", i, zc_status_str(sub[i].st));
            for (int k = 0; k < PER_THREAD; k++) {
                const zc_event *ev = zc_array_data(sub[i].events[k]);
                size_t m = zc_array_nbytes(sub[i].events[k]) / sizeof *ev;
                assert_true(m >= CN);
                uint64_t lo = ev[0].seq, hi = ev[m - 1].seq;
                for (size_t j = 1; j < m; j++)
                    assert_true(ev[j].seq >= ev[j - 1].seq && ev[j].seq <= ev[j - 1].seq + 1);
                assert_int_equal(hi - lo + 1, CN);
                /* The batch's own orders, in its own order. */
                const zc_order *b = sub[i].orders + k * CN;
                for (size_t j = 0; j < m; j++)
                    assert_int_equal(ev[j].order_id, ev[j].kind == ZC_EVENT_CANCEL && ev[j].reason == ZC_REASON_STP
                                                         ? ev[j].order_id
                                                         : b[ev[j].seq - lo].id);
                refs[nb++] = (batch_ref){lo, sub[i].ticket[k], sub[i].events[k]};
            }
        }
        qsort(refs, (size_t)nb, sizeof *refs, by_first);
        uint64_t last_ticket = 0;
        for (int k = 0; k < nb; k++) {
            assert_int_equal(refs[k].first, 1 + (uint64_t)k * CN);
            if (refs[k].ticket) {
                assert_true(refs[k].ticket > last_ticket);
                last_ticket = refs[k].ticket;
            }
        }
        uint8_t root[32];
        assert_int_equal(zc_engine_state_root(e, root), ZC_OK);
        zc_engine_destroy(e);

        zc_engine *r;
        zc_array *all;
        assert_int_equal(zc_engine_replay(path, NULL, &r, &all), ZC_OK);
        size_t bytes = 0;
        for (int k = 0; k < nb; k++) {
            size_t len = zc_array_nbytes(refs[k].events);
            assert_true(bytes + len <= zc_array_nbytes(all));
            assert_memory_equal((const uint8_t *)zc_array_data(all) + bytes, zc_array_data(refs[k].events), len);
            bytes += len;
            zc_array_release(refs[k].events);
        }
        assert_int_equal(bytes, zc_array_nbytes(all));
        uint8_t root2[32];
        assert_int_equal(zc_engine_state_root(r, root2), ZC_OK);
        assert_memory_equal(root, root2, 32);
        zc_array_release(all);
        zc_engine_destroy(r);
        unlink(path);
        free(path);
    }
    free(o);
}

/* The device layer's own asynchronous calls: queued writes, a launch and a
 * read complete by the fence, in order, with the synchronous calls. */
static void test_device_async(void **state)
{
    (void)state;
    for (int d = 0; d < NDEV; d++) {
        int id;
        if (zc_device_find(devices[d], &id) != ZC_OK)
            continue;
        enum { N = 4096 };
        uint64_t *host = NULL, *back = NULL;
        assert_int_equal(zc_host_alloc(id, N * 8, (void **)&host), ZC_OK);
        assert_int_equal(zc_host_alloc(id, N * 8, (void **)&back), ZC_OK);
        assert_int_equal((uintptr_t)host % 64, 0);
        for (int i = 0; i < N; i++)
            host[i] = (uint64_t)i * 0x9E3779B97F4A7C15ull;
        zc_devbuf *b;
        assert_int_equal(zc_buf_alloc(id, N * 8, &b), ZC_OK);
        assert_int_equal(zc_buf_write_async(b, 0, host, N * 8), ZC_OK);
        assert_int_equal(zc_buf_read_async(b, 8, back, (N - 1) * 8), ZC_OK);
        zc_fence *f;
        assert_int_equal(zc_fence_record(id, &f), ZC_OK);
        assert_int_equal(zc_fence_wait(f), ZC_OK);
        assert_int_equal(zc_fence_wait(f), ZC_OK);
        zc_fence_free(f);
        assert_memory_equal(back, host + 1, (N - 1) * 8);
        /* An injected wait fault is reported once the work is done. */
        char rule[32];
        snprintf(rule, sizeof rule, "%s:wait:1", zc_backend_name(d == 0 ? ZC_BACKEND_CPU : ZC_BACKEND_OPENCL));
        assert_int_equal(zc_fault_inject_set(rule), ZC_OK);
        memset(back, 0, N * 8);
        assert_int_equal(zc_buf_read_async(b, 0, back, N * 8), ZC_OK);
        assert_int_equal(zc_fence_record(id, &f), ZC_OK);
        expect_error(zc_fence_wait(f), ZC_ERR_TRANSIENT, "injected");
        assert_memory_equal(back, host, N * 8);
        assert_int_equal(zc_fence_wait(f), ZC_OK);
        zc_fence_free(f);
        assert_int_equal(zc_fault_inject_set(""), ZC_OK);
        assert_int_equal(zc_device_reset_health(id), ZC_OK);
        assert_int_equal(zc_buf_read_async(b, 0, back, 16 * (size_t)N), ZC_ERR_OUT_OF_RANGE);
        zc_karg bad = zc_arg_buf(NULL);
        assert_int_equal(zc_launch_async(id, "zc_philox", 1, &bad, 1), ZC_ERR_INVALID_ARGUMENT);
        assert_int_equal(zc_fence_wait(NULL), ZC_ERR_INVALID_ARGUMENT);
        zc_buf_free(b);
        zc_host_free(id, host);
        zc_host_free(id, back);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_async),      cmocka_unit_test(test_async_equals_sync),
        cmocka_unit_test(test_wait_out_of_order), cmocka_unit_test(test_sync_calls_drain),
        cmocka_unit_test(test_read_beyond_guess), cmocka_unit_test(test_journal_replay),
        cmocka_unit_test(test_fault_at_wait),     cmocka_unit_test(test_concurrent_submitters),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
