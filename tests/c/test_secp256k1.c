/* secp256k1 ECDSA through the public API, plus the single-source arithmetic of
 * kernels/secp256k1.h: field and scalar identities, known answers (multiples
 * of G, the RFC 6979 "Satoshi Nakamoto" signature of key 1), every Wycheproof
 * case (strict DER, low-S for the bitcoin file), key parsing, agreement of the
 * cpu backend (batched inversions) with the OpenCL devices (per-item kernel),
 * and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secp256k1.h"
#include "zkclob/zkclob.h"

#include "test_util.h"

#define VECTORS ZC_SOURCE_DIR "/../shared/vectors/wycheproof/"
#define MAX_DEVICES 8

static void random_bytes(uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(rng() >> 56);
}

/* The bytes of hlen hex digits into out (cap bytes); their count. */
static size_t unhex_len(const char *hex, size_t hlen, uint8_t *out, size_t cap)
{
    assert_int_equal(hlen % 2, 0);
    assert_true(hlen / 2 <= cap);
    unhex(hex, out, hlen / 2);
    return hlen / 2;
}

static void random_fe(zc_secp_fe *a)
{
    zc_secp_fe_set(a, rng(), rng(), rng(), rng()); /* any value below 2^256 is a valid input */
}

static void test_field(void **state)
{
    (void)state;
    for (int it = 0; it < 200; it++) {
        zc_secp_fe a, b, c, t, u, one;
        random_fe(&a);
        random_fe(&b);
        random_fe(&c);
        zc_secp_fe_set(&one, 1, 0, 0, 0);
        /* a (b + c) == a b + a c, a a == sqr(a), (a - b) + b == a */
        zc_secp_fe_add(&t, &b, &c);
        zc_secp_fe_mul(&t, &a, &t);
        zc_secp_fe_mul(&u, &a, &b);
        zc_secp_fe_mul(&c, &a, &c);
        zc_secp_fe_add(&u, &u, &c);
        assert_true(zc_secp_fe_equal(&t, &u));
        zc_secp_fe_mul(&t, &a, &a);
        zc_secp_fe_sqr(&u, &a);
        assert_true(zc_secp_fe_equal(&t, &u));
        zc_secp_fe_sub(&t, &a, &b);
        zc_secp_fe_add(&t, &t, &b);
        assert_true(zc_secp_fe_equal(&t, &a));
        zc_secp_fe_mul_int(&t, &a, 8);
        zc_secp_fe_add(&u, &a, &a);
        zc_secp_fe_add(&u, &u, &u);
        zc_secp_fe_add(&u, &u, &u);
        assert_true(zc_secp_fe_equal(&t, &u));
        /* a / a == 1 unless a == 0 mod p */
        if (!zc_secp_fe_is_zero(&a)) {
            zc_secp_fe_inv(&t, &a);
            zc_secp_fe_mul(&t, &t, &a);
            assert_true(zc_secp_fe_equal(&t, &one));
        }
        /* sqrt(a^2) == +-a, and exactly one of a, -a is a square */
        zc_secp_fe_sqr(&t, &a);
        assert_true(zc_secp_fe_sqrt(&u, &t));
        zc_secp_fe_sqr(&u, &u);
        assert_true(zc_secp_fe_equal(&u, &t));
        zc_secp_fe_neg(&u, &t);
        if (!zc_secp_fe_is_zero(&t))
            assert_false(zc_secp_fe_sqrt(&c, &u)); /* p = 3 mod 4: -1 is not a square */
    }
    /* values in [p, 2^256) equal their residues; p itself is zero */
    zc_secp_fe p, small;
    zc_secp_fe_set(&p, 0xFFFFFFFEFFFFFC2Full, ~0ull, ~0ull, ~0ull);
    assert_true(zc_secp_fe_is_zero(&p));
    assert_false(zc_secp_fe_is_canonical(&p));
    zc_secp_fe_set(&p, 0xFFFFFFFEFFFFFC30ull, ~0ull, ~0ull, ~0ull);
    zc_secp_fe_set(&small, 1, 0, 0, 0);
    assert_true(zc_secp_fe_equal(&p, &small));
    zc_secp_fe_normalize(&p);
    assert_memory_equal(p.d, small.d, sizeof p.d);
}

static void test_scalar(void **state)
{
    (void)state;
    for (int it = 0; it < 100; it++) {
        zc_secp_sc a, b, t, u, w, one = {{1, 0, 0, 0}};
        zc_secp_sc_reduce_once(&a, &(zc_secp_sc){{rng(), rng(), rng(), rng()}});
        zc_secp_sc_reduce_once(&b, &(zc_secp_sc){{rng(), rng(), rng(), rng()}});
        zc_secp_sc_inv(&w, &a);
        zc_secp_sc_mul(&t, &w, &a);
        assert_memory_equal(t.d, one.d, sizeof t.d);
        zc_secp_sc_neg(&t, &a);
        zc_secp_sc_add(&t, &t, &a);
        assert_true(zc_secp_sc_is_zero(&t));
        /* (a + b) b^-1 == a b^-1 + 1 */
        zc_secp_sc_add(&t, &a, &b);
        zc_secp_sc_inv(&w, &b);
        zc_secp_sc_mul(&t, &t, &w);
        zc_secp_sc_mul(&u, &a, &w);
        zc_secp_sc_add(&u, &u, &one);
        assert_memory_equal(t.d, u.d, sizeof t.d);
        /* the endomorphism split recombines to a, with halves (up to sign)
         * below 2^128, and their wNAF digits add back up to them */
        const zc_secp_sc lambda = {{0xDF02967C1B23BD72ull, 0x122E22EA20816678ull, 0xA5261C028812645Aull,
                                    0x5363AD4CC05C30E0ull}};
        zc_secp_sc h1, h2;
        zc_secp_sc_split_lambda(&h1, &h2, &a);
        zc_secp_sc_mul(&t, &h2, &lambda);
        zc_secp_sc_add(&t, &t, &h1);
        assert_memory_equal(t.d, a.d, sizeof t.d);
        int sign = zc_secp_sc_abs(&h1) * zc_secp_sc_abs(&h2);
        assert_true(sign == 1 || sign == -1);
        assert_true(h1.d[2] == 0 && h1.d[3] == 0 && h2.d[2] == 0 && h2.d[3] == 0);
        int16_t wnaf[ZC_SECP_WNAF_GLV];
        int used = zc_secp_wnaf(wnaf, ZC_SECP_WNAF_GLV, &h1, 5);
        zc_secp_sc acc = {{0, 0, 0, 0}}, two = {{2, 0, 0, 0}};
        for (int i = used - 1; i >= 0; i--) {
            zc_secp_sc_mul(&acc, &acc, &two);
            if (wnaf[i]) {
                assert_true(wnaf[i] & 1);
                assert_true(wnaf[i] > -16 && wnaf[i] < 16);
                zc_secp_sc d = {{(uint64_t)(wnaf[i] < 0 ? -wnaf[i] : wnaf[i]), 0, 0, 0}};
                if (wnaf[i] < 0)
                    zc_secp_sc_neg(&d, &d);
                zc_secp_sc_add(&acc, &acc, &d);
            }
        }
        assert_memory_equal(acc.d, h1.d, sizeof h1.d);
    }
    /* n - 1 is high, (n - 1) / 2 is not */
    zc_secp_sc nm1 = {{0xBFD25E8CD0364140ull, 0xBAAEDCE6AF48A03Bull, ~1ull, ~0ull}};
    zc_secp_sc half = {{0xDFE92F46681B20A0ull, 0x5D576E7357A4501Dull, ~0ull, 0x7FFFFFFFFFFFFFFFull}};
    zc_secp_sc half1 = {{0xDFE92F46681B20A1ull, 0x5D576E7357A4501Dull, ~0ull, 0x7FFFFFFFFFFFFFFFull}};
    assert_true(zc_secp_sc_is_high(&nm1));
    assert_false(zc_secp_sc_is_high(&half));
    assert_true(zc_secp_sc_is_high(&half1));
}

static void test_known_answers(void **state)
{
    (void)state;
    uint8_t sk[32] = {0}, pk[64], want[64];
    sk[31] = 1;
    assert_int_equal(zc_secp256k1_pubkey_create(sk, pk), ZC_OK);
    unhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", want, 32);
    unhex("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8", want + 32, 32);
    assert_memory_equal(pk, want, 64);
    sk[31] = 2;
    assert_int_equal(zc_secp256k1_pubkey_create(sk, pk), ZC_OK);
    unhex("c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5", want, 32);
    unhex("1ae168fea63dc339a3c58419466ceaeef7f632653266d0e1236431a950cfe52a", want + 32, 32);
    assert_memory_equal(pk, want, 64);
    /* (n - 1) G = -G */
    unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140", sk, 32);
    assert_int_equal(zc_secp256k1_pubkey_create(sk, pk), ZC_OK);
    unhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", want, 32);
    unhex("b7c52588d95c3b9aa25b0403f1eef75702e84bb7597aabe663b82f6f04ef2777", want + 32, 32);
    assert_memory_equal(pk, want, 64);

    /* RFC 6979 with key 1 over SHA-256("Satoshi Nakamoto"), low s
     * (libsecp256k1 and python-ecdsa give the same) */
    const char *msg = "Satoshi Nakamoto";
    uint64_t off[2] = {0, strlen(msg)};
    uint8_t digest[32], sig[64], expect[64];
    int cpu = 0;
    assert_int_equal(zc_sha256_batch(&cpu, (const uint8_t *)msg, off[1], off, 1, digest), ZC_OK);
    memset(sk, 0, 32);
    sk[31] = 1;
    assert_int_equal(zc_ecdsa_sign(sk, digest, sig), ZC_OK);
    unhex("934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8", expect, 32);
    unhex("2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5", expect + 32, 32);
    assert_memory_equal(sig, expect, 64);
    uint8_t ok = 0;
    assert_int_equal(zc_secp256k1_pubkey_create(sk, pk), ZC_OK);
    assert_int_equal(zc_ecdsa_verify_batch(&cpu, pk, digest, sig, 1, ZC_ECDSA_LOW_S, &ok), ZC_OK);
    assert_int_equal(ok, 1);
}

/* Runs every case of a Wycheproof file on every device; returns the count. */
static size_t wycheproof(const char *name, unsigned flags)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", VECTORS, name);
    char *text = read_text(path);
    size_t size = strlen(text);

    size_t cap = 1024, n = 0;
    uint8_t *pks = malloc(cap * 64), *digests = malloc(cap * 32), *sigs = calloc(cap, 64), *expect = malloc(cap);
    uint8_t *msgs = malloc(size), *der = malloc(size), *valid = malloc(cap);
    assert_true(pks && digests && sigs && expect && msgs && der && valid);
    uint8_t key[64] = {0};
    int have_key = 0;
    for (const char *p = text;;) {
        const char *k = strstr(p, "\"uncompressed\": \""), *t = strstr(p, "\"msg\": \"");
        if (!t)
            break;
        if (k && k < t) { /* a new group's key */
            uint8_t raw[65], ok;
            const char *h = k + strlen("\"uncompressed\": \"");
            assert_int_equal(unhex_len(h, (size_t)(strchr(h, '"') - h), raw, 65), 65);
            assert_int_equal(zc_secp256k1_pubkey_parse(raw, 1, 65, key, &ok), ZC_OK);
            assert_int_equal(ok, 1);
            have_key = 1;
            p = h;
            continue;
        }
        assert_true(have_key && n < cap);
        const char *m = t + strlen("\"msg\": \"");
        size_t mlen = unhex_len(m, (size_t)(strchr(m, '"') - m), msgs, size);
        uint64_t off[2] = {0, mlen};
        int cpu = 0;
        assert_int_equal(zc_sha256_batch(&cpu, msgs, mlen, off, 1, digests + 32 * n), ZC_OK);
        const char *s = strstr(m, "\"sig\": \"") + strlen("\"sig\": \"");
        uint8_t ok;
        size_t dlen = unhex_len(s, (size_t)(strchr(s, '"') - s), der, size);
        assert_int_equal(zc_ecdsa_sig_parse_der(der, dlen, sigs + 64 * n, &ok), ZC_OK);
        const char *r = strstr(s, "\"result\": \"") + strlen("\"result\": \"");
        assert_true(strncmp(r, "acceptable", 10) != 0); /* none in these files; see tests/python/test_crypto.py */
        expect[n] = strncmp(r, "valid", 5) == 0;
        if (!ok) /* malformed DER: invalid whatever the bytes would verify to */
            assert_int_equal(expect[n], 0);
        memcpy(pks + 64 * n, key, 64);
        /* a malformed encoding must fail verification: zeroed r fails the range check */
        n++;
        p = r;
    }
    int ids[MAX_DEVICES];
    int nd = run_devices(ids, MAX_DEVICES, 0);
    for (int d = 0; d < nd; d++) {
        int dev = ids[d];
        memset(valid, 0xAA, n);
        assert_int_equal(zc_ecdsa_verify_batch(&dev, pks, digests, sigs, n, flags, valid), ZC_OK);
        assert_int_equal(dev, ids[d]);
        for (size_t i = 0; i < n; i++)
            if (valid[i] != expect[i])
                fail_msg("%s case %zu on device %d: got %d, expected %d", name, i, dev, valid[i], expect[i]);
    }
    free(text);
    free(pks);
    free(digests);
    free(sigs);
    free(expect);
    free(msgs);
    free(der);
    free(valid);
    return n;
}

static void test_wycheproof(void **state)
{
    (void)state;
    assert_int_equal(wycheproof("ecdsa_secp256k1_sha256_test.json", 0), 476);
    assert_int_equal(wycheproof("ecdsa_secp256k1_sha256_bitcoin_test.json", ZC_ECDSA_LOW_S), 463);
}

static void test_der(void **state)
{
    (void)state;
    uint8_t sig[64], ok, der[80];
    /* minimal: r = 1, s = 0x80 (needs a leading zero) */
    const uint8_t good[] = {0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80};
    assert_int_equal(zc_ecdsa_sig_parse_der(good, sizeof good, sig, &ok), ZC_OK);
    assert_int_equal(ok, 1);
    assert_int_equal(sig[31], 1);
    assert_int_equal(sig[63], 0x80);
    struct {
        const char *why;
        uint8_t b[12];
        size_t len;
    } bad[] = {
        {"wrong tag", {0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, 8},
        {"length too long", {0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, 8},
        {"trailing byte", {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00}, 9},
        {"negative r", {0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01}, 8},
        {"padded r", {0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01}, 9},
        {"empty s", {0x30, 0x05, 0x02, 0x01, 0x01, 0x02, 0x00}, 7},
        {"long-form length", {0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, 9},
        {"integer tag", {0x30, 0x06, 0x03, 0x01, 0x01, 0x02, 0x01, 0x01}, 8},
        {"short", {0x30}, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(sig, 0x55, sizeof sig);
        assert_int_equal(zc_ecdsa_sig_parse_der(bad[i].b, bad[i].len, sig, &ok), ZC_OK);
        if (ok)
            fail_msg("accepted %s", bad[i].why);
        for (int j = 0; j < 64; j++)
            assert_int_equal(sig[j], 0);
    }
    /* 33 value bytes only with the sign zero; 34 never */
    der[0] = 0x30;
    der[1] = 2 + 33 + 3;
    der[2] = 0x02;
    der[3] = 33;
    der[4] = 0;
    memset(der + 5, 0xFF, 32);
    der[37] = 0x02;
    der[38] = 1;
    der[39] = 1;
    assert_int_equal(zc_ecdsa_sig_parse_der(der, 40, sig, &ok), ZC_OK);
    assert_int_equal(ok, 1);
    der[4] = 1;
    assert_int_equal(zc_ecdsa_sig_parse_der(der, 40, sig, &ok), ZC_OK);
    assert_int_equal(ok, 0);
    assert_int_equal(zc_ecdsa_sig_parse_der(NULL, 8, sig, &ok), ZC_ERR_INVALID_ARGUMENT);
}

static void test_pubkey_parse(void **state)
{
    (void)state;
    uint8_t sk[32], pk[64], sec[4][65], out[4 * 64], ok[4];
    random_bytes(sk, 32);
    sk[0] &= 0x7F;
    assert_int_equal(zc_secp256k1_pubkey_create(sk, pk), ZC_OK);
    /* compressed with both parities, uncompressed */
    sec[0][0] = (uint8_t)(0x02 | (pk[63] & 1));
    memcpy(sec[0] + 1, pk, 32);
    sec[1][0] = 0x04;
    memcpy(sec[1] + 1, pk, 64);
    assert_int_equal(zc_secp256k1_pubkey_parse(sec[0], 1, 33, out, ok), ZC_OK);
    assert_int_equal(ok[0], 1);
    assert_memory_equal(out, pk, 64);
    assert_int_equal(zc_secp256k1_pubkey_parse(sec[1], 1, 65, out, ok), ZC_OK);
    assert_int_equal(ok[0], 1);
    assert_memory_equal(out, pk, 64);
    sec[0][0] ^= 1; /* the other root: -P */
    assert_int_equal(zc_secp256k1_pubkey_parse(sec[0], 1, 33, out, ok), ZC_OK);
    assert_int_equal(ok[0], 1);
    assert_memory_equal(out, pk, 32);
    assert_memory_not_equal(out + 32, pk + 32, 32);

    /* invalid: prefixes, a point off the curve, x = p, x with no y */
    memcpy(sec[0], sec[1], 65);
    sec[0][0] = 0x06; /* hybrid encodings are refused */
    memcpy(sec[1], sec[0], 65);
    sec[1][0] = 0x04;
    sec[1][64] ^= 1;
    memset(sec[2], 0xFF, 65);
    sec[2][0] = 0x04;
    static const uint8_t pbytes[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFC, 0x2F};
    memcpy(sec[2] + 1, pbytes, 32);
    memcpy(sec[3], sec[1], 65);
    sec[3][0] = 0x05;
    assert_int_equal(zc_secp256k1_pubkey_parse(&sec[0][0], 4, 65, out, ok), ZC_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ok[i], 0);
        for (int j = 0; j < 64; j++)
            assert_int_equal(out[64 * i + j], 0);
    }
    /* compressed x = 5 has no y (5^3 + 7 = 132 is not a square mod p) */
    uint8_t c[33] = {0x02};
    c[32] = 5;
    assert_int_equal(zc_secp256k1_pubkey_parse(c, 1, 33, out, ok), ZC_OK);
    assert_int_equal(ok[0], 0);
    assert_int_equal(zc_secp256k1_pubkey_parse(c, 1, 32, out, ok), ZC_ERR_INVALID_ARGUMENT);
}

/* Random keys, digests and signatures with a share corrupted: every device
 * gives the same bits, and the expected ones. */
static void test_backends_agree(void **state)
{
    (void)state;
    enum { N = 300, KEYS = 7 };
    uint8_t *sks = malloc(KEYS * 32), *pks = malloc(N * 64), *dg = malloc(N * 32), *sigs = malloc(N * 64);
    uint8_t *expect = malloc(N), *got = malloc(N), *first = malloc(N);
    uint32_t *idx = malloc(N * sizeof *idx);
    uint8_t kpk[KEYS][64];
    for (int k = 0; k < KEYS; k++) {
        random_bytes(sks + 32 * k, 32);
        sks[32 * k] &= 0x7F;
        assert_int_equal(zc_secp256k1_pubkey_create(sks + 32 * k, kpk[k]), ZC_OK);
    }
    random_bytes(dg, N * 32);
    for (int i = 0; i < N; i++)
        idx[i] = (uint32_t)(rng() % KEYS);
    assert_int_equal(zc_ecdsa_sign_batch(sks, KEYS, idx, dg, N, sigs), ZC_OK);
    for (int i = 0; i < N; i++) {
        uint8_t one[64];
        assert_int_equal(zc_ecdsa_sign(sks + 32 * idx[i], dg + 32 * i, one), ZC_OK);
        assert_memory_equal(one, sigs + 64 * i, 64); /* batch == single */
        memcpy(pks + 64 * i, kpk[idx[i]], 64);
        expect[i] = 1;
        switch (i % 6) {
        case 1: dg[32 * i + (rng() % 32)] ^= 1; expect[i] = 0; break;
        case 2: sigs[64 * i + (rng() % 64)] ^= 0x10; expect[i] = 0; break;
        case 3: memcpy(pks + 64 * i, kpk[(idx[i] + 1) % KEYS], 64); expect[i] = 0; break;
        case 4: pks[64 * i + 63] ^= 2; expect[i] = 0; break; /* off the curve */
        default: break;
        }
    }
    int ids[MAX_DEVICES];
    int nd = run_devices(ids, MAX_DEVICES, 0);
    for (int d = 0; d < nd; d++) {
        int dev = ids[d];
        assert_int_equal(zc_ecdsa_verify_batch(&dev, pks, dg, sigs, N, ZC_ECDSA_LOW_S, got), ZC_OK);
        assert_memory_equal(got, expect, N);
    }
    /* the high-s twin verifies only without the low-S policy */
    uint8_t hs[64];
    memcpy(hs, sigs, 64);
    zc_secp_sc s, ns;
    zc_secp_limbs_from_be(s.d, hs + 32);
    zc_secp_sc_neg(&ns, &s);
    zc_secp_limbs_to_be(hs + 32, ns.d);
    for (int d = 0; d < nd; d++) {
        int dev = ids[d];
        assert_int_equal(zc_ecdsa_verify_batch(&dev, pks, dg, hs, 1, 0, got), ZC_OK);
        assert_int_equal(got[0], 1);
        assert_int_equal(zc_ecdsa_verify_batch(&dev, pks, dg, hs, 1, ZC_ECDSA_LOW_S, got), ZC_OK);
        assert_int_equal(got[0], 0);
    }
    free(sks);
    free(pks);
    free(dg);
    free(sigs);
    free(expect);
    free(got);
    free(first);
    free(idx);
}

static void test_bad_input(void **state)
{
    (void)state;
    uint8_t sk[32] = {0}, pk[64], dg[32] = {0}, sig[64], ok;
    int cpu = 0;
    assert_int_equal(zc_secp256k1_pubkey_create(sk, pk), ZC_ERR_INVALID_ARGUMENT); /* 0 */
    assert_non_null(strstr(zc_last_error(), "not in [1, n - 1]"));
    unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", sk, 32); /* n */
    assert_int_equal(zc_ecdsa_sign(sk, dg, sig), ZC_ERR_INVALID_ARGUMENT);
    sk[0] = 0x11;
    uint32_t idx = 1;
    assert_int_equal(zc_ecdsa_sign_batch(sk, 1, &idx, dg, 1, sig), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(zc_ecdsa_sign_batch(sk, 1, NULL, dg, 2, sig), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_ecdsa_verify_batch(NULL, pk, dg, sig, 1, 0, &ok), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_ecdsa_verify_batch(&cpu, pk, dg, sig, 1, 4, &ok), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_ecdsa_verify_batch(&cpu, NULL, dg, sig, 1, 0, &ok), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_ecdsa_verify_batch(&cpu, NULL, NULL, NULL, 0, 0, NULL), ZC_OK);
    /* r = 0, s = 0, r = n are invalid signatures, not errors */
    assert_int_equal(zc_secp256k1_pubkey_create(sk, pk), ZC_OK);
    assert_int_equal(zc_ecdsa_sign(sk, dg, sig), ZC_OK);
    uint8_t bad[3][64];
    memcpy(bad[0], sig, 64);
    memset(bad[0], 0, 32);
    memcpy(bad[1], sig, 64);
    memset(bad[1] + 32, 0, 32);
    memcpy(bad[2], sig, 64);
    unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", bad[2], 32);
    uint8_t pks[3 * 64], dgs[3 * 32], v[3];
    for (int i = 0; i < 3; i++) {
        memcpy(pks + 64 * i, pk, 64);
        memcpy(dgs + 32 * i, dg, 32);
    }
    assert_int_equal(zc_ecdsa_verify_batch(&cpu, pks, dgs, &bad[0][0], 3, 0, v), ZC_OK);
    assert_int_equal(v[0] | v[1] | v[2], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field),        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_known_answers), cmocka_unit_test(test_wycheproof),
        cmocka_unit_test(test_der),          cmocka_unit_test(test_pubkey_parse),
        cmocka_unit_test(test_backends_agree), cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
