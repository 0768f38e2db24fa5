/* Poseidon2, SHA-256, Keccak-256 and Merkle trees through the public API:
 * known answers from ../shared/vectors and FIPS 180-4, agreement of the cpu
 * backend (AVX2 and SHA-extension paths) with the OpenCL devices (the plain
 * single-source code), proofs, updates and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

#include "test_util.h"

#define VECTORS ZC_SOURCE_DIR "/../shared/vectors/"
#define MAX_DEVICES 8

static void random_elements(const zc_poseidon2_info *info, void *out, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t v = rng() % info->modulus;
        if (info->goldilocks)
            ((uint64_t *)out)[i] = v;
        else
            ((uint32_t *)out)[i] = (uint32_t)v;
    }
}

/* Parses the JSON list of integers or "0x..." strings that follows `key`
 * after *pos; advances *pos past it. Returns the count. */
static size_t json_numbers(const char **pos, const char *key, uint64_t *out, size_t cap)
{
    const char *p = strstr(*pos, key);
    assert_non_null(p);
    p = strchr(p, '[');
    assert_non_null(p);
    size_t n = 0;
    while (*p != ']') {
        p++;
        while (*p == ' ' || *p == '\n' || *p == '"')
            p++;
        if (*p == ']')
            break;
        char *end;
        assert_true(n < cap);
        out[n++] = strtoull(p, &end, 0);
        p = end;
        while (*p == '"' || *p == ' ' || *p == '\n')
            p++;
    }
    *pos = p + 1;
    return n;
}

static const struct {
    const char *file;
    zc_poseidon2_instance inst;
} p2_files[] = {
    {"poseidon2_babybear_w16_plonky3_default.json", ZC_POSEIDON2_BABYBEAR_16},
    {"poseidon2_babybear_w24_plonky3_default.json", ZC_POSEIDON2_BABYBEAR_24},
    {"poseidon2_babybear_w16_horizenlabs.json", ZC_POSEIDON2_BABYBEAR_16_HL},
    {"poseidon2_babybear_w24_horizenlabs.json", ZC_POSEIDON2_BABYBEAR_24_HL},
    {"poseidon2_goldilocks_w8_plonky3_default.json", ZC_POSEIDON2_GOLDILOCKS_8},
    {"poseidon2_goldilocks_w12_plonky3_default.json", ZC_POSEIDON2_GOLDILOCKS_12},
    {"poseidon2_goldilocks_w12_horizenlabs.json", ZC_POSEIDON2_GOLDILOCKS_12_HL},
};

static void test_poseidon2_known_answers(void **state)
{
    (void)state;
    int ids[MAX_DEVICES];
    int ndev = run_devices(ids, MAX_DEVICES, 1);
    for (size_t f = 0; f < sizeof p2_files / sizeof p2_files[0]; f++) {
        char path[512];
        snprintf(path, sizeof path, VECTORS "%s", p2_files[f].file);
        char *text = read_text(path);
        zc_poseidon2_info info;
        assert_int_equal(zc_poseidon2_info_get(p2_files[f].inst, &info), ZC_OK);
        const char *pos = strstr(text, "\"known_answer_tests\"");
        assert_non_null(pos);
        int cases = 0;
        while (strstr(pos, "\"input\"")) {
            uint64_t in[24], want[24];
            assert_int_equal(json_numbers(&pos, "\"input\"", in, 24), info.width);
            assert_int_equal(json_numbers(&pos, "\"expected_output\"", want, 24), info.width);
            /* Plonky3's width-24 BabyBear test input holds 2026927696 > p,
             * which BabyBear::new_array reduces; the API takes canonical values. */
            for (size_t i = 0; i < info.width; i++)
                in[i] %= info.modulus;
            for (int d = 0; d < ndev; d++) {
                uint64_t state64[24];
                uint32_t state32[24];
                for (size_t i = 0; i < info.width; i++) {
                    state64[i] = in[i];
                    state32[i] = (uint32_t)in[i];
                }
                void *s = info.goldilocks ? (void *)state64 : (void *)state32;
                int dev = ids[d];
                assert_int_equal(zc_poseidon2_permute(&dev, p2_files[f].inst, s, s, 1), ZC_OK);
                assert_int_equal(dev, ids[d]);
                for (size_t i = 0; i < info.width; i++)
                    if ((info.goldilocks ? state64[i] : state32[i]) != want[i])
                        fail_msg("%s case %d lane %zu on device %d", p2_files[f].file, cases, i, ids[d]);
            }
            cases++;
        }
        assert_true(cases >= 1);
        free(text);
    }
}

/* The sponge and the compression, rebuilt from the permutation. */
static void test_poseidon2_sponge_and_compress(void **state)
{
    (void)state;
    int cpu;
    assert_int_equal(zc_device_find("cpu", &cpu), ZC_OK);
    for (int inst = 0; inst < ZC_POSEIDON2_INSTANCE_COUNT; inst++) {
        zc_poseidon2_info info;
        assert_int_equal(zc_poseidon2_info_get((zc_poseidon2_instance)inst, &info), ZC_OK);
        static const size_t lens[] = {0, 1, 7, 8, 9, 16, 17, 33};
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t n = 11, len = lens[l], es = info.elem_size;
            uint8_t *rows = malloc(n * len * es + 1), digests[11][32];
            random_elements(&info, rows, n * len);
            int dev = cpu;
            assert_int_equal(zc_poseidon2_hash(&dev, (zc_poseidon2_instance)inst, rows, n, len, digests), ZC_OK);
            for (size_t r = 0; r < n; r++) {
                uint8_t st[24 * 8] = {0};
                for (size_t at = 0; at < len; at += info.rate) {
                    size_t chunk = len - at < info.rate ? len - at : info.rate;
                    memcpy(st, rows + (r * len + at) * es, chunk * es);
                    assert_int_equal(zc_poseidon2_permute(&dev, (zc_poseidon2_instance)inst, st, st, 1), ZC_OK);
                }
                assert_memory_equal(digests[r], st, 32);
            }
            free(rows);
        }
        uint8_t left[3][32], right[3][32], out[3][32];
        random_elements(&info, left, 3 * info.digest);
        random_elements(&info, right, 3 * info.digest);
        int dev = cpu;
        assert_int_equal(zc_poseidon2_compress(&dev, (zc_poseidon2_instance)inst, left, right, 3, out), ZC_OK);
        for (int i = 0; i < 3; i++) {
            uint8_t st[24 * 8] = {0};
            memcpy(st, left[i], 32);
            memcpy(st + 32, right[i], 32);
            assert_int_equal(zc_poseidon2_permute(&dev, (zc_poseidon2_instance)inst, st, st, 1), ZC_OK);
            assert_memory_equal(out[i], st, 32);
        }
    }
}

/* Digests of messages on device `dev` with the batch function. */
static void batch(zc_status (*fn)(int *, const uint8_t *, size_t, const uint64_t *, size_t, uint8_t *), int dev,
                  const uint8_t *data, size_t data_len, const uint64_t *offsets, size_t n, uint8_t *out)
{
    int d = dev;
    assert_int_equal(fn(&d, data, data_len, offsets, n, out), ZC_OK);
    assert_int_equal(d, dev);
}

static void test_sha256_known_answers(void **state)
{
    (void)state;
    static const char *msgs[] = {
        "", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
        "nopqrstu"};
    static const char *want[] = {
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"};
    const size_t million = 1000000;
    uint8_t *data = malloc(million + 256);
    uint64_t offsets[6] = {0};
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(data + at, msgs[i], strlen(msgs[i]));
        at += strlen(msgs[i]);
        offsets[i + 1] = at;
    }
    memset(data + at, 'a', million);
    offsets[5] = at + million;
    int ids[MAX_DEVICES];
    int ndev = run_devices(ids, MAX_DEVICES, 1);
    for (int d = 0; d < ndev; d++) {
        uint8_t out[5][32], expect[32];
        batch(zc_sha256_batch, ids[d], data, offsets[5], offsets, 5, &out[0][0]);
        for (int i = 0; i < 4; i++) {
            unhex(want[i], expect, 32);
            assert_memory_equal(out[i], expect, 32);
        }
        unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", expect, 32);
        assert_memory_equal(out[4], expect, 32);
    }
    free(data);
}

static void test_keccak256_known_answers(void **state)
{
    (void)state;
    char *text = read_text(VECTORS "keccak256_ethereum.json");
    int ids[MAX_DEVICES];
    int ndev = run_devices(ids, MAX_DEVICES, 1);
    int cases = 0;
    for (const char *pos = text; (pos = strstr(pos, "\"input_hex\"")); cases++) {
        const char *in = strchr(pos + 11, '"') + 1;
        const char *dg = strchr(strstr(in, "\"digest_hex\"") + 12, '"') + 1;
        size_t len = (size_t)(strchr(in, '"') - in) / 2;
        uint8_t msg[64], expect[32], out[32];
        unhex(in, msg, len);
        unhex(dg, expect, 32);
        uint64_t offsets[2] = {0, len};
        for (int d = 0; d < ndev; d++) {
            batch(zc_keccak256_batch, ids[d], msg, len, offsets, 1, out);
            assert_memory_equal(out, expect, 32);
        }
        pos = dg;
    }
    assert_int_equal(cases, 3);
    free(text);
}

/* Messages of every length around the block sizes of both hashes, at odd
 * offsets, agree on every device. */
static void test_backends_agree(void **state)
{
    (void)state;
    int ids[MAX_DEVICES];
    int ndev = run_devices(ids, MAX_DEVICES, 1);
    enum { N = 300 };
    uint64_t offsets[N + 1] = {3};
    for (int i = 0; i < N; i++)
        offsets[i + 1] = offsets[i] + (uint64_t)i;
    size_t data_len = offsets[N];
    uint8_t *data = malloc(data_len);
    for (size_t i = 0; i < data_len; i++)
        data[i] = (uint8_t)rng();
    static uint8_t want[2][N][32], got[N][32];
    batch(zc_sha256_batch, ids[0], data, data_len, offsets, N, &want[0][0][0]);
    batch(zc_keccak256_batch, ids[0], data, data_len, offsets, N, &want[1][0][0]);
    for (int d = 1; d < ndev; d++) {
        batch(zc_sha256_batch, ids[d], data, data_len, offsets, N, &got[0][0]);
        assert_memory_equal(got, want[0], sizeof got);
        batch(zc_keccak256_batch, ids[d], data, data_len, offsets, N, &got[0][0]);
        assert_memory_equal(got, want[1], sizeof got);
    }
    free(data);

    for (int inst = 0; inst < ZC_POSEIDON2_INSTANCE_COUNT; inst++) {
        zc_poseidon2_info info;
        assert_int_equal(zc_poseidon2_info_get((zc_poseidon2_instance)inst, &info), ZC_OK);
        size_t n = 37, bytes = n * info.width * info.elem_size;
        uint8_t *in = malloc(bytes), *ref = malloc(bytes), *out = malloc(bytes);
        random_elements(&info, in, n * info.width);
        int dev = ids[0];
        assert_int_equal(zc_poseidon2_permute(&dev, (zc_poseidon2_instance)inst, in, ref, n), ZC_OK);
        for (int d = 1; d < ndev; d++) {
            dev = ids[d];
            assert_int_equal(zc_poseidon2_permute(&dev, (zc_poseidon2_instance)inst, in, out, n), ZC_OK);
            assert_memory_equal(out, ref, bytes);
        }
        free(in);
        free(ref);
        free(out);
    }
}

/* A tree over n rows (Poseidon2) or messages (otherwise) on device dev. */
static zc_merkle_tree *build_tree(int dev, zc_merkle_hash hash, const uint32_t *rows, size_t n, size_t len)
{
    zc_merkle_tree *t = NULL;
    int d = dev;
    if (hash == ZC_MERKLE_HASH_POSEIDON2) {
        assert_int_equal(zc_merkle_build_rows(&d, ZC_POSEIDON2_BABYBEAR_16, rows, n, len, &t), ZC_OK);
    } else {
        uint64_t *offsets = malloc((n + 1) * sizeof *offsets);
        for (size_t i = 0; i <= n; i++)
            offsets[i] = i * len * 4;
        assert_int_equal(zc_merkle_build_bytes(&d, hash, (const uint8_t *)rows, n * len * 4, offsets, n, &t), ZC_OK);
        free(offsets);
    }
    return t;
}

static void leaf_digest(const zc_merkle_tree *t, const uint8_t *nodes, uint64_t i, uint8_t *out)
{
    memcpy(out, nodes + (zc_merkle_level_offset(t, 0) + i) * 32, 32);
}

static void test_merkle_trees(void **state)
{
    (void)state;
    int ids[MAX_DEVICES];
    int ndev = run_devices(ids, MAX_DEVICES, 1);
    zc_poseidon2_info info;
    assert_int_equal(zc_poseidon2_info_get(ZC_POSEIDON2_BABYBEAR_16, &info), ZC_OK);
    static const size_t sizes[] = {1, 2, 3, 5, 8, 13, 33};
    const size_t len = 10;
    for (int hash = 0; hash < 3; hash++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = sizes[s];
            uint32_t *rows = malloc(n * len * 4);
            random_elements(&info, rows, n * len);
            zc_merkle_tree *t = build_tree(ids[0], (zc_merkle_hash)hash, rows, n, len);
            uint8_t root[32], other[32];
            zc_merkle_root(t, root);
            assert_int_equal(zc_merkle_num_leaves(t), n);
            for (int d = 1; d < ndev; d++) {
                zc_merkle_tree *u = build_tree(ids[d], (zc_merkle_hash)hash, rows, n, len);
                zc_merkle_root(u, other);
                assert_memory_equal(root, other, 32);
                zc_merkle_free(u);
            }

            /* Every single proof verifies; a flipped bit does not. */
            const uint8_t *nodes = zc_array_data(zc_merkle_nodes(t));
            unsigned depth = zc_merkle_depth(t);
            uint8_t proof[8 * 32], leaf[32];
            for (uint64_t i = 0; i < n; i++) {
                int valid = 0;
                assert_int_equal(zc_merkle_proof(t, i, proof), ZC_OK);
                leaf_digest(t, nodes, i, leaf);
                assert_int_equal(zc_merkle_verify((zc_merkle_hash)hash, ZC_POSEIDON2_BABYBEAR_16, root, n, &i, 1,
                                                  leaf, proof, depth, &valid),
                                 ZC_OK);
                assert_int_equal(valid, 1);
                if (depth) {
                    proof[0] ^= 1;
                    assert_int_equal(zc_merkle_verify((zc_merkle_hash)hash, ZC_POSEIDON2_BABYBEAR_16, root, n, &i,
                                                      1, leaf, proof, depth, &valid),
                                     ZC_OK);
                    assert_int_equal(valid, 0);
                }
            }

            /* A multiproof of every other leaf. */
            uint64_t idx[64];
            uint8_t leaves[64][32];
            size_t k = 0;
            for (uint64_t i = 0; i < n; i += 2, k++) {
                idx[k] = i;
                leaf_digest(t, nodes, i, leaves[k]);
            }
            zc_array *mp;
            assert_int_equal(zc_merkle_multiproof(t, idx, k, &mp), ZC_OK);
            int valid = 0;
            assert_int_equal(zc_merkle_verify((zc_merkle_hash)hash, ZC_POSEIDON2_BABYBEAR_16, root, n, idx, k,
                                              &leaves[0][0], zc_array_data(mp), zc_array_shape(mp)[0], &valid),
                             ZC_OK);
            assert_int_equal(valid, 1);
            zc_array_release(mp);

            /* Updating the odd leaves equals rebuilding with them changed. */
            k = 0;
            for (uint64_t i = 1; i < n; i += 2)
                idx[k++] = i;
            uint32_t *fresh = malloc((k + 1) * len * 4), *changed = malloc(n * len * 4);
            random_elements(&info, fresh, k * len);
            memcpy(changed, rows, n * len * 4);
            for (size_t j = 0; j < k; j++)
                memcpy(changed + idx[j] * len, fresh + j * len, len * 4);
            uint64_t off[64];
            for (size_t j = 0; j <= k; j++)
                off[j] = j * len * 4;
            for (int d = 0; d < ndev; d++) {
                zc_merkle_tree *u = build_tree(ids[0], (zc_merkle_hash)hash, rows, n, len);
                zc_merkle_tree *v = build_tree(ids[d], (zc_merkle_hash)hash, changed, n, len);
                int dev = ids[d];
                if (hash == ZC_MERKLE_HASH_POSEIDON2)
                    assert_int_equal(zc_merkle_update_rows(&dev, u, idx, k, fresh), ZC_OK);
                else
                    assert_int_equal(
                        zc_merkle_update_bytes(&dev, u, idx, k, (const uint8_t *)fresh, k * len * 4, off), ZC_OK);
                zc_array *a = zc_merkle_nodes(u), *b = zc_merkle_nodes(v);
                assert_int_equal(zc_array_nbytes(a), zc_array_nbytes(b));
                assert_memory_equal(zc_array_data(a), zc_array_data(b), zc_array_nbytes(a));
                zc_merkle_free(u);
                zc_merkle_free(v);
            }
            free(changed);
            free(fresh);
            free(rows);
            zc_merkle_free(t);
        }
    }
}

/* A 2^16 + 3 leaf tree agrees on cpu and OpenCL (odd levels all the way up). */
static void test_merkle_large(void **state)
{
    (void)state;
    int ids[MAX_DEVICES];
    run_devices(ids, MAX_DEVICES, 1);
    zc_poseidon2_info info;
    assert_int_equal(zc_poseidon2_info_get(ZC_POSEIDON2_BABYBEAR_16, &info), ZC_OK);
    size_t n = (1u << 16) + 3, len = 8;
    uint32_t *rows = malloc(n * len * 4);
    random_elements(&info, rows, n * len);
    zc_merkle_tree *a = build_tree(ids[0], ZC_MERKLE_HASH_POSEIDON2, rows, n, len);
    zc_merkle_tree *b = build_tree(ids[1], ZC_MERKLE_HASH_POSEIDON2, rows, n, len);
    assert_int_equal(zc_merkle_depth(a), 17);
    assert_memory_equal(zc_array_data(zc_merkle_nodes(a)), zc_array_data(zc_merkle_nodes(b)),
                        zc_array_nbytes(zc_merkle_nodes(a)));
    zc_merkle_free(a);
    zc_merkle_free(b);
    free(rows);
}

static void test_bad_input(void **state)
{
    (void)state;
    int dev;
    assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
    uint32_t st[16] = {0};
    st[5] = 2013265921u;
    expect_error(zc_poseidon2_permute(&dev, ZC_POSEIDON2_BABYBEAR_16, st, st, 1), ZC_ERR_OUT_OF_RANGE,
                 "state 0, element 5 = 2013265921 is not reduced");
    uint64_t gl[8] = {0xFFFFFFFF00000001ull};
    expect_error(zc_poseidon2_permute(&dev, ZC_POSEIDON2_GOLDILOCKS_8, gl, gl, 1), ZC_ERR_OUT_OF_RANGE,
                 "not reduced");
    expect_error(zc_poseidon2_permute(&dev, (zc_poseidon2_instance)7, st, st, 1), ZC_ERR_INVALID_ARGUMENT,
                 "unknown Poseidon2 instance");
    expect_error(zc_poseidon2_hash(&dev, ZC_POSEIDON2_BABYBEAR_16, st, 2, 8, st), ZC_ERR_OUT_OF_RANGE, "row 0");

    uint8_t data[4] = {1, 2, 3, 4}, out[64];
    uint64_t bad_order[3] = {0, 3, 2}, past_end[2] = {0, 5};
    expect_error(zc_sha256_batch(&dev, data, 4, bad_order, 2, out), ZC_ERR_INVALID_ARGUMENT, "must not decrease");
    expect_error(zc_keccak256_batch(&dev, data, 4, past_end, 1, out), ZC_ERR_OUT_OF_RANGE, "past the end");
    assert_int_equal(zc_sha256_batch(&dev, data, 4, past_end, 0, out), ZC_OK); /* an empty batch */

    zc_merkle_tree *t = NULL;
    expect_error(zc_merkle_build_rows(&dev, ZC_POSEIDON2_BABYBEAR_16, st, 0, 16, &t), ZC_ERR_INVALID_ARGUMENT,
                 "at least one leaf");
    expect_error(zc_merkle_build_bytes(&dev, ZC_MERKLE_HASH_POSEIDON2, data, 4, past_end, 1, &t),
                 ZC_ERR_INVALID_ARGUMENT, "SHA-256 or Keccak-256");
    uint64_t offs[4] = {0, 1, 2, 3};
    assert_int_equal(zc_merkle_build_bytes(&dev, ZC_MERKLE_HASH_SHA256, data, 4, offs, 3, &t), ZC_OK);
    uint8_t proof[2 * 32], root[32], leaf[32] = {0};
    expect_error(zc_merkle_proof(t, 3, proof), ZC_ERR_OUT_OF_RANGE, "out of range");
    uint64_t idx[2] = {2, 1};
    zc_array *mp = NULL;
    expect_error(zc_merkle_multiproof(t, idx, 2, &mp), ZC_ERR_INVALID_ARGUMENT, "strictly increasing");
    expect_error(zc_merkle_multiproof(t, idx, 0, &mp), ZC_ERR_INVALID_ARGUMENT, "no leaf indices");
    zc_merkle_root(t, root);
    int valid = -1;
    assert_int_equal(zc_merkle_proof(t, 1, proof), ZC_OK);
    expect_error(zc_merkle_verify(ZC_MERKLE_HASH_SHA256, 0, root, 3, &idx[1], 1, leaf, proof, 1, &valid),
                 ZC_ERR_INVALID_ARGUMENT, "malformed proof");
    assert_int_equal(zc_merkle_verify(ZC_MERKLE_HASH_SHA256, 0, root, 3, &idx[1], 1, leaf, proof, 2, &valid), ZC_OK);
    assert_int_equal(valid, 0); /* wrong leaf */
    uint64_t nonzero_offsets[3] = {0, 1, 2};
    expect_error(zc_merkle_update_rows(&dev, t, idx, 1, st), ZC_ERR_INVALID_ARGUMENT, "byte strings");
    uint64_t one[1] = {3};
    expect_error(zc_merkle_update_bytes(&dev, t, one, 1, data, 4, nonzero_offsets), ZC_ERR_OUT_OF_RANGE,
                 "out of range");
    zc_merkle_free(t);

    /* Poseidon2 verification: non-canonical proof nodes make it invalid,
     * non-canonical leaf digests are an error. */
    uint32_t rows[2][16] = {{1}, {2}};
    int d = dev;
    assert_int_equal(zc_merkle_build_rows(&d, ZC_POSEIDON2_BABYBEAR_16, rows, 2, 16, &t), ZC_OK);
    zc_merkle_root(t, root);
    uint64_t zero = 0;
    assert_int_equal(zc_merkle_proof(t, 0, proof), ZC_OK);
    memcpy(leaf, zc_array_data(zc_merkle_nodes(t)), 32);
    assert_int_equal(zc_merkle_verify(ZC_MERKLE_HASH_POSEIDON2, 0, root, 2, &zero, 1, leaf, proof, 1, &valid),
                     ZC_OK);
    assert_int_equal(valid, 1);
    memset(proof, 0xff, 4);
    assert_int_equal(zc_merkle_verify(ZC_MERKLE_HASH_POSEIDON2, 0, root, 2, &zero, 1, leaf, proof, 1, &valid),
                     ZC_OK);
    assert_int_equal(valid, 0);
    memset(leaf, 0xff, 4);
    expect_error(zc_merkle_verify(ZC_MERKLE_HASH_POSEIDON2, 0, root, 2, &zero, 1, leaf, proof, 1, &valid),
                 ZC_ERR_OUT_OF_RANGE, "not reduced");
    zc_merkle_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poseidon2_known_answers), cmocka_unit_test(test_poseidon2_sponge_and_compress),
        cmocka_unit_test(test_sha256_known_answers),    cmocka_unit_test(test_keccak256_known_answers),
        cmocka_unit_test(test_backends_agree),          cmocka_unit_test(test_merkle_trees),
        cmocka_unit_test(test_merkle_large),            cmocka_unit_test(test_bad_input),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
