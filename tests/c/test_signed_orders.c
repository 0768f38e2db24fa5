/* Generated order streams and signed orders: the canonical encoding and its
 * digest against known answers (pycryptodome Keccak-256, coincurve keys and
 * RFC 6979 signatures), demo key derivation, the generator's determinism,
 * mix and liveness rules, batch-size independence of the state root, batch
 * signing and verification, and the signature gate (reject events with
 * ZC_REASON_BAD_SIGNATURE, book and journal unchanged by them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#include "test_util.h"

#define OK(call)                                                                                               \
    do {                                                                                                       \
        zc_status st_ = (call);                                                                                \
        if (st_ != ZC_OK)                                                                                      \
            fail_msg("%s: %s", #call, zc_last_error());                                                        \
    } while (0)

static zc_order kat_order(void)
{
    zc_order o;
    memset(&o, 0, sizeof o);
    o.id = 42;
    o.trader = 7;
    o.symbol = 3;
    o.side = ZC_SIDE_SELL;
    o.price = 100123;
    o.qty = 5;
    o.ts = 999;
    return o;
}

/* Known answers from Python: keccak.new(digest_bits=256) of b"ZCORDER1" +
 * struct.pack("<QIIBBBBqqQ", ...), and coincurve for keys and signatures. */
static void test_encoding_and_digest(void **state)
{
    zc_order o = kat_order();
    uint8_t enc[ZC_ORDER_SIGNED_BYTES];
    OK(zc_order_encode(&o, 1, enc));
    assert_memory_equal(enc, "ZCORDER1", 8);
    uint64_t id;
    int64_t price;
    memcpy(&id, enc + 8, 8);
    memcpy(&price, enc + 28, 8);
    assert_int_equal(id, 42);
    assert_int_equal(price, 100123);
    assert_int_equal(enc[24], ZC_SIDE_SELL);
    uint8_t d[32], want[32];
    int cpu;
    OK(zc_device_find("cpu", &cpu));
    OK(zc_order_digest(&cpu, &o, 1, d));
    unhex("09fc3eea5afd89d7a477364ddc20a9fd27d2afda1492056a7a3dac2e20a743fb", want, 32);
    assert_memory_equal(d, want, 32);
    /* Every field is signed: a changed price changes the digest. */
    o.price++;
    OK(zc_order_digest(&cpu, &o, 1, d));
    assert_memory_not_equal(d, want, 32);
}

static void test_keys_and_signature_kat(void **state)
{
    uint8_t sk[32], pk[64], want[64];
    OK(zc_trader_seckeys(0, 0, 1, sk));
    unhex("c9c1a5feca85e7a8e06000d7d2f5c5a7412298f7c543c0f142451b08b1bd0bc6", want, 32);
    assert_memory_equal(sk, want, 32);
    OK(zc_trader_pubkeys(0, 0, 1, pk));
    unhex("d51e1059c03dce3ba2e3b3b37bda293af7b126330f48c2340521604192ef7c7d"
          "f6be5bf982bc4954bad61685ad958f20d0377f8a1b26b713ab152c027347ad99",
          want, 64);
    assert_memory_equal(pk, want, 64);
    /* coincurve's signature of the KAT order (trader 7) by this key. */
    zc_order o7 = kat_order();
    uint8_t sig7[64];
    uint8_t table[8 * 32];
    for (int t = 0; t < 8; t++)
        memcpy(table + 32 * t, sk, 32);
    OK(zc_orders_sign(table, 8, &o7, 1, sig7));
    unhex("89a500672faf436362cd71570b60aeeec12d322faca47fe802010df1a35ee718"
          "7c695b9a6922abd80cbdf9040293c436cbf539c2b964ba2d2545ba929028637d",
          want, 64);
    assert_memory_equal(sig7, want, 64);
    /* Different traders and seeds give different keys. */
    uint8_t k2[64];
    OK(zc_trader_seckeys(0, 0, 2, k2));
    assert_memory_not_equal(k2, k2 + 32, 32);
    OK(zc_trader_seckeys(1, 0, 1, k2));
    assert_memory_not_equal(k2, sk, 32);
}

static zc_order *gen(const zc_orders_gen_config *c, size_t n)
{
    zc_order *o = malloc(n * sizeof *o);
    assert_non_null(o);
    OK(zc_orders_generate(c, o, n));
    return o;
}

static void test_generator_rules(void **state)
{
    const size_t n = 40000;
    zc_orders_gen_config c = {.seed = 5, .symbols = 16, .traders = 100};
    zc_order *a = gen(&c, n), *b = gen(&c, n);
    assert_memory_equal(a, b, n * sizeof *a);
    c.seed = 6;
    zc_order *d = gen(&c, n);
    assert_memory_not_equal(a, d, n * sizeof *a);
    size_t limit = 0, cancel = 0, ioc = 0;
    uint8_t *seen = calloc(n + 1, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < n; i++) {
        const zc_order *o = &a[i];
        assert_true(o->symbol < 16 && o->trader < 100);
        assert_int_equal(o->ts, (uint64_t)(i + 1) * 1000000);
        if (o->type == ZC_ORDER_CANCEL) {
            /* A cancel names an earlier order of its own trader and symbol. */
            cancel++;
            assert_true(o->id >= 1 && o->id <= i && seen[o->id]);
            assert_int_equal(a[o->id - 1].trader, o->trader);
            assert_int_equal(a[o->id - 1].symbol, o->symbol);
            continue;
        }
        assert_int_equal(o->type, ZC_ORDER_LIMIT);
        assert_int_equal(o->id, i + 1);
        seen[o->id] = 1;
        if (o->tif == ZC_TIF_IOC) {
            ioc++;
            assert_true(o->qty >= 10 && o->qty <= 40);
        } else {
            limit++;
            assert_true(o->qty >= 1 && o->qty <= 10);
            /* A resting limit order sits on its own side of the mid. */
            assert_true(o->price > 100000 / 2 && o->price < 2 * 100000);
        }
    }
    assert_true(limit > n * 66 / 100 && limit < n * 74 / 100);
    assert_true(cancel > n * 17 / 100 && cancel < n * 23 / 100);
    assert_true(ioc > n * 8 / 100 && ioc < n * 12 / 100);
    free(seen);
    free(a);
    free(b);
    free(d);
}

static zc_engine *stream_engine(const zc_orders_gen_config *c, const char *journal)
{
    zc_engine_config ec;
    OK(zc_orders_gen_engine_config(c, &ec));
    ec.device = "cpu";
    ec.journal = journal;
    zc_engine *e;
    OK(zc_engine_create(&ec, &e));
    return e;
}

static size_t run_batches(zc_engine *e, const zc_order *o, size_t n, size_t batch, size_t *rejects)
{
    size_t events = 0;
    for (size_t at = 0; at < n; at += batch) {
        size_t k = n - at < batch ? n - at : batch;
        zc_array *ev;
        OK(zc_engine_submit(e, o + at, k, &ev));
        const zc_event *v = zc_array_data(ev);
        size_t m = zc_array_nbytes(ev) / sizeof *v;
        for (size_t j = 0; j < m; j++)
            *rejects += v[j].kind == ZC_EVENT_REJECT && v[j].reason != ZC_REASON_UNKNOWN_ID;
        events += m;
        zc_array_release(ev);
    }
    return events;
}

/* Batch boundaries do not change the outcome; the stream fits its engine:
 * only cancels of orders filled in their own piece are rejected. */
static void test_generator_stream_matches(void **state)
{
    const size_t n = 30000;
    zc_orders_gen_config c = {.seed = 9, .symbols = 8, .traders = 50, .capacity = 4096};
    zc_order *o = gen(&c, n);
    uint8_t r1[32], r2[32];
    size_t rej1 = 0, rej2 = 0;
    zc_engine *e1 = stream_engine(&c, NULL), *e2 = stream_engine(&c, NULL);
    size_t m1 = run_batches(e1, o, n, n, &rej1);
    size_t m2 = run_batches(e2, o, n, 777, &rej2);
    OK(zc_engine_state_root(e1, r1));
    OK(zc_engine_state_root(e2, r2));
    assert_int_equal(m1, m2);
    assert_memory_equal(r1, r2, 32);
    assert_int_equal(rej1, 0);
    zc_engine_info info;
    OK(zc_engine_info_get(e1, &info));
    assert_true(info.resting > 0);
    zc_engine_destroy(e1);
    zc_engine_destroy(e2);
    free(o);
}

static void test_generator_auction_phases(void **state)
{
    const size_t n = 20000, a = 3000;
    zc_orders_gen_config c = {.seed = 3, .symbols = 8, .traders = 50, .auction_orders = a};
    zc_order *o = gen(&c, n);
    for (size_t i = 0; i < n; i++)
        if (i < a || i >= n - a)
            assert_true(o[i].type == ZC_ORDER_CANCEL || o[i].tif == ZC_TIF_GTC);
    /* Run as documented: no order is refused by the call phase. */
    zc_engine *e = stream_engine(&c, NULL);
    uint32_t syms[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (uint32_t s = 0; s < 8; s++)
        OK(zc_engine_set_mode(e, s, ZC_MODE_AUCTION));
    size_t rej = 0;
    run_batches(e, o, a, 1000, &rej);
    zc_array *ev;
    OK(zc_engine_uncross(e, syms, 8, &ev));
    assert_true(zc_array_nbytes(ev) > 0);
    zc_array_release(ev);
    for (uint32_t s = 0; s < 8; s++)
        OK(zc_engine_set_mode(e, s, ZC_MODE_CONTINUOUS));
    run_batches(e, o + a, n - 2 * a, 4096, &rej);
    assert_int_equal(rej, 0);
    zc_engine_destroy(e);
    free(o);
}

/* A stream, its keys and signatures. */
typedef struct signed_stream {
    zc_orders_gen_config cfg;
    size_t n;
    zc_order *o;
    uint8_t *sk, *pk, *sig;
} signed_stream;

static void make_signed(signed_stream *s, size_t n, uint32_t traders)
{
    s->cfg = (zc_orders_gen_config){.seed = 11, .symbols = 4, .traders = traders};
    s->n = n;
    s->o = gen(&s->cfg, n);
    s->sk = malloc(traders * 32);
    s->pk = malloc(traders * 64);
    s->sig = malloc(n * 64);
    assert_true(s->sk && s->pk && s->sig);
    OK(zc_trader_seckeys(s->cfg.seed, 0, traders, s->sk));
    OK(zc_trader_pubkeys(s->cfg.seed, 0, traders, s->pk));
    OK(zc_orders_sign(s->sk, traders, s->o, n, s->sig));
}

static void free_signed(signed_stream *s)
{
    free(s->o);
    free(s->sk);
    free(s->pk);
    free(s->sig);
}

static void test_sign_verify(void **state)
{
    signed_stream s;
    make_signed(&s, 300, 20);
    uint8_t *v = malloc(s.n);
    int dev;
    OK(zc_device_find("cpu", &dev));
    OK(zc_orders_verify(&dev, s.pk, 20, s.o, s.sig, s.n, 0, v));
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(v[i], 1);
    /* A flipped signature bit, a changed field, another trader's key, a
     * trader without a key: each invalid, nothing else affected. */
    s.sig[5 * 64 + 40] ^= 1;
    s.o[9].qty += 1;
    s.o[12].trader = (s.o[12].trader + 1) % 20;
    s.o[15].trader = 20;
    OK(zc_orders_verify(&dev, s.pk, 20, s.o, s.sig, s.n, 0, v));
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(v[i], !(i == 5 || i == 9 || i == 12 || i == 15));
    /* Signatures are low s: the low-s policy accepts the untouched ones. */
    OK(zc_orders_verify(&dev, s.pk, 20, s.o, s.sig, s.n, ZC_ECDSA_LOW_S, v));
    assert_int_equal(v[0], 1);
    /* Signing needs a key for every trader. */
    uint8_t sig[64];
    assert_int_equal(zc_orders_sign(s.sk, 20, &s.o[15], 1, sig), ZC_ERR_INVALID_ARGUMENT);
    free(v);
    free_signed(&s);
}

/* The gate: tampered orders become BAD_SIGNATURE rejects, sorted into the
 * events by the documented seq rule, and leave the book and the journal as
 * if they had never been sent. */
static void test_signed_gate(void **state)
{
    const size_t n = 200;
    signed_stream s;
    make_signed(&s, n, 10);
    const size_t bad[] = {0, 57, 58, 199};
    for (size_t i = 0; i < 4; i++)
        s.sig[bad[i] * 64 + 63] ^= 0x80;
    char dir[] = "/tmp/zc_signed_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/j.zcj", dir);
    zc_engine *e = stream_engine(&s.cfg, path);
    int dev;
    OK(zc_device_find("cpu", &dev));
    zc_array *ev;
    OK(zc_engine_submit_signed(e, &dev, s.pk, 10, s.o, s.sig, n, 0, &ev));
    const zc_event *v = zc_array_data(ev);
    size_t m = zc_array_nbytes(ev) / sizeof *v, rejects = 0;
    for (size_t j = 0; j < m; j++) {
        if (j)
            assert_true(v[j].seq >= v[j - 1].seq);
        if (v[j].reason == ZC_REASON_BAD_SIGNATURE) {
            assert_int_equal(v[j].kind, ZC_EVENT_REJECT);
            rejects++;
        }
    }
    assert_int_equal(rejects, 4);
    /* Order 0's reject comes first with the seq order 1 gets (1, the first). */
    assert_int_equal(v[0].reason, ZC_REASON_BAD_SIGNATURE);
    assert_int_equal(v[0].order_id, s.o[0].id);
    assert_int_equal(v[0].seq, 1);
    /* The last order's reject carries the next_seq after the batch. */
    assert_int_equal(v[m - 1].reason, ZC_REASON_BAD_SIGNATURE);
    assert_int_equal(v[m - 1].seq, 1 + n - 4);
    uint8_t root[32], ref_root[32], replay_root[32];
    OK(zc_engine_state_root(e, root));
    zc_engine_info info;
    OK(zc_engine_info_get(e, &info));
    assert_int_equal(info.next_seq, 1 + n - 4);
    zc_array_release(ev);
    zc_engine_destroy(e);

    /* The same book as the valid orders alone. */
    zc_order *good = malloc(n * sizeof *good);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (i != 0 && i != 57 && i != 58 && i != 199)
            good[k++] = s.o[i];
    zc_engine *r = stream_engine(&s.cfg, NULL);
    OK(zc_engine_submit(r, good, k, &ev));
    zc_array_release(ev);
    OK(zc_engine_state_root(r, ref_root));
    zc_engine_destroy(r);
    assert_memory_equal(root, ref_root, 32);
    /* The journal replays to the same root. */
    zc_engine_config run = {.device = "cpu"};
    OK(zc_engine_replay(path, &run, &r, NULL));
    OK(zc_engine_state_root(r, replay_root));
    zc_engine_destroy(r);
    assert_memory_equal(root, replay_root, 32);

    /* A batch of only bad signatures: all rejected with the engine's next_seq. */
    e = stream_engine(&s.cfg, NULL);
    uint8_t none[3] = {0, 0, 0};
    OK(zc_engine_submit_verified(e, s.o, none, 3, &ev));
    assert_int_equal(zc_array_nbytes(ev), 3 * sizeof(zc_event));
    v = zc_array_data(ev);
    for (int j = 0; j < 3; j++) {
        assert_int_equal(v[j].seq, 1);
        assert_int_equal(v[j].reason, ZC_REASON_BAD_SIGNATURE);
    }
    zc_array_release(ev);
    OK(zc_engine_info_get(e, &info));
    assert_int_equal(info.resting, 0);
    assert_int_equal(info.batches, 0);
    zc_engine_destroy(e);
    unlink(path);
    rmdir(dir);
    free(good);
    free_signed(&s);
}

static void test_bad_arguments(void **state)
{
    zc_orders_gen_config c = {.seed = 1};
    zc_order o[4];
    assert_int_equal(zc_orders_generate(NULL, o, 4), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_orders_generate(&c, NULL, 4), ZC_ERR_INVALID_ARGUMENT);
    c.auction_orders = 3;
    assert_int_equal(zc_orders_generate(&c, o, 4), ZC_ERR_INVALID_ARGUMENT);
    c.auction_orders = 0;
    c.mid = 10;
    assert_int_equal(zc_orders_generate(&c, o, 4), ZC_ERR_INVALID_ARGUMENT);
    c.mid = 0;
    c.capacity = ZC_BOOK_MAX_CAPACITY + 1;
    zc_engine_config ec;
    assert_int_equal(zc_orders_gen_engine_config(&c, &ec), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_order_encode(NULL, 1, (uint8_t *)o), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_trader_seckeys(0, UINT32_MAX, 2, (uint8_t *)o), ZC_ERR_INVALID_ARGUMENT);
    int dev = 0;
    uint8_t v[1];
    assert_int_equal(zc_orders_verify(NULL, NULL, 0, o, (uint8_t *)o, 1, 0, v), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_orders_verify(&dev, NULL, 0, NULL, NULL, 1, 0, v), ZC_ERR_INVALID_ARGUMENT);
    zc_array *ev;
    assert_int_equal(zc_engine_submit_verified(NULL, o, v, 1, &ev), ZC_ERR_INVALID_ARGUMENT);
    /* n = 0 is valid everywhere. */
    OK(zc_orders_generate(&(zc_orders_gen_config){0}, NULL, 0));
    OK(zc_order_encode(NULL, 0, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_and_digest), cmocka_unit_test(test_keys_and_signature_kat),
        cmocka_unit_test(test_generator_rules),     cmocka_unit_test(test_generator_stream_matches),
        cmocka_unit_test(test_generator_auction_phases), cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_signed_gate),         cmocka_unit_test(test_bad_arguments),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
