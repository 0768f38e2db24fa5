/* Batch polynomial commitments through the public API: the LDE against a
 * naive O(n^2) interpolation and evaluation, the root against a tree built
 * here from zc_poseidon2_hash and zc_poseidon2_compress, openings and their
 * verification (tampered rows, proofs, indices and roots rejected), cpu
 * against the OpenCL devices, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#include "test_util.h"

#define MAX_DEVICES 8

typedef unsigned __int128 u128;

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t p) { return (uint64_t)((u128)a * b % p); }

static uint64_t addmod(uint64_t a, uint64_t b, uint64_t p) { return (uint64_t)(((u128)a + b) % p); }

static uint64_t powmod(uint64_t a, uint64_t e, uint64_t p)
{
    uint64_t r = 1;
    for (; e; e >>= 1, a = mulmod(a, a, p))
        if (e & 1)
            r = mulmod(r, a, p);
    return r;
}

static uint64_t bitrev(uint64_t x, unsigned bits)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < bits; i++)
        r |= ((x >> i) & 1) << (bits - 1 - i);
    return r;
}

static unsigned log2_exact(uint64_t n)
{
    unsigned k = 0;
    while (((uint64_t)1 << k) < n)
        k++;
    return k;
}

typedef struct field_case {
    zc_field field;
    uint64_t p, g; /* modulus, multiplicative generator */
    size_t esz;
    zc_poseidon2_instance inst;
} field_case;

static const field_case FIELDS[] = {
    {ZC_FIELD_BABYBEAR, 2013265921ull, 31, 4, ZC_POSEIDON2_BABYBEAR_16},
    {ZC_FIELD_GOLDILOCKS, 18446744069414584321ull, 7, 8, ZC_POSEIDON2_GOLDILOCKS_8},
};

static uint64_t get(const field_case *f, const void *a, size_t i)
{
    return f->esz == 4 ? ((const uint32_t *)a)[i] : ((const uint64_t *)a)[i];
}

static void put(const field_case *f, void *a, size_t i, uint64_t v)
{
    if (f->esz == 4)
        ((uint32_t *)a)[i] = (uint32_t)v;
    else
        ((uint64_t *)a)[i] = v;
}

static void *random_matrix(const field_case *f, size_t count)
{
    void *m = malloc(count * f->esz);
    assert_non_null(m);
    for (size_t i = 0; i < count; i++)
        put(f, m, i, rng() % f->p);
    return m;
}

/* The LDE by definition: interpolate each column on H (n points), evaluate
 * at s W^i on the N = n * blowup points, output in natural or bit-reversed
 * order. */
static void *naive_lde(const field_case *f, const void *in, size_t n, size_t cols, uint32_t blowup, int coset,
                       int rev_out)
{
    uint64_t p = f->p, big = n * blowup;
    uint64_t w = powmod(f->g, (p - 1) >> log2_exact(n), p), w_inv = powmod(w, p - 2, p);
    uint64_t W = powmod(f->g, (p - 1) >> log2_exact(big), p), n_inv = powmod(n % p, p - 2, p);
    uint64_t *coeffs = malloc(n * sizeof *coeffs);
    void *out = malloc(big * cols * f->esz);
    assert_true(coeffs && out);
    for (size_t c = 0; c < cols; c++) {
        for (size_t j = 0; j < n; j++) {
            uint64_t acc = 0;
            for (size_t i = 0; i < n; i++)
                acc = addmod(acc, mulmod(get(f, in, i * cols + c), powmod(w_inv, (uint64_t)i * j, p), p), p);
            coeffs[j] = mulmod(acc, n_inv, p);
        }
        for (uint64_t i = 0; i < big; i++) {
            uint64_t x = mulmod(coset ? f->g : 1, powmod(W, i, p), p), y = 0;
            for (size_t j = n; j > 0; j--)
                y = addmod(mulmod(y, x, p), coeffs[j - 1], p);
            uint64_t row = rev_out ? bitrev(i, log2_exact(big)) : i;
            put(f, out, row * cols + c, y);
        }
    }
    free(coeffs);
    return out;
}

/* Root of the Poseidon2 tree over the rows (zero digest right of an odd
 * level's last node), level by level through the hash primitives. */
static void reference_root(const field_case *f, const void *rows, size_t n, size_t cols, uint8_t root[32])
{
    int dev;
    assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
    uint8_t *level = malloc(n * 32), *left = malloc(n * 32), *right = malloc(n * 32);
    assert_true(level && left && right);
    assert_int_equal(zc_poseidon2_hash(&dev, f->inst, rows, n, cols, level), ZC_OK);
    for (size_t m = n; m > 1; m = (m + 1) / 2) {
        size_t half = (m + 1) / 2;
        for (size_t i = 0; i < half; i++) {
            memcpy(left + i * 32, level + 2 * i * 32, 32);
            if (2 * i + 1 < m)
                memcpy(right + i * 32, level + (2 * i + 1) * 32, 32);
            else
                memset(right + i * 32, 0, 32);
        }
        assert_int_equal(zc_poseidon2_compress(&dev, f->inst, left, right, half, level), ZC_OK);
    }
    memcpy(root, level, 32);
    free(level);
    free(left);
    free(right);
}

static void test_commit_matches_reference(void **state)
{
    (void)state;
    int dev;
    assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
    const size_t n = 16, cols = 3;
    for (size_t fi = 0; fi < 2; fi++) {
        const field_case *f = &FIELDS[fi];
        void *in = random_matrix(f, n * cols);
        for (uint32_t blowup = 2; blowup <= 8; blowup *= 2)
            for (int coset = 0; coset < 2; coset++)
                for (int rev = 0; rev < 2; rev++) {
                    zc_ntt_params params = {f->field, 0, rev ? ZC_NTT_NR : ZC_NTT_NN, coset};
                    zc_commitment *c = NULL;
                    assert_int_equal(zc_commit(&dev, &params, blowup, f->inst, in, n, cols, &c), ZC_OK);
                    void *want = naive_lde(f, in, n, cols, blowup, coset, rev);
                    zc_array *lde = zc_commitment_lde(c);
                    assert_int_equal(zc_array_ndim(lde), 2);
                    assert_int_equal(zc_array_shape(lde)[0], n * blowup);
                    assert_int_equal(zc_array_shape(lde)[1], cols);
                    assert_memory_equal(zc_array_data(lde), want, n * blowup * cols * f->esz);
                    uint8_t root[32], ref[32];
                    zc_commitment_root(c, root);
                    reference_root(f, want, n * blowup, cols, ref);
                    assert_memory_equal(root, ref, 32);
                    assert_int_equal(zc_merkle_num_leaves(zc_commitment_tree(c)), n * blowup);
                    free(want);
                    zc_commitment_free(c);
                }
        free(in);
    }
}

static void test_open_and_verify(void **state)
{
    (void)state;
    int dev;
    assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
    const size_t n = 64, cols = 5;
    const uint32_t blowup = 4;
    const uint64_t big = n * blowup;
    for (size_t fi = 0; fi < 2; fi++) {
        const field_case *f = &FIELDS[fi];
        void *in = random_matrix(f, n * cols);
        zc_ntt_params params = {f->field, 0, ZC_NTT_NR, 1};
        zc_commitment *c = NULL;
        assert_int_equal(zc_commit(&dev, &params, blowup, f->inst, in, n, cols, &c), ZC_OK);
        uint8_t root[32];
        zc_commitment_root(c, root);
        const uint8_t *lde = zc_array_data(zc_commitment_lde(c));
        const uint64_t sets[][4] = {{0, 0, 0, 0}, {1, 2, 3, 4}, {5, 17, 200, 255}, {254, 255, 0, 0}};
        const size_t sizes[] = {1, 4, 4, 2};
        for (size_t s = 0; s < 4; s++) {
            const uint64_t *idx = sets[s];
            size_t k = sizes[s];
            zc_array *rows = NULL, *proof = NULL;
            assert_int_equal(zc_commit_open(c, idx, k, &rows, &proof), ZC_OK);
            assert_int_equal(zc_array_shape(rows)[0], k);
            assert_int_equal(zc_array_shape(rows)[1], cols);
            uint8_t *r = zc_array_data(rows), *pr = zc_array_data(proof);
            size_t nodes = zc_array_shape(proof)[0];
            for (size_t j = 0; j < k; j++)
                assert_memory_equal(r + j * cols * f->esz, lde + idx[j] * cols * f->esz, cols * f->esz);
            int valid = -1;
            assert_int_equal(zc_commit_verify(f->inst, root, big, cols, idx, k, r, pr, nodes, &valid), ZC_OK);
            assert_int_equal(valid, 1);

            /* A changed element, proof node or root fails. */
            uint64_t v = get(f, r, k * cols - 1);
            put(f, r, k * cols - 1, (v + 1) % f->p);
            assert_int_equal(zc_commit_verify(f->inst, root, big, cols, idx, k, r, pr, nodes, &valid), ZC_OK);
            assert_int_equal(valid, 0);
            put(f, r, k * cols - 1, v);
            if (nodes) {
                pr[1] ^= 1;
                assert_int_equal(zc_commit_verify(f->inst, root, big, cols, idx, k, r, pr, nodes, &valid), ZC_OK);
                assert_int_equal(valid, 0);
                pr[1] ^= 1;
            }
            uint8_t other[32];
            memcpy(other, root, 32);
            other[0] ^= 1;
            assert_int_equal(zc_commit_verify(f->inst, other, big, cols, idx, k, r, pr, nodes, &valid), ZC_OK);
            assert_int_equal(valid, 0);

            /* Malformed: a proof one node short, a non-canonical element. */
            if (nodes)
                assert_int_equal(zc_commit_verify(f->inst, root, big, cols, idx, k, r, pr, nodes - 1, &valid),
                                 ZC_ERR_INVALID_ARGUMENT);
            put(f, r, 0, f->p);
            assert_int_equal(zc_commit_verify(f->inst, root, big, cols, idx, k, r, pr, nodes, &valid),
                             ZC_ERR_OUT_OF_RANGE);
            put(f, r, 0, get(f, lde, idx[0] * cols));
            assert_int_equal(zc_commit_verify(f->inst, root, big, cols, idx, k, r, pr, nodes, &valid), ZC_OK);
            assert_int_equal(valid, 1);
            zc_array_release(rows);
            zc_array_release(proof);
        }

        /* Rows opened at 8 and 9 claimed for 10 and 11: same proof shape, wrong leaves. */
        uint64_t at[2] = {8, 9}, claim[2] = {10, 11};
        zc_array *rows = NULL, *proof = NULL;
        assert_int_equal(zc_commit_open(c, at, 2, &rows, &proof), ZC_OK);
        int valid = -1;
        size_t nodes = zc_array_shape(proof)[0];
        assert_int_equal(zc_commit_verify(f->inst, root, big, cols, claim, 2, zc_array_data(rows),
                                          zc_array_data(proof), nodes, &valid),
                         ZC_OK);
        assert_int_equal(valid, 0);
        /* Unsorted or out-of-range indices. */
        uint64_t unsorted[2] = {9, 8}, outside[2] = {8, big};
        assert_int_equal(zc_commit_verify(f->inst, root, big, cols, unsorted, 2, zc_array_data(rows),
                                          zc_array_data(proof), nodes, &valid),
                         ZC_ERR_INVALID_ARGUMENT);
        assert_int_equal(zc_commit_verify(f->inst, root, big, cols, outside, 2, zc_array_data(rows),
                                          zc_array_data(proof), nodes, &valid),
                         ZC_ERR_OUT_OF_RANGE);
        zc_array_release(rows);
        zc_array_release(proof);
        zc_array *r2 = NULL, *p2 = NULL;
        assert_int_equal(zc_commit_open(c, unsorted, 2, &r2, &p2), ZC_ERR_INVALID_ARGUMENT);
        assert_int_equal(zc_commit_open(c, outside, 2, &r2, &p2), ZC_ERR_OUT_OF_RANGE);
        assert_int_equal(zc_commit_open(c, at, 0, &r2, &p2), ZC_ERR_INVALID_ARGUMENT);
        assert_null(r2);
        assert_null(p2);
        zc_commitment_free(c);
        free(in);
    }
}

static void test_backends_agree(void **state)
{
    (void)state;
    int ids[MAX_DEVICES], count = 0;
    for (int id = 0; id < zc_device_count() && count < MAX_DEVICES; id++) {
        zc_device_info info;
        assert_int_equal(zc_device_info_get(id, &info), ZC_OK);
        if (info.available && info.backend != ZC_BACKEND_CUDA)
            ids[count++] = id;
    }
    assert_true(count >= 2); /* cpu and at least one PoCL device */
    const size_t n = 1024, cols = 4;
    for (size_t fi = 0; fi < 2; fi++) {
        const field_case *f = &FIELDS[fi];
        void *in = random_matrix(f, n * cols);
        zc_ntt_params params = {f->field, 0, ZC_NTT_NN, 1};
        uint8_t first[32];
        zc_array *first_lde = NULL; /* kept past its commitment */
        for (int d = 0; d < count; d++) {
            int dev = ids[d];
            zc_commitment *c = NULL;
            assert_int_equal(zc_commit(&dev, &params, 2, f->inst, in, n, cols, &c), ZC_OK);
            assert_int_equal(dev, ids[d]);
            uint8_t root[32];
            zc_commitment_root(c, root);
            zc_array *lde = zc_commitment_lde(c);
            if (d == 0) {
                memcpy(first, root, 32);
                first_lde = lde;
                zc_array_retain(lde);
            } else {
                assert_memory_equal(root, first, 32);
                assert_memory_equal(zc_array_data(lde), zc_array_data(first_lde), zc_array_nbytes(lde));
            }
            zc_commitment_free(c);
        }
        zc_array_release(first_lde);
        free(in);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    int dev;
    assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
    uint32_t in[8 * 2] = {0};
    zc_ntt_params bb = {ZC_FIELD_BABYBEAR, 0, ZC_NTT_NN, 1};
    zc_commitment *c = NULL;
    expect_error(zc_commit(&dev, &bb, 3, ZC_POSEIDON2_BABYBEAR_16, in, 8, 2, &c), ZC_ERR_INVALID_ARGUMENT,
                 "blowup must be 2, 4 or 8");
    expect_error(zc_commit(&dev, &bb, 2, ZC_POSEIDON2_BABYBEAR_16, in, 6, 2, &c), ZC_ERR_INVALID_ARGUMENT,
                 "power of two");
    expect_error(zc_commit(&dev, &bb, 2, ZC_POSEIDON2_BABYBEAR_16, in, 8, 0, &c), ZC_ERR_INVALID_ARGUMENT,
                 "at least one column");
    expect_error(zc_commit(&dev, &bb, 8, ZC_POSEIDON2_BABYBEAR_16, in, (size_t)1 << 22, 2, &c), ZC_ERR_OUT_OF_RANGE,
                 "LDE rows");
    expect_error(zc_commit(&dev, &bb, 2, ZC_POSEIDON2_GOLDILOCKS_8, in, 8, 2, &c), ZC_ERR_INVALID_ARGUMENT,
                 "does not hash BabyBear");
    expect_error(zc_commit(&dev, &bb, 2, (zc_poseidon2_instance)99, in, 8, 2, &c), ZC_ERR_INVALID_ARGUMENT,
                 "unknown Poseidon2 instance");
    expect_error(zc_commit(&dev, &bb, 2, ZC_POSEIDON2_BABYBEAR_16, NULL, 8, 2, &c), ZC_ERR_INVALID_ARGUMENT,
                 "must not be NULL");
    zc_ntt_params inverse = {ZC_FIELD_BABYBEAR, 1, ZC_NTT_NN, 1};
    expect_error(zc_commit(&dev, &inverse, 2, ZC_POSEIDON2_BABYBEAR_16, in, 8, 2, &c), ZC_ERR_INVALID_ARGUMENT,
                 "forward transform");
    in[5] = 2013265921u;
    expect_error(zc_commit(&dev, &bb, 2, ZC_POSEIDON2_BABYBEAR_16, in, 8, 2, &c), ZC_ERR_OUT_OF_RANGE, "input");
    assert_null(c);
    in[5] = 0;

    uint8_t root[32] = {0}, proof[32 * 4] = {0};
    uint64_t idx[1] = {0};
    int valid = -1;
    expect_error(zc_commit_verify(ZC_POSEIDON2_BABYBEAR_16, root, 12, 2, idx, 1, in, proof, 4, &valid),
                 ZC_ERR_INVALID_ARGUMENT, "power of two");
    expect_error(zc_commit_verify(ZC_POSEIDON2_BABYBEAR_16, root, 16, 0, idx, 1, in, proof, 4, &valid),
                 ZC_ERR_INVALID_ARGUMENT, "at least one column");
    expect_error(zc_commit_verify(ZC_POSEIDON2_BABYBEAR_16, root, 16, 2, idx, 0, in, proof, 4, &valid),
                 ZC_ERR_INVALID_ARGUMENT, "no leaf indices");
    expect_error(zc_commit_verify(ZC_POSEIDON2_BABYBEAR_16, root, 16, 2, idx, 1, in, proof, 3, &valid),
                 ZC_ERR_INVALID_ARGUMENT, "malformed proof");
    expect_error(zc_commit_verify(ZC_POSEIDON2_BABYBEAR_16, NULL, 16, 2, idx, 1, in, proof, 4, &valid),
                 ZC_ERR_INVALID_ARGUMENT, "must not be NULL");
    assert_int_equal(valid, -1);
    assert_int_equal(zc_commit_verify(ZC_POSEIDON2_BABYBEAR_16, root, 16, 2, idx, 1, in, proof, 4, &valid), ZC_OK);
    assert_int_equal(valid, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_matches_reference),
        cmocka_unit_test(test_open_and_verify),
        cmocka_unit_test(test_backends_agree),
        cmocka_unit_test(test_bad_input),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
