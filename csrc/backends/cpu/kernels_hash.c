/* cpu entries of kernels/poseidon2.h, sha256.h, keccak.h and merkle.h.
 *
 * Two x86-64 paths are chosen at run time; both give the same bits as the
 * single-source functions (exact integer arithmetic):
 * - AVX2: BabyBear Poseidon2 on 8 states at once, one state per 32-bit lane,
 *   with Montgomery multiplication (vpmuludq has no 64-bit high product, so
 *   the scalar path's 64-bit remainder does not vectorise). States enter and
 *   leave in canonical form.
 * - SHA extensions: SHA-256 compression with sha256rnds2/msg1/msg2. */
#include <pthread.h>
#include <string.h>

#include "../../../kernels/merkle.h"
#include "cpu_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define ZC_CPU_X86 1
#endif

#if ZC_CPU_X86
/* ---- BabyBear Poseidon2, 8 states per call ---- */

#define BB_LANES 8
#define AVX2 __attribute__((target("avx2")))
#define BB_MU 0x88000001u     /* p^-1 mod 2^32 */
#define BB_R2 1172168163u     /* 2^64 mod p: x -> x 2^32 through one Montgomery product */

/* zc_p2_bb_rc in Montgomery form (x 2^32 mod p). */
static uint32_t bb_rc_mont[sizeof zc_p2_bb_rc / sizeof zc_p2_bb_rc[0]];
static pthread_once_t bb_rc_once = PTHREAD_ONCE_INIT;

static void bb_rc_init(void)
{
    for (size_t i = 0; i < sizeof bb_rc_mont / sizeof bb_rc_mont[0]; i++)
        bb_rc_mont[i] = (uint32_t)(((uint64_t)zc_p2_bb_rc[i] << 32) % ZC_P2_BB_P);
}

AVX2 static inline __m256i bb8_add(__m256i a, __m256i b)
{
    const __m256i p = _mm256_set1_epi32((int)ZC_P2_BB_P);
    __m256i s = _mm256_add_epi32(a, b);
    return _mm256_min_epu32(s, _mm256_sub_epi32(s, p)); /* s - p wraps above s when s < p */
}

/* a b 2^-32 mod p for a, b in [0, p). */
AVX2 static inline __m256i bb8_mul(__m256i a, __m256i b)
{
    const __m256i p = _mm256_set1_epi32((int)ZC_P2_BB_P), mu = _mm256_set1_epi32((int)BB_MU);
    __m256i prod_e = _mm256_mul_epu32(a, b);
    __m256i prod_o = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b, 32));
    __m256i qp_e = _mm256_mul_epu32(_mm256_mul_epu32(prod_e, mu), p);
    __m256i qp_o = _mm256_mul_epu32(_mm256_mul_epu32(prod_o, mu), p);
    /* q p agrees with the product in the low 32 bits, so the result is the
     * difference of the high halves, in (-p, p). */
    __m256i prod_hi = _mm256_blend_epi32(_mm256_srli_epi64(prod_e, 32), prod_o, 0xAA);
    __m256i qp_hi = _mm256_blend_epi32(_mm256_srli_epi64(qp_e, 32), qp_o, 0xAA);
    __m256i t = _mm256_sub_epi32(prod_hi, qp_hi);
    return _mm256_min_epu32(t, _mm256_add_epi32(t, p));
}

AVX2 static inline __m256i bb8_sbox(__m256i x)
{
    __m256i x2 = bb8_mul(x, x);
    return bb8_mul(bb8_mul(x2, x), bb8_mul(x2, x2));
}

/* The addition chains of zc_p2_gl_m4. */
AVX2 static inline void bb8_m4(__m256i *x, uint32_t hl)
{
    __m256i t01 = bb8_add(x[0], x[1]), t23 = bb8_add(x[2], x[3]);
    if (hl) {
        __m256i t2 = bb8_add(bb8_add(x[1], x[1]), t23);
        __m256i t3 = bb8_add(bb8_add(x[3], x[3]), t01);
        __m256i t23x2 = bb8_add(t23, t23), t01x2 = bb8_add(t01, t01);
        __m256i t4 = bb8_add(bb8_add(t23x2, t23x2), t3);
        __m256i t5 = bb8_add(bb8_add(t01x2, t01x2), t2);
        x[0] = bb8_add(t3, t5);
        x[1] = t5;
        x[2] = bb8_add(t2, t4);
        x[3] = t4;
    } else {
        __m256i all = bb8_add(t01, t23);
        __m256i a1 = bb8_add(all, x[1]), a3 = bb8_add(all, x[3]);
        __m256i x0 = x[0], x2 = x[2];
        x[0] = bb8_add(a1, t01);
        x[1] = bb8_add(a1, bb8_add(x2, x2));
        x[2] = bb8_add(a3, t23);
        x[3] = bb8_add(a3, bb8_add(x0, x0));
    }
}

AVX2 static inline void bb8_external(__m256i *s, uint32_t width, uint32_t hl)
{
    for (uint32_t c = 0; c < width; c += 4)
        bb8_m4(s + c, hl);
    __m256i sum[4] = {s[0], s[1], s[2], s[3]};
    for (uint32_t c = 4; c < width; c += 4)
        for (uint32_t j = 0; j < 4; j++)
            sum[j] = bb8_add(sum[j], s[c + j]);
    for (uint32_t i = 0; i < width; i++)
        s[i] = bb8_add(s[i], sum[i & 3]);
}

AVX2 static inline void bb8_full_rounds(__m256i *s, uint32_t width, uint32_t hl, const uint32_t *rc)
{
    for (uint32_t r = 0; r < 4; r++) {
        for (uint32_t i = 0; i < width; i++)
            s[i] = bb8_sbox(bb8_add(s[i], _mm256_set1_epi32((int)rc[r * width + i])));
        bb8_external(s, width, hl);
    }
}

/* zc_p2_bb_permute_with on 8 states in Montgomery form. */
AVX2 static inline void bb8_permute(__m256i *s, uint32_t width, uint32_t rounds_partial, uint32_t hl,
                                    uint32_t offset)
{
    const uint32_t *rc = bb_rc_mont + offset;
    const uint32_t *internal = rc + 4 * width, *terminal = internal + rounds_partial;
    const uint32_t *diag = terminal + 4 * width;
    bb8_external(s, width, hl);
    bb8_full_rounds(s, width, hl, rc);
    for (uint32_t r = 0; r < rounds_partial; r++) {
        s[0] = bb8_sbox(bb8_add(s[0], _mm256_set1_epi32((int)internal[r])));
        __m256i sum = s[0];
        for (uint32_t i = 1; i < width; i++)
            sum = bb8_add(sum, s[i]);
        for (uint32_t i = 0; i < width; i++)
            s[i] = bb8_add(sum, bb8_mul(_mm256_set1_epi32((int)diag[i]), s[i]));
    }
    bb8_full_rounds(s, width, hl, terminal);
}

#define BB8_CASE(name)                                                                                         \
    case ZC_P2_##name:                                                                                         \
        bb8_permute(s, ZC_P2_##name##_WIDTH, ZC_P2_##name##_ROUNDS_PARTIAL, ZC_P2_##name##_HL_MATRIX,           \
                    ZC_P2_##name##_OFFSET);                                                                    \
        break;

typedef uint32_t bb_states[BB_LANES][ZC_P2_MAX_WIDTH];

/* Permutes 8 canonical BabyBear states of instance inst in place. */
AVX2 static void bb8_permute_states(bb_states st, uint32_t inst)
{
    pthread_once(&bb_rc_once, bb_rc_init);
    uint32_t width = zc_p2_get_params(inst).width;
    const __m256i r2 = _mm256_set1_epi32((int)BB_R2), one = _mm256_set1_epi32(1);
    __m256i s[ZC_P2_MAX_WIDTH];
    for (uint32_t i = 0; i < width; i++)
        s[i] = bb8_mul(_mm256_setr_epi32((int)st[0][i], (int)st[1][i], (int)st[2][i], (int)st[3][i],
                                         (int)st[4][i], (int)st[5][i], (int)st[6][i], (int)st[7][i]),
                       r2);
    switch (inst) {
        BB8_CASE(BABYBEAR_16)
        BB8_CASE(BABYBEAR_24)
        BB8_CASE(BABYBEAR_16_HL)
        BB8_CASE(BABYBEAR_24_HL)
    }
    for (uint32_t i = 0; i < width; i++) {
        uint32_t lanes[BB_LANES];
        _mm256_storeu_si256((__m256i *)lanes, bb8_mul(s[i], one));
        for (int j = 0; j < BB_LANES; j++)
            st[j][i] = lanes[j];
    }
}

/* ---- SHA-256 with the SHA extensions ---- */

#define SHANI __attribute__((target("sha,sse4.1")))

SHANI static void sha256_ni_blocks(uint32_t h[8], const uint8_t *data, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    /* h as the (A B E F) and (C D G H) halves sha256rnds2 works on. */
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);
    __m128i cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);
    __m128i abef = _mm_alignr_epi8(tmp, cdgh, 8);
    cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);
    for (; nblocks; nblocks--, data += 64) {
        __m128i abef0 = abef, cdgh0 = cdgh, m[4];
#pragma GCC unroll 16 /* keeps m[] in registers */
        for (int g = 0; g < 16; g++) { /* four rounds per group */
            if (g < 4)
                m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), bswap);
            __m128i wk = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)&zc_sha256_k[4 * g]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            if (g >= 3 && g < 15) { /* schedule words of group g + 1 */
                __m128i next = _mm_add_epi32(m[(g + 1) & 3], _mm_alignr_epi8(m[g & 3], m[(g - 1) & 3], 4));
                m[(g + 1) & 3] = _mm_sha256msg2_epu32(next, m[g & 3]);
            }
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
            if (g >= 1 && g < 13)
                m[(g - 1) & 3] = _mm_sha256msg1_epu32(m[(g - 1) & 3], m[g & 3]);
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    tmp = _mm_shuffle_epi32(abef, 0x1B);
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(tmp, cdgh, 0xF0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(cdgh, tmp, 8));
}

/* SHA-256 of m[0..len) through the SHA extensions. */
static void sha256_ni(const uint8_t *m, uint64_t len, uint8_t *out)
{
    uint32_t h[8];
    uint8_t tail[128] = {0};
    zc_sha256_init(h);
    sha256_ni_blocks(h, m, len / 64);
    size_t rem = len % 64, blocks = rem < 56 ? 1 : 2;
    memcpy(tail, m + len - rem, rem);
    tail[rem] = 0x80;
    for (int i = 0; i < 8; i++)
        tail[64 * blocks - 1 - i] = (uint8_t)((len << 3) >> (8 * i));
    sha256_ni_blocks(h, tail, blocks);
    zc_sha256_store(h, out);
}

static int bb_simd(void) { return __builtin_cpu_supports("avx2"); }

static int sha_ni(void) { return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1"); }

/* The SIMD loops below take work items [i, end) in groups of 8 (the last
 * group padded with zero states) and return end. */

static size_t bb8_permute_range(uint32_t *states, uint32_t inst, size_t i, size_t end)
{
    uint32_t width = zc_p2_get_params(inst).width;
    for (; i < end; i += BB_LANES) {
        size_t k = end - i < BB_LANES ? end - i : BB_LANES;
        bb_states st = {{0}};
        for (size_t j = 0; j < k; j++)
            memcpy(st[j], states + (i + j) * width, width * sizeof(uint32_t));
        bb8_permute_states(st, inst);
        for (size_t j = 0; j < k; j++)
            memcpy(states + (i + j) * width, st[j], width * sizeof(uint32_t));
    }
    return end;
}

static size_t bb8_hash_range(const uint32_t *rows, uint64_t len, uint32_t inst, uint8_t *out, size_t i, size_t end)
{
    uint32_t rate = zc_p2_get_params(inst).rate;
    for (; i < end; i += BB_LANES) {
        size_t k = end - i < BB_LANES ? end - i : BB_LANES;
        bb_states st = {{0}};
        for (uint64_t at = 0; at < len; at += rate) {
            uint64_t chunk = len - at < rate ? len - at : rate;
            for (size_t j = 0; j < k; j++)
                memcpy(st[j], rows + (i + j) * len + at, chunk * sizeof(uint32_t));
            bb8_permute_states(st, inst);
        }
        for (size_t j = 0; j < k; j++)
            memcpy(out + (i + j) * ZC_P2_DIGEST_BYTES, st[j], ZC_P2_DIGEST_BYTES);
    }
    return end;
}

static size_t bb8_nodes_range(const uint8_t *in, uint64_t n_in, uint32_t inst, uint8_t *out, size_t i, size_t end)
{
    for (; i < end; i += BB_LANES) {
        size_t k = end - i < BB_LANES ? end - i : BB_LANES;
        bb_states st = {{0}};
        for (size_t j = 0; j < k; j++)
            memcpy(st[j], in + 64 * (i + j), 2 * (i + j) + 1 < n_in ? 64 : 32);
        bb8_permute_states(st, inst);
        for (size_t j = 0; j < k; j++)
            memcpy(out + 32 * (i + j), st[j], 32);
    }
    return end;
}

static size_t sha_ni_nodes_range(const uint8_t *in, uint64_t n_in, uint8_t *out, size_t i, size_t end)
{
    for (; i < end; i++) {
        uint8_t pair[64] = {0};
        memcpy(pair, in + 64 * i, 2 * i + 1 < n_in ? 64 : 32);
        sha256_ni(pair, 64, out + 32 * i);
    }
    return end;
}
#endif

/* ---- kernels ---- */

/* args: states, n, inst (see kernels/opencl/hash.cl) */
void zc_cpu_p2_permute(const zc_karg *args, size_t begin, size_t end)
{
    uint8_t *states = zc_cpu_ptr(&args[0]);
    uint32_t inst = args[2].v.u32;
    size_t i = begin;
#if ZC_CPU_X86
    if (!zc_p2_get_params(inst).goldilocks && bb_simd())
        i = bb8_permute_range((uint32_t *)states, inst, i, end);
#endif
    for (; i < end; i++)
        zc_p2_permute_global(states, i, inst);
}

/* args: rows, n, len, inst, out */
void zc_cpu_p2_hash(const zc_karg *args, size_t begin, size_t end)
{
    const uint8_t *rows = zc_cpu_ptr(&args[0]);
    uint64_t len = args[2].v.u64;
    uint32_t inst = args[3].v.u32;
    uint8_t *out = zc_cpu_ptr(&args[4]);
    size_t i = begin;
#if ZC_CPU_X86
    if (!zc_p2_get_params(inst).goldilocks && bb_simd())
        i = bb8_hash_range((const uint32_t *)rows, len, inst, out, i, end);
#endif
    for (; i < end; i++)
        zc_p2_hash_global(rows, i, len, inst, out);
}

/* args: data, offsets, n, out */
void zc_cpu_sha256_batch(const zc_karg *args, size_t begin, size_t end)
{
    const uint8_t *data = zc_cpu_ptr(&args[0]);
    const uint64_t *off = zc_cpu_ptr(&args[1]);
    uint8_t *out = zc_cpu_ptr(&args[3]);
    size_t i = begin;
#if ZC_CPU_X86
    if (sha_ni())
        for (; i < end; i++)
            sha256_ni(data + off[i], off[i + 1] - off[i], out + 32 * i);
#endif
    for (; i < end; i++)
        zc_sha256_global(data + off[i], off[i + 1] - off[i], out + 32 * i);
}

/* args: data, offsets, n, out */
void zc_cpu_keccak256_batch(const zc_karg *args, size_t begin, size_t end)
{
    const uint8_t *data = zc_cpu_ptr(&args[0]);
    const uint64_t *off = zc_cpu_ptr(&args[1]);
    uint8_t *out = zc_cpu_ptr(&args[3]);
    for (size_t i = begin; i < end; i++)
        zc_keccak256_global(data + off[i], off[i + 1] - off[i], out + 32 * i);
}

/* args: in, n_in, out, n_out, kind, inst */
void zc_cpu_merkle_nodes(const zc_karg *args, size_t begin, size_t end)
{
    const uint8_t *in = zc_cpu_ptr(&args[0]);
    uint64_t n_in = args[1].v.u64;
    uint8_t *out = zc_cpu_ptr(&args[2]);
    uint32_t kind = args[4].v.u32, inst = args[5].v.u32;
    size_t i = begin;
#if ZC_CPU_X86
    if (kind == ZC_MERKLE_POSEIDON2 && !zc_p2_get_params(inst).goldilocks && bb_simd())
        i = bb8_nodes_range(in, n_in, inst, out, i, end);
    else if (kind == ZC_MERKLE_SHA256 && sha_ni())
        i = sha_ni_nodes_range(in, n_in, out, i, end);
#endif
    for (; i < end; i++)
        zc_merkle_node(in, n_in, i, out, kind, inst);
}
